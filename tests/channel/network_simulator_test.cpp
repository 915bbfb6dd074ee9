#include "support/manual_clock.hpp"
#include "support/network_simulator.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

using namespace peermq;
using namespace peermq::test;
using namespace std::chrono_literals;

namespace {

// Sends `count` datagrams of `size` bytes to `to` at start, numbered in their first byte
// pair, and records what it receives and when.
class Blaster final : public SimEndpoint {
 public:
  Blaster(EndpointId to_id, std::size_t count, std::size_t size)
      : to_(to_id), left_(count), size_(size) {}
  void on_datagram(EndpointId, std::span<const std::uint8_t> d, Instant now) override {
    received.push_back(std::uint16_t(d[0] | (d[1] << 8)));
    last_arrival = now;
  }
  std::size_t poll_datagram(EndpointId& to, std::span<std::uint8_t> out, Instant) override {
    if (left_ == 0) return 0;
    --left_;
    to = to_;
    out[0] = static_cast<std::uint8_t>(next_);
    out[1] = static_cast<std::uint8_t>(next_ >> 8);
    ++next_;
    return size_;
  }
  Instant next_deadline() const override { return Instant::max(); }
  void on_timeout(Instant) override {}

  std::vector<std::uint16_t> received;
  Instant last_arrival{};

 private:
  EndpointId to_;
  std::size_t left_;
  std::size_t size_;
  std::uint16_t next_ = 0;
};

// Wakes up every `period` and counts the wake-ups.
class Ticker final : public SimEndpoint {
 public:
  explicit Ticker(Duration p) : period_(p) {}
  void on_datagram(EndpointId, std::span<const std::uint8_t>, Instant) override {}
  std::size_t poll_datagram(EndpointId&, std::span<std::uint8_t>, Instant) override { return 0; }
  Instant next_deadline() const override { return next_; }
  void on_timeout(Instant now) override {
    ++ticks;
    next_ = now + period_;
  }
  std::uint64_t ticks = 0;

 private:
  Duration period_;
  Instant next_ = ManualClock::kDefaultStart;
};

struct Run {
  std::vector<std::uint16_t> received;
  LinkStats stats;
  Instant last{};
};

Run blast(std::uint64_t seed, const Link& l, std::size_t count, std::size_t size = 100) {
  NetworkSimulator sim(seed);
  Blaster sink(0, 0, size);
  const EndpointId s = sim.add(sink);
  Blaster src(s, count, size);
  const EndpointId a = sim.add(src);
  sim.link(a, s) = l;
  CHECK(sim.run_until([] { return false; }, 1h) == NetworkSimulator::Outcome::idle);
  return {sink.received, sim.link_stats(a, s), sink.last_arrival};
}

}  // namespace

TEST_CASE("the simulator is deterministic for a seed and varies between seeds") {
  Link l;
  l.loss = 0.3;
  l.reorder = 0.2;
  l.duplicate = 0.1;
  l.jitter = 3ms;
  const Run r1 = blast(11, l, 1000), r2 = blast(11, l, 1000), r3 = blast(12, l, 1000);
  CHECK(r1.received == r2.received);
  CHECK(r1.received != r3.received);
}

TEST_CASE("the simulator loses, duplicates and reorders at about the configured rates") {
  Link l;
  l.loss = 0.3;
  l.duplicate = 0.1;
  l.reorder = 0.2;
  l.reorder_delay = 50ms;
  const Run r = blast(5, l, 10000);
  CHECK(r.stats.sent == 10000);
  CHECK(r.stats.lost > 2700);
  CHECK(r.stats.lost < 3300);
  CHECK(r.stats.duplicated > 550);
  CHECK(r.stats.duplicated < 850);
  CHECK(r.received.size() == r.stats.delivered);
  CHECK_FALSE(std::is_sorted(r.received.begin(), r.received.end()));
  const Run clean = blast(5, Link{}, 1000);
  CHECK(clean.received.size() == 1000);
  CHECK(std::is_sorted(clean.received.begin(), clean.received.end()));
}

TEST_CASE("the simulator serialises datagrams at the link's bandwidth and drops past its queue") {
  Link l;
  l.delay = 10ms;
  l.bandwidth = 1'000'000;  // 1000-byte datagrams take 1 ms each
  const Run r = blast(1, l, 100, 1000);
  CHECK(r.received.size() == 100);
  CHECK(r.last == ManualClock::kDefaultStart + 110ms);
  l.queue_limit = 20;
  const Run q = blast(1, l, 100, 1000);
  CHECK(q.received.size() == 20);
  CHECK(q.stats.queue_dropped == 80);
}

TEST_CASE("the simulator runs an hour of timers instantly and stops at its limits") {
  NetworkSimulator sim(1);
  Ticker t(10ms);
  sim.add(t);
  const auto wall = std::chrono::steady_clock::now();
  CHECK(sim.run_until([] { return false; }, 1h) == NetworkSimulator::Outcome::time_limit);
  CHECK(std::chrono::steady_clock::now() - wall < 10s);
  CHECK(t.ticks == 360001);
  CHECK(sim.now() == ManualClock::kDefaultStart + 1h);
  CHECK(sim.run_until([] { return false; }, 1h, 50) == NetworkSimulator::Outcome::step_limit);
  CHECK(t.ticks == 360051);
  CHECK(sim.run_until([&] { return t.ticks >= 360060; }, 1h) == NetworkSimulator::Outcome::done);
}
