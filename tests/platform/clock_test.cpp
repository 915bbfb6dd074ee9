#include <peermq/clock.hpp>

#include <doctest/doctest.h>

#include "support/manual_clock.hpp"

using namespace std::chrono_literals;

TEST_CASE("manual clock moves only when advanced and wall time moves with it") {
  peermq::ManualClock clock;
  const peermq::Instant start = clock.now();
  const peermq::WallTime wall = clock.wall_now();
  CHECK(start == peermq::ManualClock::kDefaultStart);
  CHECK(clock.now() == start);

  clock.advance(1500ms);
  CHECK(clock.now() - start == 1500ms);
  CHECK(clock.wall_now() - wall == 1500ms);

  clock.set(start + 1h);
  CHECK(clock.now() == start + 1h);
  CHECK(clock.wall_now() == wall + 1h);

  clock.advance(0ns);
  CHECK(clock.now() == start + 1h);
}

TEST_CASE("manual clock wall time can be set on its own even backwards") {
  peermq::ManualClock clock;
  const peermq::Instant now = clock.now();
  clock.set_wall(peermq::WallTime{} + 10s);
  CHECK(clock.wall_now().time_since_epoch() == 10s);
  CHECK(clock.now() == now);
}

TEST_CASE("a core reads time through the Clock interface") {
  peermq::ManualClock manual{peermq::Instant{} + 5s};
  peermq::SystemClock system;
  const peermq::Clock& virtual_time = manual;
  const peermq::Clock& real_time = system;
  CHECK(virtual_time.now().time_since_epoch() == 5s);
  manual.advance(1s);
  CHECK(virtual_time.now().time_since_epoch() == 6s);

  const peermq::Instant a = real_time.now();
  const peermq::Instant b = real_time.now();
  CHECK(b >= a);
  CHECK(real_time.wall_now().time_since_epoch() > 0s);
}
