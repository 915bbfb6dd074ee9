// Async: wakes the loop from another thread and runs a callback on the loop's thread.
//
// send() is the one runtime call that is safe from any thread. Several sends before the
// loop gets to run coalesce into one callback, so pass data through your own
// synchronised queue and drain all of it in the callback. The Async must outlive every
// thread that may still call send(): join them before destroying it.
// Everything else (construction, destruction) happens on the loop's thread.
#pragma once

#include <functional>

#include "platform/handle_box.hpp"
#include "platform/loop.hpp"

namespace peermq::platform {

class Async {
 public:
  using Callback = std::function<void()>;

  // Throws std::system_error if libuv cannot create the wake-up descriptor (start-up).
  Async(Loop& loop, Callback callback);

  void send() noexcept;

 private:
  struct State {
    Callback callback;
  };
  using Box = HandleBox<uv_async_t, State>;
  static void on_async(uv_async_t* handle);

  Box box_;
};

}  // namespace peermq::platform
