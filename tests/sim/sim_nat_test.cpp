#include "support/manual_clock.hpp"
#include "sim/sim_nat.hpp"

#include <doctest/doctest.h>

#include <variant>

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;

namespace {

const Endpoint kPublic = Endpoint::v4({198, 51, 100, 1}, 0);
const Endpoint kInside = Endpoint::v4({10, 1, 0, 1}, 4000);
const Endpoint kRelay = Endpoint::v4({192, 0, 2, 1}, 7000);
const Endpoint kRelayOtherPort = Endpoint::v4({192, 0, 2, 1}, 7001);
const Endpoint kPeer = Endpoint::v4({192, 0, 2, 2}, 5000);

bool lets_in(SimNat& nat, const Endpoint& mapped, const Endpoint& from, Instant now) {
  return std::holds_alternative<Endpoint>(nat.inbound(mapped.port(), from, now));
}

}  // namespace

// What each NAT type lets in after its host sent one datagram to kRelay.
TEST_CASE("nat filtering by type: a table of who gets in after one datagram to the relay") {
  struct Case {
    int n;
    NatType type;
    Endpoint from;
    bool allowed;
  };
  const Case cases[] = {
      /* 1 */ {1, NatType::full_cone, kRelay, true},
      /* 2 */ {2, NatType::full_cone, kRelayOtherPort, true},
      /* 3 */ {3, NatType::full_cone, kPeer, true},
      /* 4 */ {4, NatType::address_restricted, kRelay, true},
      /* 5 */ {5, NatType::address_restricted, kRelayOtherPort, true},
      /* 6 */ {6, NatType::address_restricted, kPeer, false},
      /* 7 */ {7, NatType::port_restricted, kRelay, true},
      /* 8 */ {8, NatType::port_restricted, kRelayOtherPort, false},
      /* 9 */ {9, NatType::port_restricted, kPeer, false},
      /* 10 */ {10, NatType::symmetric, kRelay, true},
      /* 11 */ {11, NatType::symmetric, kRelayOtherPort, false},
      /* 12 */ {12, NatType::symmetric, kPeer, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.n);
    SimPrng prng(static_cast<std::uint64_t>(c.n));
    SimNat nat(kPublic, {.type = c.type}, prng);
    const Instant t = ManualClock::kDefaultStart;
    const Endpoint mapped = nat.outbound(kInside, kRelay, t);
    CHECK(mapped.with_port(0) == kPublic);
    CHECK(lets_in(nat, mapped, c.from, t) == c.allowed);
    if (c.allowed) CHECK(std::get<Endpoint>(nat.inbound(mapped.port(), c.from, t)) == kInside);
  }
}

TEST_CASE("nat mapping: one public port per inside endpoint for cones, per destination when symmetric") {
  const Instant t = ManualClock::kDefaultStart;
  for (const NatType type : {NatType::full_cone, NatType::address_restricted, NatType::port_restricted}) {
    SimPrng prng(1);
    SimNat nat(kPublic, {.type = type}, prng);
    CHECK(nat.outbound(kInside, kRelay, t) == nat.outbound(kInside, kPeer, t));
    CHECK(nat.mapping_count(t) == 1);
  }
  SimPrng prng(1);
  SimNat nat(kPublic, {.type = NatType::symmetric}, prng);
  const Endpoint to_relay = nat.outbound(kInside, kRelay, t);
  const Endpoint to_peer = nat.outbound(kInside, kPeer, t);
  CHECK(to_relay != to_peer);
  CHECK(nat.outbound(kInside, kRelay, t) == to_relay);
  CHECK(nat.mapping_count(t) == 2);
  // The peer gets in only through its own mapping.
  CHECK_FALSE(lets_in(nat, to_relay, kPeer, t));
  CHECK(lets_in(nat, to_peer, kPeer, t));
}

TEST_CASE("nat forgets an idle mapping after its timeout and maps anew from another port") {
  SimPrng prng(5);
  SimNat nat(kPublic, {.type = NatType::full_cone, .mapping_timeout = 30s, .inbound_refreshes = false}, prng);
  const Instant t = ManualClock::kDefaultStart;
  const Endpoint first = nat.outbound(kInside, kRelay, t);
  CHECK(lets_in(nat, first, kPeer, t + 20s));  // inbound does not refresh it here
  CHECK(lets_in(nat, first, kPeer, t + 30s - 1ns));
  CHECK(nat.inbound(first.port(), kPeer, t + 30s) ==
        std::variant<Endpoint, DropReason>(DropReason::nat_no_mapping));
  const Endpoint second = nat.outbound(kInside, kRelay, t + 31s);
  CHECK(second != first);
}

TEST_CASE("nat with inbound refreshes keeps a mapping alive on inbound traffic alone") {
  SimPrng prng(6);
  SimNat nat(kPublic, {.type = NatType::full_cone, .mapping_timeout = 30s, .inbound_refreshes = true}, prng);
  const Instant t = ManualClock::kDefaultStart;
  const Endpoint mapped = nat.outbound(kInside, kRelay, t);
  CHECK(lets_in(nat, mapped, kRelay, t + 20s));
  CHECK(lets_in(nat, mapped, kRelay, t + 40s));
  CHECK_FALSE(lets_in(nat, mapped, kRelay, t + 71s));
}

TEST_CASE("nat rebinding moves every mapping at once and drops what comes to the old ports") {
  SimPrng prng(7);
  SimNat nat(kPublic, {.type = NatType::port_restricted}, prng);
  const Instant t = ManualClock::kDefaultStart;
  const Endpoint before = nat.outbound(kInside, kRelay, t);
  nat.rebind();
  CHECK(nat.rebinds() == 1);
  CHECK(nat.mapping_count(t) == 0);
  CHECK(nat.inbound(before.port(), kRelay, t) ==
        std::variant<Endpoint, DropReason>(DropReason::nat_no_mapping));
  const Endpoint after = nat.outbound(kInside, kRelay, t);
  CHECK(after != before);
  CHECK(lets_in(nat, after, kRelay, t));
}
