// What scenarios ask of the nodes' overlay state: routes, registrations, path events.
// Reading only; none of it changes what a node does.
#pragma once

#include <algorithm>
#include <cstddef>
#include <stdexcept>

#include "overlay/host.hpp"
#include "sim/sim_node.hpp"

namespace peermq::sim {

using RouteKind = overlay::Route::Kind;
using PathReason = overlay::PathEvent::Reason;

// `from`'s route to `to` (none when `from` is down).
inline overlay::Route route(const SimNode& from, const SimNode& to) {
  return from.running() ? from.host().route_of(to.key()) : overlay::Route{};
}
inline RouteKind route_kind(const SimNode& from, const SimNode& to) {
  return route(from, to).kind;
}
inline bool both_ways(const SimNode& a, const SimNode& b, RouteKind kind) {
  return route_kind(a, b) == kind && route_kind(b, a) == kind;
}
// Registered with every relay it was given.
inline bool registered_everywhere(const SimNode& n) {
  if (!n.running()) return false;
  const auto& r = n.host().router();
  return r.relays_known() == n.options().host.router.relays.size() &&
         r.relays_registered() == r.relays_known();
}
// The router's path state for `peer` (nullptr without relays or before they met).
inline const overlay::PeerPath* path_state(const SimNode& n, const SimNode& peer) {
  return n.running() ? n.host().router().path(peer.key()) : nullptr;
}
inline std::size_t path_events(const SimNode& n, const SimNode& peer, PathReason reason) {
  return static_cast<std::size_t>(
      std::count_if(n.path_log().begin(), n.path_log().end(), [&](const PathRecord& r) {
        return r.peer == peer.key() && r.event.reason == reason;
      }));
}
// The relay's server (programmer error for a node that is not a relay).
inline const overlay::RelayServer& relay_server(const SimNode& relay) {
  const overlay::RelayServer* server = relay.host().relay_server();
  if (server == nullptr) throw std::logic_error(relay.name() + " is not a relay");
  return *server;
}
inline const overlay::RelayServerStats& relay_stats(const SimNode& relay) {
  return relay_server(relay).stats();
}
inline std::uint64_t counter(SimNode& n, const char* name) {
  return n.counters().counter_value(name);
}

}  // namespace peermq::sim
