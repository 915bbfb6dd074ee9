#include "overlay/relay_server.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <variant>

#include "overlay_test_util.hpp"

using namespace peermq;
using namespace peermq::overlay;
using namespace peermq::overlay::test;
using namespace std::chrono_literals;

namespace {

struct Sent {
  PublicKey to;
  Endpoint endpoint;
  OverlayMessage message;
};

class Relay {
 public:
  explicit Relay(const RelayServerConfig& config = {}) : server(config) {}

  void send(const PublicKey& from, const Endpoint& source, const OverlayMessage& m) {
    const Bytes bytes = encode(m);
    server.on_message(from, source, bytes, now);
  }
  // Everything the relay wants to send, decoded. Packets are copied out first, since
  // forwarded messages point into the output buffer.
  std::vector<Sent> drain() {
    std::vector<Sent> out;
    while (auto o = server.poll_transmit()) {
      buffers.push_back(std::move(o->message));
      auto m = decode_message(buffers.back());
      REQUIRE(m.ok());
      out.push_back({o->to, o->endpoint, *m});
    }
    return out;
  }
  void tick(Duration d) {
    now += d;
    if (server.next_deadline() <= now) server.on_timeout(now);
  }

  RelayServer server;
  Instant now = ManualClock::kDefaultStart;
  std::deque<Bytes> buffers;
};

const PublicKey A = key(0xa);
const PublicKey B = key(0xb);
const Endpoint A_pub = ep(198, 51, 100, 1, 40001);
const Endpoint B_pub = ep(203, 0, 113, 2, 50002);
const Endpoint A_lan = ep(192, 168, 1, 10, 4000);

}  // namespace

TEST_CASE("relay answers a register with the endpoint it observed and its keepalive") {
  Relay r;
  r.send(A, A_pub, Register{1, {A_lan}});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].to == A);
  CHECK(out[0].endpoint == A_pub);
  const auto& reg = std::get<Registered>(out[0].message);
  CHECK(reg.seq == 1);
  CHECK(reg.observed == A_pub);
  CHECK(reg.keepalive == limits::kRelayKeepaliveInterval);
  CHECK(r.server.registered_count() == 1);
  CHECK(r.server.stats().registrations == 1);
}

TEST_CASE("relay lookup returns the observed endpoint first, then the announced ones") {
  Relay r;
  r.send(A, A_pub, Register{1, {A_lan, A_pub}});  // A_pub announced too: listed once
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  r.send(B, B_pub, Lookup{77, A});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].to == B);
  const auto& res = std::get<LookupResult>(out[0].message);
  CHECK(res.request_id == 77);
  CHECK(res.target == A);
  CHECK(res.found);
  CHECK(res.candidates == Candidates{A_pub, A_lan});
}

TEST_CASE("relay lookup of an unknown address answers not found") {
  Relay r;
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  r.send(B, B_pub, Lookup{5, key(0x77)});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  const auto& res = std::get<LookupResult>(out[0].message);
  CHECK_FALSE(res.found);
  CHECK(res.candidates.empty());
  CHECK(r.server.stats().lookup_misses == 1);
}

TEST_CASE("relay tells an unregistered node it is unknown instead of serving it") {
  Relay r;
  r.send(A, A_pub, Lookup{1, B});
  r.send(A, A_pub, Forward{B, Bytes{1, 2, 3}});
  r.send(A, A_pub, PunchRequest{B, 1});
  auto out = r.drain();
  REQUIRE(out.size() == 3);
  for (const Sent& s : out) {
    CHECK(s.to == A);
    CHECK(std::holds_alternative<UnknownPeer>(s.message));
  }
  CHECK(r.server.stats().drops_of(OverlayError::not_registered) == 3);
}

TEST_CASE("relay forwards a packet it cannot read to the registered target") {
  Relay r;
  r.send(A, A_pub, Register{1, {}});
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  const Bytes ciphertext{0x04, 9, 9, 9, 9};
  r.send(A, A_pub, Forward{B, ciphertext});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].to == B);
  CHECK(out[0].endpoint == B_pub);
  const auto& f = std::get<Forwarded>(out[0].message);
  CHECK(f.from == A);
  CHECK(Bytes(f.packet.begin(), f.packet.end()) == ciphertext);
  CHECK(r.server.stats().forwarded_packets == 1);
  CHECK(r.server.stats().forwarded_bytes == ciphertext.size());
}

TEST_CASE("relay forward to a missing node is dropped and the sender hears not found") {
  Relay r;
  r.send(A, A_pub, Register{1, {}});
  r.drain();
  r.send(A, A_pub, Forward{B, Bytes{1}});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  const auto& res = std::get<LookupResult>(out[0].message);
  CHECK(res.request_id == 0);
  CHECK(res.target == B);
  CHECK_FALSE(res.found);
  CHECK(r.server.stats().drops_of(OverlayError::unknown_target) == 1);
}

TEST_CASE("relay rate-limits forwarding per peer: a burst, then the per-second rate") {
  RelayServerConfig config;
  config.forward_per_second = 100;
  config.forward_burst = 10;
  Relay r(config);
  r.send(A, A_pub, Register{1, {}});
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  for (int i = 0; i < 50; ++i) r.send(A, A_pub, Forward{B, Bytes{1}});
  CHECK(r.drain().size() == 10);
  CHECK(r.server.stats().drops_of(OverlayError::rate_limited) == 40);
  // B has its own bucket: A's flood does not starve it.
  r.send(B, B_pub, Forward{A, Bytes{2}});
  CHECK(r.drain().size() == 1);
  // One second later A has earned 100 packets' worth, capped at the burst of 10.
  r.tick(1s);
  for (int i = 0; i < 50; ++i) r.send(A, A_pub, Forward{B, Bytes{1}});
  CHECK(r.drain().size() == 10);
  // At a steady 100/s nothing is dropped.
  const auto dropped = r.server.stats().drops_of(OverlayError::rate_limited);
  for (int i = 0; i < 100; ++i) {
    r.tick(10ms);
    r.send(A, A_pub, Forward{B, Bytes{1}});
  }
  CHECK(r.drain().size() == 100);
  CHECK(r.server.stats().drops_of(OverlayError::rate_limited) == dropped);
}

TEST_CASE("relay coordinates a punch by notifying both sides with the same nonce") {
  Relay r;
  r.send(A, A_pub, Register{1, {A_lan}});
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  r.send(A, A_pub, PunchRequest{B, 0x1234});
  auto out = r.drain();
  REQUIRE(out.size() == 2);
  const Sent& to_b = out[0].to == B ? out[0] : out[1];
  const Sent& to_a = out[0].to == A ? out[0] : out[1];
  REQUIRE(to_b.to == B);
  REQUIRE(to_a.to == A);
  const auto& nb = std::get<PunchNotify>(to_b.message);
  const auto& na = std::get<PunchNotify>(to_a.message);
  CHECK(nb.peer == A);
  CHECK(nb.candidates == Candidates{A_pub, A_lan});
  CHECK(na.peer == B);
  CHECK(na.candidates == Candidates{B_pub});
  CHECK(nb.nonce == 0x1234);
  CHECK(na.nonce == 0x1234);
}

TEST_CASE("relay drops a punch request for an unregistered target") {
  Relay r;
  r.send(A, A_pub, Register{1, {}});
  r.drain();
  r.send(A, A_pub, PunchRequest{B, 1});
  CHECK(r.drain().empty());
  CHECK(r.server.stats().drops_of(OverlayError::unknown_target) == 1);
}

TEST_CASE("relay rate-limits lookups and punch requests per peer") {
  Relay r;
  r.send(A, A_pub, Register{1, {}});
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  for (unsigned i = 0; i < 2 * limits::kRelaySignalBurst; ++i) r.send(A, A_pub, Lookup{i + 1, B});
  CHECK(r.drain().size() == limits::kRelaySignalBurst);
  CHECK(r.server.stats().drops_of(OverlayError::rate_limited) == limits::kRelaySignalBurst);
}

TEST_CASE("relay forgets a node that stops refreshing its registration") {
  Relay r;
  r.send(A, A_pub, Register{1, {}});
  r.drain();
  CHECK(r.server.next_deadline() == r.now + limits::kRelayRegistrationLifetime);
  r.tick(limits::kRelayRegistrationLifetime - 1s);
  r.send(A, A_pub, Register{2, {}});  // a keepalive: the lifetime starts again
  r.drain();
  r.tick(limits::kRelayRegistrationLifetime - 1s);
  CHECK(r.server.registered_count() == 1);
  r.tick(1s);
  CHECK(r.server.registered_count() == 0);
  CHECK(r.server.stats().expirations == 1);
  CHECK(r.server.next_deadline() == Instant::max());
  r.send(A, A_pub, Lookup{1, A});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  CHECK(std::holds_alternative<UnknownPeer>(out[0].message));
}

TEST_CASE("relay follows a node's new source endpoint") {
  Relay r;
  r.send(A, A_pub, Register{1, {}});
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  const Endpoint A_rebound = ep(198, 51, 100, 1, 40999);
  r.send(A, A_rebound, Forward{B, Bytes{1}});
  r.drain();
  r.send(B, B_pub, Forward{A, Bytes{2}});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].endpoint == A_rebound);
}

TEST_CASE("relay refuses registrations beyond its table size") {
  RelayServerConfig config;
  config.max_registrations = 2;
  Relay r(config);
  r.send(key(1), ep(1, 1, 1, 1, 1), Register{1, {}});
  r.send(key(2), ep(1, 1, 1, 2, 1), Register{1, {}});
  r.send(key(3), ep(1, 1, 1, 3, 1), Register{1, {}});
  CHECK(r.drain().size() == 2);
  CHECK(r.server.stats().drops_of(OverlayError::table_full) == 1);
  // A known node may still refresh.
  r.send(key(1), ep(1, 1, 1, 1, 1), Register{2, {}});
  CHECK(r.drain().size() == 1);
}

TEST_CASE("relay drops answers and probes sent to it, and garbage") {
  Relay r;
  r.send(A, A_pub, Registered{1, A_pub, 1000ms});
  r.send(A, A_pub, Probe{1, 1});
  r.send(A, A_pub, Forwarded{B, Bytes{1}});
  const Bytes garbage{0xc1, 0x00};
  r.server.on_message(A, A_pub, garbage, r.now);
  CHECK(r.drain().empty());
  CHECK(r.server.stats().drops_of(OverlayError::unexpected_message) == 3);
  CHECK(r.server.stats().drops_of(OverlayError::malformed) == 1);
}

// ---- WebSocket peers: a node whose packets come from Endpoint::web(n) ----------------------

TEST_CASE("relay registers a WebSocket peer and tells it the web endpoint it sees") {
  Relay r;
  r.send(A, Endpoint::web(3), Register{1, {}});
  auto out = r.drain();  // decodes: a web endpoint is a valid `observed`
  REQUIRE(out.size() == 1);
  CHECK(out[0].endpoint == Endpoint::web(3));
  CHECK(std::get<Registered>(out[0].message).observed == Endpoint::web(3));
}

TEST_CASE("relay never gives a WebSocket peer's endpoint as a candidate") {
  Relay r;
  // Even one that announces a web endpoint among its locals.
  r.send(A, Endpoint::web(3), Register{1, {}});
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  r.send(B, B_pub, Lookup{9, A});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  const auto& res = std::get<LookupResult>(out[0].message);
  CHECK(res.found);  // reachable, through the relay only
  CHECK(res.candidates.empty());
  CHECK(RelayServer::candidates_of(*r.server.registration(A)).empty());
}

TEST_CASE("relay drops a punch to or from a WebSocket peer: it has nothing to punch to") {
  Relay r;
  r.send(A, Endpoint::web(3), Register{1, {}});
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  r.send(B, B_pub, PunchRequest{A, 1});
  r.send(A, Endpoint::web(3), PunchRequest{B, 2});
  CHECK(r.drain().empty());
  CHECK(r.server.stats().drops_of(OverlayError::not_punchable) == 2);
}

TEST_CASE("relay forwards between a WebSocket peer and a UDP peer, rate-limited alike") {
  RelayServerConfig config;
  config.forward_per_second = 100;
  config.forward_burst = 10;
  Relay r(config);
  r.send(A, Endpoint::web(3), Register{1, {}});
  r.send(B, B_pub, Register{1, {}});
  r.drain();
  r.send(B, B_pub, Forward{A, Bytes{1}});
  auto out = r.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].endpoint == Endpoint::web(3));
  CHECK(std::get<Forwarded>(out[0].message).from == B);
  // The WebSocket peer's flood hits its own token bucket, as a UDP peer's does.
  for (int i = 0; i < 50; ++i) r.send(A, Endpoint::web(3), Forward{B, Bytes{2}});
  out = r.drain();
  CHECK(out.size() == 10);
  for (const Sent& s : out) CHECK(s.endpoint == B_pub);
  CHECK(r.server.stats().drops_of(OverlayError::rate_limited) == 40);
}
