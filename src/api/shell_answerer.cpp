// peermq::ShellAnswerer: a queue of Deliveries, each answered in turn through
// platform::ChildCommand (the process work: spawn, pipes, process-group kill).
#include <peermq/shell_answerer.hpp>

#include <signal.h>

#include <deque>
#include <vector>

#include "api/event_loop_impl.hpp"
#include "platform/child_command.hpp"
#include "log/log.hpp"
#include "wire/limits.hpp"

namespace peermq {

struct ShellAnswerer::Impl {
  struct Job {
    Delivery delivery;
    std::vector<std::uint8_t> payload;
  };

  Impl(platform::Loop& loop, std::string c, std::string shell)
      : command_text(std::move(c)), command(loop, std::move(shell)) {}

  void run_next();

  std::string command_text;
  std::deque<Job> jobs;  // the front one runs while command.running()
  platform::ChildCommand command;
  bool stopped = false;
};

void ShellAnswerer::Impl::run_next() {
  while (!stopped && !jobs.empty() && !command.running()) {
    if (!jobs.front().delivery.held()) {
      // Delivered before a reconnect (the broker sends the message again) or already
      // answered under the same name since: running the command would only run it twice.
      PEERMQ_LOG(info, "consumer", "message %llu: no longer ours to answer, skipped",
                 static_cast<unsigned long long>(jobs.front().delivery.id()));
      jobs.pop_front();
      continue;
    }
    // The job leaves the queue when its command ends: a reconnect meanwhile makes its
    // answer void (the broker delivers the message again), which answer() reports.
    auto started = command.start(command_text, jobs.front().payload, limits::kMaxPayload,
                                 [this](platform::ChildCommand::Outcome&& r) {
      Job done = std::move(jobs.front());
      jobs.pop_front();
      if (r.ok) {
        (void)done.delivery.answer(r.output);
      } else {
        PEERMQ_LOG(info, "consumer", "rejected message %llu: %s",
                   static_cast<unsigned long long>(done.delivery.id()), r.why.c_str());
        (void)done.delivery.reject(r.why, true);
      }
      run_next();
    });
    if (started) return;
    Job failed = std::move(jobs.front());
    jobs.pop_front();
    const std::string why = "cannot run the command: " + started.error().message();
    PEERMQ_LOG(warn, "consumer", "message %llu: %s",
               static_cast<unsigned long long>(failed.delivery.id()), why.c_str());
    (void)failed.delivery.reject(why, true);
  }
}

ShellAnswerer::ShellAnswerer(EventLoop& loop, std::string command, std::string shell)
    : impl_(std::make_unique<Impl>(EventLoop::Impl::of(loop).loop, std::move(command),
                                   std::move(shell))) {
  static const bool ignored = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)ignored;
}

ShellAnswerer::~ShellAnswerer() {
  stop();
}

void ShellAnswerer::answer(const Message& message, Delivery delivery) {
  impl_->jobs.push_back(Impl::Job{std::move(delivery), {message.payload.begin(), message.payload.end()}});
  impl_->run_next();
}

void ShellAnswerer::stop() noexcept {
  impl_->stopped = true;
  impl_->command.stop();
}

std::size_t ShellAnswerer::queued() const noexcept {
  return impl_->jobs.size();
}

bool ShellAnswerer::running() const noexcept {
  return impl_->command.running();
}

}  // namespace peermq
