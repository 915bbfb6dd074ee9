// PeerTransport: one node's reliable, ordered, encrypted messages to its peers over one
// UDP socket. It joins the I/O-free cores to the loop:
//
//   send:    Channel::poll_packet -> SessionEndpoint::send -> poll_transmit -> route -> UdpSocket
//   receive: UdpSocket -> SessionEndpoint::on_datagram -> Channel::on_packet -> poll_message
//
// One Channel per peer, keyed by the peer's Ed25519 public key. A peer we never heard of
// that completes a handshake with us gets a Channel too, reached where its packets came from.
//
// Routes: every session datagram for a peer leaves along the peer's route (overlay::Route):
// straight to an endpoint (direct), or through a relay (relayed): wrapped in an overlay
// forward(to = peer, datagram) sent inside our session with the relay, which must itself
// be reached directly. A forwarded(from = P, datagram) that arrives in the session of a
// relay we trust (trust_relay) is fed to the session layer as coming from a synthetic
// source that stands for "P through that relay" (an address in the discard-only prefix
// 100::/64, never a real source), so that handshake answers and cookie replies go back
// through the same relay; the session still authenticates P itself, and a datagram the
// relay says is P's but that decrypts as someone else's is dropped. The Channel and the
// session sit above the route: a route change loses or duplicates nothing (the channel
// retransmits and deduplicates whatever path a packet took).
// A peer's route follows where its authenticated packets come from (roaming), until
// set_route() fixes it: from then on the caller (the node's PeerPath) decides, and learns
// of every authenticated packet and how it arrived through on_arrival.
//
// Overlay control messages (FrameKind::overlay) travel inside the same sessions, never
// retransmitted: send_overlay() along the route, send_overlay_to() straight to an endpoint
// (path probes, a relay's answers). A relay's key, when only its endpoint is known, is
// asked for outside any session (runtime/relay_key_exchange.hpp).
//
// Restarts: every session payload starts with a TransportFrame carrying the incarnation
// (start time) of the sender and the receiver's as the sender knows it. A peer that comes
// back with the same key and a greater incarnation gets a fresh Channel on both sides, and
// on_peer_reset tells the application that whatever it had queued for, or half received
// from, the previous run is gone. Packets of a previous run, or meant for ours, are dropped
// and counted; a node that receives packets meant for its previous run answers with a
// header-only frame, so the peer learns of the restart even when we have nothing to say. One Timer
// wakes the transport at the earliest deadline of the session endpoint and of every channel; after
// each batch of input (the datagrams of one socket read, a timer) the channels are polled until
// they have nothing the congestion controller and pacer allow, so what a batch asks for shares
// packets and ACKs, and the datagrams of one loop iteration leave together in one sendmmsg(2).
// When nothing may be sent the transport sleeps until the next deadline; it never spins.
//
// Threads: the loop's thread only. Lifetime: destroy it before its Loop; the Counters
// must outlive it. Callbacks may call send(), send_overlay() and set_route(), but must not
// destroy the transport.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "channel/channel.hpp"
#include "overlay/peer_path.hpp"
#include "overlay/token_bucket.hpp"
#include "wire/endpoint.hpp"
#include "runtime/loop.hpp"
#include "runtime/timer.hpp"
#include "runtime/udp_socket.hpp"
#include "session/session_config.hpp"
#include "session/session_endpoint.hpp"
#include "wire/endpoint.hpp"

namespace peermq::runtime {

enum class TransportError {
  unknown_peer = 1,  // send() to a peer with no route: add_peer() or set_route() it first
  not_bound,         // send() before bind() or after close()
};
const char* describe(TransportError e);
inline const char* category_name(TransportError) {
  return "peermq.runtime.transport";
}
PEERMQ_ERROR_ENUM(TransportError)

struct PeerTransportOptions {
  UdpOptions udp{};
  session::SessionConfig session{};
  channel::ChannelConfig channel{};
  // Relays only: answer "what is your key?" (runtime/relay_key_exchange.hpp).
  bool answer_relay_key_requests = false;
};

// How an authenticated packet from a peer reached us.
struct Arrival {
  bool relayed = false;
  PublicKey relay{};  // relayed: the relay that forwarded it
  Endpoint from;      // direct: where it came from; relayed: where the relay is
};

class PeerTransport {
 public:
  // `message` is valid only during the call: copy what you keep.
  using MessageCallback =
      std::function<void(const PublicKey& peer, std::span<const std::uint8_t> message)>;
  using WritableCallback = std::function<void(const PublicKey& peer)>;
  using PeerCallback = std::function<void(const PublicKey& peer)>;
  // An overlay control message (FrameKind::overlay) from `peer`, valid during the call.
  // Forwarded datagrams from trusted relays never come here: the transport unwraps them.
  using OverlayCallback = std::function<void(
      const PublicKey& peer, std::span<const std::uint8_t> message, const Arrival& arrival)>;
  // Every authenticated packet of `peer` (channel, overlay or header-only), and how.
  using ArrivalCallback = std::function<void(const PublicKey& peer, const Arrival& arrival)>;
  // A relay at `from` answered our key request `nonce` with `key` (not authenticated).
  using RelayKeyCallback =
      std::function<void(const Endpoint& from, std::uint64_t nonce, const PublicKey& key)>;

  // Keys are copied out of `identity`. Throws std::system_error if libuv cannot create
  // the handles (start-up only).
  PeerTransport(Loop& loop, const Identity& identity, Counters& counters,
                PeerTransportOptions options = {});
  PeerTransport(const PeerTransport&) = delete;  // the socket's callbacks point at this
  PeerTransport& operator=(const PeerTransport&) = delete;

  Result<void> bind(const Endpoint& local);
  // Family::none before bind().
  Endpoint local_endpoint() const;

  // Where `peer` is reached: a direct route that then follows the peer's packets. Replaces
  // the route it had; its Channel is kept. A changed endpoint starts a new handshake at
  // once (the peer may have restarted elsewhere).
  void add_peer(const PublicKey& peer, const Endpoint& where);
  // Fixes `peer`'s route (its Channel and session are kept, no new handshake): from now on
  // only set_route() changes it. A relayed route needs the relay reached directly.
  void set_route(const PublicKey& peer, const overlay::Route& route);
  // Accepts forwarded datagrams arriving in `relay`'s session (a configured relay).
  void trust_relay(const PublicKey& relay) { trusted_relays_.insert(relay); }
  // Sends an overlay control message (copied) to `peer` inside its session, along its
  // route; unreliable. Errors: unknown_peer, not_bound, the session layer's (queue_full...).
  Result<void> send_overlay(const PublicKey& peer, std::span<const std::uint8_t> message);
  // The same, straight to `where` whatever the route (probes; a relay's answers). Before
  // the session has keys, a handshake starts along the route (with no route, toward
  // `where`) and the message waits for the keys, then goes to `where`: the newest one
  // per endpoint, for up to limits::max_path_candidates endpoints.
  Result<void> send_overlay_to(const PublicKey& peer, const Endpoint& where,
                               std::span<const std::uint8_t> message);
  // A new handshake with `peer` now (it may have restarted and lost our keys).
  void rehandshake(const PublicKey& peer);
  // Asks whoever is at `relay` for its public key (the answer comes to on_relay_key).
  Result<void> request_relay_key(const Endpoint& relay, std::uint64_t nonce);
  // Queues a copy of `message` for `peer` (reliable, ordered, exactly once). Errors:
  // TransportError::unknown_peer / not_bound; ChannelError::would_block when the peer's
  // send buffer is full (retry after on_writable), message_too_large, closed.
  Result<void> send(const PublicKey& peer, std::span<const std::uint8_t> message);

  // Set before messages can arrive (before bind()).
  void on_message(MessageCallback callback) { on_message_ = std::move(callback); }
  // Called once after a send() to `peer` returned would_block, when at least half the
  // send buffer has been acknowledged.
  void on_writable(WritableCallback callback) { on_writable_ = std::move(callback); }
  // The peer restarted (a new incarnation): its Channel was replaced by a fresh one; what
  // was queued for it and not yet acknowledged is dropped.
  void on_peer_reset(PeerCallback callback) { on_peer_reset_ = std::move(callback); }
  // The session with `peer` closed after it stayed silent past the idle timeout, or every
  // handshake attempt went unanswered: the peer is gone or unreachable.
  void on_peer_closed(PeerCallback callback) { on_peer_closed_ = std::move(callback); }
  void on_overlay(OverlayCallback callback) { on_overlay_ = std::move(callback); }
  void on_arrival(ArrivalCallback callback) { on_arrival_ = std::move(callback); }
  void on_relay_key(RelayKeyCallback callback) { on_relay_key_ = std::move(callback); }

  // This run's incarnation (see above); never 0.
  std::uint64_t incarnation() const noexcept { return incarnation_; }
  // Inside on_message and the other input callbacks: when the socket read that brought the
  // input was handled (one clock read for all its datagrams); elsewhere the loop's time.
  Instant now() const noexcept { return read_at_ ? *read_at_ : loop_.now(); }

  // Where `peer` is reached directly (Family::none when unknown or relayed).
  Endpoint endpoint_of(const PublicKey& peer) const;
  // `peer`'s route (kind none when unknown).
  overlay::Route route_of(const PublicKey& peer) const;
  // The Channel with `peer`, for inspection (nullptr when there is none).
  const channel::Channel* channel(const PublicKey& peer) const;
  const session::SessionEndpoint& sessions() const noexcept { return sessions_; }
  std::size_t peer_count() const noexcept { return peers_.size(); }

  // Sends now what send() and send_overlay() queued outside the transport's own callbacks
  // (which would otherwise leave on the next loop iteration), up to what congestion
  // control allows, and hands it to the kernel. For an owner that produces output in a
  // loop phase of its own (the broker's group commit). Does nothing inside a callback: what
  // it queues leaves when the callback's input has been handled.
  void flush();

  // Stops receiving and timing; what is unsent is dropped. Idempotent.
  void close() noexcept;

 private:
  struct HeldOverlay {
    Endpoint to;
    std::vector<std::uint8_t> message;
  };
  struct Peer {
    explicit Peer(const channel::ChannelConfig& config) : channel(config) {}
    overlay::Route route;
    bool managed = false;           // set_route() decides the route; packets do not move it
    std::vector<HeldOverlay> held;  // send_overlay_to() messages waiting for keys
    channel::Channel channel;
    std::uint64_t incarnation = 0;  // the peer's current run, once heard from
    Instant hinted_at{};            // last header-only frame sent after a stale packet
    bool blocked = false;           // a send() was refused; on_writable is owed
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
    Counter* relay_keys_answered;
    Gauge* peers;
  };
  // A relayed source: `peer` through `relay`.
  struct Via {
    PublicKey relay{};
    PublicKey peer{};
  };
  static Metrics register_metrics(Counters& counters);

  Peer& peer_entry(const PublicKey& peer);
  void on_datagram(std::span<const std::uint8_t> data, const Endpoint& from);
  // The socket delivered a read's datagrams: send what they asked for, together.
  void on_read_done();
  bool on_relay_key_datagram(std::span<const std::uint8_t> data, const Endpoint& from, Instant now);
  void on_forwarded(const PublicKey& relay, std::span<const std::uint8_t> message, Instant now);
  // The synthetic source for `via` (made on first use); nullopt when the table is full.
  std::optional<Endpoint> relayed_source(const Via& via);
  const Via* via_of(const Endpoint& source) const;
  Arrival arrival_of(const Endpoint& source) const;
  std::string source_text(const Endpoint& source) const;
  Result<void> send_frame(const PublicKey& key, Peer& peer, std::span<const std::uint8_t> message,
                          Instant now);
  void hold(Peer& p, const Endpoint& where, std::span<const std::uint8_t> message);
  // Sends what send_overlay_to() held for `key` until its session had keys.
  void release_held(const PublicKey& key);
  // Hands one session datagram to the socket, or to the relay its route goes through.
  void dispatch(const session::Datagram& d);
  void send_direct(const Endpoint& to, std::span<const std::uint8_t> bytes);
  void forward_via(const PublicKey& relay, const PublicKey& to,
                   std::span<const std::uint8_t> bytes);
  void on_timer();
  void handle(std::vector<session::SessionEvent>& events, Instant now);
  void deliver(const PublicKey& key, std::span<const std::uint8_t> packet,
               const Endpoint& source, Instant now);
  // False when the frame belongs to another incarnation and must be dropped. An overlay
  // frame meant for our previous run is kept (the peer still hears who we are now).
  bool check_incarnation(const PublicKey& key, Peer& peer, std::uint64_t sender,
                         std::uint64_t receiver, bool overlay, Instant now);
  void send_hint(const PublicKey& key, Peer& peer, Instant now);
  // Notifies writable peers, sends what may go, and re-arms the timer.
  void service(Instant now);
  // False when the socket's queue stayed full: retry shortly.
  bool pump(Instant now);
  bool pump_peer(const PublicKey& key, Peer& peer, Instant now);
  bool transmit();
  bool socket_has_room();
  void notify_writable();
  void arm(Instant now, bool socket_full);
  void schedule_service();

  Loop& loop_;
  PeerTransportOptions options_;
  Metrics metrics_;
  session::SessionEndpoint sessions_;
  std::map<PublicKey, Peer> peers_;
  std::vector<std::uint8_t> packet_;  // one channel packet, reused
  MessageCallback on_message_;
  WritableCallback on_writable_;
  PeerCallback on_peer_reset_;
  PeerCallback on_peer_closed_;
  OverlayCallback on_overlay_;
  ArrivalCallback on_arrival_;
  RelayKeyCallback on_relay_key_;
  std::set<PublicKey> trusted_relays_;
  std::map<std::pair<PublicKey, PublicKey>, std::uint32_t> via_slots_;  // (relay, peer)
  std::vector<Via> vias_;                                               // slot - 1 -> pair
  std::optional<std::pair<PublicKey, Endpoint>> redirect_;  // send_overlay_to() in progress
  std::vector<std::uint8_t> overlay_;                       // one overlay frame, reused
  std::vector<std::uint8_t> wrap_;                          // one forward message, reused
  overlay::TokenRate key_answer_rate_;
  overlay::TokenBucket key_answers_;
  std::uint64_t incarnation_;
  bool in_service_ = false;         // inside a callback that ends with service()
  bool service_scheduled_ = false;  // the timer was set to fire at once
  bool batch_pending_ = false;      // datagrams of the current read await on_read_done()
  std::optional<Instant> read_at_;  // when the current read's first datagram was handled
  UdpSocket socket_;
  Timer timer_;
};

}  // namespace peermq::runtime

PEERMQ_ERROR_ENUM_STD(peermq::runtime::TransportError)
