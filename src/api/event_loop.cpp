#include <peermq/event_loop.hpp>
#include <peermq/queue_error.hpp>

#include <exception>
#include <string>
#include <system_error>

#include "api/event_loop_impl.hpp"
#include "log/log.hpp"

namespace peermq {

EventLoop::Impl::Impl() : wake(loop, [this] { drain(); }) {}

// An exception must not unwind through libuv's C frames: a user's callback that throws is
// logged and the loop goes on.
void EventLoop::Impl::call_guarded(const std::function<void()>& f, const char* what) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    PEERMQ_LOG(error, "loop", "%s threw: %s", what, e.what());
  } catch (...) {
    PEERMQ_LOG(error, "loop", "%s threw", what);
  }
}

Result<void> EventLoop::Impl::run_until(const std::function<bool()>& done) {
  if (running.exchange(true)) return QueueError::loop_busy;
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag.store(false); }
  } release{running};
  while (!done()) loop.run_once();
  return {};
}

void EventLoop::Impl::drain() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex);
    batch.swap(tasks);
  }
  for (auto& task : batch) call_guarded(task, "a posted task");
}

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}
EventLoop::~EventLoop() = default;

Result<void> EventLoop::run() {
  return impl_->run_until([this] { return impl_->stop_requested.exchange(false); });
}

void EventLoop::stop() noexcept {
  impl_->stop_requested.store(true);
  impl_->wake.send();
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->tasks.push_back(std::move(task));
  }
  impl_->wake.send();
}

void EventLoop::on_signal(int signum, std::function<void()> callback) {
  auto watcher = std::make_unique<platform::SignalWatcher>(
      impl_->loop,
      [callback = std::move(callback)](int) { Impl::call_guarded(callback, "a signal callback"); });
  if (auto watched = watcher->watch(signum); !watched) {
    throw std::system_error(watched.error(), "cannot watch signal " + std::to_string(signum));
  }
  impl_->signals.push_back(std::move(watcher));
}

Instant EventLoop::now() const noexcept {
  return impl_->loop.now();
}

}  // namespace peermq
