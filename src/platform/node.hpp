// Node: one peermq process on the network: an overlay::Host (everything a node does, no
// I/O) bound to the platform: its UDP socket, one libuv timer, the per-user directory of
// nodes on this host (LocalDirectory) and the system clock. A thin driver: it moves
// datagrams from the socket into the host and from the host into the socket, and calls the
// host at its deadline. Every protocol decision is the host's (overlay/host.hpp).
//
//   UdpSocket --datagram--> Host::on_datagram ... read done --> Host::on_batch_end
//   Host --send--> NodeTransport (DatagramTransport) --> UdpSocket (sendmmsg batches)
//   Timer at Host::next_deadline() --> Host::on_timeout
//
// With NodeOptions::web, the node also listens for browsers (platform/web_listener.hpp):
// a datagram in a WebSocket message reaches the host exactly as a UDP one does, from
// Endpoint::web(n), and the host's datagrams to web(n) leave over that WebSocket.
//
// Threads: the loop's. Lifetime: destroy before the Loop; Identity and Counters outlive it.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "overlay/datagram_transport.hpp"
#include "overlay/host.hpp"
#include "platform/local_directory.hpp"
#include "platform/loop.hpp"
#include "platform/timer.hpp"
#include "platform/node_transport.hpp"
#include "platform/udp_socket.hpp"
#include "platform/web_listener.hpp"
#include "wire/endpoint.hpp"

namespace peermq::platform {

struct NodeOptions {
  // 0.0.0.0 with port 0: every interface, a port the kernel picks.
  Endpoint listen = Endpoint::v4({0, 0, 0, 0}, 0);
  UdpOptions udp{};
  overlay::HostOptions host{};
  std::filesystem::path discovery_dir = LocalDirectory::default_path();
  // Also listen for browsers; the node fills in info_json (its address).
  std::optional<WebOptions> web;
};

class Node {
 public:
  // Throws std::system_error if libuv cannot create the handles (start-up only).
  Node(Loop& loop, Counters& counters, const Identity& identity, NodeOptions options = {});
  Node(Loop&, Counters&, Identity&&, NodeOptions = {}) = delete;  // the identity must outlive it
  ~Node() { stop(); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds the socket, opens the local directory and starts the host. `detail` gets a
  // sentence for the user on failure.
  Result<void> start(std::string* detail);
  // Stops the host (withdrawing our announcement) and closes the socket. Idempotent.
  void stop() noexcept;

  overlay::Host& host() noexcept { return host_; }
  const overlay::Host& host() const noexcept { return host_; }
  const Identity& identity() const noexcept { return identity_; }
  Endpoint local_endpoint() const { return transport_.local_endpoint(); }
  // The web listener (nullptr without NodeOptions::web).
  const WebListener* web() const noexcept { return web_.get(); }

 private:
  // The local directory once start() opened it; before that, nobody is found.
  class Directory final : public overlay::PeerDirectory {
   public:
    std::optional<LocalDirectory> local;
    Result<void> announce(const Identity& me, const overlay::Candidates& endpoints, WallTime now,
                          std::string* detail) override;
    void withdraw(const PublicKey& me) noexcept override;
    Result<overlay::LocalAnnouncement> lookup(const PublicKey& peer, WallTime now,
                                              std::string* detail) override;
  };

  void arm();
  void on_timer();
  void on_input(std::span<const std::uint8_t> data, const Endpoint& from);
  void on_input_done();

  Loop& loop_;
  const Identity& identity_;
  NodeOptions options_;
  SystemClock clock_;
  UdpSocket socket_;
  std::unique_ptr<WebListener> web_;  // null without NodeOptions::web
  NodeTransport transport_;
  Directory directory_;
  overlay::Host host_;
  Timer timer_;
  Instant armed_at_ = Instant::max();
  std::optional<Instant> read_at_;  // when the current read's first datagram came
  bool started_ = false;
};

}  // namespace peermq::platform
