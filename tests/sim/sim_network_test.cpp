#include "sim/sim_network.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;

namespace {

struct Got {
  Endpoint from;
  std::vector<std::uint8_t> bytes;
  Instant at;
};

// A public machine and two sites; one socket per machine at port 4000, recording arrivals.
struct Net {
  explicit Net(NatOptions a_site = {}, NatOptions b_site = {})
      : random(1), network(scheduler, random) {
    pub = network.add_public_machine();
    nat_a = network.add_nat(a_site);
    nat_b = network.add_nat(b_site);
    a1 = network.add_machine_behind(nat_a);
    a2 = network.add_machine_behind(nat_a);
    b1 = network.add_machine_behind(nat_b);
    for (MachineId m : {pub, a1, a2, b1}) {
      got.emplace_back();
      auto& log = got.back();
      at.push_back(*network.bind(m, 4000, [this, &log](std::span<const std::uint8_t> b, const Endpoint& from) {
        log.push_back({from, {b.begin(), b.end()}, scheduler.now()});
        return std::optional<DropReason>{};
      }));
    }
  }
  void send(std::size_t from, const Endpoint& to, std::uint8_t byte = 1) {
    const std::uint8_t b[1] = {byte};
    network.send(at[from], to, b);
  }
  bool accounted() const {
    const SimNetworkStats& s = network.stats();
    return s.sent + s.duplicated == s.delivered + s.dropped() + network.in_flight();
  }

  SimScheduler scheduler;
  SimRandom random;
  SimNetwork network;
  MachineId pub{}, a1{}, a2{}, b1{};
  NatId nat_a{}, nat_b{};
  std::vector<Endpoint> at;  // pub, a1, a2, b1
  std::deque<std::vector<Got>> got;
};

enum { kPub, kA1, kA2, kB1 };

}  // namespace

TEST_CASE("network addresses public machines, NATs and hosts behind them by plan") {
  Net n;
  CHECK(n.network.address_of(n.pub) == Endpoint::v4({192, 0, 2, 1}, 0));
  CHECK(n.network.nat(n.nat_a).public_address() == Endpoint::v4({198, 51, 100, 1}, 0));
  CHECK(n.network.address_of(n.a1) == Endpoint::v4({10, 1, 0, 1}, 0));
  CHECK(n.network.address_of(n.a2) == Endpoint::v4({10, 1, 0, 2}, 0));
  CHECK(n.network.address_of(n.b1) == Endpoint::v4({10, 2, 0, 1}, 0));
  CHECK_FALSE(n.network.bind(n.pub, 4000, {}).has_value());  // taken
  const auto ephemeral = n.network.bind(n.pub, 0, {});
  REQUIRE(ephemeral.has_value());
  CHECK(ephemeral->port() >= 49152);
}

TEST_CASE("network carries a datagram out through a NAT, translated, and its answer back in") {
  Net n;
  n.send(kA1, n.at[kPub]);
  n.scheduler.run_for(1s);
  REQUIRE(n.got[kPub].size() == 1);
  const Endpoint seen = n.got[kPub][0].from;
  CHECK(seen.with_port(0) == n.network.nat(n.nat_a).public_address());
  // Delays add up: A1's LAN link (1 ms), the NAT's uplink (10 ms), the public link (10 ms).
  CHECK(n.got[kPub][0].at - peermq::ManualClock::kDefaultStart == 21ms);
  n.send(kPub, seen);
  n.scheduler.run_for(1s);
  REQUIRE(n.got[kA1].size() == 1);
  CHECK(n.got[kA1][0].from == n.at[kPub]);
  CHECK(n.accounted());
}

TEST_CASE("network drops what a NAT does not let in, and private addresses from outside") {
  Net n;
  n.send(kPub, n.network.nat(n.nat_a).public_address().with_port(4000));  // no mapping
  n.send(kPub, n.at[kA1]);                                                // private
  n.send(kB1, n.at[kA1]);                                                 // another site's
  n.send(kA1, n.at[kPub]);
  n.scheduler.run_for(1s);
  const Endpoint mapped = n.got[kPub].at(0).from;
  n.send(kB1, mapped);  // port-restricted: B1 was never sent to
  n.scheduler.run_for(1s);
  const SimNetworkStats& s = n.network.stats();
  CHECK(s.drops_of(DropReason::nat_no_mapping) == 1);
  CHECK(s.drops_of(DropReason::no_route) == 2);
  CHECK(s.drops_of(DropReason::nat_filtered) == 1);
  CHECK(n.got[kA1].empty());
  CHECK(n.accounted());
}

TEST_CASE("network connects hosts behind one NAT over the LAN unless it isolates them") {
  {
    Net open_site;
    open_site.send(kA1, open_site.at[kA2]);
    open_site.scheduler.run_for(1s);
    REQUIRE(open_site.got[kA2].size() == 1);
    CHECK(open_site.got[kA2][0].from == open_site.at[kA1]);  // private to private
  }
  Net isolated({.isolate_hosts = true});
  isolated.send(kA1, isolated.at[kA2]);
  isolated.scheduler.run_for(1s);
  CHECK(isolated.got[kA2].empty());
  CHECK(isolated.network.stats().drops_of(DropReason::no_route) == 1);
}

TEST_CASE("network hairpins through the NAT's public address only when the NAT does") {
  for (const bool hairpin : {false, true}) {
    CAPTURE(hairpin);
    Net n({.type = NatType::full_cone, .hairpin = hairpin, .isolate_hosts = true});
    n.send(kA2, n.at[kPub]);
    n.scheduler.run_for(1s);
    const Endpoint a2_public = n.got[kPub].at(0).from;
    n.send(kA1, a2_public);
    n.scheduler.run_for(1s);
    CHECK(n.got[kA2].size() == (hairpin ? 1u : 0u));
    CHECK(n.network.stats().drops_of(DropReason::no_hairpin) == (hairpin ? 0u : 1u));
    if (hairpin) CHECK(n.got[kA2][0].from.with_port(0) == n.network.nat(n.nat_a).public_address());
  }
}

TEST_CASE("network cuts a pair or a machine, in flight too, and heals") {
  Net n;
  n.send(kA1, n.at[kA2]);
  n.network.cut(n.a1, n.a2);  // while the datagram is on its way
  n.scheduler.run_for(1s);
  CHECK(n.got[kA2].empty());
  n.network.heal(n.a2, n.a1);
  n.send(kA1, n.at[kA2]);
  n.scheduler.run_for(1s);
  CHECK(n.got[kA2].size() == 1);
  n.network.isolate(n.pub);
  n.send(kA1, n.at[kPub]);
  n.send(kPub, n.at[kPub]);
  n.scheduler.run_for(1s);
  CHECK(n.got[kPub].empty());
  n.network.reconnect(n.pub);
  n.send(kA1, n.at[kPub]);
  n.scheduler.run_for(1s);
  CHECK(n.got[kPub].size() == 1);
  CHECK(n.network.stats().drops_of(DropReason::partition) == 3);
  CHECK(n.accounted());
}

TEST_CASE("network counts datagrams to a port nobody listens on, and ones larger than the mtu") {
  Net n;
  n.send(kPub, n.network.address_of(n.pub).with_port(9));
  std::vector<std::uint8_t> big(2000, 7);
  n.network.send(n.at[kPub], n.at[kPub], big);
  n.scheduler.run_for(1s);
  CHECK(n.network.stats().drops_of(DropReason::no_listener) == 1);
  CHECK(n.network.stats().drops_of(DropReason::too_big) == 0);  // loopback crosses no link
  n.network.send(n.at[kA1], n.at[kPub], big);
  n.scheduler.run_for(1s);
  CHECK(n.network.stats().drops_of(DropReason::too_big) == 1);
  CHECK(n.accounted());
}

TEST_CASE("network duplicates and loses per link and still accounts for every copy") {
  LinkOptions bad;
  bad.loss_percent = 30;
  bad.duplicate_percent = 30;
  bad.corrupt_percent = 10;
  Net n({.uplink = bad}, {.uplink = bad});
  for (int i = 0; i < 500; ++i) n.send(kA1, n.at[kPub]);
  n.scheduler.run_for(10ms);  // some still in flight
  CHECK(n.accounted());
  n.scheduler.run_for(1s);
  const SimNetworkStats& s = n.network.stats();
  CHECK(s.drops_of(DropReason::loss) > 0);
  CHECK(s.duplicated > 0);
  CHECK(s.corrupted > 0);
  CHECK(n.network.in_flight() == 0);
  CHECK(n.accounted());
  CHECK(n.got[kPub].size() == s.delivered);
}
