// RelayedSources: names for "peer P, through relay R", in the session layer's terms.
//
// The session layer answers a datagram where it came from (handshake responses, cookie
// replies) and binds cookies and rate limits to that source. A datagram a relay forwarded
// comes from P but through R, so the host gives the session layer a synthetic Endpoint
// that stands for the pair: an address in the discard-only prefix 100::/64 (RFC 6666),
// which no real datagram comes from, bytes 8..9 'p' 'q', bytes 12..15 the slot (from 1),
// port 1. An answer addressed to it is forwarded through R again; a datagram the relay says
// is P's but that authenticates as someone else's is recognised and dropped.
//
// Slots are never reused while the host lives (at most limits::kTransportMaxRelayedSources
// pairs), so an old name cannot come to mean another pair. Plain data, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <peermq/address.hpp>

#include "wire/endpoint.hpp"

namespace peermq::overlay {

class RelayedSources {
 public:
  struct Via {
    PublicKey relay{};
    PublicKey peer{};
  };

  // The synthetic source of `peer` through `relay`, made on first use; nullopt when the
  // table is full.
  std::optional<Endpoint> source_of(const PublicKey& relay, const PublicKey& peer);
  // The pair a synthetic source stands for; nullptr for any other endpoint.
  const Via* via_of(const Endpoint& source) const noexcept;
  // Whether `e` lies in the synthetic range at all (never a real destination).
  static bool is_synthetic(const Endpoint& e) noexcept;
  std::size_t size() const noexcept { return vias_.size(); }

 private:
  std::map<std::pair<PublicKey, PublicKey>, std::uint32_t> slots_;  // (relay, peer) -> slot
  std::vector<Via> vias_;                                           // slot - 1 -> pair
};

}  // namespace peermq::overlay
