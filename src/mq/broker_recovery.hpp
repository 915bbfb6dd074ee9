// BrokerRecovery: the broker's state and its journal records, each made from the other —
// apply() rebuilds state from a record at start-up; compact() rewrites the oldest live
// records at the journal's head so the live floor keeps moving.
//
// Replay (records in seq order, each durable, after BrokerJournal::replayed(seq)):
//   stored         a message under uid = seq, ready or in the DLQ with the deliveries it
//                  had; replaces prev_uid (compaction's rewrite); its id joins the dedupe
//   acked          message uid is done
//   answered       message acked_uid is done; an answer under uid = seq replaces prev_uid
//   answer_done    answer uid is done
//   dead_lettered  ready message uid moves to the DLQ
//   requeued       dead letter uid is ready again, from delivery count 0
// A record naming a uid that is not there (its segment deleted, or a record already
// superseded) changes nothing: replay is idempotent where the log overlaps. Nothing is in
// flight or pending after replay: the deliveries that were are ready again.
//
// Compaction: while the ring of slots spans more than twice the live ones (and at least
// compact_min_span), the slot at the head — a message no consumer takes, a dead letter, an
// answer never fetched — is written again as a new record (stored or answered naming its
// old uid) and moved to the tail, at most limits::kBrokerCompactBatch per call. The old
// record stays needed until the new one is durable (BrokerJournal::keep_until). It waits
// at a slot that is pending or in flight (a delivery tag names the position) or not
// durable.
//
// Holds references to the parts it rebuilds and to the Settlement it takes messages off
// their lists with, which outlive it. Single-threaded.
#pragma once

#include <cstdint>

#include <peermq/counters.hpp>
#include <peermq/result.hpp>

#include "mq/broker_parts.hpp"
#include "mq/journal_record.hpp"
#include "mq/settlement.hpp"

namespace peermq::mq {

class BrokerRecovery {
 public:
  BrokerRecovery(const BrokerParts& parts, Settlement& settlement, Counter& relocated,
                 std::uint64_t compact_min_span) noexcept
      : parts_(parts),
        settlement_(settlement),
        relocated_(relocated),
        compact_min_span_(compact_min_span) {}

  // Applies durable record `seq`. unknown_record_type for a record of no known type.
  Result<void> apply(std::uint64_t seq, const JournalRecord& record);
  // Moves up to limits::kBrokerCompactBatch old slots from the head to the tail.
  void compact();

 private:
  Pos message(std::uint64_t uid) const noexcept;  // the live message slot of uid, or kNoPos
  Pos answer(std::uint64_t uid) const noexcept;   // the live answer slot of uid, or kNoPos
  void drop_message(Pos p);
  Result<void> apply_stored(std::uint64_t seq, const StoredRecord& r);
  Result<void> apply_answered(std::uint64_t seq, const AnsweredRecord& r);
  void relocate(Pos p);

  BrokerParts parts_;
  Settlement& settlement_;
  Counter& relocated_;
  std::uint64_t compact_min_span_;
};

}  // namespace peermq::mq
