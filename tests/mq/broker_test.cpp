#include "mq/broker.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "mq/journal_record.hpp"
#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace std::chrono_literals;

namespace {

const PublicKey P = key(1);   // a producer
const PublicKey P2 = key(2);  // another producer
const PublicKey C = key(10);  // consumers
const PublicKey C2 = key(11);
const PublicKey A = key(20);  // an admin

std::vector<std::uint64_t> confirmed_ids(const std::vector<Got>& got) {
  std::vector<std::uint64_t> ids;
  for (const Got& g : got) {
    if (g.type() == MessageType::confirm) ids.push_back(g.as<Confirm>().id);
  }
  return ids;
}

std::vector<const Got*> of_type(const std::vector<Got>& got, MessageType t) {
  std::vector<const Got*> out;
  for (const Got& g : got) {
    if (g.type() == t) out.push_back(&g);
  }
  return out;
}

std::vector<std::string> payloads(const std::vector<Got>& deliveries) {
  std::vector<std::string> out;
  for (const Got& g : deliveries) out.push_back(text(g.as<Deliver>().payload));
  return out;
}

void answer(BrokerHarness& h, const PublicKey& consumer, const Got& delivery,
            std::string_view payload) {
  const Bytes body = bytes(payload);
  REQUIRE(h.send(consumer, Answer{delivery.as<Deliver>().tag, body}));
}

}  // namespace

// ---- publish and confirm ------------------------------------------------------------------

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

TEST_CASE("a publish before hello is dropped and counted") {
  BrokerHarness h;
  h.broker->on_connect(P, h.clock.now());
  auto r = h.publish(P, 1, "jobs", "x");
  CHECK(r.error() == MqError::hello_required);
  CHECK(h.journal.records.empty());
  CHECK(h.counter("mq_dropped_total") == 1);
}

TEST_CASE("malformed bytes are dropped, counted and change nothing") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "jobs", "x"));
  h.commit();
  const std::vector<Bytes> bad = {
      {},                                   // empty
      {0xc1},                               // not msgpack
      {0x92, 0x04},                         // truncated array
      {0x91, 0x63},                         // unknown type 99
      {0x93, 0x04, 0x01, 0xa1},             // publish cut inside the command
      {0x98, 0x04, 0x01, 0xa3, 'a', '*', 'b', 0x80, 0xc4, 0x00, 0x00, 0x00, 0x00},  // bad name
  };
  for (const Bytes& b : bad) {
    CHECK_FALSE(h.broker->on_message(P, b, h.clock.now()));
  }
  CHECK(h.counter("mq_malformed_total") == bad.size());
  CHECK(h.broker->stats().stored_messages == 1);
  CHECK(h.out.reports.size() == bad.size());
}

TEST_CASE("a message type the broker never accepts is dropped") {
  BrokerHarness h;
  h.hello(C, Role::consumer);
  CHECK(h.send(C, Confirm{1}).error() == MqError::unexpected_message);
  CHECK(h.send(C, Deliver{}).error() == MqError::unexpected_message);
}

TEST_CASE("a hello with an old protocol version is refused") {
  BrokerHarness h;
  Hello hello;
  hello.version = 0;
  CHECK(h.send(P, hello).error() == MqError::bad_version);
  auto got = h.take(P);
  REQUIRE(got.size() == 1);
  CHECK(got[0].as<Refused>().code == RefuseCode::bad_version);
}

// ---- routing ------------------------------------------------------------------------------

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

// ---- TTL ------------------------------------------------------------------------------------

TEST_CASE("an expired message is never delivered; it is counted and its producer told") {
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

// ---- answers --------------------------------------------------------------------------------

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

TEST_CASE("a message published without wanting an answer is acknowledged silently") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "fire and forget", 0, 0, flag_no_answer));
  h.commit();
  (void)h.take(P);
  auto d = h.deliveries(C);
  REQUIRE(d.size() == 1);
  CHECK(d[0].as<Deliver>().flags == flag_no_answer);
  answer(h, C, d[0], "ignored");
  CHECK(h.take(P).empty());
  CHECK(h.broker->stats().stored_answers == 0);
  CHECK(h.broker->stats().stored_messages == 0);
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
  CHECK(h.send(C2, Answer{d.at(0).as<Deliver>().tag, body}).error() ==
        MqError::unknown_delivery);
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
  CHECK(h.send(C, Answer{d.at(0).as<Deliver>().tag, body}).error() ==
        MqError::unknown_delivery);
}

// ---- redelivery -----------------------------------------------------------------------------

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

// Two ways to go: the session ends (on_disconnect), or the consumer says bye first (no
// session timeout, no visibility timeout to wait for). Either way, at once and in order.
TEST_CASE("a consumer that goes away or says bye has its deliveries sent to another, in order") {
  for (const bool bye : {false, true}) {
    CAPTURE(bye);
    BrokerHarness h;
    h.hello(P, Role::producer);
    h.hello(C, Role::consumer, {"jobs"}, 10);
    for (std::uint64_t i = 1; i <= 3; ++i) REQUIRE(h.publish(P, i, "jobs", std::to_string(i)));
    h.commit();
    CHECK(h.deliveries(C).size() == 3);
    h.hello(C2, Role::consumer, {"jobs"}, 10);
    CHECK(h.deliveries(C2).empty());
    if (bye) {
      REQUIRE(h.send(C, Bye{}));
    } else {
      h.broker->on_disconnect(C, h.clock.now());
    }
    auto d = h.deliveries(C2);
    CHECK(payloads(d) == std::vector<std::string>{"1", "2", "3"});
    CHECK(d.at(0).as<Deliver>().delivery_count == 2);
    CHECK(h.broker->connected(C2));
    CHECK_FALSE(h.broker->connected(C));
  }
}

TEST_CASE("a peer that connects again without a disconnect starts afresh") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  REQUIRE(h.publish(P, 1, "jobs", "q"));
  h.commit();
  CHECK(h.deliveries(C).size() == 1);
  h.broker->on_connect(C, h.clock.now());  // a new session: the old delivery is void
  CHECK(h.broker->stats().ready == 1);
  CHECK(h.publish(P, 2, "jobs", "x"));  // the producer's session is untouched
  h.hello(C, Role::consumer, {"jobs"});
  auto d = h.deliveries(C);
  REQUIRE(d.size() == 1);
  CHECK(d[0].as<Deliver>().delivery_count == 2);
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
  CHECK(h.send(C, Answer{first[0].as<Deliver>().tag, body}).error() ==
        MqError::unknown_delivery);
  CHECK(payloads(h.deliveries(C)) == std::vector<std::string>{"next"});
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

// ---- dead-letter queue ------------------------------------------------------------------------

namespace {

// Dead-letters `n` messages with ids 1..n through rejects.
void make_dead_letters(BrokerHarness& h, std::uint64_t n) {
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, static_cast<std::uint32_t>(n));
  for (std::uint64_t i = 1; i <= n; ++i) REQUIRE(h.publish(P, i, "jobs", "m" + std::to_string(i)));
  h.commit();
  for (const Got& d : h.deliveries(C)) REQUIRE(h.send(C, Reject{d.as<Deliver>().tag, false, ""}));
  REQUIRE(h.broker->stats().dead_letters == n);
}

DlqListResult list(BrokerHarness& h, std::uint64_t after, std::uint32_t max,
                   std::vector<Got>& keep) {
  REQUIRE(h.send(A, DlqList{5, after, max}));
  keep = h.take(A);
  REQUIRE(keep.size() == 1);
  return keep[0].as<DlqListResult>();
}

}  // namespace

TEST_CASE("an admin lists dead letters page by page") {
  BrokerHarness h;
  make_dead_letters(h, 5);
  h.hello(A, Role::admin);
  (void)h.take(A);
  std::vector<Got> keep;
  DlqListResult page = list(h, 0, 2, keep);
  CHECK(page.total == 5);
  REQUIRE(page.entries.size() == 2);
  CHECK(page.entries[0].message_id == 1);
  CHECK(page.entries[0].producer == P);
  CHECK(page.entries[0].command == "jobs");
  CHECK(page.entries[0].reason == DeadLetterReason::rejected);
  CHECK(page.entries[0].deliveries == 1);
  std::vector<std::uint64_t> ids;
  std::uint64_t after = 0;
  do {
    std::vector<Got> k;
    DlqListResult r = list(h, after, 2, k);
    for (const DlqEntry& e : r.entries) ids.push_back(e.message_id);
    after = r.next;
  } while (after != 0);
  CHECK(ids == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("an admin requeues a dead letter and it is delivered again from count 1") {
  BrokerHarness h;
  make_dead_letters(h, 2);
  h.hello(A, Role::admin);
  (void)h.take(A);
  std::vector<Got> keep;
  const std::uint64_t uid = list(h, 0, 10, keep).entries.at(1).uid;
  REQUIRE(h.send(A, DlqModify{6, DlqAction::requeue, false, {uid, uid, 999999}}));
  auto done = h.take(A);
  CHECK(done.at(0).as<DlqDone>().count == 1);
  auto d = h.deliveries(C);
  REQUIRE(d.size() == 1);
  CHECK(text(d[0].as<Deliver>().payload) == "m2");
  CHECK(d[0].as<Deliver>().delivery_count == 1);
  CHECK(h.broker->stats().dead_letters == 1);
}

TEST_CASE("an admin purges all dead letters") {
  BrokerHarness h;
  make_dead_letters(h, 3);
  h.hello(A, Role::admin);
  (void)h.take(A);
  REQUIRE(h.send(A, DlqModify{1, DlqAction::purge, true, {}}));
  CHECK(h.take(A).at(0).as<DlqDone>().count == 3);
  CHECK(h.broker->stats().dead_letters == 0);
  CHECK(h.broker->stats().stored_messages == 0);
}

TEST_CASE("dead-letter requests from a peer that is not an admin are dropped") {
  BrokerHarness h;
  make_dead_letters(h, 1);
  CHECK(h.send(C, DlqList{1, 0, 10}).error() == MqError::hello_required);
  CHECK(h.send(P, DlqModify{1, DlqAction::purge, true, {}}).error() == MqError::hello_required);
  CHECK(h.broker->stats().dead_letters == 1);
}

// ---- bounds ---------------------------------------------------------------------------------

TEST_CASE("a full queue nacks publishes with queue_full and drops nothing") {
  BrokerConfig config;
  config.max_messages = 2;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "jobs", "a"));
  REQUIRE(h.publish(P, 2, "jobs", "b"));
  REQUIRE(h.publish(P, 3, "jobs", "c"));
  h.commit();
  auto got = h.take(P);
  CHECK(confirmed_ids(got) == std::vector<std::uint64_t>{1, 2});
  auto nacks = of_type(got, MessageType::publish_nack);
  REQUIRE(nacks.size() == 1);
  CHECK(nacks[0]->as<PublishNack>().id == 3);
  CHECK(nacks[0]->as<PublishNack>().reason == NackReason::queue_full);
  CHECK(h.counter("mq_nack_queue_full_total") == 1);
  // Once a consumer drains it and the producer has its answers, the same publish is stored.
  h.hello(C, Role::consumer, {"jobs"});
  for (const Got& d : h.deliveries(C)) answer(h, C, d, "ok");
  REQUIRE(h.publish(P, 3, "jobs", "c"));
  CHECK(of_type(h.take(P), MessageType::publish_nack).size() == 1);  // answers count too
  REQUIRE(h.send(P, AnswerReceived{1}));
  REQUIRE(h.send(P, AnswerReceived{2}));
  REQUIRE(h.publish(P, 3, "jobs", "c"));
  h.commit();
  CHECK(confirmed_ids(h.take(P)) ==
        std::vector<std::uint64_t>{3});
}

TEST_CASE("the byte bound nacks with queue_full too") {
  BrokerConfig config;
  config.max_bytes = 10;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  REQUIRE(h.publish(P, 1, "jobs", "123456"));
  REQUIRE(h.publish(P, 2, "jobs", "123456"));
  auto got = h.take(P);
  REQUIRE(of_type(got, MessageType::publish_nack).size() == 1);
  CHECK(h.broker->stats().stored_bytes == 6);
}

TEST_CASE("a payload over the configured maximum is nacked too_large") {
  BrokerConfig config;
  config.max_payload = 4;
  BrokerHarness h(config);
  h.hello(P, Role::producer);
  (void)h.take(P);
  CHECK(h.publish(P, 1, "jobs", "12345").error() == MqError::too_large);
  auto got = h.take(P);
  CHECK(got.at(0).as<PublishNack>().reason == NackReason::too_large);
  CHECK(h.journal.records.empty());
}

// ---- access control -----------------------------------------------------------------------------

namespace {

BrokerConfig with_access() {
  BrokerConfig config;
  AccessList acl;
  acl.rule(&P).produce.add("users.*");
  acl.rule(&C).consume.add("users.get");
  acl.rule(&A).admin = true;
  config.access = std::move(acl);
  return config;
}

}  // namespace

TEST_CASE("an unlisted key is refused at hello with a clear text") {
  BrokerHarness h(with_access());
  h.hello(P2, Role::producer);
  auto got = h.take(P2);
  REQUIRE(got.size() == 1);
  const auto& r = got[0].as<Refused>();
  CHECK(r.code == RefuseCode::not_allowed);
  CHECK(std::string(r.text).find("not allowed to produce") != std::string::npos);
  CHECK(h.counter("mq_refused_total") == 1);
  CHECK(h.out.reports.size() == 1);
  CHECK(h.publish(P2, 1, "users.get", "x").error() == MqError::hello_required);
}

TEST_CASE("a consumer may subscribe only to commands it may consume") {
  BrokerHarness h(with_access());
  h.hello(C, Role::consumer, {"users.get", "users.delete"});
  auto got = h.take(C);
  REQUIRE(got.size() == 1);
  CHECK(std::string(got[0].as<Refused>().text).find("not allowed to consume command "
                                                    "\"users.delete\"") != std::string::npos);
  h.hello(C, Role::consumer, {"users.get"});
  CHECK(h.take(C).at(0).type() == MessageType::hello_ok);
}

TEST_CASE("a producer may publish only the commands it may produce") {
  BrokerHarness h(with_access());
  h.hello(P, Role::producer);
  (void)h.take(P);
  CHECK(h.publish(P, 1, "users.get", "ok"));
  CHECK(h.publish(P, 2, "admin.drop", "no").error() == MqError::not_allowed);
  auto got = h.take(P);
  const auto& nack = got.at(0).as<PublishNack>();
  CHECK(nack.id == 2);
  CHECK(nack.reason == NackReason::not_allowed);
  CHECK(h.counter("mq_nack_not_allowed_total") == 1);
}

TEST_CASE("only a key with the admin grant may administer") {
  BrokerHarness h(with_access());
  h.hello(C, Role::admin);
  CHECK(h.take(C).at(0).type() == MessageType::refused);
  h.hello(A, Role::admin);
  CHECK(h.take(A).at(0).type() == MessageType::hello_ok);
}

// ---- backpressure -------------------------------------------------------------------------------

TEST_CASE("a full send buffer holds deliveries back until the consumer is writable") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"});
  h.out.full.insert(C);
  REQUIRE(h.publish(P, 1, "jobs", "a"));
  REQUIRE(h.publish(P, 2, "jobs", "b"));
  h.commit();
  CHECK(h.broker->stats().in_flight == 0);
  CHECK(h.broker->stats().ready == 2);
  h.out.full.clear();
  h.broker->on_writable(C, h.clock.now());
  CHECK(payloads(h.deliveries(C)) == std::vector<std::string>{"a", "b"});
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

// ---- recovery -----------------------------------------------------------------------------------

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
  const std::uint64_t uid = list(h, 0, 10, keep).entries.at(0).uid;
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

// ---- the live floor and compaction ----------------------------------------------------------------

TEST_CASE("the live floor passes acknowledged records and stops at the oldest live one") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, 1);
  REQUIRE(h.publish(P, 1, "jobs", "a"));  // seq 1
  REQUIRE(h.publish(P, 2, "jobs", "b"));  // seq 2
  h.commit();
  CHECK(h.broker->live_floor() == 1);
  answer(h, C, h.deliveries(C).at(0), "done");  // seq 3: kills 1, stores an answer
  CHECK(h.broker->live_floor() == 1);  // not before the answer record is durable
  h.commit();
  CHECK(h.broker->live_floor() == 2);
  REQUIRE(h.send(P, AnswerReceived{1}));  // seq 4
  answer(h, C, h.deliveries(C).at(0), "done");  // seq 5
  REQUIRE(h.send(P, AnswerReceived{2}));  // seq 6
  h.commit();
  CHECK(h.broker->live_floor() == 7);
  CHECK(h.broker->stats().store_span == 0);
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

// ---- timers and memory ------------------------------------------------------------------------------

TEST_CASE("an idle broker has no deadline") {
  BrokerHarness h;
  CHECK(h.broker->next_deadline() == Instant::max());
}

TEST_CASE("a stored message costs a 32-byte slot and its block; its id costs nothing") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  constexpr std::uint64_t n = 16 * MessageStore::kChunkSlots;
  for (std::uint64_t i = 1; i <= n; ++i) {
    REQUIRE(h.publish(P, (std::uint64_t{1} << 40) + i, "jobs", "0123456789"));
    if (i % 1024 == 0) h.commit();  // group commit, as the runtime does
  }
  h.commit();
  const BrokerStats s = h.broker->stats();
  CHECK(s.stored_messages == n);
  CHECK(s.dedupe_entries == n);
  // A slot and a block of a 16-byte header and the payload, rounded up to 4 bytes, in whole
  // pages; consecutive ids are one run in the dedupe, the other indexes a commit's worth.
  const double per_message = double(s.store_memory_bytes) / double(n);
  const double per_id = double(s.index_memory_bytes) / double(n);
  MESSAGE("bytes per stored 10-byte message: " << per_message << " + indexes " << per_id);
  CHECK(per_message <= 32 + 28 + double(MessageStore::kPageSize) / double(n));
  CHECK(per_id < 1);
}
