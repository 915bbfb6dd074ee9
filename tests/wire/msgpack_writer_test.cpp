#include "wire/msgpack_writer.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <msgpack.hpp>

using peermq::wire::MsgpackWriter;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

template <class F>
Bytes encode(F write) {
  Bytes out;
  MsgpackWriter w(out);
  write(w);
  return out;
}

// What msgpack-cxx packs for the same value: an independent reference encoder.
template <class T>
Bytes reference(const T& value) {
  msgpack::sbuffer sbuf;
  msgpack::pack(sbuf, value);
  return Bytes(sbuf.data(), sbuf.data() + sbuf.size());
}

}  // namespace

TEST_CASE("integers use the shortest encoding, as msgpack-cxx does") {
  for (std::uint64_t v :
       {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, std::uint64_t{255},
        std::uint64_t{256}, std::uint64_t{65535}, std::uint64_t{65536}, std::uint64_t{0xffffffff},
        std::uint64_t{0x100000000}, std::numeric_limits<std::uint64_t>::max()}) {
    CAPTURE(v);
    CHECK(encode([&](MsgpackWriter& w) { w.u64(v); }) == reference(v));
  }
  for (std::int64_t v : {std::int64_t{-1}, std::int64_t{-32}, std::int64_t{-33}, std::int64_t{-128},
                         std::int64_t{-129}, std::int64_t{-32768}, std::int64_t{-32769},
                         std::int64_t{std::numeric_limits<std::int32_t>::min()},
                         std::int64_t{std::numeric_limits<std::int32_t>::min()} - 1,
                         std::numeric_limits<std::int64_t>::min(), std::int64_t{5}}) {
    CAPTURE(v);
    CHECK(encode([&](MsgpackWriter& w) { w.i64(v); }) == reference(v));
  }
}

TEST_CASE("strings, binaries and containers switch forms at the spec's boundaries") {
  for (std::size_t n : {0u, 31u, 32u, 255u, 256u, 65535u, 65536u}) {
    CAPTURE(n);
    const std::string s(n, 'q');
    CHECK(encode([&](MsgpackWriter& w) { w.str(s); }) == reference(s));
    const std::vector<char> blob(n, 'b');
    const Bytes blob_bytes(n, 'b');
    CHECK(encode([&](MsgpackWriter& w) { w.bin(blob_bytes); }) == reference(blob));
  }
  for (std::uint32_t n : {0u, 15u, 16u, 65535u, 65536u}) {
    CAPTURE(n);
    const Bytes array = encode([&](MsgpackWriter& w) { w.array(n); });
    const Bytes map = encode([&](MsgpackWriter& w) { w.map(n); });
    msgpack::sbuffer sa, sm;
    msgpack::packer<msgpack::sbuffer>(sa).pack_array(n);
    msgpack::packer<msgpack::sbuffer>(sm).pack_map(n);
    CHECK(array == Bytes(sa.data(), sa.data() + sa.size()));
    CHECK(map == Bytes(sm.data(), sm.data() + sm.size()));
  }
}

TEST_CASE("nil, booleans, floats and exts encode as the spec says") {
  CHECK(encode([](MsgpackWriter& w) { w.nil().boolean(false).boolean(true); }) ==
        bytes({0xc0, 0xc2, 0xc3}));
  CHECK(encode([](MsgpackWriter& w) { w.f32(1.5f); }) == reference(1.5f));
  CHECK(encode([](MsgpackWriter& w) { w.f64(-0.5); }) == reference(-0.5));
  for (std::size_t n : {1u, 2u, 3u, 4u, 8u, 16u, 17u, 256u, 65536u}) {
    CAPTURE(n);
    const std::vector<char> data(n, 'e');
    const Bytes data_bytes(n, 'e');
    CHECK(encode([&](MsgpackWriter& w) { w.ext(-2, data_bytes); }) ==
          reference(msgpack::type::ext(-2, data.data(), static_cast<std::uint32_t>(n))));
  }
}

TEST_CASE("a writer over a fixed buffer writes whole values until one does not fit") {
  std::array<std::uint8_t, 8> buffer{};
  MsgpackWriter w(buffer);
  w.array(2).u64(300).str("abcdef");  // 1 + 3 fit, the 7-byte string does not
  CHECK(w.overflowed());
  CHECK(w.size() == 4);
  CHECK(Bytes(w.written().begin(), w.written().end()) == bytes({0x92, 0xcd, 0x01, 0x2c}));
  w.nil();  // nothing more after an overflow, even if it would fit
  CHECK(w.size() == 4);

  std::array<std::uint8_t, 4> exact{};
  MsgpackWriter fits(exact);
  fits.array(1).u64(300);
  CHECK(!fits.overflowed());
  CHECK(fits.size() == 4);
}

TEST_CASE("a writer over a vector appends and counts what it wrote") {
  Bytes out = {0xee};
  MsgpackWriter w(out);
  w.str("hi").raw(bytes({0x91, 0x01}));
  CHECK(out == bytes({0xee, 0xa2, 'h', 'i', 0x91, 0x01}));
  CHECK(w.size() == 5);
  CHECK(!w.overflowed());
}

TEST_CASE("append_bounded appends what the vector writer would, within or past its bound") {
  using peermq::wire::append_bounded;
  using peermq::wire::msgpack_bytes_bound;
  using peermq::wire::kMsgpackHeaderBound;
  using peermq::wire::kMsgpackIntBound;
  const std::string text(300, 't');
  const Bytes blob(70000, 0xab);
  auto body = [&](MsgpackWriter& w) {
    w.array(4).u64(~std::uint64_t{0}).str(text).bin(blob).i64(-5);
  };
  Bytes want = {0x01, 0x02};  // appended after what is there
  MsgpackWriter direct(want);
  body(direct);
  const std::size_t exact = kMsgpackHeaderBound + 2 * kMsgpackIntBound +
                            msgpack_bytes_bound(text.size()) + msgpack_bytes_bound(blob.size());
  for (const std::size_t bound : {exact, exact + 100, std::size_t{10}, std::size_t{0}}) {
    CAPTURE(bound);
    Bytes out = {0x01, 0x02};
    append_bounded(out, bound, body);
    CHECK(out == want);  // a short bound costs a second pass, never bytes
  }
}
