// The Noise IK handshake of a session (WireGuard noise.c): what goes into and comes out of
// the Noise messages, on top of crypto::HandshakeState.
//
// Message 1 (initiation) carries the payload TAI64N timestamp (12) || initiator Ed25519
// public key (32). Both are encrypted, so the initiator's identity never shows on the
// wire; the responder checks that the Ed25519 key maps to the Noise static key it just
// authenticated, so the address the session is bound to is proven by the handshake.
// Message 2 (response) carries an empty payload.
//
// X25519 cost (scalar multiplications): create_initiation 4 (our static public, e, es,
// ss), consume_initiation 3 (our static public, es, ss), create_response 3 (e, ee, se),
// consume_response 2 (ee, se). The static public is recomputed by HandshakeState::create.
// consume_initiation also maps the claimed Ed25519 key to X25519 (about one more scalar
// multiplication in libsodium, which checks the subgroup) unless the lookup knows it.
// `scalar_mults` is increased by these counts before the work, so it is an upper bound.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>
#include <peermq/secret.hpp>

#include "crypto/handshake_state.hpp"

namespace peermq::session {

inline constexpr std::string_view kPrologue = "peermq v1";

using Tai64n = std::array<std::uint8_t, 12>;
// Big-endian seconds since 1970 + 2^62, then nanoseconds: byte order is time order.
Tai64n tai64n(WallTime t);

// This node's keys as the handshake needs them.
struct LocalKeys {
  PublicKey ed25519{};
  X25519PublicKey x25519_public{};
  Secret<32> x25519_secret;
};

// The Ed25519 key's X25519 counterpart; nullopt when it is not a valid point.
std::optional<X25519PublicKey> x25519_of(const PublicKey& ed25519);

// Initiator: a fresh HandshakeState with message 1 written to noise_out.
Result<crypto::HandshakeState> create_initiation(const LocalKeys& local,
                                                 const X25519PublicKey& remote, Tai64n timestamp,
                                                 std::vector<std::uint8_t>& noise_out,
                                                 std::uint64_t& scalar_mults);

struct ConsumedInitiation {
  crypto::HandshakeState state;  // ready to write the response
  PublicKey initiator{};         // authenticated Ed25519 key
  X25519PublicKey initiator_x25519{};
  Tai64n timestamp{};
};

// The X25519 key an Ed25519 key maps to. Converting costs about one scalar
// multiplication (libsodium checks the point's subgroup), so the endpoint answers from the
// sessions it already has and converts only for new peers.
using X25519Lookup = std::function<std::optional<X25519PublicKey>(const PublicKey&)>;

// Responder: reads message 1. Errors: handshake_failed, bad_payload, identity_mismatch.
Result<ConsumedInitiation> consume_initiation(const LocalKeys& local,
                                              std::span<const std::uint8_t> noise,
                                              std::uint64_t& scalar_mults,
                                              const X25519Lookup& lookup = x25519_of);

// Responder: writes message 2 and splits. Errors: handshake_failed.
Result<crypto::TransportCiphers> create_response(crypto::HandshakeState& state,
                                                 std::vector<std::uint8_t>& noise_out,
                                                 std::uint64_t& scalar_mults);

// Initiator: reads message 2 and splits. On failure `state` is unchanged, so the genuine
// response can still come. Errors: handshake_failed.
Result<crypto::TransportCiphers> consume_response(crypto::HandshakeState& state,
                                                  std::span<const std::uint8_t> noise,
                                                  std::uint64_t& scalar_mults);

}  // namespace peermq::session
