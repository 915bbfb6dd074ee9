#include "wire/transport_frame.hpp"

#include <array>
#include <cstdint>
#include <ostream>  // doctest prints std::error_code through it
#include <vector>

#include <doctest/doctest.h>

using namespace peermq;
using namespace peermq::wire;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes frame(FrameKind kind, std::uint64_t sender, std::uint64_t receiver, Bytes body) {
  Bytes out(limits::kTransportFrameHeaderSize);
  encode_transport_frame_header(kind, sender, receiver,
                                std::span(out).first<limits::kTransportFrameHeaderSize>());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

TEST_CASE("a transport frame round-trips kind, both incarnations and the body") {
  const Bytes in = frame(FrameKind::overlay, 0x0102030405060708, 42, {9, 8, 7});
  CHECK(in[0] == 2);
  CHECK(in[1] == 0x08);  // little-endian
  CHECK(in[8] == 0x01);
  auto f = decode_transport_frame(in);
  REQUIRE(f);
  CHECK(f->kind == FrameKind::overlay);
  CHECK(f->sender_incarnation == 0x0102030405060708);
  CHECK(f->receiver_incarnation == 42);
  CHECK(Bytes(f->body.begin(), f->body.end()) == Bytes{9, 8, 7});
}

TEST_CASE("a header-only frame decodes with an empty body") {
  auto f = decode_transport_frame(frame(FrameKind::channel, 1, 0, {}));
  REQUIRE(f);
  CHECK(f->body.empty());
  CHECK(f->receiver_incarnation == 0);
}

TEST_CASE("transport frame decoding names each fault") {
  Bytes ok = frame(FrameKind::channel, 7, 0, {1});
  for (std::size_t n = 0; n < limits::kTransportFrameHeaderSize; ++n) {
    CHECK(decode_transport_frame(std::span(ok).first(n)).error() == FrameError::truncated);
  }
  Bytes kind = ok;
  for (const std::uint8_t k : std::array<std::uint8_t, 3>{0, 3, 255}) {
    kind[0] = k;
    CHECK(decode_transport_frame(kind).error() == FrameError::unknown_kind);
  }
  CHECK(decode_transport_frame(frame(FrameKind::channel, 0, 5, {})).error() ==
        FrameError::no_incarnation);
}
