// Overlay scenarios on the simulator: real hosts (sessions, channels, relays, paths) over
// simulated links and NATs, each run for many seeds (sim_seeds.hpp).
#include <doctest/doctest.h>

#include "sim/sim_seeds.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;
using Kind = overlay::Route::Kind;

TEST_CASE("smoke: two cone nodes exchange messages through a relay") {
  run_seeds([](SimWorld& w, Verdict& v) {
    SimNode& relay = w.add_relay(w.public_machine());
    SimNode& a = w.add_node(w.machine_behind(w.nat()), {&relay});
    SimNode& b = w.add_node(w.machine_behind(w.nat()), {&relay});
    w.stream(a, b, {.count = 50}).start();
    v.expect(w.run_until([&] { return w.checker().complete() && w.checker().delivered_total() == 50; }, 30s),
             "all 50 delivered");
    w.run_for(2s);
    v.expect(a.host().route_of(b.key()).kind == Kind::direct, "a->b direct");
    v.expect(b.host().route_of(a.key()).kind == Kind::direct, "b->a direct");
  });
}
