// SessionConfig: the timing and size limits of SessionEndpoint, defaulting to
// wire/limits.hpp. Two peers need not agree on them; tests lower them to reach rekeys and
// give-ups quickly.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include <peermq/clock.hpp>

#include "wire/limits.hpp"

namespace peermq::session {

struct SessionConfig {
  Duration rekey_after_time = limits::kRekeyAfterTime;
  std::uint64_t rekey_after_messages = limits::kRekeyAfterMessages;
  Duration reject_after_time = limits::kRejectAfterTime;
  std::uint64_t reject_after_messages = limits::kRejectAfterMessages;
  Duration keepalive_interval = limits::kKeepaliveInterval;
  Duration idle_timeout = limits::kSessionIdleTimeout;
  Duration rekey_timeout = limits::kRekeyTimeout;
  Duration retry_initial = limits::kHandshakeRetryInitial;
  Duration retry_max = limits::kHandshakeRetryMax;
  unsigned retry_backoff = limits::kHandshakeRetryBackoff;
  Duration retry_jitter = limits::kHandshakeRetryJitter;
  unsigned max_handshake_attempts = limits::kMaxHandshakeAttempts;
  Duration cookie_secret_lifetime = limits::kCookieSecretLifetime;
  unsigned handshakes_per_second_per_source = limits::kHandshakesPerSecondPerSource;
  unsigned handshake_burst_per_source = limits::kHandshakeBurstPerSource;
  std::size_t rate_limiter_sources = limits::kRateLimiterSources;
  unsigned under_load_handshakes_per_second = limits::kUnderLoadHandshakesPerSecond;
  std::size_t max_queued_per_peer = limits::kMaxQueuedPerPeer;
  std::size_t max_peers = limits::kMaxPeers;
};

}  // namespace peermq::session
