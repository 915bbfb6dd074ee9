#include "mq/settlement.hpp"

#include <string>

namespace peermq::mq {

namespace {

std::int64_t ticks(Instant t) noexcept {
  return t.time_since_epoch().count();
}

}  // namespace

void Settlement::time_out(Instant now) {
  const std::int64_t t = ticks(now);
  for (Pos p = parts_.router.time_out(t); p != kNoPos; p = parts_.router.time_out(t)) {
    const std::uint32_t command = parts_.store.at(p).command;
    metrics_.visibility_timeouts.inc();
    return_message(p, now);
    dispatch(command, now);
  }
}

void Settlement::dispatch(std::uint32_t command, Instant now) {
  Consumer* k = nullptr;
  for (Pos p = parts_.router.take(command, k); p != kNoPos; p = parts_.router.take(command, k)) {
    deliver_or_expire(*k, p, now);
  }
}

void Settlement::dispatch(Consumer& k, Instant now) {
  for (Pos p = parts_.router.take(k); p != kNoPos; p = parts_.router.take(k)) {
    deliver_or_expire(k, p, now);
  }
}

void Settlement::deliver_or_expire(Consumer& k, Pos p, Instant now) {
  if (block_expires(parts_.store.at(p)) <= ticks(now)) {
    expire(p, now);
  } else {
    (void)parts_.router.deliver(k, p, now);
  }
}

void Settlement::complete(Pos p, AnswerStatus status, std::span<const std::uint8_t> payload,
                          std::string_view reason, Instant now) {
  const Slot& s = parts_.store.at(p);
  const std::uint64_t uid = parts_.store.uid(p);
  const std::uint64_t seq =
      (block_flags(s) & kFlagNoAnswer) != 0
          ? parts_.journal.append(AckedRecord{uid})
          : store_answer(block_producer(s), block_id(s), status, payload, reason, uid, now);
  kill_by(seq, p);
}

void Settlement::expire(Pos p, Instant now) {
  if (parts_.store.at(p).state == SlotState::answer) {
    metrics_.answers_expired.inc();
    parts_.answers.drop(p);
    return;
  }
  detach(p);
  metrics_.expired.inc();
  complete(p, AnswerStatus::expired, {}, "TTL passed before a consumer took it", now);
}

void Settlement::return_message(Pos p, Instant now) {
  const Slot& s = parts_.store.at(p);
  if (s.deliveries >= config_.max_deliveries) {
    dead_letter(p, DeadLetterReason::max_deliveries,
                "delivered " + std::to_string(s.deliveries) + " times without an answer", now);
    return;
  }
  parts_.router.make_ready(p, true);
}

void Settlement::dead_letter(Pos p, DeadLetterReason reason, std::string_view text, Instant now) {
  (void)parts_.journal.append(DeadLetteredRecord{parts_.store.uid(p), reason});
  parts_.dead_letters.enter(p, reason);
  metrics_.dead_lettered.inc();
  const Slot& s = parts_.store.at(p);
  const std::uint32_t producer = block_producer(s);
  const std::uint64_t id = block_id(s);
  const PublicKey& key = parts_.producers.key(producer);
  sender_.report(key, "message " + std::to_string(id) + " of " + Address(key).to_string() +
                          " moved to the dead-letter queue: " + std::string(text));
  if ((block_flags(s) & kFlagNoAnswer) == 0) {
    const AnswerStatus status =
        reason == DeadLetterReason::rejected ? AnswerStatus::rejected : AnswerStatus::dead_lettered;
    (void)store_answer(producer, id, status, {}, text, 0, now);
  }
}

std::uint64_t Settlement::settle_dead_letters(const DlqModify& m,
                                              std::vector<std::uint32_t>& touched) {
  positions_.clear();
  parts_.dead_letters.select(m, positions_);
  std::uint64_t count = 0;
  for (Pos p : positions_) {
    // A uid named twice, or purged above: check before touching.
    if (!parts_.store.contains(p) || parts_.store.at(p).state != SlotState::dead_letter) {
      continue;
    }
    ++count;
    if (m.action == DlqAction::requeue) {
      touched.push_back(parts_.store.at(p).command);
      requeue_dead_letter(p);
      metrics_.dlq_requeued.inc();
    } else {
      purge(p);
      metrics_.dlq_purged.inc();
    }
  }
  return count;
}

void Settlement::purge(Pos p) {
  const std::uint64_t seq = parts_.journal.append(AckedRecord{parts_.store.uid(p)});
  parts_.dead_letters.leave(p);
  kill_by(seq, p);
}

void Settlement::requeue_dead_letter(Pos p) {
  (void)parts_.journal.append(RequeuedRecord{parts_.store.uid(p)});
  parts_.dead_letters.leave(p);
  parts_.dead_letters.reset(p);
  parts_.router.make_ready(p, false);
}

std::uint64_t Settlement::store_answer(std::uint32_t producer, std::uint64_t message_id,
                                       AnswerStatus status, std::span<const std::uint8_t> payload,
                                       std::string_view reason, std::uint64_t acked_uid,
                                       Instant now) {
  const std::int64_t expires = ticks(now) + config_.answer_ttl.count();
  const std::uint64_t seq = parts_.journal.append(
      AnsweredRecord{acked_uid, 0, parts_.producers.key(producer), message_id, status, payload,
                     reason, parts_.journal.to_wall_ms(expires)});
  const std::uint64_t replaced =
      parts_.answers.store(seq, producer, message_id, status, payload, reason, expires);
  // The answer it replaced keeps its record until this one is durable.
  if (replaced != 0 && !parts_.journal.durable(seq)) parts_.journal.keep_until(seq, replaced);
  return seq;
}

}  // namespace peermq::mq
