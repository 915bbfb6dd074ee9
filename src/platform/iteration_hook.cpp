#include "platform/iteration_hook.hpp"

#include <system_error>

namespace peermq::platform {

IterationHook::IterationHook(Loop& loop) {
  auto box = Box::open(loop, uv_check_init);
  if (!box) throw std::system_error(box.error(), "cannot create a loop iteration hook");
  box_ = std::move(box).value();
}

void IterationHook::start(Callback callback) {
  box_.state().callback = std::move(callback);
  uv_check_start(box_.get(), on_check);
}

void IterationHook::stop() noexcept {
  if (box_) uv_check_stop(box_.get());
}

void IterationHook::on_check(uv_check_t* handle) {
  State* s = Box::state_of(handle);
  if (s == nullptr || !s->callback) return;
  // A copy: the callback may replace or destroy the hook (and with it the original).
  auto callback = s->callback;
  callback();
}

}  // namespace peermq::platform
