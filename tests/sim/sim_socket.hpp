// SimSocket: a node's UDP socket on the simulated network, as an overlay::DatagramTransport.
//
// Sending mirrors platform::UdpSocket: send() queues a copy (at most `queue_limit`
// datagrams; a full queue refuses, counted as queue_full), flush() hands the queue to the
// network in order. writable() flushes first when the queue is full. Receiving mirrors it
// too: datagrams that arrive at one instant are one read: on_receive runs once per
// datagram, then on_read_done once, in an event of their own after the arrivals.
//
// What it injects: set_unresponsive(true) makes the node never answer: everything it sends
// and everything sent to it is dropped (counted as unresponsive), while the node itself
// notices nothing. close() drops what is queued (counted as closed) and unbinds; nothing
// arrives afterwards.
//
// Single-threaded. The scheduler and network outlive the socket; callbacks may close the
// socket but must not destroy it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "overlay/datagram_transport.hpp"
#include "sim/sim_network.hpp"
#include "sim/sim_scheduler.hpp"

namespace peermq::sim {

class SimSocket final : public overlay::DatagramTransport {
 public:
  using ReceiveCallback = std::function<void(std::span<const std::uint8_t>, const Endpoint& from)>;
  using ReadDoneCallback = std::function<void()>;

  SimSocket(SimScheduler& scheduler, SimNetwork& network, MachineId machine,
            std::size_t queue_limit = 1024);
  ~SimSocket() override { close(); }
  SimSocket(const SimSocket&) = delete;
  SimSocket& operator=(const SimSocket&) = delete;

  // Binds `port` on the machine (0: an ephemeral one). False when taken or already bound.
  bool bind(std::uint16_t port);
  void close() noexcept;
  void set_unresponsive(bool on) noexcept { unresponsive_ = on; }
  bool unresponsive() const noexcept { return unresponsive_; }

  void on_receive(ReceiveCallback callback) { on_receive_ = std::move(callback); }
  void on_read_done(ReadDoneCallback callback) { on_read_done_ = std::move(callback); }

  // ---- overlay::DatagramTransport ----
  bool send(const Endpoint& to, std::span<const std::uint8_t> bytes) override;
  bool writable() override;
  void flush() override;
  bool is_open() const override { return local_.has_value(); }
  Endpoint local_endpoint() const override { return local_.value_or(Endpoint{}); }
  std::vector<Endpoint> local_candidates() const override;

  std::size_t queued() const noexcept { return queue_.size(); }
  MachineId machine() const noexcept { return machine_; }

 private:
  struct Datagram {
    Endpoint peer;
    std::vector<std::uint8_t> bytes;
  };

  std::optional<DropReason> arrive(std::span<const std::uint8_t> bytes, const Endpoint& from);
  void read();

  SimScheduler& scheduler_;
  SimNetwork& network_;
  MachineId machine_;
  std::size_t queue_limit_;
  std::optional<Endpoint> local_;
  std::vector<Datagram> queue_;
  std::vector<Datagram> inbox_;
  EventId read_event_ = 0;
  bool unresponsive_ = false;
  ReceiveCallback on_receive_;
  ReadDoneCallback on_read_done_;
};

}  // namespace peermq::sim
