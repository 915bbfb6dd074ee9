// NoiseError: why a Noise handshake or transport operation was refused.
//
// Every fallible call in the Noise core (CipherState, SymmetricState, HandshakeState)
// returns one of these through peermq::Result. None of them is fatal to the process:
// the session layer drops the packet, counts the reason, and carries on.
#pragma once

#include <peermq/result.hpp>

namespace peermq::crypto {

enum class NoiseError {
  message_too_long = 1,  // a Noise message (or its payload) would exceed 65535 bytes
  message_too_short,     // the input ends before the pattern's keys or the AEAD tag
  decrypt_failed,        // AEAD authentication failed: corrupted, forged or wrong key
  bad_dh,                // X25519 gave the all-zero output: the peer sent a low-order point
  wrong_turn,            // write_message when a read was due, or the reverse
  handshake_over,        // the handshake already finished (or was split)
  handshake_incomplete,  // split() before the last handshake message
  missing_key,           // the pattern needs a static or remote static key the config lacks
  unexpected_key,        // the config gives a key the pattern does not use
  unknown_pattern,       // the pattern name is not one this suite implements
  nonce_exhausted,       // the 64-bit nonce ran out: rekey or start a new session
  no_key,                // a transport CipherState was used before it had a key
};
const char* describe(NoiseError e);
inline const char* category_name(NoiseError) {
  return "peermq.crypto.noise";
}
PEERMQ_ERROR_ENUM(NoiseError)

}  // namespace peermq::crypto

PEERMQ_ERROR_ENUM_STD(peermq::crypto::NoiseError)
