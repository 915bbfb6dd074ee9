// BrokerConfig: the defaults are valid, and every value outside what the broker supports
// is refused, by validate() and by the Broker's constructor.
#include "mq/broker_config.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <stdexcept>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

TEST_CASE("the default broker config is valid") {
  CHECK(BrokerConfig{}.validate());
}

TEST_CASE("each broker config value is checked at its bounds") {
  struct Case {
    int n;
    std::function<void(BrokerConfig&)> set;
    bool valid;
  };
  const Case cases[] = {
      /* 1 */ {1, [](BrokerConfig& c) { c.visibility_timeout = Duration::zero(); }, false},
      /* 2 */ {2, [](BrokerConfig& c) { c.max_deliveries = 0; }, false},
      /* 3 */ {3, [](BrokerConfig& c) { c.max_deliveries = 1; }, true},
      /* 4 */ {4, [](BrokerConfig& c) { c.max_deliveries = 255; }, true},
      /* 5 */ {5, [](BrokerConfig& c) { c.max_deliveries = 256; }, false},
      /* 6 */ {6, [](BrokerConfig& c) { c.max_messages = 0; }, false},
      /* 7 */ {7, [](BrokerConfig& c) { c.max_messages = std::uint64_t{1} << 29; }, true},
      /* 8 */ {8, [](BrokerConfig& c) { c.max_messages = (std::uint64_t{1} << 29) + 1; }, false},
      /* 9 */ {9, [](BrokerConfig& c) { c.max_bytes = 0; }, false},
      /* 10 */ {10, [](BrokerConfig& c) { c.max_payload = 0; }, false},
      /* 11 */ {11, [](BrokerConfig& c) { c.max_payload = limits::kMaxPayload; }, true},
      /* 12 */ {12, [](BrokerConfig& c) { c.max_payload = limits::kMaxPayload + 1; }, false},
      /* 13 */ {13, [](BrokerConfig& c) { c.answer_ttl = Duration::zero(); }, false},
      /* 14 */ {14, [](BrokerConfig& c) { c.dedupe_window = Duration::zero(); }, false},
      /* 15 */ {15, [](BrokerConfig& c) { c.dedupe_max_entries = 0; }, false},
      /* 16 */ {16, [](BrokerConfig& c) { c.compact_min_span = 0; }, false},
      /* 17 */ {17, [](BrokerConfig& c) { c.compact_min_span = std::uint64_t{1} << 30; }, true},
      /* 18 */
      {18, [](BrokerConfig& c) { c.compact_min_span = (std::uint64_t{1} << 30) + 1; }, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.n);
    BrokerConfig config;
    c.set(config);
    auto r = config.validate();
    CHECK(bool(r) == c.valid);
    if (!c.valid) CHECK(r.error() == MqError::bad_config);
  }
}

TEST_CASE("a broker is not made from a config out of range") {
  BrokerConfig config;
  config.max_deliveries = 0;
  ManualClock clock;
  MemoryJournal journal;
  RecordingOutbox out;
  Counters counters;
  CHECK_THROWS_AS(Broker(config, journal, out, counters, clock.now(), clock.wall_now()),
                  std::invalid_argument);
}
