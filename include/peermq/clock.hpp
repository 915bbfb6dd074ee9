// Clock: where protocol cores get the time from.
//
// Cores never read a clock themselves: they take an Instant as an argument and return
// deadlines as Instants. The runtime feeds them SystemClock time; tests and the simulator
// feed them ManualClock time, so an hour of protocol time runs in microseconds.
//
// Instant is a monotonic time point (steady_clock, nanoseconds): use it for every timeout,
// RTT and deadline. Wall time is only for what leaves the process as a calendar date
// (handshake timestamps, log lines), because it can jump.
#pragma once

#include <cassert>
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

// Virtual time that moves only when told to. Monotonic time never goes backwards (a
// backwards step is a bug in the test or simulator driving it); wall time follows every
// step and can also be set on its own, since real wall clocks do jump.
class ManualClock final : public Clock {
 public:
  // 2026-01-01T00:00:00Z: any fixed date will do, as long as runs are reproducible.
  static constexpr WallTime kDefaultWall{std::chrono::seconds{1767225600}};
  // Not the epoch, so that code treating Instant{} as "never" is not fooled.
  static constexpr Instant kDefaultStart{std::chrono::hours{1}};

  explicit ManualClock(Instant start = kDefaultStart, WallTime wall = kDefaultWall) noexcept
      : now_(start), wall_(wall) {}

  Instant now() const override { return now_; }
  WallTime wall_now() const override { return wall_; }

  void advance(Duration step) noexcept {
    assert(step >= Duration::zero() && "ManualClock cannot go backwards");
    now_ += step;
    wall_ += std::chrono::duration_cast<WallTime::duration>(step);
  }
  void set(Instant to) noexcept {
    assert(to >= now_ && "ManualClock cannot go backwards");
    advance(to - now_);
  }
  void set_wall(WallTime to) noexcept { wall_ = to; }

 private:
  Instant now_;
  WallTime wall_;
};

}  // namespace peermq
