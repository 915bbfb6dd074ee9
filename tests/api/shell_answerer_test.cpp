// ShellAnswerer: a consumer's messages answered with a shell command's output, one command
// at a time, on the deferred reply.
#include <peermq/shell_answerer.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/broker.hpp>
#include <peermq/consumer.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/producer.hpp>
#include <peermq/queue_error.hpp>

#include "api_test_util.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::test::run_until;
using peermq::test::Scene;

TEST_CASE("a shell command's output answers each message, and the loop serves meanwhile") {
  Scene scene("shell");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Consumer consumer(loop, scene.consumer(broker.address(), {"upper"}));
  ShellAnswerer exec(loop, "tr a-z A-Z");
  consumer.on_delivery([&](const Message& m, Delivery d) { exec.answer(m, std::move(d)); });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  REQUIRE(producer.start());
  std::vector<std::string> answers;
  for (const char* word : {"one", "two", "three"}) {
    REQUIRE(producer.publish("upper", word, [&](Result<Answer> a) {
      REQUIRE_MESSAGE(a, a.error().message());
      answers.push_back(a->text());
    }));
  }
  REQUIRE(run_until(loop, [&] { return answers.size() == 3; }, 20s));
  // One command at a time, in delivery order.
  CHECK(answers == std::vector<std::string>{"ONE", "TWO", "THREE"});
  CHECK(exec.queued() == 0);
  CHECK_FALSE(exec.running());
}

TEST_CASE("a command that fails rejects its message, dead-lettered at the broker's limit") {
  Scene scene("shell-fails");
  EventLoop loop;
  BrokerOptions options = scene.broker();
  options.max_deliveries = 2;
  Broker broker(loop, options);
  REQUIRE(broker.start());
  Consumer consumer(loop, scene.consumer(broker.address(), {"job"}));
  ShellAnswerer exec(loop, "cat >/dev/null; exit 3");
  std::vector<std::uint32_t> deliveries;
  consumer.on_delivery([&](const Message& m, Delivery d) {
    deliveries.push_back(m.delivery);
    exec.answer(m, std::move(d));
  });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  auto answer = producer.request("job", "x", 20s);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->status == AnswerStatus::dead_lettered);
  CHECK(deliveries == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("a delivery no longer held when its turn comes is skipped: its command never runs") {
  Scene scene("shell-stale");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  const std::string ran = scene.path("ran");
  Consumer consumer(loop, scene.consumer(broker.address(), {"job"}));
  ShellAnswerer exec(loop, "touch '" + ran + "'; cat");
  consumer.on_delivery([&](const Message& m, Delivery d) {
    REQUIRE(d.answer("answered before its turn"));  // so it is no longer held
    exec.answer(m, std::move(d));
  });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  auto answer = producer.request("job", "x", 10s);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->text() == "answered before its turn");
  CHECK(exec.queued() == 0);
  CHECK_FALSE(exec.running());
  CHECK_FALSE(std::filesystem::exists(ran));
}

TEST_CASE("stop() kills the running command, whose answer never goes") {
  Scene scene("shell-stop");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Consumer consumer(loop, scene.consumer(broker.address(), {"job"}));
  ShellAnswerer exec(loop, "sleep 60; cat");
  consumer.on_delivery([&](const Message& m, Delivery d) { exec.answer(m, std::move(d)); });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  REQUIRE(producer.start());
  std::optional<Result<Answer>> answer;
  REQUIRE(producer.publish("job", "x", [&](Result<Answer> a) { answer.emplace(std::move(a)); }));
  REQUIRE(run_until(loop, [&] { return exec.running(); }, 10s));
  exec.stop();
  CHECK_FALSE(exec.running());
  CHECK(exec.queued() == 1);  // kept unanswered: the broker has it delivered again elsewhere
  exec.answer(Message{}, Delivery{});  // a stopped answerer runs nothing more
  CHECK_FALSE(exec.running());
  CHECK_FALSE(answer.has_value());
}
