#include "sim/sim_scheduler.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
using peermq::Instant;
using peermq::sim::EventId;
using peermq::sim::SimScheduler;

TEST_CASE("scheduler runs events in time order and same-time events in the order scheduled") {
  SimScheduler s;
  const Instant t0 = s.now();
  std::vector<int> order;
  s.at(t0 + 20ms, [&] { order.push_back(3); });
  s.at(t0 + 10ms, [&] { order.push_back(1); });
  s.at(t0 + 10ms, [&] { order.push_back(2); });
  s.at(t0 + 20ms, [&] { order.push_back(4); });
  while (s.run_next()) {
  }
  CHECK(order == std::vector<int>{1, 2, 3, 4});
  CHECK(s.now() == t0 + 20ms);
  CHECK(s.events_run() == 4);
}

TEST_CASE("scheduler moves wall time with virtual time") {
  SimScheduler s;
  const auto wall0 = s.wall_now();
  s.after(90s, [] {});
  s.run_next();
  CHECK(s.wall_now() - wall0 == 90s);
  CHECK(s.elapsed() == 90s);
}

TEST_CASE("scheduler cancels a pending event and says whether it was pending") {
  SimScheduler s;
  bool ran = false;
  const EventId id = s.after(1s, [&] { ran = true; });
  CHECK(s.pending(id));
  CHECK(s.cancel(id));
  CHECK_FALSE(s.cancel(id));
  CHECK_FALSE(s.run_next());
  CHECK_FALSE(ran);
  CHECK(s.queued() == 0);
}

TEST_CASE("scheduler runs an event scheduled in the past at now, after what is queued for now") {
  SimScheduler s;
  std::vector<int> order;
  s.after(1s, [&] {
    s.at(s.now(), [&] { order.push_back(2); });
    s.at(s.now() - 1h, [&] { order.push_back(3); });
    order.push_back(1);
  });
  while (s.run_next()) {
  }
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("scheduler run_until stops when the condition holds, or at the limit") {
  SimScheduler s;
  const Instant t0 = s.now();
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    s.after(100ms, tick);
  };
  s.after(100ms, tick);
  CHECK(s.run_until([&] { return ticks == 5; }, 1h));
  CHECK(s.now() == t0 + 500ms);
  CHECK_FALSE(s.run_until([&] { return ticks == 100; }, 1s));
  CHECK(s.now() == t0 + 1500ms);  // exactly the limit, not the next event
  CHECK(ticks == 15);
}

TEST_CASE("scheduler run_for runs the events up to and at its end and ends exactly there") {
  SimScheduler s;
  const Instant t0 = s.now();
  int ran = 0;
  s.after(2s, [&] { ++ran; });
  s.after(2s + 1ns, [&] { ++ran; });
  s.run_for(2s);
  CHECK(ran == 1);
  CHECK(s.now() == t0 + 2s);
}

TEST_CASE("scheduler throws when time stops advancing (a deadline stuck at now)") {
  SimScheduler s({.max_events_per_instant = 1000});
  std::function<void()> spin = [&] { s.at(s.now(), spin); };
  s.after(1ms, spin);
  CHECK_THROWS_AS(s.run_for(1s), std::logic_error);
}
