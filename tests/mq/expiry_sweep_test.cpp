// ExpirySweep: when expired messages and answers are looked for, and what the look hands
// over. First through the broker, then the sweep on its own over a store.
#include "mq/expiry_sweep.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("expired messages leave the queue even when no consumer ever comes") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  for (std::uint64_t i = 1; i <= 3; ++i) REQUIRE(h.publish(P, i, "nobody", "x", 0, 1000));
  REQUIRE(h.publish(P, 4, "nobody", "keeps", 0, 0));
  h.commit();
  CHECK(h.broker->stats().stored_messages == 4);
  h.advance(3s);
  CHECK(h.broker->stats().stored_messages == 1);
  CHECK(h.counter("mq_expired_total") == 3);
}

// ---- the sweep on its own --------------------------------------------------------------------

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;  // Instant ticks are nanoseconds
constexpr std::int64_t kInterval =
    std::chrono::duration_cast<Duration>(limits::kBrokerExpirySweepInterval).count();

Pos slot(MessageStore& s, std::uint64_t uid, SlotState state, std::int64_t expires) {
  BlockSpec spec;
  spec.id = uid;
  spec.expires = expires;
  return s.append(uid, state, spec);
}

// Runs a sweep at `now`, killing and returning what it hands over.
std::vector<Pos> sweep(ExpirySweep& e, MessageStore& s, std::int64_t now) {
  std::vector<Pos> got;
  e.sweep(s, now, [&](Pos p) {
    got.push_back(p);
    s.kill(p);
  });
  return got;
}

}  // namespace

TEST_CASE("no sweep is due before anything that expires is noted") {
  ExpirySweep e;
  CHECK(e.deadline() == kNever);
  CHECK_FALSE(e.due(std::numeric_limits<std::int64_t>::max() - 1));
  e.note(kNever);  // a slot without a TTL
  CHECK(e.deadline() == kNever);
  e.note(50 * kSecond);
  e.note(70 * kSecond);
  CHECK(e.deadline() == 50 * kSecond);
  CHECK_FALSE(e.due(50 * kSecond - 1));
  CHECK(e.due(50 * kSecond));
}

TEST_CASE("a sweep hands over expired ready messages and answers, and nothing else") {
  MessageStore s;
  ExpirySweep e;
  struct Case {
    int n;
    SlotState state;
    std::int64_t expires;
    bool handed;
  };
  const Case cases[] = {
      /* 1 */ {1, SlotState::ready, 10 * kSecond, true},
      /* 2 */ {2, SlotState::answer, 10 * kSecond, true},
      /* 3 */ {3, SlotState::ready, 20 * kSecond, true},         // at `now`: expired
      /* 4 */ {4, SlotState::ready, 20 * kSecond + 1, false},    // a tick later: not yet
      /* 5 */ {5, SlotState::pending, 10 * kSecond, false},      // checked once ready
      /* 6 */ {6, SlotState::in_flight, 10 * kSecond, false},    // the consumer has it
      /* 7 */ {7, SlotState::dead_letter, 10 * kSecond, false},  // an admin decides
      /* 8 */ {8, SlotState::ready, kNever, false},              // no TTL
  };
  std::vector<Pos> expected;
  for (const Case& c : cases) {
    const Pos p = slot(s, static_cast<std::uint64_t>(c.n), c.state, c.expires);
    e.note(c.expires);
    if (c.handed) expected.push_back(p);
  }
  CHECK(sweep(e, s, 20 * kSecond) == expected);
  // What is left and expires: the pending and in-flight ones (10 s) come first.
  CHECK(e.deadline() == 20 * kSecond + kInterval);  // not before the next interval
}

TEST_CASE("sweeps are at least one interval apart, then at the next expiry") {
  MessageStore s;
  ExpirySweep e;
  (void)slot(s, 1, SlotState::ready, 10 * kSecond);
  const Pos later = slot(s, 2, SlotState::ready, 10 * kSecond + kInterval / 2);
  const Pos last = slot(s, 3, SlotState::ready, 100 * kSecond);
  e.note(10 * kSecond);
  e.note(100 * kSecond);
  CHECK(sweep(e, s, 10 * kSecond).size() == 1);
  CHECK(e.deadline() == 10 * kSecond + kInterval);  // `later` waits for the interval
  CHECK(sweep(e, s, 10 * kSecond + kInterval) == std::vector<Pos>{later});
  CHECK(e.deadline() == 100 * kSecond);
  CHECK(sweep(e, s, 100 * kSecond) == std::vector<Pos>{last});
  CHECK(e.deadline() == kNever);
}

TEST_CASE("an expiry noted during a sweep is kept") {
  MessageStore s;
  ExpirySweep e;
  (void)slot(s, 1, SlotState::ready, 10 * kSecond);
  e.note(10 * kSecond);
  e.sweep(s, 10 * kSecond, [&](Pos p) {
    s.kill(p);
    (void)slot(s, 2, SlotState::answer, 40 * kSecond);  // the expiry's answer
    e.note(40 * kSecond);
  });
  CHECK(e.deadline() == 40 * kSecond);
}
