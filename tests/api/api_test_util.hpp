// What the public API's tests share: a scratch directory per test (data and local
// discovery of its own, so tests never see each other's nodes), options for a broker and
// its clients on 127.0.0.1, and a Watchdog that bounds every loop.run() of a test.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <peermq/broker.hpp>
#include <peermq/consumer.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/producer.hpp>
#include <peermq/timer.hpp>

#include "support/child_process.hpp"

namespace peermq::test {

class Scene {
 public:
  explicit Scene(const std::string& name) : dir_("peermq-api-" + name) {}

  std::string path(const std::string& leaf) const { return (dir_.path() / leaf).string(); }

  BrokerOptions broker(const std::string& data = "data") const {
    BrokerOptions o;
    o.data_dir = path(data);
    o.sync = SyncPolicy::none;
    o.listen = "127.0.0.1:0";
    o.discovery_dir = path("run");
    return o;
  }
  ConsumerOptions consumer(const Address& broker, std::vector<std::string> commands = {}) const {
    ConsumerOptions o;
    o.broker = broker.to_string();
    o.commands = std::move(commands);
    o.listen = "127.0.0.1:0";
    o.discovery_dir = path("run");
    return o;
  }
  ProducerOptions producer(const Address& broker) const {
    ProducerOptions o;
    o.broker = broker.to_string();
    o.listen = "127.0.0.1:0";
    o.discovery_dir = path("run");
    return o;
  }

 private:
  TempDir dir_;
};

// Stops `loop` from its own thread once `limit` has passed, unless destroyed first: a
// loop.run() in a test always returns. fired() says whether it had to.
class Watchdog {
 public:
  Watchdog(EventLoop& loop, std::chrono::milliseconds limit)
      : thread_([this, &loop, limit] {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
            fired_ = true;
            loop.stop();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  bool fired() {
    std::lock_guard lock(mutex_);
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

// Runs `loop` until `done` holds (checked every 5 ms of the loop, and once at once) or
// `limit` passes; returns whether `done` holds. For conditions no callback announces.
inline bool run_until(EventLoop& loop, const std::function<bool()>& done,
                      std::chrono::milliseconds limit) {
  if (done()) return true;
  Timer check(loop);
  check.start(std::chrono::milliseconds(5), std::chrono::milliseconds(5), [&] {
    if (done()) loop.stop();
  });
  Watchdog watchdog(loop, limit);
  (void)loop.run();
  return done();
}

inline std::string text_of(std::span<const std::uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

}  // namespace peermq::test
