// peermq::Timer over platform::Timer on the EventLoop's libuv loop; each callback is guarded
// so that an exception of the user's never unwinds through libuv.
#include <peermq/timer.hpp>

#include "api/event_loop_impl.hpp"
#include "platform/timer.hpp"

namespace peermq {

struct Timer::Impl {
  explicit Impl(platform::Loop& loop) : timer(loop) {}
  platform::Timer timer;
};

namespace {

// The user's callback travels inside the runtime timer's, which lives until libuv has
// closed the handle: a callback that destroys its own Timer is still alive while it runs.
platform::Timer::Callback guarded(Timer::Callback callback) {
  return [callback = std::move(callback)] {
    EventLoop::Impl::call_guarded(callback, "a timer callback");
  };
}

}  // namespace

Timer::Timer(EventLoop& loop)
    : impl_(std::make_unique<Impl>(EventLoop::Impl::of(loop).loop)) {}

Timer::~Timer() = default;

void Timer::start(Duration delay, Callback callback) {
  impl_->timer.start(delay, guarded(std::move(callback)));
}

void Timer::start(Duration delay, Duration repeat, Callback callback) {
  impl_->timer.start(delay, repeat, guarded(std::move(callback)));
}

void Timer::start_at(Instant deadline, Callback callback) {
  impl_->timer.start_at(deadline, guarded(std::move(callback)));
}

void Timer::stop() noexcept {
  impl_->timer.stop();
}

bool Timer::active() const noexcept {
  return impl_->timer.active();
}

}  // namespace peermq
