// SignalWatcher: turns process signals (SIGINT, SIGTERM, ...) into callbacks on the loop,
// so a node shuts down cleanly from a normal callback instead of a signal handler.
//
// While any watcher of a signal exists, the signal no longer has its default effect
// (SIGTERM does not kill the process); when the last one goes, the default returns.
// The callback may destroy the watcher. Loop thread only.
#pragma once

#include <functional>
#include <vector>

#include <peermq/result.hpp>

#include "platform/handle_box.hpp"
#include "platform/loop.hpp"

namespace peermq::platform {

class SignalWatcher {
 public:
  using Callback = std::function<void(int signum)>;

  SignalWatcher(Loop& loop, Callback callback) : loop_(&loop), callback_(std::move(callback)) {}

  // Starts watching `signum`; fails with libuv's error for a signal that cannot be caught
  // (SIGKILL) or when the process is out of file descriptors.
  Result<void> watch(int signum);

 private:
  struct State {
    Callback callback;
  };
  using Box = HandleBox<uv_signal_t, State>;
  static void on_signal(uv_signal_t* handle, int signum);

  Loop* loop_;
  Callback callback_;
  std::vector<Box> boxes_;  // one libuv handle per signal
};

}  // namespace peermq::platform
