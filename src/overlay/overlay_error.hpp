// OverlayError: why the overlay layer dropped a control message or refused a call.
//
// Decoders return the first group (or a wire::WireError for bytes that are not msgpack of
// the right shape); the relay server, relay client and peer paths drop a message for one
// of the other reasons and count it in their stats, the way WireGuard drops with a chain
// of early returns. Drops are never fatal: the core carries on with the next message.
#pragma once

#include <cstddef>

#include <peermq/result.hpp>

namespace peermq::overlay {

enum class OverlayError {
  // Decoding: the bytes are not a well-formed overlay message or announcement.
  malformed = 1,    // not msgpack of the message's shape (the WireError says how)
  unknown_message,  // the type field names no overlay message this version knows
  bad_key,          // a public key field is not exactly 32 bytes
  bad_endpoint,     // an endpoint is not 18 bytes, has port 0 or an unspecified address
  empty_packet,     // a forward or forwarded message carries no packet
  // Relay server drops.
  not_registered,      // a node asked for service before registering: told unknown_peer
  rate_limited,        // the node sent more than its per-second allowance: dropped
  unknown_target,      // forward or punch to a node not registered at this relay
  table_full,          // the registration table is full: the node must use another relay
  unexpected_message,  // a message of the other role (e.g. a relay answer sent to a relay)
  not_punchable,       // punch to or from a node with no endpoint to punch to (a WebSocket peer)
  // Relay client drops and results.
  not_a_relay,       // a relay-only message from a key that is not one of our relays
  stale_answer,      // an answer to no request in flight (late, duplicated or forged)
  no_relays,         // a lookup with no relay configured
  too_many_lookups,  // max_pending_lookups lookups are already in flight
  not_found,         // every relay answered that the address is not registered with it
  lookup_timeout,    // some relay never answered within address_lookup_timeout
  // Peer path drops.
  unmatched_probe_ack,  // a probe ack for no probe of ours, or from another endpoint
  // Local announcements.
  bad_signature,  // the announcement's signature does not verify under its key
  expired,        // older than local_announcement_lifetime: its node is gone
  from_future,    // dated further ahead than local_announcement_max_skew
  key_mismatch,   // signed by another node than the file name says
};
const char* describe(OverlayError e);
inline const char* category_name(OverlayError) {
  return "peermq.overlay";
}
PEERMQ_ERROR_ENUM(OverlayError)

inline constexpr std::size_t kOverlayErrorCount =
    static_cast<std::size_t>(OverlayError::key_mismatch) + 1;

// The OverlayError a drop counts under: itself, or `malformed` for any other category.
OverlayError drop_reason(std::error_code e) noexcept;

}  // namespace peermq::overlay

PEERMQ_ERROR_ENUM_STD(peermq::overlay::OverlayError)
