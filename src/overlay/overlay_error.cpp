#include "overlay/overlay_error.hpp"

namespace peermq::overlay {

// Operators read these next to drop counters: say what happened and when it needs action.
const char* describe(OverlayError e) {
  switch (e) {
    case OverlayError::malformed:
      return "overlay message is not well-formed msgpack of its type; dropped (a broken or "
             "newer peer)";
    case OverlayError::unknown_message:
      return "overlay message has an unknown type; dropped: the peer may run a newer peermq";
    case OverlayError::bad_key:
      return "overlay message carries a public key that is not 32 bytes; dropped";
    case OverlayError::bad_endpoint:
      return "overlay message carries an endpoint that is malformed, has port 0 or an "
             "unspecified address; dropped";
    case OverlayError::empty_packet: return "relay forward carries no packet; dropped";
    case OverlayError::not_registered:
      return "a node asked the relay for service before registering; it was told to register "
             "(normal right after a relay restart)";
    case OverlayError::rate_limited:
      return "a node sent the relay more than its per-second allowance; the excess was "
             "dropped";
    case OverlayError::unknown_target:
      return "relay was asked to reach a node that is not registered with it; dropped";
    case OverlayError::table_full:
      return "relay registration table is full; a node was refused: add relays, or it is a "
             "flood";
    case OverlayError::unexpected_message:
      return "overlay message of the wrong role (a relay answer sent to a relay, a probe sent "
             "to a relay); dropped";
    case OverlayError::not_punchable:
      return "punch request between nodes one of which has no endpoint to punch to (it is "
             "reached over a WebSocket, through the relay only); dropped";
    case OverlayError::not_a_relay:
      return "relay signalling came from a node that is not a configured relay; dropped";
    case OverlayError::stale_answer:
      return "relay answer matches no request in flight (late or duplicated); dropped";
    case OverlayError::no_relays:
      return "no relay is configured, so an address can only be found by local discovery";
    case OverlayError::too_many_lookups:
      return "too many address lookups are in flight; retry once some finish";
    case OverlayError::not_found:
      return "no relay knows the address: the node is offline, or registered with other "
             "relays";
    case OverlayError::lookup_timeout:
      return "a relay did not answer an address lookup in time; check that the relays are up";
    case OverlayError::unmatched_probe_ack:
      return "path probe ack matches no probe sent to where it came from; dropped";
    case OverlayError::bad_signature:
      return "local announcement signature does not verify; ignored (corrupt or forged file)";
    case OverlayError::expired:
      return "local announcement is too old; ignored: its node stopped announcing";
    case OverlayError::from_future:
      return "local announcement is dated in the future; ignored (the clock went back?)";
    case OverlayError::key_mismatch:
      return "local announcement is signed by another node than its file name says; ignored";
  }
  return "unknown overlay error";
}

OverlayError drop_reason(std::error_code e) noexcept {
  if (e.category() == EnumCategory<OverlayError>::instance()) {
    return static_cast<OverlayError>(e.value());
  }
  return OverlayError::malformed;
}

}  // namespace peermq::overlay
