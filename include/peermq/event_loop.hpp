// EventLoop: the thread that runs peermq's brokers, consumers and producers.
//
// Every Broker, Consumer, Producer, Relay and Pinger works on one EventLoop: its network
// I/O, timers and your callbacks (a consumer's message handler, a producer's answer
// callbacks, a Timer's) all run on the thread that runs that loop. Several of them may
// share one loop, so one thread serves a consumer and a producer together:
//
//   peermq::EventLoop loop;
//   peermq::Consumer consumer(loop, consumer_options);
//   peermq::Producer producer(loop, producer_options);
//   ... consumer.start(), producer.start(), then loop.run() (or consumer.run()).
//
// One built without an EventLoop makes its own (reachable through its loop()). Timers
// (timer.hpp) and signal callbacks run on the loop as well.
//
// Threads: an EventLoop and everything on it belong to the thread that runs it; call them
// from that thread only, and never while another thread runs the loop. The exceptions are
// stop(), post() and now() here and the stop() of a Broker, Consumer, Producer, Relay or
// Pinger: safe from any thread. Lifetime: destroy everything built on an EventLoop (those,
// Timers and ShellAnswerers) before it.
// Exceptions: one thrown by a callback of yours (a task, a handler, an answer callback, a
// timer's) never unwinds through the loop: it is logged, and the loop goes on (a
// consumer's handler that throws rejects its message, to be delivered again).
#pragma once

#include <functional>
#include <memory>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

namespace peermq {

class Broker;
class Consumer;
class Producer;

class EventLoop {
 public:
  // Throws std::system_error if the system cannot create the loop (start-up only).
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs everything on this loop until stop() is called (a stop() that came before run()
  // ends the next run() at once). Errors: QueueError::loop_busy when the loop is already
  // running (run() called from one of its own callbacks, or from a second thread).
  Result<void> run();
  // Makes run() return. Any thread; async-signal-safe as well.
  void stop() noexcept;
  // Runs `task` on the loop's thread, soon, in the order posted. Any thread. Tasks still
  // queued when the loop is destroyed are dropped.
  void post(std::function<void()> task);
  // Calls `callback` on the loop's thread each time the process receives `signum` (for
  // example SIGINT or SIGTERM), instead of the signal's default action, for as long as this
  // loop lives. Typically: loop.on_signal(SIGINT, [&] { broker.stop(); }).
  // Throws std::system_error for a signal that cannot be caught (SIGKILL, SIGSTOP): a
  // programmer error.
  void on_signal(int signum, std::function<void()> callback);
  // The loop's clock, read now: the one Timer::start_at() deadlines are on. Monotonic
  // (SystemClock's). Any thread.
  Instant now() const noexcept;

  struct Impl;  // the library's own

 private:
  friend class Broker;
  friend class Consumer;
  friend class Producer;
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
