// EventLoop: the thread that runs peermq's brokers, consumers and producers.
//
// Every Broker, Consumer and Producer works on one EventLoop: its network I/O, timers and
// your callbacks (a consumer's message handler, a producer's answer callbacks) all run on
// the thread that runs that loop. Several of them may share one loop, so one thread serves
// a consumer and a producer together:
//
//   peermq::EventLoop loop;
//   peermq::Consumer consumer(loop, consumer_options);
//   peermq::Producer producer(loop, producer_options);
//   ... consumer.start(), producer.start(), then loop.run() (or consumer.run()).
//
// One built without an EventLoop makes its own (reachable through its loop()).
//
// Threads: an EventLoop and everything on it belong to the thread that runs it; call them
// from that thread only, and never while another thread runs the loop. The exceptions are
// stop() and post() here and the stop() of a Broker, Consumer or Producer: safe from any
// thread. Lifetime: destroy every Broker, Consumer and Producer before their EventLoop.
// Exceptions: one thrown by a callback of yours (a task, a handler, an answer callback)
// never unwinds through the loop: it is logged, and the loop goes on (a consumer's handler
// that throws rejects its message, to be delivered again).
#pragma once

#include <functional>
#include <memory>

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

  struct Impl;  // the library's own

 private:
  friend class Broker;
  friend class Consumer;
  friend class Producer;
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
