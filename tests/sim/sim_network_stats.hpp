// SimNetworkStats: what the simulated network did with the datagrams handed to it, and
// why it dropped the ones it dropped. Every datagram a SimSocket sends is counted once as
// sent; a link may make a second copy (duplicated); every copy ends either delivered or
// dropped for exactly one reason. Between events:
//   sent + duplicated == delivered + dropped() + SimNetwork::in_flight()
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace peermq::sim {

enum class DropReason {
  loss,            // a link's loss_percent
  too_big,         // larger than a link's mtu
  partition,       // the pair, or one of the machines, is cut off
  no_route,        // no machine at that address (or a private address of another site)
  no_listener,     // the machine has no socket at that port
  nat_no_mapping,  // a NAT has no mapping at that port (never made, expired, rebound)
  nat_filtered,    // a NAT's mapping exists but its filter refuses this sender
  no_hairpin,      // to the NAT's own public address from inside, and it does not hairpin
  queue_full,      // the sending socket's queue was full
  unresponsive,    // the node at either end is set to never answer
  closed,          // the sending socket was closed, or the receiving one closed meanwhile
};
inline constexpr std::size_t kDropReasonCount = 11;
const char* name(DropReason r) noexcept;

struct SimNetworkStats {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t duplicated = 0;  // extra copies made by links
  std::uint64_t reordered = 0;
  std::uint64_t corrupted = 0;
  std::array<std::uint64_t, kDropReasonCount> drops{};

  std::uint64_t drops_of(DropReason r) const { return drops[static_cast<std::size_t>(r)]; }
  void drop(DropReason r) { ++drops[static_cast<std::size_t>(r)]; }
  std::uint64_t dropped() const;
  // "sent 120, delivered 100, loss 12, nat_filtered 8": the nonzero counts, for reports.
  std::string describe() const;
};

}  // namespace peermq::sim
