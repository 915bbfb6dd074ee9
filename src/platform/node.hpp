// Node: one peermq process on the network: an overlay::Host (everything a node does, no
// I/O) bound to the platform: its UDP socket, one libuv timer, the per-user directory of
// nodes on this host (LocalDirectory) and the system clock. A thin driver: it moves
// datagrams from the socket into the host and from the host into the socket, and calls the
// host at its deadline. Every protocol decision is the host's (overlay/host.hpp).
//
//   UdpSocket --datagram--> Host::on_datagram ... read done --> Host::on_batch_end
//   Host --send--> UdpTransport (DatagramTransport) --> UdpSocket (sendmmsg batches)
//   Timer at Host::next_deadline() --> Host::on_timeout
//
// Threads: the loop's. Lifetime: destroy before the Loop; Identity and Counters outlive it.
#pragma once

#include <filesystem>
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
#include "platform/udp_socket.hpp"
#include "wire/endpoint.hpp"

namespace peermq::platform {

struct NodeOptions {
  // 0.0.0.0 with port 0: every interface, a port the kernel picks.
  Endpoint listen = Endpoint::v4({0, 0, 0, 0}, 0);
  UdpOptions udp{};
  overlay::HostOptions host{};
  std::filesystem::path discovery_dir = LocalDirectory::default_path();
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

 private:
  // The socket as the host sees it.
  class UdpTransport final : public overlay::DatagramTransport {
   public:
    explicit UdpTransport(UdpSocket& socket) : socket_(socket) {}
    bool send(const Endpoint& to, std::span<const std::uint8_t> bytes) override {
      return socket_.send(to, bytes);
    }
    bool writable() override;
    void flush() override { socket_.flush(); }
    bool is_open() const override { return socket_.bound(); }
    Endpoint local_endpoint() const override;
    std::vector<Endpoint> local_candidates() const override;

   private:
    UdpSocket& socket_;
  };

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

  Loop& loop_;
  const Identity& identity_;
  NodeOptions options_;
  SystemClock clock_;
  UdpSocket socket_;
  UdpTransport transport_;
  Directory directory_;
  overlay::Host host_;
  Timer timer_;
  Instant armed_at_ = Instant::max();
  std::optional<Instant> read_at_;  // when the current read's first datagram came
  bool started_ = false;
};

}  // namespace peermq::platform
