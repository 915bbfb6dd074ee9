// Executor: what a service (broker, consumer, producer) needs from the event loop it runs
// on, as a small interface, so that the same service code runs on libuv
// (runtime/loop_executor.hpp) and in the simulator's virtual time (tests/sim/).
//
//   Alarm           one timer: start_at(deadline, callback) replaces what was set; a
//                   deadline in the past fires soon, never from inside start_at().
//   TurnHook        a callback once per turn of the loop, right after the turn's input has
//                   been handled: the broker commits its log there (group commit: every
//                   message that arrived in one turn goes to disk in one write).
//   BlockingWorker  one blocking function at a time (an fdatasync) run where blocking is
//                   allowed (libuv's thread pool; in the simulator, at once), its result
//                   delivered later on the executor's thread.
// The executor is a Clock: services take the time from it outside input callbacks.
//
// Callbacks may stop or destroy their own Alarm/TurnHook, and start the next call of
// their own BlockingWorker. Threads: the executor's only. Lifetime: what it makes is
// destroyed before it.
#pragma once

#include <functional>
#include <memory>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

namespace peermq::service {

class Alarm {
 public:
  virtual ~Alarm() = default;
  virtual void start_at(Instant deadline, std::function<void()> callback) = 0;
  virtual void stop() noexcept = 0;
};

class TurnHook {
 public:
  virtual ~TurnHook() = default;
  virtual void start(std::function<void()> callback) = 0;
  virtual void stop() noexcept = 0;
};

class BlockingWorker {
 public:
  using Work = std::function<int()>;        // runs elsewhere: touches nothing of ours; 0 or an errno
  using Done = std::function<void(int)>;  // on the executor's thread, with work's result
  virtual ~BlockingWorker() = default;
  // Errors: std::errc::device_or_resource_busy while the previous call has not called
  // back; the platform's, if it refused the job. Destroying the worker drops `done` of a
  // call under way (its work still runs to the end).
  virtual Result<void> start(Work work, Done done) = 0;
  virtual bool busy() const noexcept = 0;
};

class Executor : public Clock {
 public:
  virtual std::unique_ptr<Alarm> make_alarm() = 0;
  virtual std::unique_ptr<TurnHook> make_turn_hook() = 0;
  virtual std::unique_ptr<BlockingWorker> make_blocking_worker() = 0;
};

}  // namespace peermq::service
