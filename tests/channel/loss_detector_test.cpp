#include "channel/loss_detector.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "wire/limits.hpp"

using namespace peermq::channel;
using namespace std::chrono_literals;
using peermq::Duration;
using peermq::Instant;
namespace limits = peermq::limits;

namespace {

const Instant t0 = Instant(1h);

void send(LossDetector& d, std::uint64_t pn, Instant at) {
  SentPacket p;
  p.pn = pn;
  p.time_sent = at;
  p.bytes = 1000;
  d.on_packet_sent(std::move(p));
}

AckFrame ack(std::uint64_t smallest, std::uint64_t largest) {
  AckFrame a;
  a.range_count = 1;
  a.ranges[0] = {smallest, largest};
  return a;
}

}  // namespace

TEST_CASE("a packet is lost once three later packets are acknowledged") {
  LossDetector d;
  RttEstimator rtt;
  LossOutcome out;
  for (std::uint64_t pn = 0; pn < 5; ++pn) send(d, pn, t0 + std::chrono::milliseconds(pn));
  // Packets 2 and 3 acked: 3 >= 0 + 3, so packet 0 is lost; packet 1 is only two behind
  // and younger than the time threshold (9/8 * 27 ms = 30.375 ms).
  d.on_ack(ack(2, 3), t0 + 30ms, rtt, out);
  CHECK(out.acked.size() == 2);
  REQUIRE(out.lost.size() == 1);
  CHECK(out.lost[0].pn == 0);
  CHECK(rtt.latest_rtt() == 27ms);
  // The loss timer is armed at packet 1's time threshold.
  CHECK(d.deadline(rtt) == t0 + 1ms + 30375us);
  // Packet 4 acked: 4 >= 1 + 3, packet 1 is now lost by count.
  d.on_ack(ack(4, 4), t0 + 31ms, rtt, out);
  REQUIRE(out.lost.size() == 1);
  CHECK(out.lost[0].pn == 1);
  CHECK(d.outstanding() == 0);
}

TEST_CASE("the loss timer declares a packet lost by the time threshold") {
  LossDetector d;
  RttEstimator rtt;
  LossOutcome out;
  send(d, 0, t0);
  send(d, 1, t0 + 1ms);
  d.on_ack(ack(1, 1), t0 + 21ms, rtt, out);  // RTT 20 ms; packet 0 only one behind
  CHECK(out.lost.empty());
  const Instant deadline = d.deadline(rtt);
  CHECK(deadline == t0 + 22500us);  // 9/8 * 20 ms after it was sent
  CHECK_FALSE(d.on_timeout(deadline - 1us, rtt, out));
  CHECK(out.lost.empty());
  CHECK_FALSE(d.on_timeout(deadline, rtt, out));
  REQUIRE(out.lost.size() == 1);
  CHECK(out.lost[0].pn == 0);
  CHECK(d.deadline(rtt) == Instant::max());
}

TEST_CASE("the probe timeout doubles with each unanswered probe and resets on an ack") {
  LossDetector d;
  RttEstimator rtt;
  LossOutcome out;
  send(d, 0, t0);
  d.on_ack(ack(0, 0), t0 + 10ms, rtt, out);  // srtt 10, rttvar 5
  const Duration pto = 10ms + 4 * 5ms + Duration(limits::kMaxAckDelay);
  send(d, 1, t0 + 20ms);
  CHECK(d.deadline(rtt) == t0 + 20ms + pto);
  CHECK(d.on_timeout(t0 + 20ms + pto, rtt, out));
  CHECK(d.pto_count() == 1);
  CHECK(d.deadline(rtt) == t0 + 20ms + 2 * pto);
  CHECK(d.on_timeout(t0 + 20ms + 2 * pto, rtt, out));
  CHECK(d.deadline(rtt) == t0 + 20ms + 4 * pto);
  send(d, 2, t0 + 200ms);
  CHECK(d.deadline(rtt) == t0 + 200ms + 4 * pto);
  d.on_ack(ack(2, 2), t0 + 210ms, rtt, out);
  CHECK(d.pto_count() == 0);
}

TEST_CASE("the probe timeout stops doubling at max_probe_timeout, or at the PTO if longer") {
  const Duration cap = limits::kMaxProbeTimeout;
  // A short PTO doubles up to the cap and stays there, however many probes went unanswered.
  CHECK(LossDetector::pto_interval(10ms, 0) == 10ms);
  CHECK(LossDetector::pto_interval(10ms, 3) == 80ms);
  CHECK(LossDetector::pto_interval(10ms, 100) == cap);
  CHECK(LossDetector::pto_interval(10ms, ~0u) == cap);
  // A path slower than the cap gets its plain PTO, never less, but no backoff either.
  CHECK(LossDetector::pto_interval(3 * cap, 0) == 3 * cap);
  CHECK(LossDetector::pto_interval(3 * cap, 5) == 3 * cap);

  // Driven through the detector: after a dozen unanswered probes the next still comes
  // within the cap of the last packet sent.
  LossDetector d;
  RttEstimator rtt;
  LossOutcome out;
  send(d, 0, t0);
  d.on_ack(ack(0, 0), t0 + 10ms, rtt, out);
  send(d, 1, t0 + 20ms);
  Instant now = t0 + 20ms;
  for (int i = 0; i < 12; ++i) {
    now = d.deadline(rtt);
    CHECK(d.on_timeout(now, rtt, out));
  }
  CHECK(d.pto_count() == 12);
  CHECK(d.deadline(rtt) == t0 + 20ms + cap);
}

TEST_CASE("losses spanning three PTOs with nothing acked between are persistent congestion") {
  LossDetector d;
  RttEstimator rtt;
  LossOutcome out;
  send(d, 0, t0);
  d.on_ack(ack(0, 0), t0 + 10ms, rtt, out);  // srtt 10, rttvar 5: pto base 55 ms
  for (std::uint64_t pn = 1; pn <= 10; ++pn) {
    send(d, pn, t0 + 20ms + std::chrono::milliseconds(20 * pn));
  }
  send(d, 11, t0 + 400ms);
  d.on_ack(ack(11, 11), t0 + 410ms, rtt, out);
  CHECK(out.lost.size() == 10);
  CHECK(out.persistent_congestion);  // 40..220 ms spans 180 > 3 * 55 ms
}

TEST_CASE("an acknowledged packet in the middle of the losses is not persistent congestion") {
  LossDetector d;
  RttEstimator rtt;
  LossOutcome out;
  send(d, 0, t0);
  d.on_ack(ack(0, 0), t0 + 10ms, rtt, out);
  for (std::uint64_t pn = 1; pn <= 10; ++pn) {
    send(d, pn, t0 + 20ms + std::chrono::milliseconds(20 * pn));
  }
  AckFrame a;
  a.range_count = 2;
  a.ranges[0] = {10, 10};
  a.ranges[1] = {5, 5};
  d.on_ack(a, t0 + 300ms, rtt, out);
  CHECK(out.lost.size() == 8);
  CHECK_FALSE(out.persistent_congestion);
}

TEST_CASE("an absurd ack delay from the peer is capped, not overflowed") {
  LossDetector d;
  RttEstimator rtt;
  LossOutcome out;
  send(d, 0, t0);
  send(d, 1, t0 + 1ms);
  d.on_ack(ack(0, 0), t0 + 100ms, rtt, out);
  AckFrame a = ack(1, 1);
  a.ack_delay_us = (std::uint64_t{1} << 62) - 1;
  d.on_ack(a, t0 + 201ms, rtt, out);
  // 200 ms sample minus at most max_ack_delay (5 ms): srtt = (7 * 100 + 195) / 8.
  CHECK(rtt.smoothed_rtt() == 111875us);
}
