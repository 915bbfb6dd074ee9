// LossDetector: the sent packet tracker and loss detection of RFC 9002 §6.
//
//   packet threshold  a packet is lost once one sent loss_packet_threshold (3) later is acked
//   time threshold    ...or once it is 9/8 RTT older than an acknowledged packet
//   loss timer        fires when the oldest not-yet-lost packet crosses the time threshold
//   PTO               no ACK for pto_base * 2^pto_count (at most max_probe_timeout, or
//                     pto_base if longer) since the last ack-eliciting packet: the caller
//                     sends probes (bypassing the congestion window)
//
// Only ack-eliciting packets are tracked: an ACK-only packet is never acknowledged, so
// tracking it would hold the window open forever. Packets stay in send order; resolved ones
// leave from the front, and an ack names packets by binary search.
#pragma once

#include <cstdint>
#include <vector>

#include <peermq/clock.hpp>

#include "channel/frame.hpp"
#include "channel/ring.hpp"
#include "channel/rtt_estimator.hpp"

namespace peermq::channel {

// A byte range of one message carried by a packet; length 0 only for an empty message.
struct Chunk {
  std::uint64_t message_id = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct SentPacket {
  enum class State : std::uint8_t { outstanding, acked, lost };
  std::uint64_t pn = 0;
  Instant time_sent{};
  std::uint32_t bytes = 0;
  State state = State::outstanding;
  bool has_max_data = false;
  bool has_close = false;
  bool has_ack = false;
  std::uint64_t ack_largest = 0;  // the largest packet its ACK frame acknowledged
  std::vector<Chunk> chunks;
};

// What one ACK or timer did. The vectors are reused between calls.
struct LossOutcome {
  std::vector<SentPacket> acked;
  std::vector<SentPacket> lost;
  bool persistent_congestion = false;
  void clear() noexcept {
    acked.clear();
    lost.clear();
    persistent_congestion = false;
  }
};

class LossDetector {
 public:
  // Packet numbers must increase from call to call.
  void on_packet_sent(SentPacket&& p);
  // Marks the packets `a` acknowledges, samples the RTT, and declares losses.
  void on_ack(const AckFrame& a, Instant now, RttEstimator& rtt, LossOutcome& out);
  // The loss timer or PTO fired; a PTO bumps the backoff and returns true (send probes).
  bool on_timeout(Instant now, const RttEstimator& rtt, LossOutcome& out);
  // Loss timer if armed, else PTO if anything is outstanding, else Instant::max().
  Instant deadline(const RttEstimator& rtt) const noexcept;

  unsigned pto_count() const noexcept { return pto_count_; }
  // The probe timeout after `pto_count` unanswered probes: doubled each time, capped.
  static Duration pto_interval(Duration base, unsigned pto_count) noexcept;
  std::size_t outstanding() const noexcept { return outstanding_; }

 private:
  void detect_lost(Instant now, const RttEstimator& rtt, LossOutcome& out);
  bool is_persistent(const LossOutcome& out, const RttEstimator& rtt) const;
  Instant pto_deadline(const RttEstimator& rtt) const noexcept;
  void pop_resolved();

  Ring<SentPacket> sent_;  // no memory while nothing is in flight
  std::size_t outstanding_ = 0;
  bool has_largest_acked_ = false;
  std::uint64_t largest_acked_ = 0;
  std::uint64_t largest_sent_ = 0;
  Instant last_sent_{};
  Instant loss_time_ = Instant::max();
  Instant first_rtt_sample_ = Instant::max();
  unsigned pto_count_ = 0;
};

}  // namespace peermq::channel
