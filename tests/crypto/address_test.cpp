#include <peermq/address.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <unordered_map>

#include <sodium.h>
#include <peermq/identity.hpp>

using peermq::Address;
using peermq::AddressError;
using peermq::PublicKey;

namespace {

PublicKey key_from_hex(const char* hex) {
  PublicKey key{};
  std::size_t len = 0;
  REQUIRE(sodium_hex2bin(key.data(), key.size(), hex, 64, nullptr, &len, nullptr) == 0);
  REQUIRE(len == key.size());
  return key;
}

// RFC 8032 test 1 public key; the text was computed independently with Python's
// base64.b32encode and hashlib.blake2b(digest_size=32, key=b"peermq address v1").
const char* const kRfcKeyHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const std::string kRfcAddress = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenhqtdm";

struct Failure {
  std::error_code error;
  std::size_t pos;
};

Failure parse_failure(std::string_view text) {
  std::size_t pos = 999;
  auto parsed = Address::parse(text, &pos);
  REQUIRE_FALSE(parsed.ok());
  return {parsed.error(), pos};
}

}  // namespace

TEST_CASE("an address is 56 lowercase base32 characters of key and checksum") {
  const Address address(key_from_hex(kRfcKeyHex));
  CHECK(address.to_string() == kRfcAddress);
  auto parsed = Address::parse(kRfcAddress);
  REQUIRE(parsed.ok());
  CHECK(*parsed == address);
  CHECK(parsed->public_key() == key_from_hex(kRfcKeyHex));
}

TEST_CASE("10000 random keys survive the text round trip within 2 seconds") {
  peermq::crypto_init();
  // CPU time of this process: other builds on a shared machine do not count against it.
  // Each round costs about 25 us of key generation and 65 us of parse()'s point check.
  const std::clock_t start = std::clock();
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::array<unsigned char, crypto_sign_SEEDBYTES> seed;
    std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret;
    PublicKey key;
    randombytes_buf(seed.data(), seed.size());
    crypto_sign_seed_keypair(key.data(), secret.data(), seed.data());
    const std::string text = Address(key).to_string();
    REQUIRE(text.size() == Address::kTextSize);
    REQUIRE(text.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") == std::string::npos);
    auto parsed = Address::parse(text);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->public_key() == key);
    seen.insert(text);
  }
  const double seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  CHECK(seen.size() == 10000);
  CHECK(seconds < 2.0);
}

TEST_CASE("upper and mixed case addresses are accepted") {
  std::string upper = kRfcAddress;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](char c) { return static_cast<char>(std::toupper(c)); });
  std::string mixed = kRfcAddress;
  for (std::size_t i = 0; i < mixed.size(); i += 2)
    mixed[i] = static_cast<char>(std::toupper(mixed[i]));
  for (const auto& text : {upper, mixed}) {
    CAPTURE(text);
    auto parsed = Address::parse(text);
    REQUIRE(parsed.ok());
    CHECK(parsed->to_string() == kRfcAddress);
  }
}

TEST_CASE("an address of the wrong length is refused and says 56 characters are expected") {
  struct Case {
    std::string text;
    std::size_t pos;
  };
  const Case cases[] = {
      {"", 0},
      {kRfcAddress.substr(0, 55), 55},
      {kRfcAddress.substr(1), 55},
      {kRfcAddress + "a", 56},
      {kRfcAddress + kRfcAddress, 56},
      {kRfcAddress + "\n", 56},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto failure = parse_failure(c.text);
    CHECK(failure.error == AddressError::wrong_length);
    CHECK(failure.pos == c.pos);
    const auto message = Address::explain(c.text, failure.error, failure.pos);
    CHECK(message.find("expected 56") != std::string::npos);
    CHECK(message.find("has " + std::to_string(c.text.size()) + " characters") !=
          std::string::npos);
  }
}

TEST_CASE("a character outside the alphabet is refused with its position") {
  struct Case {
    std::size_t pos;
    char c;
    const char* shown;
  };
  const Case cases[] = {
      {0, '0', "'0'"},         {1, '1', "'1'"},  {27, '8', "'8'"},    {55, '9', "'9'"},
      {10, '-', "'-'"},        {30, '/', "'/'"}, {5, ' ', "a space"}, {40, '\xc3', "byte 0xc3"},
      {20, '\0', "byte 0x00"}, {33, '=', "'='"},
  };
  for (const auto& c : cases) {
    std::string text = kRfcAddress;
    text[c.pos] = c.c;
    CAPTURE(c.pos);
    CAPTURE(c.shown);
    const auto failure = parse_failure(text);
    CHECK(failure.error == AddressError::bad_character);
    CHECK(failure.pos == c.pos);
    const auto message = Address::explain(text, failure.error, failure.pos);
    CHECK(message.find("character " + std::to_string(c.pos + 1) + " is " + c.shown) !=
          std::string::npos);
    CHECK(message.find("no 0, 1, 8 or 9") != std::string::npos);
  }
}

TEST_CASE("the first bad character is the one reported") {
  std::string text = kRfcAddress;
  text[12] = '1';
  text[3] = '8';
  CHECK(parse_failure(text).pos == 3);
}

TEST_CASE("every single mistyped character is caught by the checksum") {
  int tried = 0;
  for (std::size_t i = 0; i < kRfcAddress.size(); ++i) {
    for (char c : std::string_view("abcdefghijklmnopqrstuvwxyz234567")) {
      if (c == kRfcAddress[i]) continue;
      std::string text = kRfcAddress;
      text[i] = c;
      CAPTURE(text);
      const auto failure = parse_failure(text);
      REQUIRE(failure.error == AddressError::bad_checksum);
      ++tried;
    }
  }
  CHECK(tried == 56 * 31);
  const auto message = Address::explain("", AddressError::bad_checksum, 0);
  CHECK(message.find("a character was mistyped") != std::string::npos);
}

TEST_CASE("every swap of two different adjacent characters is caught by the checksum") {
  int tried = 0;
  for (std::size_t i = 0; i + 1 < kRfcAddress.size(); ++i) {
    if (kRfcAddress[i] == kRfcAddress[i + 1]) continue;
    std::string text = kRfcAddress;
    std::swap(text[i], text[i + 1]);
    CAPTURE(text);
    CHECK(parse_failure(text).error == AddressError::bad_checksum);
    ++tried;
  }
  CHECK(tried > 40);
}

TEST_CASE("an address whose checksum matches but whose key is not a valid point is refused") {
  // The all-zero key encodes a low-order point; Address's constructor trusts its caller,
  // so it can produce the text a hand-made address would have.
  const std::string zero = Address(PublicKey{}).to_string();
  CHECK(zero == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaajcsto");
  CHECK(parse_failure(zero).error == AddressError::invalid_key);

  PublicKey not_canonical;
  not_canonical.fill(0xff);  // y >= p: not a canonical encoding
  CHECK(parse_failure(Address(not_canonical).to_string()).error == AddressError::invalid_key);
}

TEST_CASE("an address from untrusted key bytes is checked like a parsed one") {
  CHECK(Address::from_public_key(PublicKey{}).error() == AddressError::invalid_key);
  PublicKey order_two;  // (0, -1): y = p - 1, little-endian
  order_two.fill(0xff);
  order_two[0] = 0xec;
  order_two[31] = 0x7f;
  CHECK(Address::from_public_key(order_two).error() == AddressError::invalid_key);
  PublicKey identity_point{};
  identity_point[0] = 1;  // (0, 1), the neutral element
  CHECK(Address::from_public_key(identity_point).error() == AddressError::invalid_key);
  auto good = Address::from_public_key(key_from_hex(kRfcKeyHex));
  REQUIRE(good.ok());
  CHECK(good->to_string() == kRfcAddress);
}

TEST_CASE("address errors have distinct messages in the peermq.address category") {
  std::set<std::string> messages;
  for (auto e : {AddressError::wrong_length, AddressError::bad_character,
                 AddressError::bad_checksum, AddressError::invalid_key}) {
    const std::error_code ec = e;
    CHECK(std::string(ec.category().name()) == "peermq.address");
    CHECK(ec.message() != "unknown address error");
    messages.insert(ec.message());
  }
  CHECK(messages.size() == 4);
}

TEST_CASE("addresses key ordered and hashed maps") {
  const auto a = peermq::Identity::generate().address();
  const auto b = peermq::Identity::generate().address();
  REQUIRE(a != b);
  std::unordered_map<Address, int> hashed{{a, 1}, {b, 2}};
  std::map<Address, int> ordered{{a, 1}, {b, 2}};
  const Address a_again = *Address::parse(a.to_string());
  CHECK(hashed.at(a_again) == 1);
  CHECK(ordered.at(a_again) == 1);
  CHECK(std::hash<Address>{}(a) == std::hash<Address>{}(a_again));
  CHECK(((a < b) != (b < a)));
}
