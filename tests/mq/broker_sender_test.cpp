// BrokerSender: encoding and sending queue messages, and peers whose send buffer is full.
// First through the broker, then the sender on its own.
#include "metrics/counter_registry.hpp"
#include "mq/broker_sender.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

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

// ---- the sender on its own -------------------------------------------------------------------

TEST_CASE("the outbox gets the encoded message for the link's peer") {
  RecordingOutbox out;
  Counters counters;
  BrokerSender sender(out, peermq::CounterRegistry(counters).counter("blocked_total", "test"));
  PeerLink link{P};
  CHECK(sender.send(link, Confirm{42}));
  auto got = out.take(P);
  REQUIRE(got.size() == 1);
  CHECK(got[0].as<Confirm>().id == 42);
  CHECK_FALSE(link.blocked);
}

TEST_CASE("a refused send blocks the link, and later sends fail without asking the outbox") {
  RecordingOutbox out;
  Counters counters;
  Counter& blocked = peermq::CounterRegistry(counters).counter("blocked_total", "test");
  BrokerSender sender(out, blocked);
  PeerLink link{P};
  out.full.insert(P);
  CHECK_FALSE(sender.send(link, Confirm{1}));
  CHECK(link.blocked);
  out.full.clear();  // the outbox has room, but nobody said so yet
  CHECK_FALSE(sender.send(link, Confirm{2}));
  CHECK(out.take(P).empty());
  CHECK(blocked.value() == 2);
  link.blocked = false;  // on_writable
  CHECK(sender.send(link, Confirm{3}));
  auto got = out.take(P);
  REQUIRE(got.size() == 1);
  CHECK(got[0].as<Confirm>().id == 3);
}

TEST_CASE("one blocked link does not block another") {
  RecordingOutbox out;
  Counters counters;
  BrokerSender sender(out, peermq::CounterRegistry(counters).counter("blocked_total", "test"));
  PeerLink full{P}, fine{P2};
  out.full.insert(P);
  CHECK_FALSE(sender.send(full, HelloOk{}));
  CHECK(sender.send(fine, HelloOk{}));
  CHECK(out.take(P2).size() == 1);
}
