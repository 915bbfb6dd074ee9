#include "channel/ack_tracker.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "wire/limits.hpp"

using namespace peermq::channel;
namespace limits = peermq::limits;
using namespace std::chrono_literals;
using peermq::Instant;

namespace {
const Instant t0 = Instant(1h);
}

TEST_CASE("ack tracker acks every second ack-eliciting packet at once") {
  AckTracker t;
  CHECK(t.deadline() == Instant::max());
  CHECK(t.on_packet(0, true, t0));
  CHECK_FALSE(t.ack_due(t0));
  CHECK(t.deadline() == t0 + limits::kMaxAckDelay);
  CHECK_FALSE(t.ack_due(t0 + limits::kMaxAckDelay - 1us));
  CHECK(t.ack_due(t0 + limits::kMaxAckDelay));
  CHECK(t.on_packet(1, true, t0 + 1ms));
  CHECK(t.ack_due(t0 + 1ms));
  AckFrame a;
  t.fill(a, t0 + 3ms);
  CHECK(a.range_count == 1);
  CHECK(a.ranges[0].smallest == 0);
  CHECK(a.ranges[0].largest == 1);
  CHECK(a.ack_delay_us == 2000);
  t.on_ack_sent();
  CHECK_FALSE(t.ack_due(t0 + 1h));
}

TEST_CASE("ack tracker acks a lone PING at once, and nothing when nothing asked for one") {
  AckTracker t;
  t.ack_now(t0);  // nothing ack-eliciting arrived: no ACK is owed
  CHECK_FALSE(t.ack_due(t0));
  CHECK(t.deadline() == Instant::max());
  CHECK(t.on_packet(0, false, t0));  // an ACK-only packet
  t.ack_now(t0);
  CHECK_FALSE(t.ack_due(t0));
  CHECK(t.on_packet(1, true, t0 + 1ms));  // a PING
  t.ack_now(t0 + 1ms);
  CHECK(t.ack_due(t0 + 1ms));
  CHECK(t.deadline() == t0 + 1ms);
  t.on_ack_sent();
  CHECK_FALSE(t.ack_due(t0 + 1h));
  CHECK(t.deadline() == Instant::max());
}

TEST_CASE("ack tracker drops duplicates and acks out-of-order arrivals at once") {
  AckTracker t;
  CHECK(t.on_packet(0, true, t0));
  CHECK_FALSE(t.on_packet(0, true, t0));
  t.on_ack_sent();
  CHECK(t.on_packet(3, true, t0));  // opens a gap
  CHECK(t.ack_due(t0));
  t.on_ack_sent();
  CHECK(t.on_packet(2, true, t0));  // fills part of it
  CHECK(t.ack_due(t0));
  CHECK(t.on_packet(1, false, t0));  // an ACK-only packet: recorded, no ack owed for it
  AckFrame a;
  t.fill(a, t0);
  CHECK(a.range_count == 1);
  CHECK(a.ranges[0].smallest == 0);
  CHECK(a.ranges[0].largest == 3);
  CHECK_FALSE(t.on_packet(2, true, t0));
}

TEST_CASE("ack tracker keeps a bounded number of ranges and forgets the oldest") {
  AckTracker t;
  for (std::uint64_t i = 0; i < 100; ++i) CHECK(t.on_packet(2 * i, true, t0));
  AckFrame a;
  t.fill(a, t0);
  CHECK(a.range_count == peermq::limits::kMaxAckRanges);
  CHECK(a.ranges[0].largest == 198);
  // Packets below the oldest kept range count as already seen.
  CHECK_FALSE(t.on_packet(1, true, t0));
  CHECK(t.on_packet(197, true, t0));
}
