#include "session/session_error.hpp"

namespace peermq::session {

// Operators read these next to drop counters: say what happened and when it needs action.
const char* describe(SessionError e) {
  switch (e) {
    case SessionError::too_short:
      return "session packet is shorter than its header; dropped (a truncated or foreign "
             "datagram)";
    case SessionError::wrong_length:
      return "handshake packet has the wrong length; dropped (a foreign or corrupted datagram)";
    case SessionError::too_long:
      return "transport packet is longer than the largest datagram a peer may send; dropped";
    case SessionError::unknown_type:
      return "datagram is not a peermq session packet (unknown type byte); dropped: check "
             "that nothing else sends to this port";
    case SessionError::reserved_not_zero:
      return "session packet sets reserved header bits; dropped: the peer may run a newer "
             "peermq protocol version";
    case SessionError::bad_mac1:
      return "handshake packet does not carry a valid mac1 for this node's key; dropped "
             "unanswered: the sender dialed a different address, or it is a flood";
    case SessionError::cookie_needed:
      return "under load, a handshake without a valid cookie was answered with a cookie "
             "reply instead of a session";
    case SessionError::rate_limited:
      return "a source started handshakes faster than its allowance; the excess was dropped";
    case SessionError::too_many_peers:
      return "peer table is full of live sessions; a new peer was refused: raise max_peers if "
             "this node really serves that many peers, otherwise it is a flood";
    case SessionError::unknown_index:
      return "packet names a session index this node does not have (expired or forged); "
             "dropped";
    case SessionError::handshake_failed:
      return "handshake message did not authenticate; dropped: the peer used a different "
             "key, or the packet was forged or corrupted";
    case SessionError::bad_payload:
      return "handshake payload is not a timestamp and a public key; dropped";
    case SessionError::identity_mismatch:
      return "handshake payload names an address that does not own the handshake's key; "
             "dropped as a forgery";
    case SessionError::stale_timestamp:
      return "handshake initiation is not newer than the last one from the same peer; "
             "dropped as a replay (or the peer's clock went back)";
    case SessionError::bad_cookie_reply:
      return "cookie reply was not expected or did not authenticate; dropped";
    case SessionError::key_expired:
      return "packet used a session key past its lifetime; dropped until the rekey completes";
    case SessionError::replay:
      return "data packet counter was seen before or is too old; dropped as a replay";
    case SessionError::decrypt_failed:
      return "data packet did not authenticate under its session key; dropped (forged, "
             "corrupted or sent under another key)";
    case SessionError::invalid_peer_key:
      return "peer key is not a valid Ed25519 public key of another node: check the address";
    case SessionError::queue_full:
      return "too many messages wait for the session to the peer; retry once it is up";
    case SessionError::message_too_long:
      return "message does not fit one session packet: split it (the channel layer does)";
  }
  return "unknown session error";
}

}  // namespace peermq::session
