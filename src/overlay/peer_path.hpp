// PeerPath: how this node reaches one remote peer, and how that changes.
//
// A route is one of: none (no way known yet), relayed (through a relay that has the
// peer registered), direct (a confirmed UDP endpoint of the peer). The transport sends
// every end-to-end session datagram for the peer along route(): straight to the endpoint,
// or wrapped in a forward to the relay. With route none and candidates known (local
// discovery, no relay), it sends to each candidate; the first authenticated answer makes
// the route direct.
//
// No I/O. The transport feeds in what it learns about the peer (lookup results, punch
// notifications, probes and acks the peer sent over its session, authenticated packets
// and where they came from); outputs (probes to send straight to an endpoint, punch
// requests for the relay, lookups for the relay client) come out of poll_output(), and
// every route change comes out of poll_event() for logging. Call on_timeout() at
// next_deadline().
//
// Hole punching (a round): on a lookup result, a punch notify, or the peer's own probe,
// probe every candidate each hole_punch_probe_interval for up to hole_punch_timeout. With
// a relay, the round starts with a punch_request so that the relay tells the peer to probe
// us at the same moment (each side's probes open its own NAT for the other's). The first
// probe_ack that comes back FROM the endpoint the probe was sent to confirms that endpoint
// both ways: the route becomes direct. The peer's probes and packets from endpoints we did
// not know are added as candidates (peer-reflexive, as in ICE). A round that confirms
// nothing ends quietly (event punch_failed, route unchanged) and the next one waits
// hole_punch_retry_initial, doubling up to hole_punch_retry_max. The punch request and the
// relay's notify to the peer are single datagrams: until a probe or ack from the peer shows
// that it punches too, the requester asks the relay again every hole_punch_request_retry
// until the round ends (a few small messages per round, and rounds back off). Probes travel inside the end-to-end session, so they leave
// only once it has keys (the transport holds them until then): a round started while the
// session is not usable (on_session(false)) gets its full time from when it becomes usable,
// and a round that ended before that does not count: it is started again, with no added
// backoff, as soon as the session is usable.
//
// Timers while direct:
//   keepalive   silent for direct_path_keepalive_interval: probe the endpoint, once per
//               interval (the peer does the same, so an idle path stays known alive).
//   failover    silent for direct_path_failover_timeout: back to the relay (or none, with
//               a lookup), event direct_lost; punching resumes after the retry delay.
// With no route, a failed lookup is retried after path_lookup_retry_initial, doubling up
// to path_lookup_retry_max, until one succeeds.
// Relay failover seen from the other side: while relayed, packets from the peer arriving
// through another relay after the route's relay has carried nothing from it for a
// keepalive interval move the route there (event relay_changed): the peer failed over (our
// relay may be dead, which our relay client notices only at its next keepalive).
// NAT rebinding: an authenticated data packet from the peer at another endpoint moves the
// direct route there (event rebinding); so does a probe, but only once the current
// endpoint has been silent for a keepalive interval (an idle path), since during a punch
// round probes arrive from every mapping the peer has.
//
// A route change may lose or reorder the datagrams in flight on the old path; the reliable
// channel above retransmits and deduplicates whatever path a packet took, so messages are
// neither lost nor duplicated. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>

#include "overlay/overlay_message.hpp"
#include "wire/limits.hpp"

namespace peermq::overlay {

struct Route {
  enum class Kind { none, relayed, direct };
  Kind kind = Kind::none;
  PublicKey relay{};       // relayed
  Endpoint endpoint;  // direct
  friend bool operator==(const Route&, const Route&) = default;

  static Route relayed_via(const PublicKey& relay) { return {Kind::relayed, relay, {}}; }
  static Route direct_to(const Endpoint& e) { return {Kind::direct, {}, e}; }
};
const char* name(Route::Kind k) noexcept;

struct PathEvent {
  enum class Reason {
    relay_found,       // none -> relayed (lookup, punch notify, or a packet via a relay)
    relay_changed,     // relayed -> relayed through another relay (a new lookup answer, or
                       // the peer's packets come through it while ours went quiet)
    direct_confirmed,  // -> direct: a probe ack came back from the probed endpoint
    direct_learned,    // none -> direct: the peer answered at a local candidate
    rebinding,         // direct -> direct at the peer's new endpoint (its NAT rebound)
    direct_lost,       // direct -> relayed or none: silent for the failover timeout
    relay_lost,        // relayed -> none: the relay died or no longer has the peer
    punch_failed,      // route unchanged: a punch round confirmed no endpoint
  };
  Reason reason{};
  Route from;
  Route to;
  std::optional<Duration> rtt;  // direct_confirmed: the confirming probe's round trip
};
const char* name(PathEvent::Reason r) noexcept;

struct PathOutput {
  enum class Kind {
    probe,     // send `message` (probe or probe_ack) over the peer's session to `endpoint`
    to_relay,  // send `message` (punch_request) over the session with `relay`
    lookup,    // ask the relay client where the peer is
  };
  Kind kind{};
  Endpoint endpoint;
  PublicKey relay{};
  std::vector<std::uint8_t> message;
};

struct PeerPathConfig {
  Duration probe_interval = limits::kHolePunchProbeInterval;
  Duration punch_timeout = limits::kHolePunchTimeout;
  Duration request_retry = limits::kHolePunchRequestRetry;
  Duration keepalive_interval = limits::kDirectPathKeepaliveInterval;
  Duration failover_timeout = limits::kDirectPathFailoverTimeout;
  Duration retry_initial = limits::kHolePunchRetryInitial;
  Duration retry_max = limits::kHolePunchRetryMax;
  Duration lookup_retry_initial = limits::kPathLookupRetryInitial;
  Duration lookup_retry_max = limits::kPathLookupRetryMax;
  std::uint64_t nonce_seed = 0;  // the runtime passes a random value; tests a fixed one
};

struct PeerPathStats {
  std::uint64_t rounds = 0;  // punch rounds started
  std::uint64_t requests_sent = 0;  // punch requests to the relay, repeats included
  std::uint64_t probes_sent = 0;
  std::uint64_t acks_sent = 0;
  std::uint64_t unmatched_acks = 0;  // OverlayError::unmatched_probe_ack
  std::uint64_t route_changes = 0;
};

class PeerPath {
 public:
  PeerPath(const PublicKey& peer, const PeerPathConfig& config = {});

  // A relay answered a lookup: the peer is reachable through it at these candidates.
  void on_lookup_result(const PublicKey& relay, const Candidates& candidates, Instant now);
  // No relay knows the peer. With no route, the path asks again later (lookup output).
  void on_lookup_failed(Instant now);
  // Endpoints from the peer's local announcement (same host, no relay needed).
  void on_local_candidates(const Candidates& candidates, Instant now);
  // `relay` asks us to probe the peer now (it requested a round, or we did).
  void on_punch_notify(const PublicKey& relay, const PunchNotify& m, Instant now);
  // A probe or ack the peer sent over its session, straight from `source`.
  void on_probe(const Endpoint& source, const Probe& m, Instant now);
  void on_probe_ack(const Endpoint& source, const ProbeAck& m, Instant now);
  // Any other authenticated packet from the peer that arrived straight from `source`.
  void on_direct_packet(const Endpoint& source, Instant now);
  // An authenticated packet from the peer that `relay` forwarded.
  void on_relayed_packet(const PublicKey& relay, Instant now);
  // `relay` died, forgot us, or no longer has the peer: stop using it for this peer.
  void on_relay_lost(const PublicKey& relay, Instant now);
  // Whether the end-to-end session with the peer can carry probes now (assumed until told).
  void on_session(bool usable, Instant now);
  void on_timeout(Instant now);
  Instant next_deadline() const noexcept;

  std::optional<PathOutput> poll_output();
  std::optional<PathEvent> poll_event();

  const PublicKey& peer() const noexcept { return peer_; }
  const Route& route() const noexcept { return route_; }
  // The relay known to reach the peer (also while direct: the fallback).
  const std::optional<PublicKey>& relay() const noexcept { return relay_; }
  const Candidates& candidates() const noexcept { return candidates_; }
  bool punching() const noexcept { return punching_; }
  // The round trip of the last probe acknowledged on the direct route.
  std::optional<Duration> rtt() const noexcept { return rtt_; }
  // Where the peer last saw our probes come from (our endpoint as it sees it).
  const std::optional<Endpoint>& observed_by_peer() const noexcept {
    return observed_by_peer_;
  }
  const PeerPathStats& stats() const noexcept { return stats_; }

 private:
  struct SentProbe {
    Endpoint endpoint;
    std::uint64_t nonce = 0;
    Instant sent{};
  };

  // Adds candidates not yet known, up to max_path_candidates; true if any was new.
  bool learn(const Endpoint& e);
  void learn_all(const Candidates& c);
  void start_round(Instant now, std::optional<std::uint64_t> nonce, bool request);
  void request_punch();
  // The peer's probe or ack reached us: it punches, the request got through.
  void peer_punching() { request_at_.reset(); }
  void end_round(Instant now, bool confirmed);
  void probe_candidates(Instant now);
  void send_probe(const Endpoint& to, Instant now);
  void change_route(Route to, PathEvent::Reason reason, Instant now,
                    std::optional<Duration> rtt = std::nullopt);
  void fall_back(Instant now);
  void want_lookup();
  void output(PathOutput o) { outputs_.push_back(std::move(o)); }

  PublicKey peer_;
  PeerPathConfig config_;
  Route route_;
  std::optional<PublicKey> relay_;
  Candidates candidates_;

  bool punching_ = false;
  std::uint64_t nonce_ = 0;
  bool session_usable_ = true;
  bool round_had_session_ = false;  // this round's probes could leave at some point
  bool round_owed_ = false;         // a round ended with no usable session: run it again
  // This round's punch request is repeated at request_at_ until the peer is heard from.
  std::optional<Instant> request_at_;
  std::uint64_t rounds_ = 0;
  Instant round_end_{};
  Instant next_probe_{};
  std::optional<Instant> next_round_;  // retry after a failed round or a lost path
  Duration retry_delay_;
  std::optional<Instant> next_lookup_;  // retry after a failed lookup, while route is none
  Duration lookup_delay_;

  std::uint64_t next_seq_ = 1;
  std::map<std::uint64_t, SentProbe> sent_;  // by seq; at most max_outstanding_probes

  Instant last_direct_rx_{};  // the direct endpoint's last authenticated packet
  Instant last_relayed_rx_{};  // the last packet through the route's relay, or when the
                               // route became relayed
  Instant next_keepalive_{};
  std::optional<Duration> rtt_;
  std::optional<Endpoint> observed_by_peer_;

  std::deque<PathOutput> outputs_;
  std::deque<PathEvent> events_;
  PeerPathStats stats_;
};

}  // namespace peermq::overlay
