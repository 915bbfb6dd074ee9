// Channel constants that src/wire/limits.hpp does not (yet) hold; the shared ones are used
// from there. Each says why it is what it is.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "wire/limits.hpp"

namespace peermq::channel {

// The session's data packet: 16-byte cleartext header (type 4, receiver index 4, counter 8)
// plus the 16-byte AEAD tag. The channel sees only what is left of the UDP payload.
inline constexpr std::size_t session_overhead =
    4 + limits::session_index_size + limits::counter_size + limits::aead_tag_size;
inline constexpr std::size_t max_packet_size = limits::udp_payload_initial - session_overhead;
static_assert(max_packet_size == 1168);
// Flow-control credit charged per message on top of its bytes, so a peer cannot make the
// receiver track an unbounded number of zero-length messages.
inline constexpr std::uint64_t message_credit_overhead = 32;
// Bytes of messages a sender holds (queued or unacknowledged) before send() blocks. One
// message larger than this is still accepted when the buffer is empty.
inline constexpr std::size_t default_send_buffer_limit = 4 * limits::MiB;
// Datagrams queued for sending; more are refused, since a late probe is worthless anyway.
inline constexpr std::size_t max_queued_datagrams = 64;
// ACK at once after this many ack-eliciting packets (RFC 9000 §13.2.2: every second).
inline constexpr unsigned ack_eliciting_threshold = 2;
// RFC 9002 §7.7: pace at 5/4 of cwnd per RTT so that pacing never limits the window.
inline constexpr unsigned pacing_gain_num = 5;
inline constexpr unsigned pacing_gain_den = 4;
// Packets the pacer lets out back to back after an idle period (RFC 9002 allows up to the
// initial window).
inline constexpr unsigned pacing_burst_packets = 10;
// Probe packets sent when a PTO fires (RFC 9002 §6.2.4 allows up to two).
inline constexpr unsigned pto_probe_packets = 2;
// PTO backoff stops doubling here, so a long outage does not push the probe out to hours.
inline constexpr unsigned max_pto_backoff_exponent = 16;
// The receiver sends a MAX_DATA once its reader has freed this fraction of the window.
inline constexpr unsigned max_data_update_divisor = 4;

}  // namespace peermq::channel
