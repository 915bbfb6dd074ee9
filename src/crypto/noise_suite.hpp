// The primitives of the Noise suite 25519_ChaChaPoly_BLAKE2b, on libsodium.
//
// DH is X25519, HASH is BLAKE2b-512, and HMAC is RFC 2104 over BLAKE2b with its
// 128-byte block: Noise requires HMAC, not BLAKE2b's own keyed mode, so
// crypto_generichash is only ever called unkeyed here. The cipher lives in
// CipherState. All functions are pure; every intermediate derived from a key is wiped
// before they return.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include <peermq/result.hpp>
#include <peermq/secret.hpp>

#include "crypto/noise_error.hpp"

namespace peermq::crypto {

inline constexpr std::size_t kNoiseDhLen = 32;
inline constexpr std::size_t kNoiseHashLen = 64;
inline constexpr std::size_t kNoiseBlockLen = 128;
inline constexpr std::size_t kNoiseKeyLen = 32;
inline constexpr std::size_t kNoiseTagLen = 16;
inline constexpr std::size_t kNoiseMaxMessage = 65535;

using NoisePublicKey = std::array<std::uint8_t, kNoiseDhLen>;
using NoiseHash = std::array<std::uint8_t, kNoiseHashLen>;
using ByteParts = std::initializer_list<std::span<const std::uint8_t>>;

// HASH(parts[0] || parts[1] || ...).
void noise_hash(ByteParts parts, std::span<std::uint8_t, kNoiseHashLen> out);

// HMAC-BLAKE2b(key, parts[0] || parts[1] || ...). Keys longer than a block are hashed
// first, as RFC 2104 says; Noise itself only uses 64-byte keys.
void hmac_blake2b(std::span<const std::uint8_t> key, ByteParts parts,
                  std::span<std::uint8_t, kNoiseHashLen> out);

// HKDF(chaining_key, ikm) as the Noise spec defines it, with two or three outputs.
// out1 may be the chaining key itself: it is read in full before out1 is written.
void noise_hkdf(const Secret<kNoiseHashLen>& chaining_key, std::span<const std::uint8_t> ikm,
                Secret<kNoiseHashLen>& out1, Secret<kNoiseHashLen>& out2);
void noise_hkdf(const Secret<kNoiseHashLen>& chaining_key, std::span<const std::uint8_t> ikm,
                Secret<kNoiseHashLen>& out1, Secret<kNoiseHashLen>& out2,
                Secret<kNoiseHashLen>& out3);

// The X25519 public key of a private key (libsodium clamps the scalar).
NoisePublicKey x25519_public_key(const Secret<kNoiseDhLen>& private_key);

// DH(private_key, public_key). Fails with bad_dh when the peer's key is a low-order
// point, which would make the shared secret all zeros and known to anyone.
Result<Secret<kNoiseDhLen>> x25519(const Secret<kNoiseDhLen>& private_key,
                                   std::span<const std::uint8_t, kNoiseDhLen> public_key);

}  // namespace peermq::crypto
