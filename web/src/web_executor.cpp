#include "web_executor.hpp"

#include <emscripten/emscripten.h>
#include <emscripten/eventloop.h>

#include <algorithm>
#include <vector>

namespace peermq::web {
namespace {

class TimeoutAlarm final : public service::Alarm {
 public:
  explicit TimeoutAlarm(const WebExecutor& clock) : clock_(clock) {}
  ~TimeoutAlarm() override { stop(); }
  void start_at(Instant deadline, std::function<void()> callback) override {
    stop();
    deadline_ = deadline;
    callback_ = std::move(callback);
    schedule();
  }
  void stop() noexcept override {
    if (id_ != 0) emscripten_clear_timeout(id_);
    id_ = 0;
  }

 private:
  // setTimeout takes at most 2^31 - 1 ms (24.8 days); a later deadline (some are
  // "practically never") is reached in steps.
  static constexpr double kMaxWaitMs = 2147483647.0;

  void schedule() {
    // Compared before subtracting: a deadline of Instant::min() ("now": a host with work
    // due) minus now overflows.
    const Instant now = clock_.now();
    const double wait =
        deadline_ <= now ? 0.0 : std::chrono::duration<double, std::milli>(deadline_ - now).count();
    id_ = emscripten_set_timeout(&TimeoutAlarm::fire, std::min(wait, kMaxWaitMs), this);
  }
  static void fire(void* self) {
    auto* alarm = static_cast<TimeoutAlarm*>(self);
    alarm->id_ = 0;
    if (alarm->clock_.now() < alarm->deadline_) return alarm->schedule();
    // The callback may restart or destroy this alarm: run a copy.
    auto callback = alarm->callback_;
    callback();
  }

  const WebExecutor& clock_;
  Instant deadline_{};
  std::function<void()> callback_;
  long id_ = 0;
};

class ImmediateWorker final : public service::BlockingWorker {
 public:
  explicit ImmediateWorker(WebExecutor& executor) : alarm_(executor.make_alarm()), executor_(executor) {}
  Result<void> start(Work work, Done done) override {
    if (busy_) return std::make_error_code(std::errc::device_or_resource_busy);
    busy_ = true;
    const int result = work();
    alarm_->start_at(executor_.now(), [this, result, done = std::move(done)] {
      busy_ = false;
      done(result);
    });
    return {};
  }
  bool busy() const noexcept override { return busy_; }

 private:
  std::unique_ptr<service::Alarm> alarm_;  // dropped with the worker: so is `done`
  WebExecutor& executor_;
  bool busy_ = false;
};

}  // namespace

class WebExecutor::Hook final : public service::TurnHook {
 public:
  explicit Hook(std::set<Hook*>& hooks) : hooks_(hooks) {}
  ~Hook() override { stop(); }
  void start(std::function<void()> callback) override {
    callback_ = std::move(callback);
    hooks_.insert(this);
  }
  void stop() noexcept override { hooks_.erase(this); }
  void run() { callback_(); }

 private:
  std::set<Hook*>& hooks_;
  std::function<void()> callback_;
};

Instant WebExecutor::now() const {
  const std::chrono::duration<double, std::milli> ms(emscripten_get_now());
  return Instant(std::chrono::duration_cast<Duration>(ms));
}

std::unique_ptr<service::Alarm> WebExecutor::make_alarm() {
  return std::make_unique<TimeoutAlarm>(*this);
}

std::unique_ptr<service::TurnHook> WebExecutor::make_turn_hook() {
  return std::make_unique<Hook>(hooks_);
}

std::unique_ptr<service::BlockingWorker> WebExecutor::make_blocking_worker() {
  return std::make_unique<ImmediateWorker>(*this);
}

void WebExecutor::end_turn() {
  // A hook may stop (or destroy) itself or another: run those still started.
  const std::vector<Hook*> started(hooks_.begin(), hooks_.end());
  for (Hook* h : started) {
    if (hooks_.count(h) != 0) h->run();
  }
}

}  // namespace peermq::web
