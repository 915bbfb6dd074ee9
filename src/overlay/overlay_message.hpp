// Overlay control messages: what nodes and relays say to each other, and what two peers
// say to confirm a direct path. Every one travels inside an encrypted session (the
// transport puts a one-byte kind in front of the session payload to tell these from
// channel packets), so a capture on the wire never shows an address, a key or an
// endpoint, and whoever sent a message is the authenticated peer of its session.
//
// Encoding: a msgpack array [type, field...], read through MsgpackRecord so that a newer
// peer may append fields. Endpoints are bin(18): the 16-byte IPv6 (or IPv4-mapped) address
// then the port, big-endian. Public keys are bin(32).
//
//   node -> relay     register(seq, local candidates)  lookup(request_id, target)
//                     punch_request(target, nonce)     forward(to, packet)
//   relay -> node     registered(seq, observed endpoint, keepalive_ms)   unknown_peer()
//                     lookup_result(request_id, target, candidates | nil = not found)
//                     punch_notify(peer, nonce, candidates)   forwarded(from, packet)
//   peer <-> peer     probe(nonce, seq)    probe_ack(nonce, seq, observed endpoint)
//                     ping(id)             pong(id)
//
// A register is also the keepalive: the relay answers each with registered, so one
// message refreshes the registration, the NAT mapping and the observed endpoint. A relay
// answers a node it does not know (it restarted and forgot) with unknown_peer, upon which
// the node registers again. Ping and pong are the user's `peermq ping`: any node answers
// a ping with a pong along its route to the sender, so they measure the round trip of the
// path in use whatever it is (probes belong to path discovery and go straight to an
// endpoint). Probes go straight to a candidate endpoint over the two peers'
// own session; an ack coming back from that same endpoint proves the path both ways.
//
// Decoding validates the whole message before returning it: types, key and endpoint
// sizes, candidate counts, packet sizes (limits::kOverlayMessageMax overall). The spans in
// forward/forwarded point INTO the decoded buffer: copy before releasing it.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/result.hpp>

#include "overlay/overlay_error.hpp"
#include "wire/endpoint.hpp"
#include "wire/msgpack_reader.hpp"
#include "wire/msgpack_writer.hpp"

namespace peermq::overlay {
using Candidates = std::vector<Endpoint>;

enum class MessageType : std::uint8_t {
  register_node = 1,
  registered = 2,
  unknown_peer = 3,
  lookup = 4,
  lookup_result = 5,
  punch_request = 6,
  punch_notify = 7,
  forward = 8,
  forwarded = 9,
  probe = 10,
  probe_ack = 11,
  ping = 12,
  pong = 13,
};
const char* name(MessageType t) noexcept;

// Who may send a message type: the transport routes by this, and each core drops
// messages of the wrong class (OverlayError::unexpected_message).
enum class MessageClass { to_relay, from_relay, between_peers };
MessageClass class_of(MessageType t) noexcept;

// node -> relay: register, or refresh, with these local endpoints (may be empty).
struct Register {
  std::uint64_t seq = 0;  // echoed in registered, so a late answer is told from a fresh one
  Candidates candidates;  // at most limits::kMaxEndpointCandidates
};
// relay -> node: registered; `observed` is where the relay sees the node's packets come
// from (its public endpoint behind a NAT, or Endpoint::web(n) over a WebSocket).
struct Registered {
  std::uint64_t seq = 0;
  Endpoint observed;
  std::chrono::milliseconds keepalive{};  // 1 ms .. 1 day; the node clamps it
};
// relay -> node: "I do not know you, register" (the relay restarted or expired you).
struct UnknownPeer {};
struct Lookup {
  std::uint64_t request_id = 0;
  PublicKey target{};
};
// relay -> node. Not found: found == false and no candidates. Found: 0 to
// max_endpoint_candidates candidates, the observed public endpoint first; none when the
// node is reached only through the relay (a browser on a WebSocket), which is no place
// to punch to.
struct LookupResult {
  std::uint64_t request_id = 0;
  PublicKey target{};
  bool found = false;
  Candidates candidates;
};
// node -> relay: "tell `target` and me to probe each other now". The nonce names the round.
struct PunchRequest {
  PublicKey target{};
  std::uint64_t nonce = 0;
};
// relay -> node: probe `peer` at these candidates now (1..max_endpoint_candidates).
struct PunchNotify {
  PublicKey peer{};
  std::uint64_t nonce = 0;
  Candidates candidates;
};
// node -> relay: pass this end-to-end session datagram (ciphertext) to `to`.
struct Forward {
  PublicKey to{};
  std::span<const std::uint8_t> packet;  // 1..relay_forward_max_packet bytes, into the input
};
// relay -> node: `from` sent you this end-to-end session datagram.
struct Forwarded {
  PublicKey from{};
  std::span<const std::uint8_t> packet;  // 1..relay_forward_max_packet bytes, into the input
};
// peer -> peer, straight to a candidate endpoint.
struct Probe {
  std::uint64_t nonce = 0;
  std::uint64_t seq = 0;
};
// peer -> peer, back to where the probe came from; `observed` is that source endpoint.
struct ProbeAck {
  std::uint64_t nonce = 0;
  std::uint64_t seq = 0;
  Endpoint observed;
};

// peer -> peer, along the route in use: "answer me" (peermq ping).
struct Ping {
  std::uint64_t id = 0;
};
// peer -> peer, along the route in use: the answer to the ping with the same id.
struct Pong {
  std::uint64_t id = 0;
};

using OverlayMessage =
    std::variant<Register, Registered, UnknownPeer, Lookup, LookupResult, PunchRequest, PunchNotify,
                 Forward, Forwarded, Probe, ProbeAck, Ping, Pong>;
MessageType type_of(const OverlayMessage& m) noexcept;

// Appends the encoding of `m` to `out`. A message whose fields break the limits above
// (too many candidates, an oversized packet) is a programmer error: std::invalid_argument.
void encode(const OverlayMessage& m, std::vector<std::uint8_t>& out);
std::vector<std::uint8_t> encode(const OverlayMessage& m);

// Decodes one message. Errors: wire::WireError (not msgpack of the right shape, too large,
// a field of the wrong type or range) or OverlayError (unknown_message, bad_key,
// bad_endpoint, empty_packet).
Result<OverlayMessage> decode_message(std::span<const std::uint8_t> bytes);
Result<OverlayMessage> decode_message(std::vector<std::uint8_t>&&) = delete;  // spans dangle

// ---- Field codecs, shared with the local announcement ------------------------------------
// A usable endpoint: port set, address specified (not :: nor ::ffff:0.0.0.0).
bool valid_endpoint(const Endpoint& e) noexcept;
void write_endpoint(wire::MsgpackWriter& w, const Endpoint& e);
Result<Endpoint> read_endpoint(wire::MsgpackReader& r);
// Where a peer sees us (registered, probe_ack): a valid endpoint, or a web endpoint when
// we reached it over a WebSocket (Endpoint::web). Never a candidate.
Result<Endpoint> read_observed(wire::MsgpackReader& r);
// An array of `min`..`max` endpoints.
void write_candidates(wire::MsgpackWriter& w, const Candidates& c);
Result<Candidates> read_candidates(wire::MsgpackReader& r, std::uint32_t min, std::uint32_t max);
void write_key(wire::MsgpackWriter& w, const PublicKey& k);
Result<PublicKey> read_key(wire::MsgpackReader& r);

}  // namespace peermq::overlay
