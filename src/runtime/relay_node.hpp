// RelayNode: `peermq relay`: a Node whose overlay messages from other nodes (register,
// lookup, punch_request, forward) go to a RelayServer, and whose answers (registered,
// lookup_result, punch_notify, forwarded) go back inside the relay's sessions with them.
//
// The relay answers key requests (nodes given only HOST:PORT learn its key that way),
// answers pings like every node, and dials nobody. What it forwards is end-to-end session
// datagrams between two other nodes: it can read none of them, and a node's address is
// its key, so it cannot pose as anyone either. Rate limits per peer are the server's
// (limits::relay_forward_*, relay_signal_*).
//
// Threads: the loop's. Lifetime: destroy before the Loop; Counters outlive it.
#pragma once

#include <string>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "overlay/relay_server.hpp"
#include "runtime/loop.hpp"
#include "runtime/node.hpp"
#include "runtime/timer.hpp"

namespace peermq::runtime {

struct RelayNodeOptions {
  NodeOptions node{};  // relays and announce are ignored: a relay uses none and is not dialed
  overlay::RelayServerConfig server{};
};

class RelayNode {
 public:
  // Throws std::system_error if libuv cannot create the handles (start-up only).
  RelayNode(Loop& loop, Counters& counters, const Identity& identity,
            RelayNodeOptions options = {});
  RelayNode(const RelayNode&) = delete;
  RelayNode& operator=(const RelayNode&) = delete;
  ~RelayNode() { stop(); }

  // Binds the socket. `detail` gets a sentence for the user on failure.
  Result<void> start(std::string* detail);
  void stop() noexcept;

  Node& node() noexcept { return node_; }
  Endpoint local_endpoint() const { return node_.local_endpoint(); }
  const overlay::RelayServer& server() const noexcept { return server_; }

 private:
  static NodeOptions node_options(NodeOptions o);
  void on_request(const PublicKey& from, const Endpoint& source, const overlay::OverlayMessage& m);
  void on_timer();
  void pump();

  Loop& loop_;
  overlay::RelayServer server_;
  Node node_;
  Timer timer_;
  Instant armed_at_ = Instant::max();
  struct Metrics {
    Gauge* registered;
    Counter* forwarded_packets;
    Counter* forwarded_bytes;
    Counter* lookups;
    Counter* punches;
  } metrics_;
  overlay::RelayServerStats reported_{};
};

}  // namespace peermq::runtime
