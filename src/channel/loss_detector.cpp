#include "channel/loss_detector.hpp"

#include <algorithm>
#include <chrono>

#include "wire/limits.hpp"

namespace peermq::channel {

void LossDetector::on_packet_sent(SentPacket&& p) {
  largest_sent_ = p.pn;
  last_sent_ = p.time_sent;
  p.state = SentPacket::State::outstanding;
  sent_.push_back(std::move(p));
  ++outstanding_;
}

void LossDetector::on_ack(const AckFrame& a, Instant now, RttEstimator& rtt, LossOutcome& out) {
  out.clear();
  const std::uint64_t largest = a.largest();
  const std::size_t before = out.acked.size();
  bool largest_newly_acked = false;
  Instant largest_time_sent{};
  for (std::size_t i = 0; i < a.range_count; ++i) {
    const AckRange& r = a.ranges[i];
    auto it = std::lower_bound(sent_.begin(), sent_.end(), r.smallest,
                               [](const SentPacket& p, std::uint64_t pn) { return p.pn < pn; });
    for (; it != sent_.end() && it->pn <= r.largest; ++it) {
      if (it->state != SentPacket::State::outstanding) continue;
      it->state = SentPacket::State::acked;
      --outstanding_;
      if (it->pn == largest) {
        largest_newly_acked = true;
        largest_time_sent = it->time_sent;
      }
      out.acked.push_back(std::move(*it));
    }
  }
  if (out.acked.size() == before) return;  // nothing new: no RTT sample, no loss detection
  if (!has_largest_acked_ || largest > largest_acked_) {
    largest_acked_ = std::min(largest, largest_sent_);
    has_largest_acked_ = true;
  }
  if (largest_newly_acked) {
    if (!rtt.has_sample()) first_rtt_sample_ = now;
    // The peer's number can be anything up to 2^62: cap it (as the estimator would) before
    // it is scaled to nanoseconds, where it could overflow.
    constexpr std::uint64_t kMaxDelayUs =
        std::chrono::duration_cast<std::chrono::microseconds>(limits::kMaxAckDelay).count();
    const auto delay = std::chrono::microseconds(std::min(a.ack_delay_us, kMaxDelayUs));
    rtt.on_sample(now - largest_time_sent, delay);
  }
  pto_count_ = 0;
  detect_lost(now, rtt, out);
  pop_resolved();
}

void LossDetector::detect_lost(Instant now, const RttEstimator& rtt, LossOutcome& out) {
  loss_time_ = Instant::max();
  if (!has_largest_acked_) return;
  const Duration delay = rtt.loss_delay();
  const Instant lost_before = now - delay;
  for (SentPacket& p : sent_) {
    if (p.pn > largest_acked_) break;
    if (p.state != SentPacket::State::outstanding) continue;
    if (p.time_sent <= lost_before || largest_acked_ >= p.pn + limits::kLossPacketThreshold) {
      p.state = SentPacket::State::lost;
      --outstanding_;
      out.lost.push_back(std::move(p));
    } else {
      loss_time_ = std::min(loss_time_, p.time_sent + delay);
    }
  }
  if (!out.lost.empty()) out.persistent_congestion = is_persistent(out, rtt);
}

// RFC 9002 §7.6: losses spanning more than three PTOs with no acknowledged packet sent in
// between mean the path went dark, not that one burst got dropped.
bool LossDetector::is_persistent(const LossOutcome& out, const RttEstimator& rtt) const {
  if (!rtt.has_sample()) return false;
  const SentPacket* first = nullptr;
  for (const SentPacket& p : out.lost) {
    if (p.time_sent > first_rtt_sample_) {
      first = &p;
      break;
    }
  }
  if (first == nullptr) return false;
  const SentPacket& last = out.lost.back();
  const Duration span = rtt.pto_base() * limits::kPersistentCongestionThreshold;
  if (last.time_sent - first->time_sent <= span) return false;
  auto it = std::lower_bound(sent_.begin(), sent_.end(), first->pn,
                             [](const SentPacket& p, std::uint64_t pn) { return p.pn < pn; });
  for (; it != sent_.end() && it->pn <= last.pn; ++it) {
    if (it->state == SentPacket::State::acked) return false;
  }
  return true;
}

void LossDetector::pop_resolved() {
  while (!sent_.empty() && sent_.front().state != SentPacket::State::outstanding) {
    sent_.pop_front();
  }
}

Duration LossDetector::pto_interval(Duration base, unsigned pto_count) noexcept {
  const Duration cap = std::max(base, Duration(limits::kMaxProbeTimeout));
  Duration d = base;
  for (unsigned i = 0; i < pto_count && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

Instant LossDetector::pto_deadline(const RttEstimator& rtt) const noexcept {
  if (outstanding_ == 0) return Instant::max();
  return last_sent_ + pto_interval(rtt.pto_base(), pto_count_);
}

Instant LossDetector::deadline(const RttEstimator& rtt) const noexcept {
  if (loss_time_ != Instant::max()) return loss_time_;
  return pto_deadline(rtt);
}

bool LossDetector::on_timeout(Instant now, const RttEstimator& rtt, LossOutcome& out) {
  out.clear();
  if (loss_time_ != Instant::max()) {
    if (now < loss_time_) return false;
    detect_lost(now, rtt, out);
    pop_resolved();
    return false;
  }
  if (now < pto_deadline(rtt)) return false;
  ++pto_count_;
  return true;
}

}  // namespace peermq::channel
