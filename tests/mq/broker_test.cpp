// The Broker facade: peers and their connections, decoding, and what reaches no part
// (malformed input, wrong roles, old versions). Each part's behaviour is tested in its own
// file (delivery_router_test.cpp, answer_box_test.cpp, ...), mostly through the facade too.
#include "mq/broker.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

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
      {},                        // empty
      {0xc1},                    // not msgpack
      {0x92, 0x04},              // truncated array
      {0x91, 0x63},              // unknown type 99
      {0x93, 0x04, 0x01, 0xa1},  // publish cut inside the command
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

TEST_CASE("an idle broker has no deadline") {
  BrokerHarness h;
  CHECK(h.broker->next_deadline() == Instant::max());
}
