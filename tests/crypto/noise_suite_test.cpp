#include <doctest/doctest.h>

#include <sodium.h>

#include "crypto/noise_suite.hpp"
#include "crypto/noise_test_util.hpp"

using namespace peermq::crypto;
using peermq::Secret;
using peermq::crypto::test::as_bytes;
using peermq::crypto::test::Bytes;
using peermq::crypto::test::from_hex;
using peermq::crypto::test::to_hex;

namespace {

Bytes counting(std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i);
  return out;
}

template <std::size_t N>
Secret<N> secret_from_hex(std::string_view hex) {
  const Bytes bytes = from_hex(hex);
  REQUIRE(bytes.size() == N);
  return Secret<N>(std::span<const std::uint8_t, N>(bytes.data(), N));
}

}  // namespace

// The expected values come from Python's hmac module over hashlib.blake2b (block 128),
// an implementation independent of this one.
TEST_CASE("HMAC-BLAKE2b matches RFC 2104 with a 128-byte block") {
  NoiseHash mac{};
  hmac_blake2b(counting(64), {as_bytes("peermq")}, mac);
  CHECK(to_hex(mac) ==
        "bd0f40a6493f4cc5e240067a64c2e2aad98b462b558310a9f432a3a7ab200cb8e2fcb40a3305fea2dce78be2"
        "8164b156db9d6136a8e81f5480c1878c3ddfe514");
  SUBCASE("a key longer than a block is hashed first") {
    hmac_blake2b(counting(200), {as_bytes("peermq")}, mac);
    CHECK(to_hex(mac) ==
          "05ca80b81c496493b805123aaa6dbf465061bf9503d01c52bbf838fa34e401a08546c2e95959364b5a5903"
          "a40dc3c7a6fda6a295622823a67b01626db2e6c5a9");
  }
  SUBCASE("an empty key and message") {
    hmac_blake2b({}, {}, mac);
    CHECK(to_hex(mac) ==
          "198cd2006f66ff83fbbd913f78aca2251caf4f19fe9475aade8cf2091b99a68466775177424f58286886cb"
          "ae8229644cec747237d4b721735485e17372fdf59c");
  }
}

TEST_CASE("HMAC-BLAKE2b is not BLAKE2b's keyed mode") {
  const Bytes key = counting(64);
  NoiseHash mac{}, keyed{};
  hmac_blake2b(key, {as_bytes("peermq")}, mac);
  crypto_generichash(keyed.data(), keyed.size(), as_bytes("peermq").data(), 6, key.data(),
                     key.size());
  CHECK(mac != keyed);
}

TEST_CASE("HMAC-BLAKE2b over several parts equals HMAC over their concatenation") {
  NoiseHash parts{}, whole{};
  hmac_blake2b(counting(64), {as_bytes("peer"), as_bytes("mq")}, parts);
  hmac_blake2b(counting(64), {as_bytes("peermq")}, whole);
  CHECK(parts == whole);
}

TEST_CASE("Noise HKDF gives the known two and three outputs") {
  const Bytes ck_bytes = counting(64);
  const Secret<64> ck(std::span<const std::uint8_t, 64>(ck_bytes.data(), 64));
  const Bytes ikm(32, 0xaa);
  const char* o1 =
      "f47218b1498130a0f442a4c163ff0c53e981631f793ea49eb4475cb9c93bda51828c70c500e2b7ab2380e72e88"
      "6175692d69f38e952cd8cfb2216bb11cfe608c";
  const char* o2 =
      "ca94dd29540f07d67e47c1ab1a1304de16aaa2ffabcadff325f8ff8f2fa34d86a5ed1537174bba0b0cae2be77c"
      "fe77b02a6a1a25fb0bb7e9615a4ca1ed23927e";
  const char* o3 =
      "08bd67aafab0e5e41856416b83f1c101741fc39e68a52bb9312f563ab2eb4e9a4d17efb4e8bd9893b1b51b4cbe"
      "dadef5644fc8eb2bf743aaf7ba5c02a4745382";
  Secret<64> out1, out2, out3;
  noise_hkdf(ck, ikm, out1, out2, out3);
  CHECK(to_hex(out1.span()) == o1);
  CHECK(to_hex(out2.span()) == o2);
  CHECK(to_hex(out3.span()) == o3);

  SUBCASE("the first output may overwrite the chaining key") {
    Secret<64> chaining(ck.span());
    Secret<64> second;
    noise_hkdf(chaining, ikm, chaining, second);
    CHECK(to_hex(chaining.span()) == o1);
    CHECK(to_hex(second.span()) == o2);
  }
}

TEST_CASE("X25519 agrees with RFC 7748 section 6.1") {
  auto alice =
      secret_from_hex<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto bob =
      secret_from_hex<32>("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const NoisePublicKey alice_public = x25519_public_key(alice);
  const NoisePublicKey bob_public = x25519_public_key(bob);
  CHECK(to_hex(alice_public) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  CHECK(to_hex(bob_public) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto ab = x25519(alice, bob_public);
  auto ba = x25519(bob, alice_public);
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(to_hex(ab->span()) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  CHECK(to_hex(ba->span()) == to_hex(ab->span()));
}

TEST_CASE("X25519 with a low-order public key is refused") {
  auto secret =
      secret_from_hex<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  for (const char* point : {
           "0000000000000000000000000000000000000000000000000000000000000000",  // 0
           "0100000000000000000000000000000000000000000000000000000000000000",  // 1
           "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
       }) {
    CAPTURE(point);
    NoisePublicKey low_order{};
    const Bytes bytes = from_hex(point);
    std::copy(bytes.begin(), bytes.end(), low_order.begin());
    auto shared = x25519(secret, low_order);
    REQUIRE_FALSE(shared.ok());
    CHECK(shared.error() == NoiseError::bad_dh);
  }
}
