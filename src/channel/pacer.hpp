// Pacer: spreads a congestion window over a round trip (RFC 9002 §7.7), as a token bucket.
//
// Tokens are bytes; they refill at pacing_gain * cwnd / smoothed_rtt and cap at a burst of
// a few packets, or of one timer tick's worth when the rate is high (a loop that wakes at
// most once per millisecond could otherwise never send faster than burst per ms), so an
// idle sender may start with a short burst but never dumps its whole window at line rate.
// A packet may go out when the bucket holds one packet's worth.
#pragma once

#include <cstddef>

#include <peermq/clock.hpp>

namespace peermq::channel {

class Pacer {
 public:
  explicit Pacer(std::size_t packet_size) noexcept;

  // Refills the bucket for the time since the last call; cwnd and srtt set the rate.
  void update(Instant now, std::size_t cwnd, Duration srtt) noexcept;
  bool can_send() const noexcept { return tokens_ >= static_cast<double>(max_packet_); }
  void on_sent(std::size_t bytes) noexcept;
  // When the bucket will next hold a packet's worth (at the last update's rate).
  Instant next_send_time() const noexcept;

 private:
  std::size_t max_packet_;
  double tokens_;
  double capacity_;
  double rate_per_ns_ = 0;  // bytes per nanosecond
  Instant last_{};
  bool started_ = false;
};

}  // namespace peermq::channel
