#include <doctest/doctest.h>

#include <string>

#include "crypto/noise_test_util.hpp"
#include "crypto/symmetric_state.hpp"

using namespace peermq::crypto;
using peermq::crypto::test::as_bytes;
using peermq::crypto::test::Bytes;

namespace {

constexpr std::string_view kName = "Noise_XX_25519_ChaChaPoly_BLAKE2b";

NoiseHash hash_of(std::initializer_list<std::span<const std::uint8_t>> parts) {
  NoiseHash h{};
  noise_hash(parts, h);
  return h;
}

NoiseHash hash_value(std::span<const std::uint8_t, kNoiseHashLen> h) {
  NoiseHash out{};
  std::copy(h.begin(), h.end(), out.begin());
  return out;
}

}  // namespace

TEST_CASE("a protocol name of at most 64 bytes is zero padded into h") {
  SymmetricState state(kName);
  NoiseHash expected{};
  std::copy(kName.begin(), kName.end(), expected.begin());
  CHECK(hash_value(state.handshake_hash()) == expected);
  CHECK_FALSE(state.has_key());
}

TEST_CASE("a protocol name longer than 64 bytes is hashed into h") {
  const std::string name(65, 'N');
  SymmetricState state(name);
  CHECK(hash_value(state.handshake_hash()) == hash_of({as_bytes(name)}));
}

TEST_CASE("before any key, encrypt_and_hash passes the bytes through and hashes them") {
  SymmetricState state(kName);
  const NoiseHash h0 = hash_value(state.handshake_hash());
  Bytes out;
  REQUIRE(state.encrypt_and_hash(as_bytes("clear"), out).ok());
  CHECK(out == Bytes{'c', 'l', 'e', 'a', 'r'});
  CHECK(hash_value(state.handshake_hash()) == hash_of({h0, as_bytes("clear")}));
}

TEST_CASE("two sides that mix the same inputs can talk, and the hash covers ciphertexts") {
  SymmetricState a(kName), b(kName);
  for (SymmetricState* s : {&a, &b}) {
    s->mix_hash(as_bytes("prologue"));
    s->mix_key(Bytes(32, 0x11));
    s->mix_key_and_hash(Bytes(32, 0x22));
  }
  REQUIRE(a.has_key());
  const NoiseHash before = hash_value(a.handshake_hash());
  Bytes wire, plain;
  REQUIRE(a.encrypt_and_hash(as_bytes("payload"), wire).ok());
  CHECK(wire.size() == 7 + kNoiseTagLen);
  CHECK(hash_value(a.handshake_hash()) == hash_of({before, wire}));
  REQUIRE(b.decrypt_and_hash(wire, plain).ok());
  CHECK(plain == Bytes{'p', 'a', 'y', 'l', 'o', 'a', 'd'});
  CHECK(hash_value(a.handshake_hash()) == hash_value(b.handshake_hash()));
}

TEST_CASE("mix_key_and_hash changes both the key and the hash, unlike mix_key") {
  SymmetricState a(kName), b(kName);
  a.mix_key(Bytes(32, 0x33));
  b.mix_key_and_hash(Bytes(32, 0x33));
  CHECK(hash_value(a.handshake_hash()) != hash_value(b.handshake_hash()));
  Bytes wire, plain;
  REQUIRE(a.encrypt_and_hash(as_bytes("x"), wire).ok());
  CHECK(b.decrypt_and_hash(wire, plain).error() == NoiseError::decrypt_failed);
}

TEST_CASE("a failed decrypt_and_hash leaves h unchanged and appends nothing") {
  SymmetricState a(kName), b(kName);
  a.mix_key(Bytes(32, 0x44));
  b.mix_key(Bytes(32, 0x44));
  Bytes wire, plain;
  REQUIRE(a.encrypt_and_hash(as_bytes("payload"), wire).ok());
  const NoiseHash before = hash_value(b.handshake_hash());
  wire[0] ^= 1;
  CHECK(b.decrypt_and_hash(wire, plain).error() == NoiseError::decrypt_failed);
  CHECK(plain.empty());
  CHECK(hash_value(b.handshake_hash()) == before);
  wire[0] ^= 1;
  CHECK(b.decrypt_and_hash(wire, plain).ok());
}

TEST_CASE("split gives two different directions that match the peer's") {
  SymmetricState a(kName), b(kName);
  a.mix_key(Bytes(32, 0x55));
  b.mix_key(Bytes(32, 0x55));
  auto [a1, a2] = a.split();
  auto [b1, b2] = b.split();
  Bytes one, two, plain;
  REQUIRE(a1.encrypt_with_ad({}, as_bytes("same"), one).ok());
  REQUIRE(a2.encrypt_with_ad({}, as_bytes("same"), two).ok());
  CHECK(one != two);
  CHECK(b1.decrypt_with_ad({}, one, plain).ok());
  CHECK(b2.decrypt_with_ad({}, two, plain).ok());
  CHECK_FALSE(a.has_key());
}

TEST_CASE("a fork evolves independently of its original") {
  SymmetricState original(kName);
  original.mix_key(Bytes(32, 0x66));
  SymmetricState fork = original.fork();
  CHECK(hash_value(fork.handshake_hash()) == hash_value(original.handshake_hash()));
  fork.mix_hash(as_bytes("only the fork"));
  CHECK(hash_value(fork.handshake_hash()) != hash_value(original.handshake_hash()));
  Bytes wire, plain;
  REQUIRE(original.encrypt_and_hash(as_bytes("x"), wire).ok());
  SymmetricState reader(kName);
  reader.mix_key(Bytes(32, 0x66));
  CHECK(reader.decrypt_and_hash(wire, plain).ok());
}
