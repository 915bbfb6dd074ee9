#include "crypto/symmetric_state.hpp"

#include <algorithm>

namespace peermq::crypto {
namespace {

std::span<const std::uint8_t, kNoiseKeyLen> truncated_key(const Secret<kNoiseHashLen>& output) {
  return output.span().first<kNoiseKeyLen>();
}

}  // namespace

SymmetricState::SymmetricState(std::string_view protocol_name) {
  const std::span<const std::uint8_t> name(
      reinterpret_cast<const std::uint8_t*>(protocol_name.data()), protocol_name.size());
  if (name.size() <= kNoiseHashLen) {
    std::copy(name.begin(), name.end(), h_.begin());  // the rest stays zero padding
  } else {
    noise_hash({name}, h_);
  }
  ck_ = Secret<kNoiseHashLen>(std::span<const std::uint8_t, kNoiseHashLen>(h_));
}

void SymmetricState::mix_key(std::span<const std::uint8_t> input_key_material) {
  Secret<kNoiseHashLen> temp_k;
  noise_hkdf(ck_, input_key_material, ck_, temp_k);
  cipher_.initialize_key(truncated_key(temp_k));
}

void SymmetricState::mix_hash(std::span<const std::uint8_t> data) {
  noise_hash({h_, data}, h_);
}

void SymmetricState::mix_key_and_hash(std::span<const std::uint8_t> input_key_material) {
  Secret<kNoiseHashLen> temp_h;
  Secret<kNoiseHashLen> temp_k;
  noise_hkdf(ck_, input_key_material, ck_, temp_h, temp_k);
  mix_hash(temp_h.span());
  cipher_.initialize_key(truncated_key(temp_k));
}

Result<void> SymmetricState::encrypt_and_hash(std::span<const std::uint8_t> plaintext,
                                              std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  if (cipher_.has_key()) {
    if (auto r = cipher_.encrypt_with_ad(h_, plaintext, out); !r) return r;
  } else {
    out.insert(out.end(), plaintext.begin(), plaintext.end());
  }
  mix_hash(std::span<const std::uint8_t>(out).subspan(start));
  return {};
}

Result<void> SymmetricState::decrypt_and_hash(std::span<const std::uint8_t> ciphertext,
                                              std::vector<std::uint8_t>& out) {
  if (cipher_.has_key()) {
    if (auto r = cipher_.decrypt_with_ad(h_, ciphertext, out); !r) return r;
  } else {
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
  }
  mix_hash(ciphertext);
  return {};
}

std::pair<CipherState, CipherState> SymmetricState::split() {
  Secret<kNoiseHashLen> temp_k1;
  Secret<kNoiseHashLen> temp_k2;
  noise_hkdf(ck_, {}, temp_k1, temp_k2);
  ck_.wipe();
  cipher_ = CipherState();
  return {CipherState(truncated_key(temp_k1)), CipherState(truncated_key(temp_k2))};
}

SymmetricState SymmetricState::fork() const {
  SymmetricState copy;
  copy.ck_ = Secret<kNoiseHashLen>(ck_.span());
  copy.h_ = h_;
  copy.cipher_ = cipher_.fork();
  return copy;
}

}  // namespace peermq::crypto
