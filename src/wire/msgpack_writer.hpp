// MsgpackWriter: encodes msgpack values, always in their shortest form.
//
// Two sinks, one encoder:
// - a std::vector: values are appended and the vector grows; nothing can fail.
// - a caller's fixed buffer: each value is written whole or not at all; once one does not
//   fit, overflowed() is true, nothing more is written, and the output must be discarded.
// Containers are written as a header (array(n) / map(n)) followed by the caller writing n
// values (2n for a map: key, value, ...). A struct is an array of its fields in order,
// which MsgpackRecord reads back; a newer version appends fields, never reorders them.
// Lengths above 2^32 - 1 cannot be encoded and throw std::length_error (programmer error:
// the limits in wire/limits.hpp are far below).
// Hot paths append a whole message with append_bounded(): one resize of the vector, not
// one per value (a writer on the vector resizes it for every value it writes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace peermq::wire {

class MsgpackWriter {
 public:
  explicit MsgpackWriter(std::vector<std::uint8_t>& out) noexcept : vector_(&out) {}
  explicit MsgpackWriter(std::span<std::uint8_t> buffer) noexcept : buffer_(buffer) {}

  MsgpackWriter& nil();
  MsgpackWriter& boolean(bool v);
  MsgpackWriter& u64(std::uint64_t v);
  MsgpackWriter& i64(std::int64_t v);  // non-negative values use the uint encodings
  MsgpackWriter& f32(float v);
  MsgpackWriter& f64(double v);
  MsgpackWriter& str(std::string_view v);
  MsgpackWriter& bin(std::span<const std::uint8_t> v);
  MsgpackWriter& ext(std::int8_t type, std::span<const std::uint8_t> data);
  MsgpackWriter& array(std::uint32_t count);
  MsgpackWriter& map(std::uint32_t count);
  // Bytes that already hold encoded values (e.g. from MsgpackReader::read_raw), as is.
  MsgpackWriter& raw(std::span<const std::uint8_t> encoded);

  // Bytes this writer has written (in vector mode: appended by it).
  std::size_t size() const noexcept { return written_; }
  // Buffer mode: a value did not fit and the output is incomplete.
  bool overflowed() const noexcept { return overflowed_; }
  // Buffer mode: the bytes written so far.
  std::span<const std::uint8_t> written() const noexcept { return buffer_.first(written_); }

 private:
  // Room for n more bytes, or nullptr (and overflowed_) when the buffer is full. The
  // fixed-buffer case, every value of a hot-path message, is inline.
  std::uint8_t* reserve(std::size_t n) {
    if (vector_ == nullptr && !overflowed_ && n <= buffer_.size() - written_) {
      std::uint8_t* p = buffer_.data() + written_;
      written_ += n;
      return p;
    }
    return reserve_slow(n);
  }
  std::uint8_t* reserve_slow(std::size_t n);
  // A marker followed by `width` big-endian bytes of `value`, then `payload`.
  MsgpackWriter& put(std::uint8_t marker, std::uint64_t value, unsigned width,
                     std::span<const std::uint8_t> payload = {});
  // The shortest of a type's length forms: `fix` (length in the marker) up to fix_max, then
  // the 8/16/32-bit forms; kNoMarker (0) marks a form the type lacks.
  MsgpackWriter& put_sized(std::uint64_t length, std::span<const std::uint8_t> payload,
                           std::uint8_t fix, std::uint64_t fix_max, std::uint8_t m8,
                           std::uint8_t m16, std::uint8_t m32);

  std::vector<std::uint8_t>* vector_ = nullptr;
  std::span<std::uint8_t> buffer_;
  std::size_t written_ = 0;
  bool overflowed_ = false;
};

// Upper bounds of encoded sizes, for append_bounded().
inline constexpr std::size_t kMsgpackIntBound = 9;     // any integer or float
inline constexpr std::size_t kMsgpackHeaderBound = 5;  // an array or map header
constexpr std::size_t msgpack_bytes_bound(std::size_t n) noexcept {
  return 5 + n;  // str or bin: the longest length header, then the bytes
}

// Appends what `body(MsgpackWriter&)` writes onto `out`, with one resize for all of it:
// the writer fills a window of `bound` bytes as a fixed buffer, then the vector is cut to
// what was written. Should the bound be short, the body is written again straight onto the
// vector: a wrong bound costs time, never bytes.
template <class Body>
void append_bounded(std::vector<std::uint8_t>& out, std::size_t bound, const Body& body) {
  const std::size_t old = out.size();
  out.resize(old + bound);
  MsgpackWriter w(std::span<std::uint8_t>(out).subspan(old));
  body(w);
  if (!w.overflowed()) {
    out.resize(old + w.size());
    return;
  }
  out.resize(old);
  MsgpackWriter v(out);
  body(v);
}

// append_bounded() for the shape every queue message and journal record has: an array of
// `fields + 1` values, a type tag first, then what `body` writes. `bound` counts it all.
template <class Tag, class Body>
void append_tagged(std::vector<std::uint8_t>& out, std::size_t bound, Tag tag,
                   std::uint32_t fields, const Body& body) {
  append_bounded(out, bound, [&](MsgpackWriter& w) {
    w.array(fields + 1).u64(static_cast<std::uint8_t>(tag));
    body(w);
  });
}

}  // namespace peermq::wire
