// LoopExecutor: the service::Executor of a libuv Loop: Timers, an IterationHook (uv_check),
// BlockingCall (libuv's thread pool), the loop's monotonic clock and the system's wall
// clock. Threads and lifetime: the Loop's.
#pragma once

#include <memory>

#include "platform/loop.hpp"
#include "service/executor.hpp"

namespace peermq::platform {

class LoopExecutor final : public service::Executor {
 public:
  explicit LoopExecutor(Loop& loop) noexcept : loop_(loop) {}
  Instant now() const override { return loop_.now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  std::unique_ptr<service::Alarm> make_alarm() override;
  std::unique_ptr<service::TurnHook> make_turn_hook() override;
  std::unique_ptr<service::BlockingWorker> make_blocking_worker() override;
  Loop& loop() noexcept { return loop_; }

 private:
  Loop& loop_;
};

}  // namespace peermq::platform
