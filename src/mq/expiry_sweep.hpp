// ExpirySweep: when the broker next looks for expired messages and answers, and the look.
//
// Stored messages with a TTL and stored answers (answer_ttl) expire. Keeping them sorted by
// expiry would cost an index entry each; instead every part that stores a timed slot
// note()s its expiry, which keeps only the earliest, and sweep() walks the store once
// (skipping untimed slots unread: Slot::timed), hands each expired ready message or answer
// to the owner's callback and finds the next expiry. Sweeps are at least
// limits::kBrokerExpirySweepInterval apart, so a stream of expiring messages costs one
// walk per interval, not one per message; a message found expired by dispatch in between
// is dropped there (it is never delivered late either way).
//
// Times are Instant ticks as in block_expires(). Dead letters never expire; pending
// and in-flight messages are checked when they become ready. Single-threaded.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <peermq/clock.hpp>

#include "mq/message_store.hpp"
#include "wire/limits.hpp"

namespace peermq::mq {

class ExpirySweep {
 public:
  // A slot expiring at `expires` (kNever: none) was stored.
  void note(std::int64_t expires) noexcept { next_expiry_ = std::min(next_expiry_, expires); }
  // When the next sweep is due; kNever when nothing stored expires.
  std::int64_t deadline() const noexcept {
    return next_expiry_ == kNever ? kNever : std::max(next_expiry_, next_sweep_);
  }
  bool due(std::int64_t now) const noexcept { return next_expiry_ != kNever && now >= deadline(); }

  // Calls expired(p) for every ready message and answer in `store` whose expiry is at or
  // before `now`; expired(p) must remove p from the store (kill it). Slots it stores
  // meanwhile note() themselves. Then notes the earliest expiry left and the next sweep
  // time.
  template <class Expired>
  void sweep(const MessageStore& store, std::int64_t now, Expired&& expired);

 private:
  std::int64_t next_expiry_ = kNever;  // no stored expiry before this
  std::int64_t next_sweep_ = 0;        // no sweep before this
};

template <class Expired>
void ExpirySweep::sweep(const MessageStore& store, std::int64_t now, Expired&& expired) {
  std::int64_t next = kNever;
  next_expiry_ = kNever;  // answers stored during the pass note themselves
  const Pos end = store.tail();
  // A kill may move the head past p: carry on from wherever it is.
  for (Pos p = store.head(); p < end; p = std::max(p + 1, store.head())) {
    const Slot& s = store.at(p);
    if (!s.timed) continue;
    switch (s.state) {
      case SlotState::ready:
      case SlotState::answer:
        if (block_expires(s) <= now) {
          expired(p);
          continue;
        }
        break;
      case SlotState::pending:
      case SlotState::in_flight: break;  // checked when they become ready
      default: continue;  // dead letters keep until an admin acts; dead slots have no block
    }
    next = std::min(next, block_expires(s));
  }
  next_expiry_ = std::min(next_expiry_, next);
  next_sweep_ =
      now + std::chrono::duration_cast<Duration>(limits::kBrokerExpirySweepInterval).count();
}

}  // namespace peermq::mq
