#include "channel/pacer.hpp"

#include <algorithm>
#include <cmath>

#include "wire/limits.hpp"

namespace peermq::channel {

Pacer::Pacer(std::size_t packet_size) noexcept
    : max_packet_(packet_size),
      tokens_(static_cast<double>(limits::kPacingBurstPackets * packet_size)),
      capacity_(tokens_) {}

void Pacer::update(Instant now, std::size_t cwnd, Duration srtt) noexcept {
  const double ns = static_cast<double>(std::max(srtt, Duration(1)).count());
  rate_per_ns_ = static_cast<double>(cwnd) * limits::kPacingGainNum / limits::kPacingGainDen / ns;
  // The burst is what the rate earns in one timer tick (the loop cannot wake more often,
  // so a smaller burst caps the rate at burst / tick), and at least a few packets; never
  // more than the window, and never below two packets, or pacing stalls the ACK clock.
  const double tick = static_cast<double>(Duration(limits::kTimerGranularity).count());
  const double burst =
      std::max(static_cast<double>(std::size_t{limits::kPacingBurstPackets} * max_packet_),
               rate_per_ns_ * tick);
  capacity_ =
      std::clamp(std::min(burst, static_cast<double>(cwnd)), static_cast<double>(2 * max_packet_),
                 std::max(static_cast<double>(cwnd), static_cast<double>(2 * max_packet_)));
  if (started_ && now > last_) {
    tokens_ += rate_per_ns_ * static_cast<double>((now - last_).count());
  }
  tokens_ = std::min(tokens_, capacity_);
  last_ = std::max(now, last_);
  started_ = true;
}

void Pacer::on_sent(std::size_t bytes) noexcept {
  tokens_ = std::max(tokens_ - static_cast<double>(bytes), -static_cast<double>(max_packet_));
}

Instant Pacer::next_send_time() const noexcept {
  if (can_send() || rate_per_ns_ <= 0) return last_;
  const double wait = (static_cast<double>(max_packet_) - tokens_) / rate_per_ns_;
  return last_ + Duration(static_cast<Duration::rep>(std::ceil(wait)));
}

}  // namespace peermq::channel
