#include <peermq/event_loop.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ostream>  // doctest prints std::error_code through it
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/queue_error.hpp>

#include "api_test_util.hpp"

using namespace std::chrono_literals;
using peermq::EventLoop;
using peermq::QueueError;
using peermq::test::Watchdog;

TEST_CASE("an event loop runs tasks posted from other threads, in order, on its own thread") {
  EventLoop loop;
  std::vector<int> seen;
  std::thread::id ran_on;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) loop.post([&, i] { seen.push_back(i); });
    loop.post([&] {
      ran_on = std::this_thread::get_id();
      loop.stop();
    });
  });
  Watchdog watchdog(loop, 5s);
  CHECK(loop.run());
  poster.join();
  CHECK_FALSE(watchdog.fired());
  REQUIRE(seen.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i);
  CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE("a stop() that came before run() ends the next run() at once, and only that one") {
  EventLoop loop;
  loop.stop();
  CHECK(loop.run());  // returns at once
  bool ran = false;
  loop.post([&] {
    ran = true;
    loop.stop();
  });
  Watchdog watchdog(loop, 5s);
  CHECK(loop.run());
  CHECK(ran);
  CHECK_FALSE(watchdog.fired());
}

TEST_CASE("run() from inside the loop's own callback is refused with loop_busy") {
  EventLoop loop;
  std::error_code inner;
  loop.post([&] {
    inner = loop.run().error();
    loop.stop();
  });
  Watchdog watchdog(loop, 5s);
  CHECK(loop.run());
  CHECK(inner == QueueError::loop_busy);
}

TEST_CASE("a signal watched by the loop runs its callback on the loop instead of killing") {
  EventLoop loop;
  int got = 0;
  loop.on_signal(SIGUSR2, [&] {
    ++got;
    loop.stop();
  });
  loop.post([] { ::kill(::getpid(), SIGUSR2); });
  Watchdog watchdog(loop, 5s);
  CHECK(loop.run());
  CHECK(got == 1);
  CHECK_FALSE(watchdog.fired());
  CHECK_THROWS_AS(loop.on_signal(SIGKILL, [] {}), std::system_error);
}

TEST_CASE("a posted task that throws is logged and the loop goes on with the next") {
  EventLoop loop;
  bool next_ran = false;
  loop.post([] { throw std::runtime_error("a bug in a task"); });
  loop.post([&] {
    next_ran = true;
    loop.stop();
  });
  Watchdog watchdog(loop, 5s);
  CHECK(loop.run());
  CHECK(next_ran);
}
