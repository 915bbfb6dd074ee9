// IterationHook: calls back once per loop iteration, right after libuv has polled for I/O
// and run the I/O callbacks (a uv_check handle). The broker commits its log here: every
// message that arrived in one iteration goes to disk in one write and one fsync (group
// commit), and is confirmed together.
//
// The callback may stop or destroy its own hook. A moved-from hook may only be destroyed.
// Threads: the loop's thread only.
#pragma once

#include <functional>

#include "platform/handle_box.hpp"
#include "platform/loop.hpp"

namespace peermq::platform {

class IterationHook {
 public:
  using Callback = std::function<void()>;
  // Throws std::system_error if libuv cannot create the handle (start-up only).
  explicit IterationHook(Loop& loop);

  void start(Callback callback);
  void stop() noexcept;

 private:
  struct State {
    Callback callback;
  };
  using Box = HandleBox<uv_check_t, State>;
  static void on_check(uv_check_t* handle);
  Box box_;
};

}  // namespace peermq::platform
