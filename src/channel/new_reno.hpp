// NewReno: the congestion controller of RFC 9002 §7 (Appendix B), counting bytes.
//
//   slow start            cwnd grows by the bytes acknowledged, until a loss or ssthresh
//   recovery              on loss: ssthresh = cwnd = max(cwnd / 2, minimum window); one
//                         reduction per round trip: losses of packets sent before the
//                         recovery started do not reduce it again
//   congestion avoidance  cwnd grows by about one packet per window acknowledged
//   persistent congestion cwnd falls to the minimum window (§7.6)
//
// Packets sent before the recovery period started do not grow the window when acked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <peermq/clock.hpp>

namespace peermq::channel {

class NewReno {
 public:
  explicit NewReno(std::size_t packet_size) noexcept;

  void on_packet_sent(std::size_t bytes) noexcept { bytes_in_flight_ += bytes; }
  void on_packet_acked(std::size_t bytes, Instant time_sent) noexcept;
  // A packet left the network without an ack (declared lost): no longer in flight.
  void on_packet_removed(std::size_t bytes) noexcept;
  // One congestion event for a batch of losses; `latest_sent` is the newest lost packet's.
  void on_congestion_event(Instant latest_sent, Instant now) noexcept;
  void on_persistent_congestion() noexcept;

  bool can_send() const noexcept { return bytes_in_flight_ < cwnd_; }
  std::size_t congestion_window() const noexcept { return cwnd_; }
  std::size_t bytes_in_flight() const noexcept { return bytes_in_flight_; }
  std::size_t slow_start_threshold() const noexcept { return ssthresh_; }
  bool in_recovery(Instant time_sent) const noexcept {
    return recovery_start_ && time_sent <= *recovery_start_;
  }

 private:
  std::size_t max_packet_;
  std::size_t min_window_;
  std::size_t cwnd_;
  std::size_t ssthresh_;
  std::size_t bytes_in_flight_ = 0;
  std::size_t acked_in_avoidance_ = 0;
  std::optional<Instant> recovery_start_;
};

}  // namespace peermq::channel
