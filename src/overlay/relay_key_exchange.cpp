#include "overlay/relay_key_exchange.hpp"

#include <algorithm>

namespace peermq::overlay {
namespace {

constexpr std::uint8_t kRequestType = 0xf0;
constexpr std::uint8_t kAnswerType = 0xf1;
constexpr std::array<std::uint8_t, 3> kMagic{'p', 'm', 'k'};
constexpr std::size_t kNonceAt = 4;
constexpr std::size_t kBodyAt = kNonceAt + 8;

void put_header(std::span<std::uint8_t> out, std::uint8_t type, std::uint64_t nonce) noexcept {
  out[0] = type;
  std::copy(kMagic.begin(), kMagic.end(), out.begin() + 1);
  for (std::size_t i = 0; i < 8; ++i)
    out[kNonceAt + i] = static_cast<std::uint8_t>(nonce >> (8 * i));
}

bool has_header(std::span<const std::uint8_t> d, std::uint8_t type, std::size_t size) noexcept {
  return d.size() == size && d[0] == type &&
         std::equal(kMagic.begin(), kMagic.end(), d.begin() + 1);
}

std::uint64_t nonce_of(std::span<const std::uint8_t> d) noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < 8; ++i) n |= std::uint64_t{d[kNonceAt + i]} << (8 * i);
  return n;
}

}  // namespace

const char* describe(RelayKeyError e) {
  switch (e) {
    case RelayKeyError::not_relay_key: return "not a relay key request or answer";
    case RelayKeyError::bad_padding: return "a relay key request whose padding is not zero";
    case RelayKeyError::bad_key: return "a relay key answer whose key is not a valid public key";
  }
  return "unknown relay key error";
}

bool looks_like_relay_key_request(std::span<const std::uint8_t> d) noexcept {
  return !d.empty() && d[0] == kRequestType;
}

bool looks_like_relay_key_answer(std::span<const std::uint8_t> d) noexcept {
  return !d.empty() && d[0] == kAnswerType;
}

RelayKeyRequest encode_relay_key_request(std::uint64_t nonce) noexcept {
  RelayKeyRequest r{};
  put_header(r, kRequestType, nonce);
  return r;
}

RelayKeyAnswer encode_relay_key_answer(std::uint64_t nonce, const PublicKey& key) noexcept {
  RelayKeyAnswer a{};
  put_header(a, kAnswerType, nonce);
  std::copy(key.begin(), key.end(), a.begin() + kBodyAt);
  return a;
}

Result<std::uint64_t> decode_relay_key_request(std::span<const std::uint8_t> d) {
  if (!has_header(d, kRequestType, limits::kRelayKeyRequestSize)) {
    return RelayKeyError::not_relay_key;
  }
  // Zero padding keeps the format open: a later version may put fields there.
  if (std::any_of(d.begin() + kBodyAt, d.end(), [](std::uint8_t b) { return b != 0; })) {
    return RelayKeyError::bad_padding;
  }
  return nonce_of(d);
}

Result<RelayKeyAnswerFields> decode_relay_key_answer(std::span<const std::uint8_t> d) {
  if (!has_header(d, kAnswerType, limits::kRelayKeyAnswerSize)) {
    return RelayKeyError::not_relay_key;
  }
  RelayKeyAnswerFields f;
  f.nonce = nonce_of(d);
  std::copy(d.begin() + kBodyAt, d.end(), f.key.begin());
  if (!Address::from_public_key(f.key)) return RelayKeyError::bad_key;
  return f;
}

}  // namespace peermq::overlay
