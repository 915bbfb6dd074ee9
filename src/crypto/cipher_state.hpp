// CipherState: a ChaCha20-Poly1305 key and its 64-bit nonce counter, as in Noise §5.1.
//
// The nonce on the wire of the AEAD is 32 zero bits followed by n in little endian.
// One deliberate difference from the spec: encrypting or decrypting without a key is an
// error (no_key) here, not a pass-through. The pass-through the handshake needs before
// the first DH lives in SymmetricState, so a transport cipher that somehow never got a
// key cannot silently send plaintext.
//
// Not copyable (it holds a key); moving leaves the source without a key. Not thread-safe:
// one owner calls it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <peermq/result.hpp>
#include <peermq/secret.hpp>

#include "crypto/noise_suite.hpp"

namespace peermq::crypto {

class CipherState {
 public:
  // n = 2^64 - 1 is reserved by the spec (it is the rekey nonce) and never used for data.
  static constexpr std::uint64_t kMaxNonce = UINT64_MAX;

  CipherState() = default;  // no key
  explicit CipherState(std::span<const std::uint8_t, kNoiseKeyLen> key) { initialize_key(key); }
  CipherState(const CipherState&) = delete;
  CipherState& operator=(const CipherState&) = delete;
  CipherState(CipherState&& other) noexcept;
  CipherState& operator=(CipherState&& other) noexcept;
  ~CipherState() = default;

  // Sets the key and resets n to 0.
  void initialize_key(std::span<const std::uint8_t, kNoiseKeyLen> key);
  bool has_key() const noexcept { return has_key_; }
  // For explicit counters carried in packets: set n before encrypting or decrypting.
  void set_nonce(std::uint64_t n) noexcept { n_ = n; }
  std::uint64_t nonce() const noexcept { return n_; }

  // Appends ENCRYPT(k, n, ad, plaintext) (plaintext.size() + 16 bytes) to out and
  // increments n. On error nothing is appended and n is unchanged.
  Result<void> encrypt_with_ad(std::span<const std::uint8_t> ad,
                               std::span<const std::uint8_t> plaintext,
                               std::vector<std::uint8_t>& out);
  // Appends the plaintext of ciphertext to out and increments n; on failure
  // (decrypt_failed, message_too_short) nothing is appended and n is unchanged.
  Result<void> decrypt_with_ad(std::span<const std::uint8_t> ad,
                               std::span<const std::uint8_t> ciphertext,
                               std::vector<std::uint8_t>& out);

  // REKEY(k): k = first 32 bytes of ENCRYPT(k, 2^64 - 1, "", 32 zero bytes). n is kept.
  Result<void> rekey();

 private:
  friend class SymmetricState;  // forks a copy to roll back a failed handshake message
  CipherState fork() const;

  Secret<kNoiseKeyLen> k_;
  std::uint64_t n_ = 0;
  bool has_key_ = false;
};

}  // namespace peermq::crypto
