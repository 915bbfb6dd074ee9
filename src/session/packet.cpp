#include "session/packet.hpp"

namespace peermq::session {
namespace {

using Bytes = std::span<const std::uint8_t>;

std::uint32_t load_u32(Bytes b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v |= std::uint32_t{b[at + i]} << (8 * i);
  return v;
}

std::uint64_t load_u64(Bytes b, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{b[at + i]} << (8 * i);
  return v;
}

void store_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void store_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void store_header(std::vector<std::uint8_t>& out, PacketType type) {
  out.push_back(static_cast<std::uint8_t>(type));
  out.insert(out.end(), 3, 0);
}

// The common checks of a fixed-size handshake packet of `type`.
Result<void> check_fixed(Bytes packet, PacketType type, std::size_t size) {
  auto t = packet_type(packet);
  if (!t) return t.error();
  if (*t != type) return SessionError::unknown_type;  // a caller routed it wrongly
  if (packet.size() != size) return SessionError::wrong_length;
  return {};
}

}  // namespace

Result<PacketType> packet_type(Bytes packet) {
  if (packet.size() < kHeaderSize) return SessionError::too_short;
  const std::uint8_t type = packet[0];
  if (type < 1 || type > 4) return SessionError::unknown_type;
  if ((packet[1] | packet[2] | packet[3]) != 0) return SessionError::reserved_not_zero;
  return static_cast<PacketType>(type);
}

Result<Initiation> decode_initiation(Bytes packet) {
  if (auto ok = check_fixed(packet, PacketType::initiation, kInitiationSize); !ok) {
    return ok.error();
  }
  Initiation m;
  m.sender_index = load_u32(packet, kHeaderSize);
  m.noise = packet.subspan(kHeaderSize + kIndexSize, kInitiationNoiseSize);
  return m;
}

Result<Response> decode_response(Bytes packet) {
  if (auto ok = check_fixed(packet, PacketType::response, kResponseSize); !ok) return ok.error();
  Response m;
  m.sender_index = load_u32(packet, kHeaderSize);
  m.receiver_index = load_u32(packet, kHeaderSize + kIndexSize);
  m.noise = packet.subspan(kHeaderSize + 2 * kIndexSize, kResponseNoiseSize);
  return m;
}

Result<CookieReply> decode_cookie_reply(Bytes packet) {
  if (auto ok = check_fixed(packet, PacketType::cookie_reply, kCookieReplySize); !ok) {
    return ok.error();
  }
  CookieReply m;
  m.receiver_index = load_u32(packet, kHeaderSize);
  m.nonce = packet.subspan(kHeaderSize + kIndexSize, kCookieNonceSize);
  m.encrypted_cookie = packet.subspan(kHeaderSize + kIndexSize + kCookieNonceSize);
  return m;
}

Result<Transport> decode_transport(Bytes packet) {
  auto t = packet_type(packet);
  if (!t) return t.error();
  if (*t != PacketType::transport) return SessionError::unknown_type;
  if (packet.size() < kTransportOverhead) return SessionError::too_short;
  if (packet.size() > kTransportOverhead + kMaxPlaintext) return SessionError::too_long;
  Transport m;
  m.receiver_index = load_u32(packet, kHeaderSize);
  m.counter = load_u64(packet, kHeaderSize + kIndexSize);
  m.header = packet.first(kTransportHeaderSize);
  m.ciphertext = packet.subspan(kTransportHeaderSize);
  return m;
}

std::vector<std::uint8_t> encode_initiation(std::uint32_t sender_index, Bytes noise) {
  std::vector<std::uint8_t> out;
  out.reserve(kInitiationSize);
  store_header(out, PacketType::initiation);
  store_u32(out, sender_index);
  out.insert(out.end(), noise.begin(), noise.end());
  out.insert(out.end(), kMacsSize, 0);
  return out;
}

std::vector<std::uint8_t> encode_response(std::uint32_t sender_index, std::uint32_t receiver_index,
                                          Bytes noise) {
  std::vector<std::uint8_t> out;
  out.reserve(kResponseSize);
  store_header(out, PacketType::response);
  store_u32(out, sender_index);
  store_u32(out, receiver_index);
  out.insert(out.end(), noise.begin(), noise.end());
  out.insert(out.end(), kMacsSize, 0);
  return out;
}

std::vector<std::uint8_t> encode_cookie_reply(std::uint32_t receiver_index, Bytes nonce,
                                              Bytes encrypted_cookie) {
  std::vector<std::uint8_t> out;
  out.reserve(kCookieReplySize);
  store_header(out, PacketType::cookie_reply);
  store_u32(out, receiver_index);
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.insert(out.end(), encrypted_cookie.begin(), encrypted_cookie.end());
  return out;
}

void encode_transport_header(std::uint32_t receiver_index, std::uint64_t counter,
                             std::vector<std::uint8_t>& out) {
  store_header(out, PacketType::transport);
  store_u32(out, receiver_index);
  store_u64(out, counter);
}

}  // namespace peermq::session
