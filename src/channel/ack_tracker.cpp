#include "channel/ack_tracker.hpp"

#include <algorithm>
#include <chrono>

#include "wire/limits.hpp"

namespace peermq::channel {

void AckTracker::insert(std::uint64_t pn) {
  // Find the first range (in descending order) whose high is below pn.
  auto it = std::find_if(ranges_.begin(), ranges_.end(),
                         [pn](const Range& r) { return r.high < pn; });
  const bool joins_above = it != ranges_.begin() && std::prev(it)->low == pn + 1;
  const bool joins_below = it != ranges_.end() && it->high + 1 == pn;
  if (joins_above && joins_below) {
    std::prev(it)->low = it->low;
    ranges_.erase(it);
  } else if (joins_above) {
    std::prev(it)->low = pn;
  } else if (joins_below) {
    it->high = pn;
  } else {
    ranges_.insert(it, Range{pn, pn});
  }
  if (ranges_.size() > limits::kMaxAckRanges) {
    floor_ = ranges_.back().high + 1;
    ranges_.pop_back();
  }
}

bool AckTracker::on_packet(std::uint64_t pn, bool ack_eliciting, Instant now) {
  if (pn < floor_) return false;
  for (const Range& r : ranges_) {
    if (pn > r.high) break;
    if (pn >= r.low) return false;
  }
  const bool largest = ranges_.empty() || pn > ranges_[0].high;
  // Out of order: it fills a hole, or it opens one. Either way the sender learns of the
  // gap (or its repair) one ack delay sooner.
  const bool out_of_order = !ranges_.empty() && (!largest || pn != ranges_[0].high + 1);
  insert(pn);
  // A late packet in a gap the peer already heard about: its range must be sent again.
  ack_from_ = std::min(ack_from_, pn);
  if (largest) largest_time_ = now;
  new_since_ack_ = true;
  if (!ack_eliciting) return true;
  ++unacked_eliciting_;
  if (ack_deadline_ == Instant::max()) ack_deadline_ = now + limits::kMaxAckDelay;
  if (out_of_order || unacked_eliciting_ >= limits::kAckElicitingThreshold) {
    ack_deadline_ = std::min(ack_deadline_, now);
    immediate_ = true;
  }
  return true;
}

void AckTracker::ack_now(Instant now) noexcept {
  if (unacked_eliciting_ == 0) return;
  ack_deadline_ = std::min(ack_deadline_, now);
  immediate_ = true;
}

bool AckTracker::ack_due(Instant now) const noexcept {
  return immediate_ || (unacked_eliciting_ > 0 && now >= ack_deadline_);
}

Instant AckTracker::deadline() const noexcept {
  if (unacked_eliciting_ == 0) return Instant::max();
  return ack_deadline_;
}

void AckTracker::fill(AckFrame& a, Instant now) const noexcept {
  std::size_t n = 0;
  for (; n < ranges_.size() && ranges_[n].high >= ack_from_; ++n) {
    a.ranges[n] = {ranges_[n].low, ranges_[n].high};
  }
  a.range_count = n;
  const auto delay = std::chrono::duration_cast<std::chrono::microseconds>(now - largest_time_);
  a.ack_delay_us = static_cast<std::uint64_t>(std::max<std::int64_t>(delay.count(), 0));
}

void AckTracker::on_ack_acknowledged(std::uint64_t largest) noexcept {
  ack_from_ = std::max(ack_from_, largest + 1);
}

void AckTracker::on_ack_sent() noexcept {
  unacked_eliciting_ = 0;
  immediate_ = false;
  new_since_ack_ = false;
  ack_deadline_ = Instant::max();
}

}  // namespace peermq::channel
