#include "session/rate_limiter.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace peermq;
using namespace peermq::session;
using namespace std::chrono_literals;

namespace {
const Instant t0 = ManualClock::kDefaultStart;
}

TEST_CASE("a source gets its burst, then its rate, and other sources are unaffected") {
  RateLimiter limiter(20, 5, 100);
  const auto a = Endpoint::v4({10, 0, 0, 1}, 1);
  const auto b = Endpoint::v4({10, 0, 0, 2}, 1);
  for (int i = 0; i < 5; ++i) CHECK(limiter.allow(a, t0));
  CHECK_FALSE(limiter.allow(a, t0));
  CHECK(limiter.allow(b, t0));
  // The port does not make a new source.
  const auto a_other_port = a.with_port(2);
  CHECK_FALSE(limiter.allow(a_other_port, t0));
  // One token per 50 ms.
  CHECK_FALSE(limiter.allow(a, t0 + 49ms));
  CHECK(limiter.allow(a, t0 + 50ms));
  CHECK_FALSE(limiter.allow(a, t0 + 51ms));
  // Idle time refills up to the burst, no further.
  for (int i = 0; i < 5; ++i) CHECK(limiter.allow(a, t0 + 10s));
  CHECK_FALSE(limiter.allow(a, t0 + 10s));
}

TEST_CASE("the table of sources is bounded and forgets idle ones") {
  RateLimiter limiter(20, 5, 4);
  for (std::uint8_t i = 0; i < 4; ++i) CHECK(limiter.allow(Endpoint::v4({10, 0, 0, i}, 1), t0));
  CHECK(limiter.tracked() == 4);
  CHECK_FALSE(limiter.allow(Endpoint::v4({10, 0, 1, 0}, 1), t0));  // full, all busy
  CHECK(limiter.allow(Endpoint::v4({10, 0, 1, 0}, 1), t0 + 1s));  // refilled ones go
  CHECK(limiter.tracked() <= 4);
}

TEST_CASE("sources whose buckets refilled are forgotten within a second, before the table fills") {
  RateLimiter limiter(20, 5, 8192);
  for (int i = 0; i < 1000; ++i) {
    CHECK(limiter.allow(Endpoint::v4({10, 1, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(i % 250)}, 1),
                        t0));
  }
  const auto busy = Endpoint::v4({10, 2, 0, 1}, 1);
  for (int i = 0; i < 5; ++i) CHECK(limiter.allow(busy, t0 + 990ms));  // its whole burst
  CHECK(limiter.tracked() == 1001);
  CHECK(limiter.allow(Endpoint::v4({10, 3, 0, 1}, 1), t0 + 500ms));  // no sweep yet
  CHECK(limiter.tracked() == 1002);
  // A second after the last sweep: the refilled go; the busy one keeps its debt.
  CHECK(limiter.allow(Endpoint::v4({10, 3, 0, 2}, 1), t0 + 1000ms));
  CHECK(limiter.tracked() == 2);
  CHECK_FALSE(limiter.allow(busy, t0 + 1000ms));
}
