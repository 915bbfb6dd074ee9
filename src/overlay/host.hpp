// Host: everything one node does between datagrams and the messages of its peers, with no
// I/O. One Host per process (per node): the broker, consumer, producer, relay and ping
// roles all run on one, over the libuv UDP socket (platform/node.hpp), over the
// simulator's network (tests/sim/), later over a WebSocket.
//
// The way of a datagram:
//   DatagramTransport -> on_datagram -> SessionEndpoint (decrypt, authenticate)
//     -> TransportFrame (incarnations) -> Channel (reliable, ordered) -> on_message
//     -> overlay control messages: relay client, paths (Router), relay server, ping
//   send -> Channel -> SessionEndpoint -> the peer's route -> DatagramTransport
// Nothing on the way in decides anything before the session has authenticated the sender,
// but for the one thing a node must do before it has a session with a relay: learn its
// key (overlay/relay_key_exchange.hpp).
//
// Driven by calls only: on_datagram(bytes, from, now) for each received datagram and
// on_batch_end(now) after the datagrams of one read; on_timeout(now) at next_deadline().
// What the host sends goes to the DatagramTransport; the time of calls made outside those
// inputs (send(), dial(), ...) comes from the Clock. When such a call gives the host work
// before the deadline its driver last saw (a message to send), it calls the wake callback:
// the driver then calls on_timeout() soon (libuv: on the next loop iteration, so the sends
// of one iteration share packets and one sendmmsg). Inside an input call, what the host
// queues leaves when the input is handled.
//
// Peers are named by their Ed25519 public key (their address). One Channel per peer; a
// peer we never heard of that completes a handshake with us gets one too, reached where
// its packets came from.
//
// Routes: every session datagram for a peer leaves along the peer's route: straight to an
// endpoint (direct), or through a relay (relayed): wrapped in an overlay forward(to = peer,
// datagram) inside our session with the relay, which must itself be reached directly. A
// forwarded(from = P, datagram) arriving in the session of a relay we trust (one we
// configured) is fed to the session layer as coming from a synthetic source that stands
// for "P through that relay" (overlay/relayed_sources.hpp). The Channel sits above the
// route: a route change loses or duplicates nothing. A peer's route follows where its
// authenticated packets come from (roaming) until the Router manages it (set_route): with
// relays, the Router's PeerPath for each peer decides (overlay/router.hpp).
//
// Restarts: every session payload starts with a TransportFrame carrying the incarnation
// (start time) of the sender and the receiver's as the sender knows it. A peer that comes
// back with the same key and a greater incarnation gets a fresh Channel on both sides, and
// on_peer_reset tells the application that whatever it had queued for, or half received
// from, the previous run is gone. Packets of a previous run, or meant for ours, are dropped
// and counted; a node that receives packets meant for its previous run answers with a
// header-only frame, so the peer learns of the restart even when we have nothing to say.
//
// A relay host (HostOptions::relay) also runs a RelayServer: it answers key requests,
// registers nodes, answers lookups, coordinates punching and forwards datagrams it cannot
// read (overlay/relay_server.hpp). A node serving browsers (HostOptions::relay_for_web)
// runs one for its WebSocket peers only.
//
// Threads: one (the driver's). Lifetime: the Identity (the router signs our local
// announcements with it), transport, clock, directory and Counters outlive the host. Callbacks may call send(), ping() and dial() but must not
// destroy the host.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "channel/channel.hpp"
#include "overlay/datagram_transport.hpp"
#include "overlay/peer_directory.hpp"
#include "overlay/peer_path.hpp"
#include "overlay/peer_timers.hpp"
#include "overlay/relay_server.hpp"
#include "overlay/relay_spec.hpp"
#include "overlay/relayed_sources.hpp"
#include "overlay/router.hpp"
#include "overlay/token_bucket.hpp"
#include "session/session_config.hpp"
#include "session/session_endpoint.hpp"

namespace peermq::overlay {

enum class HostError {
  unknown_peer = 1,  // send() to a peer with no route: dial() it first
  not_open,          // the transport is not open (before start, after stop)
};
const char* describe(HostError e);
inline const char* category_name(HostError) {
  return "peermq.overlay.host";
}
PEERMQ_ERROR_ENUM(HostError)

struct HostOptions {
  session::SessionConfig session{};
  channel::ChannelConfig channel{};
  RouterOptions router{};
  // A relay: runs a RelayServer, answers key requests, uses no relays and is not
  // announced for local discovery.
  bool relay = false;
  // Runs the RelayServer for WebSocket peers only (sources that are Endpoint::web), and is
  // otherwise an ordinary node (its own relays, announced). For a node serving browsers
  // with -web: a page reaches nothing but the node it was loaded from, so that node must
  // be its relay: the browser registers with it, and a broker's clients then dial the
  // broker's address, which is the relay's own, straight over the WebSocket (a dial of a
  // relay's key needs no lookup). UDP peers are not served, so a broker does not become an
  // open relay for the Internet by serving a page.
  bool relay_for_web = false;
  RelayServerConfig server{};
};

// How an authenticated packet from a peer reached us.
struct Arrival {
  bool relayed = false;
  PublicKey relay{};  // relayed: the relay that forwarded it
  Endpoint from;      // direct: where it came from; relayed: where the relay is
};

class Host {
 public:
  // `message` is valid only during the call: copy what you keep.
  using MessageCallback =
      std::function<void(const PublicKey& peer, std::span<const std::uint8_t> message)>;
  using PeerCallback = std::function<void(const PublicKey& peer)>;
  using WakeCallback = std::function<void()>;

  // `directory` may be null (no local discovery). Keys are copied out of `identity`.
  Host(const Identity& identity, DatagramTransport& transport, const Clock& clock,
       PeerDirectory* directory, Counters& counters, HostOptions options = {});
  Host(Identity&&, DatagramTransport&, const Clock&, PeerDirectory*, Counters&,
       HostOptions = {}) = delete;  // the identity must outlive the host
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Once the transport is open: announces us for local discovery and starts registering
  // with the relays. `detail` gets a sentence for the user on failure.
  Result<void> start(std::string* detail);
  // Withdraws our announcement; nothing more is sent. Idempotent.
  void stop() noexcept;

  // ---- input (the driver) ----
  void on_datagram(std::span<const std::uint8_t> bytes, const Endpoint& from, Instant now);
  void on_batch_end(Instant now);
  void on_timeout(Instant now);
  // Instant::max() when nothing is due; a time in the past when on_timeout() has work now.
  Instant next_deadline() const noexcept;
  void on_wake(WakeCallback callback) { on_wake_ = std::move(callback); }

  // ---- the node's use ----
  // Finds `peer` (local discovery, relays) and keeps looking while it is unreachable.
  // Without relays the error is the directory's (not found on this host); with relays
  // dial() succeeds at once and messages sent meanwhile wait for the route.
  Result<void> dial(const PublicKey& peer, std::string* detail = nullptr);
  // Queues a copy of `message` for `peer` (reliable, ordered, exactly once). Errors:
  // HostError::unknown_peer / not_open; ChannelError::would_block when the peer's send
  // buffer is full (retry after on_writable), message_too_large, closed.
  Result<void> send(const PublicKey& peer, std::span<const std::uint8_t> message);
  // A ping (overlay, unreliable) along `peer`'s route; the pong comes to on_pong.
  Result<void> ping(const PublicKey& peer, std::uint64_t id);
  // An acknowledged PING on `peer`'s channel: if the peer stays silent, the host handshakes
  // again (limits::kPeerSilenceRehandshake) and learns whether it restarted. For a client
  // waiting on a peer that has nothing to say (a producer awaiting answers).
  void probe(const PublicKey& peer);
  // Sends now what was queued outside an input call, up to what congestion control
  // allows, and flushes the transport. Does nothing inside an input call.
  void flush();

  // Where `peer` is reached: a direct route that then follows the peer's packets (no
  // discovery). A changed endpoint starts a new handshake at once.
  void add_peer(const PublicKey& peer, const Endpoint& where);
  // Fixes `peer`'s route: from now on only set_route() changes it.
  void set_route(const PublicKey& peer, const Route& route);
  // A new handshake with `peer` now (it may have restarted and lost our keys).
  void rehandshake(const PublicKey& peer);

  // ---- overlay control: what the Router steers with; tests and tools may use it too ----
  // An overlay control message (copied) to `peer` along its route; unreliable. Errors:
  // unknown_peer (no route), not_open, the session layer's (queue_full...).
  Result<void> send_overlay(const PublicKey& peer, std::span<const std::uint8_t> message);
  // The same, straight to `where` whatever the route (probes; a relay's answers). Before
  // the session has keys, a handshake starts along the route (with no route, toward
  // `where`) and the message waits for the keys: the newest one per endpoint, for up to
  // limits::kMaxPathCandidates endpoints.
  Result<void> send_overlay_to(const PublicKey& peer, const Endpoint& where,
                               std::span<const std::uint8_t> message);
  // Asks whoever is at `relay` for its public key (the answer goes to the Router).
  void request_relay_key(const Endpoint& relay, std::uint64_t nonce);
  // Accepts forwarded datagrams arriving in `relay`'s session (the Router's relays).
  void trust_relay(const PublicKey& relay) { trusted_relays_.insert(relay); }
  // Taps for tests and diagnostics, called before the host acts: every decoded overlay
  // control message from an authenticated peer (forwarded datagrams excepted), and every
  // authenticated packet with how it arrived. Views are valid during the call.
  using ControlCallback =
      std::function<void(const PublicKey& peer, const OverlayMessage& m, const Arrival& how)>;
  using ArrivalCallback = std::function<void(const PublicKey& peer, const Arrival& how)>;
  void on_control(ControlCallback callback) { on_control_ = std::move(callback); }
  void on_arrival(ArrivalCallback callback) { on_arrival_ = std::move(callback); }

  void on_message(MessageCallback callback) { on_message_ = std::move(callback); }
  // Once after a send() to `peer` returned would_block, when at least half the send
  // buffer has been acknowledged.
  void on_writable(PeerCallback callback) { on_writable_ = std::move(callback); }
  // The peer restarted: its Channel is fresh, what was queued for it is gone.
  void on_peer_reset(PeerCallback callback) { on_peer_reset_ = std::move(callback); }
  // The session with `peer` closed after silence, or every handshake went unanswered.
  void on_peer_closed(PeerCallback callback) { on_peer_closed_ = std::move(callback); }
  void on_pong(Router::PongCallback callback) { router_.on_pong(std::move(callback)); }
  void on_path_change(Router::PathCallback callback) { router_.on_path_change(std::move(callback)); }

  // ---- inspection ----
  const PublicKey& public_key() const noexcept { return sessions_.public_key(); }
  std::uint64_t incarnation() const noexcept { return incarnation_; }
  // Inside an input call, its time (one clock read for a whole batch); else the clock's.
  Instant now() const noexcept { return input_at_ ? *input_at_ : clock_.now(); }
  Endpoint local_endpoint() const { return transport_.local_endpoint(); }
  Route route_of(const PublicKey& peer) const;
  // Where `peer` is reached directly (Family::none when unknown or relayed).
  Endpoint endpoint_of(const PublicKey& peer) const;
  // The remote endpoint the route to `peer` sends to: the peer's for a direct route, the
  // relay's when relayed (Family::none without a route).
  Endpoint remote_endpoint_of(const PublicKey& peer) const;
  const channel::Channel* channel(const PublicKey& peer) const;
  const session::SessionEndpoint& sessions() const noexcept { return sessions_; }
  std::size_t peer_count() const noexcept { return peers_.size(); }
  const Router& router() const noexcept { return router_; }
  // Text for logs and `peermq ping`: "direct 192.0.2.7:4000", "relayed via 192.0.2.1:7070".
  std::string describe(const Route& route) const { return router_.describe(route); }
  const RelayServer* relay_server() const noexcept { return server_ ? &*server_ : nullptr; }

 private:
  friend class Router;  // the Router steers routes and sends overlay messages through us

  struct HeldOverlay {
    Endpoint to;
    std::vector<std::uint8_t> message;
  };
  struct Peer {
    explicit Peer(const channel::ChannelConfig& config) : channel(config) {}
    Route route;
    bool managed = false;           // set_route() decides the route; packets do not move it
    std::vector<HeldOverlay> held;  // send_overlay_to() messages waiting for keys
    channel::Channel channel;
    std::uint64_t incarnation = 0;  // the peer's current run, once heard from
    Instant hinted_at{};            // last header-only frame sent after a stale packet
    Instant heard_at{};             // its last authenticated packet (or when we met it)
    Instant rehandshake_at{};       // no silence handshake before this
    Duration silence_backoff{};     // the wait before the next one
    bool blocked = false;           // a send() was refused; on_writable is owed (in blocked_)
    bool touched = false;           // in touched_: its deadline is set again after this input
    bool pending = false;           // in pending_: the next pump visits it
  };
  struct Metrics {
    Counter* messages_sent;
    Counter* messages_received;
    Counter* packets_sent;
    Counter* packets_received;
    Counter* packets_malformed;
    Counter* packets_stale;
    Counter* peer_resets;
    Counter* drops_socket_full;
    Counter* drops_no_endpoint;
    Counter* drops_session;
    Counter* session_send_errors;
    Counter* sessions_established;
    Counter* handshakes_failed;
    Counter* sessions_closed;
    Counter* relayed_sent;
    Counter* relayed_received;
    Counter* drops_relayed;
    Counter* overlay_sent;
    Counter* overlay_received;
    Counter* overlay_malformed;
    Counter* relay_keys_answered;
    Counter* silence_rehandshakes;
    Gauge* peers;
    // A relay's
    Gauge* registered;
    Counter* forwarded_packets;
    Counter* forwarded_bytes;
    Counter* lookups;
    Counter* punches;
  };
  static Metrics register_metrics(Counters& counters);

  bool has_channel(const PublicKey& peer) const { return peers_.count(peer) != 0; }

  Peer& peer_entry(const PublicKey& peer);
  // The host acted on `peer` (a packet, a send, a timeout, a route or session change): the
  // next pump visits it and its deadline is set again when the input ends. Only touched,
  // due and pending peers are visited: a wakeup costs what it does, not the peer count.
  void touch(const PublicKey& key, Peer& peer);
  void touch(const PublicKey& key);
  // Peers whose channel state a pump changed: their deadline is set again.
  void mark_touched(const PublicKey& key, Peer& peer);
  void refresh_deadlines(Instant now);
  Instant channel_deadline(const PublicKey& key, const Peer& peer, Instant now) const;
  bool on_relay_key_datagram(std::span<const std::uint8_t> data, const Endpoint& from,
                             Instant now);
  void handle(std::vector<session::SessionEvent>& events, Instant now);
  void deliver(const PublicKey& key, std::span<const std::uint8_t> packet,
               const Endpoint& source, Instant now);
  void on_overlay(const PublicKey& key, std::span<const std::uint8_t> body,
                  const Arrival& arrival, Instant now);
  void on_forwarded(const PublicKey& relay, const Forwarded& f, Instant now);
  void on_relay_request(const PublicKey& from, const Endpoint& source, const OverlayMessage& m,
                        Instant now);
  void pump_server();
  Arrival arrival_of(const Endpoint& source) const;
  // Whether the relay server serves a packet from `source` (relay, or relay_for_web and a
  // WebSocket peer).
  bool relays_for(const Endpoint& source) const noexcept {
    return server_ && (options_.relay || source.is_web());
  }
  std::string source_text(const Endpoint& source) const;
  // False when the frame belongs to another incarnation and must be dropped. An overlay
  // frame meant for our previous run is kept (the peer still hears who we are now).
  bool check_incarnation(const PublicKey& key, Peer& peer, std::uint64_t sender,
                         std::uint64_t receiver, bool overlay, Instant now);
  void send_hint(const PublicKey& key, Peer& peer, Instant now);
  // A peer silent while our data waits for its ACK: handshake again (it may have restarted).
  void check_silence(const PublicKey& key, Peer& peer, Instant now);
  Result<void> send_frame(const PublicKey& key, Peer& peer, std::span<const std::uint8_t> message,
                          Instant now);
  void hold(Peer& p, const Endpoint& where, std::span<const std::uint8_t> message);
  void release_held(const PublicKey& key);

  // ---- output ----
  // Begins handling one input: what it queues waits for its end.
  void begin_input(Instant now);
  // Notifies writable peers, sends what may go, and works out the next deadline.
  void service(Instant now);
  void schedule_service();
  // False when the transport's queue stayed full: retry shortly.
  bool pump(Instant now);
  bool pump_peer(const PublicKey& key, Peer& peer, Instant now);
  bool transmit();
  void dispatch(const session::Datagram& d);
  void send_direct(const Endpoint& to, std::span<const std::uint8_t> bytes);
  void forward_via(const PublicKey& relay, const PublicKey& to, std::span<const std::uint8_t> bytes);
  void notify_writable();
  Instant compute_deadline(Instant now, bool transport_full) const;

  const Clock& clock_;
  DatagramTransport& transport_;
  HostOptions options_;
  Metrics metrics_;
  session::SessionEndpoint sessions_;
  // Found by hash: every datagram sent looks its peer's route up.
  std::unordered_map<PublicKey, Peer, session::PeerKeyHash> peers_;
  PeerTimers timers_;                // each peer's channel deadline, when its keys are usable
  std::vector<PublicKey> touched_;   // peers whose deadline is set again at the end of input
  std::deque<PublicKey> pending_;    // peers to pump; the one a full transport stopped first
  std::vector<PublicKey> blocked_;   // peers owed on_writable (Peer::blocked)
  std::vector<PublicKey> due_;       // on_timeout()'s due peers, reused
  Router router_;
  std::optional<RelayServer> server_;
  RelayServerStats reported_{};  // the server's stats as last copied into the metrics
  std::vector<std::uint8_t> packet_;  // one channel packet, reused
  std::vector<std::uint8_t> overlay_;  // one overlay frame, reused
  std::vector<std::uint8_t> wrap_;     // one forward message, reused
  std::set<PublicKey> trusted_relays_;
  RelayedSources vias_;
  std::optional<std::pair<PublicKey, Endpoint>> redirect_;  // send_overlay_to() under way
  TokenRate key_answer_rate_;
  TokenBucket key_answers_;
  std::uint64_t incarnation_;
  MessageCallback on_message_;
  PeerCallback on_writable_;
  PeerCallback on_peer_reset_;
  PeerCallback on_peer_closed_;
  WakeCallback on_wake_;
  ControlCallback on_control_;
  ArrivalCallback on_arrival_;
  bool in_input_ = false;           // inside an input call that ends with service()
  bool service_due_ = false;        // a call outside input queued work: on_timeout() now
  bool batch_pending_ = false;      // datagrams of the current read await on_batch_end()
  bool stopped_ = false;
  std::optional<Instant> input_at_;  // the time of the input being handled
  Instant deadline_ = Instant::max();
};

}  // namespace peermq::overlay

PEERMQ_ERROR_ENUM_STD(peermq::overlay::HostError)
