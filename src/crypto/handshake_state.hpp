// HandshakeState: one side of a Noise handshake in the suite 25519_ChaChaPoly_BLAKE2b,
// driven by a HandshakePattern (Noise §5.3). No I/O: bytes in, bytes out.
//
// Usage: create() from a HandshakeConfig; while !is_complete(), call write_message() when
// is_my_turn() and read_message() on each message from the peer; then split() for the
// transport ciphers. get_handshake_hash() and remote_static() stay readable after split()
// (the responder of IK learns who the initiator is only from remote_static()).
//
// Failure contract: a write_message() or read_message() that fails leaves the state
// exactly as it was (the message is processed on a forked copy that is committed only
// on success), so a forged or corrupted packet cannot kill a handshake in progress; the
// genuine message can still be read afterwards. Nothing is appended to `out` on failure.
//
// Keys: the config's secrets are copied into Secrets owned here; split() wipes the static
// and ephemeral private keys and the chaining key. Move-only; one owner, one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <peermq/result.hpp>
#include <peermq/secret.hpp>

#include "crypto/cipher_state.hpp"
#include "crypto/handshake_pattern.hpp"
#include "crypto/noise_suite.hpp"
#include "crypto/symmetric_state.hpp"

namespace peermq::crypto {

enum class NoiseRole { initiator, responder };

// What create() needs. The spans are read during create() only; it keeps its own copies.
struct HandshakeConfig {
  std::string_view pattern{};  // "IK", "XX", ... (see HandshakePattern)
  NoiseRole role = NoiseRole::initiator;
  std::span<const std::uint8_t> prologue{};  // both sides must give the same bytes
  std::optional<std::span<const std::uint8_t, kNoiseDhLen>> local_static{};  // private key
  // local_static's public key when the caller already holds it: saves one scalar
  // multiplication per handshake. It must be the right one, or the peer's DH fails.
  std::optional<NoisePublicKey> local_static_public{};
  std::optional<NoisePublicKey> remote_static{};  // required iff the pattern pre-shares it
  // Tests only (known-answer vectors): the ephemeral private key to use instead of a
  // fresh random one. Never set it in production: a reused ephemeral breaks secrecy.
  std::optional<std::span<const std::uint8_t, kNoiseDhLen>> fixed_ephemeral{};
};

// The transport ciphers of one side. In one-way patterns (N, K, X) only the initiator's
// `send` and the responder's `receive` have keys; the other one refuses with no_key.
struct TransportCiphers {
  CipherState send;
  CipherState receive;
};

class HandshakeState {
 public:
  // Fails with unknown_pattern, missing_key (a static key the pattern needs is absent)
  // or unexpected_key (a key is given that the pattern would ignore).
  static Result<HandshakeState> create(const HandshakeConfig& config);

  HandshakeState(HandshakeState&&) noexcept = default;
  HandshakeState& operator=(HandshakeState&&) noexcept = default;
  HandshakeState(const HandshakeState&) = delete;
  HandshakeState& operator=(const HandshakeState&) = delete;
  ~HandshakeState() = default;

  // Appends the next handshake message, carrying `payload` (encrypted once a DH has
  // happened), to `out`. Errors: wrong_turn, handshake_over, message_too_long, bad_dh.
  Result<void> write_message(std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);
  // Reads the peer's next handshake message and appends its payload to `payload_out`.
  // Errors: wrong_turn, handshake_over, message_too_long, message_too_short,
  // decrypt_failed, bad_dh.
  Result<void> read_message(std::span<const std::uint8_t> message,
                            std::vector<std::uint8_t>& payload_out);

  bool is_my_turn() const noexcept;
  bool is_complete() const noexcept { return next_message_ == pattern_.message_count(); }
  // The transport ciphers, oriented for this side. Errors: handshake_incomplete,
  // handshake_over (split twice). Wipes this state's private keys and chaining key.
  Result<TransportCiphers> split();

  NoiseRole role() const noexcept { return role_; }
  // h: unique to this handshake; meaningful once is_complete().
  std::span<const std::uint8_t, kNoiseHashLen> get_handshake_hash() const noexcept {
    return progress_.symmetric.handshake_hash();
  }
  // The peer's static public key, once known (pre-shared or received).
  std::optional<NoisePublicKey> remote_static() const;

 private:
  // Everything a message changes, so a message can be tried on a fork and committed.
  struct Progress {
    explicit Progress(SymmetricState s) : symmetric(std::move(s)) {}
    Progress fork() const;

    SymmetricState symmetric;
    Secret<kNoiseDhLen> e;
    NoisePublicKey e_public{};
    bool has_e = false;
    NoisePublicKey re{};
    bool has_re = false;
    NoisePublicKey rs{};
    bool has_rs = false;
  };

  HandshakeState(const HandshakePattern& pattern, NoiseRole role, SymmetricState symmetric);
  bool initiator() const noexcept { return role_ == NoiseRole::initiator; }
  Result<void> check_turn(bool writing) const;
  void mix_premessages();
  Result<void> write_tokens(Progress& p, std::span<const std::uint8_t> payload,
                            std::vector<std::uint8_t>& out) const;
  Result<void> read_tokens(Progress& p, std::span<const std::uint8_t> message,
                           std::vector<std::uint8_t>& payload_out) const;
  Result<void> mix_dh(Progress& p, NoiseToken token) const;

  HandshakePattern pattern_;
  NoiseRole role_;
  Progress progress_;
  Secret<kNoiseDhLen> s_;
  NoisePublicKey s_public_{};
  bool has_s_ = false;
  Secret<kNoiseDhLen> fixed_e_;
  bool has_fixed_e_ = false;
  std::size_t next_message_ = 0;
  bool split_done_ = false;
};

}  // namespace peermq::crypto
