#include "sim/sim_network_stats.hpp"

namespace peermq::sim {

const char* name(DropReason r) noexcept {
  switch (r) {
    case DropReason::loss: return "loss";
    case DropReason::too_big: return "too_big";
    case DropReason::partition: return "partition";
    case DropReason::no_route: return "no_route";
    case DropReason::no_listener: return "no_listener";
    case DropReason::nat_no_mapping: return "nat_no_mapping";
    case DropReason::nat_filtered: return "nat_filtered";
    case DropReason::no_hairpin: return "no_hairpin";
    case DropReason::queue_full: return "queue_full";
    case DropReason::unresponsive: return "unresponsive";
    case DropReason::closed: return "closed";
  }
  return "unknown";
}

std::uint64_t SimNetworkStats::dropped() const {
  std::uint64_t n = 0;
  for (const std::uint64_t d : drops) n += d;
  return n;
}

std::string SimNetworkStats::describe() const {
  std::string out = "sent " + std::to_string(sent) + ", delivered " + std::to_string(delivered);
  const auto add = [&](const char* what, std::uint64_t n) {
    if (n != 0) out += std::string(", ") + what + " " + std::to_string(n);
  };
  add("duplicated", duplicated);
  add("reordered", reordered);
  add("corrupted", corrupted);
  for (std::size_t i = 0; i < kDropReasonCount; ++i) add(name(static_cast<DropReason>(i)), drops[i]);
  return out;
}

}  // namespace peermq::sim
