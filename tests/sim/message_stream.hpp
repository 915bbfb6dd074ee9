// MessageStream: application traffic for a scenario: numbered messages from one node to
// another over Host::send, judged by the DeliveryChecker.
//
// It dials the receiver, then sends one message every `interval` (or, with a zero
// interval, as many as the host takes, resuming on on_writable) until `count` are sent.
// Sizes are uniform in [min_size, max_size], drawn from a stream of SimRandom's own
// (derive("traffic/<label>")), never from the network's draws. A message the host refuses
// is offered again later, the same bytes: would_block waits for on_writable, unknown_peer
// dials again, a stopped node is waited for. Only what send() accepted counts as sent.
//
// Single-threaded. The nodes, scheduler and checker outlive the stream; the stream
// outlives every event it scheduled (stop() before destroying it mid-run).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/delivery_checker.hpp"
#include "sim/sim_node.hpp"
#include "sim/sim_random.hpp"
#include "sim/sim_scheduler.hpp"

namespace peermq::sim {

struct MessageStreamOptions {
  Duration interval = std::chrono::milliseconds(50);
  std::uint64_t count = 100;
  std::size_t min_size = DeliveryChecker::kHeaderSize;
  std::size_t max_size = 300;
};

class MessageStream {
 public:
  MessageStream(SimScheduler& scheduler, DeliveryChecker& checker, SimPrng prng, SimNode& from,
                SimNode& to, MessageStreamOptions options, std::string label);
  MessageStream(const MessageStream&) = delete;
  MessageStream& operator=(const MessageStream&) = delete;
  ~MessageStream() { stop(); }

  void start();
  void stop();

  DeliveryChecker::StreamId id() const noexcept { return id_; }
  std::uint64_t sent() const noexcept { return next_; }
  bool all_sent() const noexcept { return next_ >= options_.count; }
  // Times send() said no (would_block, unknown_peer, not running, ...).
  std::uint64_t refusals() const noexcept { return refusals_; }

 private:
  void tick();
  // Offers messages until one is refused or none is due; true when one was refused.
  bool offer();
  void schedule(Duration after);

  SimScheduler& scheduler_;
  DeliveryChecker& checker_;
  SimPrng prng_;
  SimNode& from_;
  SimNode& to_;
  MessageStreamOptions options_;
  DeliveryChecker::StreamId id_;
  std::uint64_t next_ = 0;
  std::optional<std::vector<std::uint8_t>> pending_;  // message next_, once built
  std::uint64_t refusals_ = 0;
  std::uint64_t dialed_run_ = 0;  // the sender's run we dialed in
  EventId tick_ = 0;
  bool running_ = false;
  bool blocked_ = false;  // waiting for on_writable
};

}  // namespace peermq::sim
