#include "mq/consumer_core.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <ostream>
#include <string>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;

namespace {

struct ConsumerHarness {
  explicit ConsumerHarness(ConsumerConfig config = jobs()) : core(std::move(config), sink) {}
  static ConsumerConfig jobs() {
    ConsumerConfig c;
    c.name = "worker";
    c.commands = {"jobs", "users.get"};
    c.prefetch = 4;
    return c;
  }

  ConsumerEvent feed(const Message& m) {
    storage.emplace_back();
    encode(m, storage.back());
    auto e = core.on_message(storage.back(), clock.now());
    REQUIRE(e);
    return *e;
  }

  Deliver delivery(std::uint64_t tag, std::string_view payload) {
    body.push_back(bytes(payload));
    return Deliver{tag, tag * 10, key(1), "jobs", {}, body.back(), 1, 0, 0};
  }

  ManualClock clock;
  SinkRecorder sink;
  ConsumerCore core;
  std::vector<Bytes> storage;
  std::vector<Bytes> body;
};

}  // namespace

TEST_CASE("a consumer says hello with its subscriptions and prefetch") {
  ConsumerHarness h;
  h.core.on_connected(h.clock.now());
  auto got = h.sink.take();
  REQUIRE(got.size() == 1);
  const Hello& hello = got[0].as<Hello>();
  CHECK(hello.role == Role::consumer);
  CHECK(hello.name == "worker");
  CHECK(hello.commands == std::vector<std::string_view>{"jobs", "users.get"});
  CHECK(hello.prefetch == 4);
  CHECK(h.feed(HelloOk{}).kind == ConsumerEvent::Kind::ready);
}

TEST_CASE("a delivery reaches the application and its answer acknowledges it once") {
  ConsumerHarness h;
  h.core.on_connected(h.clock.now());
  (void)h.sink.take();
  const ConsumerEvent e = h.feed(h.delivery(77, "question"));
  REQUIRE(e.kind == ConsumerEvent::Kind::delivery);
  CHECK(e.delivery.tag == 77);
  CHECK(e.delivery.message_id == 770);
  CHECK(text(e.delivery.payload) == "question");
  CHECK(h.core.held() == 1);
  const Bytes answer = bytes("answer");
  REQUIRE(h.core.answer(77, answer));
  auto got = h.sink.take();
  REQUIRE(got.size() == 1);
  CHECK(got[0].as<Answer>().tag == 77);
  CHECK(text(got[0].as<Answer>().payload) == "answer");
  CHECK(h.core.answer(77, answer).error() == MqError::unknown_delivery);
  CHECK(h.core.held() == 0);
}

TEST_CASE("a reject carries the requeue flag and a reason cut to the limit at a character") {
  ConsumerHarness h;
  h.core.on_connected(h.clock.now());
  (void)h.feed(h.delivery(5, "x"));
  (void)h.sink.take();
  std::string reason(limits::kMaxReasonText - 1, 'r');
  reason += "\xc3\xa9";  // a two-byte character across the limit
  REQUIRE(h.core.reject(5, false, reason));
  auto got = h.sink.take();
  const Reject& r = got.at(0).as<Reject>();  // decodes: valid UTF-8
  CHECK_FALSE(r.requeue);
  CHECK(r.reason.size() == limits::kMaxReasonText - 1);
  CHECK(h.core.reject(5, true, "").error() == MqError::unknown_delivery);
}

TEST_CASE("deliveries held at a disconnect cannot be answered afterwards") {
  ConsumerHarness h;
  h.core.on_connected(h.clock.now());
  (void)h.feed(h.delivery(5, "x"));
  CHECK(h.core.holds(5));
  CHECK_FALSE(h.core.holds(6));
  h.core.on_disconnected();
  (void)h.sink.take();
  CHECK_FALSE(h.core.holds(5));
  CHECK(h.core.answer(5, {}).error() == MqError::unknown_delivery);
  CHECK(h.sink.sent.empty());
}

TEST_CASE("set_prefetch tells the broker") {
  ConsumerHarness h;
  h.core.on_connected(h.clock.now());
  (void)h.sink.take();
  REQUIRE(h.core.set_prefetch(0));
  CHECK(h.sink.take().at(0).as<Credit>().prefetch == 0);
  CHECK(h.core.set_prefetch(limits::kMaxPrefetch + 1).error() == MqError::bad_config);
}

TEST_CASE("a refused consumer learns why") {
  ConsumerHarness h;
  h.core.on_connected(h.clock.now());
  const ConsumerEvent e =
      h.feed(Refused{RefuseCode::not_allowed, "not allowed to consume command \"jobs\""});
  CHECK(e.kind == ConsumerEvent::Kind::refused);
  CHECK(e.text == "not allowed to consume command \"jobs\"");
  CHECK(h.core.is_refused());
}

TEST_CASE("a consumer config with an invalid command is refused at start-up") {
  SinkRecorder sink;
  ConsumerConfig config;
  config.commands = {"jobs.*"};
  CHECK_THROWS_AS(ConsumerCore(config, sink), std::invalid_argument);
}
