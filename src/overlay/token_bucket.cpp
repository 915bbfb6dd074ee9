#include "overlay/token_bucket.hpp"

#include <algorithm>
#include <stdexcept>

namespace peermq::overlay {

TokenRate TokenRate::of(unsigned per_second, unsigned burst) {
  if (per_second == 0 || burst == 0) throw std::invalid_argument("token rate must be positive");
  const Duration cost = std::chrono::duration_cast<Duration>(std::chrono::seconds(1)) / per_second;
  return TokenRate{cost, cost * burst};
}

bool TokenBucket::take(const TokenRate& rate, Instant now) noexcept {
  if (now > last_) {
    credit_ = std::min(rate.capacity, credit_ + (now - last_));
    last_ = now;
  }
  if (credit_ < rate.cost) return false;
  credit_ -= rate.cost;
  return true;
}

}  // namespace peermq::overlay
