// Address: a node's name on the overlay, made of its own Ed25519 public key.
//
// The text form is 56 characters of RFC 4648 base32 (lowercase "a-z2-7", no padding)
// over 35 bytes: the full 32-byte public key followed by a 3-byte checksum, the first
// 3 bytes of BLAKE2b-256 keyed with "peermq address v1" over the key. 35 bytes are
// exactly 280 bits, so every valid text decodes to one key and back to the same text.
// Because the address is the key, dialing it authenticates the peer: nobody can answer
// for an address without its secret key. The checksum only catches typos.
//
// Addresses are plain values: copyable, comparable, hashable (they key peer tables).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <peermq/result.hpp>

namespace peermq {

inline constexpr std::size_t kPublicKeySize = 32;
using PublicKey = std::array<std::uint8_t, kPublicKeySize>;

enum class AddressError {
  wrong_length = 1,  // not 56 characters
  bad_character,     // a character outside a-z, A-Z, 2-7
  bad_checksum,      // the checksum does not match the key: a character was mistyped
  invalid_key,       // the checksum matches but the key is not a usable Ed25519 point
};
const char* describe(AddressError e);
inline const char* category_name(AddressError) {
  return "peermq.address";
}
PEERMQ_ERROR_ENUM(AddressError)

class Address {
 public:
  static constexpr std::size_t kTextSize = 56;

  // The address of `key`. The caller vouches for the key: it comes from an Identity or
  // from a peer that proved it holds the matching secret key. Untrusted text goes
  // through parse(), which also checks the key.
  explicit Address(const PublicKey& key) noexcept : key_(key) {}

  // The address of a key from an untrusted source (e.g. a peer's message): refuses,
  // with invalid_key, bytes that are not a canonical Ed25519 point of the prime-order
  // subgroup, as parse() does. Costs one scalar multiplication (tens of microseconds).
  static Result<Address> from_public_key(const PublicKey& key);

  // Parses the text form, in any letter case. Allocates nothing; its cost is the key
  // check of from_public_key. On failure, when
  // error_pos is given it receives the 0-based index of the offending character (for
  // wrong_length: where the text ends early or the surplus starts; for bad_checksum and
  // invalid_key: 0, the whole address is at fault).
  static Result<Address> parse(std::string_view text, std::size_t* error_pos = nullptr);

  // A sentence for the user about why parse(text) failed, naming the character and its
  // (1-based) position, and saying what to do.
  static std::string explain(std::string_view text, std::error_code error, std::size_t error_pos);

  // The canonical, lowercase text form.
  std::string to_string() const;
  void write(std::span<char, kTextSize> out) const noexcept;

  const PublicKey& public_key() const noexcept { return key_; }

  friend bool operator==(const Address&, const Address&) = default;
  // Byte by byte rather than `= default`: std::array has no <=> in every standard library
  // peermq builds with (libc++ 13, emscripten's).
  friend std::strong_ordering operator<=>(const Address& a, const Address& b) noexcept {
    for (std::size_t i = 0; i < a.key_.size(); ++i) {
      if (a.key_[i] != b.key_[i]) return a.key_[i] <=> b.key_[i];
    }
    return std::strong_ordering::equal;
  }

 private:
  PublicKey key_;
};

}  // namespace peermq

PEERMQ_ERROR_ENUM_STD(peermq::AddressError)

// Keyed with a per-process random key (SipHash): addresses are chosen by their owners,
// so an unkeyed hash would let a peer grind keys that all land in one bucket.
template <>
struct std::hash<peermq::Address> {
  std::size_t operator()(const peermq::Address& address) const noexcept;
};
