// SimWorld: one simulated run, put together: its randomness (first, so that every key is
// drawn from the seed), virtual time, network, the machines' directories, the nodes, the
// traffic, the delivery checker and the log. Scenarios build their topology on it, run it,
// inject faults through its parts, and judge it; the seed runner (sim_seeds.hpp) makes one
// per seed.
//
//   SimWorld w(seed);
//   const NatId home = w.nat({.type = NatType::port_restricted});
//   SimNode& relay = w.add_relay(w.public_machine());
//   SimNode& a = w.add_node(w.machine_behind(home), {&relay});
//   SimNode& b = w.add_node(w.public_machine(), {&relay});
//   w.stream(a, b, {.count = 100}).start();
//   w.run_until([&] { return w.checker().complete(); }, 30s);
//
// Nodes are started when added. Relays are given to nodes with their key (ADDR@HOST:PORT),
// or by endpoint alone (add_node's relay_keys = false), as a new user would.
// Single-threaded. Everything lives as long as the world; the nodes go before the network,
// the network before the scheduler, the randomness last (libsodium's source is restored).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/delivery_checker.hpp"
#include "sim/message_stream.hpp"
#include "sim/sim_directory.hpp"
#include "sim/sim_log.hpp"
#include "sim/sim_network.hpp"
#include "sim/sim_node.hpp"
#include "sim/sim_random.hpp"
#include "sim/sim_scheduler.hpp"
#include "sim/verdict.hpp"

namespace peermq::sim {

class SimWorld {
 public:
  explicit SimWorld(std::uint64_t seed);
  ~SimWorld();
  SimWorld(const SimWorld&) = delete;
  SimWorld& operator=(const SimWorld&) = delete;

  std::uint64_t seed() const noexcept { return random_.seed(); }
  SimRandom& random() noexcept { return random_; }
  SimScheduler& scheduler() noexcept { return scheduler_; }
  SimNetwork& network() noexcept { return network_; }
  DeliveryChecker& checker() noexcept { return checker_; }
  const SimLog& log() const noexcept { return log_; }
  Instant now() const noexcept { return scheduler_.now(); }

  // ---- topology ----
  MachineId public_machine(const LinkOptions& link = {});
  NatId nat(const NatOptions& options = {});
  MachineId machine_behind(NatId nat, const LinkOptions& link = SimNetwork::lan_link());
  SimDirectory& directory(MachineId machine);

  // A relay on `machine`, listening on `port`, started.
  SimNode& add_relay(MachineId machine, std::uint16_t port = 7000, SimNodeOptions options = {});
  // A node on `machine` using `relays` (in order of preference), started. `relay_keys`
  // false: the relays are named by endpoint only and their keys learned on first contact.
  SimNode& add_node(MachineId machine, const std::vector<const SimNode*>& relays,
                    SimNodeOptions options = {}, bool relay_keys = true);
  const std::vector<std::unique_ptr<SimNode>>& nodes() const noexcept { return nodes_; }

  // A stream of checked messages from `from` to `to` (not started).
  MessageStream& stream(SimNode& from, SimNode& to, MessageStreamOptions options = {});

  bool run_until(const std::function<bool()>& done, Duration limit) {
    return scheduler_.run_until(done, limit);
  }
  void run_for(Duration d) { scheduler_.run_for(d); }

  // The invariants of every run, whatever the scenario: the delivery checker's safety
  // (nothing duplicated, reordered, corrupted or misdelivered) and the network's
  // accounting (every datagram delivered or dropped for a reason).
  void judge(Verdict& v) const;
  // A few lines for a failure report: the network's counts and every node's state.
  std::string describe() const;

 private:
  SimRandom random_;
  SimScheduler scheduler_;
  SimLog log_;
  SimNetwork network_;
  DeliveryChecker checker_;
  std::map<MachineId, std::unique_ptr<SimDirectory>> directories_;
  std::deque<std::unique_ptr<MessageStream>> streams_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
};

}  // namespace peermq::sim
