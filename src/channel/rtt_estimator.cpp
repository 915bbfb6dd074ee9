#include "channel/rtt_estimator.hpp"

#include <algorithm>

#include "wire/limits.hpp"

namespace peermq::channel {

RttEstimator::RttEstimator() noexcept
    : smoothed_(limits::kInitialRtt), rttvar_(Duration(limits::kInitialRtt) / 2) {}

void RttEstimator::on_sample(Duration latest, Duration ack_delay) noexcept {
  latest_ = latest;
  if (!has_sample_) {
    has_sample_ = true;
    min_ = latest;
    smoothed_ = latest;
    rttvar_ = latest / 2;
    return;
  }
  min_ = std::min(min_, latest);
  ack_delay = std::min(ack_delay, Duration(limits::kMaxAckDelay));
  Duration adjusted = latest;
  if (latest >= min_ + ack_delay) adjusted = latest - ack_delay;
  const Duration deviation = smoothed_ > adjusted ? smoothed_ - adjusted : adjusted - smoothed_;
  rttvar_ = (3 * rttvar_ + deviation) / 4;
  smoothed_ = (7 * smoothed_ + adjusted) / 8;
}

Duration RttEstimator::pto_base() const noexcept {
  return smoothed_ + std::max(4 * rttvar_, Duration(limits::kTimerGranularity)) +
         Duration(limits::kMaxAckDelay);
}

Duration RttEstimator::loss_delay() const noexcept {
  const Duration base = std::max(smoothed_, latest_);
  return std::max(base * limits::kLossTimeThresholdNum / limits::kLossTimeThresholdDen,
                  Duration(limits::kTimerGranularity));
}

}  // namespace peermq::channel
