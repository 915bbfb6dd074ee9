// SessionEndpoint: all encrypted sessions of one node (WireGuard's device: the index
// table, the cookie checker, the rate limiter, and a Session per peer).
//
// No I/O. Feed it datagrams with their source and the time; take datagrams to send from
// poll_transmit(); call on_timeout() at next_deadline(). Peers are named by their Ed25519
// public key (their address); the caller maps peers to UDP endpoints, and learns a new
// inbound peer's endpoint from its established event.
//
// Order of checks on a handshake packet, cheapest first (no X25519 before mac1 holds):
//   decode (exact length, reserved bytes) -> mac1 -> under load: mac2, else a cookie reply
//   -> per-source rate limit -> Noise (X25519) -> identity and timestamp checks.
// Every drop is counted in stats() by reason and reported as a dropped event. Nothing is
// ever answered to a packet whose mac1 is bad, and the only unauthenticated answer (the
// cookie reply, 64 bytes) is smaller than the packets it answers (180 or 92 bytes).
//
// Scale: a broker keeps a session per peer, tens of thousands of them mostly idle, and
// is asked for its next deadline after every batch of input. Sessions are found by a keyed
// hash of the peer's key (PeerKeyHash: keyed with a random secret, so chosen keys cannot
// pile into one bucket), by their index through IndexTable, and by their deadline through
// SessionTimers: no call looks at every session (except the sweep of dormant ones when the
// table is full, at most once a second).
//
// Single-threaded: one loop owns it. Not movable (sessions refer to its config).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "session/cookie.hpp"
#include "session/handshake.hpp"
#include "session/index_table.hpp"
#include "session/rate_limiter.hpp"
#include "session/session.hpp"
#include "session/session_config.hpp"
#include "session/session_event.hpp"
#include "session/session_timers.hpp"

namespace peermq::session {

// A peer's key, mixed with a random secret (one per endpoint). Every bit of the key
// counts, so two keys collide whatever the secret only if they are equal, and which keys
// share a bucket cannot be known without the secret. Not SipHash: lookups are frequent
// (per peer, per transport pass) and this costs a few multiplications.
struct PeerKeyHash {
  std::array<std::uint64_t, 4> secret{};
  // A hash with a fresh random secret.
  static PeerKeyHash random();
  std::size_t operator()(const PublicKey& peer) const noexcept;
};

class SessionEndpoint {
 public:
  // `wall_now` is the wall time at `now`: handshake timestamps follow it.
  SessionEndpoint(const Identity& identity, const SessionConfig& config, Instant now,
                  WallTime wall_now);
  SessionEndpoint(const SessionEndpoint&) = delete;
  SessionEndpoint& operator=(const SessionEndpoint&) = delete;

  // Starts a handshake with `peer` unless a session is up or one is under way.
  // Errors: invalid_peer_key (not an Ed25519 point, or our own key), too_many_peers.
  Result<void> connect(const PublicKey& peer, Instant now);
  // Starts a new handshake with `peer` whatever the state of its keys (unless one is
  // already under way): for a peer that has moved or restarted, whose old keys it lost.
  Result<void> rehandshake(const PublicKey& peer, Instant now);
  // Sends `plaintext` to `peer` (copied), starting a handshake if needed. Errors:
  // invalid_peer_key, message_too_long (over kMaxPlaintext), queue_full, too_many_peers.
  // Elicits::nothing: the peer will not answer it, so its silence proves nothing.
  Result<void> send(const PublicKey& peer, std::span<const std::uint8_t> plaintext, Instant now,
                    Elicits elicits = Elicits::answer);
  // The data `peer` just delivered asks for no answer (the caller read it): no keepalive is
  // sent for it.
  void owe_nothing(const PublicKey& peer);

  // One received datagram. The bytes are only read during the call.
  std::vector<SessionEvent> on_datagram(std::span<const std::uint8_t> bytes,
                                        const Endpoint& source, Instant now);
  std::vector<SessionEvent> on_timeout(Instant now);
  // The earliest timer of any session; Instant::max() when none is set.
  Instant next_deadline() const noexcept;
  // The next datagram to send, oldest first.
  std::optional<Datagram> poll_transmit();

  // Forces cookie mode on (or back to the handshake rate's verdict).
  void set_under_load(bool on) noexcept { forced_load_ = on; }
  // More handshakes with a valid mac1 in the last second than the configured rate plus
  // the rekeys the table's sessions are due (sessions / rekey_after_time), or forced.
  bool under_load() const noexcept;

  const SessionStats& stats() const noexcept { return stats_; }
  const PublicKey& public_key() const noexcept { return local_.ed25519; }
  const X25519PublicKey& x25519_public() const noexcept { return local_.x25519_public; }
  // The session with `peer`, if any (for inspection).
  const Session* session(const PublicKey& peer) const;
  std::size_t index_count() const noexcept { return indices_.size(); }
  std::size_t peer_count() const noexcept { return sessions_.size(); }

 private:
  SessionContext context(std::vector<SessionEvent>& events);
  // The session with `peer`, made if needed; nullptr when the table is full.
  Session* session_for(const PublicKey& peer, const X25519PublicKey& peer_x25519, Instant now);
  Result<Session*> session_for(const PublicKey& peer, Instant now);
  // After every call into a session: its deadline may have moved.
  void rearm(Session& s) { timers_.set(s, s.next_deadline()); }
  bool admit_handshake(SessionContext& ctx, std::span<const std::uint8_t> packet,
                       std::uint32_t sender_index, const Endpoint& source, Instant now);
  void count_handshake(Instant now);
  void on_initiation(SessionContext& ctx, std::span<const std::uint8_t> bytes,
                     const Endpoint& source, Instant now);
  void on_response(SessionContext& ctx, std::span<const std::uint8_t> bytes,
                   const Endpoint& source, Instant now);
  void on_cookie_reply(SessionContext& ctx, std::span<const std::uint8_t> bytes,
                       const Endpoint& source, Instant now);
  void on_transport(SessionContext& ctx, std::span<const std::uint8_t> bytes,
                    const Endpoint& source, Instant now);

  LocalKeys local_;
  SessionConfig config_;
  WallTime::duration wall_offset_;
  CookieChecker checker_;
  RateLimiter limiter_;
  IndexTable indices_;
  std::unordered_map<PublicKey, Session, PeerKeyHash> sessions_;
  SessionTimers timers_;
  std::vector<Session*> due_;  // on_timeout's scratch
  std::deque<Datagram> transmit_;
  SessionStats stats_;
  bool forced_load_ = false;
  Instant window_start_{};
  unsigned window_count_ = 0;  // handshakes with a valid mac1 since window_start_
  unsigned last_window_count_ = 0;
  std::optional<Instant> last_sweep_;  // dormant sessions are swept at most once a second
};

}  // namespace peermq::session
