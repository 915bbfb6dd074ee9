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
  // PTO = 333 + 4 * 166.5 + 25 = 1024 ms
  CHECK(r.pto_base() == 1024ms);
}

TEST_CASE("rtt estimator follows the RFC 9002 smoothing by hand") {
  RttEstimator r;
  r.on_sample(100ms, 0ms);
  CHECK(r.smoothed_rtt() == 100ms);
  CHECK(r.rttvar() == 50ms);
  CHECK(r.min_rtt() == 100ms);
  // 200 ms with 20 ms ack delay: adjusted 180; rttvar = (3*50 + 80)/4 = 57.5;
  // srtt = (7*100 + 180)/8 = 110.
  r.on_sample(200ms, 20ms);
  CHECK(r.smoothed_rtt() == 110ms);
  CHECK(r.rttvar() == 57500us);
  CHECK(r.latest_rtt() == 200ms);
  // 80 ms: new minimum; ack delay 30 is capped at 25 but 80 < 80 + 25, so not subtracted.
  // rttvar = (3*57.5 + 30)/4 = 50.625; srtt = (7*110 + 80)/8 = 106.25.
  r.on_sample(80ms, 30ms);
  CHECK(r.min_rtt() == 80ms);
  CHECK(r.smoothed_rtt() == 106250us);
  CHECK(r.rttvar() == 50625us);
  // PTO base = 106.25 + 4 * 50.625 + 25 = 333.75 ms.
  CHECK(r.pto_base() == 333750us);
  // Loss delay: 9/8 * max(106.25, 80) = 119.53125 ms.
  CHECK(r.loss_delay() == Duration(119531250));
}

TEST_CASE("ack delay larger than max_ack_delay is capped") {
  RttEstimator r;
  r.on_sample(10ms, 0ms);
  r.on_sample(200ms, 100ms);  // only 25 ms of the claimed 100 are subtracted: 175
  // srtt = (70 + 175) / 8 = 30.625
  CHECK(r.smoothed_rtt() == 30625us);
}
