// QueueLimits: the bounds (messages, answers, bytes, payload size) and the access list, at
// hello and at publish. First through the broker, then the policy on its own.
#include "mq/queue_limits.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

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

// ---- through the broker ----------------------------------------------------------------------

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
  CHECK(confirmed_ids(h.take(P)) == std::vector<std::uint64_t>{3});
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
  CHECK(std::string(got[0].as<Refused>().text)
            .find("not allowed to consume command "
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

// ---- the policy on its own -------------------------------------------------------------------

TEST_CASE("a publish is admitted or refused as the table says") {
  BrokerConfig config;
  config.max_messages = 10;
  config.max_bytes = 1000;
  config.max_payload = 100;
  const QueueLimits open(config);
  struct Case {
    int n;
    std::size_t size;
    QueueLevels levels;
    Admission expected;
  };
  const Case cases[] = {
      /* 1 */ {1, 0, {0, 0, 0}, Admission::admitted},
      /* 2 */ {2, 100, {0, 0, 0}, Admission::admitted},        // at max_payload
      /* 3 */ {3, 101, {0, 0, 0}, Admission::too_large},       // over it
      /* 4 */ {4, 10, {9, 0, 0}, Admission::admitted},         // the last message
      /* 5 */ {5, 10, {10, 0, 0}, Admission::queue_full},      // max_messages stored
      /* 6 */ {6, 10, {0, 10, 0}, Admission::queue_full},      // as many answers unfetched
      /* 7 */ {7, 10, {0, 0, 990}, Admission::admitted},       // exactly max_bytes after
      /* 8 */ {8, 11, {0, 0, 990}, Admission::queue_full},     // one byte over
      /* 9 */ {9, 101, {10, 10, 1000}, Admission::too_large},  // too large before full
  };
  for (const Case& c : cases) {
    CAPTURE(c.n);
    CHECK(open.admit(Grant{}, "jobs", c.size, c.levels) == c.expected);
  }
}

TEST_CASE("with an access list, a command the key may not produce is refused first") {
  const BrokerConfig config = with_access();
  const QueueLimits limits(config);
  CHECK(limits.checked());
  const Grant p = limits.grant(P);
  CHECK(limits.admit(p, "users.get", 1, {}) == Admission::admitted);
  CHECK(limits.admit(p, "admin.drop", 1, {}) == Admission::not_allowed);
  CHECK(limits.admit(p, "admin.drop", 1u << 30, {}) == Admission::not_allowed);
  CHECK(limits.admit(limits.grant(P2), "users.get", 1, {}) == Admission::not_allowed);
  const BrokerConfig none;
  CHECK_FALSE(QueueLimits(none).checked());
  CHECK(QueueLimits(none).admit(Grant{}, "anything", 1, {}) == Admission::admitted);
}

TEST_CASE("a hello is refused with a text that names the role, the command and the broker") {
  BrokerConfig config = with_access();
  config.name = "b1";
  const QueueLimits limits(config);
  const std::vector<std::string_view> none;
  const std::vector<std::string_view> get = {"users.get"};
  const std::vector<std::string_view> both = {"users.get", "users.delete"};
  const std::vector<std::string_view> bare = {""};
  CHECK(limits.refusal(limits.grant(P), Role::producer, none).empty());
  CHECK(limits.refusal(limits.grant(C), Role::producer, none) == "not allowed to produce at b1");
  CHECK(limits.refusal(limits.grant(C), Role::consumer, get).empty());
  CHECK(limits.refusal(limits.grant(C), Role::consumer, both) ==
        "not allowed to consume command \"users.delete\" at b1");
  CHECK(limits.refusal(limits.grant(C), Role::consumer, bare) ==
        "not allowed to consume messages without a command at b1");
  CHECK(limits.refusal(limits.grant(A), Role::admin, none).empty());
  CHECK(limits.refusal(limits.grant(P), Role::admin, none) == "not allowed to administer b1");
  const BrokerConfig open;
  CHECK(QueueLimits(open).refusal(Grant{}, Role::admin, none).empty());
}

TEST_CASE("a refused publish is explained") {
  BrokerConfig config;
  config.max_payload = 4;
  const QueueLimits limits(config);
  CHECK(limits.explain(Admission::too_large, "jobs", 5) ==
        "payload and headers of 5 bytes exceed 4");
  CHECK(limits.explain(Admission::not_allowed, "jobs", 5) ==
        "not allowed to produce command \"jobs\"");
  CHECK(limits.explain(Admission::queue_full, "jobs", 5) ==
        "queue full: slow down and publish again");
  CHECK(limits.explain(Admission::admitted, "jobs", 5).empty());
}
