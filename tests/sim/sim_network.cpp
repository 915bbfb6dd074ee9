#include "sim/sim_network.hpp"

#include <stdexcept>

namespace peermq::sim {

namespace {

Endpoint public_address(std::size_t i) {
  if (i < 254) return Endpoint::v4({192, 0, 2, static_cast<std::uint8_t>(i + 1)}, 0);
  if (i < 508) return Endpoint::v4({203, 0, 113, static_cast<std::uint8_t>(i - 253)}, 0);
  throw std::invalid_argument("SimNetwork: at most 508 public machines");
}

}  // namespace

SimNetwork::SimNetwork(SimScheduler& scheduler, SimRandom& random)
    : scheduler_(scheduler), prng_(random.network()) {}

LinkOptions SimNetwork::lan_link() {
  LinkOptions l;
  l.delay = std::chrono::milliseconds(1);
  return l;
}

// ---- topology --------------------------------------------------------------------------------

MachineId SimNetwork::add_public_machine(const LinkOptions& link) {
  std::size_t publics = 0;
  for (const Machine& m : machines_) publics += !m.nat.has_value();
  Machine m;
  m.address = public_address(publics);
  m.link = link;
  machines_.push_back(m);
  by_address_.emplace(m.address, machines_.size() - 1);
  return machines_.size() - 1;
}

NatId SimNetwork::add_nat(const NatOptions& options) {
  if (nats_.size() >= 254) throw std::invalid_argument("SimNetwork: at most 254 NATs");
  const Endpoint address = Endpoint::v4({198, 51, 100, static_cast<std::uint8_t>(nats_.size() + 1)}, 0);
  nats_.push_back(std::make_unique<SimNat>(address, options, prng_));
  nat_by_address_.emplace(address, nats_.size() - 1);
  return nats_.size() - 1;
}

MachineId SimNetwork::add_machine_behind(NatId nat, const LinkOptions& link) {
  (void)nats_.at(nat);
  std::size_t hosts = 0;
  for (const Machine& m : machines_) hosts += m.nat == nat;
  if (hosts >= 254) throw std::invalid_argument("SimNetwork: at most 254 hosts behind one NAT");
  Machine m;
  m.address = Endpoint::v4(
      {10, static_cast<std::uint8_t>(nat + 1), 0, static_cast<std::uint8_t>(hosts + 1)}, 0);
  m.nat = nat;
  m.link = link;
  machines_.push_back(m);
  by_address_.emplace(m.address, machines_.size() - 1);
  return machines_.size() - 1;
}

std::optional<MachineId> SimNetwork::machine_at(const Endpoint& address) const {
  auto it = by_address_.find(address.with_port(0));
  if (it == by_address_.end()) return std::nullopt;
  return it->second;
}

std::optional<NatId> SimNetwork::nat_at(const Endpoint& address) const {
  auto it = nat_by_address_.find(address.with_port(0));
  if (it == nat_by_address_.end()) return std::nullopt;
  return it->second;
}

bool SimNetwork::blocked(MachineId a, MachineId b) const {
  return machines_[a].isolated || machines_[b].isolated || cuts_.count(std::minmax(a, b)) != 0;
}

// ---- sockets ---------------------------------------------------------------------------------

std::optional<Endpoint> SimNetwork::bind(MachineId m, std::uint16_t port, Receiver receiver) {
  Machine& machine = machines_.at(m);
  if (port == 0) {
    for (int tries = 0; tries < 16384 && port == 0; ++tries) {
      const std::uint16_t candidate = machine.next_ephemeral;
      machine.next_ephemeral =
          candidate == 65535 ? std::uint16_t{49152} : static_cast<std::uint16_t>(candidate + 1);
      if (sockets_.count(machine.address.with_port(candidate)) == 0) port = candidate;
    }
    if (port == 0) return std::nullopt;
  }
  const Endpoint local = machine.address.with_port(port);
  if (!sockets_.emplace(local, std::move(receiver)).second) return std::nullopt;
  return local;
}

void SimNetwork::unbind(const Endpoint& local) {
  sockets_.erase(local);
}

void SimNetwork::refuse(DropReason why) {
  ++stats_.sent;
  stats_.drop(why);
}

// ---- the way of a datagram -------------------------------------------------------------------

void SimNetwork::send(const Endpoint& from, const Endpoint& to,
                      std::span<const std::uint8_t> bytes) {
  ++stats_.sent;
  const auto s = machine_at(from);
  if (!s || sockets_.count(from) == 0) {
    stats_.drop(DropReason::closed);
    return;
  }
  if (to.port() == 0 || to.is_unspecified()) {
    stats_.drop(DropReason::no_route);
    return;
  }
  const MachineId sender = *s;
  if (machines_[sender].isolated) {
    stats_.drop(DropReason::partition);
    return;
  }
  Bytes b(bytes.begin(), bytes.end());
  const Machine& self = machines_[sender];
  if (to.with_port(0) == self.address) {
    travel(sender, sender, to, from, std::move(b), {});
    return;
  }
  const auto target = machine_at(to);
  if (!self.nat) {
    if (target && machines_[*target].nat) {
      stats_.drop(DropReason::no_route);  // a private address, from the internet
      return;
    }
    cross_links(std::move(b), {&self.link},
                [this, sender, to, from](Bytes c) { arrive(sender, to, from, std::move(c)); });
    return;
  }
  const NatId site = *self.nat;
  SimNat& nat = *nats_[site];
  if (target && machines_[*target].nat == site) {
    if (nat.options().isolate_hosts) {
      stats_.drop(DropReason::no_route);
      return;
    }
    travel(sender, *target, to, from, std::move(b), {&self.link, &machines_[*target].link});
    return;
  }
  if (target && machines_[*target].nat) {
    stats_.drop(DropReason::no_route);  // another site's private address
    return;
  }
  if (to.with_port(0) == nat.public_address()) {
    if (!nat.options().hairpin) {
      stats_.drop(DropReason::no_hairpin);
      return;
    }
    const Endpoint src = nat.outbound(from, to, scheduler_.now());
    cross_links(std::move(b), {&self.link}, [this, site, sender, to, src](Bytes c) {
      arrive_at_nat(site, sender, to, src, std::move(c), true);
    });
    return;
  }
  const Endpoint src = nat.outbound(from, to, scheduler_.now());
  cross_links(std::move(b), {&self.link, &nat.options().uplink},
              [this, sender, to, src](Bytes c) { arrive(sender, to, src, std::move(c)); });
}

void SimNetwork::arrive(MachineId sender, const Endpoint& to, const Endpoint& from, Bytes bytes) {
  if (const auto n = nat_at(to)) {
    arrive_at_nat(*n, sender, to, from, std::move(bytes), false);
    return;
  }
  const auto m = machine_at(to);
  if (!m || machines_[*m].nat) {
    stats_.drop(DropReason::no_route);
    return;
  }
  travel(sender, *m, to, from, std::move(bytes), {&machines_[*m].link});
}

void SimNetwork::arrive_at_nat(NatId n, MachineId sender, const Endpoint& to, const Endpoint& from,
                               Bytes bytes, bool hairpinned) {
  SimNat& nat = *nats_[n];
  auto inside = nat.inbound(to.port(), from, scheduler_.now());
  if (const DropReason* why = std::get_if<DropReason>(&inside)) {
    stats_.drop(*why);
    return;
  }
  const Endpoint local = std::get<Endpoint>(inside);
  const auto m = machine_at(local);
  if (!m) {
    stats_.drop(DropReason::no_route);
    return;
  }
  std::vector<const LinkOptions*> links;
  if (!hairpinned) links.push_back(&nat.options().uplink);
  links.push_back(&machines_[*m].link);
  travel(sender, *m, local, from, std::move(bytes), std::move(links));
}

void SimNetwork::travel(MachineId sender, MachineId receiver, const Endpoint& to,
                        const Endpoint& from, Bytes bytes, std::vector<const LinkOptions*> links) {
  if (blocked(sender, receiver)) {
    stats_.drop(DropReason::partition);
    return;
  }
  cross_links(std::move(bytes), links, [this, sender, receiver, to, from](Bytes c) {
    // A cut made while the datagram was on its way still drops it.
    if (blocked(sender, receiver)) {
      stats_.drop(DropReason::partition);
      return;
    }
    deliver(to, from, c);
  });
}

void SimNetwork::cross_links(Bytes bytes, const std::vector<const LinkOptions*>& links,
                             std::function<void(Bytes)> then) {
  std::vector<LinkCopy> copies{LinkCopy{}};
  for (const LinkOptions* link : links) {
    std::vector<LinkCopy> next;
    for (const LinkCopy& copy : copies) {
      LinkFate fate = cross(*link, bytes.size(), prng_);
      if (fate.outcome != LinkFate::Outcome::passed) {
        stats_.drop(fate.outcome == LinkFate::Outcome::lost ? DropReason::loss
                                                             : DropReason::too_big);
        continue;
      }
      stats_.duplicated += fate.copies.size() - 1;
      stats_.reordered += fate.reordered;
      for (const LinkCopy& c : fate.copies) {
        next.push_back(LinkCopy{copy.delay + c.delay, copy.corrupt || c.corrupt});
      }
    }
    copies = std::move(next);
  }
  auto shared_then = std::make_shared<std::function<void(Bytes)>>(std::move(then));
  for (std::size_t i = 0; i < copies.size(); ++i) {
    Bytes copy = i + 1 == copies.size() ? std::move(bytes) : bytes;
    if (copies[i].corrupt) {
      corrupt(copy, prng_);
      ++stats_.corrupted;
    }
    ++in_flight_;
    scheduler_.after(copies[i].delay, [this, shared_then, c = std::move(copy)]() mutable {
      --in_flight_;
      (*shared_then)(std::move(c));
    });
  }
}

void SimNetwork::deliver(const Endpoint& to, const Endpoint& from,
                         std::span<const std::uint8_t> bytes) {
  auto it = sockets_.find(to);
  if (it == sockets_.end()) {
    stats_.drop(DropReason::no_listener);
    return;
  }
  // The receiver may unbind itself (a node that crashes on a datagram): call a copy.
  const Receiver receiver = it->second;
  if (const auto why = receiver(bytes, from)) {
    stats_.drop(*why);
    return;
  }
  ++stats_.delivered;
}

}  // namespace peermq::sim
