#include "platform/iteration_hook.hpp"

#include <chrono>

#include <doctest/doctest.h>

#include "platform/timer.hpp"

using namespace std::chrono_literals;
using peermq::platform::IterationHook;
using peermq::platform::Loop;
using peermq::platform::Timer;

TEST_CASE("an iteration hook runs once after each poll, until stopped") {
  Loop loop;
  {
    IterationHook hook(loop);
    Timer timer(loop);
    int fired = 0;
    int hooked = 0;
    timer.start(1ms, 1ms, [&] { ++fired; });
    hook.start([&] { ++hooked; });
    for (int i = 0; i < 3; ++i) loop.run_once();
    CHECK(fired >= 1);
    CHECK(hooked == 3);
    timer.stop();
    hook.stop();
    loop.run_once();
    CHECK(hooked == 3);
  }
  loop.run();  // lets libuv close the handles
  CHECK(loop.open_handles() == 0);
}

TEST_CASE("an iteration hook may destroy itself from its own callback") {
  Loop loop;
  int calls = 0;
  {
    auto* hook = new IterationHook(loop);
    Timer wake(loop);
    wake.start(1ms, [] {});
    hook->start([&] {
      ++calls;
      delete hook;
    });
    loop.run_once();
    CHECK(calls == 1);
  }
  loop.run();
  CHECK(loop.open_handles() == 0);
}
