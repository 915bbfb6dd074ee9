#include "platform/loop.hpp"

#include <chrono>

#include <doctest/doctest.h>

#include "platform/timer.hpp"

using namespace std::chrono_literals;
using peermq::Instant;
using peermq::platform::Loop;
using peermq::platform::Timer;

TEST_CASE("a loop with nothing to wait for returns from run at once") {
  Loop loop;
  CHECK_FALSE(loop.run());
  CHECK_FALSE(loop.run_once());
  CHECK_FALSE(loop.run_nowait());
}

TEST_CASE("loop time is the steady clock read fresh every time") {
  Loop loop;
  auto before = std::chrono::steady_clock::now();
  Instant now = loop.now();
  auto after = std::chrono::steady_clock::now();
  CHECK(now >= before);
  CHECK(now <= after);
}

TEST_CASE("stop makes run return with work still pending") {
  Loop loop;
  Timer timer(loop);
  int calls = 0;
  timer.start(1ms, 1ms, [&] {
    if (++calls == 2) loop.stop();
  });
  CHECK(loop.run());  // stopped while the repeating timer is still active
  CHECK(calls == 2);
  CHECK(timer.active());
}

TEST_CASE("run_nowait handles only what is ready") {
  Loop loop;
  Timer timer(loop);
  bool fired = false;
  timer.start(10s, [&] { fired = true; });
  CHECK(loop.run_nowait());
  CHECK_FALSE(fired);  // a run_nowait that waited would have waited for the timer, and run it
}

namespace {
uv_timer_t raw_timer;  // outlives the loop, as libuv requires of raw handles
}

TEST_CASE("destroying a loop closes raw handles left open") {
  auto* handle = reinterpret_cast<uv_handle_t*>(&raw_timer);
  {
    Loop loop;
    REQUIRE(uv_timer_init(loop.raw(), &raw_timer) == 0);
    REQUIRE(uv_timer_start(
                &raw_timer, [](uv_timer_t*) {}, 100000, 0) == 0);
    CHECK(uv_is_active(handle) != 0);
    CHECK(uv_is_closing(handle) == 0);
    CHECK(uv_loop_alive(loop.raw()) != 0);
  }  // the destructor closes the timer, and returns only once libuv let the loop close
  CHECK(uv_is_closing(handle) != 0);
  CHECK(uv_is_active(handle) == 0);
}

TEST_CASE("destroying a loop waits for handles whose owners are already gone") {
  auto loop = std::make_unique<Loop>();
  {
    Timer timer(*loop);
    timer.start(1h, [] {});
  }  // closing, close callback not yet run: the destructor must run it (else ASan: leak)
  CHECK(loop->open_handles() == 0);
  loop.reset();
  CHECK_FALSE(loop);
}
