// PublishTracker: what the broker knows of the publishes it stored — which (producer, id)
// pairs it holds within the dedupe window, and which are appended but not yet durable,
// waiting for the commit that confirms them.
//
// Dedupe: ids are remembered in a PublishDedupe (mq/publish_dedupe.hpp) for one to two
// dedupe windows: the generation turns every window, and early (counted in
// mq_dedupe_early_turns_total) once the current one holds dedupe_max_entries runs and
// single ids. A generation holds a ProducerTable reference for each producer it remembers,
// released when it is forgotten, so the index cannot name another producer meanwhile.
//
// Pending: add() queues a freshly appended message's slot; pop_committed() hands them back
// in seq order once a commit covers them, and the owner confirms each. pending() says
// whether a confirm for (producer, id) is still to come, so a duplicate publish before the
// commit gets no confirm of its own: the commit's covers it. The same id can be pending
// twice (stored again after the dedupe forgot it): it is counted.
//
// Cost: the dedupe's (nothing per consecutive id), plus while pending one deque entry and
// one FlatTable entry per message (a commit's worth). The tracker reads slots of the store
// and entries of the table it is given, which outlive it. Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include <peermq/clock.hpp>
#include <peermq/counters.hpp>

#include "mq/flat_table.hpp"
#include "mq/message_store.hpp"
#include "mq/producer_table.hpp"
#include "mq/publish_dedupe.hpp"

namespace peermq::mq {

class PublishTracker {
 public:
  PublishTracker(const MessageStore& store, ProducerTable& producers, Duration window,
                 std::size_t max_entries, Counter& early_turns, Instant now) noexcept;
  PublishTracker(const PublishTracker&) = delete;
  PublishTracker& operator=(const PublishTracker&) = delete;

  // Stored within the window (pending or not).
  bool stored(std::uint32_t producer, std::uint64_t id) const noexcept {
    return dedupe_.contains(producer, id);
  }
  // Its confirm is still to come with a commit.
  bool pending(std::uint32_t producer, std::uint64_t id) const noexcept {
    return pending_ids_.contains(MessageKey{producer, id});
  }
  // Message slot `p` (producer, id) was just appended: pending until committed, and
  // remembered by the dedupe.
  void add(Pos p, std::uint32_t producer, std::uint64_t id, Instant now);
  // Recovery: (producer, id) is stored (replayed records are durable: not pending).
  void remember(std::uint32_t producer, std::uint64_t id);
  // The oldest pending slot if record `committed` covers it, taken off the pending list;
  // kNoPos if none is.
  Pos pop_committed(std::uint64_t committed);

  // Turns the dedupe generation when its window is over.
  void on_timeout(Instant now);
  // When on_timeout() has work: kNever while the dedupe is empty.
  std::int64_t deadline() const noexcept { return dedupe_.empty() ? kNever : turn_at_; }

  std::size_t pending_count() const noexcept { return pending_.size(); }
  std::uint64_t ids() const noexcept { return dedupe_.ids(); }
  std::size_t memory_bytes() const noexcept {
    return dedupe_.memory_bytes() + pending_ids_.memory_bytes();
  }

 private:
  void turn(Instant now);

  const MessageStore& store_;
  ProducerTable& producers_;
  Duration window_;
  std::size_t max_entries_;
  Counter& early_turns_;
  PublishDedupe dedupe_;
  std::int64_t turn_at_;
  std::deque<Pos> pending_;  // appended, not committed, in seq order
  FlatTable<MessageKey, std::uint32_t, MessageKeyHash> pending_ids_;  // of pending_: how often
};

inline Pos PublishTracker::pop_committed(std::uint64_t committed) {
  if (pending_.empty()) return kNoPos;
  const Pos p = pending_.front();
  if (store_.uid(p) > committed) return kNoPos;
  pending_.pop_front();
  const Slot& s = store_.at(p);
  const MessageKey key{block_producer(s), block_id(s)};
  if (std::uint32_t* n = pending_ids_.find(key); n != nullptr && --*n == 0) {
    pending_ids_.erase(key);
  }
  return p;
}

}  // namespace peermq::mq
