// DeliveryRouter: commands, consumers and credit, round robin and priorities, deliveries
// in flight and the visibility timeout. First through the broker, then the router on its
// own: a numbered table of one delivery's life, then its choices between consumers and
// commands.
#include "mq/delivery_router.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("a message goes to exactly one consumer subscribed to its command") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  h.hello(C2, Role::consumer, {"other"});
  REQUIRE(h.publish(P, 1, "jobs", "work"));
  h.commit();
  auto d = h.deliveries(C);
  REQUIRE(d.size() == 1);
  const Deliver& m = d[0].as<Deliver>();
  CHECK(text(m.payload) == "work");
  CHECK(m.command == "jobs");
  CHECK(m.message_id == 1);
  CHECK(m.producer == P);
  CHECK(m.delivery_count == 1);
  CHECK(h.deliveries(C2).empty());
}

TEST_CASE("a consumer without commands takes only messages without a command") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {});
  REQUIRE(h.publish(P, 1, "jobs", "with"));
  REQUIRE(h.publish(P, 2, "", "without"));
  h.commit();
  CHECK(payloads(h.deliveries(C)) == std::vector<std::string>{"without"});
}

TEST_CASE("messages wait while no consumer of their command exists") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "jobs", "a"));
  REQUIRE(h.publish(P, 2, "jobs", "b"));
  h.commit();
  CHECK(h.broker->stats().ready == 2);
  h.advance(1h);
  h.hello(C, Role::consumer, {"jobs"});
  CHECK(payloads(h.deliveries(C)) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a message is not delivered before its record is committed") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "a"));
  CHECK(h.deliveries(C).empty());
  h.commit();
  CHECK(h.deliveries(C).size() == 1);
}

TEST_CASE("deliveries stop at the consumer's prefetch and resume as it answers") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 2);
  for (std::uint64_t i = 1; i <= 5; ++i) REQUIRE(h.publish(P, i, "jobs", std::to_string(i)));
  h.commit();
  auto d = h.deliveries(C);
  REQUIRE(d.size() == 2);
  CHECK(h.broker->stats().ready == 3);
  answer(h, C, d[0], "ok");
  auto more = h.deliveries(C);
  REQUIRE(more.size() == 1);
  CHECK(text(more[0].as<Deliver>().payload) == "3");
}

TEST_CASE("competing consumers share the messages round robin") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 100);
  h.hello(C2, Role::consumer, {"jobs"}, 100);
  for (std::uint64_t i = 1; i <= 10; ++i) REQUIRE(h.publish(P, i, "jobs", "x"));
  h.commit();
  CHECK(h.deliveries(C).size() == 5);
  CHECK(h.deliveries(C2).size() == 5);
}

TEST_CASE("a busy consumer's share goes to the one with credit") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 1);
  h.hello(C2, Role::consumer, {"jobs"}, 100);
  for (std::uint64_t i = 1; i <= 6; ++i) REQUIRE(h.publish(P, i, "jobs", "x"));
  h.commit();
  CHECK(h.deliveries(C).size() == 1);
  CHECK(h.deliveries(C2).size() == 5);
}

TEST_CASE("higher priority messages are delivered first, equal ones in order") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "jobs", "low-1", 0));
  REQUIRE(h.publish(P, 2, "jobs", "high-1", 9));
  REQUIRE(h.publish(P, 3, "jobs", "mid", 4));
  REQUIRE(h.publish(P, 4, "jobs", "high-2", 9));
  REQUIRE(h.publish(P, 5, "jobs", "low-2", 0));
  h.commit();
  h.hello(C, Role::consumer, {"jobs"}, 100);
  CHECK(payloads(h.deliveries(C)) ==
        std::vector<std::string>{"high-1", "high-2", "mid", "low-1", "low-2"});
}

TEST_CASE("a consumer of several commands takes the highest priority among them") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "a", "a-low", 1));
  REQUIRE(h.publish(P, 2, "b", "b-high", 8));
  h.commit();
  h.hello(C, Role::consumer, {"a", "b"}, 1);
  CHECK(payloads(h.deliveries(C)) == std::vector<std::string>{"b-high"});
}

TEST_CASE("credit 0 pauses a consumer and credit n resumes it") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 5);
  REQUIRE(h.send(C, Credit{0}));
  REQUIRE(h.publish(P, 1, "jobs", "x"));
  REQUIRE(h.publish(P, 2, "jobs", "y"));
  h.commit();
  CHECK(h.deliveries(C).empty());
  REQUIRE(h.send(C, Credit{1}));
  CHECK(h.deliveries(C).size() == 1);
}

TEST_CASE("an answer with an unknown tag is dropped") {
  BrokerHarness h;
  h.hello(C, Role::consumer, {"jobs"});
  const Bytes body = bytes("x");
  CHECK(h.send(C, Answer{12345, body}).error() == MqError::unknown_delivery);
  CHECK(h.send(C, Answer{~std::uint64_t{0}, body}).error() == MqError::unknown_delivery);
}

TEST_CASE("a consumer cannot answer another consumer's delivery") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  h.hello(C2, Role::consumer, {"other"});
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  auto d = h.deliveries(C);
  const Bytes body = bytes("forged");
  CHECK(h.send(C2, Answer{d.at(0).as<Deliver>().tag, body}).error() == MqError::unknown_delivery);
  CHECK(h.broker->stats().in_flight == 1);
}

TEST_CASE("an answer to an answered delivery is dropped") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  auto d = h.deliveries(C);
  answer(h, C, d.at(0), "a");
  const Bytes body = bytes("again");
  CHECK(h.send(C, Answer{d.at(0).as<Deliver>().tag, body}).error() == MqError::unknown_delivery);
}

TEST_CASE("a delivery not answered within the visibility timeout goes to another consumer") {
  BrokerConfig config;
  config.visibility_timeout = 5s;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 1);
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  CHECK(h.deliveries(C).size() == 1);
  h.hello(C2, Role::consumer, {"jobs"}, 1);
  CHECK(h.broker->next_deadline() == h.clock.now() + 5s);
  h.advance(4s);
  CHECK(h.deliveries(C2).empty());
  h.advance(2s);
  auto d = h.deliveries(C2);
  REQUIRE(d.size() == 1);
  CHECK(d[0].as<Deliver>().delivery_count == 2);
  CHECK(h.counter("mq_visibility_timeouts_total") == 1);
}

TEST_CASE("a late answer after the visibility timeout still completes a waiting message") {
  BrokerConfig config;
  config.visibility_timeout = 5s;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 1);
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  auto d = h.deliveries(C);
  h.advance(6s);
  // The timed-out delivery still counts against C's prefetch, so nothing else came.
  CHECK(h.deliveries(C).empty());
  (void)h.take(P);
  answer(h, C, d.at(0), "late but fine");
  auto got = h.take(P);
  REQUIRE(of_type(got, MessageType::answer_to_producer).size() == 1);
  CHECK(h.broker->stats().stored_messages == 0);
}

TEST_CASE("a stale answer gives a timed-out consumer its credit back") {
  BrokerConfig config;
  config.visibility_timeout = 5s;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 1);
  h.hello(C2, Role::consumer, {"jobs"}, 1);
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  auto first = h.deliveries(C);
  REQUIRE(first.size() == 1);
  h.advance(6s);
  auto second = h.deliveries(C2);  // redelivered to C2
  REQUIRE(second.size() == 1);
  REQUIRE(h.publish(P, 2, "jobs", "next"));
  h.commit();
  CHECK(h.deliveries(C).empty());  // C is still charged for its timed-out delivery
  const Bytes body = bytes("late");
  CHECK(h.send(C, Answer{first[0].as<Deliver>().tag, body}).error() == MqError::unknown_delivery);
  CHECK(payloads(h.deliveries(C)) == std::vector<std::string>{"next"});
}

// ---- one delivery's life, step by step -------------------------------------------------------

namespace {

std::int64_t ticks(Instant t) {
  return t.time_since_epoch().count();
}

enum class Step {
  take,      // A takes the next message it may have
  deliver,   // ... and it is delivered to A (the first delivery's tag is kept)
  take_b,    // B (same command, prefetch 1) takes and is delivered the next message
  end,       // the delivery ends (answered, rejected: the owner's business)
  early,     // time_out() before the deadline
  due,       // the visibility timeout passes, time_out()
  front,     // the message goes back to the front of its queue
  forgive,   // A answers a delivery it no longer holds
  pause,     // A's prefetch drops to 0
  full,      // A's send buffer is full
  writable,  // ... and has room again
};

struct Row {
  int n;
  std::vector<Step> steps;
  SlotState state;          // of the message afterwards
  std::uint32_t in_flight;  // A's
  std::uint32_t zombies;    // A's
  bool credit;              // A's
  bool first_tag;           // the first delivery's tag still resolves (late answers too)
  std::uint8_t deliveries;  // the message's count
};

using S = Step;
constexpr SlotState kReady = SlotState::ready;
constexpr SlotState kHeld = SlotState::held;
constexpr SlotState kOut = SlotState::in_flight;

// One message ready on "jobs"; consumers A and B with prefetch 1 each.
const Row kRows[] = {
    /* 1 */ {1, {}, kReady, 0, 0, true, false, 0},
    /* 2 */ {2, {S::take}, kHeld, 0, 0, true, false, 0},
    /* 3 */ {3, {S::take, S::deliver}, kOut, 1, 0, false, true, 1},
    /* 4 */ {4, {S::pause, S::take}, kReady, 0, 0, false, false, 0},
    /* 5 */ {5, {S::take, S::deliver, S::take}, kOut, 1, 0, false, true, 1},
    /* 6 */ {6, {S::take, S::deliver, S::end}, kHeld, 0, 0, true, false, 1},
    /* 7 */ {7, {S::take, S::deliver, S::early}, kOut, 1, 0, false, true, 1},
    /* 8 */ {8, {S::take, S::deliver, S::due}, kHeld, 0, 1, false, false, 1},
    /* 9 */ {9, {S::take, S::deliver, S::due, S::forgive}, kHeld, 0, 0, true, false, 1},
    /* 10 */ {10, {S::take, S::deliver, S::due, S::front}, kReady, 0, 1, false, true, 1},
    /* 11 */ {11, {S::take, S::deliver, S::end, S::front}, kReady, 0, 0, true, true, 1},
    /* 12 */ {12, {S::full, S::take, S::deliver}, kReady, 0, 0, false, true, 0},
    /* 13 */ {13, {S::full, S::take, S::deliver, S::writable}, kReady, 0, 0, true, true, 0},
    /* 14 */ {14, {S::take, S::deliver, S::due, S::front, S::take}, kReady, 0, 1, false, true, 1},
    /* 15 */
    {15, {S::take, S::deliver, S::end, S::front, S::take, S::deliver}, kOut, 1, 0, false, false, 2},
    /* 16 */ {16, {S::take, S::deliver, S::due, S::front, S::take_b}, kOut, 0, 1, false, false, 2},
};

}  // namespace

TEST_CASE("a delivery moves through ready, held and in flight as the table says") {
  for (const Row& row : kRows) {
    CAPTURE(row.n);
    BrokerConfig config;
    config.visibility_timeout = 5s;
    PartsRig r(config);
    PeerLink la{C}, lb{C2};
    DeliveryRouter::Consumer& a = r.consumer(la, {"jobs"}, 1);
    DeliveryRouter::Consumer& b = r.consumer(lb, {"jobs"}, 1);
    const Pos m = r.ready("jobs");
    Pos taken = kNoPos;
    std::uint64_t first_tag = 0;  // never a tag: the attempt is at least 1
    for (Step step : row.steps) {
      switch (step) {
        case S::take: taken = r.router.take(a); break;
        case S::deliver:
          REQUIRE(taken == m);
          (void)r.router.deliver(a, m, r.clock.now());
          if (first_tag == 0) first_tag = (m << 16) | r.store.at(m).attempt;
          break;
        case S::take_b: {
          DeliveryRouter::Consumer* to = nullptr;
          REQUIRE(r.router.take(r.store.at(m).command, to) == m);
          REQUIRE(to == &b);
          REQUIRE(r.router.deliver(b, m, r.clock.now()));
          break;
        }
        case S::end: r.router.end_delivery(m); break;
        case S::early: CHECK(r.router.time_out(ticks(r.clock.now())) == kNoPos); break;
        case S::due:
          r.clock.advance(5s);
          CHECK(r.router.time_out(ticks(r.clock.now())) == m);
          break;
        case S::front: r.router.make_ready(m, true); break;
        case S::forgive: CHECK(r.router.forgive(a)); break;
        case S::pause: r.router.set_prefetch(a, 0); break;
        case S::full: r.out.full.insert(C); break;
        case S::writable:
          r.out.full.clear();
          la.blocked = false;
          break;
      }
    }
    CHECK(r.state(m) == row.state);
    CHECK(a.in_flight == row.in_flight);
    CHECK(a.zombies == row.zombies);
    CHECK(r.router.has_credit(a) == row.credit);
    CHECK((r.router.resolve(a, first_tag, true) == m) == row.first_tag);
    CHECK(r.store.at(m).deliveries == row.deliveries);
    CHECK(r.router.ready() == (row.state == kReady ? 1u : 0u));
    CHECK(r.router.in_flight() == (row.state == kOut ? 1u : 0u));
  }
}

// ---- the router's choices --------------------------------------------------------------------

TEST_CASE("a command's messages go round robin to the subscribers with credit") {
  PartsRig r;
  PeerLink l1{key(10)}, l2{key(11)}, l3{key(12)};
  DeliveryRouter::Consumer& k1 = r.consumer(l1, {"jobs"}, 10);
  DeliveryRouter::Consumer& k2 = r.consumer(l2, {"jobs"}, 10);
  DeliveryRouter::Consumer& k3 = r.consumer(l3, {"jobs"}, 10);
  for (int i = 0; i < 8; ++i) (void)r.ready("jobs");
  const std::uint32_t jobs = k1.commands.at(0);
  std::vector<DeliveryRouter::Consumer*> got;
  for (int i = 0; i < 8; ++i) {
    if (i == 6) r.router.set_prefetch(k2, 0);  // k2 pauses: the others share
    DeliveryRouter::Consumer* to = nullptr;
    REQUIRE(r.router.take(jobs, to) != kNoPos);
    got.push_back(to);
  }
  CHECK(got == std::vector<DeliveryRouter::Consumer*>{&k1, &k2, &k3, &k1, &k2, &k3, &k1, &k3});
}

TEST_CASE("a consumer takes the highest ready priority of its commands, round robin on ties") {
  PartsRig r;
  PeerLink link{C};
  DeliveryRouter::Consumer& k = r.consumer(link, {"a", "b", "c"}, 10);
  const Pos a1 = r.ready("a", 1);
  const Pos b1 = r.ready("b", 5);
  const Pos b2 = r.ready("b", 5);
  const Pos c1 = r.ready("c", 5);
  const Pos c2 = r.ready("c", 5);
  std::vector<Pos> got;
  for (Pos p = r.router.take(k); p != kNoPos; p = r.router.take(k)) got.push_back(p);
  CHECK(got == std::vector<Pos>{b1, c1, b2, c2, a1});
}

TEST_CASE("messages in one queue come out by priority, in order within one") {
  PartsRig r;
  PeerLink link{C};
  DeliveryRouter::Consumer& k = r.consumer(link, {"jobs"}, 10);
  const Pos low = r.ready("jobs", 0);
  const Pos high1 = r.ready("jobs", 9);
  const Pos mid = r.ready("jobs", 4);
  const Pos high2 = r.ready("jobs", 9);
  const Pos back = r.message("jobs", P, 4);
  r.router.make_ready(back, true);  // returned from a consumer: ahead of its equals
  std::vector<Pos> got;
  for (Pos p = r.router.take(k); p != kNoPos; p = r.router.take(k)) got.push_back(p);
  CHECK(got == std::vector<Pos>{high1, high2, back, mid, low});
}

TEST_CASE("a subscription names a command once, and a command lives while referenced") {
  PartsRig r;
  PeerLink link{C};
  DeliveryRouter::Consumer& k = r.consumer(link, {"x", "x", "y"}, 1);
  CHECK(k.commands.size() == 2);
  CHECK(r.router.commands() == 2);
  const Pos m = r.message("x");  // a message of x keeps it after the consumer goes
  r.router.remove_consumer(k);
  CHECK(r.router.commands() == 1);
  CHECK(r.router.consumers() == 0);
  r.messages.drop(m);
  CHECK(r.router.commands() == 0);
}

TEST_CASE("a second subscribe replaces the first") {
  PartsRig r;
  PeerLink link{C};
  DeliveryRouter::Consumer& k = r.consumer(link, {"old"}, 1);
  (void)r.ready("old");
  r.router.subscribe(k, "again", 3, std::vector<std::string_view>{"new"});
  CHECK(k.credit.cap() == 3);
  CHECK(k.name == "again");
  CHECK(r.router.take(k) == kNoPos);  // "old" is no longer its command
  const Pos n = r.ready("new");
  CHECK(r.router.take(k) == n);
}

TEST_CASE("a delivery tag resolves only for its own consumer and attempt") {
  PartsRig r;
  PeerLink la{C}, lb{C2};
  DeliveryRouter::Consumer& a = r.consumer(la, {"jobs"}, 5);
  DeliveryRouter::Consumer& b = r.consumer(lb, {"jobs"}, 5);
  const Pos m = r.ready("jobs");
  REQUIRE(r.router.take(a) == m);
  REQUIRE(r.router.deliver(a, m, r.clock.now()));
  const std::uint64_t tag = (m << 16) | r.store.at(m).attempt;
  struct Case {
    int n;
    const DeliveryRouter::Consumer* who;
    std::uint64_t tag;
    bool resolves;
  };
  const Case cases[] = {
      /* 1 */ {1, &a, tag, true},
      /* 2 */ {2, &b, tag, false},                           // another consumer's
      /* 3 */ {3, &a, tag + 1, false},                       // a later attempt
      /* 4 */ {4, &a, tag - 1, false},                       // an earlier one
      /* 5 */ {5, &a, ((m + 1) << 16) | 1, false},           // past the store's tail
      /* 6 */ {6, &a, ~std::uint64_t{0}, false},             // nowhere
      /* 7 */ {7, &a, tag & ~std::uint64_t{0xffff}, false},  // attempt 0: never made
  };
  for (const Case& c : cases) {
    CAPTURE(c.n);
    CHECK((r.router.resolve(*c.who, c.tag, false) == m) == c.resolves);
  }
}

TEST_CASE("take_back ends a consumer's deliveries and lists them in delivery order") {
  PartsRig r;
  PeerLink la{C}, lb{C2};
  DeliveryRouter::Consumer& a = r.consumer(la, {"jobs"}, 5);
  DeliveryRouter::Consumer& b = r.consumer(lb, {"jobs"}, 5);
  std::vector<Pos> to_a;
  for (int i = 0; i < 5; ++i) {
    const Pos m = r.ready("jobs");
    DeliveryRouter::Consumer& k = i == 2 ? b : a;
    REQUIRE(r.router.take(k) == m);
    REQUIRE(r.router.deliver(k, m, r.clock.now()));
    if (&k == &a) to_a.push_back(m);
  }
  std::vector<Pos> back;
  r.router.take_back(a, back);
  CHECK(back == to_a);
  CHECK(a.in_flight == 0);
  CHECK(b.in_flight == 1);
  CHECK(r.router.in_flight() == 1);
  for (Pos p : back) CHECK(r.state(p) == SlotState::held);
}

TEST_CASE("only the oldest delivery can be due: deadlines are in delivery order") {
  BrokerConfig config;
  config.visibility_timeout = 5s;
  PartsRig r(config);
  PeerLink link{C};
  DeliveryRouter::Consumer& k = r.consumer(link, {"jobs"}, 5);
  CHECK(r.router.deadline() == kNever);
  const Pos first = r.ready("jobs");
  REQUIRE(r.router.take(k) == first);
  REQUIRE(r.router.deliver(k, first, r.clock.now()));
  const Instant t0 = r.clock.now();
  r.clock.advance(1s);
  const Pos second = r.ready("jobs");
  REQUIRE(r.router.take(k) == second);
  REQUIRE(r.router.deliver(k, second, r.clock.now()));
  CHECK(r.router.deadline() == ticks(t0 + 5s));
  CHECK(r.router.time_out(ticks(t0 + 5s)) == first);
  CHECK(r.router.time_out(ticks(t0 + 5s)) == kNoPos);
  CHECK(r.router.deadline() == ticks(t0 + 6s));
  CHECK(k.zombies == 1);
  CHECK(k.in_flight == 1);
}
