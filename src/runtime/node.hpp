// Node: one peermq process on the network: its identity, one PeerTransport, and the way it
// finds other nodes by address alone.
//
// Finding a node on this host: a node announces its endpoint in the per-user LocalDirectory
// and dials others through it, so broker, consumers and producers on one machine need no
// server at all. Dialed peers are looked up again every limits::node_redial_interval (a
// file read and a signature check each), so a broker restarted on another port is found
// again within a second.
//
// With relays (NodeOptions::relays) the node also runs the overlay (src/overlay):
// - a RelayClient registers with every relay over an encrypted session, keeps the NAT
//   mapping alive, re-registers after a relay restart and fails over between relays. A
//   relay given without its key is asked for it first (trust on first use,
//   runtime/relay_key_exchange.hpp), then pinned for the life of the process. A relay that
//   stays silent after we sent it something is handshaken with again: it may have
//   restarted and lost our keys, which it has no way to tell us.
// - a PeerPath per peer (dialed, or heard from) decides the transport's route to it:
//   dial(ADDR) feeds it the local directory's endpoints and asks the relays; the first
//   lookup answer routes traffic through the relay at once while both sides punch (probes
//   straight to each other's candidates, coordinated by the relay); a confirmed endpoint
//   makes the route direct, a direct path that goes silent falls back to the relay. The
//   channel sits above the route, so a route change loses or duplicates no message. Every
//   route change is logged (component "path", level info).
// Without relays no PeerPath runs: the transport follows each peer's packets, as before.
//
// Every node answers a ping (overlay ping/pong) along its route to the sender: `peermq ping`.
//
// Threads: the loop's. Lifetime: destroy before the Loop; Counters outlive it.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "overlay/overlay_message.hpp"
#include "overlay/peer_path.hpp"
#include "overlay/relay_client.hpp"
#include "wire/endpoint.hpp"
#include "runtime/local_directory.hpp"
#include "runtime/loop.hpp"
#include "runtime/peer_transport.hpp"
#include "runtime/relay_spec.hpp"
#include "runtime/timer.hpp"

namespace peermq::runtime {

struct NodeOptions {
  // 0.0.0.0 with port 0: every interface, a port the kernel picks.
  Endpoint listen = Endpoint::v4({0, 0, 0, 0}, 0);
  PeerTransportOptions transport{};
  std::filesystem::path discovery_dir = LocalDirectory::default_path();
  // Write our record so nodes on this host can dial us (brokers, relays); clients that
  // only dial need not.
  bool announce = true;
  // Relays to register with and look addresses up through, in order of preference.
  std::vector<RelaySpec> relays;
  // Try direct paths (hole punching). Off, traffic stays on the relay: for tests, and for
  // networks where probing is unwelcome.
  bool punch = true;
  // Overlay timers; tests shorten them. nonce_seed is set by the node.
  overlay::PeerPathConfig path{};
  overlay::RelayClientConfig relay_client{};  // .relays and .local_candidates are ignored
};

class Node {
 public:
  using PongCallback = std::function<void(const PublicKey& peer, std::uint64_t id)>;
  using PathCallback = std::function<void(const PublicKey& peer, const overlay::PathEvent& e)>;
  // A message for a relay (register, lookup, punch request, forward): RelayNode's input.
  using RelayRequestCallback = std::function<void(const PublicKey& from, const Endpoint& source,
                                                  const overlay::OverlayMessage& message)>;

  // Throws std::system_error if libuv cannot create the handles (start-up only).
  Node(Loop& loop, Counters& counters, const Identity& identity, NodeOptions options = {});
  ~Node() { stop(); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds the socket, announces us, and starts registering with the relays. `detail` gets
  // a sentence for the user on failure.
  Result<void> start(std::string* detail);
  // Finds `peer`: through the local directory, and with relays through them too. Without
  // relays the error is LocalDirectoryError (not_found: no such node on this host); with
  // relays dial() succeeds at once and messages sent meanwhile wait for the route.
  // Whatever the outcome, the node keeps looking it up while it is unreachable.
  Result<void> dial(const PublicKey& peer, std::string* detail = nullptr);
  // Sends a ping (overlay, unreliable) to `peer` along its route; the pong comes to
  // on_pong. Errors: the transport's (unknown_peer before a route is known).
  Result<void> ping(const PublicKey& peer, std::uint64_t id);
  // Withdraws our announcement and closes the transport. Idempotent.
  void stop() noexcept;

  void on_pong(PongCallback callback) { on_pong_ = std::move(callback); }
  void on_path_change(PathCallback callback) { on_path_ = std::move(callback); }
  void on_relay_request(RelayRequestCallback callback) { on_relay_request_ = std::move(callback); }

  PeerTransport& transport() noexcept { return transport_; }
  const Identity& identity() const noexcept { return identity_; }
  Endpoint local_endpoint() const { return transport_.local_endpoint(); }
  bool uses_relays() const noexcept { return !options_.relays.empty(); }
  // The route the transport uses for `peer` now.
  overlay::Route route(const PublicKey& peer) const { return transport_.route_of(peer); }
  // The path state of `peer` (nullptr without relays, or for a peer never met).
  const overlay::PeerPath* path(const PublicKey& peer) const;
  // Relays whose key is known, and how many of them accepted our registration.
  std::size_t relays_known() const noexcept;
  std::size_t relays_registered() const noexcept;
  // Where the relay with this key listens (Family::none if it is not one of ours).
  Endpoint relay_endpoint(const PublicKey& relay) const;
  // Text for logs and `peermq ping`: "direct 192.0.2.7:4000", "relayed via 192.0.2.1:7070".
  std::string describe(const overlay::Route& route) const;

 private:
  struct PendingKey {  // a relay given as HOST:PORT whose key we are asking for
    RelaySpec spec;
    std::uint64_t nonce = 0;
    Instant next{};
    Duration retry{};
  };
  struct RelayLink {
    Instant unanswered_since = Instant::max();  // oldest message not answered since
    bool complained = false;                    // said so once since it last answered
  };

  Result<void> resolve(const PublicKey& peer, std::string* detail);
  void announce();
  void on_tick();
  // Overlay
  void start_overlay(Instant now);
  overlay::Candidates local_candidates() const;
  void add_relay(const PublicKey& key, const RelaySpec& spec, Instant now);
  void on_relay_key(const Endpoint& from, std::uint64_t nonce, const PublicKey& key);
  void on_overlay(const PublicKey& peer, std::span<const std::uint8_t> bytes, const Arrival& a);
  void on_arrival(const PublicKey& peer, const Arrival& a);
  void on_peer_message(const PublicKey& peer, const overlay::OverlayMessage& m, const Arrival& a,
                       Instant now);
  void on_client_event(const overlay::RelayClientEvent& e, Instant now);
  overlay::PeerPath& path_for(const PublicKey& peer);
  void look_up(const PublicKey& peer, Instant now);
  void on_timer();
  // Sends what the relay client and the paths fed since the last pump (and `peer`'s) want
  // to send, handles their events, and arms the timer.
  void pump(const PublicKey* peer);
  void pump_path(const PublicKey& peer, overlay::PeerPath& path, Instant now);
  void send_to_relay(const PublicKey& relay, std::span<const std::uint8_t> message, bool answered,
                     Instant now);
  void arm(Instant deadline);
  void local_lookup_for_path(const PublicKey& peer, Instant now);

  Loop& loop_;
  const Identity& identity_;
  NodeOptions options_;
  PeerTransport transport_;
  std::optional<LocalDirectory> directory_;
  std::set<PublicKey> dialed_;
  Timer tick_;
  Instant announced_at_{};
  bool announced_ = false;

  std::optional<overlay::RelayClient> relay_client_;
  std::map<PublicKey, overlay::PeerPath> paths_;
  std::set<PublicKey> dirty_;                            // paths fed since they were last pumped
  std::map<PublicKey, overlay::Candidates> local_seen_;  // last local candidates fed in
  std::map<PublicKey, RelayLink> relays_;                // by key, once known
  std::map<PublicKey, RelaySpec> relay_specs_;
  std::vector<PendingKey> pending_keys_;
  Timer overlay_timer_;
  Instant armed_at_ = Instant::max();
  bool pumping_ = false;
  PongCallback on_pong_;
  PathCallback on_path_;
  RelayRequestCallback on_relay_request_;
};

}  // namespace peermq::runtime
