// ReplayWindow: accepts each data packet counter at most once (WireGuard counter_validate,
// RFC 6479).
//
// Contract: check before decrypting, accept after the tag verified.
//
//   if (!window.check(counter)) drop;             // cheap: no AEAD work for a replay
//   if (!aead_open(key, counter, packet)) drop;   // only authentic packets get past this
//   if (!window.accept(counter)) drop;            // marks it; the only call that changes state
//
// Calling accept() on a counter whose packet has not been authenticated lets anyone who
// can send a datagram move the window: one forged counter near the limit would make every
// genuine packet afterwards "too old". check() never marks anything, so it is safe on
// unauthenticated input. accept() re-runs the check itself, so a duplicate that raced in
// between the two calls is still refused.
//
// The window: with H the highest counter accepted so far, a counter c is accepted when it
//   - is below limits::kRejectAfterMessages (else `exhausted`: the session must rekey),
//   - and c > H - kWindowPackets, i.e. c >= H - 8191: exactly the 8192 newest counters
//     H - 8191 ... H, plus every counter above H (else `too_old`),
//   - and has not been accepted before (else `duplicate`).
// Before anything is accepted every counter below the limit is new. Errors are checked in
// that order, so a counter that is both old and seen reports `too_old`.
//
// Memory: a ring of 129 64-bit words (8192 bits of window plus one spare word, as in RFC
// 6479). Moving the window forward clears only the words it enters, never shifts the
// bitmap, so accept() is O(1) amortised and O(129) at worst. The ring (1 KiB) is allocated
// only when the first counter at or above kCompactCounters is accepted: until then every
// counter accepted has its own bit in two inline words, which hold the whole window. Most
// sessions of a busy node are idle (a handshake, a hello, a few keepalives per key), so
// their keys cost 32 bytes of window instead of 1 KiB; a busy key pays one allocation in
// its life. accept() can therefore throw std::bad_alloc, once.
//
// Not thread-safe: one session owns one window and calls it from one loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <peermq/result.hpp>

#include "wire/limits.hpp"

namespace peermq::session {

// Why a packet counter was refused; the session drops the packet and counts the reason.
enum class ReplayError {
  duplicate = 1,  // the counter was already accepted: a replayed or duplicated packet
  too_old,        // the counter is kWindowPackets or more below the highest accepted one
  exhausted,      // the counter reached limits::kRejectAfterMessages: rekey needed
};
const char* describe(ReplayError e);
inline const char* category_name(ReplayError) {
  return "peermq.session.replay";
}
PEERMQ_ERROR_ENUM(ReplayError)

class ReplayWindow {
 public:
  // Counters accepted out of order behind the highest one (the highest included).
  static constexpr std::uint64_t kWindowPackets = limits::kReplayWindowPackets;
  // First counter refused as `exhausted`.
  static constexpr std::uint64_t kRejectAfter = limits::kRejectAfterMessages;

  // Would accept(counter) succeed now? Changes nothing.
  Result<void> check(std::uint64_t counter) const;
  // check(), then marks the counter as seen and moves the window forward if it is the
  // new highest. Call only after the packet carrying it has been authenticated.
  Result<void> accept(std::uint64_t counter);

  // The highest counter accepted so far; 0 when none was (see empty()).
  std::uint64_t highest() const noexcept { return next_ == 0 ? 0 : next_ - 1; }
  // True until the first accept() and after reset().
  bool empty() const noexcept { return next_ == 0; }
  // Forgets everything: for a new key, whose counters start again at 0.
  void reset() noexcept;

  // Counters below this are kept inline; the first one at or above allocates the ring.
  static constexpr std::uint64_t kCompactCounters = 128;
  // True while no ring is allocated (every counter accepted is below kCompactCounters).
  bool compact() const noexcept { return ring_ == nullptr; }

 private:
  static constexpr unsigned kWordBits = 64;
  static constexpr std::size_t kWords = kWindowPackets / kWordBits + 1;
  static constexpr std::size_t kCompactWords = kCompactCounters / kWordBits;
  static_assert(kCompactCounters % kWordBits == 0 && kCompactWords <= kWords);
  static_assert(kWindowPackets % kWordBits == 0, "the window must fill whole words");
  // Neither highest + 1 nor counter + kWindowPackets can wrap for a counter below the
  // limit, so next_ = 0 is free to mean "nothing accepted" and check() needs no guards.
  static_assert(kRejectAfter <= UINT64_MAX - kWindowPackets, "the limit must leave headroom");
  static_assert(kRejectAfter > kWindowPackets);

  static std::size_t block_slot(std::uint64_t block) noexcept {
    return static_cast<std::size_t>(block % kWords);
  }
  static std::size_t slot(std::uint64_t counter) noexcept {
    return block_slot(counter / kWordBits);
  }
  static std::uint64_t bit(std::uint64_t counter) noexcept {
    return std::uint64_t{1} << (counter % kWordBits);
  }
  void advance_to(std::uint64_t counter) noexcept;
  // Leaves the compact form: allocates the ring and moves the inline words into it.
  void spill();
  std::uint64_t& word_of(std::uint64_t counter) noexcept {
    return ring_ ? (*ring_)[slot(counter)] : compact_[static_cast<std::size_t>(counter / kWordBits)];
  }
  std::uint64_t word_of(std::uint64_t counter) const noexcept {
    return ring_ ? (*ring_)[slot(counter)] : compact_[static_cast<std::size_t>(counter / kWordBits)];
  }

  // Compact form (no ring): bit c of these words is counter c, for c < kCompactCounters.
  std::array<std::uint64_t, kCompactWords> compact_{};
  // Ring of words: word slot(c) holds the bits of counters c & ~63 ... c | 63 for the
  // 129 most recent 64-counter blocks, the block of the highest counter included.
  std::unique_ptr<std::array<std::uint64_t, kWords>> ring_;
  std::uint64_t next_ = 0;  // highest accepted counter + 1, or 0 when none was
};

}  // namespace peermq::session

PEERMQ_ERROR_ENUM_STD(peermq::session::ReplayError)
