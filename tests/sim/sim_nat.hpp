// SimNat: one NAT router in front of a site's hosts, in the terms of RFC 4787.
//
// Mapping (which public port an outbound datagram leaves from):
//   full_cone, address_restricted, port_restricted: endpoint-independent: one public port
//     per inside endpoint, whatever the destination (what a relay observes is what every
//     peer can use).
//   symmetric: a new public port per (inside endpoint, destination), like iptables
//     MASQUERADE --random-fully: what a relay observes is useless to anyone else.
// Filtering (which inbound datagrams a mapping lets in):
//   full_cone           anyone.
//   address_restricted  any port of an IP address the inside endpoint has sent to.
//   port_restricted     exactly the endpoints it has sent to (Linux conntrack's
//                       ESTABLISHED, what a home router usually does).
//   symmetric           exactly the one destination of the mapping.
// Public ports are drawn at random (the network's stream), never one in use or one used
// before the last rebind.
//
// What it injects, each an explicit option:
//   mapping_timeout    a mapping idle this long is forgotten: later datagrams to its port
//                      are dropped (nat_no_mapping) and the next outbound one gets a new
//                      port. Idle means no outbound datagram, and, with inbound_refreshes,
//                      no inbound datagram it let in either.
//   hairpin            a datagram from inside to the NAT's own public address is turned
//                      around to the inside host that owns the port (filtered as if it came
//                      from outside, from the sender's mapping); without it it is dropped.
//   isolate_hosts      hosts behind it cannot reach each other's private addresses (a
//                      carrier-grade NAT, a guest network): only hairpinning connects them.
//   rebind()           every mapping changes at once (a router reboot, a new public port
//                      range): datagrams to old ports are dropped, new ones leave from new
//                      ports.
// No I/O; the network asks it, with the time. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <variant>

#include <peermq/clock.hpp>

#include "sim/sim_link.hpp"
#include "sim/sim_network_stats.hpp"
#include "sim/sim_random.hpp"
#include "wire/endpoint.hpp"

namespace peermq::sim {

enum class NatType { full_cone, address_restricted, port_restricted, symmetric };
const char* name(NatType t) noexcept;

struct NatOptions {
  NatType type = NatType::port_restricted;
  bool hairpin = false;
  bool isolate_hosts = false;
  Duration mapping_timeout = std::chrono::seconds(30);
  bool inbound_refreshes = true;
  LinkOptions uplink{};  // the site's line to the internet, crossed by every datagram
                         // that leaves or enters the site
};

// Orders endpoints by (address, port): maps of endpoints iterate the same in every run.
struct EndpointLess {
  bool operator()(const Endpoint& a, const Endpoint& b) const noexcept {
    return std::make_tuple(a.ip16(), a.port()) < std::make_tuple(b.ip16(), b.port());
  }
};

class SimNat {
 public:
  SimNat(const Endpoint& public_address, const NatOptions& options, SimPrng& prng);

  // An outbound datagram from `inside` to `to`: the public endpoint it leaves from. Makes
  // or refreshes the mapping and lets `to` in through it from now on.
  Endpoint outbound(const Endpoint& inside, const Endpoint& to, Instant now);
  // An inbound datagram to public `port` from `from`: the inside endpoint it goes to, or
  // why it is dropped (nat_no_mapping, nat_filtered).
  std::variant<Endpoint, DropReason> inbound(std::uint16_t port, const Endpoint& from,
                                             Instant now);
  void rebind();

  const Endpoint& public_address() const noexcept { return public_; }
  const NatOptions& options() const noexcept { return options_; }
  NatOptions& options() noexcept { return options_; }
  // Mappings not expired at `now`.
  std::size_t mapping_count(Instant now) const;
  std::uint64_t rebinds() const noexcept { return rebinds_; }

 private:
  struct Mapping {
    Endpoint inside;
    Endpoint destination;  // symmetric only; Family::none for the cone types
    std::uint16_t port = 0;
    Instant last_used{};
    std::set<Endpoint, EndpointLess> sent_to;  // endpoints (or, address-restricted, IPs)
  };
  using Key = std::pair<Endpoint, Endpoint>;  // (inside, destination or none)
  struct KeyLess {
    bool operator()(const Key& a, const Key& b) const noexcept {
      EndpointLess less;
      if (less(a.first, b.first)) return true;
      if (less(b.first, a.first)) return false;
      return less(a.second, b.second);
    }
  };

  bool expired(const Mapping& m, Instant now) const noexcept {
    return now - m.last_used >= options_.mapping_timeout;
  }
  // The filter's key for a peer endpoint: the IP alone for address_restricted.
  Endpoint filter_key(const Endpoint& peer) const noexcept;
  std::uint16_t fresh_port();

  Endpoint public_;
  NatOptions options_;
  SimPrng& prng_;
  std::map<Key, std::uint16_t, KeyLess> by_key_;
  std::map<std::uint16_t, Mapping> by_port_;
  std::set<std::uint16_t> retired_;  // ports of mappings before the last rebind
  std::uint64_t rebinds_ = 0;
};

}  // namespace peermq::sim
