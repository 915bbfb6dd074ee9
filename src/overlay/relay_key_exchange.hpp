// RelayKeyExchange: how a node learns the public key of a relay it was given only as
// HOST:PORT, before it can open a Noise IK session with it (IK needs the responder's key).
//
//   request  F0 'p' 'm' 'k' | nonce u64 LE | 52 zero bytes                       = 64
//   answer   F1 'p' 'm' 'k' | nonce u64 LE | Ed25519 public key (32)             = 44
//
// Both travel outside any session, in the clear, on the node's one UDP socket (the first
// byte never starts a session packet, whose types are 1..4). The exchange is NOT
// authenticated: whoever answers first from the relay's endpoint with the right nonce is
// believed, once, and the key is then pinned for the life of the process (trust on first
// use, like SSH's first connection). What a wrong answer costs is bounded by the design:
// addresses are self-certifying, so a fake relay can drop, delay or count a node's traffic
// but never read or forge it. `ADDR@HOST:PORT` skips the exchange and authenticates the
// relay from the start.
//
// Only relays answer (a Host with HostOptions::relay); the answer is
// smaller than the request, so the exchange cannot amplify a spoofed flood. Decoders
// check the exact size, the magic and the padding before reading anything.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <peermq/address.hpp>
#include <peermq/result.hpp>

#include "wire/limits.hpp"

namespace peermq::overlay {

enum class RelayKeyError {
  not_relay_key = 1,  // another kind of datagram (wrong size or type)
  bad_padding,        // a request whose padding is not zero
  bad_key,            // an answer whose key is not a valid Ed25519 public key
};
const char* describe(RelayKeyError e);
inline const char* category_name(RelayKeyError) {
  return "peermq.overlay.relay_key";
}
PEERMQ_ERROR_ENUM(RelayKeyError)

using RelayKeyRequest = std::array<std::uint8_t, limits::kRelayKeyRequestSize>;
using RelayKeyAnswer = std::array<std::uint8_t, limits::kRelayKeyAnswerSize>;

struct RelayKeyAnswerFields {
  std::uint64_t nonce = 0;
  PublicKey key{};
};

// Cheap test on the first byte: could this datagram be a request / an answer?
bool looks_like_relay_key_request(std::span<const std::uint8_t> datagram) noexcept;
bool looks_like_relay_key_answer(std::span<const std::uint8_t> datagram) noexcept;

RelayKeyRequest encode_relay_key_request(std::uint64_t nonce) noexcept;
RelayKeyAnswer encode_relay_key_answer(std::uint64_t nonce, const PublicKey& key) noexcept;
// The request's nonce.
Result<std::uint64_t> decode_relay_key_request(std::span<const std::uint8_t> datagram);
// Checks the key is a usable Ed25519 point (one scalar multiplication).
Result<RelayKeyAnswerFields> decode_relay_key_answer(std::span<const std::uint8_t> datagram);

}  // namespace peermq::overlay

PEERMQ_ERROR_ENUM_STD(peermq::overlay::RelayKeyError)
