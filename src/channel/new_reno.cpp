#include "channel/new_reno.hpp"

#include <algorithm>
#include <limits>

#include "wire/limits.hpp"

namespace peermq::channel {

NewReno::NewReno(std::size_t packet_size) noexcept
    : max_packet_(packet_size),
      min_window_(limits::kMinCongestionWindowPackets * packet_size),
      cwnd_(limits::kInitialCongestionWindowPackets * packet_size),
      ssthresh_(std::numeric_limits<std::size_t>::max()) {}

void NewReno::on_packet_removed(std::size_t bytes) noexcept {
  bytes_in_flight_ -= std::min(bytes, bytes_in_flight_);
}

void NewReno::on_packet_acked(std::size_t bytes, Instant time_sent) noexcept {
  // RFC 9002 §7.8: a sender that does not fill its window (app- or flow-control-limited)
  // has not shown the path can take more, so the window stays put (Linux: half full).
  const bool window_limited = 2 * bytes_in_flight_ >= cwnd_;
  on_packet_removed(bytes);
  if (in_recovery(time_sent) || !window_limited) return;
  if (cwnd_ < ssthresh_) {
    cwnd_ += bytes;
    return;
  }
  // Congestion avoidance: one max_packet per cwnd of acked bytes (RFC 9002 B.5).
  acked_in_avoidance_ += bytes;
  if (acked_in_avoidance_ >= cwnd_) {
    acked_in_avoidance_ -= cwnd_;
    cwnd_ += max_packet_;
  }
}

void NewReno::on_congestion_event(Instant latest_sent, Instant now) noexcept {
  if (in_recovery(latest_sent)) return;
  recovery_start_ = now;
  ssthresh_ = std::max(cwnd_ / 2, min_window_);
  cwnd_ = ssthresh_;
  acked_in_avoidance_ = 0;
}

void NewReno::on_persistent_congestion() noexcept {
  cwnd_ = min_window_;
  acked_in_avoidance_ = 0;
  recovery_start_.reset();
}

}  // namespace peermq::channel
