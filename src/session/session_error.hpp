// SessionError: why the session layer refused a packet or a call.
//
// Packet decoders return the first group (the bytes are not a peermq session packet);
// SessionEndpoint drops a packet for one of the other reasons and counts each reason in
// SessionStats, the way WireGuard drops with a chain of early returns. Drops are never
// fatal: the endpoint carries on with the next datagram.
#pragma once

#include <cstddef>

#include <peermq/result.hpp>

namespace peermq::session {

enum class SessionError {
  // Decoding: the datagram is not a well-formed session packet.
  too_short = 1,      // shorter than its type's fixed header
  wrong_length,       // a handshake packet whose length is not its fixed size
  too_long,           // a transport packet longer than any peer may send
  unknown_type,       // the first byte names no packet type
  reserved_not_zero,  // the three reserved header bytes must be zero in version 1
  // Drops, in the order the checks run.
  bad_mac1,            // mac1 does not prove knowledge of our public key: no reply at all
  cookie_needed,       // under load and mac2 is missing or stale: answered with a cookie
  rate_limited,        // the source started more handshakes than its per-second allowance
  too_many_peers,      // the peer table is full of live sessions: a new peer must wait
  unknown_index,       // no handshake or keypair of ours has the packet's receiver index
  handshake_failed,    // the Noise message did not decrypt or carried a low-order key
  bad_payload,         // the handshake payload is not a timestamp and an Ed25519 key
  identity_mismatch,   // the Ed25519 key in the payload does not map to the Noise static
  stale_timestamp,     // the initiation is not newer than the last one from that peer
  bad_cookie_reply,    // a cookie reply we did not ask for, or that did not decrypt
  key_expired,         // the keypair is older than reject_after_time or used up
  replay,              // the counter was seen before or is behind the replay window
  decrypt_failed,      // the data packet did not authenticate under its keypair
  // Calls.
  invalid_peer_key,   // the peer key is not a usable Ed25519 public key (or is our own)
  queue_full,         // too many messages wait for the handshake: slow down and retry
  message_too_long,   // plaintext longer than fits one datagram
};
const char* describe(SessionError e);
inline const char* category_name(SessionError) {
  return "peermq.session";
}
PEERMQ_ERROR_ENUM(SessionError)

inline constexpr std::size_t kSessionErrorCount =
    static_cast<std::size_t>(SessionError::message_too_long) + 1;

}  // namespace peermq::session

PEERMQ_ERROR_ENUM_STD(peermq::session::SessionError)
