#include <peermq/identity.hpp>

#include <doctest/doctest.h>

#include <string_view>
#include <type_traits>

#include <sodium.h>

using peermq::Identity;

namespace {

template <std::size_t N>
std::array<std::uint8_t, N> from_hex(std::string_view hex) {
  std::array<std::uint8_t, N> out{};
  std::size_t len = 0;
  REQUIRE(sodium_hex2bin(out.data(), N, hex.data(), hex.size(), nullptr, &len, nullptr) == 0);
  REQUIRE(len == N);
  return out;
}

// RFC 8032 section 7.1, test 1: secret key, public key, and the signature of "".
constexpr std::string_view kRfcSeed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfcPublic =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfcSignature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
    "46bd25bf5f0595bbe24655141438e7a100b";

Identity rfc_identity() {
  const peermq::Secret<32> seed(from_hex<32>(kRfcSeed));
  return Identity::from_seed(seed);
}

bool all_zero(std::span<const std::uint8_t> bytes) {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("an identity from a seed matches the RFC 8032 test vector") {
  const auto identity = rfc_identity();
  CHECK(identity.public_key() == from_hex<32>(kRfcPublic));
  CHECK(identity.sign({}) == from_hex<64>(kRfcSignature));
  CHECK(identity.address().public_key() == identity.public_key());
}

// tests/web/wasm_test.mjs checks that the wasm build gives the same text for this seed.
TEST_CASE("the RFC 8032 seed's address has a fixed text form") {
  CHECK(rfc_identity().address().to_string() ==
        "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenhqtdm");
}

TEST_CASE("the same seed always gives the same identity, and seed() returns it") {
  const auto first = Identity::generate();
  const auto second = Identity::from_seed(first.seed());
  CHECK(second.public_key() == first.public_key());
  CHECK(second.address() == first.address());
  CHECK(second.x25519_public() == first.x25519_public());
}

TEST_CASE("generated identities differ") {
  CHECK(Identity::generate().public_key() != Identity::generate().public_key());
}

TEST_CASE("the X25519 keys are the Ed25519 keys mapped to Curve25519, and match each other") {
  for (int i = 0; i < 16; ++i) {
    const auto identity = Identity::generate();
    std::array<std::uint8_t, 32> computed{};
    REQUIRE(crypto_scalarmult_base(computed.data(), identity.x25519_secret().data()) == 0);
    CHECK(computed == identity.x25519_public());
    std::array<std::uint8_t, 32> converted{};
    REQUIRE(crypto_sign_ed25519_pk_to_curve25519(converted.data(), identity.public_key().data()) ==
            0);
    CHECK(converted == identity.x25519_public());
  }
}

TEST_CASE("two identities agree on an X25519 shared secret") {
  const auto a = Identity::generate();
  const auto b = Identity::generate();
  std::array<std::uint8_t, 32> ab{}, ba{};
  REQUIRE(crypto_scalarmult(ab.data(), a.x25519_secret().data(), b.x25519_public().data()) == 0);
  REQUIRE(crypto_scalarmult(ba.data(), b.x25519_secret().data(), a.x25519_public().data()) == 0);
  CHECK(ab == ba);
  CHECK_FALSE(all_zero(ab));
}

TEST_CASE("a signature verifies only for its signer and its message") {
  const auto signer = Identity::generate();
  const auto other = Identity::generate();
  const std::array<std::uint8_t, 5> message{1, 2, 3, 4, 5};
  auto signature = signer.sign(message);
  CHECK(Identity::verify(signer.public_key(), message, signature));
  CHECK_FALSE(Identity::verify(other.public_key(), message, signature));
  auto changed = message;
  changed[0] ^= 1;
  CHECK_FALSE(Identity::verify(signer.public_key(), changed, signature));
  signature[10] ^= 0x40;
  CHECK_FALSE(Identity::verify(signer.public_key(), message, signature));
}

TEST_CASE("an identity cannot be copied, and moving it wipes the source's secrets") {
  static_assert(!std::is_copy_constructible_v<Identity>);
  static_assert(!std::is_copy_assignable_v<Identity>);
  static_assert(std::is_nothrow_move_constructible_v<Identity>);
  auto source = Identity::generate();
  const auto key = source.public_key();
  const Identity moved = std::move(source);
  CHECK(moved.public_key() == key);
  CHECK_FALSE(all_zero(moved.x25519_secret().span()));
  CHECK(all_zero(source.x25519_secret().span()));  // NOLINT(bugprone-use-after-move)
  CHECK(all_zero(source.seed().span()));           // NOLINT(bugprone-use-after-move)
}

TEST_CASE("crypto_init can be called any number of times") {
  peermq::crypto_init();
  peermq::crypto_init();
  CHECK(sodium_init() == 1);  // 1: already initialised
}
