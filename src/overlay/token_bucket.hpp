// TokenBucket: a per-peer allowance of so many events per second with bursts (the relay's
// forwarding and signalling limits).
//
// The bucket holds credit measured in time: each event costs 1/per_second, and credit
// accrues with elapsed time up to burst/per_second. The rate lives in a TokenRate shared
// by every bucket, so a relay with tens of thousands of peers pays 16 bytes per bucket.
// A plain value; no clock of its own.
#pragma once

#include <peermq/clock.hpp>

namespace peermq::overlay {

struct TokenRate {
  Duration cost{};      // credit one event takes
  Duration capacity{};  // the most credit a bucket holds (the burst)
  // `per_second` and `burst` must be positive (programmer error otherwise).
  static TokenRate of(unsigned per_second, unsigned burst);
};

class TokenBucket {
 public:
  TokenBucket() = default;
  // A full bucket: a new peer may burst at once.
  TokenBucket(const TokenRate& rate, Instant now) noexcept : credit_(rate.capacity), last_(now) {}

  // Takes one event's cost; false (drop) when the credit does not cover it.
  bool take(const TokenRate& rate, Instant now) noexcept;

 private:
  Duration credit_{};
  Instant last_{};
};

}  // namespace peermq::overlay
