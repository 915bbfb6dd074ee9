#include "channel/channel_error.hpp"

namespace peermq::channel {

const char* describe(ChannelError e) {
  switch (e) {
    case ChannelError::truncated:
      return "channel packet is cut short; it was dropped: the peer's encoder or the path is "
             "broken";
    case ChannelError::bad_varint:
      return "channel packet has a number not in its shortest encoding; it was dropped: the "
             "peer does not speak this protocol version";
    case ChannelError::unknown_frame:
      return "channel packet has an unknown frame type; it was dropped: upgrade the older "
             "peer";
    case ChannelError::bad_ack_range:
      return "channel ACK frame has a range below packet number zero; it was dropped: the "
             "peer is broken or hostile";
    case ChannelError::too_many_ack_ranges:
      return "channel ACK frame lists too many ranges; it was dropped: the peer is broken or "
             "hostile";
    case ChannelError::message_too_large:
      return "channel message exceeds the maximum message size; split it or raise the limit "
             "on both peers";
    case ChannelError::fragment_out_of_bounds:
      return "channel message fragment runs past its message's length; it was dropped: the "
             "peer is broken or hostile";
    case ChannelError::empty_packet:
      return "channel packet carries no frame; it was dropped: the peer is broken";
    case ChannelError::flow_control_violation:
      return "channel peer sent more data than its credit; the packet was dropped: the peer "
             "ignores flow control";
    case ChannelError::would_block:
      return "channel send buffer is full; wait until the peer reads and retry (backpressure)";
    case ChannelError::datagram_too_large:
      return "datagram does not fit in one channel packet; send it as a message instead";
    case ChannelError::closed:
      return "channel is closed; open a new session to send again";
    case ChannelError::buffer_too_small:
      return "output buffer is smaller than a channel packet; pass a buffer of at least "
             "max_packet_size bytes";
  }
  return "unknown channel error";
}

}  // namespace peermq::channel
