// IdleTask: calls back once per loop iteration, just before the loop polls for I/O, and
// keeps that poll from waiting while it is started (a uv_idle handle). For work done in
// slices, one slice per iteration, with the network served in between: the consumer runs
// one -exec command per iteration this way.
//
// A Timer with a zero delay is no substitute: libuv runs a timer started from a timer
// callback in the same pass when its deadline has come, so slices would run back to back.
//
// The callback may stop, restart or destroy its own task. A moved-from task may only be
// destroyed. Threads: the loop's thread only.
#pragma once

#include <functional>

#include "runtime/handle_box.hpp"
#include "runtime/loop.hpp"

namespace peermq::runtime {

class IdleTask {
 public:
  using Callback = std::function<void()>;
  // Throws std::system_error if libuv cannot create the handle (start-up only).
  explicit IdleTask(Loop& loop);

  // Calls `callback` once per iteration from the next one on, until stop(). Replaces the
  // callback of a running task.
  void start(Callback callback);
  void stop() noexcept;
  bool active() const noexcept;

 private:
  struct State {
    Callback callback;
  };
  using Box = HandleBox<uv_idle_t, State>;
  static void on_idle(uv_idle_t* handle);
  Box box_;
};

}  // namespace peermq::runtime
