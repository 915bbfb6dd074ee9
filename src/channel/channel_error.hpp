// ChannelError: why the reliable channel refused a call or dropped a peer's packet.
//
// Decoder errors (truncated .. flow_control_violation) mean a packet was dropped whole
// before any state changed; the caller counts them. The rest answer local calls.
#pragma once

#include <peermq/result.hpp>

namespace peermq::channel {

enum class ChannelError {
  truncated = 1,           // the packet ends inside a field or frame
  bad_varint,              // a varint is not in its shortest form
  unknown_frame,           // a frame type this version does not know
  bad_ack_range,           // an ACK range runs below packet number zero or is inverted
  too_many_ack_ranges,     // an ACK frame lists more ranges than allowed
  message_too_large,       // a message (or a fragment's end) exceeds the maximum size
  fragment_out_of_bounds,  // a fragment runs past its message's total length
  empty_packet,            // a packet carries no frame at all
  flow_control_violation,  // the peer sent more than the credit it was given
  would_block,             // the send buffer or datagram queue is full: retry later
  datagram_too_large,      // a datagram does not fit in one packet
  closed,                  // the channel was closed
  buffer_too_small,        // the output buffer cannot hold a packet
};
const char* describe(ChannelError e);
inline const char* category_name(ChannelError) { return "peermq.channel"; }
PEERMQ_ERROR_ENUM(ChannelError)

}  // namespace peermq::channel

PEERMQ_ERROR_ENUM_STD(peermq::channel::ChannelError)
