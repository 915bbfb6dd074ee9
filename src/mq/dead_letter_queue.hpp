// DeadLetterQueue: the messages no consumer could handle — rejected without requeue, or
// returned max_deliveries times — kept for an admin to list, requeue or purge.
//
// A dead letter stays in its slot, in state dead_letter and on no list, so the queue costs
// nothing per message beyond the message; the reason is kept in the high bits of the
// block's flags (DeadLetterReason << 4; the message's own flags are the low four). The
// queue keeps only the count. Listing walks the store in uid order from the admin's
// cursor, with a bounded scan per request (1,024 slots per entry asked for), so a sparse
// queue in a long ring is paged through rather than read in one go.
//
// Journaling and answering the producer are the owner's: it appends dead_lettered,
// requeued or acked records and calls enter(), leave() and requeue() to match. The store,
// producer table and router (for command names) outlive this object. Single-threaded.
#pragma once

#include <cstdint>
#include <vector>

#include "mq/delivery_router.hpp"
#include "mq/message_store.hpp"
#include "mq/mq_message.hpp"
#include "mq/producer_table.hpp"

namespace peermq::mq {

class DeadLetterQueue {
 public:
  DeadLetterQueue(MessageStore& store, const ProducerTable& producers,
                  const DeliveryRouter& router) noexcept
      : store_(store), producers_(producers), router_(router) {}
  DeadLetterQueue(const DeadLetterQueue&) = delete;
  DeadLetterQueue& operator=(const DeadLetterQueue&) = delete;

  // Held message p becomes a dead letter for `reason`.
  void enter(Pos p, DeadLetterReason reason) noexcept;
  // Dead letter p leaves the queue (state held): it is requeued or purged.
  void leave(Pos p) noexcept;
  // Held message p starts over, as a fresh message: no deliveries, no reason.
  void reset(Pos p) noexcept;
  // One page of dead letters after the uid `request.after` (none if it is ~0).
  DlqListResult list(const DlqList& request) const;
  // Appends the dead letters `request` names (all, or by uid; a uid that is not a live
  // slot is skipped) to `out`. Not all of them need still be dead letters when acted on.
  void select(const DlqModify& request, std::vector<Pos>& out) const;

  std::uint64_t count() const noexcept { return count_; }
  static DeadLetterReason reason(const Slot& s) noexcept {
    return static_cast<DeadLetterReason>(block_flags(s) >> 4);
  }

 private:
  MessageStore& store_;
  const ProducerTable& producers_;
  const DeliveryRouter& router_;
  std::uint64_t count_ = 0;
};

}  // namespace peermq::mq
