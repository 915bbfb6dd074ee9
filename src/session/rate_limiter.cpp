#include "session/rate_limiter.hpp"

#include <sodium.h>

#include <algorithm>
#include <chrono>

namespace peermq::session {

std::size_t RateLimiter::KeyedHash::operator()(const Ip& ip) const noexcept {
  std::uint64_t h = 0;
  std::array<std::uint8_t, crypto_shorthash_BYTES> out{};
  crypto_shorthash(out.data(), ip.data(), ip.size(), key.data());
  for (std::size_t i = 0; i < out.size(); ++i) h |= std::uint64_t{out[i]} << (8 * i);
  return static_cast<std::size_t>(h);
}

RateLimiter::RateLimiter(unsigned per_second, unsigned burst, std::size_t max_sources)
    : cost_(Duration(std::chrono::seconds(1)) / std::max(per_second, 1U)),
      capacity_(cost_ * std::max(burst, 1U)),
      max_sources_(std::max<std::size_t>(max_sources, 1)),
      buckets_(16, KeyedHash{}) {
  KeyedHash hash;
  randombytes_buf(hash.key.data(), hash.key.size());
  buckets_ = std::unordered_map<Ip, Bucket, KeyedHash>(16, hash);
}

void RateLimiter::forget_full_buckets(Instant now) {
  swept_ = now;
  std::erase_if(buckets_, [&](const auto& entry) {
    return entry.second.tokens + (now - entry.second.last) >= capacity_;
  });
  // The bucket array does not shrink by itself after a burst of sources.
  if (buckets_.bucket_count() > 4 * buckets_.size() + 64) buckets_.rehash(0);
}

bool RateLimiter::allow(const Endpoint& source, Instant now) {
  if (now - swept_ >= std::chrono::seconds(1)) forget_full_buckets(now);
  const Ip ip = source.ip16();
  auto it = buckets_.find(ip);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_sources_) forget_full_buckets(now);
    if (buckets_.size() >= max_sources_) return false;
    it = buckets_.emplace(ip, Bucket{capacity_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::min(capacity_, b.tokens + std::max(Duration::zero(), now - b.last));
  b.last = now;
  if (b.tokens < cost_) return false;
  b.tokens -= cost_;
  return true;
}

}  // namespace peermq::session
