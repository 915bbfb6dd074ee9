// Delivery: a message a Consumer holds for its handler, to be answered or rejected now or
// later: the deferred reply.
//
//   consumer.on_delivery([&](const peermq::Message& m, peermq::Delivery d) {
//     jobs.push_back({std::string(m.text()), std::move(d)});   // answered when done
//   });
//   ...later, on the loop's thread:  job.delivery.answer(result);
//
// A Delivery is a movable handle (not copyable: one message, one answer). It is held from
// the moment the handler gets it until it is answered or rejected, or the connection it
// came on ends: after a reconnect (a broker restart, a lost session) the broker delivers
// the message again, as a new Delivery, and the old one is no longer held. held() says
// which; answering one that is not held fails with QueueError::not_held, so work queued
// for a stale delivery can be skipped instead of done twice. The broker names a delivery
// by the message's slot and attempt, so a restarted broker that delivers a message again
// under the very name it had makes the old handle held again: answering either answers
// that message, once.
//
// A held Delivery destroyed (or assigned over) unanswered rejects its message, to be
// delivered again (requeue): a handler that drops it by mistake does not leave the
// message waiting for the broker's visibility timeout. Once its Consumer has stopped or
// gone, a Delivery holds nothing and its calls fail with QueueError::stopped.
//
// An answer or reject given outside the handler leaves at once (it does not wait for the
// next batch of input).
//
// Threads: the loop's thread of its Consumer only (the handler's).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include <peermq/result.hpp>

namespace peermq {

class Delivery {
 public:
  // Holds nothing.
  Delivery() noexcept;
  ~Delivery();
  Delivery(Delivery&& other) noexcept;
  Delivery& operator=(Delivery&& other) noexcept;
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  // Whether it may still be answered: not answered or rejected through this handle, its
  // consumer running, and the connection it came on still the consumer's.
  bool held() const noexcept;
  // The message's id (Message::id); 0 for an empty handle.
  std::uint64_t id() const noexcept { return id_; }

  // Answers the message: acknowledges it and sends `payload` to its producer. Errors:
  // QueueError::not_held, QueueError::stopped, QueueError::too_large.
  Result<void> answer(std::span<const std::uint8_t> payload);
  Result<void> answer(std::string_view text);
  // Rejects it: to be delivered again (requeue, up to the broker's max_deliveries), or
  // straight to the dead-letter queue. `reason` (cut at 256 bytes) reaches the producer if
  // the message is dead-lettered. Errors: QueueError::not_held, QueueError::stopped.
  Result<void> reject(std::string_view reason, bool requeue = true);

  struct Link;  // the library's own: what ties handles to their consumer

 private:
  Delivery(std::shared_ptr<Link> link, std::uint64_t tag, std::uint64_t id) noexcept;
  void release() noexcept;  // rejects the message if still held

  std::shared_ptr<Link> link_;
  std::uint64_t tag_ = 0;  // the broker's name for this delivery
  std::uint64_t id_ = 0;
};

}  // namespace peermq
