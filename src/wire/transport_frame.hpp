// TransportFrame: the header in front of everything one node sends another inside a
// session (the session encrypts and authenticates it with the rest).
//
//   offset  size  field
//   0       1     kind: 1 channel packet, 2 overlay control message
//   1       8     sender incarnation, little-endian
//   9       8     receiver incarnation as the sender knows it (0: not yet), little-endian
//   17      ...   body (a channel packet, or an overlay message)
//
// An incarnation names one run of a node: a PeerTransport picks it when it starts (its
// start time in nanoseconds since the Unix epoch), so a restarted node has a greater one.
// It lets a peer tell a restart from a rekey: channel state (packet numbers, message
// numbers, flow credit) belongs to one pair of incarnations, and a node that restarts
// with the same key must meet a fresh channel, not the one its previous run left behind.
//
// decode_transport_frame() checks the length and the kind before it reads; the body it
// returns points into the input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <peermq/result.hpp>

#include "wire/limits.hpp"

namespace peermq::wire {

enum class FrameKind : std::uint8_t {
  channel = 1,
  overlay = 2,
};

enum class FrameError {
  truncated = 1,   // shorter than the header
  unknown_kind,    // a kind this version does not know
  no_incarnation,  // the sender's incarnation is 0, which no run uses
};
const char* describe(FrameError e);
inline const char* category_name(FrameError) {
  return "peermq.wire.frame";
}
PEERMQ_ERROR_ENUM(FrameError)

struct TransportFrame {
  FrameKind kind = FrameKind::channel;
  std::uint64_t sender_incarnation = 0;
  std::uint64_t receiver_incarnation = 0;
  std::span<const std::uint8_t> body;
};

Result<TransportFrame> decode_transport_frame(std::span<const std::uint8_t> bytes);

// Writes the header into the first limits::kTransportFrameHeaderSize bytes of `out`.
void encode_transport_frame_header(
    FrameKind kind, std::uint64_t sender_incarnation, std::uint64_t receiver_incarnation,
    std::span<std::uint8_t, limits::kTransportFrameHeaderSize> out);

}  // namespace peermq::wire

PEERMQ_ERROR_ENUM_STD(peermq::wire::FrameError)
