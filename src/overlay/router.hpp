// Router: the part of a Host that finds peers and decides the way to each, with no I/O.
//
// Finding a node on this host: the host announces its endpoints in the PeerDirectory and
// dials others through it, so broker, consumers and producers on one machine need no
// server at all. Dialed peers are looked up again every limits::kNodeRedialInterval, so
// a broker restarted on another port is found again within a second; our own record is
// refreshed every limits::kLocalDiscoveryInterval.
//
// With relays (RouterOptions::relays) the router also runs the overlay:
// - a RelayClient registers with every relay over an encrypted session, keeps the NAT
//   mapping alive, re-registers after a relay restart and fails over between relays. A
//   relay given without its key is asked for it first (trust on first use,
//   overlay/relay_key_exchange.hpp), then pinned for the life of the host. A relay that
//   stays silent after we sent it something is handshaken with again: it may have
//   restarted and lost our keys, which it has no way to tell us. Forwards count too:
//   relayed traffic that hears nothing from the relay for relay_silence_rehandshake makes
//   us register at once (RelayClient::refresh), so a restarted relay is noticed within
//   seconds while traffic flows, not at the next keepalive.
// - a PeerPath per peer (dialed, or heard from) decides the host's route to it: dial(ADDR)
//   feeds it the directory's endpoints and asks the relays; the first lookup answer
//   routes traffic through the relay at once while both sides punch (probes straight to
//   each other's candidates, coordinated by the relay); a confirmed endpoint makes the
//   route direct, a direct path that goes silent falls back to the relay. Every route
//   change is logged (component "path", level info).
// Without relays no PeerPath runs: the host follows each peer's packets, and a peer with
// relays probing the way to us gets its probes answered.
//
// Every node answers a ping (overlay ping/pong) along its route to the sender.
//
// Owned by its Host, which feeds it what arrives (overlay messages from authenticated
// peers, every authenticated packet's arrival, relay key answers) and the time; it acts
// through the host (routes, overlay messages, handshakes). Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "overlay/overlay_message.hpp"
#include "overlay/peer_directory.hpp"
#include "overlay/peer_path.hpp"
#include "overlay/peer_timers.hpp"
#include "overlay/relay_client.hpp"
#include "overlay/relay_spec.hpp"

namespace peermq::overlay {

class Host;
struct Arrival;

struct RouterOptions {
  // Write our record so nodes on this host can dial us (brokers, relays); clients that
  // only dial need not.
  bool announce = true;
  // Relays to register with and look addresses up through, in order of preference.
  std::vector<RelaySpec> relays;
  // Try direct paths (hole punching). Off, traffic stays on the relay.
  bool punch = true;
  // Overlay timers; tests shorten them. nonce_seed is set by the router (random).
  PeerPathConfig path{};
  RelayClientConfig relay_client{};  // .relays and .local_candidates are ignored
};

class Router {
 public:
  using PongCallback = std::function<void(const PublicKey& peer, std::uint64_t id)>;
  using PathCallback = std::function<void(const PublicKey& peer, const PathEvent& e)>;

  Router(Host& host, const Identity& identity, const Clock& clock, PeerDirectory* directory,
         RouterOptions options);

  // The host's transport is open: announce, and start the overlay. `detail` says why not.
  Result<void> start(Instant now, std::string* detail);
  void stop() noexcept;
  Result<void> dial(const PublicKey& peer, Instant now, std::string* detail);

  // From the host: a decoded overlay message from an authenticated `peer`, and how.
  void on_message(const PublicKey& peer, const OverlayMessage& m, const Arrival& a, Instant now);
  // Every authenticated packet of `peer`.
  void on_arrival(const PublicKey& peer, const Arrival& a, Instant now);
  // A relay key answer (unauthenticated) from `from`.
  void on_relay_key(const Endpoint& from, std::uint64_t nonce, const PublicKey& key, Instant now);
  // The host sent a peer's datagram through `relay` (a forward).
  void on_forward(const PublicKey& relay, Instant now);
  // The end-to-end session with `peer` became usable, or closed.
  void on_session(const PublicKey& peer, bool usable, Instant now);
  void on_timeout(Instant now);
  Instant next_deadline() const noexcept;

  void on_pong(PongCallback callback) { on_pong_ = std::move(callback); }
  void on_path_change(PathCallback callback) { on_path_ = std::move(callback); }

  bool uses_relays() const noexcept { return !options_.relays.empty(); }
  bool is_relay(const PublicKey& key) const noexcept { return relays_.count(key) != 0; }
  // The path state of `peer` (nullptr without relays, or for a peer never met).
  const PeerPath* path(const PublicKey& peer) const;
  // Relays whose key is known, and how many of them accepted our registration.
  std::size_t relays_known() const noexcept;
  std::size_t relays_registered() const noexcept;
  // Where the relay with this key listens (Family::none if it is not one of ours).
  Endpoint relay_endpoint(const PublicKey& relay) const;
  std::string describe(const Route& route) const;

 private:
  struct PendingKey {  // a relay given as HOST:PORT whose key we are asking for
    RelaySpec spec;
    std::uint64_t nonce = 0;
    Instant next{};
    Duration retry{};
  };
  struct RelayLink {
    RelaySpec spec;
    Instant unanswered_since = Instant::max();  // oldest message not answered since
    Instant forwarded_since = Instant::max();   // oldest forward with nothing heard since
    bool complained = false;                    // said so once since it last answered
  };

  void announce(Instant now);
  Result<void> resolve(const PublicKey& peer, std::string* detail);
  void start_overlay(Instant now);
  void add_relay(const PublicKey& key, const RelaySpec& spec, Instant now);
  void on_peer_message(const PublicKey& peer, const OverlayMessage& m, const Arrival& a,
                       Instant now);
  void on_client_event(const RelayClientEvent& e, Instant now);
  PeerPath& path_for(const PublicKey& peer);
  void look_up(const PublicKey& peer, Instant now);
  void local_lookup_for_path(const PublicKey& peer, Instant now);
  // Sends what the relay client and the paths fed since the last pump want to send,
  // handles their events.
  void pump(Instant now);
  void pump_path(const PublicKey& peer, PeerPath& path, Instant now);
  void send_to_relay(const PublicKey& relay, std::span<const std::uint8_t> message, bool answered,
                     Instant now);
  // Lowers the overlay's deadline (relay client, paths, key requests) to `deadline`.
  void arm(Instant deadline);

  Host& host_;
  const Identity& identity_;
  const Clock& clock_;
  PeerDirectory* directory_;
  RouterOptions options_;
  std::set<PublicKey> dialed_;
  bool started_ = false;
  bool announced_ = false;
  Instant announce_at_ = Instant::max();  // the next refresh of our record
  Instant redial_at_ = Instant::max();    // the next lookup of dialed peers

  std::optional<RelayClient> relay_client_;
  std::map<PublicKey, PeerPath> paths_;
  std::set<PublicKey> dirty_;                   // paths fed since they were last pumped
  PeerTimers path_timers_;                      // each path's deadline, set when pumped
  std::vector<PublicKey> due_paths_;            // on_timeout()'s due paths, reused
  std::map<PublicKey, Candidates> local_seen_;  // last local candidates fed in
  std::map<PublicKey, RelayLink> relays_;       // by key, once known
  std::vector<PendingKey> pending_keys_;
  Instant armed_at_ = Instant::max();  // the earliest overlay deadline known
  bool pumping_ = false;
  PongCallback on_pong_;
  PathCallback on_path_;
};

}  // namespace peermq::overlay
