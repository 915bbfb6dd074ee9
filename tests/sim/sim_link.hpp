// SimLink: what one hop of the simulated network does to a datagram.
//
// Every machine has a link (its access line: to the internet for a public machine, to its
// router for one behind a NAT) and every NAT has one (its uplink, shared by the hosts
// behind it). A datagram crosses the links on its way in order: the sender's, the sender's
// NAT's, the receiver's NAT's, the receiver's, each deciding its fate on its own.
//
// What a link injects, each an explicit option:
//   delay              fixed one-way delay of the hop.
//   jitter             extra delay, uniform in [0, jitter], drawn per datagram (may
//                      reorder datagrams sent close together).
//   loss_percent       chance out of 100 that a datagram is dropped on this hop.
//   duplicate_percent  chance out of 100 that the hop delivers a second copy, up to
//                      `reorder_delay` after the first.
//   reorder_percent    chance out of 100 that a datagram is held back by up to
//                      `reorder_delay` more, so later ones overtake it.
//   corrupt_percent    chance out of 100 that one byte of the datagram is flipped (the
//                      session layer must drop it, counted, never crash or deliver it).
//   mtu                largest UDP payload the hop carries; larger datagrams are dropped
//                      and counted (no fragmentation: peermq sizes its packets itself).
// Draws come from the network's stream of SimRandom, in the order datagrams are sent.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <peermq/clock.hpp>

#include "sim/sim_random.hpp"

namespace peermq::sim {

struct LinkOptions {
  Duration delay = std::chrono::milliseconds(10);
  Duration jitter{};
  unsigned loss_percent = 0;
  unsigned duplicate_percent = 0;
  unsigned reorder_percent = 0;
  Duration reorder_delay = std::chrono::milliseconds(20);
  unsigned corrupt_percent = 0;
  std::size_t mtu = 1472;  // Ethernet's 1500 minus IPv4 and UDP headers
};

// One copy of a datagram leaving a hop: how long it took, and whether the hop flipped a
// byte of it.
struct LinkCopy {
  Duration delay{};
  bool corrupt = false;
};

struct LinkFate {
  enum class Outcome { passed, lost, too_big };
  Outcome outcome = Outcome::passed;
  std::vector<LinkCopy> copies;  // one, or two when duplicated; empty unless passed
  bool reordered = false;
};

// The fate of one datagram of `size` bytes on a hop with `options`.
LinkFate cross(const LinkOptions& options, std::size_t size, SimPrng& prng);

// Flips one byte of `bytes` (chosen by `prng`); nothing for an empty datagram.
void corrupt(std::span<std::uint8_t> bytes, SimPrng& prng);

}  // namespace peermq::sim
