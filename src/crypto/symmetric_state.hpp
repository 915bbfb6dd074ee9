// SymmetricState: the chaining key ck, the handshake hash h and the handshake's
// CipherState, as in Noise §5.2.
//
// Before the first MixKey there is no key and EncryptAndHash / DecryptAndHash pass the
// bytes through (still hashing them), exactly as the spec says. After split() the
// chaining key and the cipher key are wiped; h stays readable for channel binding.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <peermq/result.hpp>
#include <peermq/secret.hpp>

#include "crypto/cipher_state.hpp"
#include "crypto/noise_suite.hpp"

namespace peermq::crypto {

class SymmetricState {
 public:
  // InitializeSymmetric(protocol_name), e.g. "Noise_IK_25519_ChaChaPoly_BLAKE2b".
  explicit SymmetricState(std::string_view protocol_name);
  SymmetricState(const SymmetricState&) = delete;
  SymmetricState& operator=(const SymmetricState&) = delete;
  SymmetricState(SymmetricState&&) noexcept = default;
  SymmetricState& operator=(SymmetricState&&) noexcept = default;
  ~SymmetricState() = default;

  void mix_key(std::span<const std::uint8_t> input_key_material);
  void mix_hash(std::span<const std::uint8_t> data);
  void mix_key_and_hash(std::span<const std::uint8_t> input_key_material);

  // Append to out; on error nothing is appended and the state is unchanged.
  Result<void> encrypt_and_hash(std::span<const std::uint8_t> plaintext,
                                std::vector<std::uint8_t>& out);
  Result<void> decrypt_and_hash(std::span<const std::uint8_t> ciphertext,
                                std::vector<std::uint8_t>& out);

  // (c1, c2): c1 encrypts initiator -> responder, c2 responder -> initiator.
  // Wipes ck and k: call once, at the end of the handshake.
  std::pair<CipherState, CipherState> split();

  bool has_key() const noexcept { return cipher_.has_key(); }
  std::span<const std::uint8_t, kNoiseHashLen> handshake_hash() const noexcept { return h_; }

  // A deep copy, so that a handshake message can be processed on a trial state and
  // dropped if it fails. Named rather than a copy constructor so that copies of key
  // material are visible at the call site.
  SymmetricState fork() const;

 private:
  SymmetricState() = default;

  Secret<kNoiseHashLen> ck_;
  NoiseHash h_{};
  CipherState cipher_;
};

}  // namespace peermq::crypto
