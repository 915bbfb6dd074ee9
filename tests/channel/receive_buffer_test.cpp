#include "channel/receive_buffer.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "wire/limits.hpp"

using namespace peermq::channel;
namespace limits = peermq::limits;

namespace {

using Bytes = std::vector<std::uint8_t>;

MessageFrame frag(std::uint64_t id, std::uint64_t offset, std::uint64_t total, const Bytes& all,
                  std::size_t len) {
  return MessageFrame{id, offset, total,
                      std::span<const std::uint8_t>(all).subspan(offset, len)};
}

Bytes numbered(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7);
  return b;
}

}  // namespace

TEST_CASE("receive buffer reassembles out-of-order, overlapping fragments and delivers in order") {
  ReceiveBuffer r(1 << 20, 1 << 20, 1 << 20);
  const Bytes m0 = numbered(100), m1 = numbered(30);
  CHECK(r.on_fragment(frag(1, 0, 30, m1, 30)) == ChannelError{});
  CHECK_FALSE(r.pop());  // message 0 first
  CHECK(r.on_fragment(frag(0, 60, 0, m0, 40)) == ChannelError{});
  CHECK(r.on_fragment(frag(0, 50, 0, m0, 30)) == ChannelError{});
  CHECK_FALSE(r.pop());
  CHECK(r.on_fragment(frag(0, 0, 100, m0, 55)) == ChannelError{});
  auto a = r.pop();
  REQUIRE(a);
  CHECK(*a == m0);
  auto b = r.pop();
  REQUIRE(b);
  CHECK(*b == m1);
  // Late copies of delivered messages are ignored.
  CHECK(r.on_fragment(frag(0, 0, 100, m0, 55)) == ChannelError{});
  CHECK_FALSE(r.pop());
  CHECK(r.buffered_bytes() == 0);
}

TEST_CASE("receive buffer delivers zero-length messages") {
  ReceiveBuffer r(1 << 20, 1 << 20, 1 << 20);
  CHECK(r.on_fragment(MessageFrame{0, 0, 0, {}}) == ChannelError{});
  auto m = r.pop();
  REQUIRE(m);
  CHECK(m->empty());
}

TEST_CASE("receive buffer rejects contradicting lengths and data past the credit") {
  ReceiveBuffer r(1000, 1000, 1 << 20);
  const Bytes m = numbered(2000);
  CHECK(r.on_fragment(frag(0, 0, 50, m, 10)) == ChannelError{});
  CHECK(r.on_fragment(frag(0, 0, 60, m, 10)) == ChannelError::fragment_out_of_bounds);
  CHECK(r.on_fragment(frag(0, 40, 0, m, 20)) == ChannelError::fragment_out_of_bounds);
  CHECK(r.on_fragment(frag(5, 100, 0, m, 1000)) == ChannelError::flow_control_violation);
  ReceiveBuffer small(1000, 1000, 100);
  CHECK(small.on_fragment(frag(0, 0, 101, m, 0)) == ChannelError::message_too_large);
}

TEST_CASE("receive buffer gives credit back as the reader takes messages") {
  const std::uint64_t window = 4000;
  ReceiveBuffer r(window, window, 1 << 20);
  CHECK_FALSE(r.max_data_due());
  const Bytes m = numbered(1000);
  // Message 0 is complete and unread; message 1 is partial and not at the head.
  CHECK(r.on_fragment(frag(0, 0, 1000, m, 1000)) == ChannelError{});
  CHECK(r.on_fragment(frag(1, 0, 1000, m, 500)) == ChannelError{});
  // Message 0 is waiting for the reader: no credit back yet, and none for message 1 behind it.
  CHECK(r.max_data() == window);
  CHECK_FALSE(r.max_data_due());
  CHECK(r.on_fragment(frag(1, 500, 0, m, 200)) == ChannelError{});
  CHECK(r.max_data() == window);
  REQUIRE(r.pop());
  // Message 0's credit comes back; message 1 is now the head with nothing left to read, so
  // its 700 bytes so far are credited at once (a message larger than the window must flow).
  CHECK(r.max_data() == window + limits::kMessageCreditOverhead + 1000 + limits::kMessageCreditOverhead + 700);
  CHECK(r.max_data_due());
  r.on_max_data_sent();
  CHECK_FALSE(r.max_data_due());
  r.on_max_data_lost();
  CHECK(r.max_data_due());
}
