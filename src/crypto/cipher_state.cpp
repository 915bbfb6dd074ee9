#include "crypto/cipher_state.hpp"

#include <sodium.h>

#include <array>

namespace peermq::crypto {
namespace {

static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kNoiseKeyLen);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kNoiseTagLen);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);

using Nonce = std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;

Nonce nonce_bytes(std::uint64_t n) {
  Nonce nonce{};
  for (std::size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
  return nonce;
}

}  // namespace

CipherState::CipherState(CipherState&& other) noexcept
    : k_(std::move(other.k_)), n_(other.n_), has_key_(other.has_key_) {
  other.n_ = 0;
  other.has_key_ = false;
}

CipherState& CipherState::operator=(CipherState&& other) noexcept {
  if (this != &other) {
    k_ = std::move(other.k_);
    n_ = other.n_;
    has_key_ = other.has_key_;
    other.n_ = 0;
    other.has_key_ = false;
  }
  return *this;
}

void CipherState::initialize_key(std::span<const std::uint8_t, kNoiseKeyLen> key) {
  k_ = Secret<kNoiseKeyLen>(key);
  n_ = 0;
  has_key_ = true;
}

CipherState CipherState::fork() const {
  CipherState copy;
  copy.k_ = Secret<kNoiseKeyLen>(k_.span());
  copy.n_ = n_;
  copy.has_key_ = has_key_;
  return copy;
}

Result<void> CipherState::encrypt_with_ad(std::span<const std::uint8_t> ad,
                                          std::span<const std::uint8_t> plaintext,
                                          std::vector<std::uint8_t>& out) {
  if (!has_key_) return NoiseError::no_key;
  if (n_ == kMaxNonce) return NoiseError::nonce_exhausted;
  const std::size_t start = out.size();
  out.resize(start + plaintext.size() + kNoiseTagLen);
  const Nonce nonce = nonce_bytes(n_);
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + start, &written, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(), nullptr,
                                            nonce.data(), k_.data());
  ++n_;
  return {};
}

Result<void> CipherState::decrypt_with_ad(std::span<const std::uint8_t> ad,
                                          std::span<const std::uint8_t> ciphertext,
                                          std::vector<std::uint8_t>& out) {
  if (!has_key_) return NoiseError::no_key;
  if (n_ == kMaxNonce) return NoiseError::nonce_exhausted;
  if (ciphertext.size() < kNoiseTagLen) return NoiseError::message_too_short;
  const std::size_t start = out.size();
  out.resize(start + ciphertext.size() - kNoiseTagLen);
  const Nonce nonce = nonce_bytes(n_);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data() + start, &written, nullptr,
                                                ciphertext.data(), ciphertext.size(), ad.data(),
                                                ad.size(), nonce.data(), k_.data()) != 0) {
    out.resize(start);
    return NoiseError::decrypt_failed;
  }
  ++n_;
  return {};
}

Result<void> CipherState::rekey() {
  if (!has_key_) return NoiseError::no_key;
  const std::array<std::uint8_t, kNoiseKeyLen> zeros{};
  Secret<kNoiseKeyLen + kNoiseTagLen> block;
  const Nonce nonce = nonce_bytes(kMaxNonce);
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(block.data(), &written, zeros.data(), zeros.size(),
                                            nullptr, 0, nullptr, nonce.data(), k_.data());
  k_ = Secret<kNoiseKeyLen>(block.span().first<kNoiseKeyLen>());
  return {};
}

}  // namespace peermq::crypto
