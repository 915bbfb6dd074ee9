// Node: one peermq process on the network: its identity, one PeerTransport, and the way it
// finds other nodes by address alone.
//
// Finding a node: with no relay configured (the overlay's relays come with their own
// runtime), a node announces its endpoint in the per-user LocalDirectory of this host and
// dials others through it, so broker, consumers and producers on one machine need no
// server at all. Dialed peers are looked up again every limits::node_redial_interval (a
// file read and a signature check each), so a broker restarted on another port is found
// again within a second.
//
// Threads: the loop's. Lifetime: destroy before the Loop; Counters outlive it.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "runtime/endpoint.hpp"
#include "runtime/local_directory.hpp"
#include "runtime/loop.hpp"
#include "runtime/peer_transport.hpp"
#include "runtime/timer.hpp"

namespace peermq::runtime {

struct NodeOptions {
  // 0.0.0.0 with port 0: every interface, a port the kernel picks.
  Endpoint listen = Endpoint::v4({0, 0, 0, 0}, 0);
  PeerTransportOptions transport{};
  std::filesystem::path discovery_dir = LocalDirectory::default_path();
  // Write our record so nodes on this host can dial us (brokers, relays); clients that
  // only dial need not.
  bool announce = true;
};

class Node {
 public:
  // Throws std::system_error if libuv cannot create the handles (start-up only).
  Node(Loop& loop, Counters& counters, const Identity& identity, NodeOptions options = {});
  ~Node() { stop(); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds the socket and announces us. `detail` gets a sentence for the user on failure.
  Result<void> start(std::string* detail);
  // Finds `peer` and hands its endpoint to the transport. Errors: LocalDirectoryError
  // (not_found: no such node on this host). Whatever the outcome, the node keeps looking
  // it up while it is unreachable.
  Result<void> dial(const PublicKey& peer, std::string* detail = nullptr);
  // Withdraws our announcement and closes the transport. Idempotent.
  void stop() noexcept;

  PeerTransport& transport() noexcept { return transport_; }
  const Identity& identity() const noexcept { return identity_; }
  Endpoint local_endpoint() const { return transport_.local_endpoint(); }

 private:
  Result<void> resolve(const PublicKey& peer, std::string* detail);
  void announce();
  void on_tick();

  Loop& loop_;
  const Identity& identity_;
  NodeOptions options_;
  PeerTransport transport_;
  std::optional<LocalDirectory> directory_;
  std::set<PublicKey> dialed_;
  Timer tick_;
  Instant announced_at_{};
  bool announced_ = false;
};

}  // namespace peermq::runtime
