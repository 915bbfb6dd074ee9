#include "sim/sim_nat.hpp"

namespace peermq::sim {

namespace {
constexpr std::uint16_t kFirstPort = 1024;
constexpr std::size_t kMaxRetired = 32768;  // half the range: fresh_port() always finds one
}  // namespace

const char* name(NatType t) noexcept {
  switch (t) {
    case NatType::full_cone: return "full cone";
    case NatType::address_restricted: return "address-restricted";
    case NatType::port_restricted: return "port-restricted";
    case NatType::symmetric: return "symmetric";
  }
  return "unknown";
}

SimNat::SimNat(const Endpoint& public_address, const NatOptions& options, SimPrng& prng)
    : public_(public_address.with_port(0)), options_(options), prng_(prng) {}

Endpoint SimNat::filter_key(const Endpoint& peer) const noexcept {
  return options_.type == NatType::address_restricted ? peer.with_port(0) : peer;
}

std::uint16_t SimNat::fresh_port() {
  for (;;) {
    const auto port = static_cast<std::uint16_t>(kFirstPort + prng_.below(65536 - kFirstPort));
    if (by_port_.count(port) == 0 && retired_.count(port) == 0) return port;
  }
}

Endpoint SimNat::outbound(const Endpoint& inside, const Endpoint& to, Instant now) {
  const Key key{inside, options_.type == NatType::symmetric ? to : Endpoint{}};
  auto it = by_key_.find(key);
  if (it != by_key_.end() && expired(by_port_.at(it->second), now)) {
    if (retired_.size() >= kMaxRetired) retired_.clear();
    retired_.insert(it->second);
    by_port_.erase(it->second);
    by_key_.erase(it);
    it = by_key_.end();
  }
  if (it == by_key_.end()) {
    Mapping m;
    m.inside = inside;
    m.destination = key.second;
    m.port = fresh_port();
    it = by_key_.emplace(key, m.port).first;
    by_port_.emplace(m.port, std::move(m));
  }
  Mapping& m = by_port_.at(it->second);
  m.last_used = now;
  if (options_.type != NatType::full_cone) m.sent_to.insert(filter_key(to));
  return public_.with_port(m.port);
}

std::variant<Endpoint, DropReason> SimNat::inbound(std::uint16_t port, const Endpoint& from,
                                                   Instant now) {
  auto it = by_port_.find(port);
  if (it == by_port_.end() || expired(it->second, now)) return DropReason::nat_no_mapping;
  Mapping& m = it->second;
  if (options_.type != NatType::full_cone && m.sent_to.count(filter_key(from)) == 0) {
    return DropReason::nat_filtered;
  }
  if (options_.inbound_refreshes) m.last_used = now;
  return m.inside;
}

void SimNat::rebind() {
  if (retired_.size() + by_port_.size() > kMaxRetired) retired_.clear();
  for (const auto& [port, m] : by_port_) retired_.insert(port);
  by_port_.clear();
  by_key_.clear();
  ++rebinds_;
}

std::size_t SimNat::mapping_count(Instant now) const {
  std::size_t n = 0;
  for (const auto& [port, m] : by_port_) n += !expired(m, now);
  return n;
}

}  // namespace peermq::sim
