// libFuzzer target for MsgpackReader: arbitrary bytes must give a typed error or a value
// that every consumer agrees on, and never a crash, a hang or an out-of-bounds read.
//
// For each input:
// 1. open() with the protocol limits; a failure must be one of open()'s errors.
// 2. A generic walk reads every value with the typed reads and re-encodes it; it must
//    consume the input exactly, and re-encoding must reach a fixpoint (the re-encoded
//    bytes open and walk to themselves).
// 3. msgpack-cxx must accept what open() accepts and see the same values.
// 4. A typed struct decode (shaped like a queue message) either fails with a typed error
//    or round trips through the writer.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "wire/limits.hpp"
#include "wire/msgpack_reader.hpp"
#include "wire/msgpack_writer.hpp"

using namespace peermq::wire;
using Bytes = std::vector<std::uint8_t>;

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

template <class T>
T must(peermq::Result<T> r, const char* what) {
  require(r.ok(), what);
  return std::move(*r);
}

bool is_open_error(std::error_code e) {
  for (WireError w :
       {WireError::truncated, WireError::trailing_bytes, WireError::too_large, WireError::too_deep,
        WireError::too_many_entries, WireError::too_long, WireError::malformed}) {
    if (e == w) return true;
  }
  return false;
}

// Reads one value of any type and writes it again in the shortest form.
void copy_value(MsgpackReader& r, MsgpackWriter& w) {
  const MsgpackType type = must(r.peek(), "peek after open");
  constexpr std::size_t any = ~std::size_t{0};
  switch (type) {
    case MsgpackType::nil:
      require(r.read_nil().ok(), "nil");
      w.nil();
      break;
    case MsgpackType::boolean: w.boolean(must(r.read_bool(), "bool")); break;
    case MsgpackType::uint: w.u64(must(r.read_u64(), "uint")); break;
    case MsgpackType::negative_int: w.i64(must(r.read_i64(), "negative int")); break;
    case MsgpackType::float32: w.f32(static_cast<float>(must(r.read_f64(), "float32"))); break;
    case MsgpackType::float64: w.f64(must(r.read_f64(), "float64")); break;
    case MsgpackType::str: {
      auto s = r.read_str(any);
      if (s) {
        w.str(*s);
      } else {  // not UTF-8: keep the bytes as they are
        require(s.error() == WireError::bad_utf8, "str");
        w.raw(must(r.read_raw(), "raw str"));
      }
      break;
    }
    case MsgpackType::bin: w.bin(must(r.read_bin(any), "bin")); break;
    case MsgpackType::ext: {
      const MsgpackExt e = must(r.read_ext(any), "ext");
      w.ext(e.type, e.data);
      break;
    }
    case MsgpackType::array:
    case MsgpackType::map: {
      const bool is_map = type == MsgpackType::map;
      const std::uint32_t n = must(is_map ? r.map() : r.array(), "container");
      is_map ? w.map(n) : w.array(n);
      for (std::uint64_t i = 0; i < std::uint64_t{n} * (is_map ? 2u : 1u); ++i) copy_value(r, w);
      break;
    }
  }
}

Bytes copy_all(const Bytes& input) {
  auto r = must(MsgpackReader::open(input), "re-encoded bytes open");
  Bytes out;
  MsgpackWriter w(out);
  copy_value(r, w);
  require(r.at_end(), "walk consumes the input exactly");
  return out;
}

bool same_double(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

// Walks msgpack-cxx's object alongside our reader: both must see the same values.
void compare(const msgpack::object& o, MsgpackReader& r) {
  constexpr std::size_t any = ~std::size_t{0};
  switch (o.type) {
    case msgpack::type::NIL: require(r.read_nil().ok(), "cxx nil"); break;
    case msgpack::type::BOOLEAN:
      require(must(r.read_bool(), "cxx bool") == o.via.boolean, "bool");
      break;
    case msgpack::type::POSITIVE_INTEGER:
      require(must(r.read_u64(), "cxx uint") == o.via.u64, "uint value");
      break;
    case msgpack::type::NEGATIVE_INTEGER:
      require(must(r.read_i64(), "cxx int") == o.via.i64, "int value");
      break;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      require(same_double(must(r.read_f64(), "cxx float"), o.via.f64), "float value");
      break;
    case msgpack::type::STR: {
      auto raw = must(r.read_raw(), "cxx str");
      const std::string_view ours(
          reinterpret_cast<const char*>(raw.data()) + raw.size() - o.via.str.size, o.via.str.size);
      require(ours == std::string_view(o.via.str.ptr, o.via.str.size), "str value");
      break;
    }
    case msgpack::type::BIN: {
      auto b = must(r.read_bin(any), "cxx bin");
      require(b.size() == o.via.bin.size &&
                  (b.empty() || std::equal(b.begin(), b.end(), o.via.bin.ptr,
                                           [](std::uint8_t x, char y) {
                                             return x == static_cast<std::uint8_t>(y);
                                           })),
              "bin value");
      break;
    }
    case msgpack::type::EXT: {
      const MsgpackExt e = must(r.read_ext(any), "cxx ext");
      require(e.type == o.via.ext.type() && e.data.size() == o.via.ext.size, "ext value");
      break;
    }
    case msgpack::type::ARRAY:
      require(must(r.array(), "cxx array") == o.via.array.size, "array size");
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) compare(o.via.array.ptr[i], r);
      break;
    case msgpack::type::MAP:
      require(must(r.map(), "cxx map") == o.via.map.size, "map size");
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        compare(o.via.map.ptr[i].key, r);
        compare(o.via.map.ptr[i].val, r);
      }
      break;
  }
}

void check_against_msgpack_cxx(const Bytes& input) {
  std::size_t offset = 0;
  msgpack::object_handle handle;
  try {
    handle = msgpack::unpack(reinterpret_cast<const char*>(input.data()), input.size(), offset);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "msgpack-cxx rejects what open() accepts: %s\n", e.what());
    std::abort();
  }
  require(offset == input.size(), "msgpack-cxx consumes the whole input");
  auto r = must(MsgpackReader::open(input), "open");
  compare(handle.get(), r);
  require(r.at_end(), "compare consumes the input");
}

// A struct shaped like a queue message: [id, command, payload, {header: value}, ttl?].
struct Message {
  std::uint64_t id = 0;
  std::string_view command;
  std::span<const std::uint8_t> payload;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::optional<std::uint64_t> ttl;
};

peermq::Result<Message> decode_message(const Bytes& input) {
  namespace limits = peermq::limits;
  auto r = MsgpackReader::open(input);
  if (!r) return r.error();
  auto rec = r->record(4);
  if (!rec) return rec.error();
  Message m;
  auto id = rec->read_u64();
  if (!id) return id.error();
  auto command = rec->read_str(limits::kMaxCommandName);
  if (!command) return command.error();
  auto payload = rec->read_bin(limits::kMaxMessageSize);
  if (!payload) return payload.error();
  auto count = rec->map(0, limits::kMaxHeaders);
  if (!count) return count.error();
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto name = r->read_str(limits::kMaxHeaderName);
    if (!name) return name.error();
    auto value = r->read_str(limits::kMaxHeaderValue);
    if (!value) return value.error();
    m.headers.emplace_back(*name, *value);
  }
  auto ttl = rec->read_optional([](MsgpackReader& f) { return f.read_u64(); });
  if (!ttl) return ttl.error();
  rec->finish();
  m.id = *id;
  m.command = *command;
  m.payload = *payload;
  m.ttl = *ttl;
  return m;
}

Bytes encode_message(const Message& m) {
  Bytes out;
  MsgpackWriter w(out);
  w.array(m.ttl ? 5 : 4).u64(m.id).str(m.command).bin(m.payload);
  w.map(static_cast<std::uint32_t>(m.headers.size()));
  for (const auto& [name, value] : m.headers) w.str(name).str(value);
  if (m.ttl) w.u64(*m.ttl);
  return out;
}

void check_typed_decode(const Bytes& input) {
  auto m = decode_message(input);
  if (!m) return;  // any typed error is fine; the error set is checked by open() above
  const Bytes again = encode_message(*m);
  auto m2 = must(decode_message(again), "re-encoded message decodes");
  require(
      m2.id == m->id && m2.command == m->command && m2.ttl == m->ttl &&
          std::equal(m2.payload.begin(), m2.payload.end(), m->payload.begin(), m->payload.end()) &&
          m2.headers == m->headers,
      "message round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input(data, data + size);
  auto opened = MsgpackReader::open(input);
  if (!opened) {
    require(is_open_error(opened.error()), "open() fails only with open() errors");
    return 0;
  }
  const Bytes once = copy_all(input);
  require(once.size() <= input.size(), "shortest forms are never longer");
  require(copy_all(once) == once, "re-encoding is a fixpoint");
  check_against_msgpack_cxx(input);
  check_typed_decode(input);
  return 0;
}
