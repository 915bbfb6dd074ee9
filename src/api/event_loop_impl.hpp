// EventLoop::Impl: the platform::Loop behind a public EventLoop, and what Broker, Consumer
// and Producer share through it: posted tasks, signal watchers, and run_until(), the one
// place the public API runs the loop (so that it can refuse to run it twice at once).
//
// Threads: the loop's, but for post() and stop() (a mutex and an atomic, then Async::send).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <peermq/event_loop.hpp>
#include <peermq/result.hpp>

#include "platform/async.hpp"
#include "platform/loop.hpp"
#include "platform/signal_watcher.hpp"

namespace peermq {

struct EventLoop::Impl {
  Impl();

  // Runs the loop until `done` returns true; `done` is checked before each iteration.
  // Errors: QueueError::loop_busy when the loop is running already.
  Result<void> run_until(const std::function<bool()>& done);
  void drain();
  // Calls `f`; an exception it throws is logged (naming `what`) instead of unwinding
  // through libuv's C frames.
  static void call_guarded(const std::function<void()>& f, const char* what) noexcept;
  // The Impl behind a public loop, for the library's classes built on one.
  static Impl& of(EventLoop& loop) noexcept { return *loop.impl_; }

  platform::Loop loop;  // first: the handles below close before it goes
  std::atomic<bool> running{false};
  std::atomic<bool> stop_requested{false};
  std::mutex mutex;
  std::vector<std::function<void()>> tasks;  // posted, guarded by mutex
  platform::Async wake;
  std::vector<std::unique_ptr<platform::SignalWatcher>> signals;
};

}  // namespace peermq
