// ChannelEndpoint: a channel::Channel as a NetworkSimulator endpoint, talking to one peer.
//
// Stands in for the session below the channel: packets travel as plaintext. Each endpoint
// keeps the result of every on_packet so tests can check that nothing was refused.
#pragma once

#include <cstdint>
#include <span>

#include "channel/channel.hpp"
#include "support/network_simulator.hpp"

namespace peermq::test {

class ChannelEndpoint final : public SimEndpoint {
 public:
  explicit ChannelEndpoint(const channel::ChannelConfig& config = {}) : channel(config) {}

  void on_datagram(EndpointId, std::span<const std::uint8_t> data, Instant now) override {
    if (!channel.on_packet(data, now)) ++refused;
  }
  std::size_t poll_datagram(EndpointId& to, std::span<std::uint8_t> out, Instant now) override {
    to = peer;
    return channel.poll_packet(out, now);
  }
  Instant next_deadline() const override { return channel.next_deadline(); }
  void on_timeout(Instant now) override { channel.on_timeout(now); }

  channel::Channel channel;
  EndpointId peer = 0;
  std::uint64_t refused = 0;
};

// Two channels joined by one link each way.
struct ChannelPair {
  explicit ChannelPair(std::uint64_t seed, const channel::ChannelConfig& config = {})
      : ChannelPair(seed, config, config) {}
  ChannelPair(std::uint64_t seed, const channel::ChannelConfig& config_a,
              const channel::ChannelConfig& config_b)
      : sim(seed), a(config_a), b(config_b) {
    ida = sim.add(a);
    idb = sim.add(b);
    a.peer = idb;
    b.peer = ida;
  }
  // Sets the same link both ways.
  void set_links(const Link& l) {
    sim.link(ida, idb) = l;
    sim.link(idb, ida) = l;
  }

  NetworkSimulator sim;
  ChannelEndpoint a, b;
  EndpointId ida = 0, idb = 0;
};

}  // namespace peermq::test
