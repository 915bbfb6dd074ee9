#include "platform/timer.hpp"

#include <algorithm>
#include <cassert>
#include <system_error>

namespace peermq::platform {

Timer::Timer(Loop& loop) {
  auto box = Box::open(loop, uv_timer_init);
  if (!box) throw std::system_error(box.error(), "cannot create a timer");
  box_ = std::move(box).value();
}

namespace {

std::uint64_t ceil_ms(Duration d) noexcept {
  if (d <= Duration::zero()) return 0;
  return static_cast<std::uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(d).count());
}

}  // namespace

std::uint64_t Timer::uv_timeout(Instant deadline, std::uint64_t loop_ms) noexcept {
  // libuv fires once its floored (or coarser, never ahead) millisecond clock reaches
  // loop_ms + timeout.
  std::uint64_t due = ceil_ms(deadline.time_since_epoch());
  return due > loop_ms ? due - loop_ms : 0;
}

void Timer::start(Duration delay, Duration repeat, Callback callback) {
  assert(box_ && "Timer used after move");
  // The loop's cached time may be a whole callback old; refresh it so the delay counts
  // from now.
  uv_update_time(box_.loop().raw());
  start_at(box_.loop().now() + std::max(delay, Duration::zero()), repeat, std::move(callback));
}

void Timer::start_at(Instant deadline, Callback callback) {
  assert(box_ && "Timer used after move");
  uv_update_time(box_.loop().raw());
  start_at(deadline, Duration::zero(), std::move(callback));
}

void Timer::start_at(Instant deadline, Duration repeat, Callback callback) {
  box_.state().callback = std::move(callback);
  // Fails only for a closing handle, which an owner never holds.
  // A deadline already passed fires on the next iteration, not at the next millisecond
  // boundary: rounding it up would add up to a millisecond to every hop of a request.
  const std::uint64_t timeout = deadline <= box_.loop().now()
                                    ? 0
                                    : uv_timeout(deadline, uv_now(box_.loop().raw()));
  [[maybe_unused]] int status =
      uv_timer_start(box_.get(), on_timer, timeout, ceil_ms(repeat));
  assert(status == 0);
}

void Timer::stop() noexcept {
  if (box_) uv_timer_stop(box_.get());
}

void Timer::again() noexcept {
  if (box_ && uv_timer_get_repeat(box_.get()) > 0) uv_timer_again(box_.get());
}

bool Timer::active() const noexcept {
  return box_ && uv_is_active(Box::as_uv_handle(box_.get())) != 0;
}

void Timer::unref() noexcept {
  if (box_) uv_unref(Box::as_uv_handle(box_.get()));
}

void Timer::on_timer(uv_timer_t* handle) {
  State* state = Box::state_of(handle);
  if (state == nullptr || !state->callback) return;
  // Run a local copy of the callback so that the callback can replace it (start() from
  // inside) without destroying the function object that is running.
  Callback callback = std::exchange(state->callback, nullptr);
  callback();
  state = Box::state_of(handle);  // the owner may have gone away meanwhile
  if (state != nullptr && !state->callback) state->callback = std::move(callback);
}

}  // namespace peermq::platform
