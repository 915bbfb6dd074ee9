#include "runtime/idle_task.hpp"

#include <chrono>

#include <doctest/doctest.h>

#include "runtime/iteration_hook.hpp"
#include "runtime/timer.hpp"

using namespace std::chrono_literals;
using peermq::runtime::IdleTask;
using peermq::runtime::IterationHook;
using peermq::runtime::Loop;
using peermq::runtime::Timer;

TEST_CASE("an idle task runs once per iteration, and the loop polls between, without waiting") {
  Loop loop;
  {
    IdleTask task(loop);
    IterationHook polled(loop);  // runs right after each poll
    int slices = 0;
    int polls = 0;
    int polls_at_slice = -1;
    bool polled_between = true;
    polled.start([&] { ++polls; });
    task.start([&] {
      if (polls_at_slice >= 0 && polls == polls_at_slice) polled_between = false;
      polls_at_slice = polls;
      ++slices;
    });
    CHECK(task.active());
    // Nothing else is pending: without the task each poll would wait forever.
    for (int i = 0; i < 5; ++i) loop.run_once();
    CHECK(slices == 5);
    CHECK(polls == 5);
    CHECK(polled_between);
    task.stop();
    CHECK_FALSE(task.active());
    polled.stop();
  }
  loop.run();  // lets libuv close the handles
  CHECK(loop.open_handles() == 0);
}

TEST_CASE("a stopped idle task lets the loop wait, and one may restart or destroy itself") {
  Loop loop;
  int calls = 0;
  {
    auto* task = new IdleTask(loop);
    task->start([&] {
      ++calls;
      task->stop();
    });
    loop.run_once();
    CHECK(calls == 1);
    Timer wake(loop);
    wake.start(5ms, [&] {
      task->start([&] {
        ++calls;
        delete task;
      });
    });
    loop.run_once();  // waits for the timer: the stopped task did not keep it awake
    CHECK(calls == 1);
    loop.run_once();
    CHECK(calls == 2);
  }
  loop.run();
  CHECK(loop.open_handles() == 0);
}
