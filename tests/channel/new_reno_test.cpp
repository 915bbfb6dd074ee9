#include "channel/new_reno.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace peermq::channel;
using namespace std::chrono_literals;
using peermq::Instant;

namespace {
constexpr std::size_t P = 1000;
const Instant t0 = Instant(1h);
}  // namespace

TEST_CASE("new reno slow start grows the window by the bytes acknowledged") {
  NewReno cc(P);
  CHECK(cc.congestion_window() == 10 * P);
  for (int i = 0; i < 10; ++i) cc.on_packet_sent(P);
  CHECK_FALSE(cc.can_send());
  // The ACK clock: each ack lets two new packets out, so the window stays full.
  for (int i = 0; i < 10; ++i) {
    cc.on_packet_acked(P, t0);
    cc.on_packet_sent(P);
    cc.on_packet_sent(P);
  }
  CHECK(cc.congestion_window() == 20 * P);
  CHECK(cc.bytes_in_flight() == 20 * P);
  CHECK_FALSE(cc.can_send());
}

TEST_CASE("new reno does not grow the window of a sender that leaves it mostly empty") {
  NewReno cc(P);
  for (int i = 0; i < 100; ++i) {
    cc.on_packet_sent(P);  // one packet at a time: an application-limited sender
    cc.on_packet_acked(P, t0);
  }
  CHECK(cc.congestion_window() == 10 * P);
}

TEST_CASE("new reno halves once per recovery period and then grows by a packet per window") {
  NewReno cc(P);
  for (int i = 0; i < 10; ++i) cc.on_packet_sent(P);
  cc.on_packet_removed(P);
  cc.on_congestion_event(t0 + 1ms, t0 + 10ms);
  CHECK(cc.congestion_window() == 5 * P);
  CHECK(cc.slow_start_threshold() == 5 * P);
  // A second loss of a packet sent before the recovery started: no second halving.
  cc.on_packet_removed(P);
  cc.on_congestion_event(t0 + 2ms, t0 + 11ms);
  CHECK(cc.congestion_window() == 5 * P);
  // Acks of packets sent before recovery do not grow the window.
  cc.on_packet_acked(P, t0 + 3ms);
  CHECK(cc.congestion_window() == 5 * P);
  // Congestion avoidance: 5 packets (one window) acked adds one packet.
  for (int i = 0; i < 4; ++i) cc.on_packet_acked(P, t0 + 20ms);
  CHECK(cc.congestion_window() == 5 * P);
  cc.on_packet_acked(P, t0 + 20ms);
  CHECK(cc.congestion_window() == 6 * P);
  // A loss of a packet sent after the recovery started halves again: 6 -> 3.
  cc.on_congestion_event(t0 + 30ms, t0 + 40ms);
  CHECK(cc.congestion_window() == 3 * P);
  // Never below the minimum window of two packets.
  cc.on_congestion_event(t0 + 50ms, t0 + 60ms);
  CHECK(cc.congestion_window() == 2 * P);
  cc.on_congestion_event(t0 + 70ms, t0 + 80ms);
  CHECK(cc.congestion_window() == 2 * P);
}

TEST_CASE("persistent congestion collapses the window to the minimum") {
  NewReno cc(P);
  cc.on_persistent_congestion();
  CHECK(cc.congestion_window() == 2 * P);
  cc.on_packet_sent(P);
  // Recovery is over: the next ack grows the window in slow start below ssthresh.
  cc.on_packet_acked(P, t0);
  CHECK(cc.congestion_window() == 3 * P);
}
