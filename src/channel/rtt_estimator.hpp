// RttEstimator: round-trip time estimate (RFC 9002 §5).
//
// Before the first sample, smoothed_rtt is kInitialRtt and rttvar half of it (§6.2.2).
// The peer's reported ACK delay is subtracted only when that leaves the sample at or above
// min_rtt, and is capped at max_ack_delay (§5.3).
#pragma once

#include <peermq/clock.hpp>

namespace peermq::channel {

class RttEstimator {
 public:
  RttEstimator() noexcept;

  void on_sample(Duration latest, Duration ack_delay) noexcept;

  bool has_sample() const noexcept { return has_sample_; }
  Duration latest_rtt() const noexcept { return latest_; }
  Duration smoothed_rtt() const noexcept { return smoothed_; }
  Duration rttvar() const noexcept { return rttvar_; }
  Duration min_rtt() const noexcept { return min_; }
  // smoothed_rtt + max(4 * rttvar, kGranularity) + max_ack_delay, before backoff (§6.2.1).
  Duration pto_base() const noexcept;
  // max(kTimeThreshold * max(smoothed_rtt, latest_rtt), kGranularity) (§6.1.2).
  Duration loss_delay() const noexcept;

 private:
  bool has_sample_ = false;
  Duration latest_{};
  Duration smoothed_{};
  Duration rttvar_{};
  Duration min_{};
};

}  // namespace peermq::channel
