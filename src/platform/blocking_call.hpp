// BlockingCall: runs one blocking function (an fdatasync) on libuv's thread pool and calls
// back on the loop's thread with its result, so that the loop keeps serving meanwhile.
//
// One call at a time. `work` runs on a pool thread: it must touch nothing the loop's thread
// uses (capture copies) and returns an int (0, or an errno). `done(result)` then runs on
// the loop's thread, and may start the next call or destroy the BlockingCall. A started
// call cannot be stopped: destroying the BlockingCall lets its work run to the end and
// drops its `done` (the work's own captures are released on the loop's thread afterwards).
// The Loop stays alive until every started work has finished (its destructor waits).
//
// Threads: every method on the loop's thread. Lifetime: destroy before the Loop.
#pragma once

#include <functional>

#include <uv.h>

#include <peermq/result.hpp>

#include "platform/loop.hpp"

namespace peermq::platform {

class BlockingCall {
 public:
  using Work = std::function<int()>;
  using Done = std::function<void(int result)>;

  explicit BlockingCall(Loop& loop) noexcept : loop_(loop) {}
  ~BlockingCall();
  BlockingCall(const BlockingCall&) = delete;  // the running job points back at it
  BlockingCall& operator=(const BlockingCall&) = delete;

  // Starts `work`. Errors: std::errc::device_or_resource_busy while the previous call has
  // not called back yet; libuv's, if it refused the job.
  Result<void> start(Work work, Done done);
  // A call was started and has not called back yet.
  bool busy() const noexcept { return job_ != nullptr; }

 private:
  struct Job;
  static void run(uv_work_t* request);
  static void after(uv_work_t* request, int status);

  Loop& loop_;
  Job* job_ = nullptr;  // owned by libuv's queue until after() deletes it
};

}  // namespace peermq::platform
