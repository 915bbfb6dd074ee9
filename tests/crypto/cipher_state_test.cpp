#include <doctest/doctest.h>

#include <sodium.h>

#include <array>

#include "crypto/cipher_state.hpp"
#include "crypto/noise_test_util.hpp"

using namespace peermq::crypto;
using peermq::crypto::test::as_bytes;
using peermq::crypto::test::Bytes;

namespace {

const std::array<std::uint8_t, 32> kKey = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                           12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                           23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

Bytes sodium_encrypt(std::uint64_t n, std::span<const std::uint8_t> ad,
                     std::span<const std::uint8_t> plaintext) {
  std::array<std::uint8_t, 12> nonce{};  // 32 zero bits, then n little endian
  for (std::size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
  Bytes out(plaintext.size() + 16);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), nullptr, plaintext.data(), plaintext.size(),
                                            ad.data(), ad.size(), nullptr, nonce.data(),
                                            kKey.data());
  return out;
}

}  // namespace

TEST_CASE("cipher nonce is 32 zero bits then the 64-bit counter little endian") {
  CipherState cipher(kKey);
  cipher.set_nonce(0x0102030405060708u);
  Bytes wire;
  REQUIRE(cipher.encrypt_with_ad(as_bytes("ad"), as_bytes("hello"), wire).ok());
  CHECK(wire == sodium_encrypt(0x0102030405060708u, as_bytes("ad"), as_bytes("hello")));
  CHECK(cipher.nonce() == 0x0102030405060709u);
}

TEST_CASE("cipher counts messages and appends to the output") {
  CipherState sender(kKey), receiver(kKey);
  Bytes wire = {0xff};  // bytes already in the buffer, e.g. a packet header
  REQUIRE(sender.encrypt_with_ad({}, as_bytes("one"), wire).ok());
  REQUIRE(sender.encrypt_with_ad({}, as_bytes("two"), wire).ok());
  REQUIRE(wire.size() == 1 + 19 + 19);
  CHECK(wire[0] == 0xff);
  CHECK(Bytes(wire.begin() + 20, wire.end()) == sodium_encrypt(1, {}, as_bytes("two")));
  Bytes plain;
  REQUIRE(receiver.decrypt_with_ad({}, std::span(wire).subspan(1, 19), plain).ok());
  REQUIRE(receiver.decrypt_with_ad({}, std::span(wire).subspan(20), plain).ok());
  CHECK(plain == Bytes{'o', 'n', 'e', 't', 'w', 'o'});
  CHECK(receiver.nonce() == 2);
}

TEST_CASE("a failed decryption appends nothing and keeps the nonce") {
  CipherState sender(kKey), receiver(kKey);
  Bytes wire;
  REQUIRE(sender.encrypt_with_ad(as_bytes("ad"), as_bytes("payload"), wire).ok());
  Bytes plain = {7};
  SUBCASE("wrong associated data") {
    auto r = receiver.decrypt_with_ad(as_bytes("AD"), wire, plain);
    CHECK(r.error() == NoiseError::decrypt_failed);
  }
  SUBCASE("flipped tag bit") {
    wire.back() ^= 0x80;
    auto r = receiver.decrypt_with_ad(as_bytes("ad"), wire, plain);
    CHECK(r.error() == NoiseError::decrypt_failed);
  }
  SUBCASE("shorter than a tag") {
    auto r = receiver.decrypt_with_ad(as_bytes("ad"), std::span(wire).first(15), plain);
    CHECK(r.error() == NoiseError::message_too_short);
  }
  CHECK(plain == Bytes{7});
  CHECK(receiver.nonce() == 0);
}

TEST_CASE("a cipher without a key refuses instead of passing plaintext through") {
  CipherState cipher;
  Bytes out;
  CHECK(cipher.encrypt_with_ad({}, as_bytes("secret"), out).error() == NoiseError::no_key);
  CHECK(cipher.decrypt_with_ad({}, Bytes(20), out).error() == NoiseError::no_key);
  CHECK(cipher.rekey().error() == NoiseError::no_key);
  CHECK(out.empty());
}

TEST_CASE("the last nonce is reserved and refused") {
  CipherState cipher(kKey);
  cipher.set_nonce(CipherState::kMaxNonce - 1);
  Bytes out;
  REQUIRE(cipher.encrypt_with_ad({}, as_bytes("x"), out).ok());
  CHECK(cipher.encrypt_with_ad({}, as_bytes("x"), out).error() == NoiseError::nonce_exhausted);
  CHECK(cipher.decrypt_with_ad({}, out, out).error() == NoiseError::nonce_exhausted);
}

TEST_CASE("rekey derives the key from the reserved nonce and keeps the counter") {
  CipherState sender(kKey), receiver(kKey);
  sender.set_nonce(5);
  REQUIRE(sender.rekey().ok());
  REQUIRE(receiver.rekey().ok());
  CHECK(sender.nonce() == 5);

  const Bytes block = sodium_encrypt(CipherState::kMaxNonce, {}, Bytes(32, 0));
  std::array<std::uint8_t, 32> expected_key{};
  std::copy_n(block.begin(), 32, expected_key.begin());
  CipherState expected(expected_key);
  expected.set_nonce(5);

  Bytes wire, reference, plain;
  REQUIRE(sender.encrypt_with_ad({}, as_bytes("after"), wire).ok());
  REQUIRE(expected.encrypt_with_ad({}, as_bytes("after"), reference).ok());
  CHECK(wire == reference);
  receiver.set_nonce(5);
  REQUIRE(receiver.decrypt_with_ad({}, wire, plain).ok());
  CipherState old_key(kKey);
  old_key.set_nonce(5);
  CHECK_FALSE(old_key.decrypt_with_ad({}, wire, plain).ok());
}

TEST_CASE("moving a cipher leaves the source without a key") {
  CipherState source(kKey);
  CipherState target(std::move(source));
  Bytes out;
  CHECK(target.encrypt_with_ad({}, as_bytes("x"), out).ok());
  CHECK_FALSE(source.has_key());  // NOLINT(bugprone-use-after-move): that is the point
  CHECK(source.encrypt_with_ad({}, as_bytes("x"), out).error() == NoiseError::no_key);
}
