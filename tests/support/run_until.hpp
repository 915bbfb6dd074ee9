// run_until: turns a platform::Loop until a condition holds or a time limit passes — the
// bounded wait every loop-driven test and benchmark needs. Returns the condition.
//
// A 10 ms tick keeps the loop turning, so conditions outside it (a child process's exit, a
// flag set by another handle's callback that queued no further event) are seen too.
#pragma once

#include <chrono>

#include <peermq/clock.hpp>

#include "platform/loop.hpp"
#include "platform/timer.hpp"

namespace peermq::test {

template <class Done>
bool run_until(platform::Loop& loop, Done done, Duration limit) {
  using namespace std::chrono_literals;
  platform::Timer guard(loop);
  bool expired = false;
  guard.start(limit, [&] { expired = true; });
  platform::Timer tick(loop);
  tick.start(10ms, 10ms, [] {});
  while (!done() && !expired) loop.run_once();
  return done();
}

}  // namespace peermq::test
