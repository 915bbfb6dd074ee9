// ShellAnswerer: answers a consumer's messages with the output of a shell command, one
// message at a time: `/bin/sh -c COMMAND` with the message's payload on its standard
// input; exit status 0 answers with its standard output, anything else rejects the
// message (requeue: the broker delivers it again, up to its max_deliveries).
//
//   peermq::ShellAnswerer exec(consumer.loop(), "wc -c");
//   consumer.on_delivery([&](const peermq::Message& m, peermq::Delivery d) {
//     exec.answer(m, std::move(d));
//   });
//
// Built on the deferred reply (delivery.hpp): the loop keeps serving the network while a
// command runs, however long it takes (acknowledgements, keepalives, further deliveries),
// and each answer leaves as soon as its command ends. Deliveries wait in order for their
// turn; one no longer held when its turn comes (its consumer reconnected, and the broker
// delivers the message again) is skipped, so no command runs twice for one delivery.
// Output beyond the largest payload a message carries is dropped; the command's standard
// error is this process's.
//
// Each command runs in a process group of its own: stop() and the destructor kill that
// group (SIGKILL: the shell and whatever it started). The first ShellAnswerer ignores
// SIGPIPE for the whole process (a command that stops reading its input must not kill it).
//
// Threads: the loop's thread only. Lifetime: destroy it before its EventLoop; deliveries
// still queued when it is destroyed are released as Delivery's destructor says (rejected,
// unless their consumer has stopped).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <peermq/consumer.hpp>
#include <peermq/delivery.hpp>
#include <peermq/event_loop.hpp>

namespace peermq {

class ShellAnswerer {
 public:
  // `shell` runs the command as `shell -c COMMAND`.
  ShellAnswerer(EventLoop& loop, std::string command, std::string shell = "/bin/sh");
  ~ShellAnswerer();
  ShellAnswerer(const ShellAnswerer&) = delete;
  ShellAnswerer& operator=(const ShellAnswerer&) = delete;

  // Queues `delivery` (the payload of `message` is copied) and runs its command when its
  // turn comes. Call it from a consumer's DeliveryHandler, or later with a kept Delivery.
  // After stop(), deliveries are kept unanswered (until destruction).
  void answer(const Message& message, Delivery delivery);
  // Kills the running command (its answer never goes) and runs no more. Idempotent.
  void stop() noexcept;

  // Deliveries waiting or running.
  std::size_t queued() const noexcept;
  bool running() const noexcept;

  struct Impl;  // the library's own

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
