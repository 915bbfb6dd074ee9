// WebExecutor: the browser's event loop as a service::Executor, the way
// platform/loop_executor.hpp is libuv's. Time is performance.now() (emscripten_get_now,
// monotonic milliseconds) as an Instant; wall time is the system clock (Date.now()).
//
//   Alarm           an emscripten timer (setTimeout); start_at replaces it, and a deadline
//                   in the past fires on the next turn of the browser's loop.
//   TurnHook        run by end_turn(), which the driver calls after each batch of input
//                   (one WebSocket message, one timer).
//   BlockingWorker  nothing may block in a tab: the work runs at once and its result is
//                   delivered on the next turn.
//
// Threads: the page's one. Lifetime: what it makes is destroyed before it.
#pragma once

#include <memory>
#include <set>

#include "service/executor.hpp"

namespace peermq::web {

class WebExecutor final : public service::Executor {
 public:
  Instant now() const override;
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  std::unique_ptr<service::Alarm> make_alarm() override;
  std::unique_ptr<service::TurnHook> make_turn_hook() override;
  std::unique_ptr<service::BlockingWorker> make_blocking_worker() override;

  // After each batch of input: runs every started TurnHook.
  void end_turn();

 private:
  class Hook;
  std::set<Hook*> hooks_;
};

}  // namespace peermq::web
