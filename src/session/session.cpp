#include "session/session.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

namespace peermq::session {

void SessionContext::drop(SessionError reason, const Endpoint& source, const PublicKey* peer) {
  ++stats.drops[static_cast<std::size_t>(reason)];
  SessionEvent e;
  e.kind = SessionEvent::Kind::dropped;
  e.reason = reason;
  e.source = source;
  if (peer != nullptr) e.peer = *peer;
  events.push_back(std::move(e));
}

Session::Session(const PublicKey& remote, const X25519PublicKey& remote_x25519,
                 const SessionConfig& config)
    : remote_(remote),
      config_(config),
      cookie_(remote_x25519, config.cookie_secret_lifetime) {}

bool Session::usable(const Keypair& k, Instant now) const noexcept {
  return now - k.created < config_.reject_after_time &&
         k.send_counter < config_.reject_after_messages;
}

bool Session::can_send(Instant now) const noexcept { return current_ && usable(*current_, now); }

std::size_t Session::keypair_count() const noexcept {
  return (current_ ? 1U : 0U) + (previous_ ? 1U : 0U) + (next_ ? 1U : 0U);
}

void Session::connect(SessionContext& ctx, Instant now) {
  if (!can_send(now)) start_handshake(ctx, now);
}

Result<void> Session::send(SessionContext& ctx, std::span<const std::uint8_t> plaintext,
                           Instant now, Elicits elicits) {
  if (can_send(now) && queue_.empty()) {
    send_transport(ctx, plaintext, now, elicits);
    return {};
  }
  if (queue_.size() >= config_.max_queued_per_peer) return SessionError::queue_full;
  queue_.emplace_back(plaintext.begin(), plaintext.end());
  if (can_send(now)) {
    flush_queue(ctx, now);
  } else {
    start_handshake(ctx, now);
  }
  return {};
}

// ---- handshakes ----------------------------------------------------------------------------

void Session::start_handshake(SessionContext& ctx, Instant now) {
  if (handshake_) return;  // the retransmit timer owns it from here
  attempts_ = 0;
  send_initiation(ctx, now);
}

Duration Session::retry_delay() const {
  Duration delay = config_.retry_initial;
  for (unsigned i = 1; i < attempts_ && delay < config_.retry_max; ++i) {
    delay *= config_.retry_backoff;
  }
  delay = std::min(delay, config_.retry_max);
  // Jitter so that peers that lost packets together do not retry in lockstep.
  const auto jitter_us = std::chrono::duration_cast<std::chrono::microseconds>(config_.retry_jitter);
  if (jitter_us.count() > 0) {
    const auto bound = static_cast<std::uint32_t>(std::min<std::int64_t>(jitter_us.count(), UINT32_MAX - 1));
    delay += std::chrono::microseconds(randombytes_uniform(bound + 1));
  }
  return delay;
}

void Session::send_initiation(SessionContext& ctx, Instant now) {
  forget_handshake(ctx);
  std::vector<std::uint8_t> noise;
  const Tai64n stamp = tai64n(WallTime(
      std::chrono::duration_cast<WallTime::duration>(now.time_since_epoch()) + ctx.wall_offset));
  auto state = create_initiation(ctx.local, remote_x25519(), stamp, noise, ctx.stats.scalar_mults);
  if (!state) {  // only a low-order peer key can do this, and connect() refuses those
    give_up(ctx);
    return;
  }
  const std::uint32_t index = ctx.indices.insert(this);
  handshake_ = std::make_unique<Pending>(Pending{std::move(*state), index});
  auto packet = encode_initiation(index, noise);
  cookie_.add_macs(packet, now);
  ctx.transmit.push_back(Datagram{remote_, std::nullopt, std::move(packet)});
  ++attempts_;
  ++ctx.stats.handshakes_initiated;
  retransmit_at_ = now + retry_delay();
}

void Session::forget_handshake(SessionContext& ctx) {
  if (handshake_) ctx.indices.erase(handshake_->index);
  handshake_.reset();
  retransmit_at_ = kNever;
}

void Session::give_up(SessionContext& ctx) {
  forget_handshake(ctx);
  attempts_ = 0;
  std::vector<std::vector<std::uint8_t>>().swap(queue_);
  SessionEvent e;
  e.kind = SessionEvent::Kind::handshake_failed;
  e.peer = remote_;
  ctx.events.push_back(std::move(e));
}

void Session::on_initiation(SessionContext& ctx, ConsumedInitiation initiation,
                            std::uint32_t sender_index, const Endpoint& source, Instant now) {
  // Strictly newer than any before, so a captured initiation cannot be replayed to
  // reset the session (WireGuard's TAI64N check).
  if (std::memcmp(initiation.timestamp.data(), greatest_timestamp_.data(), kTimestampSize) <= 0) {
    ctx.drop(SessionError::stale_timestamp, source, &remote_);
    return;
  }
  std::vector<std::uint8_t> noise;
  auto ciphers = create_response(initiation.state, noise, ctx.stats.scalar_mults);
  if (!ciphers) {
    ctx.drop(SessionError::handshake_failed, source, &remote_);
    return;
  }
  greatest_timestamp_ = initiation.timestamp;
  const std::uint32_t index = ctx.indices.insert(this);
  retire(ctx, next_);
  next_ = std::make_unique<Keypair>(std::move(*ciphers), index, sender_index, false, now);
  ++ctx.stats.handshakes_completed;
  authenticated_receive(now);
  auto packet = encode_response(index, sender_index, noise);
  cookie_.add_macs(packet, now);
  ctx.transmit.push_back(Datagram{remote_, source, std::move(packet)});
}

void Session::on_response(SessionContext& ctx, const Response& response,
                          const Endpoint& source, Instant now) {
  if (!handshake_ || handshake_->index != response.receiver_index) {
    ctx.drop(SessionError::unknown_index, source, &remote_);
    return;
  }
  auto ciphers = consume_response(handshake_->state, response.noise, ctx.stats.scalar_mults);
  if (!ciphers) {
    ctx.drop(ciphers.error() == SessionError::bad_payload ? SessionError::bad_payload
                                                          : SessionError::handshake_failed,
             source, &remote_);
    return;
  }
  // The handshake's index now names the keypair: the responder sends to it.
  const std::uint32_t index = handshake_->index;
  handshake_.reset();
  retransmit_at_ = kNever;
  attempts_ = 0;
  auto fresh = std::make_unique<Keypair>(std::move(*ciphers), index, response.sender_index, true, now);
  ++ctx.stats.handshakes_completed;
  // As WireGuard: an unconfirmed responder keypair yields to the confirmed one.
  retire(ctx, previous_);
  if (next_) {
    previous_ = std::move(next_);
    retire(ctx, current_);
  } else {
    previous_ = std::move(current_);
  }
  current_ = std::move(fresh);
  authenticated_receive(now);
  became_current(ctx, source);
  const std::size_t before = ctx.transmit.size();
  flush_queue(ctx, now);
  // Confirm the keys to the responder at once, so it can send too.
  if (ctx.transmit.size() == before) send_transport(ctx, {}, now);
}

void Session::on_cookie_reply(SessionContext& ctx, const CookieReply& reply,
                              const Endpoint& source, Instant now) {
  if (!cookie_.consume_reply(reply, now)) ctx.drop(SessionError::bad_cookie_reply, source, &remote_);
  // The retransmit timer sends the next initiation, now with mac2 (as WireGuard).
}

// ---- keypairs and data ------------------------------------------------------------------------

void Session::retire(SessionContext& ctx, std::unique_ptr<Keypair>& slot) {
  if (!slot) return;
  ctx.indices.erase(slot->local_index);
  slot.reset();  // wipes both keys
}

Keypair* Session::keypair_for(std::uint32_t index) noexcept {
  for (auto* slot : {&current_, &previous_, &next_}) {
    if (*slot && (*slot)->local_index == index) return slot->get();
  }
  return nullptr;
}

void Session::became_current(SessionContext& ctx, const Endpoint& source) {
  SessionEvent e;
  e.kind = SessionEvent::Kind::established;
  e.peer = remote_;
  e.source = source;
  ctx.events.push_back(std::move(e));
}

void Session::authenticated_receive(Instant now) {
  last_received_ = now;
  new_handshake_at_ = kNever;
}

void Session::send_transport(SessionContext& ctx, std::span<const std::uint8_t> plaintext,
                             Instant now, Elicits elicits) {
  Keypair& k = *current_;
  const std::uint64_t counter = k.send_counter;
  std::vector<std::uint8_t> packet;
  packet.reserve(kTransportOverhead + plaintext.size());
  encode_transport_header(k.remote_index, counter, packet);
  k.send.set_nonce(counter);
  // The header is the AD: a changed index, counter or reserved byte fails the tag.
  std::array<std::uint8_t, kTransportHeaderSize> header{};
  std::copy(packet.begin(), packet.end(), header.begin());
  if (!k.send.encrypt_with_ad(header, plaintext, packet)) return;  // no key: unreachable
  ++k.send_counter;
  ctx.transmit.push_back(Datagram{remote_, std::nullopt, std::move(packet)});
  keepalive_at_ = kNever;
  keepalive_for_last_ = false;
  if (plaintext.empty()) {
    ++ctx.stats.keepalives_sent;
  } else if (elicits == Elicits::answer && new_handshake_at_ == kNever) {
    new_handshake_at_ = now + config_.keepalive_interval + config_.rekey_timeout;
  }
  if (k.initiator && (now - k.created >= config_.rekey_after_time ||
                      k.send_counter >= config_.rekey_after_messages)) {
    start_handshake(ctx, now);
  }
}

void Session::flush_queue(SessionContext& ctx, Instant now) {
  if (queue_.empty()) return;
  std::size_t sent = 0;
  for (; sent < queue_.size() && can_send(now); ++sent) send_transport(ctx, queue_[sent], now);
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(sent));
  if (queue_.empty()) std::vector<std::vector<std::uint8_t>>().swap(queue_);
}

void Session::on_transport(SessionContext& ctx, const Transport& packet,
                           const Endpoint& source, Instant now) {
  Keypair* k = keypair_for(packet.receiver_index);
  if (k == nullptr) return ctx.drop(SessionError::unknown_index, source, &remote_);
  if (now - k->created >= config_.reject_after_time) {
    return ctx.drop(SessionError::key_expired, source, &remote_);
  }
  // Replay check before the AEAD, so replays cost no decryption; accept only after it.
  if (auto fresh = k->replay.check(packet.counter); !fresh) {
    return ctx.drop(fresh.error() == ReplayError::exhausted ? SessionError::key_expired
                                                            : SessionError::replay,
                    source, &remote_);
  }
  std::vector<std::uint8_t> plaintext;
  k->receive.set_nonce(packet.counter);
  if (!k->receive.decrypt_with_ad(packet.header, packet.ciphertext, plaintext)) {
    return ctx.drop(SessionError::decrypt_failed, source, &remote_);
  }
  if (!k->replay.accept(packet.counter)) return ctx.drop(SessionError::replay, source, &remote_);
  authenticated_receive(now);
  if (k == next_.get()) {  // the initiator confirmed our keys: switch to them
    retire(ctx, previous_);
    previous_ = std::move(current_);
    current_ = std::move(next_);
    became_current(ctx, source);
    flush_queue(ctx, now);
  }
  if (!plaintext.empty()) {
    keepalive_for_last_ = keepalive_at_ == kNever;
    if (keepalive_for_last_) keepalive_at_ = now + config_.keepalive_interval;
    SessionEvent e;
    e.kind = SessionEvent::Kind::delivered;
    e.peer = remote_;
    e.source = source;
    e.data = std::move(plaintext);
    ctx.events.push_back(std::move(e));
  }
  if (current_ && current_->initiator &&
      now - current_->created >=
          config_.reject_after_time - config_.keepalive_interval - config_.rekey_timeout) {
    start_handshake(ctx, now);
  }
}

void Session::owe_nothing() noexcept {
  // Only the keepalive this delivery armed: one owed for earlier data stays.
  if (keepalive_for_last_) keepalive_at_ = kNever;
  keepalive_for_last_ = false;
}

// ---- timers ------------------------------------------------------------------------------------

void Session::close(SessionContext& ctx) {
  retire(ctx, current_);
  retire(ctx, previous_);
  retire(ctx, next_);
  std::vector<std::vector<std::uint8_t>>().swap(queue_);
  keepalive_at_ = kNever;
  new_handshake_at_ = kNever;
  SessionEvent e;
  e.kind = SessionEvent::Kind::closed;
  e.peer = remote_;
  ctx.events.push_back(std::move(e));
}

void Session::on_timeout(SessionContext& ctx, Instant now) {
  if (keypair_count() > 0 && now >= last_received_ + config_.idle_timeout) close(ctx);
  for (auto* slot : {&current_, &previous_, &next_}) {
    if (*slot && now - (*slot)->created >= config_.reject_after_time) retire(ctx, *slot);
  }
  if (now >= retransmit_at_) {
    retransmit_at_ = kNever;
    if (attempts_ >= config_.max_handshake_attempts) {
      give_up(ctx);
    } else {
      send_initiation(ctx, now);
    }
  }
  if (now >= keepalive_at_) {
    keepalive_at_ = kNever;
    if (can_send(now)) send_transport(ctx, {}, now);
  }
  if (now >= new_handshake_at_) {
    new_handshake_at_ = kNever;
    start_handshake(ctx, now);
  }
}

Instant Session::next_deadline() const noexcept {
  Instant next = std::min({retransmit_at_, keepalive_at_, new_handshake_at_});
  if (keypair_count() > 0) next = std::min(next, last_received_ + config_.idle_timeout);
  for (const auto* slot : {&current_, &previous_, &next_}) {
    if (*slot) next = std::min(next, (*slot)->created + config_.reject_after_time);
  }
  return next;
}

}  // namespace peermq::session
