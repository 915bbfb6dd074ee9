// CreditTuner against model consumers: one limited by the round trip (its rate grows with
// the window up to what it can process), one limited by its own processing (its rate is
// the same whatever the window), and one that is not limited by its window at all.
#include "mq/credit_tuner.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>

using peermq::Duration;
using peermq::Instant;
using peermq::mq::CreditTuner;
using namespace std::chrono_literals;

namespace {

// Settles `n` deliveries at the rate `rate(window)` gives (per second) for the window in
// force at each, from `now`; returns the time after the last. limited: as on_settled.
Instant settle(CreditTuner& t, Instant now, int n, const std::function<double(double)>& rate,
               bool limited = true) {
  for (int i = 0; i < n; ++i) {
    const double per_second = rate(double(t.window()));
    now += std::chrono::duration_cast<Duration>(std::chrono::duration<double>(1.0 / per_second));
    t.on_settled(limited, now);
  }
  return now;
}

// A consumer 1 ms of round trip away that can process 200,000 messages/s: the window
// limits it up to 200 (Little's law), beyond that it does.
double pipe_limited(double window) { return std::min(window / 0.001, 200'000.0); }
// A consumer whose handler takes 10 ms whatever it holds.
double slow_handler(double) { return 100.0; }

}  // namespace

TEST_CASE("the window starts at 16, or at the cap when that is lower, and 0 pauses") {
  CHECK(CreditTuner(4096).window() == CreditTuner::kInitialWindow);
  CHECK(CreditTuner(4).window() == 4);
  CreditTuner t(0);
  CHECK(t.window() == 0);
  t.on_settled(true, Instant{} + 1s);  // nothing to learn while paused
  CHECK(t.window() == 0);
  t.set_cap(100);
  CHECK(t.window() == 16);
}

TEST_CASE("a consumer held back by the round trip gets a window past the knee, and keeps it") {
  CreditTuner t(4096);
  Instant now{};
  now = settle(t, now, 20'000, pipe_limited);
  // The knee is 200: the window doubled from 16 while that paid, and stopped at the first
  // window past it, 256: the probe beyond (512) is undone, and so is every probe back
  // below (128). Sampled long after, it is at 256 but while a probe runs.
  int at_knee = 0;
  for (int i = 0; i < 200; ++i) {
    now = settle(t, now, 1'000, pipe_limited);
    CHECK(t.window() >= 128);
    CHECK(t.window() <= 512);
    if (t.window() == 256) ++at_knee;
  }
  CHECK(at_knee >= 120);
}

TEST_CASE("a slow handler's window comes down to what it uses") {
  CreditTuner t(4096);
  Instant now{};
  now = settle(t, now, 5'000, slow_handler);
  // Its rate is the same at any window: every halving is kept, down to 1 (a probe up to 2
  // gains nothing and is undone).
  CHECK(t.window() <= 2);
  // It stays low: an occasional probe up is undone.
  for (int i = 0; i < 20; ++i) {
    now = settle(t, now, 200, slow_handler);
    CHECK(t.window() <= 4);
  }
}

TEST_CASE("a consumer its window does not limit keeps its window") {
  CreditTuner t(4096);
  const std::uint32_t before = t.window();
  (void)settle(t, Instant{}, 10'000, pipe_limited, false);
  CHECK(t.window() == before);
}

TEST_CASE("the cap bounds the window, and a higher cap lets it grow again") {
  CreditTuner t(64);
  Instant now{};
  for (int i = 0; i < 50; ++i) {
    now = settle(t, now, 200, pipe_limited);
    CHECK(t.window() <= 64);
  }
  CHECK(t.window() >= 32);  // at the cap, or a probe below it
  t.set_cap(4096);
  CHECK(t.window() <= 64);  // what was learnt is kept
  now = settle(t, now, 20'000, pipe_limited);
  CHECK(t.window() >= 128);
  t.set_cap(8);
  CHECK(t.window() == 8);
}

TEST_CASE("rounds are measured over time: a burst settled at one instant teaches nothing") {
  CreditTuner t(4096);
  for (int i = 0; i < 10'000; ++i) t.on_settled(true, Instant{} + 1s);
  CHECK(t.window() == CreditTuner::kInitialWindow);
}

TEST_CASE("a window that grew past the consumer's demand stays there") {
  // 300 messages in flight in all (one producer's window): once the consumer may hold
  // them all, nothing waits for it at the broker, and its rounds are not limited.
  CreditTuner t(4096);
  Instant now{};
  for (int i = 0; i < 50'000; ++i) {
    const double window = t.window();
    now += std::chrono::duration_cast<Duration>(
        std::chrono::duration<double>(1.0 / pipe_limited(window)));
    t.on_settled(window < 300, now);
  }
  CHECK(t.window() == 512);
}
