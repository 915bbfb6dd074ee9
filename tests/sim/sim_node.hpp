// SimNode: one simulated peermq process: a real overlay::Host bound to a SimSocket, the
// scheduler (its clock and its only timer) and its machine's SimDirectory, exactly as
// platform::Node binds a Host to libuv:
//
//   SimSocket --datagram--> Host::on_datagram ... read done --> Host::on_batch_end
//   Host --send--> SimSocket (flushed after every call into the host, as the libuv socket
//                             flushes around each loop iteration)
//   one scheduler event at Host::next_deadline() --> Host::on_timeout
//   Host's wake callback --> re-arm (a deadline in the past runs at once)
// A thin driver: it decides nothing about the protocol (overlay/host.hpp decides all).
//
// Process controls:
//   stop()              a clean exit: the host withdraws its announcement; socket closed.
//   crash()             the process dies: every bit of state is lost, its directory record
//                       stays behind (until it expires), queued datagrams are dropped.
//   start() after either, or restart() (crash, then start): the same key, a new
//                       incarnation (a new Host at a later time), the same port when one
//                       was configured, else a new ephemeral port as a real process gets.
//   set_unresponsive()  never answers: the process runs but every datagram it sends or is
//                       sent is dropped (SimSocket).
// Listeners (on_message, ...) and the record of path changes survive restarts; so do the
// Counters (one registry for every run of the node, as a long-lived metrics scrape sees).
//
// Single-threaded. The scheduler, network and directory outlive the node. Listeners may
// call into host() but must not destroy the node.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "overlay/host.hpp"
#include "overlay/relay_spec.hpp"
#include "sim/sim_directory.hpp"
#include "sim/sim_network.hpp"
#include "sim/sim_scheduler.hpp"
#include "sim/sim_socket.hpp"

namespace peermq::sim {

struct SimNodeOptions {
  std::uint16_t port = 0;  // 0: an ephemeral port, a new one each start
  overlay::HostOptions host{};
  std::size_t send_queue = 1024;  // datagrams, as platform::UdpOptions
};

// How a peer's authenticated packets reached this node (Host::on_arrival), over all runs.
struct ArrivalRecord {
  std::uint64_t direct = 0;
  std::uint64_t relayed = 0;
  Instant last_direct = Instant::min();
  Instant last_relayed = Instant::min();
};

struct PathRecord {
  Instant at{};
  PublicKey peer{};
  overlay::PathEvent event;
};

class SimNode {
 public:
  using MessageCallback = overlay::Host::MessageCallback;
  using PeerCallback = overlay::Host::PeerCallback;

  SimNode(SimScheduler& scheduler, SimNetwork& network, MachineId machine,
          overlay::PeerDirectory* directory, Identity identity, SimNodeOptions options,
          std::string name);
  ~SimNode() { crash(); }
  SimNode(const SimNode&) = delete;
  SimNode& operator=(const SimNode&) = delete;

  // Binds the socket and starts a new Host. `detail` gets the reason on failure.
  Result<void> start(std::string* detail = nullptr);
  void stop() noexcept;
  void crash() noexcept;
  Result<void> restart(std::string* detail = nullptr);
  void set_unresponsive(bool on) noexcept { socket_.set_unresponsive(on); }

  bool running() const noexcept { return host_.has_value(); }
  // The running host (programmer error when not running: std::logic_error).
  overlay::Host& host();
  const overlay::Host& host() const;
  const PublicKey& key() const noexcept { return identity_.public_key(); }
  const Identity& identity() const noexcept { return identity_; }
  const std::string& name() const noexcept { return name_; }
  MachineId machine() const noexcept { return machine_; }
  // Where it listens (Family::none when not running).
  Endpoint endpoint() const { return socket_.local_endpoint(); }
  // How other nodes name it as their relay: with its key (ADDR@HOST:PORT) or without.
  overlay::RelaySpec relay_spec(bool with_key = true) const;
  SimNodeOptions& options() noexcept { return options_; }
  const SimNodeOptions& options() const noexcept { return options_; }
  Counters& counters() noexcept { return counters_; }
  // Starts so far (1 after the first start()).
  std::uint64_t runs() const noexcept { return runs_; }

  void on_message(MessageCallback callback) { on_message_.push_back(std::move(callback)); }
  void on_writable(PeerCallback callback) { on_writable_.push_back(std::move(callback)); }
  void on_peer_reset(PeerCallback callback) { on_peer_reset_.push_back(std::move(callback)); }
  void on_peer_closed(PeerCallback callback) { on_peer_closed_.push_back(std::move(callback)); }
  // After every call into the host (a read's datagrams, a timer), as libuv's check phase
  // follows its I/O phase: where a service's TurnHook runs (sim/sim_executor.hpp).
  void on_turn(std::function<void()> callback) { on_turn_.push_back(std::move(callback)); }
  // Every route change the host's router logged, over all runs.
  const std::vector<PathRecord>& path_log() const noexcept { return path_log_; }
  // How `peer`'s packets arrived (zeros for a peer never heard from).
  ArrivalRecord arrivals_from(const PublicKey& peer) const;

 private:
  void wire_callbacks();
  void arm();
  void on_timer();
  void after_turn();

  SimScheduler& scheduler_;
  MachineId machine_;
  overlay::PeerDirectory* directory_;
  Identity identity_;
  SimNodeOptions options_;
  std::string name_;
  Counters counters_;
  SimSocket socket_;
  std::optional<overlay::Host> host_;
  EventId timer_ = 0;
  Instant armed_at_ = Instant::max();
  std::uint64_t runs_ = 0;
  std::vector<MessageCallback> on_message_;
  std::vector<PeerCallback> on_writable_;
  std::vector<PeerCallback> on_peer_reset_;
  std::vector<PeerCallback> on_peer_closed_;
  std::vector<std::function<void()>> on_turn_;
  std::vector<PathRecord> path_log_;
  std::map<PublicKey, ArrivalRecord> arrivals_;
};

}  // namespace peermq::sim
