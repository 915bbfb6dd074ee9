#include "sim/sim_link.hpp"

namespace peermq::sim {

LinkFate cross(const LinkOptions& o, std::size_t size, SimPrng& prng) {
  LinkFate fate;
  if (size > o.mtu) {
    fate.outcome = LinkFate::Outcome::too_big;
    return fate;
  }
  if (prng.chance(o.loss_percent)) {
    fate.outcome = LinkFate::Outcome::lost;
    return fate;
  }
  LinkCopy first{o.delay + prng.up_to(o.jitter), prng.chance(o.corrupt_percent)};
  if (prng.chance(o.reorder_percent)) {
    first.delay += prng.up_to(o.reorder_delay);
    fate.reordered = true;
  }
  fate.copies.push_back(first);
  if (prng.chance(o.duplicate_percent)) {
    fate.copies.push_back(
        LinkCopy{first.delay + prng.up_to(o.reorder_delay), prng.chance(o.corrupt_percent)});
  }
  return fate;
}

void corrupt(std::span<std::uint8_t> bytes, SimPrng& prng) {
  if (bytes.empty()) return;
  const std::size_t at = static_cast<std::size_t>(prng.below(bytes.size()));
  // Never a no-op: one to 255 added, so the byte always changes.
  bytes[at] = static_cast<std::uint8_t>(bytes[at] + 1 + prng.below(255));
}

}  // namespace peermq::sim
