#include <peermq/producer.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/broker.hpp>
#include <peermq/consumer.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/identity.hpp>
#include <peermq/queue_error.hpp>

#include "api_test_util.hpp"
#include "wire/limits.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::test::Scene;
using peermq::test::text_of;
using peermq::test::Watchdog;

namespace {

// A consumer that answers "<command>:<payload>", so each answer says what it answers.
Reply tagged_echo(const Message& m) {
  return Reply::answer(std::string(m.command) + ":" + std::string(m.text()));
}

}  // namespace

TEST_CASE("a broker, a consumer and a producer on one loop in one thread: a request answered") {
  Scene scene("one-thread");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  std::string why;
  REQUIRE_MESSAGE(broker.start(&why), why);
  Consumer consumer(loop, scene.consumer(broker.address(), {"echo"}));
  consumer.on_message(tagged_echo);
  REQUIRE_MESSAGE(consumer.start(&why), why);
  Producer producer(loop, scene.producer(broker.address()));

  auto answer = producer.request("echo", "hello", 10s);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->status == AnswerStatus::answered);
  CHECK(answer->ok());
  CHECK(answer->text() == "echo:hello");
  CHECK(producer.connected());
  CHECK(consumer.connected());
  CHECK(broker.stats().consumers == 1);
  CHECK(broker.stats().stored_messages == 0);  // answered: acknowledged
  CHECK(producer.in_flight() == 0);
}

TEST_CASE("a broker, a consumer and a producer each on a thread of its own: requests answered") {
  Scene scene("threads");
  Broker broker(scene.broker());
  std::string why;
  REQUIRE_MESSAGE(broker.start(&why), why);
  Consumer consumer(scene.consumer(broker.address(), {"echo"}));
  consumer.on_message(tagged_echo);
  std::thread broker_thread([&] { CHECK(broker.run()); });
  std::thread consumer_thread([&] { CHECK(consumer.run()); });

  Producer producer(scene.producer(broker.address()));
  for (int i = 0; i < 20; ++i) {
    auto answer = producer.request("echo", "n" + std::to_string(i), 10s);
    REQUIRE_MESSAGE(answer, answer.error().message());
    CHECK(answer->text() == "echo:n" + std::to_string(i));
  }
  consumer.stop();
  broker.stop();
  consumer_thread.join();
  broker_thread.join();
  CHECK_FALSE(broker.serving());
}

TEST_CASE("users_servers: producers of num_users and num_servers each get their own answers") {
  Scene scene("users-servers");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  std::string why;
  REQUIRE_MESSAGE(broker.start(&why), why);
  Consumer consumer(loop, scene.consumer(broker.address(), {"num_users", "num_servers"}));
  consumer.on_message([](const Message& m) {
    return Reply::answer(m.command == "num_users" ? "1500" : "12");
  });
  REQUIRE(consumer.start(&why));
  ProducerOptions one = scene.producer(broker.address());
  one.name = "producer-1";
  ProducerOptions two = scene.producer(broker.address());
  two.name = "producer-2";
  Producer users(loop, one);
  Producer servers(loop, two);
  REQUIRE(users.start());
  REQUIRE(servers.start());

  // Both in flight at once, answered on one loop.
  std::vector<std::string> got_users;
  std::vector<std::string> got_servers;
  int pending = 6;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(users.publish("num_users", "", [&](Result<Answer> a) {
      REQUIRE(a);
      got_users.push_back(a->text());
      if (--pending == 0) loop.stop();
    }));
    REQUIRE(servers.publish("num_servers", "", [&](Result<Answer> a) {
      REQUIRE(a);
      got_servers.push_back(a->text());
      if (--pending == 0) loop.stop();
    }));
  }
  Watchdog watchdog(loop, 10s);
  REQUIRE(loop.run());
  CHECK_FALSE(watchdog.fired());
  CHECK(got_users == std::vector<std::string>{"1500", "1500", "1500"});
  CHECK(got_servers == std::vector<std::string>{"12", "12", "12"});
}

TEST_CASE("a request nobody consumes times out, stays queued, and its late answer is dropped") {
  Scene scene("timeout");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Producer producer(loop, scene.producer(broker.address()));
  auto early = producer.request("later", "first", 300ms);
  CHECK(early.error() == QueueError::timed_out);
  CHECK(broker.stats().ready == 1);  // stored, waiting for a consumer of "later"

  // The consumer that appears serves the waiting message; the producer has forgotten it,
  // so only the second request's answer comes back to it.
  Consumer consumer(loop, scene.consumer(broker.address(), {"later"}));
  std::vector<std::string> served;
  consumer.on_message([&](const Message& m) {
    served.emplace_back(m.text());
    return Reply::answer(m.payload);
  });
  REQUIRE(consumer.start());
  auto second = producer.request("later", "second", 10s);
  REQUIRE_MESSAGE(second, second.error().message());
  CHECK(second->text() == "second");
  CHECK(served == std::vector<std::string>{"first", "second"});
}

TEST_CASE("publishing past the in-flight window is would_block until an answer frees a place") {
  Scene scene("window");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Consumer consumer(loop, scene.consumer(broker.address()));
  consumer.on_message([](const Message& m) { return Reply::answer(m.payload); });
  REQUIRE(consumer.start());
  ProducerOptions options = scene.producer(broker.address());
  options.inflight = 2;
  Producer producer(loop, options);
  REQUIRE(producer.start());

  std::vector<std::string> answers;
  std::function<void(Result<Answer>)> on_answer = [&](Result<Answer> a) {
    REQUIRE(a);
    answers.push_back(a->text());
    if (answers.size() == 1) {
      // A place is free now: the third goes, from inside the callback.
      CHECK(producer.publish("", "c", on_answer));
    }
    if (answers.size() == 3) loop.stop();
  };
  REQUIRE(producer.publish("", "a", on_answer));
  REQUIRE(producer.publish("", "b", on_answer));
  CHECK(producer.publish("", "c", on_answer).error() == QueueError::would_block);
  CHECK(producer.in_flight() == 2);
  Watchdog watchdog(loop, 10s);
  REQUIRE(loop.run());
  CHECK_FALSE(watchdog.fired());
  CHECK(answers.size() == 3);
}

TEST_CASE("a message that needs no answer completes once the broker has stored it") {
  Scene scene("stored");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Producer producer(loop, scene.producer(broker.address()));
  PublishOptions fire_and_forget;
  fire_and_forget.want_answer = false;
  auto stored = producer.request("nobody", "kept", 10s, fire_and_forget);
  REQUIRE_MESSAGE(stored, stored.error().message());
  CHECK(stored->status == AnswerStatus::stored);
  CHECK(broker.stats().ready == 1);
}

TEST_CASE("on_confirm tells each message stored once, before its answer or its stored outcome") {
  Scene scene("confirm");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Consumer consumer(loop, scene.consumer(broker.address(), {"echo"}));
  consumer.on_message([](const Message& m) { return Reply::answer(m.payload); });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  REQUIRE(producer.start());

  std::vector<std::string> events;  // "confirm <id>", "answer <id>", "stored <id>"
  producer.on_confirm([&](std::uint64_t id) { events.push_back("confirm " + std::to_string(id)); });
  int outcomes = 0;
  auto on_outcome = [&](Result<Answer> a) {
    REQUIRE(a);
    events.push_back((a->status == AnswerStatus::stored ? "stored " : "answer ") +
                     std::to_string(a->id));
    if (++outcomes == 4) loop.stop();
  };
  PublishOptions no_answer;
  no_answer.want_answer = false;
  std::vector<std::uint64_t> answered, stored;
  for (int i = 0; i < 2; ++i) {
    auto a = producer.publish("echo", "a", on_outcome);
    REQUIRE(a);
    answered.push_back(*a);
    auto s = producer.publish("nobody", "s", on_outcome, no_answer);
    REQUIRE(s);
    stored.push_back(*s);
  }
  Watchdog watchdog(loop, 10s);
  REQUIRE(loop.run());
  CHECK_FALSE(watchdog.fired());
  REQUIRE(events.size() == 8);
  auto position = [&](const std::string& e) {
    return std::count(events.begin(), events.end(), e) == 1
               ? std::find(events.begin(), events.end(), e) - events.begin()
               : -1;
  };
  for (std::uint64_t id : answered) {
    const auto c = position("confirm " + std::to_string(id));
    CHECK(c >= 0);
    CHECK(c < position("answer " + std::to_string(id)));
  }
  for (std::uint64_t id : stored) {
    const auto c = position("confirm " + std::to_string(id));
    CHECK(c >= 0);
    CHECK(c < position("stored " + std::to_string(id)));
  }
}

TEST_CASE("stop() hands every waiting callback QueueError::stopped, and publish fails after") {
  Scene scene("stop");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Producer producer(loop, scene.producer(broker.address()));
  REQUIRE(producer.start());
  std::vector<std::error_code> outcomes;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(producer.publish("nobody", "x", [&](Result<Answer> a) {
      outcomes.push_back(a.error());
      if (outcomes.size() == 3) loop.stop();
    }));
  }
  producer.stop();
  Watchdog watchdog(loop, 5s);
  REQUIRE(loop.run());
  REQUIRE(outcomes.size() == 3);
  for (const auto& e : outcomes) CHECK(e == QueueError::stopped);
  CHECK(producer.publish("nobody", "y", nullptr).error() == QueueError::stopped);
  CHECK(producer.start().error() == QueueError::stopped);
}

TEST_CASE("request() from inside a callback of its own loop is refused with loop_busy") {
  Scene scene("busy");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Producer producer(loop, scene.producer(broker.address()));
  REQUIRE(producer.start());
  std::error_code inner;
  loop.post([&] {
    inner = producer.request("x", "y", 1s).error();
    loop.stop();
  });
  Watchdog watchdog(loop, 5s);
  REQUIRE(loop.run());
  CHECK(inner == QueueError::loop_busy);
}

TEST_CASE("a producer the access list does not allow is refused, and run() says why") {
  Scene scene("refused");
  REQUIRE(test::write_text_file(scene.path("allow"), "* consume=*\n"));
  EventLoop loop;
  BrokerOptions options = scene.broker();
  options.access_list = scene.path("allow");
  Broker broker(loop, options);
  std::string why;
  REQUIRE_MESSAGE(broker.start(&why), why);
  Producer producer(loop, scene.producer(broker.address()));
  auto answer = producer.request("work", "x", 10s);
  CHECK(answer.error() == QueueError::refused);
  CHECK_FALSE(producer.connected());
  CHECK(producer.run(&why).error() == QueueError::refused);
  CHECK(why.find("refused") != std::string::npos);
}

TEST_CASE("a producer with a mistyped broker address does not start, and says where") {
  ProducerOptions options;
  options.broker = "not-an-address";
  Producer producer(options);
  std::string why;
  CHECK(producer.start(&why).error() == QueueError::invalid_options);
  CHECK(why.find("broker address") != std::string::npos);
  CHECK(producer.publish("x", "y", nullptr).error() == QueueError::not_started);
}

TEST_CASE("a producer destroyed with messages waiting drops their callbacks uncalled") {
  Scene scene("destroyed");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  int called = 0;
  {
    Producer producer(loop, scene.producer(broker.address()));
    REQUIRE(producer.start());
    REQUIRE(producer.publish("nobody", "x", [&](Result<Answer>) { ++called; }));
  }
  CHECK(called == 0);
}

TEST_CASE("the public producer options default to the protocol's in-flight window") {
  CHECK(peermq::ProducerOptions{}.inflight == peermq::limits::kProducerInflightDefault);
}

TEST_CASE("a message the access list forbids fails with not_allowed: on_failure has the broker's words") {
  Scene scene("not-allowed");
  // The producer's key, known before any broker: the access list names it.
  const std::string key_file = scene.path("producer.key");
  auto me = load_or_create_key_file(key_file);
  REQUIRE(me);
  BrokerOptions options = scene.broker();
  options.access_list = scene.path("allow");
  REQUIRE(test::write_text_file(options.access_list,
                                me->address().to_string() + " produce=allowed\n* consume=*\n"));
  EventLoop loop;
  Broker broker(loop, options);
  std::string why;
  REQUIRE_MESSAGE(broker.start(&why), why);
  ProducerOptions p = scene.producer(broker.address());
  p.key_file = key_file;
  Producer producer(loop, p);
  std::vector<std::string> failures;
  producer.on_failure([&](std::uint64_t id, std::error_code e, std::string_view reason) {
    CHECK(e == QueueError::not_allowed);
    failures.push_back(std::to_string(id) + ": " + std::string(reason));
  });
  auto answer = producer.request("forbidden", "x", 10s);
  CHECK(answer.error() == QueueError::not_allowed);
  REQUIRE(failures.size() == 1);
  CHECK_MESSAGE(failures.front().find("not allowed to produce command \"forbidden\"") != std::string::npos,
                failures.front());
}

TEST_CASE("a producer's identity loads before it starts, from its key file") {
  Scene scene("producer-identity");
  ProducerOptions o = scene.producer(Identity::generate().address());
  o.key_file = scene.path("p.key");
  Producer producer(o);
  auto address = producer.load_identity();
  REQUIRE(address);
  CHECK(producer.address() == *address);
  auto again = load_key_file(o.key_file);
  REQUIRE(again);
  CHECK(again->address() == *address);
  REQUIRE(producer.start());
  CHECK(producer.address() == *address);
}
