#include "channel/send_buffer.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "wire/limits.hpp"

using namespace peermq::channel;
namespace limits = peermq::limits;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::vector<Chunk> write_packet(SendBuffer& b, std::size_t room = limits::kMaxPacketSize) {
  Bytes out(room);
  PacketWriter w(out);
  std::vector<Chunk> chunks;
  (void)b.write(w, chunks);
  return chunks;
}

}  // namespace

TEST_CASE("send buffer cuts a message into fragments that fit and frees it when all are acked") {
  SendBuffer b(1 << 20, 1 << 20, 1 << 20);
  REQUIRE(b.push(Bytes(3000, 7)));
  const auto p1 = write_packet(b);
  const auto p2 = write_packet(b);
  const auto p3 = write_packet(b);
  REQUIRE(p1.size() == 1);
  REQUIRE(p2.size() == 1);
  REQUIRE(p3.size() == 1);
  CHECK(p1[0].offset == 0);
  CHECK(p2[0].offset == p1[0].length);
  CHECK(p1[0].length + p2[0].length + p3[0].length == 3000);
  CHECK(write_packet(b).empty());
  CHECK(b.credit_used() == 3000 + limits::kMessageCreditOverhead);
  b.on_acked(p1[0]);
  b.on_acked(p3[0]);
  CHECK(b.queued_messages() == 1);
  b.on_acked(p2[0]);
  CHECK(b.queued_messages() == 0);
  CHECK(b.buffered_bytes() == 0);
}

TEST_CASE("send buffer resends only the lost bytes not acknowledged since, ahead of new data") {
  SendBuffer b(1 << 20, 1 << 20, 1 << 20);
  REQUIRE(b.push(Bytes(2000, 1)));
  const auto p1 = write_packet(b);
  // A retransmission of the first fragment's tail was acked through another packet.
  b.on_acked(Chunk{0, 500, 100});
  b.on_lost(p1[0]);
  REQUIRE(b.has_retransmit());
  REQUIRE(b.push(Bytes(10, 2)));
  const auto p2 = write_packet(b);
  REQUIRE(p2.size() >= 2);
  CHECK(p2[0].message_id == 0);
  CHECK(p2[0].offset == 0);
  CHECK(p2[0].length == 500);
  CHECK(p2[1].message_id == 0);
  CHECK(p2[1].offset == 600);
  CHECK(p2[1].length == p1[0].length - 600);
  CHECK_FALSE(b.has_retransmit());
}

TEST_CASE("send buffer stops at the peer's credit and resumes when it grows") {
  SendBuffer b(1 << 20, 1 << 20, 1000);
  REQUIRE(b.push(Bytes(5000, 1)));
  const auto p1 = write_packet(b);
  REQUIRE(p1.size() == 1);
  CHECK(p1[0].length == 1000 - limits::kMessageCreditOverhead);
  CHECK_FALSE(b.has_new());
  CHECK(write_packet(b).empty());
  b.set_peer_max_data(2000);
  const auto p2 = write_packet(b);
  REQUIRE(p2.size() == 1);
  CHECK(p2[0].length == 1000);
  b.set_peer_max_data(500);  // credit never shrinks
  CHECK(b.peer_max_data() == 2000);
}

TEST_CASE("send buffer refuses messages past its limit but takes one large message when empty") {
  SendBuffer b(1000, 5000, 1 << 20);
  CHECK(b.push(Bytes(4000)));  // empty buffer: accepted though over the limit
  CHECK(b.push(Bytes(1)).error() == ChannelError::would_block);
  CHECK(b.push(Bytes(5001)).error() == ChannelError::message_too_large);
}

TEST_CASE("send buffer packs many small and empty messages into one packet") {
  SendBuffer b(1 << 20, 1 << 20, 1 << 20);
  for (int i = 0; i < 50; ++i) REQUIRE(b.push(Bytes(i % 2 == 0 ? 0 : 8, 3)));
  const auto p = write_packet(b);
  CHECK(p.size() == 50);
  for (const Chunk& c : p) b.on_acked(c);
  CHECK(b.queued_messages() == 0);
}
