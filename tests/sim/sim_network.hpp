// SimNetwork: the machines of a simulated run, the NATs in front of some of them, and the
// datagrams between them, in virtual time (SimScheduler) with seeded faults (SimRandom).
//
// Addresses:
//   public machines     192.0.2.1, .2, ...  (then 203.0.113.x)
//   NATs (public side)  198.51.100.1, .2, ...
//   hosts behind NAT n  10.<n+1>.0.1, .2, ...
// A machine runs any number of sockets, one per port (its nodes share its SimDirectory).
//
// The way of a datagram (SimLink says what each link does; SimNat what each NAT does):
//   to its own machine's address   delivered at once, no link crossed (loopback).
//   between hosts behind one NAT   sender's link, receiver's link, private addresses on
//                                  both ends (unless the NAT isolates its hosts).
//   to the NAT's own public address from behind it: hairpinning (SimNat), or dropped.
//   anything else                  sender's link (and its NAT's uplink, translated on the
//                                  way out), then at the far end the receiver's NAT (its
//                                  filter decides when the datagram gets there), its
//                                  uplink and the receiver's link.
// Faults besides the links' and the NATs': cut(a, b) drops everything between two machines
// (datagrams in flight included, when they arrive); isolate(m) drops everything to and from
// one machine; SimNat::rebind() (through nat()) moves every mapping of a NAT at once.
// Every datagram is counted (SimNetworkStats): delivered, or dropped for one reason.
//
// Sockets register a Receiver for their (machine, port); the network calls it when a
// datagram gets there, and it says whether it took the datagram. Single-threaded; the
// scheduler and SimRandom outlive the network, the network outlives the sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "sim/sim_link.hpp"
#include "sim/sim_nat.hpp"
#include "sim/sim_network_stats.hpp"
#include "sim/sim_random.hpp"
#include "sim/sim_scheduler.hpp"
#include "wire/endpoint.hpp"

namespace peermq::sim {

using MachineId = std::size_t;
using NatId = std::size_t;

class SimNetwork {
 public:
  // nullopt: the socket took the datagram; else why it threw it away.
  using Receiver = std::function<std::optional<DropReason>(std::span<const std::uint8_t> bytes,
                                                           const Endpoint& from)>;

  SimNetwork(SimScheduler& scheduler, SimRandom& random);
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // A link to a host on the same site as its router: 1 ms.
  static LinkOptions lan_link();

  // ---- topology ----
  MachineId add_public_machine(const LinkOptions& link = {});
  NatId add_nat(const NatOptions& options = {});
  MachineId add_machine_behind(NatId nat, const LinkOptions& link = lan_link());
  // The machine's address, port 0.
  Endpoint address_of(MachineId m) const { return machines_.at(m).address; }
  std::optional<NatId> nat_of(MachineId m) const { return machines_.at(m).nat; }
  LinkOptions& link(MachineId m) { return machines_.at(m).link; }
  SimNat& nat(NatId n) { return *nats_.at(n); }
  std::size_t machine_count() const noexcept { return machines_.size(); }

  // ---- faults ----
  void cut(MachineId a, MachineId b) { cuts_.insert(std::minmax(a, b)); }
  void heal(MachineId a, MachineId b) { cuts_.erase(std::minmax(a, b)); }
  void isolate(MachineId m) { machines_.at(m).isolated = true; }
  void reconnect(MachineId m) { machines_.at(m).isolated = false; }

  // ---- sockets ----
  // Binds `port` on `m` (0: an unused ephemeral port); nullopt when the port is taken.
  std::optional<Endpoint> bind(MachineId m, std::uint16_t port, Receiver receiver);
  void unbind(const Endpoint& local);
  // One datagram from the socket bound at `from` to `to`, leaving now. The bytes are copied.
  void send(const Endpoint& from, const Endpoint& to, std::span<const std::uint8_t> bytes);
  // A datagram its sender threw away before the network saw it (counted as sent and dropped).
  void refuse(DropReason why);

  const SimNetworkStats& stats() const noexcept { return stats_; }
  // Datagram copies still on their way.
  std::uint64_t in_flight() const noexcept { return in_flight_; }

 private:
  struct Machine {
    Endpoint address;
    std::optional<NatId> nat;
    LinkOptions link;
    bool isolated = false;
    std::uint16_t next_ephemeral = 49152;
  };
  using Bytes = std::vector<std::uint8_t>;

  std::optional<MachineId> machine_at(const Endpoint& address) const;
  std::optional<NatId> nat_at(const Endpoint& address) const;
  bool blocked(MachineId a, MachineId b) const;
  // Crosses `links` in order, then delivers each surviving copy to `to` on `receiver`.
  void travel(MachineId sender, MachineId receiver, const Endpoint& to, const Endpoint& from,
              Bytes bytes, std::vector<const LinkOptions*> links);
  // Crosses `links`, then calls `then` with each surviving copy, after its delay.
  void cross_links(Bytes bytes, const std::vector<const LinkOptions*>& links,
                   std::function<void(Bytes)> then);
  // A datagram from outside at a public address: a machine, or a NAT's public side.
  void arrive(MachineId sender, const Endpoint& to, const Endpoint& from, Bytes bytes);
  // A datagram at NAT `n`'s public port, from outside or hairpinned from inside.
  void arrive_at_nat(NatId n, MachineId sender, const Endpoint& to, const Endpoint& from,
                     Bytes bytes, bool hairpinned);
  void deliver(const Endpoint& to, const Endpoint& from, std::span<const std::uint8_t> bytes);

  SimScheduler& scheduler_;
  SimPrng& prng_;
  std::vector<Machine> machines_;
  std::vector<std::unique_ptr<SimNat>> nats_;
  std::map<Endpoint, MachineId, EndpointLess> by_address_;
  std::map<Endpoint, NatId, EndpointLess> nat_by_address_;
  std::map<Endpoint, Receiver, EndpointLess> sockets_;
  std::set<std::pair<MachineId, MachineId>> cuts_;
  SimNetworkStats stats_;
  std::uint64_t in_flight_ = 0;
};

}  // namespace peermq::sim
