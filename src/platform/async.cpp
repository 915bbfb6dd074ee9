#include "platform/async.hpp"

#include <system_error>

namespace peermq::platform {

Async::Async(Loop& loop, Callback callback) {
  auto box = Box::open(loop, [](uv_loop_t* raw, uv_async_t* handle) {
    return uv_async_init(raw, handle, on_async);
  });
  if (!box) throw std::system_error(box.error(), "cannot create a loop wake-up handle");
  box_ = std::move(box).value();
  box_.state().callback = std::move(callback);
}

void Async::send() noexcept {
  uv_async_send(box_.get());
}

void Async::on_async(uv_async_t* handle) {
  if (State* state = Box::state_of(handle); state != nullptr && state->callback) state->callback();
}

}  // namespace peermq::platform
