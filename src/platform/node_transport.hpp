// NodeTransport: the DatagramTransport of a platform::Node: its UDP socket, joined with
// the web listener when the node serves browsers. A datagram for a web endpoint
// (Endpoint::web(n), overlay/.. never sees the difference) goes over WebSocket
// connection n, queued per connection; every other datagram goes over UDP. No decision
// beyond that: which endpoint to use is the host's.
//
//   send(web(n))  -> WebListener::send (false: connection n is gone or its queue is full)
//   send(other)   -> UdpSocket::send   (false: the socket's queue is full)
//   writable(), flush(), is_open(), local_endpoint(): the UDP socket's. A WebSocket's
//     queue is its own; a browser that reads slowly must not stall the node's UDP peers.
//   local_candidates(): UDP endpoints only: a web endpoint is never one a peer can punch to.
//
// Threads: the loop's. Lifetime: the socket and the listener outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "overlay/datagram_transport.hpp"
#include "platform/udp_socket.hpp"
#include "platform/web_listener.hpp"

namespace peermq::platform {

class NodeTransport final : public overlay::DatagramTransport {
 public:
  // `web` may be null: a node without -web.
  NodeTransport(UdpSocket& socket, WebListener* web) : socket_(socket), web_(web) {}

  bool send(const Endpoint& to, std::span<const std::uint8_t> bytes) override;
  bool writable() override;
  void flush() override { socket_.flush(); }
  bool is_open() const override { return socket_.bound(); }
  Endpoint local_endpoint() const override;
  std::vector<Endpoint> local_candidates() const override;

 private:
  UdpSocket& socket_;
  WebListener* web_;
};

}  // namespace peermq::platform
