#include "session/replay_window.hpp"

#include <algorithm>

namespace peermq::session {

// The reader is an operator looking at drop counters: say what the drops mean and when
// they call for action.
const char* describe(ReplayError e) {
  switch (e) {
    case ReplayError::duplicate:
      return "packet counter was already received; the packet was dropped as a replay: a "
             "few are normal on paths that duplicate packets, many mean someone replays "
             "captured traffic";
    case ReplayError::too_old:
      return "packet counter is 8192 or more behind the newest one received; the packet was "
             "dropped: the path reorders or delays packets heavily, or they are replays";
    case ReplayError::exhausted:
      return "packet counter reached the session's limit; the packet was dropped: the "
             "session must rekey (a new handshake starts the counters again)";
  }
  return "unknown replay window error";
}

Result<void> ReplayWindow::check(std::uint64_t counter) const {
  // Refused first, whatever the window holds: past the limit the nonce space is spent.
  if (counter >= kRejectAfter) return ReplayError::exhausted;
  // Anything above the highest is new; next_ == 0 (nothing seen) makes every counter so.
  if (counter >= next_) return {};
  // counter + kWindowPackets cannot wrap: counter < kRejectAfter < 2^64 - kWindowPackets.
  // counter <= highest - kWindowPackets  <=>  counter + kWindowPackets < next_.
  if (counter + kWindowPackets < next_) return ReplayError::too_old;
  // In the window, so its block is one of the 129 the ring holds and slot() is its own;
  // in the compact form, counter < next_ <= kCompactCounters has its own inline bit.
  if ((word_of(counter) & bit(counter)) != 0) return ReplayError::duplicate;
  return {};
}

Result<void> ReplayWindow::accept(std::uint64_t counter) {
  if (Result<void> verdict = check(counter); !verdict) return verdict;
  if (counter >= kCompactCounters && !ring_) spill();
  if (counter >= next_) advance_to(counter);
  word_of(counter) |= bit(counter);
  return {};
}

// The inline words hold blocks 0 and 1, whose ring slots are 0 and 1; every other word of
// the new ring is zero, as the ring invariant wants for blocks never entered.
void ReplayWindow::spill() {
  ring_ = std::make_unique<std::array<std::uint64_t, kWords>>();
  for (std::size_t i = 0; i < kCompactWords; ++i) (*ring_)[block_slot(i)] = compact_[i];
  compact_.fill(0);
}

// Clears the words of the blocks the window enters, so bits left from the previous lap
// of the ring cannot pass for counters seen in this one. A jump of a whole ring or more
// clears every word once; smaller steps clear only what they cross.
void ReplayWindow::advance_to(std::uint64_t counter) noexcept {
  // Compact: each counter has its own bit, so nothing is ever entered twice.
  if (ring_ && next_ != 0) {
    const std::uint64_t from_block = (next_ - 1) / kWordBits;
    const std::uint64_t to_block = counter / kWordBits;
    const std::uint64_t entered = std::min<std::uint64_t>(to_block - from_block, kWords);
    for (std::uint64_t i = 1; i <= entered; ++i) (*ring_)[block_slot(from_block + i)] = 0;
  }
  // With nothing accepted yet the words are all zero already (constructor or reset()).
  next_ = counter + 1;
}

void ReplayWindow::reset() noexcept {
  compact_.fill(0);
  ring_.reset();
  next_ = 0;
}

}  // namespace peermq::session
