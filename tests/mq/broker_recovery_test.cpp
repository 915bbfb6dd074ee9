// BrokerRecovery: the broker rebuilt from its records, and compaction rewriting the old
// ones. First through the broker (crashes of the harness's journal), then record by record.
#include "mq/broker_recovery.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mq/journal_record.hpp"
#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("a broker rebuilt from its committed records has every confirmed message") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  for (std::uint64_t i = 1; i <= 5; ++i) REQUIRE(h.publish(P, i, "jobs", std::to_string(i)));
  h.commit();
  REQUIRE(h.publish(P, 6, "jobs", "6"));  // not committed: lost, never confirmed
  h.crash();
  CHECK(h.broker->stats().stored_messages == 5);
  h.hello(C, Role::consumer, {"jobs"}, 100);
  CHECK(payloads(h.deliveries(C)) == std::vector<std::string>{"1", "2", "3", "4", "5"});
}

TEST_CASE("a message resent after a crash is stored once: dedupe survives recovery") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "jobs", "x"));
  h.commit();
  h.crash();
  h.hello(P, Role::producer);
  (void)h.take(P);
  REQUIRE(h.publish(P, 1, "jobs", "x"));
  auto got = h.take(P);
  CHECK(confirmed_ids(got) == std::vector<std::uint64_t>{1});
  CHECK(h.broker->stats().stored_messages == 1);
}

TEST_CASE("answered messages are not redelivered after recovery and their answers survive") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "q1"));
  REQUIRE(h.publish(P, 2, "jobs", "q2"));
  h.commit();
  auto d = h.deliveries(C);
  h.broker->on_disconnect(P, h.clock.now());
  answer(h, C, d.at(0), "a1");  // in flight: q2 was delivered but not answered
  h.commit();
  h.crash();
  CHECK(h.broker->stats().stored_messages == 1);
  CHECK(h.broker->stats().stored_answers == 1);
  h.hello(C, Role::consumer, {"jobs"});
  auto again = h.deliveries(C);
  CHECK(payloads(again) == std::vector<std::string>{"q2"});
  h.hello(P, Role::producer);
  auto got = h.take(P);
  auto answers = of_type(got, MessageType::answer_to_producer);
  REQUIRE(answers.size() == 1);
  CHECK(text(answers[0]->as<AnswerToProducer>().payload) == "a1");
}

TEST_CASE("dead letters and their requeues survive recovery") {
  BrokerHarness h;
  make_dead_letters(h, 2);
  h.hello(A, Role::admin);
  (void)h.take(A);
  std::vector<Got> keep;
  const std::uint64_t uid = list_dead_letters(h, 0, 10, keep).entries.at(0).uid;
  h.broker->on_disconnect(C, h.clock.now());
  REQUIRE(h.send(A, DlqModify{1, DlqAction::requeue, false, {uid}}));
  h.commit();
  h.crash();
  CHECK(h.broker->stats().dead_letters == 1);
  CHECK(h.broker->stats().ready == 1);
}

TEST_CASE("a corrupt journal record is skipped and counted during replay") {
  BrokerHarness h;
  const Bytes junk = {0x91, 0x63};
  CHECK(h.broker->replay(1, junk).error() == MqError::unknown_record_type);
  CHECK(h.counter("mq_replay_errors_total") == 1);
  Bytes stored;
  encode_record(StoredRecord{0, P, 9, "jobs", {}, {}, 0, 0, 0, 0, 0}, stored);
  CHECK(h.broker->replay(2, stored));
  CHECK(h.broker->stats().stored_messages == 1);
  CHECK(h.broker->replay(2, stored).error() == MqError::bad_sequence);
  CHECK(h.broker->replay(0, stored).error() == MqError::bad_sequence);
  CHECK(h.broker->stats().stored_messages == 1);
  CHECK(h.counter("mq_replay_errors_total") == 3);
}

TEST_CASE("compaction moves a stuck message so the floor advances") {
  BrokerConfig config;
  config.compact_min_span = 8;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "nobody", "stuck"));
  h.commit();
  for (std::uint64_t i = 2; i <= 40; ++i) {
    REQUIRE(h.publish(P, i, "jobs", "x"));
    h.commit();
    answer(h, C, h.deliveries(C).at(0), "ok");
    REQUIRE(h.send(P, AnswerReceived{i}));
    h.commit();
  }
  h.commit();  // the last relocation's record, too
  CHECK(h.counter("mq_relocated_total") >= 1);
  CHECK(h.broker->live_floor() > 10);
  CHECK(h.broker->stats().store_span <= 8);
  h.journal.delete_below(h.broker->live_floor());
  h.crash();
  CHECK(h.broker->stats().stored_messages == 1);
  h.hello(C2, Role::consumer, {"nobody"});
  CHECK(payloads(h.deliveries(C2)) == std::vector<std::string>{"stuck"});
}

TEST_CASE("recovery after deleting everything below the floor loses nothing") {
  BrokerConfig config;
  config.compact_min_span = 4;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 3);
  std::uint64_t id = 0;
  std::vector<std::string> expected;  // confirmed, never answered
  for (int round = 0; round < 30; ++round) {
    for (int i = 0; i < 3; ++i) {
      ++id;
      REQUIRE(h.publish(P, id, round % 4 == 0 ? "rare" : "jobs", std::to_string(id)));
    }
    h.commit();
    for (const Got& d : h.deliveries(C)) {
      if (d.as<Deliver>().message_id % 3 == 0) {
        answer(h, C, d, "ok");
      } else {
        REQUIRE(h.send(C, Reject{d.as<Deliver>().tag, false, "keep"}));
      }
    }
    h.commit();
    h.journal.delete_below(h.broker->live_floor());
  }
  const BrokerStats before = h.broker->stats();
  h.crash();
  const BrokerStats after = h.broker->stats();
  CHECK(after.stored_messages == before.stored_messages);
  CHECK(after.dead_letters == before.dead_letters);
  CHECK(after.ready == before.ready + before.in_flight);
  CHECK(after.stored_answers == before.stored_answers);
}

// ---- record by record ------------------------------------------------------------------------

namespace {

// Applies `record` as durable record `seq`, as Broker::replay does after decoding.
void apply(PartsRig& r, std::uint64_t seq, const JournalRecord& record) {
  REQUIRE(r.journal.replayed(seq));
  REQUIRE(r.recovery.apply(seq, record));
}

StoredRecord stored(std::uint64_t id, std::uint64_t prev_uid = 0, std::uint8_t dead = 0,
                    std::uint32_t deliveries = 0) {
  return StoredRecord{prev_uid, P, id, "jobs", {}, {}, 0, 0, 0, deliveries, dead};
}

AnsweredRecord answered(std::uint64_t id, std::uint64_t acked, std::uint64_t prev = 0) {
  return AnsweredRecord{acked, prev, P, id, AnswerStatus::answered, {}, "", 0};
}

}  // namespace

TEST_CASE("a replayed message is ready, or a dead letter with its reason and count") {
  PartsRig r;
  apply(r, 1, stored(1, 0, 0, 2));
  apply(r, 2, stored(2, 0, static_cast<std::uint8_t>(DeadLetterReason::max_deliveries), 5));
  CHECK(r.router.ready() == 1);
  CHECK(r.dead_letters.count() == 1);
  const Pos dead = r.store.find_uid(2);
  REQUIRE(dead != kNoPos);
  CHECK(DeadLetterQueue::reason(r.store.at(dead)) == DeadLetterReason::max_deliveries);
  CHECK(r.store.at(dead).deliveries == 5);
  CHECK(r.store.at(r.store.find_uid(1)).deliveries == 2);
  const std::uint32_t producer = r.producers.intern(P);
  CHECK(r.publishes.stored(producer, 1));  // the dedupe knows both ids again
  CHECK(r.publishes.stored(producer, 2));
  CHECK(r.publishes.pending_count() == 0);  // replayed records are durable
}

TEST_CASE("records naming a uid that is not there change nothing") {
  PartsRig r;
  apply(r, 1, stored(1));
  apply(r, 2, AckedRecord{99});
  apply(r, 3, AnswerDoneRecord{99});
  apply(r, 4, DeadLetteredRecord{99, DeadLetterReason::rejected});
  apply(r, 5, RequeuedRecord{99});
  apply(r, 6, RequeuedRecord{1});    // a ready message is not a dead letter
  apply(r, 7, AnswerDoneRecord{1});  // a message is not an answer
  CHECK(r.messages.count() == 1);
  CHECK(r.router.ready() == 1);
  CHECK(r.dead_letters.count() == 0);
  CHECK(r.answers.count() == 0);
}

TEST_CASE("a rewritten record replaces the slot it names") {
  PartsRig r;
  apply(r, 1, stored(1));
  apply(r, 2, answered(9, 0));
  apply(r, 5, stored(1, 1));       // compaction's copy of uid 1
  apply(r, 6, answered(9, 0, 2));  // and of answer 2
  CHECK(r.messages.count() == 1);
  CHECK(r.answers.count() == 1);
  CHECK(r.store.find_uid(1) == kNoPos);
  CHECK(r.store.find_uid(5) != kNoPos);
  CHECK(r.store.find_uid(6) != kNoPos);
}

TEST_CASE("an answered record ends its message and keeps the answer") {
  PartsRig r;
  apply(r, 1, stored(1));
  apply(r, 2, stored(2));
  apply(r, 3, answered(1, 1));
  CHECK(r.messages.count() == 1);
  CHECK(r.answers.count() == 1);
  const std::uint32_t producer = r.producers.intern(P);
  CHECK(r.answers.find(producer, 1) != nullptr);
  apply(r, 4, AnswerDoneRecord{3});
  CHECK(r.answers.count() == 0);
}

TEST_CASE("a message goes to the DLQ and back as its records say") {
  PartsRig r;
  apply(r, 1, stored(1, 0, 0, 3));
  apply(r, 2, DeadLetteredRecord{1, DeadLetterReason::rejected});
  CHECK(r.dead_letters.count() == 1);
  CHECK(r.router.ready() == 0);
  apply(r, 3, RequeuedRecord{1});
  CHECK(r.dead_letters.count() == 0);
  CHECK(r.router.ready() == 1);
  CHECK(r.store.at(r.store.find_uid(1)).deliveries == 0);  // starts over
}

namespace {

// One ready message left behind by `dead` that came and went after it.
Pos stuck_message(PartsRig& r, int dead) {
  const Pos stuck = r.ready("nobody");
  for (int i = 0; i < dead; ++i) r.messages.drop(r.message("jobs"));
  return stuck;
}

}  // namespace

TEST_CASE("compaction rewrites the head slot at the tail and keeps the old record until then") {
  BrokerConfig config;
  config.compact_min_span = 4;
  PartsRig r(config);
  const Pos stuck = stuck_message(r, 8);
  const std::uint64_t old_uid = r.store.uid(stuck);
  r.journal.commit(r.journal.last_seq());
  const std::size_t records = r.memory.records.size();
  r.recovery.compact();
  REQUIRE(r.memory.records.size() == records + 1);
  auto record = decode_record(r.memory.records.back().body);
  REQUIRE(record);
  CHECK(std::get<StoredRecord>(*record).prev_uid == old_uid);
  CHECK(std::get<StoredRecord>(*record).command == "nobody");
  CHECK(r.store.span() == 1);
  CHECK(r.store.uid(r.store.head()) == r.journal.last_seq());
  CHECK(r.counter_value("mq_relocated_total") == 1);
  CHECK(r.journal.floor(r.store) == old_uid);  // until the copy is durable
  r.journal.commit(r.journal.last_seq());
  CHECK(r.journal.floor(r.store) == r.journal.last_seq());
  PeerLink link{C};
  DeliveryRouter::Consumer& k = r.consumer(link, {"nobody"}, 1);
  CHECK(r.router.take(k) == r.store.head());  // still on its ready queue
}

TEST_CASE("compaction waits at a slot in flight, pending or not yet durable") {
  struct Case {
    int n;
    int what;  // 0 in flight, 1 pending, 2 not durable, 3 none of these
    bool moves;
  };
  const Case cases[] = {{1, 0, false}, {2, 1, false}, {3, 2, false}, {4, 3, true}};
  for (const Case& c : cases) {
    CAPTURE(c.n);
    BrokerConfig config;
    config.compact_min_span = 4;
    PartsRig r(config);
    PeerLink link{C};
    DeliveryRouter::Consumer& k = r.consumer(link, {"nobody"}, 1);
    const Pos head = stuck_message(r, 8);
    if (c.what == 0) {
      REQUIRE(r.router.take(k) == head);
      REQUIRE(r.router.deliver(k, head, r.clock.now()));
    }
    if (c.what == 1) {
      r.router.unready(head);
      r.store.at(head).state = SlotState::pending;
    }
    if (c.what != 2) r.journal.commit(r.journal.last_seq());
    r.recovery.compact();
    CHECK((r.counter_value("mq_relocated_total") == 1) == c.moves);
  }
}
