// AnswerBox: answers kept per producer, sent when it is online, kept until it has them or
// they expire. First through the broker, then the box on its own.
#include "mq/answer_box.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("an answer acknowledges the delivery and reaches the producer") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 42, "jobs", "question"));
  h.commit();
  (void)h.take(P);
  answer(h, C, h.deliveries(C).at(0), "answer");
  auto got = h.take(P);
  REQUIRE(got.size() == 1);
  const auto& a = got[0].as<AnswerToProducer>();
  CHECK(a.message_id == 42);
  CHECK(a.status == AnswerStatus::answered);
  CHECK(text(a.payload) == "answer");
  CHECK(h.broker->stats().stored_messages == 0);
  CHECK(h.broker->stats().stored_answers == 1);  // until the producer says it has it
  REQUIRE(h.send(P, AnswerReceived{42}));
  CHECK(h.broker->stats().stored_answers == 0);
  CHECK(h.broker->stats().stored_bytes == 0);
}

TEST_CASE("an answer for an offline producer is kept and sent when it says hello again") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "q1"));
  REQUIRE(h.publish(P, 2, "jobs", "q2"));
  h.commit();
  h.broker->on_disconnect(P, h.clock.now());
  (void)h.take(P);
  for (const Got& d : h.deliveries(C)) answer(h, C, d, "a" + text(d.as<Deliver>().payload));
  CHECK(h.take(P).empty());
  h.advance(10min);
  h.hello(P, Role::producer);
  auto got = h.take(P);
  auto answers = of_type(got, MessageType::answer_to_producer);
  REQUIRE(answers.size() == 2);
  CHECK(text(answers[0]->as<AnswerToProducer>().payload) == "aq1");
  CHECK(text(answers[1]->as<AnswerToProducer>().payload) == "aq2");
}

TEST_CASE("unacknowledged answers are sent again on the next hello") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  answer(h, C, h.deliveries(C).at(0), "a");
  CHECK(of_type(h.take(P), MessageType::answer_to_producer).size() == 1);
  h.broker->on_disconnect(P, h.clock.now());
  h.hello(P, Role::producer);
  CHECK(of_type(h.take(P), MessageType::answer_to_producer).size() == 1);
  REQUIRE(h.send(P, AnswerReceived{1}));
  h.broker->on_disconnect(P, h.clock.now());
  h.hello(P, Role::producer);
  CHECK(of_type(h.take(P), MessageType::answer_to_producer).empty());
}

TEST_CASE("stored answers expire after the answer TTL") {
  BrokerConfig config;
  config.answer_ttl = 1min;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  h.broker->on_disconnect(P, h.clock.now());
  answer(h, C, h.deliveries(C).at(0), "a");
  CHECK(h.broker->stats().stored_answers == 1);
  h.advance(2min);
  CHECK(h.broker->stats().stored_answers == 0);
  CHECK(h.counter("mq_answers_expired_total") == 1);
  h.hello(P, Role::producer);
  CHECK(of_type(h.take(P), MessageType::answer_to_producer).empty());
}

TEST_CASE("answer_received for an unknown answer is dropped and counted") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  CHECK(h.send(P, AnswerReceived{99}).error() == MqError::unknown_answer);
}

TEST_CASE("answers to a blocked producer wait until it is writable") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "q1"));
  REQUIRE(h.publish(P, 2, "jobs", "q2"));
  h.commit();
  (void)h.take(P);
  h.out.full.insert(P);
  for (const Got& d : h.deliveries(C)) answer(h, C, d, "a");
  h.out.full.clear();
  h.broker->on_writable(P, h.clock.now());
  CHECK(of_type(h.take(P), MessageType::answer_to_producer).size() == 2);
}

// ---- the box on its own ----------------------------------------------------------------------

namespace {

// A producer interned as its connection would, and a way to store answers for it.
struct BoxRig {
  PartsRig r;
  PeerLink link{P};
  std::uint32_t producer = r.producers.intern(P);

  Pos store(std::uint64_t id, std::string_view payload, std::string_view reason = {}) {
    const std::uint64_t uid = r.journal.append(AckedRecord{0});  // only its seq matters
    const Bytes body = bytes(payload);
    (void)r.answers.store(uid, producer, id, AnswerStatus::answered, body, reason, kNever);
    return found(id);
  }
  Pos found(std::uint64_t id) {
    const Pos* p = r.answers.find(producer, id);
    REQUIRE(p != nullptr);
    return p != nullptr ? *p : kNoPos;
  }
  void online() {
    r.producers.set_link(producer, &link);
    r.answers.resend_all(producer);
  }
  void unblock() {
    r.out.full.clear();
    link.blocked = false;
  }
  // The ids of the answers sent to P since the last call.
  std::vector<std::uint64_t> sent() {
    std::vector<std::uint64_t> ids;
    for (const Got& g : r.out.take(P)) ids.push_back(g.as<AnswerToProducer>().message_id);
    return ids;
  }
};

}  // namespace

TEST_CASE("an answer goes out at once to an online producer, and on flush to one back online") {
  BoxRig b;
  (void)b.store(1, "a1");
  CHECK(b.sent().empty());  // offline
  b.online();
  CHECK(b.sent().empty());  // unsent until flushed (the hello_ok goes first)
  b.r.answers.flush(b.producer);
  CHECK(b.sent() == std::vector<std::uint64_t>{1});
  (void)b.store(2, "a2");
  CHECK(b.sent() == std::vector<std::uint64_t>{2});
  CHECK(b.r.counter_value("mq_answers_sent_total") == 2);
}

TEST_CASE("an answer carries its status, payload and reason") {
  BoxRig b;
  b.online();
  const std::uint64_t uid = b.r.journal.append(AckedRecord{0});
  const Bytes body = bytes("why not");
  (void)b.r.answers.store(uid, b.producer, 9, AnswerStatus::rejected, body, "cannot parse", kNever);
  auto got = b.r.out.take(P);
  REQUIRE(got.size() == 1);
  const auto& a = got[0].as<AnswerToProducer>();
  CHECK(a.message_id == 9);
  CHECK(a.status == AnswerStatus::rejected);
  CHECK(text(a.payload) == "why not");
  CHECK(a.reason == "cannot parse");
  CHECK(b.r.answers.bytes() == 7 + 12);
}

TEST_CASE("a full send buffer keeps answers unsent, in order, until flushed") {
  BoxRig b;
  b.online();
  b.r.out.full.insert(P);
  for (std::uint64_t id = 1; id <= 3; ++id) (void)b.store(id, "a");
  CHECK(b.sent().empty());
  CHECK(b.link.blocked);
  b.unblock();
  b.r.answers.flush(b.producer);
  CHECK(b.sent() == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("a newer answer to the same message replaces the old one and names it") {
  BoxRig b;
  const Pos old = b.store(7, "first");
  const std::uint64_t old_uid = b.r.store.uid(old);
  const std::uint64_t uid = b.r.journal.append(AckedRecord{0});
  const Bytes body = bytes("second");
  CHECK(b.r.answers.store(uid, b.producer, 7, AnswerStatus::answered, body, {}, kNever) == old_uid);
  CHECK(b.r.answers.count() == 1);
  const Pos now = b.found(7);
  CHECK(b.r.store.uid(now) == uid);
  CHECK(text(block_second(b.r.store.at(now))) == "second");
}

TEST_CASE("dropping the first unsent answer leaves the next one first") {
  BoxRig b;
  b.online();
  b.r.out.full.insert(P);
  const Pos first = b.store(1, "a");
  (void)b.store(2, "b");
  b.r.answers.drop(first);
  CHECK(b.r.answers.find(b.producer, 1) == nullptr);
  b.unblock();
  b.r.answers.flush(b.producer);
  CHECK(b.sent() == std::vector<std::uint64_t>{2});
}

TEST_CASE("a relocated answer keeps its place, its index entry and its unsent mark") {
  BoxRig b;
  b.online();
  b.r.out.full.insert(P);
  const Pos first = b.store(1, "a");
  (void)b.store(2, "b");
  (void)b.store(3, "c");
  const std::uint64_t uid = b.r.journal.append(AckedRecord{0});
  const Pos moved = b.r.answers.relocate(first, uid);
  CHECK(moved != first);
  CHECK(b.found(1) == moved);
  CHECK(b.r.store.uid(moved) == uid);
  b.unblock();
  b.r.answers.flush(b.producer);
  CHECK(b.sent() == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("a stored answer holds its producer's index, and going offline unsends but keeps all") {
  BoxRig b;
  b.online();
  (void)b.store(1, "a");
  const Pos second = b.store(2, "bb");
  CHECK(b.r.producers.refs(b.producer) == 3);  // the rig's own and one per answer
  CHECK(b.r.answers.count() == 2);
  CHECK(b.r.answers.bytes() == 3);
  (void)b.sent();
  b.r.producers.set_link(b.producer, nullptr);
  b.r.answers.offline(b.producer);
  CHECK(b.r.answers.count() == 2);
  b.r.answers.drop(second);
  CHECK(b.r.producers.refs(b.producer) == 2);
  CHECK(b.r.answers.bytes() == 1);
  b.online();
  b.r.answers.flush(b.producer);
  CHECK(b.sent() == std::vector<std::uint64_t>{1});  // the whole mailbox again
}
