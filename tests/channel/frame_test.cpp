#include "channel/frame.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "wire/limits.hpp"
#include "channel/varint.hpp"

using namespace peermq::channel;
namespace limits = peermq::limits;

namespace {

using Bytes = std::vector<std::uint8_t>;

ChannelError validate(const Bytes& b) {
  bool eliciting = false;
  return validate_packet(b, eliciting);
}

Bytes one_frame_packet(const std::function<bool(PacketWriter&)>& put) {
  Bytes out(limits::kMaxPacketSize);
  PacketWriter w(out);
  REQUIRE(w.put_packet_number(300));
  REQUIRE(put(w));
  out.resize(w.size());
  return out;
}

AckFrame three_ranges() {
  AckFrame a;
  a.ack_delay_us = 1234;
  a.range_count = 3;
  a.ranges[0] = {90, 100};
  a.ranges[1] = {50, 70};
  a.ranges[2] = {0, 10};
  return a;
}

}  // namespace

TEST_CASE("every frame type survives an encode and decode round trip") {
  const Bytes payload{1, 2, 3, 4, 5};
  Bytes out(limits::kMaxPacketSize);
  PacketWriter w(out);
  REQUIRE(w.put_packet_number(1ull << 40));
  REQUIRE(w.put_padding(3));
  REQUIRE(w.put_ping());
  REQUIRE(w.put_ack(three_ranges()));
  REQUIRE(w.put_message(7, 0, 5, payload));
  REQUIRE(w.put_message(7, 5000, 0, payload));
  REQUIRE(w.put_message(8, 0, 0, {}));
  REQUIRE(w.put_max_data(1ull << 33));
  REQUIRE(w.put_datagram(payload));
  REQUIRE(w.put_close(42));
  const Bytes packet(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(w.size()));
  bool eliciting = false;
  REQUIRE(validate_packet(packet, eliciting) == ChannelError{});
  CHECK(eliciting);

  PacketReader r(packet);
  std::uint64_t pn = 0;
  REQUIRE(r.read_packet_number(pn) == ChannelError{});
  CHECK(pn == 1ull << 40);
  Frame f;
  REQUIRE(r.next(f) == ChannelError{});
  CHECK(f.type == FrameType::padding);  // the three zero bytes are taken as one run
  REQUIRE(r.next(f) == ChannelError{});
  CHECK(f.type == FrameType::ping);
  REQUIRE(r.next(f) == ChannelError{});
  REQUIRE(f.type == FrameType::ack);
  CHECK(f.ack.range_count == 3);
  CHECK(f.ack.ack_delay_us == 1234);
  CHECK(f.ack.largest() == 100);
  CHECK(f.ack.ranges[1].smallest == 50);
  CHECK(f.ack.ranges[1].largest == 70);
  CHECK(f.ack.ranges[2].smallest == 0);
  CHECK(f.ack.ranges[2].largest == 10);
  REQUIRE(r.next(f) == ChannelError{});
  REQUIRE(f.type == FrameType::message);
  CHECK(f.message.id == 7);
  CHECK(f.message.offset == 0);
  CHECK(f.message.total == 5);
  CHECK(Bytes(f.message.data.begin(), f.message.data.end()) == payload);
  REQUIRE(r.next(f) == ChannelError{});
  CHECK(f.message.offset == 5000);
  CHECK(f.message.data.size() == 5);
  REQUIRE(r.next(f) == ChannelError{});
  CHECK(f.message.id == 8);
  CHECK(f.message.total == 0);
  CHECK(f.message.data.empty());
  REQUIRE(r.next(f) == ChannelError{});
  CHECK(f.type == FrameType::max_data);
  CHECK(f.value == 1ull << 33);
  REQUIRE(r.next(f) == ChannelError{});
  CHECK(f.type == FrameType::datagram);
  CHECK(Bytes(f.datagram.begin(), f.datagram.end()) == payload);
  REQUIRE(r.next(f) == ChannelError{});
  CHECK(f.type == FrameType::close);
  CHECK(f.value == 42);
  CHECK_FALSE(r.more());
}

TEST_CASE("a packet of only ACK and PADDING is not ack-eliciting") {
  const Bytes p = one_frame_packet([](PacketWriter& w) {
    return w.put_ack(three_ranges()) && w.put_padding(10);
  });
  bool eliciting = true;
  REQUIRE(validate_packet(p, eliciting) == ChannelError{});
  CHECK_FALSE(eliciting);
}

TEST_CASE("a frame cut at any length is rejected as truncated") {
  const Bytes payload(300, 0xab);
  const std::vector<std::function<bool(PacketWriter&)>> frames = {
      [](PacketWriter& w) { return w.put_ack(three_ranges()); },
      [&](PacketWriter& w) { return w.put_message(70000, 0, 300, payload); },
      [&](PacketWriter& w) { return w.put_message(1, 100000, 0, payload); },
      [](PacketWriter& w) { return w.put_max_data(1ull << 50); },
      [&](PacketWriter& w) { return w.put_datagram(payload); },
      [](PacketWriter& w) { return w.put_close(1ull << 20); },
  };
  for (const auto& put : frames) {
    const Bytes full = one_frame_packet(put);
    REQUIRE(validate(full) == ChannelError{});
    const std::size_t pn_size = varint_size(300);
    for (std::size_t len = 0; len < full.size(); ++len) {
      const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      const ChannelError want = len == pn_size ? ChannelError::empty_packet : ChannelError::truncated;
      CHECK(validate(cut) == want);
    }
  }
}

TEST_CASE("a number not in its shortest form is a bad varint") {
  CHECK(validate({0x40, 0x05, 0x01}) == ChannelError::bad_varint);  // pn 5 in two bytes
  CHECK(validate({0x05, 0x04, 0x80, 0x00, 0x00, 0x3f}) == ChannelError::bad_varint);
  CHECK(validate({0x05, 0x04, 0xc0, 0, 0, 0, 0, 0, 0, 0x01}) == ChannelError::bad_varint);
  std::size_t pos = 0;
  std::uint64_t v = 0;
  const std::array<std::uint8_t, 8> max{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  REQUIRE(varint_read(max, pos, v) == ChannelError{});
  CHECK(v == kVarintMax);
}

TEST_CASE("lengths that run past the packet or the message are rejected") {
  // MESSAGE id 1, offset 0, total 10, length 20 but only 2 data bytes follow.
  CHECK(validate({0x01, 0x03, 0x01, 0x00, 0x0a, 0x14, 0xaa, 0xbb}) == ChannelError::truncated);
  // DATAGRAM claiming 63 bytes with 1 present.
  CHECK(validate({0x01, 0x05, 0x3f, 0xaa}) == ChannelError::truncated);
  // First fragment with more data than its total.
  CHECK(validate({0x01, 0x03, 0x01, 0x00, 0x01, 0x02, 0xaa, 0xbb}) ==
        ChannelError::fragment_out_of_bounds);
  // Total above the maximum message size.
  Bytes big = one_frame_packet([](PacketWriter& w) {
    return w.put_message(1, 0, peermq::limits::kMaxMessageSize, {});
  });
  CHECK(validate(big) == ChannelError{});
  Bytes out(64);
  PacketWriter w(out);
  REQUIRE(w.put_packet_number(1));
  std::array<std::uint8_t, 1> one{7};
  REQUIRE(w.put_message(1, peermq::limits::kMaxMessageSize, 0, one));  // ends one past the max
  out.resize(w.size());
  CHECK(validate(out) == ChannelError::message_too_large);
  Bytes over{0x01, 0x03, 0x01, 0x00};
  over.resize(4 + varint_size(peermq::limits::kMaxMessageSize + 1));
  varint_write(peermq::limits::kMaxMessageSize + 1, over.data() + 4);
  over.push_back(0x00);
  CHECK(validate(over) == ChannelError::message_too_large);
}

TEST_CASE("ACK ranges that reach below packet zero are rejected") {
  // largest 5, first range 6: would start at -1.
  CHECK(validate({0x01, 0x02, 0x05, 0x00, 0x00, 0x06}) == ChannelError::bad_ack_range);
  // largest 5, first range 2 (3..5), gap 2: next largest would be 3 - 2 - 2 = -1.
  CHECK(validate({0x01, 0x02, 0x05, 0x00, 0x01, 0x02, 0x02, 0x00}) == ChannelError::bad_ack_range);
  // gap 0 gives largest 1; a length of 2 would start at -1.
  CHECK(validate({0x01, 0x02, 0x05, 0x00, 0x01, 0x02, 0x00, 0x02}) == ChannelError::bad_ack_range);
  CHECK(validate({0x01, 0x02, 0x05, 0x00, 0x01, 0x02, 0x00, 0x01}) == ChannelError{});
  // More ranges than allowed.
  CHECK(validate({0x01, 0x02, 0x05, 0x00, 0x20, 0x00}) == ChannelError::too_many_ack_ranges);
}

TEST_CASE("an unknown frame type or an empty packet is rejected") {
  CHECK(validate({0x01, 0x07}) == ChannelError::unknown_frame);
  CHECK(validate({0x01, 0xff}) == ChannelError::unknown_frame);
  CHECK(validate({0x01}) == ChannelError::empty_packet);
  CHECK(validate({}) == ChannelError::truncated);
}

TEST_CASE("a writer refuses a frame that does not fit and writes nothing") {
  Bytes out(10);
  PacketWriter w(out);
  REQUIRE(w.put_packet_number(1));
  const Bytes payload(20, 1);
  CHECK_FALSE(w.put_message(1, 0, 20, payload));
  CHECK_FALSE(w.put_datagram(payload));
  CHECK(w.size() == 1);
  bool fits = false;
  const std::size_t n = message_data_fit(1, 0, 20, w.remaining(), fits);
  REQUIRE(fits);
  CHECK(w.put_message(1, 0, 20, std::span<const std::uint8_t>(payload).first(n)));
  CHECK(w.remaining() == 0);
}
