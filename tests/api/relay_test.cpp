// Relay: a relay node on the public API, and nodes that find each other only through it.
#include <peermq/relay.hpp>

#include <chrono>
#include <ostream>  // doctest prints std::error_code through it
#include <string>

#include <doctest/doctest.h>

#include <peermq/broker.hpp>
#include <peermq/consumer.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/producer.hpp>
#include <peermq/queue_error.hpp>

#include "api_test_util.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::test::Scene;

namespace {

RelayOptions relay_options(const Scene& scene) {
  RelayOptions o;
  o.key_file = scene.path("relay.key");
  o.listen = "127.0.0.1:0";
  o.discovery_dir = scene.path("relay-run");
  return o;
}

// "127.0.0.1:40123" -> "40123"
std::string port_of(const std::string& endpoint) {
  return endpoint.substr(endpoint.rfind(':') + 1);
}

}  // namespace

TEST_CASE("a relay with a key file keeps its address across restarts and says where it listens") {
  Scene scene("relay-restart");
  std::string first;
  {
    Relay relay(relay_options(scene));
    auto loaded = relay.load_identity();
    REQUIRE(loaded);
    CHECK(relay.endpoint().empty());  // not serving yet
    std::string why;
    REQUIRE_MESSAGE(relay.start(&why), why);
    CHECK(relay.address() == *loaded);
    CHECK(relay.serving());
    CHECK(relay.endpoint().starts_with("127.0.0.1:"));
    CHECK(port_of(relay.endpoint()) != "0");
    first = relay.address().to_string();
    relay.stop();
    REQUIRE(relay.run());  // returns at once: stopped
    CHECK_FALSE(relay.serving());
    CHECK(relay.start().error() == QueueError::stopped);
  }
  Relay again(relay_options(scene));
  REQUIRE(again.start());
  CHECK(again.address().to_string() == first);
}

TEST_CASE("a broker and its clients that share no host directory meet through a relay") {
  Scene scene("relay-meet");
  EventLoop loop;
  Relay relay(loop, relay_options(scene));
  std::string why;
  REQUIRE_MESSAGE(relay.start(&why), why);
  const std::string via = relay.address().to_string() + "@127.0.0.1:" + port_of(relay.endpoint());

  BrokerOptions b = scene.broker();
  b.discovery_dir = scene.path("broker-run");  // nobody else looks there
  b.relays = {via};
  Broker broker(loop, b);
  REQUIRE_MESSAGE(broker.start(&why), why);
  ConsumerOptions c = scene.consumer(broker.address(), {"echo"});
  c.discovery_dir = scene.path("consumer-run");
  c.relays = {via};
  Consumer consumer(loop, c);
  consumer.on_message([](const Message& m) { return Reply::answer(m.payload); });
  REQUIRE_MESSAGE(consumer.start(&why), why);
  ProducerOptions p = scene.producer(broker.address());
  p.discovery_dir = scene.path("producer-run");
  p.relays = {via};
  Producer producer(loop, p);

  auto answer = producer.request("echo", "through the relay", 30s);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->text() == "through the relay");
  const RelayStats stats = relay.stats();
  CHECK(stats.registered == 3);  // the broker, the consumer and the producer
  CHECK(stats.lookups >= 2);     // each client looked the broker up
  CHECK(relay.counters().gauge_value("relay_registered_nodes") == 3);
}

TEST_CASE("a relay refuses a listen option that is not IP:PORT, and says which") {
  RelayOptions o;
  o.listen = "localhost";
  Relay relay(o);
  std::string why;
  CHECK(relay.start(&why).error() == QueueError::invalid_options);
  CHECK_MESSAGE(why.find("listen") != std::string::npos, why);
  CHECK_FALSE(relay.serving());
}
