#include "runtime/idle_task.hpp"

#include <system_error>

namespace peermq::runtime {

IdleTask::IdleTask(Loop& loop) {
  auto box = Box::open(loop, uv_idle_init);
  if (!box) throw std::system_error(box.error(), "cannot create an idle task");
  box_ = std::move(box).value();
}

void IdleTask::start(Callback callback) {
  box_.state().callback = std::move(callback);
  uv_idle_start(box_.get(), on_idle);  // does nothing if already started
}

void IdleTask::stop() noexcept {
  if (box_) uv_idle_stop(box_.get());
}

bool IdleTask::active() const noexcept {
  return box_ && uv_is_active(Box::as_uv_handle(box_.get())) != 0;
}

void IdleTask::on_idle(uv_idle_t* handle) {
  State* s = Box::state_of(handle);
  if (s == nullptr || !s->callback) return;
  // A copy: the callback may replace or destroy the task (and with it the original).
  auto callback = s->callback;
  callback();
}

}  // namespace peermq::runtime
