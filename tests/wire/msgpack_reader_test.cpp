#include "wire/msgpack_reader.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "wire/msgpack_writer.hpp"

using peermq::wire::MsgpackLimits;
using peermq::wire::MsgpackReader;
using peermq::wire::MsgpackType;
using peermq::wire::MsgpackWriter;
using peermq::wire::WireError;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

Bytes nested_arrays(std::size_t depth) {
  Bytes out(depth, 0x91);  // [[[...
  out.push_back(0x01);
  return out;
}

Bytes nested_maps(std::size_t depth) {
  Bytes out;
  for (std::size_t i = 0; i < depth; ++i) out.insert(out.end(), {0x81, 0x01});  // {1: {1: ...
  out.push_back(0x01);
  return out;
}

std::error_code open_error(const Bytes& input, const MsgpackLimits& limits = {}) {
  return MsgpackReader::open(input, limits).error();
}

// The reader views its input, so it must be a named buffer that outlives it.
MsgpackReader open_ok(Bytes&&, const MsgpackLimits& = {}) = delete;
MsgpackReader open_ok(const Bytes& input, const MsgpackLimits& limits = {}) {
  auto r = MsgpackReader::open(input, limits);
  INFO(r.error().message());
  REQUIRE(r.ok());
  return *r;
}

// A message shaped like later wire messages: [id, command, payload, headers{}, ttl?].
Bytes sample_message() {
  Bytes out;
  MsgpackWriter w(out);
  w.array(5).u64(123456789).str("users.get").bin(bytes({1, 2, 3}));
  w.map(2).str("trace").str("abc").str("lang").str("de");
  w.nil();
  return out;
}

}  // namespace

TEST_CASE("every msgpack type round trips through the writer and the reader") {
  Bytes out;
  MsgpackWriter w(out);
  const std::vector<std::uint64_t> uints = {
      0,     127,   128,        255,         256,
      65535, 65536, 0xffffffff, 0x100000000, std::numeric_limits<std::uint64_t>::max()};
  constexpr std::int64_t i32_min = std::numeric_limits<std::int32_t>::min();
  constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();
  const std::vector<std::int64_t> ints = {-1,     -32,    -33,     -128,   -129,
                                          -32768, -32769, i32_min, i64_min};
  const std::string long_str(70000, 'x');
  const Bytes blob(300, 0xab);
  w.array(static_cast<std::uint32_t>(uints.size() + ints.size() + 12));
  for (auto v : uints) w.u64(v);
  for (auto v : ints) w.i64(v);
  w.nil().boolean(true).boolean(false).f32(1.5f).f64(-2.25).str("").str("héllo").str(long_str);
  w.bin({}).bin(blob).ext(7, bytes({1, 2, 3, 4})).ext(-3, blob);

  MsgpackLimits limits;
  limits.max_str = static_cast<std::uint32_t>(long_str.size());  // long enough for str32
  limits.max_ext = static_cast<std::uint32_t>(blob.size());
  auto r = open_ok(out, limits);
  REQUIRE(*r.array() == uints.size() + ints.size() + 12);
  for (auto v : uints) CHECK(*r.read_u64() == v);
  for (auto v : ints) CHECK(*r.read_i64() == v);
  CHECK(r.read_nil().ok());
  CHECK(*r.read_bool() == true);
  CHECK(*r.read_bool() == false);
  CHECK(*r.read_f64() == 1.5);
  CHECK(*r.read_f64() == -2.25);
  CHECK(r.read_str(10)->empty());
  CHECK(*r.read_str(10) == "héllo");
  CHECK(*r.read_str(long_str.size()) == long_str);
  CHECK(r.read_bin(0)->empty());
  auto b = r.read_bin(blob.size());
  CHECK(Bytes(b->begin(), b->end()) == blob);
  auto e = r.read_ext(4);
  CHECK(e->type == 7);
  CHECK(Bytes(e->data.begin(), e->data.end()) == bytes({1, 2, 3, 4}));
  CHECK(r.read_ext(300)->type == -3);
  CHECK(r.at_end());
}

TEST_CASE("the reader agrees with msgpack-cxx on what msgpack-cxx packs") {
  msgpack::sbuffer sbuf;
  msgpack::packer<msgpack::sbuffer> pk(sbuf);
  pk.pack_array(6);
  pk.pack(std::uint64_t{1} << 40);
  pk.pack(std::int64_t{-70000});
  pk.pack(std::string("queue"));
  pk.pack_map(1);
  pk.pack(std::string("k"));
  pk.pack(true);
  pk.pack_nil();
  pk.pack(3.5);
  const Bytes input(sbuf.data(), sbuf.data() + sbuf.size());

  auto r = open_ok(input);
  CHECK(*r.array(6, 6) == 6);
  CHECK(*r.read_u64() == std::uint64_t{1} << 40);
  CHECK(*r.read_i64() == -70000);
  CHECK(*r.read_str(5) == "queue");
  CHECK(*r.map() == 1);
  CHECK(*r.read_str(1) == "k");
  CHECK(*r.read_bool());
  CHECK(r.read_nil().ok());
  CHECK(*r.read_f64() == 3.5);
  CHECK(r.at_end());
}

TEST_CASE("every proper prefix of a valid encoding is truncated") {
  Bytes ints;
  MsgpackWriter(ints).array(4).u64(0xffffffffff).i64(-100000).f64(1.0).ext(1, bytes({9, 9, 9}));
  Bytes text;
  MsgpackWriter(text).str(std::string(300, 'a'));
  Bytes blob;
  MsgpackWriter(blob).bin(Bytes(70000, 1));
  for (const Bytes& valid : {sample_message(), ints, text, blob, nested_arrays(8)}) {
    REQUIRE(MsgpackReader::open(valid).ok());
    for (std::size_t len = 0; len < valid.size(); ++len) {
      const Bytes prefix(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(len));
      CAPTURE(len);
      CHECK(open_error(prefix) == WireError::truncated);
    }
  }
}

TEST_CASE("strings, binaries and exts longer than the limit are too long") {
  MsgpackLimits limits;
  limits.max_str = 4;
  limits.max_bin = 4;
  limits.max_ext = 4;
  Bytes str, bin, ext;
  MsgpackWriter(str).str("hello");
  MsgpackWriter(bin).bin(bytes({1, 2, 3, 4, 5}));
  MsgpackWriter(ext).ext(1, bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  CHECK(open_error(str, limits) == WireError::too_long);
  CHECK(open_error(bin, limits) == WireError::too_long);
  CHECK(open_error(ext, limits) == WireError::too_long);

  // The field's own maximum applies on top of open()'s.
  auto r = open_ok(str);
  CHECK(r.read_str(4).error() == WireError::too_long);
  CHECK(*r.read_str(5) == "hello");
  auto rb = open_ok(bin);
  CHECK(rb.read_bin(4).error() == WireError::too_long);
}

TEST_CASE("arrays and maps with more entries than the limit are rejected") {
  MsgpackLimits limits;
  limits.max_entries = 3;
  Bytes array, map;
  MsgpackWriter(array).array(4).u64(1).u64(2).u64(3).u64(4);
  MsgpackWriter(map).map(4).u64(1).nil().u64(2).nil().u64(3).nil().u64(4).nil();
  CHECK(open_error(array, limits) == WireError::too_many_entries);
  CHECK(open_error(map, limits) == WireError::too_many_entries);

  auto r = open_ok(array);
  CHECK(r.array(0, 3).error() == WireError::too_many_entries);
  CHECK(r.array(5).error() == WireError::missing_field);
  CHECK(*r.array(4, 4) == 4);
  auto m = open_ok(map);
  CHECK(m.map(0, 3).error() == WireError::too_many_entries);
}

TEST_CASE("nesting up to the depth limit is accepted and one level more is too deep") {
  MsgpackLimits limits;
  limits.max_depth = 8;
  CHECK(!open_error(nested_arrays(8), limits));
  CHECK(open_error(nested_arrays(9), limits) == WireError::too_deep);
  CHECK(!open_error(nested_maps(8), limits));
  CHECK(open_error(nested_maps(9), limits) == WireError::too_deep);
  limits.max_depth = 0;
  CHECK(!open_error(bytes({0x05}), limits));
  CHECK(open_error(bytes({0x90}), limits) == WireError::too_deep);
}

TEST_CASE("thousands of nested arrays are too deep without exhausting the stack") {
  CHECK(open_error(nested_arrays(1000)) == WireError::too_deep);
  CHECK(open_error(nested_arrays(100000)) == WireError::too_deep);
  MsgpackLimits generous;
  generous.max_depth = std::numeric_limits<std::uint32_t>::max();  // clamped to the cap
  CHECK(open_error(nested_arrays(100000), generous) == WireError::too_deep);
  CHECK(!open_error(nested_arrays(peermq::limits::kMsgpackMaxDepthCap), generous));
}

TEST_CASE("bytes after the one top-level value are trailing bytes") {
  CHECK(open_error(bytes({0x01, 0x02})) == WireError::trailing_bytes);
  CHECK(open_error(bytes({0x91, 0x01, 0xc0})) == WireError::trailing_bytes);
  CHECK(open_error(bytes({})) == WireError::truncated);
}

TEST_CASE("the never-used byte 0xc1 is malformed") {
  CHECK(open_error(bytes({0xc1})) == WireError::malformed);
  CHECK(open_error(bytes({0x92, 0x01, 0xc1})) == WireError::malformed);
}

TEST_CASE("an input larger than the limit is too large") {
  MsgpackLimits limits;
  limits.max_input = 3;
  Bytes s;
  MsgpackWriter(s).str("abc");
  CHECK(open_error(s, limits) == WireError::too_large);
}

TEST_CASE("a huge declared length in a tiny buffer fails without allocating") {
  CHECK(open_error(bytes({0xdb, 0xff, 0xff, 0xff, 0xff})) == WireError::too_long);
  CHECK(open_error(bytes({0xc6, 0xff, 0xff, 0xff, 0xff, 0x00})) == WireError::too_long);
  CHECK(open_error(bytes({0xdd, 0xff, 0xff, 0xff, 0xff})) == WireError::too_many_entries);
  CHECK(open_error(bytes({0xdf, 0xff, 0xff, 0xff, 0xff})) == WireError::too_many_entries);
  MsgpackLimits unlimited{
      std::numeric_limits<std::size_t>::max(),   8,
      std::numeric_limits<std::uint32_t>::max(), std::numeric_limits<std::uint32_t>::max(),
      std::numeric_limits<std::uint32_t>::max(), std::numeric_limits<std::uint32_t>::max()};
  CHECK(open_error(bytes({0xdb, 0xff, 0xff, 0xff, 0xff}), unlimited) == WireError::truncated);
  CHECK(open_error(bytes({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}), unlimited) == WireError::truncated);
  CHECK(open_error(bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}), unlimited) == WireError::truncated);
  CHECK(open_error(bytes({0xdf, 0x80, 0x00, 0x00, 0x00, 0x01}), unlimited) == WireError::truncated);
}

TEST_CASE("reading a value as another type is a wrong type") {
  const Bytes input = sample_message();
  auto r = open_ok(input);
  CHECK(r.map().error() == WireError::wrong_type);
  CHECK(r.read_u64().error() == WireError::wrong_type);
  REQUIRE(r.array().ok());
  CHECK(r.read_str(10).error() == WireError::wrong_type);
  CHECK(r.read_bool().error() == WireError::wrong_type);
  CHECK(r.read_f64().error() == WireError::wrong_type);
  CHECK(*r.read_u64() == 123456789);
  CHECK(r.read_bin(100).error() == WireError::wrong_type);
  CHECK(*r.peek() == MsgpackType::str);
}

TEST_CASE("integers outside the field's range are out of range") {
  Bytes out;
  MsgpackWriter(out)
      .array(4)
      .u64(std::uint64_t{1} << 32)
      .i64(-1)
      .u64(std::uint64_t{1} << 63)
      .u64(10);
  auto r = open_ok(out);
  REQUIRE(r.array().ok());
  CHECK(r.read_u32().error() == WireError::out_of_range);
  CHECK(*r.read_u64() == std::uint64_t{1} << 32);
  CHECK(r.read_u64().error() == WireError::out_of_range);
  CHECK(r.read_i64(0, 5).error() == WireError::out_of_range);
  CHECK(*r.read_i64() == -1);
  CHECK(r.read_i64().error() == WireError::out_of_range);
  CHECK(*r.read_u64() == std::uint64_t{1} << 63);
  CHECK(r.read_u32(11, 20).error() == WireError::out_of_range);
  CHECK(r.read_u32(0, 9).error() == WireError::out_of_range);
  CHECK(*r.read_u32(10, 10) == 10);
}

TEST_CASE("signed encodings of non-negative values read as unsigned") {
  const Bytes input = bytes({0x93, 0xd0, 0x05, 0xd3, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0xd0, 0xff});
  auto r = open_ok(input);
  REQUIRE(r.array().ok());
  CHECK(*r.peek() == MsgpackType::uint);
  CHECK(*r.read_u64() == 5);
  CHECK(*r.read_u32() == 256);
  CHECK(*r.peek() == MsgpackType::negative_int);
  CHECK(*r.read_i64() == -1);
}

TEST_CASE("strings that are not UTF-8 are rejected") {
  const std::vector<Bytes> bad = {
      bytes({0xa1, 0xff}),                    // never valid
      bytes({0xa2, 0xc0, 0x80}),              // overlong NUL
      bytes({0xa3, 0xe0, 0x80, 0x80}),        // overlong
      bytes({0xa3, 0xed, 0xa0, 0x80}),        // surrogate U+D800
      bytes({0xa4, 0xf4, 0x90, 0x80, 0x80}),  // above U+10FFFF
      bytes({0xa2, 0xe2, 0x82}),              // sequence cut short
      bytes({0xa2, 0x41, 0x80}),              // lone continuation byte
  };
  for (const Bytes& input : bad) {
    auto r = open_ok(input);
    CHECK(r.read_str(10).error() == WireError::bad_utf8);
  }
  const Bytes cut_input = bytes({0xa9, 0x41, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98});
  auto cut = open_ok(cut_input);
  CHECK(cut.read_str(10).error() == WireError::bad_utf8);  // 4-byte sequence cut at the end
  const Bytes ok_input = bytes({0xaa, 0x41, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80});
  auto ok = open_ok(ok_input);
  CHECK(*ok.read_str(10) == "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

TEST_CASE("strings and binaries are views into the input") {
  const Bytes input = sample_message();
  auto r = open_ok(input);
  REQUIRE(r.array().ok());
  REQUIRE(r.skip().ok());
  auto command = r.read_str(64);
  auto payload = r.read_bin(64);
  CHECK(reinterpret_cast<const std::uint8_t*>(command->data()) > input.data());
  CHECK(payload->data() > input.data());
  CHECK(payload->data() + payload->size() <= input.data() + input.size());
}

TEST_CASE("raw reads return the exact bytes of one value and skip moves past it") {
  const Bytes input = sample_message();
  auto r = open_ok(input);
  REQUIRE(r.array().ok());
  REQUIRE(r.skip().ok());
  REQUIRE(r.skip().ok());
  REQUIRE(r.skip().ok());
  auto headers = r.read_raw();
  Bytes expected;
  MsgpackWriter(expected).map(2).str("trace").str("abc").str("lang").str("de");
  CHECK(Bytes(headers->begin(), headers->end()) == expected);
  CHECK(r.read_nil().ok());
  CHECK(r.at_end());
  CHECK(r.skip().error() == WireError::missing_field);
  CHECK(r.read_raw().error() == WireError::missing_field);
  CHECK(r.read_u64().error() == WireError::missing_field);
  CHECK(r.peek().error() == WireError::missing_field);
}

TEST_CASE("a record reads its fields in order and skips unknown trailing ones") {
  Bytes input;  // [[id, cmd, extra1, [nested, extra]], after]
  MsgpackWriter w(input);
  w.array(2).array(4).u64(7).str("cmd").str("from a newer version");
  w.array(2).boolean(true).bin(bytes({1}));
  w.u64(99);
  auto r = open_ok(input);
  REQUIRE(*r.array() == 2);
  auto rec = r.record(2);
  REQUIRE(rec.ok());
  CHECK(rec->size() == 4);
  CHECK(*rec->read_u64() == 7);
  CHECK(*rec->read_str(peermq::limits::kMaxCommandName) == "cmd");
  rec->finish();
  CHECK(!rec->has_next());
  CHECK(rec->read_u64().error() == WireError::missing_field);
  CHECK(*r.read_u64() == 99);
  CHECK(r.at_end());
}

TEST_CASE("a record with fewer fields than required is missing a field") {
  Bytes input;
  MsgpackWriter(input).array(1).u64(7);
  auto r = open_ok(input);
  CHECK(r.record(2).error() == WireError::missing_field);
}

TEST_CASE("optional record fields are empty when absent or nil") {
  Bytes input;  // [1, nil, [2]]: field 1 nil, field 3 absent in the nested record
  MsgpackWriter(input).array(3).u64(1).nil().array(1).u64(2);
  auto r = open_ok(input);
  auto rec = r.record(1);
  REQUIRE(rec.ok());
  auto read = [](MsgpackReader& f) { return f.read_u64(); };
  CHECK(**rec->read_optional(read) == 1);
  CHECK(!rec->read_optional(read)->has_value());
  auto nested = rec->record(1);
  REQUIRE(nested.ok());
  CHECK(*nested->read_u64() == 2);
  CHECK(!nested->read_optional(read)->has_value());
  CHECK(nested->read_u64().error() == WireError::missing_field);
  nested->finish();
  rec->finish();
  CHECK(r.at_end());
}

TEST_CASE("an optional field of the wrong type is an error, not absent") {
  const Bytes input = bytes({0x91, 0xa1, 0x41});
  auto r = open_ok(input);
  auto rec = r.record(0);
  REQUIRE(rec.ok());
  auto v = rec->read_optional([](MsgpackReader& f) { return f.read_u64(); });
  CHECK(v.error() == WireError::wrong_type);
}
