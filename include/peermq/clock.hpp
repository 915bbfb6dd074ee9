// Clock: where protocol cores get the time from.
//
// Cores never read a clock themselves: they take an Instant as an argument and return
// deadlines as Instants. The runtime feeds them SystemClock time; tests and the simulator
// feed them virtual time (ManualClock, tests/support/manual_clock.hpp), so an hour of
// protocol time runs in microseconds.
//
// Instant is a monotonic time point (steady_clock, nanoseconds): use it for every timeout,
// RTT and deadline. Wall time is only for what leaves the process as a calendar date
// (handshake timestamps, log lines), because it can jump.
#pragma once

#include <chrono>

namespace peermq {

using Duration = std::chrono::nanoseconds;
using Instant = std::chrono::time_point<std::chrono::steady_clock, Duration>;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
  virtual WallTime wall_now() const = 0;

 protected:
  Clock() = default;
  Clock(const Clock&) = default;
  Clock& operator=(const Clock&) = default;
};

// The real clocks of this machine; on Linux now() reads CLOCK_MONOTONIC, the clock libuv
// timers use too.
class SystemClock final : public Clock {
 public:
  Instant now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
};

}  // namespace peermq
