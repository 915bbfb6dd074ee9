// Which NAT combinations get a direct path, and which stay relayed and still work: one
// row per combination (each its own test), naming what the dialer and the dialed sit
// behind and the path expected, each run for many seeds (sim_seeds.hpp).
//
// A direct path is possible when the probes of one side can pass the other's NAT once
// that side has probed back: always with a public node or a full-cone NAT on one side, and
// with address-restricted and port-restricted (endpoint-independent mapping) NATs on both;
// a symmetric NAT's fresh port per destination defeats a port-restricted filter on the other
// side (no port prediction here) and another symmetric NAT, so those stay relayed.
#include <doctest/doctest.h>

#include <string>

#include "sim/overlay_observer.hpp"
#include "sim/sim_seeds.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;

namespace {

enum class Side { public_host, full_cone, address_restricted, port_restricted, symmetric };
enum class Expect { direct, relayed };

MachineId place(SimWorld& w, Side side) {
  switch (side) {
    case Side::public_host: return w.public_machine();
    case Side::full_cone: return w.machine_behind(w.nat({.type = NatType::full_cone}));
    case Side::address_restricted:
      return w.machine_behind(w.nat({.type = NatType::address_restricted}));
    case Side::port_restricted: return w.machine_behind(w.nat({.type = NatType::port_restricted}));
    case Side::symmetric: return w.machine_behind(w.nat({.type = NatType::symmetric}));
  }
  return w.public_machine();
}

bool both_registered(SimWorld& w, const SimNode& a, const SimNode& b) {
  return w.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 2s);
}

// A dials B and both stream; then the path must be `expect`, and every message arrive.
void expect_path(SimWorld& w, Verdict& v, SimNode& relay, SimNode& a, SimNode& b, Expect expect) {
  MessageStream& ab = w.stream(a, b, {.interval = 50ms, .count = 80});
  MessageStream& ba = w.stream(b, a, {.interval = 50ms, .count = 80, .max_size = 1500});
  ab.start();
  w.run_for(100ms);  // B answers once A's first messages reached it
  ba.start();
  if (expect == Expect::direct) {
    v.expect(w.run_until([&] { return both_ways(a, b, RouteKind::direct); }, 5s),
             "direct both ways within 5 s");
  } else {
    // Past the first punch round (hole_punch_timeout) on both sides.
    w.run_for(limits::kHolePunchTimeout + 2s);
    v.expect(both_ways(a, b, RouteKind::relayed), "relayed both ways after a punch round");
    v.expect(path_events(a, b, PathReason::punch_failed) >= 1, "A's punch round failed quietly");
    v.expect(path_events(a, b, PathReason::direct_confirmed) == 0, "nothing confirmed");
  }
  const bool done = w.run_until(
      [&] { return ab.all_sent() && ba.all_sent() && w.checker().complete(); }, 20s);
  if (!done) w.checker().judge_complete(v);
  v.expect(done, "every message delivered both ways");
  if (expect == Expect::direct) {
    v.expect(both_ways(a, b, RouteKind::direct), "still direct at the end");
  } else {
    v.expect(relay_stats(relay).forwarded_packets > 0, "the relay carried the traffic");
  }
}

void pair_row(Side a_side, Side b_side, Expect expect) {
  run_seeds([=](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    SimNode& a = w.add_node(place(w, a_side), {&relay});
    SimNode& b = w.add_node(place(w, b_side), {&relay});
    if (!v.expect(both_registered(w, a, b), "both register")) return;
    expect_path(w, v, relay, a, b, expect);
  });
}

struct SameNat {
  NatType type;
  bool isolate_hosts;
  bool hairpin;
};

void same_nat_row(SameNat site, Expect expect) {
  run_seeds([=](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    const NatId nat =
        w.nat({.type = site.type, .hairpin = site.hairpin, .isolate_hosts = site.isolate_hosts});
    SimNode& a = w.add_node(w.machine_behind(nat), {&relay});
    SimNode& b = w.add_node(w.machine_behind(nat), {&relay});
    if (!v.expect(both_registered(w, a, b), "both register")) return;
    expect_path(w, v, relay, a, b, expect);
    if (expect != Expect::direct) return;
    const Endpoint to_b = route(a, b).endpoint;
    if (site.isolate_hosts) {
      v.expect(to_b.with_port(0) == w.network().nat(nat).public_address(),
               "through the NAT's public address (hairpinned): " + to_b.to_string());
    } else {
      v.expect(to_b == b.endpoint(), "over B's private address: " + to_b.to_string());
    }
  });
}

}  // namespace

// clang-format off
#define PAIR(A, B, EXPECT) \
  TEST_CASE("nat: " #A " dials " #B ": " #EXPECT) { pair_row(Side::A, Side::B, Expect::EXPECT); }

//    dialer              dialed              path
PAIR(public_host,        public_host,        direct)
PAIR(public_host,        full_cone,          direct)
PAIR(public_host,        address_restricted, direct)
PAIR(public_host,        port_restricted,    direct)
PAIR(public_host,        symmetric,          direct)
PAIR(full_cone,          public_host,        direct)
PAIR(full_cone,          full_cone,          direct)
PAIR(full_cone,          address_restricted, direct)
PAIR(full_cone,          port_restricted,    direct)
PAIR(full_cone,          symmetric,          direct)
PAIR(address_restricted, public_host,        direct)
PAIR(address_restricted, full_cone,          direct)
PAIR(address_restricted, address_restricted, direct)
PAIR(address_restricted, port_restricted,    direct)
PAIR(address_restricted, symmetric,          direct)
PAIR(port_restricted,    public_host,        direct)
PAIR(port_restricted,    full_cone,          direct)
PAIR(port_restricted,    address_restricted, direct)
PAIR(port_restricted,    port_restricted,    direct)
PAIR(port_restricted,    symmetric,          relayed)
PAIR(symmetric,          public_host,        direct)
PAIR(symmetric,          full_cone,          direct)
PAIR(symmetric,          address_restricted, direct)
PAIR(symmetric,          port_restricted,    relayed)
PAIR(symmetric,          symmetric,          relayed)

//                                                              NAT type                    isolated hairpin  path
TEST_CASE("nat: both behind one port_restricted NAT on one LAN: direct")              { same_nat_row({NatType::port_restricted, false, false}, Expect::direct); }
TEST_CASE("nat: both behind one symmetric NAT on one LAN: direct")                    { same_nat_row({NatType::symmetric,       false, false}, Expect::direct); }
TEST_CASE("nat: both behind one full_cone NAT isolated with hairpinning: direct")     { same_nat_row({NatType::full_cone,       true,  true},  Expect::direct); }
TEST_CASE("nat: both behind one port_restricted NAT isolated with hairpinning: direct") { same_nat_row({NatType::port_restricted, true, true}, Expect::direct); }
TEST_CASE("nat: both behind one symmetric NAT isolated with hairpinning: relayed")   { same_nat_row({NatType::symmetric,       true,  true},  Expect::relayed); }
TEST_CASE("nat: both behind one port_restricted NAT isolated without hairpinning: relayed") { same_nat_row({NatType::port_restricted, true, false}, Expect::relayed); }
// clang-format on

// The report: a broker, a consumer and a producer each behind its own home router
// (port-restricted cone NATs), relays named by address only, as a new user types them. The
// broker already has a direct path to the consumer when the producer dials it; both
// clients must end on direct paths to the broker.
TEST_CASE("nat: three sites behind cone NATs all reach the broker directly") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    SimNodeOptions fixed;
    fixed.port = 4000;
    const auto site = [&] { return w.machine_behind(w.nat({.type = NatType::port_restricted})); };
    SimNode& broker = w.add_node(site(), {&relay}, fixed, false);
    SimNode& consumer = w.add_node(site(), {&relay}, {}, false);
    if (!v.expect(w.run_until([&] { return registered_everywhere(broker) && registered_everywhere(consumer); }, 3s),
                  "broker and consumer register")) {
      return;
    }
    MessageStream& to_broker = w.stream(consumer, broker, {.interval = 200ms, .count = 150});
    to_broker.start();
    if (!v.expect(w.run_until([&] { return both_ways(consumer, broker, RouteKind::direct); }, 5s),
                  "the consumer's path to the broker becomes direct")) {
      return;
    }
    w.stream(broker, consumer, {.interval = 100ms, .count = 200}).start();
    w.run_for(3s);
    SimNode& producer = w.add_node(site(), {&relay}, {}, false);
    MessageStream& publish = w.stream(producer, broker, {.interval = 10ms, .count = 500});
    MessageStream& answers = w.stream(broker, producer, {.interval = 10ms, .count = 500});
    publish.start();
    w.run_for(1s);
    answers.start();
    v.expect(w.run_until([&] { return both_ways(producer, broker, RouteKind::direct); }, 10s),
             "the producer's path to the broker becomes direct");
    v.expect(both_ways(consumer, broker, RouteKind::direct), "the consumer's stays direct");
    const bool done = w.run_until([&] { return w.checker().complete() && publish.all_sent() && answers.all_sent(); }, 30s);
    if (!done) w.checker().judge_complete(v);
  });
}

// A dialer that already has sessions and paths with other peers (one direct, one relayed)
// punches to a new one like a fresh node does.
TEST_CASE("nat: a port_restricted node already talking to two peers dials a third: direct") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    SimNode& a = w.add_node(place(w, Side::port_restricted), {&relay});
    SimNode& c = w.add_node(place(w, Side::full_cone), {&relay});
    SimNode& d = w.add_node(place(w, Side::symmetric), {&relay});
    SimNode& b = w.add_node(place(w, Side::port_restricted), {&relay});
    if (!v.expect(w.run_until([&] {
                    return registered_everywhere(a) && registered_everywhere(b) &&
                           registered_everywhere(c) && registered_everywhere(d);
                  }, 3s),
                  "all register")) {
      return;
    }
    w.stream(a, c, {.interval = 50ms, .count = 200}).start();
    w.stream(a, d, {.interval = 50ms, .count = 200}).start();
    v.expect(w.run_until([&] { return both_ways(a, c, RouteKind::direct); }, 5s), "A-C direct");
    w.run_for(limits::kHolePunchTimeout + 1s);
    v.expect(both_ways(a, d, RouteKind::relayed), "A-D relayed (symmetric against port-restricted)");
    expect_path(w, v, relay, a, b, Expect::direct);
    v.expect(both_ways(a, c, RouteKind::direct), "A-C still direct");
  });
}
