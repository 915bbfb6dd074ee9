#include <peermq/counters.hpp>

#include <stdexcept>

#include <doctest/doctest.h>

#include "metrics/counter_registry.hpp"

TEST_CASE("counters keep their values and references across registrations") {
  peermq::Counters counters;
  const peermq::CounterRegistry registry(counters);
  peermq::Counter& sent = registry.counter("packets_sent_total", "Packets sent.");
  sent.inc();
  sent.add(41);
  // Many more registrations must not move the first counter.
  for (int i = 0; i < 1000; ++i)
    registry.counter("c" + std::to_string(i) + "_total", "filler").inc();
  CHECK(&registry.counter("packets_sent_total", "Packets sent.") == &sent);
  CHECK(sent.value() == 42);
  CHECK(counters.entries().size() == 1001);
  CHECK(counters.entries().front().name == "packets_sent_total");
}

TEST_CASE("gauges go up and down") {
  peermq::Counters counters;
  const peermq::CounterRegistry registry(counters);
  peermq::Gauge& open = registry.gauge("sessions_open", "Sessions open now.");
  open.add(3);
  open.sub(5);
  CHECK(open.value() == -2);
  open.set(7);
  CHECK(open.value() == 7);
}

TEST_CASE("counters print as aligned name value lines in registration order") {
  peermq::Counters counters;
  const peermq::CounterRegistry registry(counters);
  registry.counter("udp_rx_total", "Datagrams received.").add(12);
  registry.gauge("sessions_open", "Sessions open now.").set(-1);
  registry.counter("drops_replay_total", "Packets dropped as replays.").add(3);
  CHECK(counters.to_text() ==
        "udp_rx_total       12\n"
        "sessions_open      -1\n"
        "drops_replay_total 3\n");
}

TEST_CASE("counters serve the Prometheus text format") {
  peermq::Counters counters;
  const peermq::CounterRegistry registry(counters);
  registry.counter("udp_rx_total", "Datagrams received.").add(12);
  registry.gauge("queue_depth", "Messages waiting\\queued.\nPer broker.").set(4);
  CHECK(counters.to_prometheus() ==
        "# HELP peermq_udp_rx_total Datagrams received.\n"
        "# TYPE peermq_udp_rx_total counter\n"
        "peermq_udp_rx_total 12\n"
        "# HELP peermq_queue_depth Messages waiting\\\\queued.\\nPer broker.\n"
        "# TYPE peermq_queue_depth gauge\n"
        "peermq_queue_depth 4\n");
}

TEST_CASE("an empty registry prints nothing") {
  peermq::Counters counters;
  const peermq::CounterRegistry registry(counters);
  CHECK(counters.to_text().empty());
  CHECK(counters.to_prometheus().empty());
}

TEST_CASE("metric names Prometheus would reject are refused at registration") {
  CHECK(peermq::CounterRegistry::valid_name("a"));
  CHECK(peermq::CounterRegistry::valid_name("_x:y_9"));
  CHECK(peermq::CounterRegistry::valid_name(":colon_first"));
  CHECK_FALSE(peermq::CounterRegistry::valid_name(""));
  CHECK_FALSE(peermq::CounterRegistry::valid_name("9lives"));
  CHECK_FALSE(peermq::CounterRegistry::valid_name("with-dash"));
  CHECK_FALSE(peermq::CounterRegistry::valid_name("with space"));
  CHECK_FALSE(peermq::CounterRegistry::valid_name("dot.ted"));
  CHECK_FALSE(peermq::CounterRegistry::valid_name("caf\xc3\xa9"));

  peermq::Counters counters;
  const peermq::CounterRegistry registry(counters);
  CHECK_THROWS_AS(registry.counter("bad-name", "help"), std::invalid_argument);
  CHECK_THROWS_AS(registry.gauge("", "help"), std::invalid_argument);
  CHECK(counters.entries().empty());
}

TEST_CASE("a name registered as a counter cannot come back as a gauge") {
  peermq::Counters counters;
  const peermq::CounterRegistry registry(counters);
  registry.counter("x_total", "help");
  CHECK_THROWS_AS(registry.gauge("x_total", "help"), std::invalid_argument);
  registry.gauge("depth", "help");
  CHECK_THROWS_AS(registry.counter("depth", "help"), std::invalid_argument);
  CHECK(counters.entries().size() == 2);
}

TEST_CASE("a reader finds each metric by name, and a name nobody registered reads as zero") {
  peermq::Counters counters;
  const peermq::CounterRegistry registry(counters);
  registry.counter("sent_total", "Sent.").add(5);
  registry.gauge("open", "Open now.").set(-3);
  CHECK(counters.counter_value("sent_total") == 5);
  CHECK(counters.gauge_value("open") == -3);
  REQUIRE(counters.find("open") != nullptr);
  CHECK(counters.find("open")->help == "Open now.");
  CHECK(counters.find("missing_total") == nullptr);
  CHECK(counters.counter_value("missing_total") == 0);
  // The other kind reads as zero: a gauge is no counter.
  CHECK(counters.counter_value("open") == 0);
  CHECK(counters.gauge_value("sent_total") == 0);
  CHECK(counters.entries().size() == 2);  // reading registers nothing
}
