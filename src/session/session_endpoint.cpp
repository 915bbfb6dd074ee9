#include "session/session_endpoint.hpp"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "session/packet.hpp"

namespace peermq::session {
namespace {

using Bytes = std::span<const std::uint8_t>;

LocalKeys local_keys(const Identity& identity) {
  LocalKeys k;
  k.ed25519 = identity.public_key();
  k.x25519_public = identity.x25519_public();
  k.x25519_secret = Secret<32>(identity.x25519_secret().span());
  return k;
}

// Decoders and the handshake return SessionErrors; anything else would be a bug below us,
// and is counted as a failed handshake rather than misread as another reason.
SessionError reason_of(std::error_code e) {
  if (e.category() != EnumCategory<SessionError>::instance()) return SessionError::handshake_failed;
  return static_cast<SessionError>(e.value());
}

}  // namespace

// SplitMix64's finalizer over each 8-byte word of the key, chained through the secret.
static_assert(sizeof(PublicKey) == sizeof(PeerKeyHash::secret));
PeerKeyHash PeerKeyHash::random() {
  PeerKeyHash hash;
  randombytes_buf(hash.secret.data(), sizeof hash.secret);
  return hash;
}

std::size_t PeerKeyHash::operator()(const PublicKey& peer) const noexcept {
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    std::uint64_t word = 0;
    std::memcpy(&word, peer.data() + 8 * i, sizeof word);
    h ^= word ^ secret[i];
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return static_cast<std::size_t>(h);
}

SessionEndpoint::SessionEndpoint(const Identity& identity, const SessionConfig& config, Instant now,
                                 WallTime wall_now)
    : local_(local_keys(identity)),
      config_(config),
      wall_offset_(wall_now.time_since_epoch() -
                   std::chrono::duration_cast<WallTime::duration>(now.time_since_epoch())),
      checker_(local_.x25519_public, config.cookie_secret_lifetime),
      limiter_(config.handshakes_per_second_per_source, config.handshake_burst_per_source,
               config.rate_limiter_sources),
      window_start_(now) {
  sessions_ = std::unordered_map<PublicKey, Session, PeerKeyHash>(16, PeerKeyHash::random());
}

SessionContext SessionEndpoint::context(std::vector<SessionEvent>& events) {
  return SessionContext{local_, config_, indices_, transmit_, events, stats_, wall_offset_};
}

Session* SessionEndpoint::session_for(const PublicKey& peer, const X25519PublicKey& peer_x25519,
                                      Instant now) {
  auto it = sessions_.find(peer);
  if (it != sessions_.end()) return &it->second;
  if (sessions_.size() >= config_.max_peers &&
      (!last_sweep_ || now - *last_sweep_ >= std::chrono::seconds(1))) {
    last_sweep_ = now;
    for (auto at = sessions_.begin(); at != sessions_.end();) {
      if (!at->second.dormant()) {
        ++at;
        continue;
      }
      timers_.remove(at->second);
      at = sessions_.erase(at);
    }
  }
  if (sessions_.size() >= config_.max_peers) return nullptr;
  return &sessions_.try_emplace(peer, peer, peer_x25519, config_).first->second;
}

const Session* SessionEndpoint::session(const PublicKey& peer) const {
  auto it = sessions_.find(peer);
  return it == sessions_.end() ? nullptr : &it->second;
}

// The Ed25519 -> X25519 conversion costs a field exponentiation (tens of microseconds):
// it runs when a session is created, never per packet.
Result<Session*> SessionEndpoint::session_for(const PublicKey& peer, Instant now) {
  if (peer == local_.ed25519) return SessionError::invalid_peer_key;
  if (auto it = sessions_.find(peer); it != sessions_.end()) return &it->second;
  const auto peer_x25519 = x25519_of(peer);
  if (!peer_x25519) return SessionError::invalid_peer_key;
  Session* s = session_for(peer, *peer_x25519, now);
  if (s == nullptr) return SessionError::too_many_peers;
  return s;
}

Result<void> SessionEndpoint::connect(const PublicKey& peer, Instant now) {
  auto s = session_for(peer, now);
  if (!s) return s.error();
  std::vector<SessionEvent> events;
  SessionContext ctx = context(events);
  (*s)->connect(ctx, now);
  rearm(**s);
  return {};
}

Result<void> SessionEndpoint::rehandshake(const PublicKey& peer, Instant now) {
  auto s = session_for(peer, now);
  if (!s) return s.error();
  std::vector<SessionEvent> events;
  SessionContext ctx = context(events);
  (*s)->rehandshake(ctx, now);
  rearm(**s);
  return {};
}

Result<void> SessionEndpoint::send(const PublicKey& peer, Bytes plaintext, Instant now,
                                   Elicits elicits) {
  if (plaintext.size() > kMaxPlaintext) return SessionError::message_too_long;
  auto s = session_for(peer, now);
  if (!s) return s.error();
  std::vector<SessionEvent> events;
  SessionContext ctx = context(events);
  auto sent = (*s)->send(ctx, plaintext, now, elicits);
  rearm(**s);
  return sent;
}

void SessionEndpoint::owe_nothing(const PublicKey& peer) {
  auto it = sessions_.find(peer);
  if (it == sessions_.end()) return;
  it->second.owe_nothing();
  rearm(it->second);
}

std::optional<Datagram> SessionEndpoint::poll_transmit() {
  if (transmit_.empty()) return std::nullopt;
  Datagram d = std::move(transmit_.front());
  transmit_.pop_front();
  return d;
}

Instant SessionEndpoint::next_deadline() const noexcept {
  return timers_.next();
}

// Each due session fires once per call, earliest first, as if each had its own timer.
std::vector<SessionEvent> SessionEndpoint::on_timeout(Instant now) {
  std::vector<SessionEvent> events;
  SessionContext ctx = context(events);
  due_.clear();
  timers_.take_due(now, due_);
  for (Session* s : due_) {
    s->on_timeout(ctx, now);
    rearm(*s);
  }
  return events;
}

// ---- receiving ---------------------------------------------------------------------------------

std::vector<SessionEvent> SessionEndpoint::on_datagram(Bytes bytes, const Endpoint& source,
                                                       Instant now) {
  std::vector<SessionEvent> events;
  SessionContext ctx = context(events);
  auto type = packet_type(bytes);
  if (!type) {
    ctx.drop(reason_of(type.error()), source);
    return events;
  }
  switch (*type) {
    case PacketType::initiation: on_initiation(ctx, bytes, source, now); break;
    case PacketType::response: on_response(ctx, bytes, source, now); break;
    case PacketType::cookie_reply: on_cookie_reply(ctx, bytes, source, now); break;
    case PacketType::transport: on_transport(ctx, bytes, source, now); break;
  }
  return events;
}

void SessionEndpoint::count_handshake(Instant now) {
  const auto second = std::chrono::seconds(1);
  if (now - window_start_ >= second) {
    last_window_count_ = now - window_start_ < 2 * second ? window_count_ : 0;
    window_count_ = 0;
    window_start_ = now;
  }
  ++window_count_;
}

bool SessionEndpoint::under_load() const noexcept {
  // The table is bounded (max_peers), and only completed handshakes grow it, so neither is
  // the allowance for rekeys.
  const auto rekey_seconds = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(config_.rekey_after_time).count());
  const std::size_t threshold = config_.under_load_handshakes_per_second +
                                sessions_.size() / static_cast<std::size_t>(rekey_seconds);
  return forced_load_ || window_count_ > threshold || last_window_count_ > threshold;
}

bool SessionEndpoint::admit_handshake(SessionContext& ctx, Bytes packet, std::uint32_t sender_index,
                                      const Endpoint& source, Instant now) {
  // Proof that the sender knows our key, before any expensive work or any answer.
  if (!checker_.mac1_valid(packet)) {
    ctx.drop(SessionError::bad_mac1, source);
    return false;
  }
  count_handshake(now);
  // Under load, only senders that proved they receive at their source get X25519 work.
  if (under_load() && !checker_.mac2_valid(packet, source, now)) {
    transmit_.push_back(
        Datagram{std::nullopt, source, checker_.make_reply(packet, sender_index, source, now)});
    ++stats_.cookie_replies_sent;
    ctx.drop(SessionError::cookie_needed, source);
    return false;
  }
  if (!limiter_.allow(source, now)) {
    ctx.drop(SessionError::rate_limited, source);
    return false;
  }
  return true;
}

void SessionEndpoint::on_initiation(SessionContext& ctx, Bytes bytes, const Endpoint& source,
                                    Instant now) {
  auto packet = decode_initiation(bytes);
  if (!packet) return ctx.drop(reason_of(packet.error()), source);
  if (!admit_handshake(ctx, bytes, packet->sender_index, source, now)) return;
  auto known_or_convert = [this](const PublicKey& peer) -> std::optional<X25519PublicKey> {
    auto it = sessions_.find(peer);
    if (it != sessions_.end()) return it->second.remote_x25519();
    return x25519_of(peer);
  };
  auto consumed = consume_initiation(local_, packet->noise, stats_.scalar_mults, known_or_convert);
  if (!consumed) return ctx.drop(reason_of(consumed.error()), source);
  if (consumed->initiator == local_.ed25519) {
    return ctx.drop(SessionError::identity_mismatch, source);
  }
  const PublicKey peer = consumed->initiator;
  const X25519PublicKey peer_x25519 = consumed->initiator_x25519;
  Session* s = session_for(peer, peer_x25519, now);
  if (s == nullptr) return ctx.drop(SessionError::too_many_peers, source);
  s->on_initiation(ctx, std::move(*consumed), packet->sender_index, source, now);
  rearm(*s);
}

void SessionEndpoint::on_response(SessionContext& ctx, Bytes bytes, const Endpoint& source,
                                  Instant now) {
  auto packet = decode_response(bytes);
  if (!packet) return ctx.drop(reason_of(packet.error()), source);
  if (!admit_handshake(ctx, bytes, packet->sender_index, source, now)) return;
  Session* s = indices_.find(packet->receiver_index);
  if (s == nullptr) return ctx.drop(SessionError::unknown_index, source);
  s->on_response(ctx, *packet, source, now);
  rearm(*s);
}

void SessionEndpoint::on_cookie_reply(SessionContext& ctx, Bytes bytes, const Endpoint& source,
                                      Instant now) {
  auto packet = decode_cookie_reply(bytes);
  if (!packet) return ctx.drop(reason_of(packet.error()), source);
  Session* s = indices_.find(packet->receiver_index);
  if (s == nullptr) return ctx.drop(SessionError::unknown_index, source);
  s->on_cookie_reply(ctx, *packet, source, now);
  rearm(*s);
}

void SessionEndpoint::on_transport(SessionContext& ctx, Bytes bytes, const Endpoint& source,
                                   Instant now) {
  auto packet = decode_transport(bytes);
  if (!packet) return ctx.drop(reason_of(packet.error()), source);
  Session* s = indices_.find(packet->receiver_index);
  if (s == nullptr) return ctx.drop(SessionError::unknown_index, source);
  s->on_transport(ctx, *packet, source, now);
  rearm(*s);
}

}  // namespace peermq::session
