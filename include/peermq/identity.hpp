// Identity: a node's Ed25519 key pair, and the key file that keeps it across restarts.
//
// The Ed25519 key signs and names the node (its Address). Noise needs X25519 keys for
// Diffie-Hellman; they are derived from the Ed25519 pair (the birational map libsodium
// implements), so one secret, one file and one address serve both.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <peermq/address.hpp>
#include <peermq/result.hpp>
#include <peermq/secret.hpp>

namespace peermq {

// Initialises libsodium once per process; safe to call from any thread, any number of
// times. Throws std::runtime_error if libsodium cannot initialise (a start-up failure).
// Identity calls it itself; call it before using libsodium directly.
void crypto_init();

inline constexpr std::size_t kSeedSize = 32;
inline constexpr std::size_t kSignatureSize = 64;
using Signature = std::array<std::uint8_t, kSignatureSize>;
using X25519PublicKey = std::array<std::uint8_t, 32>;

// Not copyable: exactly one object holds a node's secret key. A moved-from Identity
// holds wiped keys and may only be destroyed or assigned to.
class Identity {
 public:
  // A fresh key pair from the operating system's random source.
  static Identity generate();
  // The key pair of a 32-byte Ed25519 seed; the same seed always gives the same keys.
  static Identity from_seed(const Secret<kSeedSize>& seed);

  Identity(Identity&&) noexcept = default;
  Identity& operator=(Identity&&) noexcept = default;
  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;

  const PublicKey& public_key() const noexcept { return public_key_; }
  Address address() const noexcept { return Address(public_key_); }

  // The static key pair for Noise.
  const X25519PublicKey& x25519_public() const noexcept { return x25519_public_; }
  const Secret<32>& x25519_secret() const noexcept { return x25519_secret_; }

  // The seed the whole identity derives from: what the key file stores. Never send it.
  Secret<kSeedSize> seed() const noexcept;

  Signature sign(std::span<const std::uint8_t> message) const noexcept;
  static bool verify(const PublicKey& signer, std::span<const std::uint8_t> message,
                     const Signature& signature) noexcept;

 private:
  Identity() = default;

  Secret<64> secret_key_;  // libsodium's Ed25519 secret key: seed || public key
  Secret<32> x25519_secret_;
  PublicKey public_key_{};
  X25519PublicKey x25519_public_{};
};

// ---- Key files ---------------------------------------------------------------------
//
// A key file is text, mode 0600:
//   # peermq identity key. Keep it secret: whoever has this file is this node.
//   # address: <the node's address, for reference; not read back>
//   seed: <64 hex digits>
// Lines starting with '#' and blank lines are ignored; any other line is an error.
//
// Every call below reports failure as a KeyFileError in the Result and, when `detail` is
// given, a full sentence for the user naming the file and saying how to fix it.

enum class KeyFileError {
  not_found = 1,   // the file does not exist
  unreadable,      // it exists but cannot be opened or read, or is not a regular file
  too_open,        // group or others may access it: the secret may have leaked
  malformed,       // its content is not a key file
  create_failed,   // a new key file (or its directory) could not be written
  already_exists,  // create_key_file found a file at the path and left it alone
};
const char* describe(KeyFileError e);
inline const char* category_name(KeyFileError) {
  return "peermq.key_file";
}
PEERMQ_ERROR_ENUM(KeyFileError)

// Reads the identity in `path`. Refuses a file that group or others may read or write.
Result<Identity> load_key_file(const std::string& path, std::string* detail = nullptr);

// Writes `identity` to a new key file at `path`, never replacing an existing one: the
// file appears whole (temporary file, fsync, link into place, fsync of the directory)
// with mode 0600 from its first byte on. Missing parent directories are made with 0700.
Result<void> create_key_file(const std::string& path, const Identity& identity,
                             std::string* detail = nullptr);

// Loads `path`, or generates a new identity and creates the file when there is none.
// *created tells which happened. When two processes race to create it, both end up
// with the identity that reached the disk first.
Result<Identity> load_or_create_key_file(const std::string& path, bool* created = nullptr,
                                         std::string* detail = nullptr);

}  // namespace peermq

PEERMQ_ERROR_ENUM_STD(peermq::KeyFileError)
