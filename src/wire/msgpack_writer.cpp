#include "wire/msgpack_writer.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "wire/bit_copy.hpp"

namespace peermq::wire {
namespace {

constexpr std::uint8_t kNoMarker = 0;  // put_sized: this width does not exist for the type

std::uint64_t checked_length(std::size_t n) {
  if (n > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("msgpack cannot encode a length above 2^32 - 1");
  }
  return n;
}

}  // namespace

std::uint8_t* MsgpackWriter::reserve_slow(std::size_t n) {
  if (vector_ != nullptr) {
    const std::size_t old = vector_->size();
    vector_->resize(old + n);
    written_ += n;
    return vector_->data() + old;
  }
  if (overflowed_ || n > buffer_.size() - written_) {
    overflowed_ = true;
    return nullptr;
  }
  std::uint8_t* p = buffer_.data() + written_;
  written_ += n;
  return p;
}

MsgpackWriter& MsgpackWriter::put(std::uint8_t marker, std::uint64_t value, unsigned width,
                                  std::span<const std::uint8_t> payload) {
  std::uint8_t* p = reserve(1 + width + payload.size());
  if (p == nullptr) return *this;
  *p++ = marker;
  for (unsigned i = width; i > 0; --i) *p++ = static_cast<std::uint8_t>(value >> (8 * (i - 1)));
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  return *this;
}

MsgpackWriter& MsgpackWriter::put_sized(std::uint64_t length, std::span<const std::uint8_t> payload,
                                        std::uint8_t fix, std::uint64_t fix_max, std::uint8_t m8,
                                        std::uint8_t m16, std::uint8_t m32) {
  if (fix != kNoMarker && length <= fix_max) {
    return put(static_cast<std::uint8_t>(fix | length), 0, 0, payload);
  }
  if (m8 != kNoMarker && length <= 0xff) return put(m8, length, 1, payload);
  if (length <= 0xffff) return put(m16, length, 2, payload);
  return put(m32, length, 4, payload);
}

MsgpackWriter& MsgpackWriter::nil() {
  return put(0xc0, 0, 0);
}

MsgpackWriter& MsgpackWriter::boolean(bool v) {
  return put(v ? 0xc3 : 0xc2, 0, 0);
}

MsgpackWriter& MsgpackWriter::u64(std::uint64_t v) {
  if (v <= 0x7f) return put(static_cast<std::uint8_t>(v), 0, 0);
  if (v <= 0xff) return put(0xcc, v, 1);
  if (v <= 0xffff) return put(0xcd, v, 2);
  if (v <= 0xffffffff) return put(0xce, v, 4);
  return put(0xcf, v, 8);
}

MsgpackWriter& MsgpackWriter::i64(std::int64_t v) {
  if (v >= 0) return u64(static_cast<std::uint64_t>(v));
  const auto bits = static_cast<std::uint64_t>(v);
  if (v >= -32) return put(static_cast<std::uint8_t>(bits), 0, 0);
  if (v >= std::numeric_limits<std::int8_t>::min()) return put(0xd0, bits, 1);
  if (v >= std::numeric_limits<std::int16_t>::min()) return put(0xd1, bits, 2);
  if (v >= std::numeric_limits<std::int32_t>::min()) return put(0xd2, bits, 4);
  return put(0xd3, bits, 8);
}

MsgpackWriter& MsgpackWriter::f32(float v) {
  return put(0xca, bit_copy<std::uint32_t>(v), 4);
}

MsgpackWriter& MsgpackWriter::f64(double v) {
  return put(0xcb, bit_copy<std::uint64_t>(v), 8);
}

MsgpackWriter& MsgpackWriter::str(std::string_view v) {
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(v.data()),
                                            v.size());
  return put_sized(checked_length(v.size()), bytes, 0xa0, 31, 0xd9, 0xda, 0xdb);
}

MsgpackWriter& MsgpackWriter::bin(std::span<const std::uint8_t> v) {
  return put_sized(checked_length(v.size()), v, kNoMarker, 0, 0xc4, 0xc5, 0xc6);
}

MsgpackWriter& MsgpackWriter::array(std::uint32_t count) {
  return put_sized(count, {}, 0x90, 15, kNoMarker, 0xdc, 0xdd);
}

MsgpackWriter& MsgpackWriter::map(std::uint32_t count) {
  return put_sized(count, {}, 0x80, 15, kNoMarker, 0xde, 0xdf);
}

MsgpackWriter& MsgpackWriter::ext(std::int8_t type, std::span<const std::uint8_t> data) {
  const std::uint64_t n = checked_length(data.size());
  const auto type_byte = static_cast<std::uint8_t>(type);
  if (std::has_single_bit(n) && n <= 16) {  // fixext 1, 2, 4, 8, 16
    const auto marker = static_cast<std::uint8_t>(0xd4 + std::countr_zero(n));
    return put(marker, type_byte, 1, data);
  }
  // ext 8/16/32: marker, length, then the type byte, which put() writes as the lowest byte
  // of a value one byte wider than the length.
  if (n <= 0xff) return put(0xc7, (n << 8) | type_byte, 2, data);
  if (n <= 0xffff) return put(0xc8, (n << 8) | type_byte, 3, data);
  return put(0xc9, (n << 8) | type_byte, 5, data);
}

MsgpackWriter& MsgpackWriter::raw(std::span<const std::uint8_t> encoded) {
  std::uint8_t* p = reserve(encoded.size());
  if (p != nullptr && !encoded.empty()) std::memcpy(p, encoded.data(), encoded.size());
  return *this;
}

}  // namespace peermq::wire
