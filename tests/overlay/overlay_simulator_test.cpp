// Scenarios for the overlay cores on the virtual-time network of overlay_simulator.hpp:
// relays, lookups, hole punching, failover, restarts, NATs.
#include "overlay_simulator.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace peermq;
using namespace peermq::overlay;
using namespace peermq::overlay::test;
using namespace std::chrono_literals;
using Reason = PathEvent::Reason;

namespace {

constexpr Duration kStream = 50ms;

bool registered_everywhere(const SimNode& n) {
  for (std::size_t i = 0; i < n.client.relay_count(); ++i) {
    if (n.client.status(i) != RelayClient::Status::registered) return false;
  }
  return true;
}

Route::Kind kind_toward(SimNode& n, const SimNode& peer) {
  return n.has_path(peer.key) ? n.path(peer.key).route().kind : Route::Kind::none;
}

bool direct_both_ways(SimNode& a, SimNode& b) {
  return kind_toward(a, b) == Route::Kind::direct && kind_toward(b, a) == Route::Kind::direct;
}

std::size_t count_reason(const SimNode& n, Reason r) {
  return static_cast<std::size_t>(std::count_if(
      n.path_log.begin(), n.path_log.end(), [&](const auto& e) { return e.second.reason == r; }));
}

std::size_t count_client(const SimNode& n, RelayClientEvent::Kind k) {
  return static_cast<std::size_t>(std::count_if(n.client_log.begin(), n.client_log.end(),
                                                [&](const auto& e) { return e.kind == k; }));
}

// Deliveries at or after `t`.
std::vector<Delivery> since(const SimNode& n, Instant t) {
  std::vector<Delivery> out;
  for (const Delivery& d : n.received) {
    if (d.at >= t) out.push_back(d);
  }
  return out;
}

// Two sites behind NATs of the given kinds, one relay, nodes A (site 0) and B (site 1)
// registered with it.
struct TwoSites {
  explicit TwoSites(Nat a_nat = Nat::cone, Nat b_nat = Nat::cone,
                    const RelayServerConfig& relay_config = {})
      : relay(sim.add_relay(1, relay_config)),
        a(sim.add_node(10, sim.add_nat(a_nat, 10), {&relay})),
        b(sim.add_node(20, sim.add_nat(b_nat, 20), {&relay})) {
    REQUIRE(
        sim.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 1s));
  }
  // A dials B and streams to it every kStream.
  void dial_and_stream() {
    a.dial(b.key, sim.now());
    a.stream_to(b.key, kStream, sim.now());
  }

  OverlaySimulator sim;
  SimRelay& relay;
  SimNode& a;
  SimNode& b;
};

}  // namespace

TEST_CASE("nodes behind cone NATs meet through a relay and move to a punched direct path") {
  TwoSites t;
  const Instant start = t.sim.now();
  t.dial_and_stream();
  REQUIRE(t.sim.run_until([&] { return direct_both_ways(t.a, t.b); }, 5s));
  const Duration took = t.sim.now() - start;
  CHECK(took < 500ms);  // a lookup, a punch request and a few probes' round trips
  t.sim.run_for(2s);
  // Traffic went through the relay at once, then straight.
  REQUIRE(!t.b.received.empty());
  CHECK(t.b.received.front().relayed);
  CHECK(t.b.received.front().relay == t.relay.key);
  CHECK_FALSE(t.b.received.back().relayed);
  CHECK(t.a.unsent <= 1);  // at most the packet due before the lookup answer came back
  // Each step was logged: relay found, then direct confirmed with an RTT.
  REQUIRE(t.a.path_log.size() >= 2);
  CHECK(t.a.path_log[0].second.reason == Reason::relay_found);
  CHECK(t.a.path_log[1].second.reason == Reason::direct_confirmed);
  REQUIRE(t.a.path_log[1].second.rtt.has_value());
  CHECK(*t.a.path_log[1].second.rtt == 2 * OverlaySimulator::kWanDelay);
  // The direct endpoint is B's NAT's public mapping.
  CHECK(t.a.path(t.b.key).route().endpoint.with_port(0) == Endpoint::v4({198, 51, 100, 20}, 0));
  CHECK(t.relay.server->stats().punches >= 1);
}

TEST_CASE("an overlay scenario replays identically") {
  const auto run = [] {
    TwoSites t;
    t.dial_and_stream();
    t.sim.run_for(3s);
    std::vector<int> reasons;
    for (const auto& [peer, e] : t.a.path_log) reasons.push_back(static_cast<int>(e.reason));
    std::vector<std::pair<std::uint64_t, Instant>> arrivals;
    for (const Delivery& d : t.b.received) arrivals.emplace_back(d.seq, d.at);
    return std::make_tuple(reasons, arrivals, t.sim.stats().delivered);
  };
  CHECK(run() == run());
}

TEST_CASE("lookup of an unknown address fails with not_found and sends nothing") {
  TwoSites t;
  const PublicKey nobody = key(0x99);
  t.a.dial(nobody, t.sim.now());
  REQUIRE(t.sim.run_until(
      [&] { return count_client(t.a, RelayClientEvent::Kind::lookup_failed) > 0; }, 1s));
  const auto& failed =
      *std::find_if(t.a.client_log.begin(), t.a.client_log.end(),
                    [](const auto& e) { return e.kind == RelayClientEvent::Kind::lookup_failed; });
  CHECK(failed.peer == nobody);
  CHECK(failed.error == OverlayError::not_found);
  CHECK(t.a.path(nobody).route().kind == Route::Kind::none);
  CHECK(t.relay.server->stats().lookup_misses == 1);
}

TEST_CASE("a peer that never answers punches stays relayed, with no error") {
  TwoSites t;
  t.b.punching_disabled = true;
  t.dial_and_stream();
  t.sim.run_for(75s);  // the first round, and its retry 30 s later; the next waits 60 s
  t.a.stop_stream();
  t.sim.run_for(1s);  // the last packets land
  CHECK(kind_toward(t.a, t.b) == Route::Kind::relayed);
  CHECK(kind_toward(t.b, t.a) == Route::Kind::relayed);
  CHECK(count_reason(t.a, Reason::punch_failed) == 2);
  CHECK(count_reason(t.a, Reason::direct_confirmed) == 0);
  CHECK(t.a.path(t.b.key).stats().rounds == 2);
  // Every packet sent once the route was known arrived, all through the relay.
  CHECK(t.b.received.size() + t.a.unsent == t.a.sent);
  CHECK(std::all_of(t.b.received.begin(), t.b.received.end(),
                    [](const Delivery& d) { return d.relayed; }));
}

TEST_CASE("behind symmetric NATs probes never arrive and both sides stay relayed") {
  TwoSites t(Nat::symmetric, Nat::symmetric);
  t.dial_and_stream();
  t.sim.run_for(15s);
  t.a.stop_stream();
  t.sim.run_for(1s);
  CHECK(kind_toward(t.a, t.b) == Route::Kind::relayed);
  CHECK(kind_toward(t.b, t.a) == Route::Kind::relayed);
  CHECK(t.sim.stats().filtered > 0);  // the probes died at the NATs
  CHECK(count_reason(t.a, Reason::punch_failed) == 1);
  CHECK(t.b.received.size() + t.a.unsent == t.a.sent);
}

TEST_CASE("a symmetric NAT facing a public node still gets a direct path (peer-reflexive)") {
  OverlaySimulator sim;
  SimRelay& relay = sim.add_relay(1);
  SimNode& a = sim.add_node(10, sim.add_nat(Nat::symmetric, 10), {&relay});
  SimNode& b = sim.add_node(20, -1, {&relay});
  REQUIRE(sim.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 1s));
  a.dial(b.key, sim.now());
  a.stream_to(b.key, kStream, sim.now());
  REQUIRE(sim.run_until([&] { return direct_both_ways(a, b); }, 5s));
  // B reaches A at the mapping A's NAT made toward B, which no relay ever saw.
  const Endpoint seen = b.path(a.key).route().endpoint;
  CHECK(seen != *a.client.observed(0));
}

TEST_CASE("two nodes behind one NAT connect straight over their private addresses") {
  OverlaySimulator sim;
  SimRelay& relay = sim.add_relay(1);
  const int site = sim.add_nat(Nat::symmetric, 10);  // hairpinning would not help anyway
  SimNode& a = sim.add_node(10, site, {&relay});
  SimNode& b = sim.add_node(11, site, {&relay});
  REQUIRE(sim.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 1s));
  a.dial(b.key, sim.now());
  a.stream_to(b.key, kStream, sim.now());
  REQUIRE(sim.run_until([&] { return direct_both_ways(a, b); }, 5s));
  CHECK(a.path(b.key).route().endpoint == b.address);
}

TEST_CASE("a relay that restarts is re-registered with and relayed traffic resumes") {
  TwoSites t;
  t.sim.block(t.a, t.b);  // keep the traffic on the relay
  t.dial_and_stream();
  t.b.dial(t.a.key, t.sim.now());
  t.b.stream_to(t.a.key, kStream, t.sim.now());
  t.sim.run_for(2s);
  REQUIRE(kind_toward(t.a, t.b) == Route::Kind::relayed);
  t.relay.restart();
  CHECK(t.relay.server->registered_count() == 0);
  const Instant restart = t.sim.now();
  // Both nodes learn it from their next request (unknown_peer) and register again.
  REQUIRE(t.sim.run_until([&] { return t.relay.server->registered_count() == 2; }, 2s));
  CHECK(count_client(t.a, RelayClientEvent::Kind::relay_forgot) == 1);
  CHECK(count_client(t.b, RelayClientEvent::Kind::relay_forgot) == 1);
  // Traffic flows through the relay again within seconds.
  t.sim.run_for(10s);
  const auto after = since(t.b, restart + 5s);
  CHECK(after.size() >= 90);  // ~100 sent in those 5 s
  CHECK(std::all_of(after.begin(), after.end(), [](const Delivery& d) { return d.relayed; }));
}

TEST_CASE("a restarted relay gets a silent node back at its next keepalive") {
  TwoSites t;
  t.relay.restart();
  REQUIRE(t.sim.run_until([&] { return t.relay.server->registered_count() == 2; },
                          limits::relay_keepalive_interval + 1s));
  // Nothing was refused: the keepalive itself registered the nodes again.
  CHECK(t.relay.server->stats().unknown_peer_sent == 0);
}

TEST_CASE("when a relay dies, nodes fail over to the next relay and traffic follows") {
  OverlaySimulator sim;
  SimRelay& r1 = sim.add_relay(1);
  SimRelay& r2 = sim.add_relay(2);
  SimNode& a = sim.add_node(10, sim.add_nat(Nat::cone, 10), {&r1, &r2});
  SimNode& b = sim.add_node(20, sim.add_nat(Nat::cone, 20), {&r1, &r2});
  REQUIRE(sim.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 1s));
  sim.block(a, b);
  a.dial(b.key, sim.now());
  a.stream_to(b.key, kStream, sim.now());
  sim.run_for(2s);
  REQUIRE(a.path(b.key).route() == Route::relayed_via(r1.key));
  r1.down = true;
  const Instant died = sim.now();
  // Keepalive (15 s) plus three unanswered registers (1 + 2 + 4 s), then a new lookup.
  const Duration detect = limits::relay_keepalive_interval + 7s;
  REQUIRE(sim.run_until([&] { return a.path(b.key).route() == Route::relayed_via(r2.key); },
                        detect + 2s));
  CHECK(count_client(a, RelayClientEvent::Kind::relay_lost) == 1);
  sim.run_for(5s);
  const auto after = since(b, sim.now() - 4s);
  REQUIRE(after.size() >= 70);
  CHECK(std::all_of(after.begin(), after.end(),
                    [&](const Delivery& d) { return d.relayed && d.relay == r2.key; }));
  CHECK(sim.now() - died < detect + 10s);
  // B answers through R2 too once it has noticed.
  CHECK(b.path(a.key).route() == Route::relayed_via(r2.key));
}

TEST_CASE("a direct path that dies falls back to the relay within the failover timeout") {
  TwoSites t;
  t.dial_and_stream();
  REQUIRE(t.sim.run_until([&] { return direct_both_ways(t.a, t.b); }, 5s));
  t.sim.run_for(2s);
  t.sim.block(t.a, t.b);
  const Instant cut = t.sim.now();
  REQUIRE(t.sim.run_until([&] { return kind_toward(t.a, t.b) == Route::Kind::relayed; }, 10s));
  CHECK(t.sim.now() - cut <= limits::direct_path_failover_timeout);
  t.sim.run_for(2s);
  // The gap B saw: last straight packet before the cut, first relayed one after it.
  Instant last_direct{}, first_relayed = Instant::max();
  for (const Delivery& d : t.b.received) {
    if (!d.relayed && d.at <= cut + 1s) last_direct = std::max(last_direct, d.at);
    if (d.relayed && d.at > cut) first_relayed = std::min(first_relayed, d.at);
  }
  CHECK(first_relayed - last_direct <= limits::direct_path_failover_timeout + 100ms);
  CHECK(count_reason(t.a, Reason::direct_lost) == 1);
  // When the link heals, the next punch round brings the direct path back.
  t.sim.unblock(t.a, t.b);
  REQUIRE(t.sim.run_until([&] { return direct_both_ways(t.a, t.b); },
                          limits::hole_punch_retry_initial + 5s));
}

TEST_CASE("a NAT rebinding is followed on the direct path") {
  OverlaySimulator sim;
  SimRelay& relay = sim.add_relay(1);
  const int site = sim.add_nat(Nat::cone, 10);
  SimNode& a = sim.add_node(10, site, {&relay});
  SimNode& b = sim.add_node(20, -1, {&relay});
  REQUIRE(sim.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 1s));
  a.dial(b.key, sim.now());
  a.stream_to(b.key, kStream, sim.now());
  b.stream_to(a.key, kStream, sim.now());
  REQUIRE(sim.run_until([&] { return direct_both_ways(a, b); }, 5s));
  const Endpoint before = b.path(a.key).route().endpoint;
  sim.rebind(site);
  REQUIRE(sim.run_until([&] { return count_reason(b, Reason::rebinding) == 1; }, 1s));
  const Endpoint after = b.path(a.key).route().endpoint;
  CHECK(after != before);
  CHECK(after.with_port(0) == before.with_port(0));
  sim.run_for(5s);
  // Still direct both ways, no fallback to the relay.
  CHECK(direct_both_ways(a, b));
  CHECK(count_reason(a, Reason::direct_lost) == 0);
  CHECK(count_reason(b, Reason::direct_lost) == 0);
  CHECK_FALSE(since(a, sim.now() - 1s).empty());
  CHECK_FALSE(since(a, sim.now() - 1s).front().relayed);
}

TEST_CASE("an idle direct path follows a NAT rebinding through its keepalive probes") {
  OverlaySimulator sim;
  SimRelay& relay = sim.add_relay(1);
  const int site = sim.add_nat(Nat::cone, 10);
  SimNode& a = sim.add_node(10, site, {&relay});
  SimNode& b = sim.add_node(20, -1, {&relay});
  REQUIRE(sim.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 1s));
  a.dial(b.key, sim.now());
  REQUIRE(sim.run_until([&] { return direct_both_ways(a, b); }, 5s));
  sim.run_for(5s);  // idle: only keepalive probes
  const Endpoint before = b.path(a.key).route().endpoint;
  sim.rebind(site);
  sim.run_for(10s);
  CHECK(direct_both_ways(a, b));
  CHECK(b.path(a.key).route().endpoint != before);
  CHECK(count_reason(b, Reason::rebinding) == 1);
  CHECK(count_reason(a, Reason::direct_lost) == 0);
  CHECK(count_reason(b, Reason::direct_lost) == 0);
}

TEST_CASE("with no relay, nodes on one host find each other by local discovery") {
  OverlaySimulator sim;
  SimNode& a = sim.add_node(10, -1, {});
  SimNode& b = sim.add_node(20, -1, {});
  sim.announce(a);
  sim.announce(b);
  a.dial(b.key, sim.now());
  a.stream_to(b.key, kStream, sim.now());
  REQUIRE(sim.run_until([&] { return direct_both_ways(a, b); }, 1s));
  CHECK(a.path(b.key).route().endpoint == b.address);
  CHECK(b.path(a.key).route().endpoint == a.address);
  sim.run_for(1s);
  CHECK(b.received.size() == a.sent);  // nothing waited for a server
}

TEST_CASE("a relay rate-limits what one node makes it forward") {
  RelayServerConfig config;
  config.forward_per_second = 100;
  config.forward_burst = 10;
  TwoSites t(Nat::cone, Nat::cone, config);
  t.sim.block(t.a, t.b);
  t.a.dial(t.b.key, t.sim.now());
  REQUIRE(t.sim.run_until([&] { return kind_toward(t.a, t.b) == Route::Kind::relayed; }, 1s));
  t.a.stream_to(t.b.key, 1ms, t.sim.now());  // 1000 packets a second
  t.sim.run_for(2s);
  t.a.stop_stream();
  t.sim.run_for(1s);
  const auto relayed = t.relay.server->stats().forwarded_packets;
  CHECK(relayed >= 200);
  CHECK(relayed <= 200 + 10 + 1);
  CHECK(t.relay.server->stats().drops_of(OverlayError::rate_limited) >= 1700);
  CHECK(t.b.received.size() == relayed);
}
