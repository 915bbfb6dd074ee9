#include <peermq/broker.hpp>

#include <chrono>
#include <filesystem>
#include <ostream>  // doctest prints std::error_code through it
#include <string>

#include <doctest/doctest.h>

#include <peermq/consumer.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/producer.hpp>
#include <peermq/queue_error.hpp>

#include "api_test_util.hpp"
#include "wire/limits.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::test::Scene;

TEST_CASE("a broker restarted on the same data directory keeps its address and its messages") {
  Scene scene("restart");
  BrokerOptions options = scene.broker();
  options.sync = SyncPolicy::always;
  std::string first_address;
  {
    EventLoop loop;
    Broker broker(loop, options);
    std::string why;
    REQUIRE_MESSAGE(broker.start(&why), why);
    first_address = broker.address().to_string();
    CHECK(!broker.endpoint().empty());
    Producer producer(loop, scene.producer(broker.address()));
    PublishOptions stored_only;
    stored_only.want_answer = false;
    for (int i = 0; i < 3; ++i) {
      auto r = producer.request("later", "kept-" + std::to_string(i), 10s, stored_only);
      REQUIRE_MESSAGE(r, r.error().message());
      CHECK(r->status == AnswerStatus::stored);
    }
    broker.stop();
  }
  EventLoop loop;
  Broker broker(loop, options);
  REQUIRE(broker.start());
  CHECK(broker.address().to_string() == first_address);
  CHECK(broker.stats().ready == 3);

  std::vector<std::string> served;
  Consumer consumer(loop, scene.consumer(broker.address(), {"later"}));
  consumer.on_message([&](const Message& m) {
    served.emplace_back(m.text());
    return Reply::answer(m.payload);
  });
  REQUIRE(consumer.start());
  // A message of its own behind the three: once it is answered, they were served too.
  Producer producer(loop, scene.producer(broker.address()));
  auto last = producer.request("later", "after-restart", 10s);
  REQUIRE_MESSAGE(last, last.error().message());
  CHECK(served ==
        std::vector<std::string>{"kept-0", "kept-1", "kept-2", "after-restart"});
}

TEST_CASE("a broker refuses options it cannot use and says which") {
  Scene scene("options");
  auto refused = [&](BrokerOptions o, const char* named) {
    Broker broker(o);
    std::string why;
    CHECK(broker.start(&why).error() == QueueError::invalid_options);
    CHECK_MESSAGE(why.find(named) != std::string::npos, why);
    CHECK_FALSE(broker.serving());
  };
  BrokerOptions o = scene.broker();
  o.listen = "127.0.0.1";
  refused(o, "listen");
  o = scene.broker();
  o.max_deliveries = 0;
  refused(o, "max_deliveries");
  o = scene.broker();
  o.relays = {"no-port-here"};
  refused(o, "relay");
}

TEST_CASE("a broker whose data directory or access list cannot be read says where") {
  Scene scene("bad-paths");
  REQUIRE(test::write_text_file(scene.path("a-file"), "not a directory"));
  BrokerOptions o = scene.broker();
  o.data_dir = scene.path("a-file") + "/data";
  std::string why;
  {
    Broker broker(o);
    CHECK_FALSE(broker.start(&why));
    CHECK_MESSAGE(why.find("data directory") != std::string::npos, why);
  }
  o = scene.broker();
  o.access_list = scene.path("missing.allow");
  {
    Broker broker(o);
    CHECK_FALSE(broker.start(&why));
    CHECK_MESSAGE(why.find("missing.allow") != std::string::npos, why);
  }
}

TEST_CASE("a broker stopped from another thread syncs and leaves run() with success") {
  Scene scene("broker-stop");
  Broker broker(scene.broker());
  REQUIRE(broker.start());
  CHECK(broker.serving());
  std::thread stopper([&] { broker.stop(); });
  CHECK(broker.run());
  stopper.join();
  CHECK_FALSE(broker.serving());
  CHECK(broker.endpoint().empty());
  CHECK(broker.start().error() == QueueError::stopped);
}

TEST_CASE("a broker's stats show its log at work: fsyncs, records per fsync, segments, memory") {
  Scene scene("stats");
  BrokerOptions options = scene.broker();
  options.sync = SyncPolicy::always;
  EventLoop loop;
  Broker broker(loop, options);
  REQUIRE(broker.start());
  CHECK(broker.stats().segments == 1);
  Producer producer(loop, scene.producer(broker.address()));
  PublishOptions stored_only;
  stored_only.want_answer = false;
  for (int i = 0; i < 3; ++i) {
    auto r = producer.request("kept", "x", 10s, stored_only);
    REQUIRE_MESSAGE(r, r.error().message());
  }
  const BrokerStats s = broker.stats();
  CHECK(s.ready == 3);
  CHECK(s.fsyncs >= 1);  // -sync=always: nothing is confirmed before its fsync
  CHECK(s.records_per_fsync >= 1.0);
  CHECK(s.segments == 1);
  CHECK(s.store_memory_bytes > 0);
  CHECK(s.index_memory_bytes > 0);  // the three ids, for dedupe
}

TEST_CASE("a broker's identity loads before its log is opened, in a data directory it creates") {
  Scene scene("identity-first");
  BrokerOptions options = scene.broker("fresh/data");
  Broker broker(options);
  std::string why;
  auto address = broker.load_identity(&why);
  REQUIRE_MESSAGE(address, why);
  CHECK(broker.address() == *address);
  CHECK(std::filesystem::exists(scene.path("fresh/data/broker.key")));
  CHECK_FALSE(std::filesystem::exists(scene.path("fresh/data/log")));  // not replayed yet
  REQUIRE(broker.start());
  CHECK(broker.address() == *address);
}

TEST_CASE("the public broker options default to the protocol's limits") {
  const BrokerOptions o;
  CHECK(o.visibility_timeout == peermq::limits::kBrokerVisibilityTimeout);
  CHECK(o.max_deliveries == peermq::limits::kBrokerMaxDeliveries);
  CHECK(o.max_messages == peermq::limits::kBrokerQueueMaxMessages);
  CHECK(peermq::kMaxPayload == peermq::limits::kMaxPayload);
  CHECK(peermq::kMaxPriority == peermq::limits::kMaxPriority);
  CHECK(peermq::kMaxPrefetch == peermq::limits::kMaxPrefetch);
}
