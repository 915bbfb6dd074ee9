#include "mq/broker_recovery.hpp"

#include <algorithm>

#include "mq/mq_error.hpp"
#include "wire/limits.hpp"

namespace peermq::mq {

namespace {

std::string_view text_of(std::span<const std::uint8_t> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

// ---- replay ----------------------------------------------------------------------------------

Pos BrokerRecovery::message(std::uint64_t uid) const noexcept {
  const Pos p = uid == 0 ? kNoPos : parts_.store.find_uid(uid);
  return p != kNoPos && parts_.store.at(p).state != SlotState::answer ? p : kNoPos;
}

Pos BrokerRecovery::answer(std::uint64_t uid) const noexcept {
  const Pos p = uid == 0 ? kNoPos : parts_.store.find_uid(uid);
  return p != kNoPos && parts_.store.at(p).state == SlotState::answer ? p : kNoPos;
}

void BrokerRecovery::drop_message(Pos p) {
  settlement_.detach(p);
  parts_.messages.drop(p);
}

Result<void> BrokerRecovery::apply(std::uint64_t seq, const JournalRecord& record) {
  switch (static_cast<RecordType>(record.index() + 1)) {
    case RecordType::stored: return apply_stored(seq, std::get<StoredRecord>(record));
    case RecordType::acked:
      if (const Pos p = message(std::get<AckedRecord>(record).uid); p != kNoPos) drop_message(p);
      return {};
    case RecordType::answered: return apply_answered(seq, std::get<AnsweredRecord>(record));
    case RecordType::answer_done:
      if (const Pos p = answer(std::get<AnswerDoneRecord>(record).uid); p != kNoPos) {
        parts_.answers.drop(p);
      }
      return {};
    case RecordType::dead_lettered: {
      const auto& r = std::get<DeadLetteredRecord>(record);
      if (const Pos p = message(r.uid); p != kNoPos && parts_.store.at(p).state == SlotState::ready) {
        settlement_.detach(p);
        parts_.dead_letters.enter(p, r.reason);
      }
      return {};
    }
    case RecordType::requeued: {
      const Pos p = message(std::get<RequeuedRecord>(record).uid);
      if (p != kNoPos && parts_.store.at(p).state == SlotState::dead_letter) {
        settlement_.detach(p);
        parts_.dead_letters.reset(p);
        parts_.router.make_ready(p, false);
      }
      return {};
    }
  }
  return MqError::unknown_record_type;
}

Result<void> BrokerRecovery::apply_stored(std::uint64_t seq, const StoredRecord& r) {
  if (const Pos old = message(r.prev_uid); old != kNoPos) drop_message(old);
  const std::int64_t expires =
      r.expires_ms == 0 ? kNever : parts_.journal.from_wall_ms(r.expires_ms);
  const std::uint32_t producer = parts_.producers.intern(r.producer);  // held across the slot
  const Pos p = parts_.messages.create(seq,
                                       NewMessage{producer, r.message_id, r.command, r.headers,
                                                  r.payload, expires, r.priority, r.flags},
                                       SlotState::held);
  parts_.producers.release(producer);
  Slot& s = parts_.store.at(p);
  s.deliveries = static_cast<std::uint8_t>(std::min<std::uint32_t>(r.deliveries, 255));
  if (r.dead_letter != 0) {
    parts_.dead_letters.enter(p, static_cast<DeadLetterReason>(r.dead_letter));
  } else {
    parts_.router.make_ready(p, false);
  }
  parts_.publishes.remember(block_producer(s), r.message_id);
  return {};
}

Result<void> BrokerRecovery::apply_answered(std::uint64_t seq, const AnsweredRecord& r) {
  if (const Pos p = message(r.acked_uid); p != kNoPos) drop_message(p);
  if (const Pos p = answer(r.prev_uid); p != kNoPos) parts_.answers.drop(p);
  const std::uint32_t producer = parts_.producers.intern(r.producer);  // held across the slot
  // What this replaces is ended by a durable record: nothing to keep.
  (void)parts_.answers.store(
      seq, producer, r.message_id, r.status, r.payload, r.reason,
      r.expires_ms == 0 ? kNever : parts_.journal.from_wall_ms(r.expires_ms));
  parts_.publishes.remember(producer, r.message_id);
  parts_.producers.release(producer);
  return {};
}

// ---- compaction ------------------------------------------------------------------------------

void BrokerRecovery::compact() {
  for (std::uint32_t budget = limits::kBrokerCompactBatch; budget > 0; --budget) {
    if (parts_.store.span() <= std::max(2 * parts_.store.live(), compact_min_span_)) return;
    const Pos p = parts_.store.head();
    const Slot& s = parts_.store.at(p);
    // In flight (its tag names the position) or not durable yet: wait.
    if (s.state == SlotState::pending || s.state == SlotState::in_flight ||
        !parts_.journal.durable(parts_.store.uid(p))) {
      return;
    }
    relocate(p);
  }
}

void BrokerRecovery::relocate(Pos p) {
  const Slot& s = parts_.store.at(p);
  const std::uint64_t old_uid = parts_.store.uid(p);
  const PublicKey& key = parts_.producers.key(block_producer(s));
  const std::int64_t expires = block_expires(s);
  const std::int64_t wall = expires == kNever ? 0 : parts_.journal.to_wall_ms(expires);
  const std::uint8_t flags = block_flags(s);
  std::uint64_t seq = 0;
  if (s.state == SlotState::answer) {
    seq = parts_.journal.append(AnsweredRecord{0, old_uid, key, block_id(s),
                                               static_cast<AnswerStatus>(flags), block_second(s),
                                               text_of(block_first(s)), wall});
    (void)parts_.answers.relocate(p, seq);
  } else {
    const bool dead = s.state == SlotState::dead_letter;
    seq = parts_.journal.append(
        StoredRecord{old_uid, key, block_id(s), parts_.router.command_name(s.command),
                     Headers{block_first(s), block_first(s).empty() ? 0u : 1u}, block_second(s),
                     wall, s.priority, static_cast<std::uint8_t>(flags & kKnownFlags), s.deliveries,
                     static_cast<std::uint8_t>(dead ? flags >> 4 : 0)});
    SlotList* list =
        s.state == SlotState::ready ? &parts_.router.ready_list(s.command, s.priority) : nullptr;
    (void)parts_.store.relocate(p, seq, list);
  }
  parts_.journal.keep_until(seq, old_uid);
  relocated_.inc();
}

}  // namespace peermq::mq
