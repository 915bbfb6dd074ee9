#include "crypto/noise_suite.hpp"

#include <sodium.h>

namespace peermq::crypto {
namespace {

static_assert(crypto_generichash_BYTES_MAX >= kNoiseHashLen);
static_assert(crypto_scalarmult_BYTES == kNoiseDhLen);
static_assert(crypto_scalarmult_SCALARBYTES == kNoiseDhLen);

void absorb(crypto_generichash_state& state, std::span<const std::uint8_t> data) {
  crypto_generichash_update(&state, data.data(), data.size());
}

// One of HMAC's two padded key blocks: (key zero-padded to BLOCKLEN) XOR pad.
void xor_pad(std::span<const std::uint8_t> key, std::uint8_t pad,
             std::span<std::uint8_t, kNoiseBlockLen> block) {
  for (std::size_t i = 0; i < kNoiseBlockLen; ++i) {
    const std::uint8_t k = i < key.size() ? key[i] : std::uint8_t{0};
    block[i] = static_cast<std::uint8_t>(k ^ pad);
  }
}

}  // namespace

void noise_hash(ByteParts parts, std::span<std::uint8_t, kNoiseHashLen> out) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kNoiseHashLen);
  for (auto part : parts) absorb(state, part);
  crypto_generichash_final(&state, out.data(), kNoiseHashLen);
  sodium_memzero(&state, sizeof state);  // it may have absorbed key material
}

void hmac_blake2b(std::span<const std::uint8_t> key, ByteParts parts,
                  std::span<std::uint8_t, kNoiseHashLen> out) {
  Secret<kNoiseHashLen> hashed_key;
  if (key.size() > kNoiseBlockLen) {
    noise_hash({key}, hashed_key.span());
    key = hashed_key.span();
  }
  Secret<kNoiseBlockLen> block;
  Secret<kNoiseHashLen> inner;

  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kNoiseHashLen);
  xor_pad(key, 0x36, block.span());
  absorb(state, block.span());
  for (auto part : parts) absorb(state, part);
  crypto_generichash_final(&state, inner.data(), kNoiseHashLen);

  crypto_generichash_init(&state, nullptr, 0, kNoiseHashLen);
  xor_pad(key, 0x5c, block.span());
  absorb(state, block.span());
  absorb(state, inner.span());
  crypto_generichash_final(&state, out.data(), kNoiseHashLen);
  sodium_memzero(&state, sizeof state);
}

namespace {

void hkdf_outputs(const Secret<kNoiseHashLen>& chaining_key, std::span<const std::uint8_t> ikm,
                  Secret<kNoiseHashLen>& out1, Secret<kNoiseHashLen>& out2,
                  Secret<kNoiseHashLen>* out3) {
  Secret<kNoiseHashLen> temp_key;
  hmac_blake2b(chaining_key.span(), {ikm}, temp_key.span());
  const std::uint8_t one = 0x01, two = 0x02, three = 0x03;
  hmac_blake2b(temp_key.span(), {{&one, 1}}, out1.span());
  hmac_blake2b(temp_key.span(), {out1.span(), {&two, 1}}, out2.span());
  if (out3 != nullptr) hmac_blake2b(temp_key.span(), {out2.span(), {&three, 1}}, out3->span());
}

}  // namespace

void noise_hkdf(const Secret<kNoiseHashLen>& chaining_key, std::span<const std::uint8_t> ikm,
                Secret<kNoiseHashLen>& out1, Secret<kNoiseHashLen>& out2) {
  hkdf_outputs(chaining_key, ikm, out1, out2, nullptr);
}

void noise_hkdf(const Secret<kNoiseHashLen>& chaining_key, std::span<const std::uint8_t> ikm,
                Secret<kNoiseHashLen>& out1, Secret<kNoiseHashLen>& out2,
                Secret<kNoiseHashLen>& out3) {
  hkdf_outputs(chaining_key, ikm, out1, out2, &out3);
}

NoisePublicKey x25519_public_key(const Secret<kNoiseDhLen>& private_key) {
  NoisePublicKey public_key{};
  // Cannot fail for a clamped scalar times the base point; the result is checked anyway
  // by every peer that uses this key in a DH.
  (void)crypto_scalarmult_base(public_key.data(), private_key.data());
  return public_key;
}

Result<Secret<kNoiseDhLen>> x25519(const Secret<kNoiseDhLen>& private_key,
                                   std::span<const std::uint8_t, kNoiseDhLen> public_key) {
  Secret<kNoiseDhLen> shared;
  // libsodium returns -1 exactly when the output is all zeros (a low-order input point).
  if (crypto_scalarmult(shared.data(), private_key.data(), public_key.data()) != 0) {
    return NoiseError::bad_dh;
  }
  return shared;
}

}  // namespace peermq::crypto
