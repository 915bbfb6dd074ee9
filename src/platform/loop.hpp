// Loop: one libuv event loop, the only place peermq waits for anything.
//
// Threads: a Loop and every handle on it (Timer, SignalWatcher, UDP sockets, ...) belong
// to the thread that runs it; call their methods from that thread only. The one
// exception is Async::send(), made to wake the loop from elsewhere.
//
// Lifetime: destroy every handle owner before its Loop (declare the Loop first and C++
// does it for you). Destroying a Loop while an owner still holds an open handle aborts,
// since that owner would later close a handle whose loop is gone. Handles opened with raw
// libuv calls need no care: the destructor closes whatever is left and runs the loop
// until libuv agrees it is closed, so nothing leaks.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include <uv.h>

#include <peermq/clock.hpp>

namespace peermq::platform {

template <class Handle, class State>
class HandleBox;

class Loop {
 public:
  // Throws std::system_error if libuv cannot create the loop (start-up only).
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;  // handles point at the uv_loop_t inside
  Loop& operator=(const Loop&) = delete;

  // Runs callbacks until stop() or until nothing is left to wait for.
  // Returns true if it was stopped with handles still active.
  bool run();
  // Waits for and handles one round of events. Returns true if more work remains.
  bool run_once();
  // Handles what is ready now without waiting. Returns true if more work remains.
  bool run_nowait();
  // Makes run() return after the current callback; safe to call from callbacks.
  void stop() noexcept;

  // Fresh monotonic time (not libuv's per-iteration cache), on the same clock as
  // SystemClock::now(), so deadlines from protocol cores compare directly.
  Instant now() const noexcept;

  // Runs `finish` when the loop is destroyed, after every handle closing then has closed:
  // for a library that finishes its teardown only once its libuv handles are gone
  // (libwebsockets on a foreign loop, platform/web_listener.cpp).
  void at_destroy(std::function<void()> finish) { at_destroy_.push_back(std::move(finish)); }

  uv_loop_t* raw() noexcept { return &loop_; }
  // Handles opened through HandleBox and not yet closed.
  std::size_t open_handles() const noexcept { return open_handles_; }

 private:
  template <class Handle, class State>
  friend class HandleBox;

  uv_loop_t loop_{};
  std::size_t open_handles_ = 0;
  std::vector<std::function<void()>> at_destroy_;
};

}  // namespace peermq::platform
