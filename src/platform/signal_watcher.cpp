#include "platform/signal_watcher.hpp"

namespace peermq::platform {

Result<void> SignalWatcher::watch(int signum) {
  auto box = Box::open(*loop_, uv_signal_init);
  if (!box) return box.error();
  // Each handle keeps its own copy, alive until libuv closes that handle.
  box->state().callback = callback_;
  if (int status = uv_signal_start(box->get(), on_signal, signum); status < 0)
    return uv_error(status);  // the box closes the unused handle
  boxes_.push_back(std::move(box).value());
  return {};
}

void SignalWatcher::on_signal(uv_signal_t* handle, int signum) {
  if (State* state = Box::state_of(handle); state != nullptr && state->callback)
    state->callback(signum);
}

}  // namespace peermq::platform
