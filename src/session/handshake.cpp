#include "session/handshake.hpp"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "session/packet.hpp"
#include "session/session_error.hpp"

namespace peermq::session {
namespace {

using Bytes = std::span<const std::uint8_t>;

Bytes prologue() {
  return {reinterpret_cast<const std::uint8_t*>(kPrologue.data()), kPrologue.size()};
}

}  // namespace

Tai64n tai64n(WallTime t) {
  using namespace std::chrono;
  const auto since = duration_cast<nanoseconds>(t.time_since_epoch());
  const auto secs = floor<seconds>(since);
  const std::uint64_t s = (std::uint64_t{1} << 62) + static_cast<std::uint64_t>(secs.count());
  const auto ns = static_cast<std::uint32_t>((since - secs).count());
  Tai64n out{};
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(s >> (56 - 8 * i));
  for (std::size_t i = 0; i < 4; ++i) out[8 + i] = static_cast<std::uint8_t>(ns >> (24 - 8 * i));
  return out;
}

std::optional<X25519PublicKey> x25519_of(const PublicKey& ed25519) {
  X25519PublicKey out{};
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), ed25519.data()) != 0) return std::nullopt;
  return out;
}

Result<crypto::HandshakeState> create_initiation(const LocalKeys& local,
                                                 const X25519PublicKey& remote, Tai64n timestamp,
                                                 std::vector<std::uint8_t>& noise_out,
                                                 std::uint64_t& scalar_mults) {
  crypto::HandshakeConfig config;
  config.pattern = "IK";
  config.role = crypto::NoiseRole::initiator;
  config.prologue = prologue();
  config.local_static = local.x25519_secret.span();
  config.local_static_public = local.x25519_public;
  config.remote_static = remote;
  auto state = crypto::HandshakeState::create(config);
  if (!state) return SessionError::handshake_failed;  // unreachable: the config is fixed
  std::array<std::uint8_t, kInitiationPayloadSize> payload{};
  std::copy(timestamp.begin(), timestamp.end(), payload.begin());
  std::copy(local.ed25519.begin(), local.ed25519.end(), payload.begin() + kTimestampSize);
  scalar_mults += 4;
  if (auto w = state->write_message(payload, noise_out); !w) return SessionError::handshake_failed;
  return state;
}

Result<ConsumedInitiation> consume_initiation(const LocalKeys& local, Bytes noise,
                                              std::uint64_t& scalar_mults,
                                              const X25519Lookup& lookup) {
  crypto::HandshakeConfig config;
  config.pattern = "IK";
  config.role = crypto::NoiseRole::responder;
  config.prologue = prologue();
  config.local_static = local.x25519_secret.span();
  config.local_static_public = local.x25519_public;
  auto state = crypto::HandshakeState::create(config);
  if (!state) return SessionError::handshake_failed;  // unreachable: the config is fixed
  std::vector<std::uint8_t> payload;
  scalar_mults += 3;
  if (!state->read_message(noise, payload)) return SessionError::handshake_failed;
  if (payload.size() != kInitiationPayloadSize) return SessionError::bad_payload;
  ConsumedInitiation c{std::move(*state), {}, {}, {}};
  std::copy_n(payload.begin(), kTimestampSize, c.timestamp.begin());
  std::copy_n(payload.begin() + kTimestampSize, c.initiator.size(), c.initiator.begin());
  // The address must be the key the handshake authenticated, or anyone could claim any
  // address with their own static key.
  const auto rs = c.state.remote_static();
  const auto mapped = lookup(c.initiator);
  if (!rs || !mapped || sodium_memcmp(rs->data(), mapped->data(), mapped->size()) != 0) {
    return SessionError::identity_mismatch;
  }
  c.initiator_x25519 = *mapped;
  return c;
}

Result<crypto::TransportCiphers> create_response(crypto::HandshakeState& state,
                                                 std::vector<std::uint8_t>& noise_out,
                                                 std::uint64_t& scalar_mults) {
  scalar_mults += 3;
  if (!state.write_message({}, noise_out)) return SessionError::handshake_failed;
  auto ciphers = state.split();
  if (!ciphers) return SessionError::handshake_failed;
  return std::move(*ciphers);
}

Result<crypto::TransportCiphers> consume_response(crypto::HandshakeState& state, Bytes noise,
                                                  std::uint64_t& scalar_mults) {
  std::vector<std::uint8_t> payload;
  scalar_mults += 2;
  if (!state.read_message(noise, payload)) return SessionError::handshake_failed;
  // IK's second message has an empty payload; anything else is not a peermq v1 response.
  if (!payload.empty()) return SessionError::bad_payload;
  auto ciphers = state.split();
  if (!ciphers) return SessionError::handshake_failed;
  return std::move(*ciphers);
}

}  // namespace peermq::session
