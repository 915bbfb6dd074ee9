// Session: the encrypted session with one peer (WireGuard peer + noise_keypairs + timers.c).
//
// Timers (each an optional deadline; next_deadline() is the earliest; on_timeout() fires
// the due ones). Like WireGuard's timers.c:
//   retransmit_handshake  initiation sent, no response yet: after retry_initial * backoff^n
//                         (capped at retry_max) + random jitter up to retry_jitter, send a
//                         fresh initiation; after max_handshake_attempts give up
//                         (handshake_failed event, queued data dropped).
//   send_keepalive        authenticated data received and nothing sent since: after
//                         keepalive_interval send an empty packet, so the peer knows the
//                         session lives without waiting for our next message (not for
//                         data the caller says asks for nothing: owe_nothing()).
//   new_handshake         data sent (that asks for an answer: Elicits) and nothing
//                         authenticated received since: after
//                         keepalive_interval + rekey_timeout assume the keys are dead and
//                         start a handshake.
//   expire                a keypair reaches reject_after_time: destroy it (keys wiped).
//   idle                  nothing authenticated received for idle_timeout while keys
//                         exist: wipe every key (closed event).
// Rekeys are not timers but checks on use, as in WireGuard: the initiator of the current
// keypair starts a handshake when sending with a keypair older than rekey_after_time or
// after rekey_after_messages, and when receiving with one older than
// reject_after_time - keepalive_interval - rekey_timeout. No keypair is used past
// reject_after_time or reject_after_messages.
//
// Keypairs: current (sends), previous (still receives packets in flight), next (the
// responder's newest, unconfirmed: it becomes current when the first packet under it
// arrives, so the responder never sends under keys the initiator may not have yet).
// Retired keypairs are destroyed (their keys wiped), never kept.
//
// Memory: a node keeps a Session per peer, most of them idle, so what only a handshake
// or a session without keys needs is allocated only then: the handshake state (over 500
// bytes) while a handshake is under way, the queue while data waits for keys. An idle
// session holds its current keypair (whose replay window is compact, see ReplayWindow).
//
// Owned by SessionEndpoint, which routes packets here after the DoS checks.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "session/cookie.hpp"
#include "session/handshake.hpp"
#include "session/index_table.hpp"
#include "session/keypair.hpp"
#include "session/packet.hpp"
#include "session/session_config.hpp"
#include "session/session_event.hpp"
#include "session/session_timers.hpp"

namespace peermq::session {

// What a session uses of its endpoint during one call.
struct SessionContext {
  const LocalKeys& local;
  const SessionConfig& config;
  IndexTable& indices;
  std::deque<Datagram>& transmit;
  std::vector<SessionEvent>& events;
  SessionStats& stats;
  WallTime::duration wall_offset;  // wall time = now + wall_offset

  void drop(SessionError reason, const Endpoint& source, const PublicKey* peer = nullptr);
};

class Session {
 public:
  Session(const PublicKey& remote, const X25519PublicKey& remote_x25519,
          const SessionConfig& config);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const PublicKey& remote() const noexcept { return remote_; }
  const X25519PublicKey& remote_x25519() const noexcept { return cookie_.remote_public(); }

  // Starts a handshake unless keys are usable or one is under way.
  void connect(SessionContext& ctx, Instant now);
  // A new handshake even though keys may still work: the peer may have restarted.
  void rehandshake(SessionContext& ctx, Instant now) { start_handshake(ctx, now); }
  // Encrypts and emits `plaintext`, or queues it (bounded) and starts a handshake.
  // Errors: queue_full. Queued data counts as asking for an answer.
  Result<void> send(SessionContext& ctx, std::span<const std::uint8_t> plaintext, Instant now,
                    Elicits elicits = Elicits::answer);
  // The data just delivered asks for no answer: no keepalive is owed for it.
  void owe_nothing() noexcept;

  // Packets, after the endpoint's decoding and DoS checks.
  void on_initiation(SessionContext& ctx, ConsumedInitiation initiation,
                     std::uint32_t sender_index, const Endpoint& source, Instant now);
  void on_response(SessionContext& ctx, const Response& response, const Endpoint& source,
                   Instant now);
  void on_cookie_reply(SessionContext& ctx, const CookieReply& reply, const Endpoint& source,
                       Instant now);
  void on_transport(SessionContext& ctx, const Transport& packet, const Endpoint& source,
                    Instant now);

  void on_timeout(SessionContext& ctx, Instant now);
  Instant next_deadline() const noexcept;

  bool can_send(Instant now) const noexcept;
  bool handshake_pending() const noexcept { return handshake_ != nullptr; }
  unsigned handshake_attempts() const noexcept { return attempts_; }
  std::size_t keypair_count() const noexcept;
  // The local index of the current keypair (0 when none): tests follow rekeys with it.
  std::uint32_t current_index() const noexcept { return current_ ? current_->local_index : 0; }
  std::size_t queued() const noexcept { return queue_.size(); }
  // No keys, no handshake, nothing queued: forgetting it loses only the replay timestamp,
  // and a replayed initiation can then at most cost a response nobody can use.
  bool dormant() const noexcept { return keypair_count() == 0 && !handshake_ && queue_.empty(); }

 private:
  struct Pending {
    crypto::HandshakeState state;
    std::uint32_t index;
  };

  bool usable(const Keypair& k, Instant now) const noexcept;
  void start_handshake(SessionContext& ctx, Instant now);
  void send_initiation(SessionContext& ctx, Instant now);
  Duration retry_delay() const;
  void give_up(SessionContext& ctx);
  void forget_handshake(SessionContext& ctx);
  void send_transport(SessionContext& ctx, std::span<const std::uint8_t> plaintext, Instant now,
                      Elicits elicits = Elicits::answer);
  void flush_queue(SessionContext& ctx, Instant now);
  void became_current(SessionContext& ctx, const Endpoint& source);
  void retire(SessionContext& ctx, std::unique_ptr<Keypair>& slot);
  Keypair* keypair_for(std::uint32_t index) noexcept;
  void close(SessionContext& ctx);
  void authenticated_receive(Instant now);

  friend class SessionTimers;
  std::uint32_t timer_slot_ = SessionTimers::kNoSlot;  // SessionTimers' bookkeeping

  PublicKey remote_;
  const SessionConfig& config_;
  CookieMaker cookie_;                  // holds the peer's X25519 key too
  std::unique_ptr<Pending> handshake_;  // only while a handshake is under way
  unsigned attempts_ = 0;
  std::unique_ptr<Keypair> current_, previous_, next_;
  std::vector<std::vector<std::uint8_t>> queue_;  // bounded; no memory once flushed
  Tai64n greatest_timestamp_{};
  Instant last_received_{};
  // Timer deadlines; kNever when not armed.
  static constexpr Instant kNever = Instant::max();
  Instant retransmit_at_ = kNever, keepalive_at_ = kNever, new_handshake_at_ = kNever;
  bool keepalive_for_last_ = false;  // the last delivered data armed keepalive_at_
};

}  // namespace peermq::session
