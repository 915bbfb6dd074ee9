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
  Duration rekey_after_time = limits::rekey_after_time;
  std::uint64_t rekey_after_messages = limits::rekey_after_messages;
  Duration reject_after_time = limits::reject_after_time;
  std::uint64_t reject_after_messages = limits::reject_after_messages;
  Duration keepalive_interval = limits::keepalive_interval;
  Duration idle_timeout = limits::session_idle_timeout;
  Duration rekey_timeout = limits::rekey_timeout;
  Duration retry_initial = limits::handshake_retry_initial;
  Duration retry_max = limits::handshake_retry_max;
  unsigned retry_backoff = limits::handshake_retry_backoff;
  Duration retry_jitter = limits::handshake_retry_jitter;
  unsigned max_handshake_attempts = limits::max_handshake_attempts;
  Duration cookie_secret_lifetime = limits::cookie_secret_lifetime;
  unsigned handshakes_per_second_per_source = limits::handshakes_per_second_per_source;
  unsigned handshake_burst_per_source = limits::handshake_burst_per_source;
  std::size_t rate_limiter_sources = limits::rate_limiter_sources;
  unsigned under_load_handshakes_per_second = limits::under_load_handshakes_per_second;
  std::size_t max_queued_per_peer = limits::max_queued_per_peer;
  std::size_t max_peers = limits::max_peers;
};

}  // namespace peermq::session
