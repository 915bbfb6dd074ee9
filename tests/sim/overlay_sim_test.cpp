// Overlay scenarios on the simulator: real hosts (Noise sessions, reliable channels,
// relay client and server, paths) over simulated links and NATs, each run for many seeds
// (sim_seeds.hpp). These are the scenarios the old overlay simulator ran against a copy
// of the host's glue, now against overlay::Host itself, with every message checked for
// exactly-once, in-order delivery.
#include <doctest/doctest.h>

#include "overlay/overlay_error.hpp"
#include "sim/overlay_observer.hpp"
#include "sim/scenario_steps.hpp"
#include "sim/sim_seeds.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;

namespace {

// A relay on the internet, node A behind one NAT and node B behind another, both
// registered with the relay.
struct TwoSites {
  TwoSites(SimWorld& w, NatType a_nat = NatType::port_restricted,
           NatType b_nat = NatType::port_restricted, SimNodeOptions relay_options = {},
           SimNodeOptions node_options = {})
      : relay(w.add_relay(w.public_machine(), 7000, relay_options)),
        a_site(w.nat({.type = a_nat})),
        b_site(w.nat({.type = b_nat})),
        a(w.add_node(w.machine_behind(a_site), {&relay}, node_options)),
        b(w.add_node(w.machine_behind(b_site), {&relay}, node_options)) {
    ready = w.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 2s);
  }
  SimNode& relay;
  NatId a_site;
  NatId b_site;
  SimNode& a;
  SimNode& b;
  bool ready = false;
};

}  // namespace

TEST_CASE("nodes behind cone NATs meet through a relay and move to a punched direct path") {
  run_seeds([](SimWorld& w, Verdict& v) {
    TwoSites t(w);
    if (!v.expect(t.ready, "both nodes register within 2 s")) return;
    const Instant start = w.now();
    MessageStream& s = w.stream(t.a, t.b, {.interval = 50ms, .count = 60});
    s.start();
    v.expect(w.run_until([&] { return both_ways(t.a, t.b, RouteKind::direct); }, 5s),
             "direct both ways within 5 s");
    // A lookup, a punch request, a handshake and a few probes' round trips.
    v.expect(w.now() - start < 1s, "direct within 1 s of the dial");
    drain(w, v, {&s}, 10s);
    const ArrivalRecord at_b = t.b.arrivals_from(t.a.key());
    v.expect(at_b.relayed > 0, "traffic went through the relay at once");
    v.expect(at_b.direct > 0 && at_b.last_direct > at_b.last_relayed, "then straight");
    const auto& log = t.a.path_log();
    if (v.expect(log.size() >= 2, "A logged its route changes")) {
      v.expect(log[0].event.reason == PathReason::relay_found, "first: relay found");
      v.expect(log[1].event.reason == PathReason::direct_confirmed, "then: direct confirmed");
      v.expect(log[1].event.rtt.has_value(), "with a round-trip time");
    }
    // The direct endpoint is B's NAT's public mapping.
    v.expect(route(t.a, t.b).endpoint.with_port(0) ==
                 w.network().nat(t.b_site).public_address(),
             "A reaches B at B's NAT");
    v.expect(relay_stats(t.relay).punches >= 1, "the relay coordinated a punch");
  });
}

TEST_CASE("an overlay scenario replays identically from its seed") {
  // Everything observable of one run, as text: keys, path logs, network counts, events.
  const auto run = [](std::uint64_t seed) {
    SimWorld w(seed);
    LinkOptions lossy;
    lossy.loss_percent = 10;
    lossy.jitter = 5ms;
    SimNode& relay = w.add_relay(w.public_machine(lossy));
    SimNode& a = w.add_node(w.machine_behind(w.nat()), {&relay});
    SimNode& b = w.add_node(w.machine_behind(w.nat({.type = NatType::full_cone})), {&relay});
    w.stream(a, b, {.interval = 20ms, .count = 100}).start();
    w.stream(b, a, {.interval = 0ms, .count = 50, .max_size = 3000}).start();
    w.run_for(10s);
    std::string text;
    for (const auto& n : w.nodes()) {
      text += Address(n->key()).to_string() + " " + std::to_string(n->host().incarnation()) + "\n";
      for (const PathRecord& r : n->path_log()) {
        text += std::to_string(r.at.time_since_epoch().count()) + " " + name(r.event.reason) + "\n";
      }
    }
    text += w.network().stats().describe() + "\n";
    text += std::to_string(w.scheduler().events_run()) + " events, " +
            std::to_string(w.checker().delivered_total()) + " delivered, " +
            std::to_string(w.random().crypto_bytes_drawn()) + " random bytes\n";
    return text;
  };
  const std::string first = run(7);
  CHECK(first == run(7));
  CHECK(first != run(8));  // the seed does decide something
}

TEST_CASE("lookup of an unknown address fails with not_found and sends it nothing") {
  run_seeds([](SimWorld& w, Verdict& v) {
    TwoSites t(w);
    if (!v.expect(t.ready, "both nodes register")) return;
    const Identity nobody = Identity::generate();
    v.expect(t.a.host().dial(nobody.public_key()).ok(), "dial() takes an address with relays");
    const std::vector<std::uint8_t> hello(30, 1);
    // Queued for when a route appears; none will.
    v.expect(t.a.host().send(nobody.public_key(), hello).ok(), "send() queues meanwhile");
    w.run_for(1s);
    v.expect(relay_stats(t.relay).lookup_misses == 1, "the relay was asked once and knew nothing");
    v.expect(t.a.host().route_of(nobody.public_key()).kind == RouteKind::none, "no route");
    v.expect(t.a.host().sessions().session(nobody.public_key()) == nullptr,
             "no handshake was started toward nobody");
    // It keeps asking, backing off (2 s, then 4 s ...).
    w.run_for(10s);
    const auto misses = relay_stats(t.relay).lookup_misses;
    v.expect(misses >= 2 && misses <= 4, "lookups retried with backoff: " + std::to_string(misses));
  });
}

TEST_CASE("a peer that never answers punches stays relayed and gets everything") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNodeOptions no_punch;
    no_punch.host.router.punch = false;
    SimNode& relay = w.add_relay(w.public_machine());
    SimNode& a = w.add_node(w.machine_behind(w.nat()), {&relay});
    SimNode& b = w.add_node(w.machine_behind(w.nat()), {&relay}, no_punch);
    if (!v.expect(w.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 2s),
                  "both register")) {
      return;
    }
    MessageStream& s = w.stream(a, b, {.interval = 200ms, .count = 360});
    s.start();
    w.run_for(75s);  // the first round, and its retry 30 s later; the next waits 60 s
    drain(w, v, {&s}, 5s);
    v.expect(both_ways(a, b, RouteKind::relayed), "relayed both ways");
    v.expect(path_events(a, b, PathReason::punch_failed) == 2, "two rounds failed quietly");
    v.expect(path_events(a, b, PathReason::direct_confirmed) == 0, "none confirmed");
    const overlay::PeerPath* p = path_state(a, b);
    v.expect(p != nullptr && p->stats().rounds == 2, "two rounds");
    v.expect(b.arrivals_from(a.key()).direct == 0, "nothing of A's came straight");
  });
}

TEST_CASE("behind symmetric NATs probes never arrive and both sides stay relayed") {
  run_seeds([](SimWorld& w, Verdict& v) {
    TwoSites t(w, NatType::symmetric, NatType::symmetric);
    if (!v.expect(t.ready, "both register")) return;
    MessageStream& ab = w.stream(t.a, t.b, {.interval = 50ms, .count = 250});
    MessageStream& ba = w.stream(t.b, t.a, {.interval = 50ms, .count = 250});
    ab.start();
    ba.start();
    w.run_for(15s);
    drain(w, v, {&ab, &ba}, 5s);
    v.expect(both_ways(t.a, t.b, RouteKind::relayed), "relayed both ways");
    v.expect(w.network().stats().drops_of(DropReason::nat_filtered) > 0, "probes died at the NATs");
    v.expect(path_events(t.a, t.b, PathReason::punch_failed) == 1, "A's round failed");
    v.expect(path_events(t.a, t.b, PathReason::direct_confirmed) == 0, "nothing confirmed");
  });
}

TEST_CASE("a symmetric NAT facing a public node still gets a direct path (peer-reflexive)") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    SimNode& a = w.add_node(w.machine_behind(w.nat({.type = NatType::symmetric})), {&relay});
    SimNode& b = w.add_node(w.public_machine(), {&relay});
    if (!v.expect(w.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 2s),
                  "both register")) {
      return;
    }
    MessageStream& s = w.stream(a, b, {.interval = 50ms, .count = 40});
    s.start();
    v.expect(w.run_until([&] { return both_ways(a, b, RouteKind::direct); }, 5s), "direct both ways");
    drain(w, v, {&s}, 5s);
    // B reaches A at the mapping A's NAT made toward B, which the relay never saw.
    const overlay::RelayServer::Registration* reg =
        relay_server(relay).registration(a.key());
    v.expect(reg != nullptr && route(b, a).endpoint != reg->observed,
             "B uses A's peer-reflexive endpoint, not the one the relay observed");
  });
}

TEST_CASE("two nodes behind one NAT connect straight over their private addresses") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    const NatId site = w.nat({.type = NatType::symmetric});  // hairpinning would not help
    SimNode& a = w.add_node(w.machine_behind(site), {&relay});
    SimNode& b = w.add_node(w.machine_behind(site), {&relay});
    if (!v.expect(w.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 2s),
                  "both register")) {
      return;
    }
    MessageStream& s = w.stream(a, b, {.interval = 50ms, .count = 40});
    s.start();
    v.expect(w.run_until([&] { return both_ways(a, b, RouteKind::direct); }, 5s), "direct both ways");
    drain(w, v, {&s}, 5s);
    v.expect(route(a, b).endpoint == b.endpoint(), "A reaches B at B's private address");
  });
}

TEST_CASE("a relay that restarts is registered with again and relayed traffic resumes") {
  run_seeds([](SimWorld& w, Verdict& v) {
    TwoSites t(w);
    if (!v.expect(t.ready, "both register")) return;
    w.network().cut(t.a.machine(), t.b.machine());  // keep the traffic on the relay
    MessageStream& ab = w.stream(t.a, t.b, {.interval = 50ms, .count = 400});
    MessageStream& ba = w.stream(t.b, t.a, {.interval = 50ms, .count = 400});
    ab.start();
    ba.start();
    w.run_for(3s);
    v.expect(both_ways(t.a, t.b, RouteKind::relayed), "relayed before the restart");
    const std::uint64_t before = w.checker().delivered_total();
    (void)t.relay.restart();
    v.expect(relay_server(t.relay).registered_count() == 0, "the new relay knows nobody");
    v.expect(w.run_until([&] { return relay_server(t.relay).registered_count() == 2; }, 5s),
             "both nodes register again within 5 s");
    w.run_for(5s);
    v.expect(w.checker().delivered_total() > before + 100, "traffic flows again");
    drain(w, v, {&ab, &ba}, 30s);
  });
}

TEST_CASE("a restarted relay gets a silent node back at its next keepalive") {
  run_seeds([](SimWorld& w, Verdict& v) {
    TwoSites t(w);
    if (!v.expect(t.ready, "both register")) return;
    (void)t.relay.restart();
    v.expect(w.run_until([&] { return relay_server(t.relay).registered_count() == 2; },
                         limits::kRelayKeepaliveInterval + 5s),
             "both back by their next keepalive");
    v.expect(relay_stats(t.relay).unknown_peer_sent == 0,
             "nothing was refused: the keepalive itself registered them again");
  });
}

TEST_CASE("when a relay dies nodes fail over to the next relay and traffic follows") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNode& r1 = w.add_relay(w.public_machine());
    SimNode& r2 = w.add_relay(w.public_machine());
    const MachineId ma = w.machine_behind(w.nat({.type = NatType::symmetric}));
    const MachineId mb = w.machine_behind(w.nat({.type = NatType::symmetric}));
    SimNode& a = w.add_node(ma, {&r1, &r2});
    SimNode& b = w.add_node(mb, {&r1, &r2});
    if (!v.expect(w.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 2s),
                  "both register with both relays")) {
      return;
    }
    MessageStream& s = w.stream(a, b, {.interval = 50ms, .count = 600});
    s.start();
    w.run_for(2s);
    v.expect(route(a, b) == overlay::Route::relayed_via(r1.key()), "through the first relay");
    r1.crash();
    const Instant died = w.now();
    // A keepalive (15 s) plus five unanswered registers (0.25 .. 4 s), then a new lookup.
    const Duration detect = limits::kRelayKeepaliveInterval + 8s;
    v.expect(w.run_until([&] { return route(a, b) == overlay::Route::relayed_via(r2.key()); },
                         detect + 5s),
             "A moves to the second relay");
    v.expect(w.now() - died < detect + 5s, "within a keepalive and the register retries");
    w.run_for(5s);
    v.expect(route(b, a) == overlay::Route::relayed_via(r2.key()), "B answers through it too");
    v.expect(b.arrivals_from(a.key()).last_relayed >= w.now() - 1s, "traffic flows through it");
    drain(w, v, {&s}, 30s);
  });
}

TEST_CASE("a direct path that dies falls back to the relay within the failover timeout") {
  run_seeds([](SimWorld& w, Verdict& v) {
    TwoSites t(w);
    if (!v.expect(t.ready, "both register")) return;
    MessageStream& s = w.stream(t.a, t.b, {.interval = 50ms, .count = 1200});
    s.start();
    if (!v.expect(w.run_until([&] { return both_ways(t.a, t.b, RouteKind::direct); }, 5s),
                  "direct first")) {
      return;
    }
    w.run_for(2s);
    const MachineId ma = t.a.machine();
    const MachineId mb = t.b.machine();
    w.network().cut(ma, mb);
    const Instant cut = w.now();
    v.expect(w.run_until([&] { return route_kind(t.a, t.b) == RouteKind::relayed; }, 10s),
             "A falls back to the relay");
    v.expect(w.now() - cut <= limits::kDirectPathFailoverTimeout + 100ms,
             "within the failover timeout");
    v.expect(path_events(t.a, t.b, PathReason::direct_lost) == 1, "one direct_lost");
    w.run_for(2s);
    v.expect(t.b.arrivals_from(t.a.key()).last_relayed > cut, "traffic goes through the relay");
    // When the link heals, the next punch round brings the direct path back.
    w.network().heal(ma, mb);
    v.expect(w.run_until([&] { return both_ways(t.a, t.b, RouteKind::direct); },
                         limits::kHolePunchRetryInitial + 5s),
             "direct again after the link heals");
    drain(w, v, {&s}, 60s);
  });
}

TEST_CASE("a NAT rebinding is followed on the direct path") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    const NatId site = w.nat({.type = NatType::port_restricted});
    SimNode& a = w.add_node(w.machine_behind(site), {&relay});
    SimNode& b = w.add_node(w.public_machine(), {&relay});
    if (!v.expect(w.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 2s),
                  "both register")) {
      return;
    }
    MessageStream& ab = w.stream(a, b, {.interval = 50ms, .count = 300});
    MessageStream& ba = w.stream(b, a, {.interval = 50ms, .count = 300});
    ab.start();
    ba.start();
    if (!v.expect(w.run_until([&] { return both_ways(a, b, RouteKind::direct); }, 5s), "direct")) return;
    w.run_for(1s);
    const Endpoint before = route(b, a).endpoint;
    w.network().nat(site).rebind();
    v.expect(w.run_until([&] { return path_events(b, a, PathReason::rebinding) == 1; }, 1s),
             "B follows A's new mapping within 1 s");
    const Endpoint after = route(b, a).endpoint;
    v.expect(after != before && after.with_port(0) == before.with_port(0), "same address, new port");
    w.run_for(5s);
    v.expect(both_ways(a, b, RouteKind::direct), "still direct both ways");
    v.expect(path_events(a, b, PathReason::direct_lost) == 0, "A never fell back");
    v.expect(path_events(b, a, PathReason::direct_lost) == 0, "B never fell back");
    drain(w, v, {&ab, &ba}, 20s);
  });
}

TEST_CASE("an idle direct path follows a NAT rebinding through its keepalive probes") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    const NatId site = w.nat({.type = NatType::port_restricted});
    SimNode& a = w.add_node(w.machine_behind(site), {&relay});
    SimNode& b = w.add_node(w.public_machine(), {&relay});
    if (!v.expect(w.run_until([&] { return registered_everywhere(a) && registered_everywhere(b); }, 2s),
                  "both register")) {
      return;
    }
    (void)a.host().dial(b.key());
    if (!v.expect(w.run_until([&] { return both_ways(a, b, RouteKind::direct); }, 5s), "direct")) return;
    w.run_for(5s);  // idle: only keepalive probes
    const Endpoint before = route(b, a).endpoint;
    w.network().nat(site).rebind();
    w.run_for(10s);
    v.expect(both_ways(a, b, RouteKind::direct), "still direct both ways");
    v.expect(route(b, a).endpoint != before, "B follows A's new mapping");
    v.expect(path_events(b, a, PathReason::rebinding) == 1, "one rebinding");
    v.expect(path_events(a, b, PathReason::direct_lost) == 0, "A never fell back");
    v.expect(path_events(b, a, PathReason::direct_lost) == 0, "B never fell back");
  });
}

TEST_CASE("with no relay nodes on one machine find each other by local discovery") {
  run_seeds([](SimWorld& w, Verdict& v) {
    const MachineId host = w.public_machine();
    SimNode& a = w.add_node(host, {});
    SimNode& b = w.add_node(host, {});
    MessageStream& s = w.stream(a, b, {.interval = 50ms, .count = 20});
    s.start();
    v.expect(w.run_until([&] { return both_ways(a, b, RouteKind::direct); }, 1s), "direct both ways");
    v.expect(route(a, b).endpoint == b.endpoint(), "A found B's socket");
    v.expect(route(b, a).endpoint == a.endpoint(), "B answers A's");
    drain(w, v, {&s}, 2s);
    v.expect(w.directory(host).size() == 2, "both announced");
  });
}

TEST_CASE("a relay rate-limits what one node makes it forward and nothing is lost") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNodeOptions limited;
    limited.host.server.forward_per_second = 100;
    limited.host.server.forward_burst = 10;
    TwoSites t(w, NatType::symmetric, NatType::symmetric, limited);
    if (!v.expect(t.ready, "both register")) return;
    MessageStream& s = w.stream(t.a, t.b, {.interval = 2ms, .count = 1000, .max_size = 100});
    s.start();
    w.run_for(4s);
    const overlay::RelayServerStats& stats = relay_stats(t.relay);
    v.expect(stats.drops_of(overlay::OverlayError::rate_limited) > 0, "the relay dropped some");
    // At most the rate and the burst of each of the two senders (A's data, B's ACKs).
    v.expect(stats.forwarded_packets <= 2 * (4 * 100 + 10) + 20,
             "forwarded within the limit: " + std::to_string(stats.forwarded_packets));
    // The channel slows down to what the relay passes and resends what it dropped.
    drain(w, v, {&s}, 120s);
  });
}
