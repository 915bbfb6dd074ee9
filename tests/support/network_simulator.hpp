// NetworkSimulator: a seeded, virtual-time datagram network for protocol cores.
//
// Endpoints are protocol state machines behind a small interface (no I/O). Each directed
// pair of endpoints has a Link {delay, jitter, loss, reorder, duplicate, bandwidth, queue
// limit}. The simulator jumps virtual time to the next event (a datagram arrival or an
// endpoint's deadline), so an hour of protocol time runs in moments; every run is bounded by
// a maximum virtual time and a maximum number of steps. Same seed, same run.
//
//   NetworkSimulator sim(seed);
//   auto a = sim.add(alice); auto b = sim.add(bob);
//   sim.link(a, b) = {.delay = 10ms, .loss = 0.3};
//   sim.run_until([&] { return done(); }, 1h);
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include <peermq/clock.hpp>

#include "support/manual_clock.hpp"

namespace peermq::test {

using EndpointId = std::size_t;

// What the simulator drives. poll_datagram() fills `out`, sets `to`, and returns the size;
// 0 when the endpoint has nothing to send now.
class SimEndpoint {
 public:
  virtual ~SimEndpoint() = default;
  virtual void on_datagram(EndpointId from, std::span<const std::uint8_t> data, Instant now) = 0;
  virtual std::size_t poll_datagram(EndpointId& to, std::span<std::uint8_t> out, Instant now) = 0;
  virtual Instant next_deadline() const = 0;
  virtual void on_timeout(Instant now) = 0;
};

struct Link {
  Duration delay = std::chrono::milliseconds(10);
  Duration jitter{};               // uniform extra delay in [0, jitter]
  double loss = 0;                 // probability a datagram vanishes
  double reorder = 0;              // probability a datagram is held back by reorder_delay
  Duration reorder_delay = std::chrono::milliseconds(5);  // max extra delay when reordered
  double duplicate = 0;            // probability a datagram arrives twice
  std::uint64_t bandwidth = 0;     // bytes per second; 0 means unlimited
  std::size_t queue_limit = 0;     // datagrams waiting for the wire; 0 means unlimited
};

struct LinkStats {
  std::uint64_t sent = 0, delivered = 0, lost = 0, reordered = 0, duplicated = 0,
                queue_dropped = 0, bytes = 0;
};

class NetworkSimulator {
 public:
  enum class Outcome { done, time_limit, step_limit, idle };

  explicit NetworkSimulator(std::uint64_t seed, Instant start = ManualClock::kDefaultStart)
      : rng_(seed), now_(start) {}

  // The endpoint must outlive the simulator's runs.
  EndpointId add(SimEndpoint& e) {
    endpoints_.push_back(&e);
    return endpoints_.size() - 1;
  }
  Link& link(EndpointId from, EndpointId to) { return links_[{from, to}].config; }
  const LinkStats& link_stats(EndpointId from, EndpointId to) { return links_[{from, to}].stats; }
  Instant now() const noexcept { return now_; }
  std::uint64_t steps() const noexcept { return steps_; }

  // Runs until done() holds, virtual time passes `max_time` from now, `max_steps` events
  // were handled, or nothing is left to happen.
  Outcome run_until(const std::function<bool()>& done, Duration max_time,
                    std::uint64_t max_steps = 100'000'000) {
    const Instant stop = now_ + max_time;
    const std::uint64_t step_stop = steps_ + max_steps;
    drain_all();
    while (!done()) {
      if (steps_ >= step_stop) return Outcome::step_limit;
      const Instant next = next_event();
      if (next == Instant::max()) return Outcome::idle;
      if (next > stop) {
        now_ = stop;
        return Outcome::time_limit;
      }
      now_ = std::max(now_, next);
      step();
    }
    return Outcome::done;
  }

 private:
  struct LinkState {
    Link config;
    LinkStats stats;
    Instant busy_until{};
    std::deque<Instant> departures;  // departure times of datagrams still queued
  };
  struct InFlight {
    Instant arrival;
    std::uint64_t seq;
    EndpointId from, to;
    std::vector<std::uint8_t> data;
    bool operator>(const InFlight& o) const {
      return arrival != o.arrival ? arrival > o.arrival : seq > o.seq;
    }
  };

  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  Duration uniform(Duration max) {
    if (max <= Duration::zero()) return Duration::zero();
    return Duration(std::uniform_int_distribution<Duration::rep>(0, max.count())(rng_));
  }

  Instant next_event() const {
    Instant t = arrivals_.empty() ? Instant::max() : arrivals_.top().arrival;
    for (const SimEndpoint* e : endpoints_) t = std::min(t, e->next_deadline());
    return t;
  }

  void step() {
    ++steps_;
    while (!arrivals_.empty() && arrivals_.top().arrival <= now_) {
      // priority_queue::top is const: copy the handle out, then pop.
      InFlight f = std::move(const_cast<InFlight&>(arrivals_.top()));  // NOLINT
      arrivals_.pop();
      endpoints_[f.to]->on_datagram(f.from, f.data, now_);
    }
    for (SimEndpoint* e : endpoints_) {
      if (e->next_deadline() <= now_) e->on_timeout(now_);
    }
    drain_all();
  }

  void drain_all() {
    for (EndpointId id = 0; id < endpoints_.size(); ++id) {
      EndpointId to = 0;
      while (std::size_t n = endpoints_[id]->poll_datagram(to, buffer_, now_)) {
        transmit(id, to, std::span<const std::uint8_t>(buffer_.data(), n));
      }
    }
  }

  void transmit(EndpointId from, EndpointId to, std::span<const std::uint8_t> data) {
    LinkState& l = links_[{from, to}];
    ++l.stats.sent;
    l.stats.bytes += data.size();
    Instant depart = now_;
    if (l.config.bandwidth > 0) {
      while (!l.departures.empty() && l.departures.front() <= now_) l.departures.pop_front();
      if (l.config.queue_limit > 0 && l.departures.size() >= l.config.queue_limit) {
        ++l.stats.queue_dropped;
        return;
      }
      const auto wire = Duration(static_cast<Duration::rep>(
          data.size() * 1'000'000'000ull / l.config.bandwidth));
      depart = std::max(now_, l.busy_until) + wire;
      l.busy_until = depart;
      l.departures.push_back(depart);
    }
    if (chance(l.config.loss)) {
      ++l.stats.lost;
      return;
    }
    const int copies = chance(l.config.duplicate) ? 2 : 1;
    if (copies == 2) ++l.stats.duplicated;
    for (int i = 0; i < copies; ++i) {
      Instant arrival = depart + l.config.delay + uniform(l.config.jitter);
      if (chance(l.config.reorder)) {
        ++l.stats.reordered;
        arrival += uniform(l.config.reorder_delay);
      }
      ++l.stats.delivered;
      arrivals_.push(InFlight{arrival, seq_++, from, to, {data.begin(), data.end()}});
    }
  }

  std::mt19937_64 rng_;
  Instant now_;
  std::uint64_t steps_ = 0;
  std::uint64_t seq_ = 0;
  std::vector<SimEndpoint*> endpoints_;
  std::map<std::pair<EndpointId, EndpointId>, LinkState> links_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> arrivals_;
  std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(65536);
};

}  // namespace peermq::test
