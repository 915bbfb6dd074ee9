#include "overlay/relay_client.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <variant>

#include "overlay_test_util.hpp"

using namespace peermq;
using namespace peermq::overlay;
using namespace peermq::overlay::test;
using namespace std::chrono_literals;
using Kind = RelayClientEvent::Kind;

namespace {

const PublicKey R1 = key(0x51);
const PublicKey R2 = key(0x52);
const PublicKey B = key(0xb);
const Endpoint R1_at = ep(192, 0, 2, 1, 7000);
const Endpoint R2_at = ep(192, 0, 2, 2, 7000);
const Endpoint me_pub = ep(198, 51, 100, 9, 41000);
const Endpoint B_pub = ep(203, 0, 113, 2, 50002);

struct Out {
  PublicKey relay;
  OverlayMessage message;
};

class Client {
 public:
  explicit Client(std::vector<RelayInfo> relays = {{R1, R1_at}, {R2, R2_at}},
                  Candidates locals = {ep(10, 0, 0, 9, 41000)})
      : client(RelayClientConfig{.relays = std::move(relays), .local_candidates = locals},
               ManualClock::kDefaultStart) {}

  std::vector<Out> drain() {
    std::vector<Out> out;
    while (auto o = client.poll_transmit()) {
      buffers.push_back(std::move(o->message));
      auto m = decode_message(buffers.back());
      REQUIRE(m.ok());
      out.push_back({o->relay, *m});
    }
    return out;
  }
  std::vector<RelayClientEvent> events() {
    std::vector<RelayClientEvent> out;
    while (auto e = client.poll_event()) out.push_back(std::move(*e));
    return out;
  }
  // Runs the timers up to `t` from now, one deadline at a time.
  void advance(Duration d) {
    const Instant end = now + d;
    while (client.next_deadline() <= end) {
      now = std::max(now, client.next_deadline());
      client.on_timeout(now);
      // A timer that does not move past now would spin here forever.
      REQUIRE(client.next_deadline() > now);
    }
    now = end;
  }
  void from(const PublicKey& relay, const OverlayMessage& m) { client.on_message(relay, m, now); }
  // Answers every register in `out` as the relay would.
  void answer_registers(const std::vector<Out>& out, const PublicKey& only) {
    for (const Out& o : out) {
      if (o.relay != only) continue;
      if (const auto* r = std::get_if<Register>(&o.message)) {
        from(o.relay, Registered{r->seq, me_pub, limits::kRelayKeepaliveInterval});
      }
    }
  }

  RelayClient client;
  Instant now = ManualClock::kDefaultStart;
  std::deque<Bytes> buffers;
};

std::size_t count_registers(const std::vector<Out>& out, const PublicKey& relay) {
  std::size_t n = 0;
  for (const Out& o : out) n += (o.relay == relay && std::holds_alternative<Register>(o.message));
  return n;
}

}  // namespace

TEST_CASE("relay client registers with every relay at once, announcing its endpoints") {
  Client c;
  auto out = c.drain();
  REQUIRE(out.size() == 2);
  CHECK(out[0].relay == R1);
  CHECK(out[1].relay == R2);
  CHECK(std::get<Register>(out[0].message).candidates == Candidates{ep(10, 0, 0, 9, 41000)});
  c.answer_registers(out, R1);
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::registered);
  CHECK(ev[0].relay == R1);
  CHECK(ev[0].observed == me_pub);
  CHECK(c.client.status(0) == RelayClient::Status::registered);
  CHECK(c.client.status(1) == RelayClient::Status::registering);
  REQUIRE(c.client.observed(0).has_value());
  CHECK(*c.client.observed(0) == me_pub);
}

TEST_CASE("relay client keeps its registration alive at the keepalive interval") {
  Client c({{R1, R1_at}});
  c.answer_registers(c.drain(), R1);
  c.events();
  c.advance(limits::kRelayKeepaliveInterval - 1ms);
  CHECK(c.drain().empty());
  c.advance(1ms);
  auto out = c.drain();
  REQUIRE(count_registers(out, R1) == 1);
  c.answer_registers(out, R1);
  CHECK(c.events().empty());  // a refresh that changes nothing is silent
  CHECK(c.client.next_deadline() == c.now + limits::kRelayKeepaliveInterval);
}

TEST_CASE("relay client clamps the keepalive interval a relay asks for") {
  Client c({{R1, R1_at}});
  auto out = c.drain();
  c.from(R1, Registered{std::get<Register>(out[0].message).seq, me_pub, 1ms});
  CHECK(c.client.next_deadline() == c.now + limits::kRelayKeepaliveIntervalMin);
  c.advance(limits::kRelayKeepaliveIntervalMin);
  out = c.drain();
  c.from(R1, Registered{std::get<Register>(out[0].message).seq, me_pub, 1h});
  CHECK(c.client.next_deadline() == c.now + limits::kRelayKeepaliveInterval);
}

TEST_CASE("relay client retries an unanswered register with backoff, then calls the relay dead") {
  Client c({{R1, R1_at}});
  c.answer_registers(c.drain(), R1);
  c.events();
  // The relay goes silent. Keepalive, then retries after 0.25, 0.5, 1, 2 and 4 s: the
  // fifth unanswered register in a row makes it dead.
  static_assert(limits::kRelayMissedAnswersDead == 5);
  c.advance(limits::kRelayKeepaliveInterval);
  CHECK(count_registers(c.drain(), R1) == 1);
  for (const auto gap : {250ms, 500ms, 1000ms, 2000ms}) {
    c.advance(gap);
    CHECK(count_registers(c.drain(), R1) == 1);
    CHECK(c.events().empty());
  }
  c.advance(4s);
  CHECK(count_registers(c.drain(), R1) == 1);
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::relay_lost);
  CHECK(c.client.status(0) == RelayClient::Status::dead);
  // A dead relay is still tried, at most every retry_max.
  c.advance(limits::kRelayRegisterRetryMax * 4);
  const auto tries = count_registers(c.drain(), R1);
  CHECK(tries >= 4);
  CHECK(tries <= 6);
  // ...and it comes back when it answers.
  c.advance(limits::kRelayRegisterRetryMax);
  c.answer_registers(c.drain(), R1);
  ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::registered);
  CHECK(c.client.status(0) == RelayClient::Status::registered);
}

TEST_CASE("relay client re-registers at once when a restarted relay says it does not know us") {
  Client c({{R1, R1_at}});
  c.answer_registers(c.drain(), R1);
  c.events();
  c.advance(3s);
  c.from(R1, UnknownPeer{});
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::relay_forgot);
  auto out = c.drain();
  REQUIRE(count_registers(out, R1) == 1);
  // A burst of refusals does not become a burst of registers.
  c.from(R1, UnknownPeer{});
  c.from(R1, UnknownPeer{});
  CHECK(c.drain().empty());
  c.answer_registers(out, R1);
  ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::registered);
}

TEST_CASE("relay client drops late, repeated or forged register answers") {
  Client c({{R1, R1_at}});
  auto out = c.drain();
  const auto seq = std::get<Register>(out[0].message).seq;
  c.from(R1, Registered{seq + 1, me_pub, 15s});  // never sent
  CHECK(c.client.stats().drops_of(OverlayError::stale_answer) == 1);
  c.from(R1, Registered{seq, me_pub, 15s});
  c.from(R1, Registered{seq, me_pub, 15s});  // duplicate
  CHECK(c.client.stats().drops_of(OverlayError::stale_answer) == 2);
  c.from(key(0x66), Registered{seq, me_pub, 15s});  // not a relay of ours
  c.from(key(0x66), PunchNotify{B, 1, {B_pub}});
  CHECK(c.client.stats().drops_of(OverlayError::not_a_relay) == 2);
  c.from(R1, Probe{1, 1});
  CHECK(c.client.stats().drops_of(OverlayError::unexpected_message) == 1);
}

TEST_CASE("relay client reports when the relay sees it at a new endpoint") {
  Client c({{R1, R1_at}});
  c.answer_registers(c.drain(), R1);
  c.events();
  c.advance(limits::kRelayKeepaliveInterval);
  auto out = c.drain();
  const Endpoint rebound = ep(198, 51, 100, 9, 42000);
  c.from(R1, Registered{std::get<Register>(out[0].message).seq, rebound, 15s});
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::observed_changed);
  CHECK(ev[0].observed == rebound);
}

TEST_CASE("relay client lookup succeeds through the first relay that knows the address") {
  Client c;
  auto out = c.drain();
  c.answer_registers(out, R1);
  c.answer_registers(out, R2);
  c.events();
  REQUIRE(c.client.lookup(B, c.now).ok());
  out = c.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].relay == R1);
  const auto& l = std::get<Lookup>(out[0].message);
  CHECK(l.target == B);
  c.from(R1, LookupResult{l.request_id, B, false, {}});  // not at R1
  out = c.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].relay == R2);
  const auto& l2 = std::get<Lookup>(out[0].message);
  c.from(R2, LookupResult{l2.request_id, B, true, {B_pub}});
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::lookup_done);
  CHECK(ev[0].relay == R2);
  CHECK(ev[0].peer == B);
  CHECK(ev[0].candidates == Candidates{B_pub});
  CHECK(c.client.pending_lookups() == 0);
}

TEST_CASE("relay client lookup of an unknown address fails with not_found") {
  Client c;
  auto out = c.drain();
  c.answer_registers(out, R1);
  c.answer_registers(out, R2);
  c.events();
  REQUIRE(c.client.lookup(B, c.now).ok());
  for (int i = 0; i < 2; ++i) {
    out = c.drain();
    REQUIRE(out.size() == 1);
    c.from(out[0].relay, LookupResult{std::get<Lookup>(out[0].message).request_id, B, false, {}});
  }
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::lookup_failed);
  CHECK(ev[0].error == OverlayError::not_found);
}

TEST_CASE("relay client lookup moves to the next relay after the timeout") {
  Client c;
  auto out = c.drain();
  c.answer_registers(out, R1);
  c.answer_registers(out, R2);
  c.events();
  REQUIRE(c.client.lookup(B, c.now).ok());
  out = c.drain();
  REQUIRE(out[0].relay == R1);
  const auto first_id = std::get<Lookup>(out[0].message).request_id;
  c.advance(limits::kAddressLookupTimeout - 1ms);
  CHECK(c.drain().empty());
  c.advance(1ms);
  out = c.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].relay == R2);
  // R1's late answer is stale now.
  c.from(R1, LookupResult{first_id, B, true, {B_pub}});
  CHECK(c.client.stats().drops_of(OverlayError::stale_answer) == 1);
  CHECK(c.events().empty());
  c.advance(limits::kAddressLookupTimeout);
  auto ev = c.events();
  bool failed = false;
  for (const auto& e : ev) {
    if (e.kind == Kind::lookup_failed) {
      failed = true;
      CHECK(e.error == OverlayError::lookup_timeout);
    }
  }
  CHECK(failed);
}

TEST_CASE("relay client lookup waits for a relay to register, within the timeout") {
  Client c({{R1, R1_at}});
  auto out = c.drain();  // register sent, unanswered yet
  REQUIRE(c.client.lookup(B, c.now).ok());
  CHECK(c.drain().empty());  // parked: R1 is not registered
  c.advance(limits::kRelayRegisterRetryInitial / 2);  // the answer comes before a retry
  c.answer_registers(out, R1);
  out = c.drain();
  REQUIRE(out.size() == 1);
  CHECK(std::holds_alternative<Lookup>(out[0].message));
}

TEST_CASE("relay client resends a lookup after the relay forgot it and it registered again") {
  Client c({{R1, R1_at}});
  c.answer_registers(c.drain(), R1);
  REQUIRE(c.client.lookup(B, c.now).ok());
  auto out = c.drain();
  REQUIRE(std::holds_alternative<Lookup>(out[0].message));
  c.from(R1, UnknownPeer{});  // the relay restarted and refused the lookup
  out = c.drain();
  REQUIRE(count_registers(out, R1) == 1);
  c.answer_registers(out, R1);
  out = c.drain();
  REQUIRE(out.size() == 1);
  const auto& l = std::get<Lookup>(out[0].message);
  c.from(R1, LookupResult{l.request_id, B, true, {B_pub}});
  bool done = false;
  for (const auto& e : c.events()) done = done || e.kind == Kind::lookup_done;
  CHECK(done);
}

TEST_CASE("relay client fails a lookup over to the next relay when its relay dies") {
  Client c;
  auto out = c.drain();
  c.answer_registers(out, R1);
  c.answer_registers(out, R2);
  c.events();
  // R1 dies silently; R2 keeps answering. Keepalive, then the retries.
  c.advance(limits::kRelayKeepaliveInterval);
  c.answer_registers(c.drain(), R2);
  for (unsigned i = 0; i < limits::kRelayMissedAnswersDead; ++i) {
    c.advance(Duration(limits::kRelayRegisterRetryInitial) * (1 << i));
    c.answer_registers(c.drain(), R2);
  }
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::relay_lost);
  CHECK(ev[0].relay == R1);
  // A new lookup goes to R2 first now that R1 is dead.
  REQUIRE(c.client.lookup(B, c.now).ok());
  out = c.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].relay == R2);
}

TEST_CASE("relay client passes punch notifications and bounced forwards on as events") {
  Client c({{R1, R1_at}});
  c.answer_registers(c.drain(), R1);
  c.events();
  c.from(R1, PunchNotify{B, 9, {B_pub}});
  c.from(R1, LookupResult{0, B, false, {}});
  auto ev = c.events();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == Kind::punch);
  CHECK(ev[0].peer == B);
  CHECK(ev[0].nonce == 9);
  CHECK(ev[0].candidates == Candidates{B_pub});
  CHECK(ev[1].kind == Kind::peer_gone);
  CHECK(ev[1].peer == B);
}

TEST_CASE("relay client refuses lookups with no relay or too many in flight") {
  Client none({}, {});
  CHECK(none.client.lookup(B, none.now).error() == OverlayError::no_relays);
  RelayClientConfig config;
  config.relays = {{R1, R1_at}};
  config.max_pending_lookups = 2;
  RelayClient small(config, ManualClock::kDefaultStart);
  CHECK(small.lookup(key(1), ManualClock::kDefaultStart).ok());
  CHECK(small.lookup(key(2), ManualClock::kDefaultStart).ok());
  CHECK(small.lookup(key(1), ManualClock::kDefaultStart).ok());  // joins the one in flight
  CHECK(small.lookup(key(3), ManualClock::kDefaultStart).error() == OverlayError::too_many_lookups);
}

TEST_CASE("relay client re-registers everywhere when its own endpoints change") {
  Client c;
  c.drain();
  c.client.set_local_candidates({ep(10, 0, 0, 9, 41001)}, c.now);
  auto out = c.drain();
  CHECK(count_registers(out, R1) == 1);
  CHECK(count_registers(out, R2) == 1);
  CHECK(std::get<Register>(out[0].message).candidates == Candidates{ep(10, 0, 0, 9, 41001)});
}

TEST_CASE("relay client lookup fails at once when every relay is dead") {
  Client c({{R1, R1_at}});
  c.drain();
  // relay_missed_answers_dead registers unanswered, each retry waiting twice as long: dead.
  Duration retries{};
  for (unsigned i = 0; i < limits::kRelayMissedAnswersDead; ++i) {
    retries += Duration(limits::kRelayRegisterRetryInitial) * (1 << i);
  }
  c.advance(retries);
  REQUIRE(c.client.status(0) == RelayClient::Status::dead);
  c.drain();
  c.events();
  REQUIRE(c.client.lookup(B, c.now).ok());
  CHECK(c.drain().empty());
  auto ev = c.events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::lookup_failed);
  CHECK(ev[0].peer == B);
  CHECK(ev[0].error == OverlayError::lookup_timeout);
  CHECK(c.client.pending_lookups() == 0);
}

TEST_CASE("relay client registers at once with a relay added after start, and looks up there") {
  Client c({}, {});
  CHECK(c.client.lookup(B, c.now).error() == OverlayError::no_relays);
  CHECK(c.client.add_relay({R1, R1_at}, c.now));
  CHECK_FALSE(c.client.add_relay({R1, R1_at}, c.now));  // already known
  auto out = c.drain();
  REQUIRE(count_registers(out, R1) == 1);
  c.answer_registers(out, R1);
  REQUIRE(c.client.registered_with(R1));
  REQUIRE(c.client.lookup(B, c.now).ok());
  out = c.drain();
  REQUIRE(out.size() == 1);
  CHECK(out[0].relay == R1);
  CHECK(std::holds_alternative<Lookup>(out[0].message));
}

TEST_CASE("relay client registers at once when its traffic through a relay goes unanswered") {
  Client c({{R1, R1_at}});
  c.answer_registers(c.drain(), R1);
  c.events();
  c.now += 2s;
  c.client.refresh(R1, c.now);
  auto out = c.drain();
  CHECK(count_registers(out, R1) == 1);
  c.client.refresh(R1, c.now);  // one is waiting for its answer already
  CHECK(c.drain().empty());
  // Unanswered, it is retried like any register (the relay may be gone).
  c.advance(limits::kRelayRegisterRetryInitial);
  CHECK(count_registers(c.drain(), R1) == 1);
  c.client.refresh(key(0x99), c.now);  // not a relay of ours
  CHECK(c.drain().empty());
}
