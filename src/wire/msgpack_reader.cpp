#include "wire/msgpack_reader.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "wire/bit_copy.hpp"

namespace peermq::wire {
namespace {

// One value's header: what open() checks and what every read decodes.
struct Head {
  MsgpackType type;
  std::uint8_t size;    // bytes of marker plus length/value fields (plus ext type)
  std::uint64_t value;  // uint: value; negative_int: int64 bits; bool: 0/1; floats: raw
                        // bits; str/bin/ext: payload length; array/map: entry count
  std::int8_t ext_type = 0;

  std::uint64_t payload() const noexcept {
    const bool has_payload =
        type == MsgpackType::str || type == MsgpackType::bin || type == MsgpackType::ext;
    return has_payload ? value : 0;
  }
};

std::uint64_t load_be(const std::uint8_t* p, unsigned n) noexcept {
  std::uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Signed big-endian integer of n bytes, sign-extended.
std::int64_t load_be_signed(const std::uint8_t* p, unsigned n) noexcept {
  const unsigned shift = 64 - 8 * n;
  return static_cast<std::int64_t>(load_be(p, n) << shift) >> shift;
}

Head make_signed(std::int64_t v, std::uint8_t size) noexcept {
  return v < 0 ? Head{MsgpackType::negative_int, size, static_cast<std::uint64_t>(v)}
               : Head{MsgpackType::uint, size, static_cast<std::uint64_t>(v)};
}

// Decodes the header at p[0..avail). Never reads past avail; malformed only for 0xc1.
Result<Head> decode_head(const std::uint8_t* p, std::size_t avail) {
  if (avail == 0) return WireError::truncated;
  const std::uint8_t m = p[0];
  if (m <= 0x7f) return Head{MsgpackType::uint, 1, m};
  if (m >= 0xe0) {
    return Head{MsgpackType::negative_int, 1,
                static_cast<std::uint64_t>(static_cast<std::int8_t>(m))};
  }
  if (m <= 0x8f) return Head{MsgpackType::map, 1, m & 0x0fu};
  if (m <= 0x9f) return Head{MsgpackType::array, 1, m & 0x0fu};
  if (m <= 0xbf) return Head{MsgpackType::str, 1, m & 0x1fu};

  // Fixed-layout markers 0xc0..0xdf: type, bytes of the length/value field.
  struct Layout {
    MsgpackType type;
    std::uint8_t field;
  };
  static constexpr std::array<Layout, 32> kLayouts = {{
      {MsgpackType::nil, 0},          {MsgpackType::nil, 0},  // 0xc1: never used
      {MsgpackType::boolean, 0},      {MsgpackType::boolean, 0},
      {MsgpackType::bin, 1},          {MsgpackType::bin, 2},
      {MsgpackType::bin, 4},          {MsgpackType::ext, 1},
      {MsgpackType::ext, 2},          {MsgpackType::ext, 4},
      {MsgpackType::float32, 4},      {MsgpackType::float64, 8},
      {MsgpackType::uint, 1},         {MsgpackType::uint, 2},
      {MsgpackType::uint, 4},         {MsgpackType::uint, 8},
      {MsgpackType::negative_int, 1}, {MsgpackType::negative_int, 2},
      {MsgpackType::negative_int, 4}, {MsgpackType::negative_int, 8},
      {MsgpackType::ext, 0},          {MsgpackType::ext, 0},
      {MsgpackType::ext, 0},          {MsgpackType::ext, 0},
      {MsgpackType::ext, 0},          {MsgpackType::str, 1},
      {MsgpackType::str, 2},          {MsgpackType::str, 4},
      {MsgpackType::array, 2},        {MsgpackType::array, 4},
      {MsgpackType::map, 2},          {MsgpackType::map, 4},
  }};
  if (m == 0xc1) return WireError::malformed;
  const Layout layout = kLayouts[m - 0xc0u];
  const bool is_ext = layout.type == MsgpackType::ext;
  const unsigned size = 1u + layout.field + (is_ext ? 1u : 0u);
  if (avail < size) return WireError::truncated;
  const auto size8 = static_cast<std::uint8_t>(size);

  if (m >= 0xd0 && m <= 0xd3) return make_signed(load_be_signed(p + 1, layout.field), size8);
  if (m >= 0xd4 && m <= 0xd8) {  // fixext 1, 2, 4, 8, 16
    return Head{MsgpackType::ext, size8, std::uint64_t{1} << (m - 0xd4u),
                static_cast<std::int8_t>(p[1])};
  }
  Head head{layout.type, size8, load_be(p + 1, layout.field)};
  if (m <= 0xc3) head.value = m & 1u;
  if (is_ext) head.ext_type = static_cast<std::int8_t>(p[size - 1]);
  return head;
}

// The header of the value at `pos`, with its payload proven to lie inside the input, so
// the reads below stay in bounds even if they were handed unchecked bytes.
Result<Head> head_at(std::span<const std::uint8_t> input, std::size_t pos) {
  if (pos >= input.size()) return WireError::missing_field;
  auto head = decode_head(input.data() + pos, input.size() - pos);
  if (!head) return head.error();
  if (head->payload() > input.size() - pos - head->size) return WireError::truncated;
  return head;
}

Result<Head> expect_head(std::span<const std::uint8_t> input, std::size_t pos,
                         MsgpackType expected) {
  auto head = head_at(input, pos);
  if (head && head->type != expected) return WireError::wrong_type;
  return head;
}

// The per-type length limit of open(), with the error it gives.
Result<void> check_length(const Head& head, const MsgpackLimits& limits) {
  std::uint64_t max = 0;
  switch (head.type) {
    case MsgpackType::str: max = limits.max_str; break;
    case MsgpackType::bin: max = limits.max_bin; break;
    case MsgpackType::ext: max = limits.max_ext; break;
    case MsgpackType::array:
    case MsgpackType::map:
      if (head.value > limits.max_entries) return WireError::too_many_entries;
      return {};
    default: return {};
  }
  if (head.value > max) return WireError::too_long;
  return {};
}

// Every byte of a string is valid UTF-8: no overlongs, no surrogates, nothing past
// U+10FFFF (RFC 3629).
bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    unsigned n = 0;
    unsigned lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (unsigned i = 2; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
    }
    p += n + 1;
  }
  return true;
}

}  // namespace

Result<MsgpackReader> MsgpackReader::open(std::span<const std::uint8_t> input,
                                          const MsgpackLimits& limits) {
  if (input.size() > limits.max_input) return WireError::too_large;
  const std::uint32_t max_depth = std::min(limits.max_depth, limits::kMsgpackMaxDepthCap);
  // Values still to read in each open container; level 0 is the top-level value.
  std::array<std::uint64_t, limits::kMsgpackMaxDepthCap + 1> pending{};
  std::uint32_t depth = 0;
  pending[0] = 1;
  std::size_t pos = 0;
  for (;;) {
    while (depth > 0 && pending[depth] == 0) --depth;
    if (pending[depth] == 0) break;  // only at depth 0: the one top-level value is done
    --pending[depth];

    auto head = decode_head(input.data() + pos, input.size() - pos);
    if (!head) return head.error();
    if (auto ok = check_length(*head, limits); !ok) return ok.error();
    const std::size_t left = input.size() - pos - head->size;
    if (head->payload() > left) return WireError::truncated;
    pos += head->size + static_cast<std::size_t>(head->payload());

    const bool is_map = head->type == MsgpackType::map;
    if (is_map || head->type == MsgpackType::array) {
      if (depth + 1 > max_depth) return WireError::too_deep;
      const std::uint64_t values = head->value * (is_map ? 2u : 1u);
      // Every value takes at least one byte: fail now rather than after walking them.
      if (values > input.size() - pos) return WireError::truncated;
      pending[++depth] = values;
    }
  }
  if (pos != input.size()) return WireError::trailing_bytes;
  return MsgpackReader(input);
}

Result<MsgpackType> MsgpackReader::peek() const {
  auto head = head_at(input_, pos_);
  if (!head) return head.error();
  return head->type;
}

bool MsgpackReader::next_is_nil() const noexcept {
  return !at_end() && input_[pos_] == 0xc0;
}

Result<void> MsgpackReader::read_nil() {
  auto head = expect_head(input_, pos_, MsgpackType::nil);
  if (!head) return head.error();
  pos_ += head->size;
  return {};
}

Result<bool> MsgpackReader::read_bool() {
  auto head = expect_head(input_, pos_, MsgpackType::boolean);
  if (!head) return head.error();
  pos_ += head->size;
  return head->value != 0;
}

Result<std::uint64_t> MsgpackReader::read_u64(std::uint64_t min, std::uint64_t max) {
  auto head = head_at(input_, pos_);
  if (!head) return head.error();
  if (head->type == MsgpackType::negative_int) return WireError::out_of_range;
  if (head->type != MsgpackType::uint) return WireError::wrong_type;
  if (head->value < min || head->value > max) return WireError::out_of_range;
  pos_ += head->size;
  return head->value;
}

Result<std::uint32_t> MsgpackReader::read_u32(std::uint32_t min, std::uint32_t max) {
  auto v = read_u64(min, max);
  if (!v) return v.error();
  return static_cast<std::uint32_t>(*v);
}

Result<std::int64_t> MsgpackReader::read_i64(std::int64_t min, std::int64_t max) {
  auto head = head_at(input_, pos_);
  if (!head) return head.error();
  if (head->type != MsgpackType::uint && head->type != MsgpackType::negative_int) {
    return WireError::wrong_type;
  }
  if (head->type == MsgpackType::uint &&
      head->value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return WireError::out_of_range;
  }
  const auto v = static_cast<std::int64_t>(head->value);
  if (v < min || v > max) return WireError::out_of_range;
  pos_ += head->size;
  return v;
}

Result<double> MsgpackReader::read_f64() {
  auto head = head_at(input_, pos_);
  if (!head) return head.error();
  double v = 0;
  if (head->type == MsgpackType::float64) {
    v = bit_copy<double>(head->value);
  } else if (head->type == MsgpackType::float32) {
    v = bit_copy<float>(static_cast<std::uint32_t>(head->value));
  } else {
    return WireError::wrong_type;
  }
  pos_ += head->size;
  return v;
}

Result<std::string_view> MsgpackReader::read_str(std::size_t max_len) {
  auto head = expect_head(input_, pos_, MsgpackType::str);
  if (!head) return head.error();
  if (head->value > max_len) return WireError::too_long;
  const std::string_view s(reinterpret_cast<const char*>(input_.data() + pos_ + head->size),
                           static_cast<std::size_t>(head->value));
  if (!valid_utf8(s)) return WireError::bad_utf8;
  pos_ += head->size + s.size();
  return s;
}

Result<std::span<const std::uint8_t>> MsgpackReader::read_bin(std::size_t max_len) {
  auto head = expect_head(input_, pos_, MsgpackType::bin);
  if (!head) return head.error();
  if (head->value > max_len) return WireError::too_long;
  auto bytes = input_.subspan(pos_ + head->size, static_cast<std::size_t>(head->value));
  pos_ += head->size + bytes.size();
  return bytes;
}

Result<MsgpackExt> MsgpackReader::read_ext(std::size_t max_len) {
  auto head = expect_head(input_, pos_, MsgpackType::ext);
  if (!head) return head.error();
  if (head->value > max_len) return WireError::too_long;
  auto bytes = input_.subspan(pos_ + head->size, static_cast<std::size_t>(head->value));
  pos_ += head->size + bytes.size();
  return MsgpackExt{head->ext_type, bytes};
}

Result<std::uint32_t> MsgpackReader::array(std::uint32_t min, std::uint32_t max) {
  auto head = expect_head(input_, pos_, MsgpackType::array);
  if (!head) return head.error();
  if (head->value < min) return WireError::missing_field;
  if (head->value > max) return WireError::too_many_entries;
  pos_ += head->size;
  return static_cast<std::uint32_t>(head->value);
}

Result<std::uint32_t> MsgpackReader::map(std::uint32_t min, std::uint32_t max) {
  auto head = expect_head(input_, pos_, MsgpackType::map);
  if (!head) return head.error();
  if (head->value < min) return WireError::missing_field;
  if (head->value > max) return WireError::too_many_entries;
  pos_ += head->size;
  return static_cast<std::uint32_t>(head->value);
}

Result<MsgpackRecord> MsgpackReader::record(std::uint32_t required) {
  auto fields = array(required);
  if (!fields) return fields.error();
  return MsgpackRecord(*this, *fields);
}

Result<std::span<const std::uint8_t>> MsgpackReader::read_raw() {
  if (at_end()) return WireError::missing_field;
  const std::size_t start = pos_;
  skip_trusted();
  return input_.subspan(start, pos_ - start);
}

Result<void> MsgpackReader::skip() {
  if (at_end()) return WireError::missing_field;
  skip_trusted();
  return {};
}

// open() proved the structure, so this cannot fail; the bounds checks stay as a guard.
// A flat count of values still to skip needs no stack however deep the nesting.
void MsgpackReader::skip_trusted() noexcept {
  std::uint64_t values = 1;
  while (values > 0 && !at_end()) {
    auto head = decode_head(input_.data() + pos_, input_.size() - pos_);
    if (!head) return;
    --values;
    if (head->type == MsgpackType::array) values += head->value;
    if (head->type == MsgpackType::map) values += 2 * head->value;
    pos_ = std::min(input_.size(), pos_ + head->size + static_cast<std::size_t>(head->payload()));
  }
}

Result<MsgpackRecord> MsgpackRecord::record(std::uint32_t required) {
  return field([&](MsgpackReader& r) { return r.record(required); });
}

void MsgpackRecord::finish() noexcept {
  for (; remaining_ > 0; --remaining_) reader_->skip_trusted();
}

}  // namespace peermq::wire
