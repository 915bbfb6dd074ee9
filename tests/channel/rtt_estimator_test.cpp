#include "channel/rtt_estimator.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace peermq::channel;
using namespace std::chrono_literals;
using peermq::Duration;

TEST_CASE("before any sample the estimate is the initial RTT") {
  RttEstimator r;
  CHECK_FALSE(r.has_sample());
  CHECK(r.smoothed_rtt() == 333ms);
  CHECK(r.rttvar() == Duration(333ms) / 2);
  // PTO = 333 + 4 * 166.5 + 5 = 1004 ms
  CHECK(r.pto_base() == 1004ms);
}

TEST_CASE("rtt estimator follows the RFC 9002 smoothing by hand") {
  RttEstimator r;
  r.on_sample(100ms, 0ms);
  CHECK(r.smoothed_rtt() == 100ms);
  CHECK(r.rttvar() == 50ms);
  CHECK(r.min_rtt() == 100ms);
  // 200 ms with 4 ms ack delay: adjusted 196; rttvar = (3*50 + 96)/4 = 61.5;
  // srtt = (7*100 + 196)/8 = 112.
  r.on_sample(200ms, 4ms);
  CHECK(r.smoothed_rtt() == 112ms);
  CHECK(r.rttvar() == 61500us);
  CHECK(r.latest_rtt() == 200ms);
  // 80 ms: new minimum; ack delay 30 is capped at 5 but 80 < 80 + 5, so not subtracted.
  // rttvar = (3*61.5 + 32)/4 = 54.125; srtt = (7*112 + 80)/8 = 108.
  r.on_sample(80ms, 30ms);
  CHECK(r.min_rtt() == 80ms);
  CHECK(r.smoothed_rtt() == 108ms);
  CHECK(r.rttvar() == 54125us);
  // PTO base = 108 + 4 * 54.125 + 5 = 329.5 ms.
  CHECK(r.pto_base() == 329500us);
  // Loss delay: 9/8 * max(108, 80) = 121.5 ms.
  CHECK(r.loss_delay() == 121500us);
}

TEST_CASE("ack delay larger than max_ack_delay is capped") {
  RttEstimator r;
  r.on_sample(10ms, 0ms);
  r.on_sample(200ms, 100ms);  // only 5 ms (max_ack_delay) of the claimed 100 count: 195
  // srtt = (70 + 195) / 8 = 33.125
  CHECK(r.smoothed_rtt() == 33125us);
}
