// Settlement: what becomes of a message when it leaves its queue or its consumer, and the
// journal record each outcome writes.
//
// Outcomes (each on a held message, i.e. one detach()ed from its list):
//   complete      answered, expired: an `answered` record (the producer's answer, kept and
//                 sent by AnswerBox) that also acks the message; or just `acked` when the
//                 producer asked for no answer. The message is freed.
//   return_message  back from a consumer (requeue, disconnect, visibility timeout): to the
//                 front of its queue, or after max_deliveries to the DLQ.
//   dead_letter   a `dead_lettered` record; the producer gets a rejected or dead_lettered
//                 answer unless it asked for none, and the operator a report line.
//   settle_dead_letters   an admin's purge (`acked`) or requeue (`requeued`, ready again).
// dispatch() hands ready messages to consumers with credit (DeliveryRouter), dropping
// each that has expired on the way (complete as expired): nothing is delivered late.
//
// A slot ended by a record not yet durable keeps its own record needed until then
// (kill_by -> BrokerJournal::keep_until), so a crash in between brings it back instead of
// losing it. Owns no state (a scratch list aside): it acts on the parts it is given, which
// outlive it, as do the config, sender and metrics. Single-threaded.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <peermq/clock.hpp>

#include "mq/broker_config.hpp"
#include "mq/broker_metrics.hpp"
#include "mq/broker_parts.hpp"
#include "mq/broker_sender.hpp"
#include "mq/mq_message.hpp"

namespace peermq::mq {

class Settlement {
 public:
  using Consumer = DeliveryRouter::Consumer;

  Settlement(const BrokerParts& parts, const BrokerConfig& config, BrokerSender& sender,
             BrokerMetrics& metrics) noexcept
      : parts_(parts), config_(config), sender_(sender), metrics_(metrics) {}

  // Deliveries whose visibility timeout has passed come back (return_message).
  void time_out(Instant now);
  // Delivers ready messages of `command` while its consumers have credit.
  void dispatch(std::uint32_t command, Instant now);
  // Delivers ready messages of k's commands while k has credit.
  void dispatch(Consumer& k, Instant now);

  // Takes p off whatever list or count its state puts it on: state held.
  void detach(Pos p);
  // Ends held message p with `status` (the consumer's answer, or the broker's) and frees it.
  void complete(Pos p, AnswerStatus status, std::span<const std::uint8_t> payload,
                std::string_view reason, Instant now);
  // Ready message or answer p expired: a message is completed as expired, an answer
  // dropped.
  void expire(Pos p, Instant now);
  void return_message(Pos p, Instant now);
  void dead_letter(Pos p, DeadLetterReason reason, std::string_view text, Instant now);
  // Admin: the dead letters `m` names are purged (acked) or ready again from delivery
  // count 0. Returns how many were; appends the commands of those requeued to `touched`,
  // for the caller to dispatch once it has answered the admin.
  std::uint64_t settle_dead_letters(const DlqModify& m, std::vector<std::uint32_t>& touched);
  // Removes slot p, ended by record `seq`: its own record stays until `seq` is durable.
  void kill_by(std::uint64_t seq, Pos p);

 private:
  void deliver_or_expire(Consumer& k, Pos p, Instant now);
  // Journals and keeps an answer (acking message `acked_uid` if not 0) and sends it if the
  // producer is online. Returns the record's seq.
  std::uint64_t store_answer(std::uint32_t producer, std::uint64_t message_id, AnswerStatus status,
                             std::span<const std::uint8_t> payload, std::string_view reason,
                             std::uint64_t acked_uid, Instant now);

  void purge(Pos p);
  void requeue_dead_letter(Pos p);

  BrokerParts parts_;
  const BrokerConfig& config_;
  BrokerSender& sender_;
  BrokerMetrics& metrics_;
  std::vector<Pos> positions_;  // scratch
};

// Inline: on the way of every message.

inline void Settlement::detach(Pos p) {
  switch (parts_.store.at(p).state) {
    case SlotState::ready: parts_.router.unready(p); break;
    case SlotState::in_flight: parts_.router.end_delivery(p); break;
    case SlotState::dead_letter: parts_.dead_letters.leave(p); break;
    default: break;
  }
  parts_.store.at(p).state = SlotState::held;
}

inline void Settlement::kill_by(std::uint64_t seq, Pos p) {
  // Until `seq` is durable, the record holding p must survive a crash: keep the floor.
  if (!parts_.journal.durable(seq)) parts_.journal.keep_until(seq, parts_.store.uid(p));
  if (parts_.store.at(p).state == SlotState::answer) {
    parts_.answers.drop(p);
  } else {
    parts_.messages.drop(p);
  }
}

}  // namespace peermq::mq
