#include "sim/sim_world.hpp"

#include <stdexcept>

namespace peermq::sim {

SimWorld::SimWorld(std::uint64_t seed)
    : random_(seed), log_(scheduler_), network_(scheduler_, random_) {}

SimWorld::~SimWorld() {
  // Streams first: they hold listeners on the nodes and events in the scheduler.
  streams_.clear();
  nodes_.clear();
}

MachineId SimWorld::public_machine(const LinkOptions& link) {
  return network_.add_public_machine(link);
}

NatId SimWorld::nat(const NatOptions& options) {
  return network_.add_nat(options);
}

MachineId SimWorld::machine_behind(NatId nat, const LinkOptions& link) {
  return network_.add_machine_behind(nat, link);
}

SimDirectory& SimWorld::directory(MachineId machine) {
  auto& d = directories_[machine];
  if (!d) d = std::make_unique<SimDirectory>();
  return *d;
}

SimNode& SimWorld::add_relay(MachineId machine, std::uint16_t port, SimNodeOptions options) {
  options.port = port;
  options.host.relay = true;
  std::size_t relays = 0;
  for (const auto& n : nodes_) relays += n->options().host.relay;
  nodes_.push_back(std::make_unique<SimNode>(scheduler_, network_, machine, &directory(machine),
                                             Identity::generate(), std::move(options),
                                             "relay" + std::to_string(relays + 1)));
  SimNode& node = *nodes_.back();
  node.on_message([this, &node](const PublicKey& peer, std::span<const std::uint8_t> m) {
    checker_.on_delivered(node.key(), peer, m);
  });
  std::string detail;
  if (!node.start(&detail)) throw std::runtime_error("a relay did not start: " + detail);
  return node;
}

SimNode& SimWorld::add_node(MachineId machine, const std::vector<const SimNode*>& relays,
                            SimNodeOptions options, bool relay_keys) {
  for (const SimNode* r : relays) options.host.router.relays.push_back(r->relay_spec(relay_keys));
  std::size_t others = 0;
  for (const auto& n : nodes_) others += !n->options().host.relay;
  nodes_.push_back(std::make_unique<SimNode>(scheduler_, network_, machine, &directory(machine),
                                             Identity::generate(), std::move(options),
                                             "node" + std::to_string(others + 1)));
  SimNode& node = *nodes_.back();
  node.on_message([this, &node](const PublicKey& peer, std::span<const std::uint8_t> m) {
    checker_.on_delivered(node.key(), peer, m);
  });
  std::string detail;
  if (!node.start(&detail)) throw std::runtime_error("a node did not start: " + detail);
  return node;
}

MessageStream& SimWorld::stream(SimNode& from, SimNode& to, MessageStreamOptions options) {
  const std::string label = from.name() + "->" + to.name() + "#" + std::to_string(streams_.size());
  streams_.push_back(std::make_unique<MessageStream>(scheduler_, checker_,
                                                     random_.derive("traffic/" + label), from, to,
                                                     options, label));
  return *streams_.back();
}

void SimWorld::judge(Verdict& v) const {
  checker_.judge(v);
  const SimNetworkStats& s = network_.stats();
  if (s.sent + s.duplicated != s.delivered + s.dropped() + network_.in_flight()) {
    v.fail("network: datagrams unaccounted for: " + s.describe());
  }
}

std::string SimWorld::describe() const {
  std::string out = "network: " + network_.stats().describe() + "\n";
  for (const auto& n : nodes_) {
    out += "  " + n->name() + (n->running() ? " at " + n->endpoint().to_string() : " (down)");
    if (n->running()) {
      const overlay::Host& h = n->host();
      out += ", peers " + std::to_string(h.peer_count());
      if (h.router().uses_relays()) {
        out += ", relays registered " + std::to_string(h.router().relays_registered()) + "/" +
               std::to_string(h.router().relays_known());
      }
      for (const auto& m : nodes_) {
        if (m.get() == n.get() || h.channel(m->key()) == nullptr) continue;
        out += ", " + m->name() + ": " + h.describe(h.route_of(m->key()));
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace peermq::sim
