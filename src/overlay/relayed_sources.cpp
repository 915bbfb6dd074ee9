#include "overlay/relayed_sources.hpp"

#include <algorithm>
#include <array>

#include "wire/limits.hpp"

namespace peermq::overlay {

namespace {

constexpr std::array<std::uint8_t, 10> kPrefix{0x01, 0, 0, 0, 0, 0, 0, 0, 'p', 'q'};
constexpr std::uint16_t kPort = 1;

std::optional<std::uint32_t> slot_of(const Endpoint& e) noexcept {
  if (!e.is_v6() || e.port() != kPort) return std::nullopt;
  const auto ip = e.ip16();
  if (!std::equal(kPrefix.begin(), kPrefix.end(), ip.begin())) return std::nullopt;
  std::uint32_t slot = 0;
  for (std::size_t i = 12; i < 16; ++i) slot = (slot << 8) | ip[i];
  return slot;
}

Endpoint address_of(std::uint32_t slot) noexcept {
  std::array<std::uint8_t, 16> ip{};
  std::copy(kPrefix.begin(), kPrefix.end(), ip.begin());
  for (std::size_t i = 0; i < 4; ++i) ip[15 - i] = static_cast<std::uint8_t>(slot >> (8 * i));
  return Endpoint::v6(ip, kPort);
}

}  // namespace

std::optional<Endpoint> RelayedSources::source_of(const PublicKey& relay, const PublicKey& peer) {
  auto it = slots_.find({relay, peer});
  if (it != slots_.end()) return address_of(it->second);
  if (vias_.size() >= limits::kTransportMaxRelayedSources) return std::nullopt;
  vias_.push_back(Via{relay, peer});
  const auto slot = static_cast<std::uint32_t>(vias_.size());
  slots_.emplace(std::make_pair(relay, peer), slot);
  return address_of(slot);
}

const RelayedSources::Via* RelayedSources::via_of(const Endpoint& source) const noexcept {
  auto slot = slot_of(source);
  if (!slot || *slot == 0 || *slot > vias_.size()) return nullptr;
  return &vias_[*slot - 1];
}

bool RelayedSources::is_synthetic(const Endpoint& e) noexcept {
  return slot_of(e).has_value();
}

}  // namespace peermq::overlay
