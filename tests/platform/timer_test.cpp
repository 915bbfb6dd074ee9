#include "platform/timer.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using peermq::Duration;
using peermq::Instant;
using peermq::platform::Loop;
using peermq::platform::Timer;

TEST_CASE("timers fire in deadline order and not in start order") {
  Loop loop;
  std::vector<int> order;
  Timer a(loop), b(loop), c(loop);
  a.start(30ms, [&] { order.push_back(30); });
  b.start(10ms, [&] { order.push_back(10); });
  c.start(20ms, [&] { order.push_back(20); });
  CHECK(a.active());
  loop.run();  // returns once no timer is pending
  CHECK(order == std::vector<int>{10, 20, 30});
  CHECK_FALSE(a.active());
}

TEST_CASE("a timer never fires before its deadline") {
  Loop loop;
  for (Duration delay : {Duration{0}, Duration{300us}, Duration{1ms}, Duration{1500us},
                         Duration{2700us}, Duration{5ms}}) {
    CAPTURE(delay.count());
    Timer timer(loop);
    Instant started = loop.now();
    Instant fired{};
    timer.start(delay, [&] { fired = loop.now(); });
    loop.run();
    CHECK(fired - started >= delay);
    CHECK(fired - started < delay + 1s);
  }
}

TEST_CASE("a timer started at a past deadline fires on the next loop iteration") {
  Loop loop;
  Timer timer(loop);
  int fired = 0;
  timer.start_at(loop.now() - 1s, [&] { ++fired; });
  CHECK(fired == 0);  // never from inside start
  loop.run_nowait();
  CHECK(fired == 1);
}

TEST_CASE("a zero delay or a deadline of now fires on the next iteration, not a millisecond later") {
  Loop loop;
  Timer timer(loop);
  int fired = 0;
  timer.start(0ms, [&] { ++fired; });
  loop.run_nowait();  // would not fire if the timer waited for the next millisecond
  CHECK(fired == 1);
  timer.start_at(loop.now(), [&] { ++fired; });
  loop.run_nowait();
  CHECK(fired == 2);
}

TEST_CASE("a timer destroyed before it fires never calls back and the loop closes cleanly") {
  Loop loop;
  bool fired = false;
  auto keep = std::make_shared<int>(7);
  {
    Timer timer(loop);
    timer.start(1ms, [&fired, keep] { fired = true; });
    CHECK(loop.open_handles() == 1);
  }
  CHECK(loop.open_handles() == 0);
  Timer later(loop);  // keeps the loop running past the dead timer's deadline
  later.start(5ms, [] {});
  loop.run();
  CHECK_FALSE(fired);
  CHECK(keep.use_count() == 1);  // the callback was released by the close callback
}

TEST_CASE("a timer destroyed from inside its own callback stops and frees it afterwards") {
  Loop loop;
  std::optional<Timer> timer(std::in_place, loop);
  int calls = 0;
  auto keep = std::make_shared<int>(7);
  timer->start(1ms, 1ms, [&calls, &timer, keep] {
    timer.reset();
    ++calls;  // the running callback, captures included, outlives the Timer
    CHECK(*keep == 7);
  });
  loop.run();  // a repeating timer would keep the loop alive if not closed
  CHECK(calls == 1);
  CHECK(keep.use_count() == 1);
  CHECK(loop.open_handles() == 0);
}

TEST_CASE("a timer restarted from inside its callback runs the new callback") {
  Loop loop;
  Timer timer(loop);
  std::vector<std::string> calls;
  std::string first(100, 'a');  // heap-held captures: ASan sees them if freed too early
  timer.start(1ms, [&calls, &timer, first] {
    calls.push_back("first");
    timer.start(1ms, [&calls] { calls.emplace_back("second"); });
    calls.push_back(first);  // the first callback is still intact while it runs
  });
  loop.run();
  CHECK(calls == std::vector<std::string>{"first", std::string(100, 'a'), "second"});
}

TEST_CASE("a repeating timer fires until stopped") {
  Loop loop;
  Timer timer(loop);
  int calls = 0;
  timer.start(1ms, 2ms, [&] {
    if (++calls == 3) timer.stop();
  });
  loop.run();
  CHECK(calls == 3);
  CHECK_FALSE(timer.active());
}

TEST_CASE("again restarts a repeating timer's interval from now") {
  Loop loop;
  Timer repeating(loop), nudge(loop);
  Instant started = loop.now();
  Instant first{};
  repeating.start(50ms, 50ms, [&] {
    first = loop.now();
    repeating.stop();
  });
  nudge.start(30ms, [&] { repeating.again(); });
  loop.run();
  CHECK(first - started >= 80ms);
}

TEST_CASE("a stopped timer does not fire and can be started again") {
  Loop loop;
  Timer timer(loop);
  int calls = 0;
  timer.start(1ms, [&] { ++calls; });
  timer.stop();
  CHECK_FALSE(timer.active());
  loop.run();
  CHECK(calls == 0);
  timer.start(1ms, [&] { calls += 10; });
  loop.run();
  CHECK(calls == 10);
}

TEST_CASE("a moved timer keeps its pending callback") {
  Loop loop;
  int calls = 0;
  Timer first(loop);
  first.start(1ms, [&] { ++calls; });
  Timer second = std::move(first);
  CHECK(loop.open_handles() == 1);
  loop.run();
  CHECK(calls == 1);
}

TEST_CASE("an unreferenced timer does not keep the loop running") {
  Loop loop;
  Timer timer(loop);
  bool fired = false;
  timer.start(10s, [&] { fired = true; });
  timer.unref();
  loop.run();
  CHECK_FALSE(fired);  // a run kept alive by the timer would have ended only after it fired
}

TEST_CASE("deadlines convert to libuv timeouts rounding up so timers never fire early") {
  const Instant base{};
  CHECK(Timer::uv_timeout(base + 10ms, 10) == 0);
  CHECK(Timer::uv_timeout(base + 10ms, 4) == 6);
  CHECK(Timer::uv_timeout(base + 10ms + 1ns, 4) == 7);
  CHECK(Timer::uv_timeout(base + 9999us, 4) == 6);
  CHECK(Timer::uv_timeout(base + 3ms, 4) == 0);  // already due
  CHECK(Timer::uv_timeout(base - 5ms, 0) == 0);
}
