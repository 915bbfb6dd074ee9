#include "platform/blocking_call.hpp"

#include <cerrno>
#include <system_error>
#include <utility>

#include "platform/uv_error.hpp"

namespace peermq::platform {

struct BlockingCall::Job {
  uv_work_t request{};
  Work work;
  Done done;
  int result = 0;
  BlockingCall* owner = nullptr;  // nullptr once the owner is gone: `done` is dropped
};

BlockingCall::~BlockingCall() {
  if (job_ != nullptr) job_->owner = nullptr;
}

Result<void> BlockingCall::start(Work work, Done done) {
  if (job_ != nullptr) return std::make_error_code(std::errc::device_or_resource_busy);
  auto* job = new Job;
  job->work = std::move(work);
  job->done = std::move(done);
  job->owner = this;
  job->request.data = job;
  if (int status = uv_queue_work(loop_.raw(), &job->request, run, after); status < 0) {
    delete job;
    return uv_error(status);
  }
  job_ = job;
  return {};
}

void BlockingCall::run(uv_work_t* request) {
  auto* job = static_cast<Job*>(request->data);
  job->result = job->work();
}

void BlockingCall::after(uv_work_t* request, int status) {
  auto* job = static_cast<Job*>(request->data);
  BlockingCall* owner = job->owner;
  Done done = std::move(job->done);
  // UV_ECANCELED: never ran (only uv_cancel does that, which nobody calls).
  const int result = status == UV_ECANCELED ? ECANCELED : job->result;
  delete job;
  if (owner == nullptr) return;
  owner->job_ = nullptr;
  if (done) done(result);  // may start the next call, or destroy the owner
}

}  // namespace peermq::platform
