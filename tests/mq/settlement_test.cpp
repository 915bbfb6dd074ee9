// Settlement: what becomes of a message when it leaves its queue or its consumer —
// answered, expired, requeued, dead-lettered, purged — and the record each outcome writes.
#include "mq/settlement.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mq/journal_record.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("an expired message is never delivered: it is counted and its producer told") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "jobs", "stale", 0, 500));
  REQUIRE(h.publish(P, 2, "jobs", "fresh", 0, 0));
  h.commit();
  (void)h.take(P);
  h.clock.advance(600ms);  // no timer run: dispatch itself must check
  h.hello(C, Role::consumer, {"jobs"});
  CHECK(payloads(h.deliveries(C)) == std::vector<std::string>{"fresh"});
  CHECK(h.counter("mq_expired_total") == 1);
  auto got = h.take(P);
  auto answers = of_type(got, MessageType::answer_to_producer);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0]->as<AnswerToProducer>().message_id == 1);
  CHECK(answers[0]->as<AnswerToProducer>().status == AnswerStatus::expired);
}

TEST_CASE("a message published without wanting an answer is acknowledged silently") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "fire and forget", 0, 0, kFlagNoAnswer));
  h.commit();
  (void)h.take(P);
  auto d = h.deliveries(C);
  REQUIRE(d.size() == 1);
  CHECK(d[0].as<Deliver>().flags == kFlagNoAnswer);
  answer(h, C, d[0], "ignored");
  CHECK(h.take(P).empty());
  CHECK(h.broker->stats().stored_answers == 0);
  CHECK(h.broker->stats().stored_messages == 0);
}

TEST_CASE("reject with requeue redelivers the message with a higher delivery count") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  auto d = h.deliveries(C);
  REQUIRE(h.send(C, Reject{d.at(0).as<Deliver>().tag, true, "busy"}));
  auto again = h.deliveries(C);
  REQUIRE(again.size() == 1);
  CHECK(again[0].as<Deliver>().delivery_count == 2);
  CHECK(again[0].as<Deliver>().tag != d[0].as<Deliver>().tag);
  CHECK(h.counter("mq_redeliveries_total") == 1);
}

TEST_CASE("after max deliveries a message is dead-lettered and its producer told") {
  BrokerConfig config;
  config.max_deliveries = 3;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "poison"));
  h.commit();
  (void)h.take(P);
  for (int i = 0; i < 3; ++i) {
    auto d = h.deliveries(C);
    REQUIRE(d.size() == 1);
    CHECK(d[0].as<Deliver>().delivery_count == static_cast<std::uint32_t>(i + 1));
    REQUIRE(h.send(C, Reject{d[0].as<Deliver>().tag, true, "crashed"}));
  }
  CHECK(h.deliveries(C).empty());
  CHECK(h.broker->stats().dead_letters == 1);
  CHECK(h.counter("mq_dead_lettered_total") == 1);
  auto got = h.take(P);
  auto answers = of_type(got, MessageType::answer_to_producer);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0]->as<AnswerToProducer>().status == AnswerStatus::dead_lettered);
}

TEST_CASE("reject without requeue dead-letters at once with the consumer's reason") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "bad input"));
  h.commit();
  (void)h.take(P);
  auto d = h.deliveries(C);
  REQUIRE(h.send(C, Reject{d.at(0).as<Deliver>().tag, false, "cannot parse"}));
  CHECK(h.broker->stats().dead_letters == 1);
  auto got = h.take(P);
  const auto& a = got.at(0).as<AnswerToProducer>();
  CHECK(a.status == AnswerStatus::rejected);
  CHECK(a.reason == "cannot parse");
}

// ---- the records each outcome writes ---------------------------------------------------------

namespace {

// The types of the records appended since `from` (a record count).
std::vector<RecordType> records_since(const PartsRig& r, std::size_t from) {
  std::vector<RecordType> out;
  for (std::size_t i = from; i < r.memory.records.size(); ++i) {
    auto rec = decode_record(r.memory.records[i].body);
    REQUIRE(rec);
    out.push_back(static_cast<RecordType>(rec->index() + 1));
  }
  return out;
}

}  // namespace

TEST_CASE("each outcome writes its record: a table") {
  using R = RecordType;
  struct Case {
    int n;
    const char* what;
    std::uint8_t flags;
    std::uint8_t deliveries;  // before the outcome
    int outcome;              // 0 complete, 1 expire, 2 return, 3 dead letter
    std::vector<R> records;
    SlotState after;  // of the message slot, dead = freed
    std::uint64_t answers;
  };
  const Case cases[] = {
      /* 1 */ {1, "answered", 0, 1, 0, {R::answered}, SlotState::dead, 1},
      /* 2 */
      {2, "answered, no answer wanted", kFlagNoAnswer, 1, 0, {R::acked}, SlotState::dead, 0},
      /* 3 */ {3, "expired", 0, 0, 1, {R::answered}, SlotState::dead, 1},
      /* 4 */
      {4, "expired, no answer wanted", kFlagNoAnswer, 0, 1, {R::acked}, SlotState::dead, 0},
      /* 5 */ {5, "returned below max deliveries", 0, 2, 2, {}, SlotState::ready, 0},
      /* 6 */
      {6,
       "returned at max deliveries",
       0,
       3,
       2,
       {R::dead_lettered, R::answered},
       SlotState::dead_letter,
       1},
      /* 7 */
      {7,
       "returned at max, no answer wanted",
       kFlagNoAnswer,
       3,
       2,
       {R::dead_lettered},
       SlotState::dead_letter,
       0},
      /* 8 */
      {8, "dead-lettered", 0, 1, 3, {R::dead_lettered, R::answered}, SlotState::dead_letter, 1},
  };
  for (const Case& c : cases) {
    CAPTURE(c.n);
    CAPTURE(c.what);
    BrokerConfig config;
    config.max_deliveries = 3;
    PartsRig r(config);
    const Pos p = r.message("jobs", P, 0, kNever, "x", c.flags);
    r.store.at(p).deliveries = c.deliveries;
    const std::size_t before = r.memory.records.size();
    switch (c.outcome) {
      case 0: r.settlement.complete(p, AnswerStatus::answered, {}, {}, r.clock.now()); break;
      case 1: r.settlement.expire(p, r.clock.now()); break;
      case 2: r.settlement.return_message(p, r.clock.now()); break;
      default: r.settlement.dead_letter(p, DeadLetterReason::rejected, "no", r.clock.now()); break;
    }
    CHECK(records_since(r, before) == c.records);
    const bool freed = c.after == SlotState::dead;
    CHECK(r.messages.count() == (freed ? 0u : 1u));
    if (!freed) CHECK(r.state(p) == c.after);
    CHECK(r.answers.count() == c.answers);
  }
}

TEST_CASE("a slot ended by a record not yet durable keeps its record needed until it is") {
  PartsRig r;
  const Pos p = r.message("jobs");  // seq 1
  r.journal.commit(1);
  CHECK(r.journal.floor(r.store) == 1);
  r.settlement.complete(p, AnswerStatus::answered, {}, {}, r.clock.now());  // seq 2
  CHECK(r.messages.count() == 0);
  CHECK(r.journal.floor(r.store) == 1);  // a crash now would bring the message back
  r.journal.commit(2);
  CHECK(r.journal.floor(r.store) == 2);  // now only the answer's record is needed
}

TEST_CASE("an admin's purge and requeue settle only what is still a dead letter") {
  PartsRig r;
  const Pos a = r.message("jobs");
  const Pos b = r.message("jobs");
  const Pos c = r.message("jobs");
  r.dead_letters.enter(a, DeadLetterReason::rejected);
  r.dead_letters.enter(b, DeadLetterReason::max_deliveries);
  r.router.make_ready(c, false);  // not a dead letter: named, but left alone
  DlqModify requeue{
      1, DlqAction::requeue, false, {r.store.uid(a), r.store.uid(a), r.store.uid(c), 999}};
  std::vector<std::uint32_t> touched;
  CHECK(r.settlement.settle_dead_letters(requeue, touched) == 1);
  CHECK(touched.size() == 1);
  CHECK(r.state(a) == SlotState::ready);
  CHECK(r.dead_letters.count() == 1);
  DlqModify purge{2, DlqAction::purge, true, {}};
  touched.clear();
  CHECK(r.settlement.settle_dead_letters(purge, touched) == 1);
  CHECK(touched.empty());
  CHECK(r.dead_letters.count() == 0);
  CHECK(r.messages.count() == 2);
  CHECK(r.counter_value("mq_dlq_requeued_total") == 1);
  CHECK(r.counter_value("mq_dlq_purged_total") == 1);
}
