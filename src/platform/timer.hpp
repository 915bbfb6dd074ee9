// Timer: calls back after a delay, once or repeatedly, on the loop's thread.
//
// libuv timers count whole milliseconds of a clock it caches per loop iteration. Timer
// converts a deadline to libuv's terms rounding up, so a timer never fires before its
// deadline and a protocol core woken by it always finds that deadline passed (firing
// early would make it re-arm for the remaining microseconds and wake again). The price
// is up to a millisecond or so of lateness for a future deadline; one already passed
// (or a zero delay) fires on the next loop iteration. Repeats follow libuv's millisecond
// rules.
//
// The callback may do anything to its own Timer, including start it again with another
// callback or destroy it; once the Timer is destroyed or stopped, the callback is not
// called again. The callback itself is released when libuv has closed the handle.
// A moved-from Timer may only be destroyed or assigned to.
#pragma once

#include <cstdint>
#include <functional>

#include <peermq/clock.hpp>

#include "platform/handle_box.hpp"
#include "platform/loop.hpp"

namespace peermq::platform {

class Timer {
 public:
  using Callback = std::function<void()>;

  explicit Timer(Loop& loop);

  // Replaces any pending start. A negative delay counts as zero: the callback runs on
  // the next loop iteration, never from inside start().
  void start(Duration delay, Callback callback) {
    start(delay, Duration::zero(), std::move(callback));
  }
  // Fires after `delay`, then every `repeat` (zero: once).
  void start(Duration delay, Duration repeat, Callback callback);
  // Fires once at `deadline` of the loop's clock (Loop::now()), e.g. a core's next deadline.
  void start_at(Instant deadline, Callback callback);
  void stop() noexcept;
  // Restarts a repeating timer's interval from now; does nothing if it does not repeat.
  void again() noexcept;
  bool active() const noexcept;
  // Lets Loop::run() return while this timer is still pending (libuv's uv_unref), for
  // housekeeping timers (stats, guards) that should not keep a finished node running.
  void unref() noexcept;

  // The libuv timeout that fires at `deadline` or just after, never before, given the
  // loop's cached time uv_now() == `loop_ms` (both on the uv_hrtime() clock).
  static std::uint64_t uv_timeout(Instant deadline, std::uint64_t loop_ms) noexcept;

 private:
  struct State {
    Callback callback;
  };
  using Box = HandleBox<uv_timer_t, State>;
  // Starts with the loop time already fresh.
  void start_at(Instant deadline, Duration repeat, Callback callback);
  static void on_timer(uv_timer_t* handle);

  Box box_;
};

}  // namespace peermq::platform
