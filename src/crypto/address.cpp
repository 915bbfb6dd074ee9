#include <peermq/address.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <sodium.h>

#include <peermq/identity.hpp>

namespace peermq {
namespace {

constexpr std::size_t kChecksumSize = 3;
constexpr std::size_t kRawSize = kPublicKeySize + kChecksumSize;  // 35 bytes = 280 bits
constexpr std::size_t kGroupBytes = 5;                            // base32: 5 bytes <-> 8 chars
constexpr std::size_t kGroupChars = 8;
static_assert(kRawSize % kGroupBytes == 0, "the address must need no base32 padding");
static_assert(kRawSize / kGroupBytes * kGroupChars == Address::kTextSize);

constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr char kDomain[] = "peermq address v1";
static_assert(sizeof kDomain - 1 >= crypto_generichash_KEYBYTES_MIN);

// Character -> 5-bit value, or -1. Upper case is accepted: people retype addresses.
constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < 32; ++i) {
    const auto c = static_cast<unsigned char>(kAlphabet[i]);
    table[c] = static_cast<std::int8_t>(i);
    if (c >= 'a' && c <= 'z') table[c - 'a' + 'A'] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr auto kDecode = make_decode_table();

// Needs no sodium_init(): BLAKE2b works before it, init only picks a faster compressor.
std::array<std::uint8_t, kChecksumSize> checksum(const PublicKey& key) {
  std::array<std::uint8_t, crypto_generichash_BYTES> hash;  // BLAKE2b-256
  crypto_generichash(hash.data(), hash.size(), key.data(), key.size(),
                     reinterpret_cast<const unsigned char*>(kDomain), sizeof kDomain - 1);
  return {hash[0], hash[1], hash[2]};
}

std::size_t first_bad_character(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i)
    if (kDecode[static_cast<unsigned char>(text[i])] < 0) return i;
  return text.size();
}

// text holds kTextSize characters, all in the alphabet.
std::array<std::uint8_t, kRawSize> decode(std::string_view text) {
  std::array<std::uint8_t, kRawSize> raw{};
  for (std::size_t g = 0; g < kRawSize / kGroupBytes; ++g) {
    std::uint64_t bits = 0;
    for (std::size_t c = 0; c < kGroupChars; ++c) {
      const auto value = kDecode[static_cast<unsigned char>(text[g * kGroupChars + c])];
      bits = (bits << 5) | static_cast<std::uint64_t>(value);
    }
    for (std::size_t b = 0; b < kGroupBytes; ++b)
      raw[g * kGroupBytes + b] = static_cast<std::uint8_t>(bits >> (8 * (kGroupBytes - 1 - b)));
  }
  return raw;
}

Result<Address> fail(AddressError error, std::size_t pos, std::size_t* error_pos) {
  if (error_pos != nullptr) *error_pos = pos;
  return error;
}

// One character as the user should see it: printable ASCII as is, other bytes as hex
// (a stray UTF-8 byte would print as garbage).
std::string show_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
  if (u == ' ') return "a space";
  char buf[16];
  std::snprintf(buf, sizeof buf, "byte 0x%02x", static_cast<unsigned>(u));
  return buf;
}

}  // namespace

const char* describe(AddressError e) {
  switch (e) {
    case AddressError::wrong_length:
      return "address has the wrong length: an address is exactly 56 characters, copy all of it";
    case AddressError::bad_character:
      return "address contains a character addresses never use: they are written with a-z and "
             "2-7 only (no 0, 1, 8 or 9); copy the address again";
    case AddressError::bad_checksum:
      return "address checksum does not match: a character was mistyped; copy the address again";
    case AddressError::invalid_key:
      return "address does not hold a valid Ed25519 public key: it was not made by peermq; ask "
             "the node's owner for its address (peermq keygen prints it)";
  }
  return "unknown address error";
}

Result<Address> Address::parse(std::string_view text, std::size_t* error_pos) {
  if (text.size() != kTextSize)
    return fail(AddressError::wrong_length, std::min(text.size(), kTextSize), error_pos);
  if (const std::size_t bad = first_bad_character(text); bad != text.size())
    return fail(AddressError::bad_character, bad, error_pos);

  const auto raw = decode(text);
  PublicKey key;
  std::memcpy(key.data(), raw.data(), key.size());
  if (std::memcmp(checksum(key).data(), raw.data() + kPublicKeySize, kChecksumSize) != 0)
    return fail(AddressError::bad_checksum, 0, error_pos);
  // Only a hand-made address with a recomputed checksum can fail here.
  auto address = from_public_key(key);
  if (!address.ok() && error_pos != nullptr) *error_pos = 0;
  return address;
}

Result<Address> Address::from_public_key(const PublicKey& key) {
  // Checked when the address is made rather than at dial time: a key outside the
  // prime-order subgroup (e.g. all zeros, or another low-order point) has no X25519 form
  // (crypto_sign_ed25519_pk_to_curve25519 refuses it) and can never complete a
  // handshake; saying so now beats a failure later, far from the input that caused it.
  // Non-canonical encodings are refused too, so that a point has only one address.
  if (crypto_core_ed25519_is_valid_point(key.data()) != 1) return AddressError::invalid_key;
  return Address(key);
}

std::string Address::explain(std::string_view text, std::error_code error, std::size_t error_pos) {
  if (error == AddressError::wrong_length)
    return "address has " + std::to_string(text.size()) +
           " characters, expected 56: copy the whole address";
  if (error == AddressError::bad_character && error_pos < text.size())
    return "address character " + std::to_string(error_pos + 1) + " is " +
           show_char(text[error_pos]) +
           ", which addresses never use: they are written with a-z and 2-7 only "
           "(no 0, 1, 8 or 9); copy the address again";
  return error.message();
}

void Address::write(std::span<char, kTextSize> out) const noexcept {
  std::array<std::uint8_t, kRawSize> raw;
  std::memcpy(raw.data(), key_.data(), kPublicKeySize);
  const auto sum = checksum(key_);
  std::memcpy(raw.data() + kPublicKeySize, sum.data(), kChecksumSize);
  for (std::size_t g = 0; g < kRawSize / kGroupBytes; ++g) {
    std::uint64_t bits = 0;
    for (std::size_t b = 0; b < kGroupBytes; ++b) bits = (bits << 8) | raw[g * kGroupBytes + b];
    for (std::size_t c = 0; c < kGroupChars; ++c)
      out[g * kGroupChars + c] = kAlphabet[(bits >> (5 * (kGroupChars - 1 - c))) & 31];
  }
}

std::string Address::to_string() const {
  std::string text(kTextSize, '\0');
  write(std::span<char, kTextSize>(text.data(), kTextSize));
  return text;
}

}  // namespace peermq

std::size_t std::hash<peermq::Address>::operator()(const peermq::Address& address) const noexcept {
  static const auto key = [] {
    peermq::crypto_init();
    std::array<unsigned char, crypto_shorthash_KEYBYTES> k;
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  std::array<unsigned char, crypto_shorthash_BYTES> out;
  const auto& pk = address.public_key();
  crypto_shorthash(out.data(), pk.data(), pk.size(), key.data());
  std::uint64_t h = 0;
  for (unsigned char byte : out) h = (h << 8) | byte;
  return static_cast<std::size_t>(h);
}
