// StopSignal: the stop() of a public object (Broker, Consumer, Producer, Relay, Pinger),
// callable from any thread (and from a signal handler's callback), taking effect on the
// loop's thread: a flag, and a wake-up of the loop that calls `on_stop` there, outside
// whatever callback asked for the stop.
//
// Threads: request() and requested() from any thread; the rest on the loop's.
#pragma once

#include <atomic>
#include <functional>
#include <utility>

#include "platform/async.hpp"
#include "platform/loop.hpp"

namespace peermq::api {

class StopSignal {
 public:
  StopSignal(platform::Loop& loop, std::function<void()> on_stop)
      : on_stop_(std::move(on_stop)), wake_(loop, [this] {
          if (requested_.load()) on_stop_();
        }) {}

  void request() noexcept {
    requested_.store(true);
    wake_.send();
  }
  bool requested() const noexcept { return requested_.load(); }

 private:
  std::function<void()> on_stop_;
  std::atomic<bool> requested_{false};
  platform::Async wake_;
};

}  // namespace peermq::api
