#include <peermq/consumer.hpp>

#include <chrono>
#include <map>
#include <ostream>  // doctest prints std::error_code through it
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/broker.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/identity.hpp>
#include <peermq/producer.hpp>
#include <peermq/queue_error.hpp>

#include "api_test_util.hpp"
#include "wire/limits.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::test::Scene;
using peermq::test::Watchdog;

TEST_CASE("a consumer hands the handler the message as published, producer included") {
  Scene scene("message");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  std::string command, payload;
  std::optional<Address> from;
  std::uint32_t delivery = 0;
  std::uint8_t priority = 0;
  Consumer consumer(loop, scene.consumer(broker.address(), {"jobs.resize"}));
  consumer.on_message([&](const Message& m) {
    command = m.command;
    payload = m.text();
    from = m.producer;
    delivery = m.delivery;
    priority = m.priority;
    return Reply::answer("done");
  });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  PublishOptions options;
  options.priority = 7;
  auto answer = producer.request("jobs.resize", "photo.jpg", 10s, options);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->text() == "done");
  CHECK(command == "jobs.resize");
  CHECK(payload == "photo.jpg");
  REQUIRE(from);
  CHECK(*from == producer.address());
  CHECK(delivery == 1);
  CHECK(priority == 7);
}

TEST_CASE("a message rejected with requeue comes again, and is dead-lettered at the limit") {
  Scene scene("reject");
  EventLoop loop;
  BrokerOptions options = scene.broker();
  options.max_deliveries = 3;
  Broker broker(loop, options);
  REQUIRE(broker.start());
  std::vector<std::uint32_t> deliveries;
  Consumer consumer(loop, scene.consumer(broker.address()));
  consumer.on_message([&](const Message& m) {
    deliveries.push_back(m.delivery);
    return Reply::reject("cannot do it");
  });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  auto answer = producer.request("", "doomed", 10s);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->status == AnswerStatus::dead_lettered);
  CHECK_FALSE(answer->ok());
  CHECK(deliveries == std::vector<std::uint32_t>{1, 2, 3});
  CHECK(broker.stats().dead_letters == 1);
}

TEST_CASE("a message rejected without requeue is dead-lettered at once, with the reason") {
  Scene scene("reject-final");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  int calls = 0;
  Consumer consumer(loop, scene.consumer(broker.address()));
  consumer.on_message([&](const Message&) {
    ++calls;
    return Reply::reject("malformed order", false);
  });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  auto answer = producer.request("", "{", 10s);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->status == AnswerStatus::rejected);
  CHECK(answer->reason.find("malformed order") != std::string::npos);
  CHECK(calls == 1);
}

TEST_CASE("a handler that throws rejects the message instead of taking the process down") {
  Scene scene("throws");
  EventLoop loop;
  BrokerOptions options = scene.broker();
  options.max_deliveries = 2;
  Broker broker(loop, options);
  REQUIRE(broker.start());
  Consumer consumer(loop, scene.consumer(broker.address()));
  consumer.on_message([](const Message&) -> Reply { throw std::runtime_error("bug"); });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  auto answer = producer.request("", "x", 10s);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->status == AnswerStatus::dead_lettered);
}

TEST_CASE("consumers of a command share it, and a consumer of another never sees it") {
  Scene scene("compete");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  std::map<std::string, int> served;
  auto make = [&](const std::string& name, std::vector<std::string> commands) {
    ConsumerOptions o = scene.consumer(broker.address(), std::move(commands));
    o.name = name;
    o.prefetch = 1;
    auto c = std::make_unique<Consumer>(loop, o);
    c->on_message([&served, name](const Message& m) {
      ++served[name];
      return Reply::answer(m.payload);
    });
    REQUIRE(c->start());
    return c;
  };
  auto a = make("a", {"work"});
  auto b = make("b", {"work"});
  auto other = make("other", {"play"});
  Producer producer(loop, scene.producer(broker.address()));
  // Wait until all three have said hello, so the share is not decided by who came first.
  REQUIRE(producer.request("play", "warm-up", 10s));
  int answered = 0;
  for (int i = 0; i < 40; ++i) {
    REQUIRE(producer.publish("work", std::to_string(i), [&](Result<Answer> r) {
      REQUIRE(r);
      if (++answered == 40) loop.stop();
    }));
  }
  Watchdog watchdog(loop, 10s);
  REQUIRE(loop.run());
  CHECK_FALSE(watchdog.fired());
  CHECK(served["a"] + served["b"] == 40);
  CHECK(served["a"] > 0);
  CHECK(served["b"] > 0);
  CHECK(served["other"] == 1);  // the warm-up only
}

TEST_CASE("a consumer without a handler, or with options it cannot use, does not start") {
  ConsumerOptions options;
  options.broker = Identity::generate().address().to_string();
  {
    Consumer consumer(options);
    std::string why;
    CHECK(consumer.start(&why).error() == QueueError::invalid_options);
    CHECK(why.find("handler") != std::string::npos);
  }
  auto refused = [](ConsumerOptions o, const char* named) {
    Consumer consumer(o);
    consumer.on_message([](const Message&) { return Reply::answer(""); });
    std::string why;
    CHECK(consumer.start(&why).error() == QueueError::invalid_options);
    CHECK_MESSAGE(why.find(named) != std::string::npos, why);
  };
  ConsumerOptions o = options;
  o.prefetch = 0;
  refused(o, "prefetch");
  o = options;
  o.commands = {"has space"};
  refused(o, "command");
  o = options;
  o.listen = "localhost";
  refused(o, "listen");
  o = options;
  o.broker = "";
  refused(o, "broker");
}

TEST_CASE("a consumer stopped from another thread leaves run() with success") {
  Scene scene("consumer-stop");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Consumer consumer(loop, scene.consumer(broker.address()));
  consumer.on_message([](const Message& m) { return Reply::answer(m.payload); });
  REQUIRE(consumer.start());
  std::thread stopper([&] { consumer.stop(); });
  Watchdog watchdog(loop, 5s);
  CHECK(consumer.run());  // whether stop() came before run() or during it
  stopper.join();
  CHECK_FALSE(watchdog.fired());
  CHECK_FALSE(consumer.connected());
}

TEST_CASE("the public consumer options default to the protocol's prefetch") {
  CHECK(peermq::ConsumerOptions{}.prefetch == peermq::limits::kPrefetchDefault);
}

TEST_CASE("a consumer's identity loads before it starts, so its address can be printed first") {
  Scene scene("consumer-identity");
  ConsumerOptions o = scene.consumer(Identity::generate().address());
  o.key_file = scene.path("c.key");
  Consumer consumer(o);
  std::string why;
  auto address = consumer.load_identity(&why);
  REQUIRE_MESSAGE(address, why);
  CHECK(consumer.address() == *address);
  CHECK(load_key_file(o.key_file)->address() == *address);
  // Without a key file: a fresh identity, the same from load_identity() through start().
  Consumer fresh(scene.consumer(Identity::generate().address()));
  fresh.on_message([](const Message&) { return Reply::answer(""); });
  auto first = fresh.load_identity();
  REQUIRE(first);
  REQUIRE(fresh.start());
  CHECK(fresh.address() == *first);
}
