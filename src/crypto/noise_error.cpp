#include "crypto/noise_error.hpp"

namespace peermq::crypto {

const char* describe(NoiseError e) {
  switch (e) {
    case NoiseError::message_too_long:
      return "Noise message longer than 65535 bytes: send a smaller handshake payload";
    case NoiseError::message_too_short:
      return "Noise message truncated: drop it, the peer or the path cut it short";
    case NoiseError::decrypt_failed:
      return "Noise message failed authentication: drop it; if it persists, check that the "
             "peer's public key (its address) is the one you meant to dial";
    case NoiseError::bad_dh:
      return "Noise peer sent a low-order public key: drop the handshake, the peer is "
             "broken or hostile";
    case NoiseError::wrong_turn:
      return "Noise handshake message out of turn: drop it, it does not fit this handshake";
    case NoiseError::handshake_over:
      return "Noise handshake already finished: use the transport keys from split()";
    case NoiseError::handshake_incomplete:
      return "Noise handshake not finished: exchange the remaining messages before split()";
    case NoiseError::missing_key:
      return "Noise pattern needs a key the configuration does not give: set the local "
             "static key or the peer's public key";
    case NoiseError::unexpected_key:
      return "Noise configuration gives a key the pattern does not use: remove it or pick "
             "the pattern that uses it";
    case NoiseError::unknown_pattern:
      return "unknown Noise handshake pattern: use one of N, K, X, NN, NK, NX, KN, KK, KX, "
             "XN, XK, XX, IN, IK, IX";
    case NoiseError::nonce_exhausted: return "Noise nonce exhausted: rekey or start a new session";
    case NoiseError::no_key:
      return "Noise cipher has no key yet: finish the handshake before sending data";
  }
  return "unknown Noise error";
}

}  // namespace peermq::crypto
