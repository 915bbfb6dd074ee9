// Frame codec: the channel packet format (compact binary, QUIC-like, RFC 9000 §12, §19).
//
//   packet   = packet_number:varint frame+
//   PADDING  = 0x00                                         (each zero byte is one frame)
//   PING     = 0x01
//   ACK      = 0x02 largest:varint ack_delay_us:varint range_count:varint first_range:varint
//              (gap:varint length:varint){range_count}     (RFC 9000 §19.3.1 arithmetic)
//   MESSAGE  = 0x03 id:varint offset:varint [total:varint if offset == 0] length:varint data
//   MAX_DATA = 0x04 max_data:varint      (cumulative credit, in bytes plus per-message charge)
//   DATAGRAM = 0x05 length:varint data
//   CLOSE    = 0x06 code:varint
//
// Packet numbers are full 64-bit values (never truncated): a packet is decodable on its own.
// Decoding never reads past the input and validates a frame whole before returning it;
// the returned spans point into the input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "channel/channel_error.hpp"
#include "wire/limits.hpp"

namespace peermq::channel {

enum class FrameType : std::uint8_t {
  padding = 0x00,
  ping = 0x01,
  ack = 0x02,
  message = 0x03,
  max_data = 0x04,
  datagram = 0x05,
  close = 0x06,
};

struct AckRange {
  std::uint64_t smallest = 0;
  std::uint64_t largest = 0;
};

// ranges[0] holds the largest acknowledged packet; ranges descend and never touch.
struct AckFrame {
  std::uint64_t ack_delay_us = 0;
  std::size_t range_count = 0;
  std::array<AckRange, limits::kMaxAckRanges> ranges{};
  std::uint64_t largest() const noexcept { return ranges[0].largest; }
};

struct MessageFrame {
  std::uint64_t id = 0;
  std::uint64_t offset = 0;
  std::uint64_t total = 0;  // meaningful only when offset == 0
  std::span<const std::uint8_t> data;
};

struct Frame {
  FrameType type = FrameType::padding;
  AckFrame ack;              // type ack
  MessageFrame message;      // type message
  std::uint64_t value = 0;   // max_data credit, close code
  std::span<const std::uint8_t> datagram;  // type datagram
};

// Iterates over one packet's frames. Typical use:
//   PacketReader r(bytes); r.read_packet_number(pn); while (r.more()) r.next(frame);
// Each call either decodes a whole field or frame and moves on, or returns the error and
// stays put.
class PacketReader {
 public:
  explicit PacketReader(std::span<const std::uint8_t> packet) noexcept : in_(packet) {}
  ChannelError read_packet_number(std::uint64_t& pn) noexcept;
  bool more() const noexcept { return pos_ < in_.size(); }
  ChannelError next(Frame& f) noexcept;

 private:
  ChannelError read_ack(AckFrame& a) noexcept;
  ChannelError read_message(MessageFrame& m) noexcept;
  ChannelError read_bytes(std::span<const std::uint8_t>& out) noexcept;

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

// Checks a whole packet (header and every frame) without acting on it; tells whether it
// holds a frame other than ACK and PADDING, which the peer must acknowledge.
ChannelError validate_packet(std::span<const std::uint8_t> packet, bool& ack_eliciting) noexcept;

// Writes frames into a caller-owned buffer. Each put_* either writes the whole frame and
// returns true, or writes nothing and returns false when it does not fit.
class PacketWriter {
 public:
  explicit PacketWriter(std::span<std::uint8_t> out) noexcept : out_(out) {}
  bool put_packet_number(std::uint64_t pn) noexcept;
  bool put_padding(std::size_t n) noexcept;
  bool put_ping() noexcept;
  bool put_ack(const AckFrame& a) noexcept;
  bool put_message(std::uint64_t id, std::uint64_t offset, std::uint64_t total,
                   std::span<const std::uint8_t> data) noexcept;
  bool put_max_data(std::uint64_t credit) noexcept;
  bool put_datagram(std::span<const std::uint8_t> data) noexcept;
  bool put_close(std::uint64_t code) noexcept;

  std::size_t size() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return out_.size() - pos_; }

 private:
  bool put_type_and_varint(FrameType t, std::uint64_t v) noexcept;
  void put_varint(std::uint64_t v) noexcept;

  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
};

// Bytes a MESSAGE frame takes besides its data.
std::size_t message_frame_overhead(std::uint64_t id, std::uint64_t offset, std::uint64_t total,
                                   std::size_t length) noexcept;
// Largest data length a MESSAGE frame may carry within `room` bytes, or 0 with fits=false.
std::size_t message_data_fit(std::uint64_t id, std::uint64_t offset, std::uint64_t total,
                             std::size_t room, bool& fits) noexcept;
// Bytes a DATAGRAM frame takes for `length` data bytes.
std::size_t datagram_frame_size(std::size_t length) noexcept;

}  // namespace peermq::channel
