// BrokerMetrics: every counter and gauge the broker keeps, registered once under its
// Prometheus name, and counting through the registry.
#include "mq/broker_metrics.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <variant>

#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

TEST_CASE("the broker's metrics register once each, under mq_ names") {
  Counters counters;
  BrokerMetrics metrics(counters);
  std::set<std::string> counter_names, gauge_names;
  for (const auto& e : counters.entries()) {
    CHECK(e.name.rfind("mq_", 0) == 0);
    CHECK_FALSE(e.help.empty());
    if (std::holds_alternative<Counter>(e.metric)) {
      CHECK(e.name.size() > 6);
      CHECK(e.name.substr(e.name.size() - 6) == "_total");
      counter_names.insert(e.name);
    } else {
      gauge_names.insert(e.name);
    }
  }
  CHECK(counter_names.size() == 24);
  CHECK(gauge_names.size() == 7);
  CHECK(counters.entries().size() == 31);
}

TEST_CASE("the broker's metrics count into the registry, and a second set shares them") {
  Counters counters;
  BrokerMetrics first(counters);
  BrokerMetrics second(counters);
  first.published.inc();
  second.published.inc();
  first.ready.set(5);
  CHECK(&first.published == &second.published);
  CHECK(second.published.value() == 2);
  CHECK(second.ready.value() == 5);
}
