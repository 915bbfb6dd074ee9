// AnswerBox: the answers the broker keeps for producers — one mailbox per producer, sent
// when the producer is online, kept until it says answer_received or they expire.
//
// Every answer (a consumer's, or the broker's own: expired, dead_lettered, rejected) is a
// slot of the MessageStore on its producer's mailbox list, in the order stored, and in an
// index by (producer, message id): one answer per message, a newer one replaces the old.
// A mailbox has an `unsent` cursor: answers before it went out on the current connection,
// those from it on wait for room (a full send buffer) or for the producer. resend_all()
// makes the whole mailbox unsent again on a new connection (the previous one may have lost
// any of it); flush() sends what is unsent until the link blocks. Whether and where the
// producer is online is the ProducerTable's link.
//
// Journaling is the owner's: it appends the record, then calls store() with the record's
// seq as uid, or drop() once the end is journaled (answer_received, expiry). store() says
// which answer it replaced, whose record the owner must keep until the new one is durable.
//
// Cost per stored answer: one 32-byte slot, one block of 16 + 8 (expiry) + reason + payload
// bytes (+2 with a reason), and a 24-byte index entry; per producer a mailbox of 32 bytes
// in a deque parallel to the ProducerTable. Each stored answer holds a ProducerTable
// reference. The store, table, sender, metrics and expiry sweep outlive this object.
// Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>

#include "mq/broker_metrics.hpp"
#include "mq/broker_sender.hpp"
#include "mq/expiry_sweep.hpp"
#include "mq/flat_table.hpp"
#include "mq/message_store.hpp"
#include "mq/mq_message.hpp"
#include "mq/producer_table.hpp"

namespace peermq::mq {

class AnswerBox {
 public:
  AnswerBox(MessageStore& store, ProducerTable& producers, BrokerSender& sender,
            BrokerMetrics& metrics, ExpirySweep& expiry) noexcept;
  AnswerBox(const AnswerBox&) = delete;
  AnswerBox& operator=(const AnswerBox&) = delete;

  // The answer stored for (producer, message id), or nullptr.
  const Pos* find(std::uint32_t producer, std::uint64_t message_id) const noexcept {
    return index_.find(MessageKey{producer, message_id});
  }
  // Keeps an answer under `uid` (its record's seq, above every uid in the store), expiring
  // at `expires` (Instant ticks), and sends it at once if the producer is online with
  // nothing unsent before it. Returns the uid of the answer it replaced, 0 if none.
  std::uint64_t store(std::uint64_t uid, std::uint32_t producer, std::uint64_t message_id,
                      AnswerStatus status, std::span<const std::uint8_t> payload,
                      std::string_view reason, std::int64_t expires);
  // Forgets answer p (its end is journaled) and frees its slot.
  void drop(Pos p);
  // Compaction: moves answer p to a new slot under `uid`, keeping its place everywhere.
  Pos relocate(Pos p, std::uint64_t uid);

  // The producer came online (ProducerTable::link): everything stored is unsent again,
  // from the oldest, for flush() to send.
  void resend_all(std::uint32_t producer);
  // The producer went offline: nothing counts as sent any more.
  void offline(std::uint32_t producer) noexcept;
  // Sends unsent answers while the producer is online, until its link blocks.
  void flush(std::uint32_t producer);

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t bytes() const noexcept { return bytes_; }  // payloads and reasons
  std::size_t memory_bytes() const noexcept { return index_.memory_bytes(); }

 private:
  struct Mailbox {
    SlotList answers;
    Pos unsent = kNoPos;  // first answer not yet sent on the current connection
  };

  // The producer's mailbox, made when first needed (indexes are dense: the table reuses).
  Mailbox& box(std::uint32_t producer);
  bool send(PeerLink& link, Pos p);

  MessageStore& store_;
  ProducerTable& producers_;
  BrokerSender& sender_;
  BrokerMetrics& metrics_;
  ExpirySweep& expiry_;
  std::deque<Mailbox> boxes_;  // by producer index
  FlatTable<MessageKey, Pos, MessageKeyHash> index_;
  std::uint64_t count_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace peermq::mq
