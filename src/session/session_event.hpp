// What a SessionEndpoint hands back to its caller: events, datagrams to send, and counts.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <peermq/address.hpp>

#include "session/session_error.hpp"
#include "wire/endpoint.hpp"

namespace peermq::session {

// Whether a payload asks its receiver for an answer. A sender that waits for one starts a
// handshake when none comes (the keys may be dead: WireGuard's new_handshake timer); the
// receiver of one sends a keepalive when it has nothing else to say. A payload that asks
// for nothing (an acknowledgement, a notice) arms neither: an idle client's keepalive
// then costs one packet each way, not three.
enum class Elicits { answer, nothing };

struct SessionEvent {
  enum class Kind {
    established,       // a keypair with `peer` is usable for sending (queued data went out)
    delivered,         // `data` arrived from `peer` (never empty: keepalives are silent)
    handshake_failed,  // max attempts went unanswered; queued data for `peer` was dropped
    closed,            // idle timeout: every key with `peer` was wiped
    dropped,           // a datagram was dropped for `reason` (peer unknown unless set)
  };
  Kind kind{};
  PublicKey peer{};
  Endpoint source{};  // where the datagram came from (established, delivered, dropped)
  std::vector<std::uint8_t> data;
  SessionError reason{};
};

// A datagram to send. `to` is set for answers to a datagram (responses, cookie replies):
// send them back where the datagram came from. Otherwise send to wherever the caller
// reaches `peer`. Cookie replies belong to no peer.
struct Datagram {
  std::optional<PublicKey> peer;
  std::optional<Endpoint> to;
  std::vector<std::uint8_t> bytes;
};

struct SessionStats {
  std::array<std::uint64_t, kSessionErrorCount> drops{};  // indexed by SessionError
  std::uint64_t scalar_mults = 0;  // X25519 operations done in handshakes
  std::uint64_t handshakes_initiated = 0;  // initiations sent, retries included
  std::uint64_t handshakes_completed = 0;  // keypairs derived (either role)
  std::uint64_t cookie_replies_sent = 0;
  std::uint64_t keepalives_sent = 0;
  std::uint64_t drops_of(SessionError e) const { return drops[static_cast<std::size_t>(e)]; }
};

}  // namespace peermq::session
