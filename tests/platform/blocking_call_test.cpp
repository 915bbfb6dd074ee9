#include "platform/blocking_call.hpp"

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <ostream>  // doctest prints std::error_code through it
#include <system_error>
#include <thread>

#include <doctest/doctest.h>

#include "platform/timer.hpp"

using namespace std::chrono_literals;
using peermq::platform::BlockingCall;
using peermq::platform::Loop;
using peermq::platform::Timer;

TEST_CASE("a blocking call runs off the loop's thread and calls back on it with its result") {
  Loop loop;
  BlockingCall call(loop);
  std::thread::id worked_on;
  std::thread::id done_on;
  int result = 0;
  REQUIRE(call
              .start(
                  [&] {
                    worked_on = std::this_thread::get_id();
                    return 42;
                  },
                  [&](int r) {
                    done_on = std::this_thread::get_id();
                    result = r;
                  })
              .ok());
  CHECK(call.busy());
  loop.run();  // returns once the call has called back: it keeps the loop alive until then
  CHECK(result == 42);
  CHECK(worked_on != std::this_thread::get_id());
  CHECK(done_on == std::this_thread::get_id());
  CHECK_FALSE(call.busy());
}

TEST_CASE("the loop keeps running while a call blocks") {
  Loop loop;
  BlockingCall call(loop);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  int ticks_before_done = -1;
  int ticks = 0;
  Timer timer(loop);
  timer.start(1ms, 1ms, [&] {
    if (++ticks == 3) gate.set_value();  // the work waits for the loop to tick three times
  });
  REQUIRE(call
              .start(
                  [opened] {
                    opened.wait();
                    return 0;
                  },
                  [&](int) {
                    ticks_before_done = ticks;
                    timer.stop();
                  })
              .ok());
  loop.run();
  CHECK(ticks_before_done >= 3);
}

TEST_CASE("one call at a time, and the next may start from the callback of the last") {
  Loop loop;
  BlockingCall call(loop);
  int calls = 0;
  std::function<void(int)> again = [&](int r) {
    CHECK(r == calls);
    if (++calls < 3) REQUIRE(call.start([n = calls] { return n; }, again).ok());
  };
  REQUIRE(call.start([] { return 0; }, again).ok());
  auto refused = call.start([] { return 7; }, [](int) { FAIL("a second call ran"); });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error() == std::errc::device_or_resource_busy);
  loop.run();
  CHECK(calls == 3);
}

TEST_CASE("a call whose owner is destroyed still runs to its end, and nothing calls back") {
  Loop loop;
  std::optional<BlockingCall> call(std::in_place, loop);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  bool called_back = false;
  REQUIRE(call->start(
                  [opened, finished] {
                    opened.wait();
                    finished->store(true);
                    return 0;
                  },
                  [&](int) { called_back = true; })
              .ok());
  call.reset();
  gate.set_value();
  loop.run();  // waits for the work all the same
  CHECK(finished->load());
  CHECK_FALSE(called_back);
}
