// ManualClock: virtual time for tests, the simulator, fuzz targets and benchmarks: a
// peermq::Clock (include/peermq/clock.hpp) that moves only when told to, so an hour of
// protocol time runs in microseconds. Not part of the public API: a library user's cores
// run on SystemClock.
//
// Threads: one (the test's). Header-only: tests/support is not a test layer of its own.
#pragma once

#include <cassert>
#include <chrono>

#include <peermq/clock.hpp>

namespace peermq {

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
