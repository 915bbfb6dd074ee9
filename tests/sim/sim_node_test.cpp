#include "sim/sim_node.hpp"

#include <doctest/doctest.h>

#include "sim/sim_world.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;

TEST_CASE("sim node restarts with its key and a later incarnation, on its configured port") {
  SimWorld w(1);
  SimNodeOptions fixed;
  fixed.port = 4000;
  SimNode& n = w.add_node(w.public_machine(), {}, fixed);
  const PublicKey key = n.key();
  const std::uint64_t first = n.host().incarnation();
  w.run_for(1s);
  REQUIRE(n.restart().ok());
  CHECK(n.key() == key);
  CHECK(n.host().incarnation() > first);
  CHECK(n.endpoint().port() == 4000);
  CHECK(n.runs() == 2);
}

TEST_CASE("sim node that stops withdraws its record: one that crashes leaves it behind") {
  SimWorld w(2);
  const MachineId m = w.public_machine();
  SimNode& a = w.add_node(m, {});
  SimNode& b = w.add_node(m, {});
  CHECK(w.directory(m).size() == 2);
  a.stop();
  CHECK_FALSE(a.running());
  CHECK(w.directory(m).size() == 1);
  b.crash();
  CHECK(w.directory(m).size() == 1);
  CHECK(b.endpoint().family() == Endpoint::Family::none);
  CHECK_THROWS_AS(b.host(), std::logic_error);
  REQUIRE(b.start().ok());
  CHECK(b.running());
}

TEST_CASE("sim node drives its host's timers: an idle node wakes only at its deadlines") {
  SimWorld w(3);
  SimNode& relay = w.add_relay(w.public_machine());
  SimNode& a = w.add_node(w.public_machine(), {&relay});
  w.run_for(1s);
  const std::uint64_t events = w.scheduler().events_run();
  w.run_for(60s);
  // Keepalives and announcements only: a few per second at most, never a spin.
  CHECK(w.scheduler().events_run() - events < 60 * 20);
  CHECK(a.host().router().relays_registered() == 1);
}

TEST_CASE("sim node that never answers is not heard from") {
  SimWorld w(4);
  SimNode& relay = w.add_relay(w.public_machine());
  SimNode& a = w.add_node(w.public_machine(), {&relay});
  a.set_unresponsive(true);
  w.run_for(5s);
  CHECK(relay.host().relay_server()->registered_count() == 0);
  a.set_unresponsive(false);
  w.run_for(20s);
  CHECK(relay.host().relay_server()->registered_count() == 1);
}
