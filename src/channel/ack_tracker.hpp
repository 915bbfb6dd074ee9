// AckTracker: the receive side of acknowledgement (RFC 9000 §13.2).
//
// Remembers which packet numbers arrived, as up to max_ack_ranges ranges; packets below the
// oldest range it still holds count as seen, so a very late copy is dropped as a duplicate
// (its data, if any, is retransmitted in a new packet anyway).
// Ranges wholly below ack_from_ are not sent again: the peer acknowledged an ACK frame that
// covered them, so it knows (RFC 9000 §13.2.4). They are still kept to spot duplicates.
// An ACK is due at once after ack_eliciting_threshold ack-eliciting packets or on any
// out-of-order arrival or a lone PING (ack_now), otherwise max_ack_delay after the first
// unacknowledged one.
#pragma once

#include <cstdint>
#include <vector>

#include <peermq/clock.hpp>

#include "channel/frame.hpp"

namespace peermq::channel {

class AckTracker {
 public:
  // Records a packet; false when it is a duplicate (or too old to tell), which the caller
  // drops without acting on its frames.
  bool on_packet(std::uint64_t pn, bool ack_eliciting, Instant now);
  // The packet just recorded asked for its ACK and nothing else (a lone PING): the ACK is
  // due now, not max_ack_delay later (see Channel::on_packet).
  void ack_now(Instant now) noexcept;

  // Something arrived since the last ACK was sent: worth piggybacking on a packet.
  bool has_new() const noexcept { return new_since_ack_; }
  bool ack_due(Instant now) const noexcept;
  // When an ACK must go out (the arrival that made it urgent, if it is due at once);
  // Instant::max() when none is owed.
  Instant deadline() const noexcept;
  // Builds the ACK frame for the packets seen so far.
  void fill(AckFrame& a, Instant now) const noexcept;
  void on_ack_sent() noexcept;
  // The peer acknowledged a packet whose ACK frame had `largest` as its largest packet.
  void on_ack_acknowledged(std::uint64_t largest) noexcept;

 private:
  struct Range {
    std::uint64_t low;
    std::uint64_t high;  // inclusive
  };
  void insert(std::uint64_t pn);

  std::vector<Range> ranges_;  // descending: ranges_[0] holds the largest packet number
  std::uint64_t floor_ = 0;    // every packet number below is treated as seen
  std::uint64_t ack_from_ = 0; // ranges ending below are known to the peer
  Instant largest_time_{};
  unsigned unacked_eliciting_ = 0;
  bool immediate_ = false;
  bool new_since_ack_ = false;
  Instant ack_deadline_ = Instant::max();
};

}  // namespace peermq::channel
