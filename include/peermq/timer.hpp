// Timer: calls back on an EventLoop's thread after a delay, once or repeatedly.
//
//   peermq::Timer stat(loop);
//   stat.start(5s, 5s, [&] { print(broker.stats()); });   // every 5 s until stopped
//   peermq::Timer give_up(loop);
//   give_up.start(30s, [&] { producer.stop(); });           // once
//
// A timer never fires before its deadline (it may fire up to a millisecond or so after);
// a deadline already passed, or a zero delay, fires on the next loop iteration, never from
// inside start(). start() replaces whatever the timer was doing. The callback may do
// anything to its own Timer, including start it again or destroy it; once the Timer is
// stopped or destroyed, the callback is not called again. A callback that throws is logged
// and the loop goes on (event_loop.hpp).
//
// Threads: the loop's thread only (construction, destruction and every call). Lifetime:
// destroy the Timer before its EventLoop.
#pragma once

#include <functional>
#include <memory>

#include <peermq/clock.hpp>
#include <peermq/event_loop.hpp>

namespace peermq {

class Timer {
 public:
  using Callback = std::function<void()>;

  // Throws std::system_error if the system cannot create the timer (start-up only).
  explicit Timer(EventLoop& loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fires once, after `delay` (a negative one counts as zero).
  void start(Duration delay, Callback callback);
  // Fires after `delay`, then every `repeat` (zero: once only), until stopped.
  void start(Duration delay, Duration repeat, Callback callback);
  // Fires once at `deadline`, a time of EventLoop::now()'s clock.
  void start_at(Instant deadline, Callback callback);
  // Cancels what is pending; idempotent.
  void stop() noexcept;
  // Started and not yet fired (a repeating timer: until stopped).
  bool active() const noexcept;

  struct Impl;  // the library's own

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
