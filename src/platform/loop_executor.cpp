#include "platform/loop_executor.hpp"

#include "platform/blocking_call.hpp"
#include "platform/iteration_hook.hpp"
#include "platform/timer.hpp"

namespace peermq::platform {

namespace {

class LoopAlarm final : public service::Alarm {
 public:
  explicit LoopAlarm(Loop& loop) : timer_(loop) {}
  void start_at(Instant deadline, std::function<void()> callback) override {
    timer_.start_at(deadline, std::move(callback));
  }
  void stop() noexcept override { timer_.stop(); }

 private:
  Timer timer_;
};

class LoopTurnHook final : public service::TurnHook {
 public:
  explicit LoopTurnHook(Loop& loop) : hook_(loop) {}
  void start(std::function<void()> callback) override { hook_.start(std::move(callback)); }
  void stop() noexcept override { hook_.stop(); }

 private:
  IterationHook hook_;
};

class LoopBlockingWorker final : public service::BlockingWorker {
 public:
  explicit LoopBlockingWorker(Loop& loop) : call_(loop) {}
  Result<void> start(Work work, Done done) override {
    return call_.start(std::move(work), std::move(done));
  }
  bool busy() const noexcept override { return call_.busy(); }

 private:
  BlockingCall call_;
};

}  // namespace

std::unique_ptr<service::Alarm> LoopExecutor::make_alarm() {
  return std::make_unique<LoopAlarm>(loop_);
}

std::unique_ptr<service::TurnHook> LoopExecutor::make_turn_hook() {
  return std::make_unique<LoopTurnHook>(loop_);
}

std::unique_ptr<service::BlockingWorker> LoopExecutor::make_blocking_worker() {
  return std::make_unique<LoopBlockingWorker>(loop_);
}

}  // namespace peermq::platform
