// DatagramTransport: the one way a Host reaches the network, in the style of NNG's
// transport ops: a few calls, no policy. The libuv UDP socket implements it
// (platform/node.hpp), the simulator implements it (tests/sim/), and so will a
// WebSocket to a relay.
//
// Sending only: what arrives, the owner of the transport hands to Host::on_datagram, and
// after the datagrams of one read, Host::on_batch_end, so that the host answers a batch
// together.
//
// Threads: the thread that drives the Host. Calls never re-enter the Host.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "wire/endpoint.hpp"

namespace peermq::overlay {

class DatagramTransport {
 public:
  virtual ~DatagramTransport() = default;

  // Queues a copy of `bytes` for `to`; it leaves at the latest on the next flush(). False
  // when it was not queued (the queue is full, the transport is closed, or `to` cannot be
  // reached from here): the datagram is dropped, as the network may drop it anyway.
  virtual bool send(const Endpoint& to, std::span<const std::uint8_t> bytes) = 0;
  // Whether another send() would be queued. May hand what is queued to the network first
  // to make room.
  virtual bool writable() = 0;
  // Hands every queued datagram to the network now.
  virtual void flush() = 0;
  // Open: bound and not closed. A closed transport sends nothing.
  virtual bool is_open() const = 0;
  // Where datagrams to us arrive (Family::none when not open).
  virtual Endpoint local_endpoint() const = 0;
  // Where a peer may reach us directly, for relays and local discovery: the bound address,
  // or, bound to every address, each interface's (loopback only if there is nothing else).
  virtual std::vector<Endpoint> local_candidates() const = 0;

 protected:
  DatagramTransport() = default;
  DatagramTransport(const DatagramTransport&) = default;
  DatagramTransport& operator=(const DatagramTransport&) = default;
};

}  // namespace peermq::overlay
