// The four session packets on the wire (WireGuard messages.h, adapted to Noise IK with
// BLAKE2b). Fixed little-endian headers; every packet starts with type (1 byte) and three
// reserved zero bytes.
//
//   initiation   1 | 0 0 0 | sender_index u32 | noise 140 | mac1 16 | mac2 16    = 180
//                noise = e 32 | enc(s) 32+16 | enc(timestamp 12 | ed25519 key 32) +16
//   response     2 | 0 0 0 | sender_index u32 | receiver_index u32 | noise 48
//                | mac1 16 | mac2 16                                              = 92
//                noise = e 32 | enc(empty) 16
//   cookie reply 3 | 0 0 0 | receiver_index u32 | nonce 24 | enc(cookie 16) +16    = 64
//   transport    4 | 0 0 0 | receiver_index u32 | counter u64 | enc(plaintext) +16 >= 32
//                ChaCha20-Poly1305 with the counter as nonce and the 16-byte header as AD
//                (WireGuard uses no AD; binding the header costs nothing and means a
//                changed header byte fails the tag). Empty plaintext is a keepalive.
//
// The sender index of handshake packets is covered by mac1 only, not by Noise (as in
// WireGuard): whoever rewrites it can only misdirect the session, which an on-path
// attacker can do anyway by dropping packets.
//
// Decoders validate the whole layout before returning anything, and return views (spans)
// into the caller's bytes: they copy nothing and the views live as long as the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <peermq/result.hpp>

#include "session/session_error.hpp"
#include "wire/limits.hpp"

namespace peermq::session {

enum class PacketType : std::uint8_t { initiation = 1, response = 2, cookie_reply = 3, transport = 4 };

inline constexpr std::size_t kHeaderSize = 4;  // type + 3 reserved bytes
inline constexpr std::size_t kIndexSize = limits::kSessionIndexSize;
inline constexpr std::size_t kMacSize = limits::kMacSize;
inline constexpr std::size_t kMacsSize = 2 * kMacSize;
inline constexpr std::size_t kTimestampSize = 12;  // TAI64N
inline constexpr std::size_t kInitiationPayloadSize = kTimestampSize + limits::kKeySize;
inline constexpr std::size_t kInitiationNoiseSize =
    limits::kNoiseIkInitiationMin + kInitiationPayloadSize;
inline constexpr std::size_t kInitiationSize =
    kHeaderSize + kIndexSize + kInitiationNoiseSize + kMacsSize;
inline constexpr std::size_t kResponseNoiseSize = limits::kNoiseIkResponseMin;
inline constexpr std::size_t kResponseSize =
    kHeaderSize + 2 * kIndexSize + kResponseNoiseSize + kMacsSize;
inline constexpr std::size_t kCookieNonceSize = 24;  // XChaCha20-Poly1305
inline constexpr std::size_t kEncryptedCookieSize = limits::kCookieSize + limits::kAeadTagSize;
inline constexpr std::size_t kCookieReplySize =
    kHeaderSize + kIndexSize + kCookieNonceSize + kEncryptedCookieSize;
inline constexpr std::size_t kTransportHeaderSize = kHeaderSize + kIndexSize + limits::kCounterSize;
inline constexpr std::size_t kTransportOverhead = kTransportHeaderSize + limits::kAeadTagSize;
// The largest plaintext one transport packet carries: the packet fits udp_payload_max.
inline constexpr std::size_t kMaxPlaintext = limits::kUdpPayloadMax - kTransportOverhead;

static_assert(kInitiationSize == 180 && kResponseSize == 92 && kCookieReplySize == 64);
// A cookie reply must never amplify: it answers an initiation or a response.
static_assert(kCookieReplySize < kResponseSize && kResponseSize < kInitiationSize);

struct Initiation {
  std::uint32_t sender_index = 0;
  std::span<const std::uint8_t> noise;  // kInitiationNoiseSize bytes
};

struct Response {
  std::uint32_t sender_index = 0;
  std::uint32_t receiver_index = 0;
  std::span<const std::uint8_t> noise;  // kResponseNoiseSize bytes
};

struct CookieReply {
  std::uint32_t receiver_index = 0;
  std::span<const std::uint8_t> nonce;             // kCookieNonceSize bytes
  std::span<const std::uint8_t> encrypted_cookie;  // kEncryptedCookieSize bytes
};

struct Transport {
  std::uint32_t receiver_index = 0;
  std::uint64_t counter = 0;
  std::span<const std::uint8_t> header;      // the kTransportHeaderSize bytes in front
  std::span<const std::uint8_t> ciphertext;  // at least the tag
};

// The type of a datagram, after checking it is long enough for the common header and
// that the reserved bytes are zero. Errors: too_short, unknown_type, reserved_not_zero.
Result<PacketType> packet_type(std::span<const std::uint8_t> packet);

Result<Initiation> decode_initiation(std::span<const std::uint8_t> packet);
Result<Response> decode_response(std::span<const std::uint8_t> packet);
Result<CookieReply> decode_cookie_reply(std::span<const std::uint8_t> packet);
Result<Transport> decode_transport(std::span<const std::uint8_t> packet);
// The decoded views point into `packet`: decoding a temporary would leave them dangling.
Result<Initiation> decode_initiation(std::vector<std::uint8_t>&&) = delete;
Result<Response> decode_response(std::vector<std::uint8_t>&&) = delete;
Result<CookieReply> decode_cookie_reply(std::vector<std::uint8_t>&&) = delete;
Result<Transport> decode_transport(std::vector<std::uint8_t>&&) = delete;

// Encoders return whole packets; handshake packets come with zeroed macs for
// CookieMaker::add_macs to fill in.
std::vector<std::uint8_t> encode_initiation(std::uint32_t sender_index,
                                            std::span<const std::uint8_t> noise);
std::vector<std::uint8_t> encode_response(std::uint32_t sender_index, std::uint32_t receiver_index,
                                          std::span<const std::uint8_t> noise);
std::vector<std::uint8_t> encode_cookie_reply(std::uint32_t receiver_index,
                                              std::span<const std::uint8_t> nonce,
                                              std::span<const std::uint8_t> encrypted_cookie);
// Appends the transport header to out; the ciphertext follows it.
void encode_transport_header(std::uint32_t receiver_index, std::uint64_t counter,
                             std::vector<std::uint8_t>& out);

// Where mac1 and mac2 sit in a handshake packet of `size` bytes (its last 32 bytes).
inline constexpr std::size_t mac1_offset(std::size_t size) noexcept { return size - kMacsSize; }
inline constexpr std::size_t mac2_offset(std::size_t size) noexcept { return size - kMacSize; }

}  // namespace peermq::session
