#include "overlay/token_bucket.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace peermq;
using namespace peermq::overlay;
using namespace std::chrono_literals;

TEST_CASE("a token bucket allows its burst at once, then its rate") {
  const TokenRate rate = TokenRate::of(10, 3);  // 10/s, bursts of 3
  Instant now = ManualClock::kDefaultStart;
  TokenBucket b(rate, now);
  CHECK(b.take(rate, now));
  CHECK(b.take(rate, now));
  CHECK(b.take(rate, now));
  CHECK_FALSE(b.take(rate, now));
  now += 99ms;
  CHECK_FALSE(b.take(rate, now));  // not quite one token yet
  now += 1ms;
  CHECK(b.take(rate, now));
  CHECK_FALSE(b.take(rate, now));
  now += 1h;  // a long pause refills only up to the burst
  for (int i = 0; i < 3; ++i) CHECK(b.take(rate, now));
  CHECK_FALSE(b.take(rate, now));
}

TEST_CASE("a token bucket holds the rate over a long run") {
  const TokenRate rate = TokenRate::of(2000, 200);
  Instant now = ManualClock::kDefaultStart;
  TokenBucket b(rate, now);
  int allowed = 0;
  for (int ms = 0; ms < 10'000; ++ms) {  // ten tries each millisecond for ten seconds
    for (int i = 0; i < 10; ++i) allowed += b.take(rate, now) ? 1 : 0;
    now += 1ms;
  }
  CHECK(allowed >= 20'000);
  CHECK(allowed <= 20'000 + 200);
}

TEST_CASE("a token rate must be positive") {
  CHECK_THROWS_AS(TokenRate::of(0, 1), std::invalid_argument);
  CHECK_THROWS_AS(TokenRate::of(1, 0), std::invalid_argument);
}
