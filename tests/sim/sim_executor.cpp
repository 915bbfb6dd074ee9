#include "sim/sim_executor.hpp"

#include <algorithm>
#include <system_error>

namespace peermq::sim {

class SimExecutor::Alarm final : public service::Alarm {
 public:
  explicit Alarm(SimExecutor& e) : executor_(e) {}
  ~Alarm() override { stop(); }
  void start_at(Instant deadline, std::function<void()> callback) override {
    stop();
    event_ = executor_.scheduler_.at(deadline, [this, cb = std::move(callback)] {
      event_ = 0;
      auto keep = cb;  // the callback may start this alarm again (or destroy it)
      SimExecutor& e = executor_;
      keep();
      e.turn();
    });
  }
  void stop() noexcept override {
    if (event_ != 0) executor_.scheduler_.cancel(event_);
    event_ = 0;
  }

 private:
  SimExecutor& executor_;
  EventId event_ = 0;
};

class SimExecutor::Hook final : public service::TurnHook {
 public:
  explicit Hook(SimExecutor& e) : executor_(e) { executor_.hooks_.push_back(this); }
  ~Hook() override {
    stop();
    std::erase(executor_.hooks_, this);
  }
  void start(std::function<void()> callback) override { callback_ = std::move(callback); }
  void stop() noexcept override {
    callback_ = nullptr;
    if (event_ != 0) executor_.scheduler_.cancel(event_);
    event_ = 0;
  }
  void schedule() {
    if (!callback_ || event_ != 0) return;
    event_ = executor_.scheduler_.at(executor_.scheduler_.now(), [this] {
      event_ = 0;
      auto keep = callback_;
      if (keep) keep();
    });
  }

 private:
  SimExecutor& executor_;
  std::function<void()> callback_;
  EventId event_ = 0;
};

class SimExecutor::Worker final : public service::BlockingWorker {
 public:
  explicit Worker(SimExecutor& e) : executor_(e) {}
  ~Worker() override {
    if (event_ != 0) executor_.scheduler_.cancel(event_);
  }
  Result<void> start(Work work, Done done) override {
    if (event_ != 0) return std::make_error_code(std::errc::device_or_resource_busy);
    const Duration latency = executor_.random_.up_to(executor_.options_.sync_latency_max);
    event_ = executor_.scheduler_.after(
        latency, [this, w = std::move(work), d = std::move(done)] {
          event_ = 0;
          const int result = w();
          SimExecutor& e = executor_;
          d(result);  // may start the next call, or destroy this worker
          e.turn();
        });
    return {};
  }
  bool busy() const noexcept override { return event_ != 0; }

 private:
  SimExecutor& executor_;
  EventId event_ = 0;
};

SimExecutor::SimExecutor(SimScheduler& scheduler, SimPrng random, SimExecutorOptions options)
    : scheduler_(scheduler), random_(random), options_(options) {}

SimExecutor::~SimExecutor() = default;

std::unique_ptr<service::Alarm> SimExecutor::make_alarm() {
  return std::make_unique<Alarm>(*this);
}

std::unique_ptr<service::TurnHook> SimExecutor::make_turn_hook() {
  return std::make_unique<Hook>(*this);
}

std::unique_ptr<service::BlockingWorker> SimExecutor::make_blocking_worker() {
  return std::make_unique<Worker>(*this);
}

void SimExecutor::turn() {
  for (Hook* h : hooks_) h->schedule();
}

}  // namespace peermq::sim
