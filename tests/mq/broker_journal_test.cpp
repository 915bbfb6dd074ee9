// BrokerJournal: sequence numbers, commits, the live floor and the wall times records
// carry. First through the broker, then the journal on its own.
#include "mq/broker_journal.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("a TTL keeps its meaning across a restart") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "jobs", "x", 0, 10'000));
  h.commit();
  h.clock.advance(20s);
  h.crash();
  h.hello(C, Role::consumer, {"jobs"});
  CHECK(h.deliveries(C).empty());
  CHECK(h.counter("mq_expired_total") == 1);
}

TEST_CASE("the live floor passes acknowledged records and stops at the oldest live one") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 1);
  REQUIRE(h.publish(P, 1, "jobs", "a"));  // seq 1
  REQUIRE(h.publish(P, 2, "jobs", "b"));  // seq 2
  h.commit();
  CHECK(h.broker->live_floor() == 1);
  answer(h, C, h.deliveries(C).at(0), "done");  // seq 3: kills 1, stores an answer
  CHECK(h.broker->live_floor() == 1);           // not before the answer record is durable
  h.commit();
  CHECK(h.broker->live_floor() == 2);
  REQUIRE(h.send(P, AnswerReceived{1}));        // seq 4
  answer(h, C, h.deliveries(C).at(0), "done");  // seq 5
  REQUIRE(h.send(P, AnswerReceived{2}));        // seq 6
  h.commit();
  CHECK(h.broker->live_floor() == 7);
  CHECK(h.broker->stats().store_span == 0);
}

// ---- the journal on its own ------------------------------------------------------------------

TEST_CASE("records get the journal's growing seqs and their bodies decode") {
  ManualClock clock;
  MemoryJournal memory;
  BrokerJournal journal(memory, clock.now(), clock.wall_now());
  CHECK(journal.append(AckedRecord{5}) == 1);
  CHECK(journal.append(AnswerDoneRecord{6}) == 2);
  CHECK(journal.last_seq() == 2);
  CHECK(journal.committed() == 0);
  REQUIRE(memory.records.size() == 2);
  auto second = decode_record(memory.records[1].body);
  REQUIRE(second);
  CHECK(std::get<AnswerDoneRecord>(*second).uid == 6);
  journal.commit(1);
  CHECK(journal.durable(1));
  CHECK_FALSE(journal.durable(2));
  journal.commit(0);  // commits never go back
  CHECK(journal.committed() == 1);
}

TEST_CASE("a replayed seq must be above every one before it") {
  ManualClock clock;
  MemoryJournal memory;
  BrokerJournal journal(memory, clock.now(), clock.wall_now());
  struct Case {
    int n;
    std::uint64_t seq;
    bool ok;
  };
  const Case cases[] = {
      /* 1 */ {1, 0, false},  // 0 is never a seq
      /* 2 */ {2, 3, true},   // gaps are fine: segments were deleted
      /* 3 */ {3, 3, false},  // the same again
      /* 4 */ {4, 2, false},  // going back
      /* 5 */ {5, 4, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.n);
    auto r = journal.replayed(c.seq);
    CHECK(bool(r) == c.ok);
    if (!c.ok) CHECK(r.error() == MqError::bad_sequence);
  }
  CHECK(journal.last_seq() == 4);
  CHECK(journal.committed() == 4);  // what was replayed is durable
}

TEST_CASE("the floor is the oldest live uid or a kept one, else one past the last seq") {
  ManualClock clock;
  MemoryJournal memory;
  BrokerJournal journal(memory, clock.now(), clock.wall_now());
  MessageStore store;
  for (int i = 0; i < 3; ++i) (void)journal.append(AckedRecord{0});
  CHECK(journal.floor(store) == 4);  // nothing live
  BlockSpec spec;
  const Pos p = store.append(journal.append(AckedRecord{0}), SlotState::ready, spec);  // 4
  CHECK(journal.floor(store) == 4);
  const std::uint64_t killer = journal.append(AckedRecord{4});  // 5 ends it
  journal.keep_until(killer, store.uid(p));
  store.kill(p);
  CHECK(journal.floor(store) == 4);  // kept until 5 is durable
  journal.commit(4);
  CHECK(journal.floor(store) == 4);
  journal.commit(5);
  CHECK(journal.floor(store) == 6);
}

TEST_CASE("wall times round trip through Instant ticks, and absurd ones are clamped") {
  ManualClock clock;
  MemoryJournal memory;
  BrokerJournal journal(memory, clock.now(), clock.wall_now());
  const std::int64_t now = clock.now().time_since_epoch().count();
  const std::int64_t wall =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall_now().time_since_epoch())
          .count();
  CHECK(journal.to_wall_ms(now) == wall);
  const std::int64_t later = now + std::chrono::duration_cast<Duration>(90s).count();
  CHECK(journal.to_wall_ms(later) == wall + 90'000);
  CHECK(journal.from_wall_ms(wall + 90'000) == later);
  CHECK(journal.from_wall_ms(wall - 1'000) ==
        now - std::chrono::duration_cast<Duration>(1s).count());
  // A corrupt record's time is clamped to ~35 years away, and never overflows.
  const std::int64_t far = journal.from_wall_ms(std::numeric_limits<std::int64_t>::max());
  CHECK(far == journal.from_wall_ms(wall + (std::int64_t{1} << 40)));
  CHECK(far > later);
  CHECK(journal.from_wall_ms(std::numeric_limits<std::int64_t>::min()) < now);
}
