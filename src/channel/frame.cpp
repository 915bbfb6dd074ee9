#include "channel/frame.hpp"

#include <cstring>

#include "channel/varint.hpp"

namespace peermq::channel {

namespace {
constexpr ChannelError kOk{};
}  // namespace

ChannelError PacketReader::read_packet_number(std::uint64_t& pn) noexcept {
  return varint_read(in_, pos_, pn);
}

ChannelError PacketReader::read_bytes(std::span<const std::uint8_t>& out) noexcept {
  std::size_t p = pos_;
  std::uint64_t len = 0;
  if (auto e = varint_read(in_, p, len); e != kOk) return e;
  if (len > in_.size() - p) return ChannelError::truncated;
  out = in_.subspan(p, static_cast<std::size_t>(len));
  pos_ = p + static_cast<std::size_t>(len);
  return kOk;
}

// RFC 9000 §19.3.1: each gap and length counts down from the previous range's smallest
// packet number; any step below zero makes the frame invalid.
ChannelError PacketReader::read_ack(AckFrame& a) noexcept {
  std::size_t p = pos_;
  std::uint64_t largest = 0, delay = 0, count = 0, first = 0;
  for (std::uint64_t* v : {&largest, &delay, &count, &first}) {
    if (auto e = varint_read(in_, p, *v); e != kOk) return e;
  }
  if (count >= limits::kMaxAckRanges) return ChannelError::too_many_ack_ranges;
  if (first > largest) return ChannelError::bad_ack_range;
  a.ack_delay_us = delay;
  a.range_count = static_cast<std::size_t>(count) + 1;
  a.ranges[0] = {largest - first, largest};
  for (std::size_t i = 1; i < a.range_count; ++i) {
    std::uint64_t gap = 0, len = 0;
    if (auto e = varint_read(in_, p, gap); e != kOk) return e;
    if (auto e = varint_read(in_, p, len); e != kOk) return e;
    const std::uint64_t prev_smallest = a.ranges[i - 1].smallest;
    if (prev_smallest < gap + 2) return ChannelError::bad_ack_range;
    const std::uint64_t high = prev_smallest - gap - 2;
    if (len > high) return ChannelError::bad_ack_range;
    a.ranges[i] = {high - len, high};
  }
  pos_ = p;
  return kOk;
}

ChannelError PacketReader::read_message(MessageFrame& m) noexcept {
  std::size_t p = pos_;
  std::uint64_t id = 0, offset = 0, total = 0;
  if (auto e = varint_read(in_, p, id); e != kOk) return e;
  if (auto e = varint_read(in_, p, offset); e != kOk) return e;
  if (offset == 0) {
    if (auto e = varint_read(in_, p, total); e != kOk) return e;
    if (total > limits::kMaxMessageSize) return ChannelError::message_too_large;
  }
  const std::size_t saved = pos_;
  pos_ = p;
  std::span<const std::uint8_t> data;
  if (auto e = read_bytes(data); e != kOk) {
    pos_ = saved;
    return e;
  }
  const bool past_max = offset > limits::kMaxMessageSize ||
                        data.size() > limits::kMaxMessageSize - offset;
  const bool past_total = offset == 0 && data.size() > total;
  if (past_max || past_total) {
    pos_ = saved;
    return past_max ? ChannelError::message_too_large : ChannelError::fragment_out_of_bounds;
  }
  m = {id, offset, total, data};
  return kOk;
}

ChannelError PacketReader::next(Frame& f) noexcept {
  if (pos_ >= in_.size()) return ChannelError::truncated;
  const std::uint8_t type = in_[pos_];
  const std::size_t start = pos_++;
  ChannelError e = kOk;
  switch (static_cast<FrameType>(type)) {
    case FrameType::padding:
      while (pos_ < in_.size() && in_[pos_] == 0) ++pos_;  // one frame per byte: take the run
      break;
    case FrameType::ping:
      break;
    case FrameType::ack:
      e = read_ack(f.ack);
      break;
    case FrameType::message:
      e = read_message(f.message);
      break;
    case FrameType::max_data:
    case FrameType::close:
      e = varint_read(in_, pos_, f.value);
      break;
    case FrameType::datagram:
      e = read_bytes(f.datagram);
      break;
    default:
      e = ChannelError::unknown_frame;
  }
  if (e != kOk) {
    pos_ = start;
    return e;
  }
  f.type = static_cast<FrameType>(type);
  return kOk;
}

ChannelError validate_packet(std::span<const std::uint8_t> packet, bool& ack_eliciting) noexcept {
  ack_eliciting = false;
  PacketReader r(packet);
  std::uint64_t pn = 0;
  if (auto e = r.read_packet_number(pn); e != kOk) return e;
  if (!r.more()) return ChannelError::empty_packet;
  Frame f;
  while (r.more()) {
    if (auto e = r.next(f); e != kOk) return e;
    if (f.type != FrameType::ack && f.type != FrameType::padding) ack_eliciting = true;
  }
  return kOk;
}

void PacketWriter::put_varint(std::uint64_t v) noexcept {
  pos_ += varint_write(v, out_.data() + pos_);
}

bool PacketWriter::put_packet_number(std::uint64_t pn) noexcept {
  if (remaining() < varint_size(pn)) return false;
  put_varint(pn);
  return true;
}

bool PacketWriter::put_padding(std::size_t n) noexcept {
  if (remaining() < n) return false;
  std::memset(out_.data() + pos_, 0, n);
  pos_ += n;
  return true;
}

bool PacketWriter::put_ping() noexcept {
  if (remaining() < 1) return false;
  out_[pos_++] = static_cast<std::uint8_t>(FrameType::ping);
  return true;
}

bool PacketWriter::put_type_and_varint(FrameType t, std::uint64_t v) noexcept {
  if (remaining() < 1 + varint_size(v)) return false;
  out_[pos_++] = static_cast<std::uint8_t>(t);
  put_varint(v);
  return true;
}

bool PacketWriter::put_max_data(std::uint64_t credit) noexcept {
  return put_type_and_varint(FrameType::max_data, credit);
}

bool PacketWriter::put_close(std::uint64_t code) noexcept {
  return put_type_and_varint(FrameType::close, code);
}

bool PacketWriter::put_ack(const AckFrame& a) noexcept {
  const AckRange& r0 = a.ranges[0];
  std::size_t need = 1 + varint_size(r0.largest) + varint_size(a.ack_delay_us) +
                     varint_size(a.range_count - 1) + varint_size(r0.largest - r0.smallest);
  for (std::size_t i = 1; i < a.range_count; ++i) {
    need += varint_size(a.ranges[i - 1].smallest - a.ranges[i].largest - 2) +
            varint_size(a.ranges[i].largest - a.ranges[i].smallest);
  }
  if (remaining() < need) return false;
  out_[pos_++] = static_cast<std::uint8_t>(FrameType::ack);
  put_varint(r0.largest);
  put_varint(a.ack_delay_us);
  put_varint(a.range_count - 1);
  put_varint(r0.largest - r0.smallest);
  for (std::size_t i = 1; i < a.range_count; ++i) {
    put_varint(a.ranges[i - 1].smallest - a.ranges[i].largest - 2);
    put_varint(a.ranges[i].largest - a.ranges[i].smallest);
  }
  return true;
}

std::size_t message_frame_overhead(std::uint64_t id, std::uint64_t offset, std::uint64_t total,
                                   std::size_t length) noexcept {
  return 1 + varint_size(id) + varint_size(offset) + (offset == 0 ? varint_size(total) : 0) +
         varint_size(length);
}

std::size_t message_data_fit(std::uint64_t id, std::uint64_t offset, std::uint64_t total,
                             std::size_t room, bool& fits) noexcept {
  const std::size_t fixed = message_frame_overhead(id, offset, total, 0) - 1;
  fits = false;
  if (room < fixed + 1) return 0;
  std::size_t len = room - fixed - 1;
  // The length field grows with the length; shrink until field plus data fit the room.
  while (len > 0 && fixed + varint_size(len) + len > room) --len;
  fits = fixed + varint_size(len) + len <= room;
  return len;
}

bool PacketWriter::put_message(std::uint64_t id, std::uint64_t offset, std::uint64_t total,
                               std::span<const std::uint8_t> data) noexcept {
  if (remaining() < message_frame_overhead(id, offset, total, data.size()) + data.size()) {
    return false;
  }
  out_[pos_++] = static_cast<std::uint8_t>(FrameType::message);
  put_varint(id);
  put_varint(offset);
  if (offset == 0) put_varint(total);
  put_varint(data.size());
  if (!data.empty()) std::memcpy(out_.data() + pos_, data.data(), data.size());
  pos_ += data.size();
  return true;
}

std::size_t datagram_frame_size(std::size_t length) noexcept {
  return 1 + varint_size(length) + length;
}

bool PacketWriter::put_datagram(std::span<const std::uint8_t> data) noexcept {
  if (remaining() < datagram_frame_size(data.size())) return false;
  out_[pos_++] = static_cast<std::uint8_t>(FrameType::datagram);
  put_varint(data.size());
  if (!data.empty()) std::memcpy(out_.data() + pos_, data.data(), data.size());
  pos_ += data.size();
  return true;
}

}  // namespace peermq::channel
