// PublishTracker: dedupe of publish ids within the window, and confirms that wait for
// their commit. First through the broker, then the tracker on its own.
#include "mq/publish_tracker.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("broker confirms a publish only after its record is committed") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  auto hello = h.take(P);
  REQUIRE(hello.size() == 1);
  CHECK(hello[0].type() == MessageType::hello_ok);
  REQUIRE(h.publish(P, 7, "jobs", "x"));
  auto before = h.take(P);
  CHECK(confirmed_ids(before).empty());
  CHECK(h.broker->stats().pending == 1);
  h.commit();
  auto after = h.take(P);
  CHECK(confirmed_ids(after) == std::vector<std::uint64_t>{7});
  CHECK(h.counter("mq_published_total") == 1);
}

TEST_CASE("a duplicate publish is confirmed again without being stored twice") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 7, "jobs", "x"));
  h.commit();
  (void)h.take(P);
  const std::size_t records = h.journal.records.size();
  REQUIRE(h.publish(P, 7, "jobs", "x"));
  auto got = h.take(P);
  CHECK(confirmed_ids(got) == std::vector<std::uint64_t>{7});
  CHECK(h.journal.records.size() == records);
  CHECK(h.broker->stats().stored_messages == 1);
  CHECK(h.counter("mq_duplicate_publishes_total") == 1);
}

TEST_CASE("a duplicate publish before the commit is confirmed once, by the commit") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 7, "jobs", "x"));
  REQUIRE(h.publish(P, 7, "jobs", "x"));
  CHECK(confirmed_ids(h.take(P)).empty());
  h.commit();
  auto got = h.take(P);
  CHECK(confirmed_ids(got) == std::vector<std::uint64_t>{7});
  CHECK(h.broker->stats().stored_messages == 1);
}

TEST_CASE("the same id from two producers is two messages") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(P2, Role::producer);
  REQUIRE(h.publish(P, 7, "jobs", "from p"));
  REQUIRE(h.publish(P2, 7, "jobs", "from p2"));
  h.commit();
  CHECK(h.broker->stats().stored_messages == 2);
}

TEST_CASE("a publish id is forgotten after two dedupe windows, not before one") {
  BrokerConfig config;
  config.dedupe_window = 10s;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 7, "jobs", "x"));
  h.commit();
  answer(h, C, h.deliveries(C).at(0), "done");
  h.advance(9s);
  REQUIRE(h.publish(P, 7, "jobs", "x"));
  h.commit();
  CHECK(h.deliveries(C).empty());  // still a duplicate
  h.advance(12s);
  REQUIRE(h.publish(P, 7, "jobs", "x"));
  h.commit();
  CHECK(h.deliveries(C).size() == 1);  // a new message now
}

TEST_CASE("a publish refused as queue_full and sent again after newer ids is deduplicated") {
  BrokerConfig config;
  config.max_messages = 2;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 0);  // holds nothing: the queue stays full
  REQUIRE(h.publish(P, 10, "jobs", "a"));
  REQUIRE(h.publish(P, 11, "jobs", "b"));
  REQUIRE(h.publish(P, 12, "jobs", "c"));  // queue_full
  h.commit();
  (void)h.take(P);
  REQUIRE(h.send(C, Credit{2}));
  for (const Got& d : h.deliveries(C)) answer(h, C, d, "ok");
  REQUIRE(h.send(P, AnswerReceived{10}));
  REQUIRE(h.send(P, AnswerReceived{11}));
  REQUIRE(h.publish(P, 14, "jobs", "e"));  // a gap: 13 was refused too_large, say
  REQUIRE(h.publish(P, 12, "jobs", "c"));  // below the newest id: stored all the same
  h.commit();
  CHECK(confirmed_ids(h.take(P)) == std::vector<std::uint64_t>{14, 12});
  const std::uint64_t records = h.journal.records.size();
  for (std::uint64_t id : {10u, 11u, 12u, 14u}) REQUIRE(h.publish(P, id, "jobs", "again"));
  CHECK(confirmed_ids(h.take(P)) == std::vector<std::uint64_t>{10, 11, 12, 14});
  CHECK(h.journal.records.size() == records);
  CHECK(h.counter("mq_duplicate_publishes_total") == 4);
  REQUIRE(h.publish(P, 13, "jobs", "d"));  // never stored: not a duplicate (queue_full)
  CHECK(h.counter("mq_duplicate_publishes_total") == 4);
}

TEST_CASE("publish ids in any order are each stored once") {
  BrokerConfig config;
  config.max_messages = 100000;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(P2, Role::producer);
  std::set<std::pair<int, std::uint64_t>> stored;
  std::uint64_t next[2] = {1000, 1000};
  std::uint64_t x = 12345;
  for (int i = 0; i < 4000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const int who = static_cast<int>((x >> 60) & 1);
    // Half in order, the rest steps back (resends), gaps, or anything at all.
    std::uint64_t id = 0;
    switch ((x >> 61) & 7) {
      case 0:
      case 1:
      case 2:
      case 3: id = next[who]++; break;
      case 4:
      case 5: id = next[who] - 1 - ((x >> 20) % 50); break;
      case 6:
        next[who] += 2 + (x >> 20) % 5;
        id = next[who]++;
        break;
      default: id = x >> 3; break;
    }
    REQUIRE(h.publish(who == 0 ? P : P2, id, "jobs", "x"));
    stored.emplace(who, id);
    if (i % 100 == 0) h.commit();
  }
  h.commit();
  CHECK(h.broker->stats().stored_messages == stored.size());
  CHECK(h.counter("mq_published_total") == stored.size());
  CHECK(h.counter("mq_duplicate_publishes_total") == 4000 - stored.size());
}

TEST_CASE("an id stored twice after the dedupe forgot it is confirmed when the second commits") {
  BrokerConfig config;
  config.dedupe_max_entries = 1;  // every new producer run turns the generation
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(P2, Role::producer);
  REQUIRE(h.publish(P, 7, "jobs", "first"));
  const std::uint64_t first = h.journal.last();
  REQUIRE(h.publish(P2, 1, "jobs", "x"));  // turns: P's 7 is in the previous generation
  REQUIRE(h.publish(P2, 5, "jobs", "x"));  // a new run: turns again, 7 is forgotten
  REQUIRE(h.publish(P, 7, "jobs", "second"));
  CHECK(h.broker->stats().stored_messages == 4);
  h.broker->on_committed(first, h.clock.now());
  CHECK(confirmed_ids(h.take(P)) == std::vector<std::uint64_t>{7});
  REQUIRE(h.publish(P, 7, "jobs", "third"));  // a duplicate of the one still pending
  CHECK(confirmed_ids(h.take(P)).empty());
  h.commit();
  CHECK(confirmed_ids(h.take(P)) == std::vector<std::uint64_t>{7});
}

// ---- the tracker on its own ------------------------------------------------------------------

namespace {

std::int64_t ticks(Instant t) {
  return t.time_since_epoch().count();
}

// Adds held message p to the tracker as a fresh publish.
void add(PartsRig& r, Pos p) {
  const Slot& s = r.store.at(p);
  r.publishes.add(p, block_producer(s), block_id(s), r.clock.now());
}

}  // namespace

TEST_CASE("a publish is pending until a commit covers it, and stored from the start") {
  PartsRig r;
  const Pos p = r.message("jobs");  // seq 1
  const std::uint32_t producer = block_producer(r.store.at(p));
  const std::uint64_t id = block_id(r.store.at(p));
  add(r, p);
  CHECK(r.publishes.stored(producer, id));
  CHECK(r.publishes.pending(producer, id));
  CHECK(r.publishes.pending_count() == 1);
  CHECK(r.publishes.pop_committed(0) == kNoPos);
  CHECK(r.publishes.pop_committed(1) == p);
  CHECK_FALSE(r.publishes.pending(producer, id));
  CHECK(r.publishes.stored(producer, id));
  CHECK(r.publishes.pop_committed(1) == kNoPos);
  CHECK(r.publishes.pending_count() == 0);
}

TEST_CASE("pending publishes come back in seq order, only as far as the commit") {
  PartsRig r;
  const Pos a = r.message("jobs");  // seq 1
  const Pos b = r.message("jobs");  // seq 2
  const Pos c = r.message("jobs");  // seq 3
  for (Pos p : {a, b, c}) add(r, p);
  CHECK(r.publishes.pop_committed(2) == a);
  CHECK(r.publishes.pop_committed(2) == b);
  CHECK(r.publishes.pop_committed(2) == kNoPos);
  CHECK(r.publishes.pop_committed(3) == c);
}

TEST_CASE("an id pending twice stays pending until its second copy commits") {
  PartsRig r;
  r.next_id = 7;
  const Pos first = r.message("jobs");
  r.next_id = 7;
  const Pos second = r.message("jobs");
  const std::uint32_t producer = block_producer(r.store.at(first));
  add(r, first);
  add(r, second);
  CHECK(r.publishes.pop_committed(1) == first);
  CHECK(r.publishes.pending(producer, 7));
  CHECK(r.publishes.pop_committed(2) == second);
  CHECK_FALSE(r.publishes.pending(producer, 7));
}

TEST_CASE("the dedupe keeps an id one to two windows, then releases its producer") {
  BrokerConfig config;
  config.dedupe_window = 10s;
  PartsRig r(config);
  const std::uint32_t producer = r.producers.intern(P);  // the test's own reference
  CHECK(r.publishes.deadline() == kNever);               // nothing remembered: no timer
  r.publishes.remember(producer, 5);
  CHECK(r.producers.refs(producer) == 2);  // one for the generation holding it
  CHECK(r.publishes.deadline() == ticks(r.clock.now() + 10s));
  r.clock.advance(9s);
  r.publishes.on_timeout(r.clock.now());  // not yet: nothing turns
  CHECK(r.publishes.deadline() == ticks(r.clock.now() + 1s));
  r.clock.advance(1s);
  r.publishes.on_timeout(r.clock.now());  // first turn: now in the previous generation
  CHECK(r.publishes.stored(producer, 5));
  CHECK(r.producers.refs(producer) == 2);
  r.clock.advance(10s);
  r.publishes.on_timeout(r.clock.now());  // second turn: forgotten
  CHECK_FALSE(r.publishes.stored(producer, 5));
  CHECK(r.producers.refs(producer) == 1);
  CHECK(r.publishes.deadline() == kNever);
}

TEST_CASE("an id remembered twice costs one producer reference per generation") {
  PartsRig r;
  const std::uint32_t producer = r.producers.intern(P);
  r.publishes.remember(producer, 1);
  r.publishes.remember(producer, 2);
  r.publishes.remember(producer, 1);
  CHECK(r.producers.refs(producer) == 2);
  CHECK(r.publishes.ids() == 2);
}

TEST_CASE("a full dedupe generation turns early, and the turn is counted") {
  BrokerConfig config;
  config.dedupe_max_entries = 2;
  PartsRig r(config);
  r.next_id = 1;
  add(r, r.message("jobs"));  // id 1: one run
  r.next_id = 3;
  add(r, r.message("jobs"));  // id 3: a gap, a second run: the generation is full
  CHECK(r.counter_value("mq_dedupe_early_turns_total") == 0);
  r.next_id = 10;
  add(r, r.message("jobs"));  // turns first, then goes into the new generation
  CHECK(r.counter_value("mq_dedupe_early_turns_total") == 1);
  const std::uint32_t producer = r.producers.intern(P);
  for (std::uint64_t id : {1u, 3u, 10u}) CHECK(r.publishes.stored(producer, id));
  r.producers.release(producer);
}
