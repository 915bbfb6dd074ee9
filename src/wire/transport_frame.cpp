#include "wire/transport_frame.hpp"

namespace peermq::wire {

const char* describe(FrameError e) {
  switch (e) {
    case FrameError::truncated: return "transport frame shorter than its 17-byte header";
    case FrameError::unknown_kind:
      return "transport frame of an unknown kind (a newer peer, or garbage)";
    case FrameError::no_incarnation: return "transport frame without a sender incarnation";
  }
  return "unknown transport frame error";
}

namespace {

std::uint64_t load_u64le(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void store_u64le(std::uint64_t v, std::uint8_t* p) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

Result<TransportFrame> decode_transport_frame(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < limits::kTransportFrameHeaderSize) return FrameError::truncated;
  const std::uint8_t kind = bytes[0];
  if (kind != static_cast<std::uint8_t>(FrameKind::channel) &&
      kind != static_cast<std::uint8_t>(FrameKind::overlay)) {
    return FrameError::unknown_kind;
  }
  TransportFrame f;
  f.kind = static_cast<FrameKind>(kind);
  f.sender_incarnation = load_u64le(bytes.data() + 1);
  f.receiver_incarnation = load_u64le(bytes.data() + 9);
  if (f.sender_incarnation == 0) return FrameError::no_incarnation;
  f.body = bytes.subspan(limits::kTransportFrameHeaderSize);
  return f;
}

void encode_transport_frame_header(
    FrameKind kind, std::uint64_t sender_incarnation, std::uint64_t receiver_incarnation,
    std::span<std::uint8_t, limits::kTransportFrameHeaderSize> out) {
  out[0] = static_cast<std::uint8_t>(kind);
  store_u64le(sender_incarnation, out.data() + 1);
  store_u64le(receiver_incarnation, out.data() + 9);
}

}  // namespace peermq::wire
