#include "channel/pacer.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace peermq::channel;
using namespace std::chrono_literals;
using peermq::Instant;

TEST_CASE("pacer allows a burst, then spreads packets at 5/4 of cwnd per RTT") {
  constexpr std::size_t P = 1000;
  Pacer p(P);
  const Instant t0 = Instant(1h);
  // cwnd 100 packets per 100 ms: 1.25 packets per ms at 5/4 gain.
  p.update(t0, 100 * P, 100ms);
  int burst = 0;
  while (p.can_send()) {
    p.on_sent(P);
    ++burst;
  }
  CHECK(burst == 10);
  // Empty bucket: the next packet's worth arrives after 1 / 1.25 ms = 800 us.
  CHECK(p.next_send_time() == t0 + 800us);
  p.update(t0 + 799us, 100 * P, 100ms);
  CHECK_FALSE(p.can_send());
  p.update(t0 + 800us, 100 * P, 100ms);
  CHECK(p.can_send());
}

TEST_CASE("pacer burst never falls below two packets with a tiny window") {
  constexpr std::size_t P = 1000;
  Pacer p(P);
  const Instant t0 = Instant(1h);
  p.update(t0, 2 * P, 100ms);
  p.update(t0 + 10s, 2 * P, 100ms);
  int burst = 0;
  while (p.can_send()) {
    p.on_sent(P);
    ++burst;
  }
  CHECK(burst == 2);
}

TEST_CASE("pacer burst grows to one timer tick's worth at high rates, within the window") {
  constexpr std::size_t P = 1000;
  Pacer p(P);
  const Instant t0 = Instant(1h);
  // 1,000 packets per 100 us at 5/4 gain: 12,500 packets per ms, but the window is 1,000.
  p.update(t0, 1000 * P, 100us);
  p.update(t0 + 10ms, 1000 * P, 100us);
  int burst = 0;
  while (p.can_send() && burst < 5000) {
    p.on_sent(P);
    ++burst;
  }
  CHECK(burst == 1000);
  // 400 packets per 10 ms: 50 packets per ms, so a tick's burst is 50 packets.
  Pacer q(P);
  q.update(t0, 400 * P, 10ms);
  q.update(t0 + 1s, 400 * P, 10ms);
  burst = 0;
  while (q.can_send() && burst < 5000) {
    q.on_sent(P);
    ++burst;
  }
  CHECK(burst == 50);
}
