// RelayServer: the relay's core. It keeps a table of registered nodes, answers "where is
// ADDR", coordinates hole punching, and forwards end-to-end datagrams it cannot read.
//
// No I/O. Every message reaches it from the transport after the relay's session with the
// sender decrypted it, so `from` is authenticated (the sender proved it holds the key)
// and `source` is where its packets come from. Answers leave through poll_transmit(): an
// encoded overlay message for one node, to be sent inside the relay's session with it, at
// the endpoint that node registered from.
//
// Rules, in the order they apply to each message:
// - register always works (up to max_registrations nodes); it creates or refreshes the
//   entry, records the observed endpoint, and is answered with registered.
// - any other request from a node not in the table is answered with unknown_peer (the
//   relay restarted, or the node expired): the node then registers again.
// - lookup and punch_request spend the node's signalling allowance, forward its
//   forwarding allowance (token buckets, limits::kRelaySignal* / kRelayForward*):
//   over it, the message is dropped and counted.
// - forward to a node not in the table is dropped; the sender hears lookup_result(not
//   found) for it, within its signalling allowance, so it can look the target up again.
// - punch_request sends punch_notify to both nodes, each naming the other's candidates
//   and the requester's nonce; to an unregistered target it is dropped, and so it is
//   when either node has no candidate (a WebSocket peer).
// - a node on a WebSocket (observed at Endpoint::web(n)) is served like any other, rate
//   limits included; its web endpoint is never passed on as a candidate.
// A relay can delay or drop traffic but never read or forge it: the packets it forwards
// are end-to-end session datagrams, and the peers' sessions authenticate each other.
//
// Entries expire registration_lifetime after their last register. Single-threaded.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>

#include "overlay/overlay_error.hpp"
#include "overlay/overlay_message.hpp"
#include "overlay/token_bucket.hpp"
#include "wire/limits.hpp"

namespace peermq::overlay {

struct RelayServerConfig {
  std::chrono::milliseconds keepalive = limits::kRelayKeepaliveInterval;  // told to nodes
  Duration registration_lifetime = limits::kRelayRegistrationLifetime;
  std::size_t max_registrations = limits::kRelayMaxRegistrations;
  unsigned forward_per_second = limits::kRelayForwardPacketsPerSecond;
  unsigned forward_burst = limits::kRelayForwardBurst;
  unsigned signal_per_second = limits::kRelaySignalPerSecond;
  unsigned signal_burst = limits::kRelaySignalBurst;
};

// One message for a node: send `message` inside the session with `to`, at `endpoint`.
struct RelayOutput {
  PublicKey to{};
  Endpoint endpoint;
  std::vector<std::uint8_t> message;
};

struct RelayServerStats {
  std::array<std::uint64_t, kOverlayErrorCount> drops{};  // indexed by OverlayError
  std::uint64_t registrations = 0;                        // new entries
  std::uint64_t refreshes = 0;  // registers of a node already in the table
  std::uint64_t expirations = 0;
  std::uint64_t lookups = 0;
  std::uint64_t lookup_misses = 0;
  std::uint64_t punches = 0;  // punch requests passed on to both sides
  std::uint64_t forwarded_packets = 0;
  std::uint64_t forwarded_bytes = 0;
  std::uint64_t unknown_peer_sent = 0;
  std::uint64_t drops_of(OverlayError e) const { return drops[static_cast<std::size_t>(e)]; }
};

class RelayServer {
 public:
  struct Registration {
    Endpoint observed;  // where the node's packets come from
    Candidates locals;       // the endpoints it announced (its own sockets)
    Instant expires{};
    TokenBucket forward;
    TokenBucket signal;
  };

  explicit RelayServer(const RelayServerConfig& config = {});

  // One overlay control message from `from`. The bytes are read only during the call;
  // a message that does not decode is dropped and counted.
  void on_message(const PublicKey& from, const Endpoint& source,
                  std::span<const std::uint8_t> bytes, Instant now);
  void on_message(const PublicKey& from, const Endpoint& source, const OverlayMessage& m,
                  Instant now);
  // Forgets expired registrations.
  void on_timeout(Instant now);
  // The next expiry; Instant::max() with an empty table.
  Instant next_deadline() const noexcept;
  std::optional<RelayOutput> poll_transmit();

  std::size_t registered_count() const noexcept { return table_.size(); }
  const Registration* registration(const PublicKey& node) const;
  // The candidates a lookup answers for a registration: observed first, then the
  // announced ones, without repeats, at most max_endpoint_candidates; never a web endpoint
  // (a WebSocket peer has none: it is reached through this relay only).
  static Candidates candidates_of(const Registration& r);
  const RelayServerStats& stats() const noexcept { return stats_; }

 private:
  void on_register(const PublicKey& from, const Endpoint& source, const Register& m,
                   Instant now);
  void on_lookup(const PublicKey& from, Registration& self, const Lookup& m, Instant now);
  void on_punch(const PublicKey& from, Registration& self, const PunchRequest& m, Instant now);
  void on_forward(const PublicKey& from, Registration& self, const Forward& m, Instant now);
  // The live entry of `node`, or nullptr (an expired entry not yet swept counts as gone).
  Registration* live(const PublicKey& node, Instant now);
  void send(const PublicKey& to, const Endpoint& endpoint, const OverlayMessage& m);
  void drop(OverlayError reason) noexcept { ++stats_.drops[static_cast<std::size_t>(reason)]; }

  RelayServerConfig config_;
  TokenRate forward_rate_;
  TokenRate signal_rate_;
  std::map<PublicKey, Registration> table_;
  std::set<std::pair<Instant, PublicKey>> expiry_;  // (expires, node) for every entry
  std::deque<RelayOutput> transmit_;
  RelayServerStats stats_;
};

}  // namespace peermq::overlay
