// MsgpackReader: a strict, zero-copy, allocation-free msgpack decoder for peer input.
//
// Contract
// - open() checks the WHOLE input before anything is read from it: it must be exactly one
//   msgpack value, with no byte past its end (trailing_bytes), every length inside the
//   input (truncated), nesting at most limits.max_depth (too_deep), arrays and maps at
//   most limits.max_entries (too_many_entries), strings/bins/exts within their limits
//   (too_long), the input within limits.max_input (too_large). The check is one
//   iterative pass: no recursion, no allocation, so hostile input costs O(size) time and
//   O(1) memory however it nests or whatever lengths it declares.
// - After open() succeeds, the typed read_*() calls walk the value in order, each one
//   checking the type (wrong_type), the range (out_of_range), the length against the
//   field's own maximum (too_long) and, for strings, UTF-8 (bad_utf8). Reading after the
//   whole value was consumed gives missing_field. After any error the message is bad:
//   drop it; the reader's position is then unspecified.
// - Ownership: string_views and spans returned point INTO the input buffer. They stay
//   valid as long as that buffer does; copy them out before releasing it. The reader
//   itself holds only a view of the input and is cheap to copy.
// - Containers: array()/map() read only the header and return the entry count; the caller
//   then reads that many values (twice as many for a map: key, value, key, value...).
//   Structs are encoded as arrays of fields and read through MsgpackRecord, which
//   enforces the count: missing required fields fail, unknown trailing fields (from a
//   newer peer) are skipped by finish().
// - Single-threaded: a reader is used by one thread at a time.
//
//   auto r = MsgpackReader::open(bytes);                 // Result<MsgpackReader>
//   if (!r) return r.error();
//   auto rec = r->record(2);                             // [id, command, ttl?]
//   if (!rec) return rec.error();
//   auto id = rec->read_u64();
//   auto command = rec->read_str(limits::kMaxCommandName);
//   auto ttl = rec->read_optional([](MsgpackReader& f) { return f.read_u64(); });
//   if (!id || !command || !ttl) return first error...;
//   rec->finish();
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <peermq/result.hpp>

#include "wire/limits.hpp"
#include "wire/wire_error.hpp"

namespace peermq::wire {

// What open() accepts. Defaults are the protocol limits; a layer may tighten them.
struct MsgpackLimits {
  std::size_t max_input = limits::kMaxMessageSize;
  std::uint32_t max_depth = limits::kMsgpackMaxDepth;  // clamped to msgpack_max_depth_cap
  std::uint32_t max_entries = limits::kMsgpackMaxEntries;
  std::uint32_t max_str = limits::kMsgpackMaxStr;
  std::uint32_t max_bin = limits::kMsgpackMaxBin;
  std::uint32_t max_ext = limits::kMsgpackMaxExt;
};

// The kind of the next value. Integers are split by sign of the value, not by encoding:
// an int8 holding 5 is `uint`, so read_u64() accepts it.
// clang-format off
enum class MsgpackType : std::uint8_t {
  nil, boolean, uint, negative_int, float32, float64, str, bin, array, map, ext
};
// clang-format on

struct MsgpackExt {
  std::int8_t type;
  std::span<const std::uint8_t> data;  // points into the input
};

class MsgpackRecord;

class MsgpackReader {
 public:
  // Checks that `input` is one well-formed value within `limits` (see the contract).
  static Result<MsgpackReader> open(std::span<const std::uint8_t> input,
                                    const MsgpackLimits& limits = {});
  // A temporary buffer would die before the views into it: keep the bytes in a variable.
  static Result<MsgpackReader> open(std::vector<std::uint8_t>&&,
                                    const MsgpackLimits& = {}) = delete;

  bool at_end() const noexcept { return pos_ == input_.size(); }
  std::size_t offset() const noexcept { return pos_; }

  // The type of the next value; missing_field at the end.
  Result<MsgpackType> peek() const;
  bool next_is_nil() const noexcept;

  Result<void> read_nil();
  Result<bool> read_bool();
  Result<std::uint64_t> read_u64(std::uint64_t min = 0,
                                 std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
  Result<std::uint32_t> read_u32(std::uint32_t min = 0,
                                 std::uint32_t max = std::numeric_limits<std::uint32_t>::max());
  Result<std::int64_t> read_i64(std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                std::int64_t max = std::numeric_limits<std::int64_t>::max());
  // Accepts float32 (widened) and float64; integers are wrong_type.
  Result<double> read_f64();
  // UTF-8 checked; the view points into the input.
  Result<std::string_view> read_str(std::size_t max_len);
  Result<std::span<const std::uint8_t>> read_bin(std::size_t max_len);
  Result<MsgpackExt> read_ext(std::size_t max_len);
  // The encoded bytes of the next whole value (e.g. to forward it without decoding).
  Result<std::span<const std::uint8_t>> read_raw();
  Result<void> skip();

  // Container headers: the entry count, which must lie in [min, max]
  // (fewer -> missing_field, more -> too_many_entries).
  Result<std::uint32_t> array(std::uint32_t min = 0,
                              std::uint32_t max = std::numeric_limits<std::uint32_t>::max());
  Result<std::uint32_t> map(std::uint32_t min = 0,
                            std::uint32_t max = std::numeric_limits<std::uint32_t>::max());
  // A struct encoded as an array of at least `required` fields.
  Result<MsgpackRecord> record(std::uint32_t required);

  // nil -> empty optional; anything else is read by `read(*this)`.
  template <class F>
  auto read_optional(F&& read) {
    using T = std::remove_cvref_t<decltype(*read(*this))>;
    using R = Result<std::optional<T>>;
    if (next_is_nil()) {
      ++pos_;
      return R(std::optional<T>{});
    }
    auto value = read(*this);
    if (!value) return R(std::error_code(value.error()));
    return R(std::optional<T>(std::move(*value)));
  }

 private:
  explicit MsgpackReader(std::span<const std::uint8_t> input) : input_(input) {}
  void skip_trusted() noexcept;  // skips the next value; open() proved it is there

  std::span<const std::uint8_t> input_;
  std::size_t pos_ = 0;

  friend class MsgpackRecord;
};

// A struct encoded as a msgpack array, read field by field in order. Each read claims the
// next field; claiming one the sender did not send is missing_field. Fields the sender
// sent but this version does not know are skipped by finish(), which must be called before
// reading whatever follows the record.
class MsgpackRecord {
 public:
  std::uint32_t size() const noexcept { return size_; }  // fields the sender sent
  bool has_next() const noexcept { return remaining_ > 0; }

  // Claims the next field and reads it with `read(reader)`.
  template <class F>
  auto field(F&& read) -> decltype(read(std::declval<MsgpackReader&>())) {
    if (remaining_ == 0) return WireError::missing_field;
    --remaining_;
    return read(*reader_);
  }
  // An optional field: absent (older sender) or nil -> empty optional.
  template <class F>
  auto read_optional(F&& read) {
    using R = decltype(reader_->read_optional(read));
    if (remaining_ == 0) return R(typename std::remove_cvref_t<decltype(*std::declval<R>())>{});
    --remaining_;
    return reader_->read_optional(read);
  }

  Result<bool> read_bool() {
    return field([](MsgpackReader& r) { return r.read_bool(); });
  }
  Result<std::uint64_t> read_u64(std::uint64_t min = 0,
                                 std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    return field([&](MsgpackReader& r) { return r.read_u64(min, max); });
  }
  Result<std::uint32_t> read_u32(std::uint32_t min = 0,
                                 std::uint32_t max = std::numeric_limits<std::uint32_t>::max()) {
    return field([&](MsgpackReader& r) { return r.read_u32(min, max); });
  }
  Result<std::int64_t> read_i64(std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
    return field([&](MsgpackReader& r) { return r.read_i64(min, max); });
  }
  Result<double> read_f64() {
    return field([](MsgpackReader& r) { return r.read_f64(); });
  }
  Result<std::string_view> read_str(std::size_t max_len) {
    return field([&](MsgpackReader& r) { return r.read_str(max_len); });
  }
  Result<std::span<const std::uint8_t>> read_bin(std::size_t max_len) {
    return field([&](MsgpackReader& r) { return r.read_bin(max_len); });
  }
  Result<std::span<const std::uint8_t>> read_raw() {
    return field([](MsgpackReader& r) { return r.read_raw(); });
  }
  Result<std::uint32_t> array(std::uint32_t min = 0,
                              std::uint32_t max = std::numeric_limits<std::uint32_t>::max()) {
    return field([&](MsgpackReader& r) { return r.array(min, max); });
  }
  Result<std::uint32_t> map(std::uint32_t min = 0,
                            std::uint32_t max = std::numeric_limits<std::uint32_t>::max()) {
    return field([&](MsgpackReader& r) { return r.map(min, max); });
  }
  Result<MsgpackRecord> record(std::uint32_t required);

  // Skips the fields not read yet: unknown trailing fields from a newer sender.
  void finish() noexcept;

 private:
  MsgpackRecord(MsgpackReader& reader, std::uint32_t size)
      : reader_(&reader), size_(size), remaining_(size) {}

  MsgpackReader* reader_;
  std::uint32_t size_;
  std::uint32_t remaining_;

  friend class MsgpackReader;
};

}  // namespace peermq::wire
