// RateLimiter: a token bucket per source IP for handshake processing (WireGuard
// ratelimiter.c).
//
// Each source IP (the port is ignored: one host, one allowance) may start `per_second`
// handshakes per second with bursts up to `burst`. A bucket that has refilled is the same
// as none, so refilled buckets are swept out once a second (as WireGuard's ratelimiter
// collects its entries): the table holds the sources of the last second, not every host
// that ever connected. It is also bounded: when it holds `max_sources` IPs and none has
// refilled, new sources are refused until one does, so a spoofed flood cannot grow memory.
// Buckets are found through a keyed hash (SipHash, random key), so a flood of chosen
// addresses cannot pile into one bucket. Single-threaded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include <peermq/clock.hpp>

#include "wire/endpoint.hpp"

namespace peermq::session {

class RateLimiter {
 public:
  RateLimiter(unsigned per_second, unsigned burst, std::size_t max_sources);

  // Takes one token from the source's bucket; false (drop) when it has none.
  bool allow(const Endpoint& source, Instant now);
  std::size_t tracked() const noexcept { return buckets_.size(); }

 private:
  using Ip = std::array<std::uint8_t, 16>;
  struct KeyedHash {
    std::array<std::uint8_t, 16> key{};
    std::size_t operator()(const Ip& ip) const noexcept;
  };
  struct Bucket {
    Duration tokens{};  // credit, in time: one packet costs cost_
    Instant last{};
  };
  void forget_full_buckets(Instant now);

  Duration cost_;
  Duration capacity_;
  std::size_t max_sources_;
  std::unordered_map<Ip, Bucket, KeyedHash> buckets_;
  Instant swept_{};  // when refilled buckets were last forgotten
};

}  // namespace peermq::session
