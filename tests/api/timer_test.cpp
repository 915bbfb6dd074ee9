// Timer: one-shot, repeating and cancelled timers on an EventLoop, deadlines on its clock.
#include <peermq/timer.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/event_loop.hpp>
#include <peermq/log.hpp>

#include "api_test_util.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::test::Watchdog;

TEST_CASE("a one-shot timer fires once, never before its delay") {
  EventLoop loop;
  Timer timer(loop);
  int fired = 0;
  Instant at{};
  const Instant started = loop.now();
  timer.start(20ms, [&] {
    ++fired;
    at = loop.now();
  });
  CHECK(timer.active());
  Timer end(loop);  // long after: a second firing would have come by then
  end.start(60ms, [&] { loop.stop(); });
  Watchdog watchdog(loop, 10s);
  REQUIRE(loop.run());
  CHECK(fired == 1);
  CHECK(at - started >= 20ms);
  CHECK_FALSE(timer.active());
}

TEST_CASE("a repeating timer fires until stopped, and a stopped timer never fires") {
  EventLoop loop;
  Timer repeating(loop);
  Timer cancelled(loop);
  int ticks = 0;
  int never = 0;
  repeating.start(1ms, 2ms, [&] {
    if (++ticks == 3) {
      repeating.stop();
      loop.stop();
    }
  });
  cancelled.start(1ms, [&] { ++never; });
  cancelled.stop();
  CHECK_FALSE(cancelled.active());
  Watchdog watchdog(loop, 10s);
  REQUIRE(loop.run());
  CHECK(ticks == 3);
  CHECK(never == 0);
  CHECK_FALSE(repeating.active());
}

TEST_CASE("a deadline already passed fires on the next iteration, never inside start_at") {
  EventLoop loop;
  Timer timer(loop);
  bool fired = false;
  timer.start_at(loop.now() - 1s, [&] {
    fired = true;
    loop.stop();
  });
  CHECK_FALSE(fired);
  Watchdog watchdog(loop, 10s);
  REQUIRE(loop.run());
  CHECK(fired);
}

TEST_CASE("a timer callback may destroy its own timer, and one that throws is only logged") {
  EventLoop loop;
  std::vector<std::string> lines;
  LogSink previous = set_log_sink([&](std::string_view line) { lines.emplace_back(line); });
  auto own = std::make_unique<Timer>(loop);
  own->start(1ms, [&] { own.reset(); });
  Timer thrower(loop);
  thrower.start(2ms, [] { throw std::runtime_error("timer boom"); });
  Timer after(loop);
  after.start(10ms, [&] { loop.stop(); });
  Watchdog watchdog(loop, 10s);
  const auto ran = loop.run();
  set_log_sink(std::move(previous));
  REQUIRE(ran);
  CHECK(own == nullptr);
  REQUIRE(lines.size() == 1);
  CHECK(lines.front().find("timer boom") != std::string::npos);
}
