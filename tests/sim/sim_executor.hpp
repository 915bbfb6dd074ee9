// SimExecutor: the service::Executor of one simulated process, on the run's SimScheduler,
// so the real BrokerService, ConsumerClient and ProducerClient run in virtual time.
//
//   Alarm           one scheduler event; start_at replaces it (a past deadline runs as the
//                   next event, never inside start_at).
//   TurnHook        runs once after each turn of the process: turn() is called after every
//                   call into its host (SimNode::on_turn), after each of its alarms and
//                   after each blocking call completes; the hook then runs as an event at
//                   the same instant, after what is queued for it (libuv's check phase
//                   after the I/O phase). Several turns before it runs: it runs once.
//   BlockingWorker  the work (an fdatasync on the simulated disk) runs after a latency
//                   drawn from `sync_latency_max` (0 .. max, the disk's time to sync), then
//                   done(result) in the same event. A crash in between (the worker
//                   destroyed) drops both: nothing was synced, nothing confirmed.
// Destroying the executor (a crashed process) cancels every event it scheduled.
// Single-threaded, like the scheduler.
#pragma once

#include <memory>
#include <vector>

#include "service/executor.hpp"
#include "sim/sim_random.hpp"
#include "sim/sim_scheduler.hpp"

namespace peermq::sim {

struct SimExecutorOptions {
  Duration sync_latency_max = std::chrono::microseconds(800);
};

class SimExecutor final : public service::Executor {
 public:
  SimExecutor(SimScheduler& scheduler, SimPrng random, SimExecutorOptions options = {});
  ~SimExecutor() override;
  SimExecutor(const SimExecutor&) = delete;
  SimExecutor& operator=(const SimExecutor&) = delete;

  Instant now() const override { return scheduler_.now(); }
  WallTime wall_now() const override { return scheduler_.wall_now(); }
  std::unique_ptr<service::Alarm> make_alarm() override;
  std::unique_ptr<service::TurnHook> make_turn_hook() override;
  std::unique_ptr<service::BlockingWorker> make_blocking_worker() override;

  // The process did something: its turn hooks run after this event.
  void turn();

 private:
  class Alarm;
  class Hook;
  class Worker;
  friend class Alarm;
  friend class Hook;
  friend class Worker;

  SimScheduler& scheduler_;
  SimPrng random_;
  SimExecutorOptions options_;
  std::vector<Hook*> hooks_;  // in creation order: the run stays deterministic
};

}  // namespace peermq::sim
