// RelayClient: a node's side of its relays. It registers with every configured relay,
// keeps each registration (and the NAT mapping toward it) alive, notices a relay that
// died or restarted, and looks addresses up, trying the relays in turn.
//
// No I/O. Messages to a relay leave through poll_transmit(), to be sent inside the node's
// session with that relay. The transport hands in every decoded message that arrived in
// a relay's session (on_message); messages from keys that are not configured relays are
// dropped, so no peer can pose as a relay. Forwarded datagrams go to the session layer,
// not here. What happened comes out of poll_event(); call on_timeout() at next_deadline().
//
// Timers (every relay on its own):
//   register retry   an unanswered register is resent after relay_register_retry_initial,
//                    doubling up to relay_register_retry_max; after relay_missed_answers_dead
//                    unanswered registers in a row the relay is dead (event relay_lost) and
//                    is retried at the maximum interval from then on.
//   keepalive        a registered relay gets a register again after the keepalive interval
//                    it asked for, clamped to [relay_keepalive_interval_min,
//                    relay_keepalive_interval]: it refreshes the registration and the NAT
//                    mapping; its answer reports our observed public endpoint.
//   lookup           each attempt waits address_lookup_timeout for its relay's answer.
// A relay that answers unknown_peer forgot us (restart): we register again at once
// (event relay_forgot, then registered); refresh() registers at once too, when the
// transport sees its traffic through a relay go unanswered. Lookups try the registered relays first, in
// configured order, then those still registering (never the dead ones); an attempt at a
// relay that is not registered waits for its registration within the attempt's timeout.
// A lookup fails (event lookup_failed) once every relay tried said not_found or timed out
// (at once, with lookup_timeout, when every relay is dead). Single-threaded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <system_error>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/result.hpp>

#include "overlay/overlay_error.hpp"
#include "overlay/overlay_message.hpp"
#include "wire/limits.hpp"

namespace peermq::overlay {

struct RelayInfo {
  PublicKey key{};
  Endpoint endpoint;  // where its UDP socket is (the transport's business)
};

struct RelayClientConfig {
  std::vector<RelayInfo> relays;  // preference order; at most limits::kMaxRelays
  Candidates local_candidates;    // our own endpoints, announced in every register
  Duration retry_initial = limits::kRelayRegisterRetryInitial;
  Duration retry_max = limits::kRelayRegisterRetryMax;
  unsigned missed_answers_dead = limits::kRelayMissedAnswersDead;
  Duration lookup_timeout = limits::kAddressLookupTimeout;
  std::size_t max_pending_lookups = limits::kMaxPendingLookups;
};

// A message for a relay: send it inside the session with `relay`.
struct RelayClientOutput {
  PublicKey relay{};
  Endpoint endpoint;
  std::vector<std::uint8_t> message;
};

struct RelayClientEvent {
  enum class Kind {
    registered,        // `relay` accepted us; `observed` is our endpoint as it sees it
    observed_changed,  // `relay` now sees us at `observed` (our NAT rebound)
    relay_lost,        // `relay` stopped answering: move paths through it elsewhere
    relay_forgot,      // `relay` no longer knew us (it restarted); registering again
    lookup_done,       // `peer` is reachable through `relay` at `candidates`
    lookup_failed,     // `peer` was not found; `error` is not_found or lookup_timeout
    punch,             // `relay` asks us to probe `peer` at `candidates` now, round `nonce`
    peer_gone,         // `relay` no longer has `peer` (a datagram we forwarded bounced)
  };
  Kind kind{};
  PublicKey relay{};
  PublicKey peer{};
  Endpoint observed;
  Candidates candidates;
  std::uint64_t nonce = 0;
  std::error_code error;
};

struct RelayClientStats {
  std::array<std::uint64_t, kOverlayErrorCount> drops{};  // indexed by OverlayError
  std::uint64_t registers_sent = 0;
  std::uint64_t lookups_sent = 0;
  std::uint64_t relays_lost = 0;
  std::uint64_t relays_forgot = 0;
  std::uint64_t drops_of(OverlayError e) const { return drops[static_cast<std::size_t>(e)]; }
};

class RelayClient {
 public:
  enum class Status { registering, registered, dead };

  // Starts registering with every relay at `now`. More than limits::kMaxRelays relays is
  // a configuration error (std::invalid_argument).
  RelayClient(RelayClientConfig config, Instant now);

  // One decoded message that arrived in the session with `relay`.
  void on_message(const PublicKey& relay, const OverlayMessage& m, Instant now);
  void on_timeout(Instant now);
  Instant next_deadline() const noexcept;
  std::optional<RelayClientOutput> poll_transmit();
  std::optional<RelayClientEvent> poll_event();

  // Looks `target` up (joins a lookup already in flight for it). The answer comes as a
  // lookup_done or lookup_failed event. Errors: no_relays, too_many_lookups.
  Result<void> lookup(const PublicKey& target, Instant now);
  // A relay whose key became known after start (learned on first contact): appended to
  // the preference order, registered with at once. A key already configured, or more
  // than limits::kMaxRelays relays, is ignored (false).
  bool add_relay(const RelayInfo& info, Instant now);
  // Our own endpoints changed: every relay hears a register at once.
  void set_local_candidates(Candidates candidates, Instant now);
  // What we send through `relay` goes unanswered: register with it now, unless a register
  // is already waiting for its answer. A relay that restarted lost our session and cannot
  // say so; its silence to this register is what tells (the register retries and the
  // transport's rehandshake follow), and a live relay's answer costs one round trip.
  void refresh(const PublicKey& relay, Instant now);

  std::size_t relay_count() const noexcept { return relays_.size(); }
  const RelayInfo& relay(std::size_t i) const { return relays_[i].info; }
  Status status(std::size_t i) const { return relays_[i].status; }
  // Where relay i last saw us, once it answered.
  const std::optional<Endpoint>& observed(std::size_t i) const { return relays_[i].observed; }
  bool is_relay(const PublicKey& key) const noexcept { return find(key) != nullptr; }
  bool registered_with(const PublicKey& relay) const noexcept;
  std::size_t pending_lookups() const noexcept { return lookups_.size(); }
  const RelayClientStats& stats() const noexcept { return stats_; }

 private:
  struct Relay {
    RelayInfo info;
    Status status = Status::registering;
    std::uint64_t seq = 0;        // the last register sent
    std::uint64_t acked_seq = 0;  // the last register answered
    unsigned missed = 0;          // unanswered registers in a row
    Duration retry{};             // the wait after the next unanswered register
    Instant last_sent{};
    Instant next_send{};  // the next register: retry or keepalive
    std::optional<Endpoint> observed;
  };
  struct Lookup {
    std::uint64_t request_id = 0;    // of the current attempt
    std::vector<std::size_t> order;  // relay indices to try
    std::size_t attempt = 0;         // index into order
    bool sent = false;               // the current attempt's lookup went out
    bool timed_out = false;          // some attempt went unanswered
    Instant deadline{};              // of the current attempt
  };
  using LookupMap = std::map<PublicKey, Lookup>;

  Relay* find(const PublicKey& key) noexcept;
  const Relay* find(const PublicKey& key) const noexcept;
  std::size_t index_of(const Relay& r) const noexcept {
    return static_cast<std::size_t>(&r - relays_.data());
  }
  void send_register(Relay& r, Instant now);
  void on_registered(Relay& r, const Registered& m, Instant now);
  void on_unknown_peer(Relay& r, Instant now);
  void on_lookup_result(Relay& r, const LookupResult& m, Instant now);
  void relay_died(Relay& r, Instant now);
  // Sends the lookups parked at relay index i (it has just registered).
  void send_parked(std::size_t i, Instant now);
  // Parks the lookups sent to relay index i (it forgot us): resent once it registers.
  void park_sent(std::size_t i);
  void start_attempt(LookupMap::iterator it, Instant now);
  // Moves a lookup to its next relay, or ends it (lookup_failed, erased) after the last.
  void next_attempt(LookupMap::iterator it, Instant now);
  void emit(RelayClientEvent e) { events_.push_back(std::move(e)); }
  void drop(OverlayError reason) noexcept { ++stats_.drops[static_cast<std::size_t>(reason)]; }

  RelayClientConfig config_;
  std::vector<Relay> relays_;
  LookupMap lookups_;
  std::map<std::uint64_t, PublicKey> by_request_;  // request id -> target
  std::uint64_t next_request_id_ = 1;              // 0 marks the relay's unsolicited answers
  std::deque<RelayClientOutput> transmit_;
  std::deque<RelayClientEvent> events_;
  RelayClientStats stats_;
};

}  // namespace peermq::overlay
