#include "overlay/peer_path.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <variant>

#include "overlay_test_util.hpp"

using namespace peermq;
using namespace peermq::overlay;
using namespace peermq::overlay::test;
using namespace std::chrono_literals;
using Reason = PathEvent::Reason;

namespace {

const PublicKey B = key(0xb);
const PublicKey R1 = key(0x51);
const PublicKey R2 = key(0x52);
const Endpoint B_pub = ep(203, 0, 113, 2, 50002);
const Endpoint B_lan = ep(10, 1, 0, 2, 4000);

struct Sent {
  PathOutput::Kind kind;
  Endpoint endpoint;
  PublicKey relay;
  std::optional<OverlayMessage> message;
};

class Path {
 public:
  explicit Path(PeerPathConfig config = {}) : path(B, config) {}

  std::vector<Sent> drain() {
    std::vector<Sent> out;
    while (auto o = path.poll_output()) {
      std::optional<OverlayMessage> m;
      if (!o->message.empty()) {
        buffers.push_back(std::move(o->message));
        auto d = decode_message(buffers.back());
        REQUIRE(d.ok());
        m = *d;
      }
      out.push_back({o->kind, o->endpoint, o->relay, m});
    }
    return out;
  }
  std::vector<PathEvent> events() {
    std::vector<PathEvent> out;
    while (auto e = path.poll_event()) out.push_back(std::move(*e));
    return out;
  }
  void advance(Duration d) {
    const Instant end = now + d;
    while (path.next_deadline() <= end) {
      now = std::max(now, path.next_deadline());
      path.on_timeout(now);
      // A timer that does not move past now would spin here forever.
      REQUIRE(path.next_deadline() > now);
    }
    now = end;
  }
  // The probes in `out`, by destination.
  static std::vector<std::pair<Endpoint, Probe>> probes(const std::vector<Sent>& out) {
    std::vector<std::pair<Endpoint, Probe>> p;
    for (const Sent& s : out) {
      if (s.kind == PathOutput::Kind::probe && s.message &&
          std::holds_alternative<Probe>(*s.message)) {
        p.emplace_back(s.endpoint, std::get<Probe>(*s.message));
      }
    }
    return p;
  }
  // Answers the first probe sent to `to` as the peer would, from `to`.
  bool ack_first_probe(const std::vector<Sent>& out, const Endpoint& to) {
    for (const auto& [where, probe] : probes(out)) {
      if (where == to) {
        path.on_probe_ack(to, ProbeAck{probe.nonce, probe.seq, ep(198, 51, 100, 1, 1)}, now);
        return true;
      }
    }
    return false;
  }
  // Finds a path to B through R1 with candidates B_pub, B_lan; returns its first outputs.
  std::vector<Sent> found() {
    path.on_lookup_result(R1, {B_pub, B_lan}, now);
    return drain();
  }

  PeerPath path;
  Instant now = ManualClock::kDefaultStart;
  std::deque<Bytes> buffers;
};

}  // namespace

TEST_CASE("a lookup result puts the peer on the relay at once and starts punching") {
  Path p;
  auto out = p.found();
  CHECK(p.path.route() == Route::relayed_via(R1));
  auto ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::relay_found);
  CHECK(ev[0].from.kind == Route::Kind::none);
  CHECK(p.path.punching());
  // A punch request to the relay, and one probe to each candidate right away.
  REQUIRE(out.size() == 3);
  CHECK(out[0].kind == PathOutput::Kind::to_relay);
  CHECK(out[0].relay == R1);
  const auto& req = std::get<PunchRequest>(*out[0].message);
  CHECK(req.target == B);
  const auto probes = Path::probes(out);
  REQUIRE(probes.size() == 2);
  CHECK(probes[0].first == B_pub);
  CHECK(probes[1].first == B_lan);
  CHECK(probes[0].second.nonce == req.nonce);
  CHECK(probes[0].second.seq != probes[1].second.seq);
}

TEST_CASE("an ack from the probed endpoint upgrades the path to direct, with its RTT") {
  Path p;
  auto out = p.found();
  p.events();
  p.now += 40ms;
  REQUIRE(p.ack_first_probe(out, B_pub));
  CHECK(p.path.route() == Route::direct_to(B_pub));
  CHECK_FALSE(p.path.punching());
  auto ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::direct_confirmed);
  CHECK(ev[0].from == Route::relayed_via(R1));
  CHECK(ev[0].to == Route::direct_to(B_pub));
  REQUIRE(ev[0].rtt.has_value());
  CHECK(*ev[0].rtt == 40ms);
  CHECK(p.path.rtt() == 40ms);
  CHECK(p.path.relay() == R1);  // kept as the fallback
}

TEST_CASE("an ack from another endpoint than the probed one confirms nothing") {
  Path p;
  auto out = p.found();
  const auto probes = Path::probes(out);
  const Probe& to_pub = probes[0].second;
  p.path.on_probe_ack(ep(203, 0, 113, 2, 60000), ProbeAck{to_pub.nonce, to_pub.seq, B_pub}, p.now);
  p.path.on_probe_ack(B_pub, ProbeAck{to_pub.nonce + 1, to_pub.seq, B_pub}, p.now);  // wrong nonce
  p.path.on_probe_ack(B_pub, ProbeAck{to_pub.nonce, 999, B_pub}, p.now);             // never sent
  CHECK(p.path.route() == Route::relayed_via(R1));
  CHECK(p.path.stats().unmatched_acks == 3);
}

TEST_CASE("a peer that never answers punches stays relayed, quietly, and is retried later") {
  Path p;
  p.found();
  p.events();
  p.advance(limits::kHolePunchTimeout - 1ms);
  auto out = p.drain();
  // Every probe interval, each of the two candidates.
  const auto n = Path::probes(out).size();
  CHECK(n == static_cast<std::size_t>(
                 2 * (limits::kHolePunchTimeout / limits::kHolePunchProbeInterval - 1)));
  CHECK(p.events().empty());
  p.advance(1ms);
  CHECK_FALSE(p.path.punching());
  auto ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::punch_failed);
  CHECK(ev[0].to == Route::relayed_via(R1));
  CHECK(p.path.route() == Route::relayed_via(R1));
  // Silence until the retry, then a new round with a new punch request.
  p.drain();
  p.advance(limits::kHolePunchRetryInitial - 1ms);
  CHECK(p.drain().empty());
  p.advance(1ms);
  CHECK(p.path.punching());
  out = p.drain();
  CHECK(out[0].kind == PathOutput::Kind::to_relay);
  // The next retry waits twice as long.
  p.advance(limits::kHolePunchTimeout);
  p.drain();
  p.advance(2 * limits::kHolePunchRetryInitial - 1ms);
  CHECK(p.drain().empty());
  p.advance(1ms);
  CHECK(p.path.punching());
}

TEST_CASE("a probe from the peer is acknowledged to where it came from and probed back") {
  Path p;
  p.path.on_relayed_packet(R1, p.now);  // the peer dialed us through R1
  CHECK(p.path.route() == Route::relayed_via(R1));
  p.events();
  const Endpoint B_mapped = ep(203, 0, 113, 2, 61000);  // a mapping we did not know
  p.path.on_probe(B_mapped, Probe{77, 5}, p.now);
  auto out = p.drain();
  REQUIRE(out.size() >= 2);
  CHECK(out[0].kind == PathOutput::Kind::probe);
  CHECK(out[0].endpoint == B_mapped);
  const auto& ack = std::get<ProbeAck>(*out[0].message);
  CHECK(ack.nonce == 77);
  CHECK(ack.seq == 5);
  CHECK(ack.observed == B_mapped);
  // We learned the endpoint and probe it back in the peer's round.
  CHECK(p.path.candidates() == Candidates{B_mapped});
  const auto probes = Path::probes(out);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].first == B_mapped);
  CHECK(probes[0].second.nonce == 77);
  CHECK(p.path.punching());
}

TEST_CASE("a punch notify makes an unknown peer relayed and starts a round with its nonce") {
  Path p;
  p.path.on_punch_notify(R2, PunchNotify{B, 4242, {B_pub}}, p.now);
  CHECK(p.path.route() == Route::relayed_via(R2));
  auto out = p.drain();
  const auto probes = Path::probes(out);
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].second.nonce == 4242);
  for (const Sent& s : out) CHECK(s.kind != PathOutput::Kind::to_relay);  // no echo request
}

TEST_CASE("an idle direct path is kept alive by probes and survives while acks come back") {
  Path p;
  auto out = p.found();
  REQUIRE(p.ack_first_probe(out, B_pub));
  p.drain();
  for (int i = 0; i < 30; ++i) {
    p.advance(limits::kDirectPathKeepaliveInterval);
    out = p.drain();
    const auto probes = Path::probes(out);
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].first == B_pub);
    p.now += 20ms;
    REQUIRE(p.ack_first_probe(out, B_pub));
  }
  CHECK(p.path.route() == Route::direct_to(B_pub));
  CHECK(p.path.rtt() == 20ms);
}

TEST_CASE("a silent direct path falls back to the relay within the failover timeout") {
  Path p;
  auto out = p.found();
  REQUIRE(p.ack_first_probe(out, B_pub));
  p.events();
  p.drain();
  const Instant last_heard = p.now;
  p.advance(limits::kDirectPathFailoverTimeout - 1ms);
  CHECK(p.path.route() == Route::direct_to(B_pub));
  // Keepalive probes went out once per interval while it was silent.
  CHECK(Path::probes(p.drain()).size() == 2);
  p.advance(1ms);
  CHECK(p.path.route() == Route::relayed_via(R1));
  auto ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::direct_lost);
  CHECK(ev[0].from == Route::direct_to(B_pub));
  CHECK(p.now - last_heard == limits::kDirectPathFailoverTimeout);
  // Punching resumes after the retry delay.
  p.advance(limits::kHolePunchRetryInitial);
  CHECK(p.path.punching());
}

TEST_CASE("data from the peer keeps the direct path alive without probes") {
  Path p;
  auto out = p.found();
  REQUIRE(p.ack_first_probe(out, B_pub));
  p.drain();
  for (int i = 0; i < 100; ++i) {
    p.advance(100ms);
    p.path.on_direct_packet(B_pub, p.now);
  }
  CHECK(Path::probes(p.drain()).empty());
  CHECK(p.path.route() == Route::direct_to(B_pub));
}

TEST_CASE("a NAT rebinding is followed: data from a new endpoint moves the direct path") {
  Path p;
  auto out = p.found();
  REQUIRE(p.ack_first_probe(out, B_pub));
  p.events();
  const Endpoint rebound = ep(203, 0, 113, 2, 50999);
  p.path.on_direct_packet(rebound, p.now);
  CHECK(p.path.route() == Route::direct_to(rebound));
  auto ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::rebinding);
  CHECK(ev[0].from == Route::direct_to(B_pub));
  // Probes from other mappings do not move a path that is alive...
  p.path.on_probe(ep(203, 0, 113, 2, 50111), Probe{1, 1}, p.now);
  CHECK(p.path.route() == Route::direct_to(rebound));
  // ...but do once its endpoint went quiet: an idle path's rebinding.
  p.drain();
  p.advance(limits::kDirectPathKeepaliveInterval);
  const Endpoint idle_rebound = ep(203, 0, 113, 2, 50222);
  p.path.on_probe(idle_rebound, Probe{1, 2}, p.now);
  CHECK(p.path.route() == Route::direct_to(idle_rebound));
  ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::rebinding);
}

TEST_CASE("with local candidates and no relay the first answer makes the path direct") {
  Path p;
  const Endpoint local = ep(127, 0, 0, 1, 40002);
  p.path.on_local_candidates({local}, p.now);
  CHECK(p.path.route().kind == Route::Kind::none);
  auto out = p.drain();
  for (const Sent& s : out) CHECK(s.kind == PathOutput::Kind::probe);  // no relay to ask
  CHECK(p.path.candidates() == Candidates{local});
  p.path.on_direct_packet(local, p.now);  // e.g. the handshake response
  CHECK(p.path.route() == Route::direct_to(local));
  auto ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::direct_learned);
  CHECK_FALSE(p.path.punching());
}

TEST_CASE("losing the relay of a relayed path leaves no route and asks for a lookup") {
  Path p;
  p.found();
  p.events();
  p.drain();
  p.path.on_relay_lost(R2, p.now);  // not ours: nothing happens
  CHECK(p.path.route() == Route::relayed_via(R1));
  p.path.on_relay_lost(R1, p.now);
  CHECK(p.path.route().kind == Route::Kind::none);
  auto ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::relay_lost);
  auto out = p.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == PathOutput::Kind::lookup);
  // The new answer comes from another relay.
  p.path.on_lookup_result(R2, {B_pub}, p.now);
  CHECK(p.path.route() == Route::relayed_via(R2));
}

TEST_CASE("a direct path that dies with no relay left asks for a lookup") {
  Path p;
  auto out = p.found();
  REQUIRE(p.ack_first_probe(out, B_pub));
  p.path.on_relay_lost(R1, p.now);
  CHECK(p.path.route() == Route::direct_to(B_pub));  // still fine
  p.drain();
  p.advance(limits::kDirectPathFailoverTimeout);
  CHECK(p.path.route().kind == Route::Kind::none);
  bool lookup = false;
  for (const Sent& s : p.drain()) lookup = lookup || s.kind == PathOutput::Kind::lookup;
  CHECK(lookup);
}

TEST_CASE("direct data from the peer while relayed starts a round toward that endpoint") {
  Path p;
  p.path.on_relayed_packet(R1, p.now);
  p.drain();
  const Endpoint from = ep(203, 0, 113, 2, 50002);
  p.path.on_direct_packet(from, p.now);
  CHECK(p.path.route() == Route::relayed_via(R1));  // unconfirmed: not used yet
  CHECK(p.path.punching());
  const auto probes = Path::probes(p.drain());
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].first == from);
}

TEST_CASE("the candidate list is bounded") {
  Path p;
  p.path.on_relayed_packet(R1, p.now);
  for (std::uint16_t port = 1; port <= 100; ++port) {
    p.path.on_probe(ep(203, 0, 113, 9, port), Probe{1, port}, p.now);
  }
  CHECK(p.path.candidates().size() == limits::kMaxPathCandidates);
}

TEST_CASE("a path with no route retries a failed lookup, backing off") {
  Path p;
  p.path.on_lookup_failed(p.now);
  p.advance(limits::kPathLookupRetryInitial - 1ms);
  CHECK(p.drain().empty());
  p.advance(1ms);
  auto out = p.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == PathOutput::Kind::lookup);
  p.path.on_lookup_failed(p.now);
  p.advance(2 * limits::kPathLookupRetryInitial - 1ms);
  CHECK(p.drain().empty());
  p.advance(1ms);
  CHECK(p.drain().size() == 1);
  // A path that has a route does not keep asking.
  p.path.on_lookup_result(R1, {B_pub}, p.now);
  p.path.on_lookup_failed(p.now);
  p.advance(limits::kPathLookupRetryMax);
  for (const Sent& s : p.drain()) CHECK(s.kind != PathOutput::Kind::lookup);
}

std::size_t count_requests(const std::vector<Sent>& out) {
  return static_cast<std::size_t>(std::count_if(out.begin(), out.end(), [](const Sent& s) {
    return s.kind == PathOutput::Kind::to_relay;
  }));
}

TEST_CASE("a punch request is repeated every retry interval until the peer is heard from") {
  Path p;
  CHECK(count_requests(p.found()) == 1);
  p.advance(limits::kHolePunchRequestRetry - 1ms);
  CHECK(count_requests(p.drain()) == 0);
  p.advance(1ms);
  CHECK(count_requests(p.drain()) == 1);  // the request, or the relay's notify, was lost
  p.advance(2 * limits::kHolePunchRequestRetry);
  CHECK(count_requests(p.drain()) == 2);
  // The peer's probe shows the notify reached it: no more requests this round.
  p.path.on_probe(B_pub, Probe{1, 1}, p.now);
  p.advance(limits::kHolePunchTimeout - 3 * limits::kHolePunchRequestRetry - 1ms);
  CHECK(p.path.punching());
  CHECK(count_requests(p.drain()) == 0);
  CHECK(p.path.stats().requests_sent == 4);
}

TEST_CASE("a punch request is not repeated past the end of its round") {
  Path p;
  p.found();
  p.advance(limits::kHolePunchTimeout);
  CHECK_FALSE(p.path.punching());
  const auto sent = p.path.stats().requests_sent;
  CHECK(sent == static_cast<std::uint64_t>(limits::kHolePunchTimeout / limits::kHolePunchRequestRetry));
  p.advance(limits::kHolePunchRetryInitial - 1ms);
  CHECK(p.path.stats().requests_sent == sent);
}

TEST_CASE("a punch round gets its full time once the session can carry its probes") {
  Path p;
  p.path.on_session(false, p.now);  // the handshake with the peer is still under way
  p.found();
  p.advance(8s);
  p.path.on_session(true, p.now);
  p.advance(limits::kHolePunchTimeout - 1ms);
  CHECK(p.path.punching());
  p.advance(1ms);
  CHECK_FALSE(p.path.punching());
}

TEST_CASE("a punch round that ended before the session was usable runs again when it is") {
  Path p;
  p.path.on_session(false, p.now);
  p.found();
  p.advance(limits::kHolePunchTimeout);
  CHECK_FALSE(p.path.punching());
  auto ev = p.events();
  REQUIRE_FALSE(ev.empty());
  CHECK(ev.back().reason == Reason::punch_failed);
  p.drain();
  p.advance(1s);
  p.path.on_session(true, p.now);
  CHECK(p.path.punching());  // at once, not after the retry delay
  CHECK(count_requests(p.drain()) == 1);
  // That round failing counts as the first: the retry waits the initial delay.
  p.advance(limits::kHolePunchTimeout);
  CHECK_FALSE(p.path.punching());
  p.drain();
  p.advance(limits::kHolePunchRetryInitial - 1ms);
  CHECK_FALSE(p.path.punching());
  p.advance(1ms);
  CHECK(p.path.punching());
}

TEST_CASE("a relayed peer that fails over to another relay is followed once ours went quiet") {
  Path p;
  p.path.on_relayed_packet(R1, p.now);
  CHECK(p.path.route() == Route::relayed_via(R1));
  p.events();
  p.now += 500ms;
  p.path.on_relayed_packet(R1, p.now);
  p.now += 10ms;
  p.path.on_relayed_packet(R2, p.now);  // R1 carried its packets just now: stay
  CHECK(p.path.route() == Route::relayed_via(R1));
  p.now += limits::kDirectPathKeepaliveInterval;
  p.path.on_relayed_packet(R2, p.now);  // R1 silent for a keepalive interval: follow
  CHECK(p.path.route() == Route::relayed_via(R2));
  CHECK(p.path.relay() == R2);
  auto ev = p.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].reason == Reason::relay_changed);
  CHECK(ev[0].from == Route::relayed_via(R1));
}
