// QUIC variable-length integers (RFC 9000 §16): 1, 2, 4 or 8 bytes, the top two bits of the
// first byte give the length, values up to 2^62 - 1, big-endian.
//
// The decoder is strict: a value not in its shortest form is refused (bad_varint), so each
// number has one encoding and a fuzzer cannot find two packets that mean the same thing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "channel/channel_error.hpp"

namespace peermq::channel {

inline constexpr std::uint64_t kVarintMax = (std::uint64_t{1} << 62) - 1;

constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  return v < 64 ? 1 : v < 16384 ? 2 : v < (std::uint64_t{1} << 30) ? 4 : 8;
}

// Writes v (which must be <= kVarintMax) at out[0..]; out must hold varint_size(v) bytes.
inline std::size_t varint_write(std::uint64_t v, std::uint8_t* out) noexcept {
  const std::size_t n = varint_size(v);
  const std::uint64_t prefix = n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3;
  v |= prefix << (8 * n - 2);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * (n - 1 - i)));
  return n;
}

// Reads one varint from in[pos..]; advances pos only on success.
inline ChannelError varint_read(std::span<const std::uint8_t> in, std::size_t& pos,
                                std::uint64_t& v) noexcept {
  if (pos >= in.size()) return ChannelError::truncated;
  if (in[pos] < 64) {  // one byte: always the shortest form; most fields are this small
    v = in[pos++];
    return ChannelError{};
  }
  const std::size_t n = std::size_t{1} << (in[pos] >> 6);
  if (in.size() - pos < n) return ChannelError::truncated;
  std::uint64_t x = in[pos] & 0x3fu;
  for (std::size_t i = 1; i < n; ++i) x = (x << 8) | in[pos + i];
  if (varint_size(x) != n) return ChannelError::bad_varint;
  v = x;
  pos += n;
  return ChannelError{};
}

}  // namespace peermq::channel
