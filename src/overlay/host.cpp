#include "overlay/host.hpp"

#include <algorithm>
#include <chrono>

#include "channel/channel_error.hpp"
#include "metrics/counter_registry.hpp"
#include "overlay/overlay_message.hpp"
#include "overlay/relay_key_exchange.hpp"
#include "log/log.hpp"
#include "wire/transport_frame.hpp"

namespace peermq::overlay {

using session::SessionEvent;

const char* describe(HostError e) {
  switch (e) {
    case HostError::unknown_peer:
      return "no route is known to this peer: dial it (or add_peer() its endpoint) first";
    case HostError::not_open:
      return "the node's network transport is not open: start the node first, and do not "
             "send after stopping it";
  }
  return "unknown host error";
}

Host::Metrics Host::register_metrics(Counters& counters) {
  const CounterRegistry c(counters);
  return Metrics{
      &c.counter("transport_messages_sent_total", "Messages accepted by send()."),
      &c.counter("transport_messages_received_total", "Messages delivered to on_message."),
      &c.counter("transport_packets_sent_total", "Channel packets handed to the session layer."),
      &c.counter("transport_packets_received_total", "Decrypted channel packets received."),
      &c.counter("transport_packets_malformed_total",
                 "Decrypted packets dropped: a bad frame header, or refused by the channel."),
      &c.counter("transport_packets_stale_total",
                 "Packets of a peer's previous run, or meant for our previous run, dropped."),
      &c.counter("transport_peer_resets_total", "Peers seen to restart (a new incarnation)."),
      &c.counter("transport_drops_socket_full_total",
                 "Datagrams dropped because the transport's send queue was full."),
      &c.counter("transport_drops_no_endpoint_total",
                 "Datagrams dropped because no endpoint was known for their peer."),
      &c.counter("transport_drops_session_total",
                 "Received datagrams the session layer dropped (any reason)."),
      &c.counter("transport_session_send_errors_total",
                 "Channel packets the session layer refused to send."),
      &c.counter("transport_sessions_established_total", "Sessions that became usable."),
      &c.counter("transport_handshakes_failed_total", "Handshakes given up after all retries."),
      &c.counter("transport_sessions_closed_total", "Sessions closed after idling."),
      &c.counter("transport_relayed_sent_total", "Session datagrams sent wrapped for a relay."),
      &c.counter("transport_relayed_received_total",
                 "Session datagrams a trusted relay forwarded to us."),
      &c.counter("transport_drops_relayed_total",
                 "Relayed datagrams dropped: too large, no direct route to the relay, a "
                 "forward from an untrusted peer, or a sender other than the relay claimed."),
      &c.counter("transport_overlay_sent_total",
                 "Overlay messages sent (forwards of relayed datagrams included)."),
      &c.counter("transport_overlay_received_total",
                 "Overlay messages received (forwarded datagrams included)."),
      &c.counter("transport_overlay_malformed_total",
                 "Overlay messages from authenticated peers that did not decode."),
      &c.counter("transport_relay_keys_answered_total", "Relay key requests answered."),
      &c.counter("transport_silence_rehandshakes_total",
                 "Handshakes started again because a peer went silent with data unacknowledged."),
      &c.gauge("transport_peers", "Peers with a channel."),
      &c.gauge("relay_registered_nodes", "Nodes registered with this relay."),
      &c.counter("relay_forwarded_packets_total", "Datagrams forwarded between nodes."),
      &c.counter("relay_forwarded_bytes_total", "Bytes of datagrams forwarded."),
      &c.counter("relay_lookups_total", "Address lookups answered."),
      &c.counter("relay_punches_total", "Hole punching rounds coordinated."),
  };
}

namespace {

RouterOptions router_options(const HostOptions& o) {
  RouterOptions r = o.router;
  if (o.relay) {  // a relay uses no relays and nobody dials it by discovery
    r.relays.clear();
    r.announce = false;
  }
  return r;
}

}  // namespace

Host::Host(const Identity& identity, DatagramTransport& transport, const Clock& clock,
           PeerDirectory* directory, Counters& counters, HostOptions options)
    : clock_(clock),
      transport_(transport),
      options_(std::move(options)),
      metrics_(register_metrics(counters)),
      sessions_(identity, options_.session, clock.now(), clock.wall_now()),
      peers_(16, session::PeerKeyHash::random()),
      router_(*this, identity, clock, directory, router_options(options_)),
      packet_(limits::kTransportFrameHeaderSize + options_.channel.max_packet_size),
      key_answer_rate_(TokenRate::of(limits::kRelayKeyAnswersPerSecond,
                                     limits::kRelayKeyAnswersPerSecond)),
      key_answers_(key_answer_rate_, clock.now()),
      incarnation_(std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            clock.wall_now().time_since_epoch())
                                            .count()))) {
  if (options_.relay || options_.relay_for_web) server_.emplace(options_.server);
}

Result<void> Host::start(std::string* detail) {
  if (!transport_.is_open()) return HostError::not_open;
  stopped_ = false;
  const Instant now = clock_.now();
  auto started = router_.start(now, detail);
  schedule_service();
  return started;
}

void Host::stop() noexcept {
  stopped_ = true;
  router_.stop();
  deadline_ = Instant::max();
}

Route Host::route_of(const PublicKey& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? Route{} : it->second.route;
}

Endpoint Host::endpoint_of(const PublicKey& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.route.kind != Route::Kind::direct) return {};
  return it->second.route.endpoint;
}

Endpoint Host::remote_endpoint_of(const PublicKey& peer) const {
  const Route r = route_of(peer);
  switch (r.kind) {
    case Route::Kind::direct: return r.endpoint;
    case Route::Kind::relayed: return endpoint_of(r.relay);
    case Route::Kind::none: break;
  }
  return {};
}

const channel::Channel* Host::channel(const PublicKey& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second.channel;
}

Host::Peer& Host::peer_entry(const PublicKey& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    it = peers_
             .emplace(std::piecewise_construct, std::forward_as_tuple(peer),
                      std::forward_as_tuple(options_.channel))
             .first;
    metrics_.peers->set(static_cast<std::int64_t>(peers_.size()));
    it->second.heard_at = now();
    touch(it->first, it->second);
  }
  return it->second;
}

void Host::touch(const PublicKey& key, Peer& peer) {
  mark_touched(key, peer);
  if (!peer.pending) {
    peer.pending = true;
    pending_.push_back(key);
  }
}

void Host::touch(const PublicKey& key) {
  auto it = peers_.find(key);
  if (it != peers_.end()) touch(it->first, it->second);
}

void Host::mark_touched(const PublicKey& key, Peer& peer) {
  if (peer.touched) return;
  peer.touched = true;
  touched_.push_back(key);
}

// ---- the node's use ------------------------------------------------------------------------

Result<void> Host::dial(const PublicKey& peer, std::string* detail) {
  if (!transport_.is_open() || stopped_) return HostError::not_open;
  auto dialed = router_.dial(peer, now(), detail);
  schedule_service();
  return dialed;
}

void Host::add_peer(const PublicKey& peer, const Endpoint& where) {
  Peer& p = peer_entry(peer);
  const Route to = Route::direct_to(where);
  const bool moved = p.route.kind != Route::Kind::none && p.route != to;
  p.route = to;
  p.managed = false;
  touch(peer, p);
  if (moved && sessions_.session(peer) != nullptr && transport_.is_open()) {
    // A peer found somewhere else may be a new run that lost our keys: do not wait for
    // the keys to time out before handshaking again.
    if (!sessions_.rehandshake(peer, now())) metrics_.session_send_errors->inc();
    schedule_service();
  }
}

void Host::set_route(const PublicKey& peer, const Route& route) {
  Peer& p = peer_entry(peer);
  p.route = route;
  p.managed = true;
  touch(peer, p);
  schedule_service();  // what waited for a route may go now
}

Result<void> Host::send(const PublicKey& peer, std::span<const std::uint8_t> message) {
  if (!transport_.is_open()) return HostError::not_open;
  auto it = peers_.find(peer);
  // A managed peer without a route yet (being looked up) queues: its route is coming.
  if (it == peers_.end() || (it->second.route.kind == Route::Kind::none && !it->second.managed)) {
    return HostError::unknown_peer;
  }
  Peer& p = it->second;
  auto sent = p.channel.send(message);
  if (!sent) {
    if (sent.error() == channel::ChannelError::would_block && !p.blocked) {
      p.blocked = true;
      blocked_.push_back(peer);
    }
    return sent;
  }
  touch(peer, p);
  metrics_.messages_sent->inc();
  schedule_service();
  return {};
}

void Host::probe(const PublicKey& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  it->second.channel.ping();
  touch(peer, it->second);
  schedule_service();
}

Result<void> Host::ping(const PublicKey& peer, std::uint64_t id) {
  return send_overlay(peer, encode(OverlayMessage{Ping{id}}));
}

void Host::flush() {
  if (in_input_ || !transport_.is_open()) return;  // the input under way sends it
  begin_input(clock_.now());
  service(*input_at_);
  transport_.flush();
}

void Host::rehandshake(const PublicKey& peer) {
  if (!transport_.is_open()) return;
  if (!sessions_.rehandshake(peer, now())) metrics_.session_send_errors->inc();
  touch(peer);
  schedule_service();
}

Result<void> Host::send_frame(const PublicKey& key, Peer& peer,
                              std::span<const std::uint8_t> message, Instant at) {
  overlay_.resize(limits::kTransportFrameHeaderSize);
  wire::encode_transport_frame_header(
      wire::FrameKind::overlay, incarnation_, peer.incarnation,
      std::span(overlay_).first<limits::kTransportFrameHeaderSize>());
  overlay_.insert(overlay_.end(), message.begin(), message.end());
  auto sent = sessions_.send(key, overlay_, at);
  if (!sent) {
    metrics_.session_send_errors->inc();
    return sent;
  }
  metrics_.overlay_sent->inc();
  return {};
}

Result<void> Host::send_overlay(const PublicKey& peer, std::span<const std::uint8_t> message) {
  if (!transport_.is_open()) return HostError::not_open;
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.route.kind == Route::Kind::none) {
    return HostError::unknown_peer;
  }
  auto sent = send_frame(peer, it->second, message, now());
  schedule_service();
  return sent;
}

Result<void> Host::send_overlay_to(const PublicKey& peer, const Endpoint& where,
                                   std::span<const std::uint8_t> message) {
  if (!transport_.is_open()) return HostError::not_open;
  const Instant at = now();
  Peer& p = peer_entry(peer);
  touch(peer, p);
  // What the session layer holds already leaves along its route; only this message's
  // datagrams (or the handshake below) go to `where`.
  (void)transmit();
  const session::Session* s = sessions_.session(peer);
  if (s == nullptr || !s->can_send(at)) {
    // The handshake goes along the route when there is one (it works, while a NAT may
    // still close `where`), else to `where`; a responder with fresh keys waits for the
    // initiator's first packet instead. The message waits for the keys.
    const bool waiting = s != nullptr && (s->handshake_pending() || s->keypair_count() > 0);
    if (p.route.kind == Route::Kind::none) redirect_.emplace(peer, where);
    if (!waiting && !sessions_.connect(peer, at)) metrics_.session_send_errors->inc();
    (void)transmit();
    redirect_.reset();
    hold(p, where, message);
    schedule_service();
    return {};
  }
  redirect_.emplace(peer, where);
  auto sent = send_frame(peer, p, message, at);
  (void)transmit();
  redirect_.reset();
  schedule_service();
  return sent;
}

void Host::hold(Peer& p, const Endpoint& where, std::span<const std::uint8_t> message) {
  auto same = std::find_if(p.held.begin(), p.held.end(),
                           [&](const HeldOverlay& h) { return h.to == where; });
  if (same != p.held.end()) {
    same->message.assign(message.begin(), message.end());  // the newest probe wins
    return;
  }
  if (p.held.size() >= limits::kMaxPathCandidates) p.held.erase(p.held.begin());
  p.held.push_back(HeldOverlay{where, {message.begin(), message.end()}});
}

void Host::release_held(const PublicKey& key) {
  auto it = peers_.find(key);
  if (it == peers_.end() || it->second.held.empty()) return;
  std::vector<HeldOverlay> held = std::move(it->second.held);
  it->second.held.clear();
  for (const HeldOverlay& h : held) (void)send_overlay_to(key, h.to, h.message);
}

void Host::request_relay_key(const Endpoint& relay, std::uint64_t nonce) {
  if (!transport_.is_open()) return;
  const RelayKeyRequest request = encode_relay_key_request(nonce);
  if (!transport_.send(relay, request)) metrics_.drops_socket_full->inc();
}

// ---- input -----------------------------------------------------------------------------------

void Host::begin_input(Instant at) {
  in_input_ = true;
  if (!input_at_) input_at_ = at;
}

void Host::on_datagram(std::span<const std::uint8_t> bytes, const Endpoint& from, Instant at) {
  if (stopped_) return;
  // The datagrams of one read arrived together: one time stands for all of them, and what
  // they make us send waits for on_batch_end, so that the answers to a whole batch share
  // packets, ACKs and one pass over the channels.
  begin_input(at);
  batch_pending_ = true;
  if (on_relay_key_datagram(bytes, from, *input_at_)) return;
  auto events = sessions_.on_datagram(bytes, from, *input_at_);
  handle(events, *input_at_);
}

void Host::on_batch_end(Instant at) {
  if (!batch_pending_) {
    input_at_.reset();
    return;
  }
  batch_pending_ = false;
  service(at);
}

void Host::on_timeout(Instant at) {
  if (stopped_) return;
  begin_input(at);
  service_due_ = false;
  if (sessions_.next_deadline() <= at) {
    auto events = sessions_.on_timeout(at);
    handle(events, at);
  }
  due_.clear();
  timers_.take_due(at, due_);
  for (const PublicKey& key : due_) {
    auto it = peers_.find(key);
    if (it == peers_.end()) continue;
    Peer& peer = it->second;
    if (peer.channel.next_deadline() <= at) {
      peer.channel.on_timeout(at);
      check_silence(key, peer, at);
    }
    touch(key, peer);
  }
  router_.on_timeout(at);
  if (server_ && server_->next_deadline() <= at) {
    server_->on_timeout(at);
    pump_server();
  }
  service(at);
}

bool Host::on_relay_key_datagram(std::span<const std::uint8_t> data, const Endpoint& from,
                                 Instant at) {
  if (looks_like_relay_key_request(data)) {
    if (!relays_for(from)) return true;
    auto nonce = decode_relay_key_request(data);
    if (!nonce || !key_answers_.take(key_answer_rate_, at)) return true;
    const RelayKeyAnswer answer = encode_relay_key_answer(*nonce, sessions_.public_key());
    if (transport_.send(from, answer)) metrics_.relay_keys_answered->inc();
    return true;
  }
  if (looks_like_relay_key_answer(data)) {
    auto answer = decode_relay_key_answer(data);
    if (answer) router_.on_relay_key(from, answer->nonce, answer->key, at);
    return true;
  }
  return false;
}

void Host::handle(std::vector<SessionEvent>& events, Instant at) {
  for (SessionEvent& e : events) {
    switch (e.kind) {
      case SessionEvent::Kind::established: {
        metrics_.sessions_established->inc();
        // The responder learns where its new peer is from the handshake itself.
        Peer& p = peer_entry(e.peer);
        if (p.route.kind == Route::Kind::none && !p.managed) {
          const Arrival a = arrival_of(e.source);
          p.route = a.relayed ? Route::relayed_via(a.relay) : Route::direct_to(e.source);
        }
        PEERMQ_LOG(debug, "transport", "session established with a peer at %s",
                   source_text(e.source).c_str());
        release_held(e.peer);
        router_.on_session(e.peer, true, at);
        // Tell the peer who we are at once: a restart on either side is then noticed
        // now, not whenever one of us next has data to send (a quiet producer or an idle
        // consumer may have none, and would wait forever for a broker that restarted).
        send_hint(e.peer, p, at);
        break;
      }
      case SessionEvent::Kind::delivered: deliver(e.peer, e.data, e.source, at); break;
      case SessionEvent::Kind::handshake_failed:
        metrics_.handshakes_failed->inc();
        router_.on_session(e.peer, false, at);
        if (on_peer_closed_) on_peer_closed_(e.peer);
        break;
      case SessionEvent::Kind::closed:
        metrics_.sessions_closed->inc();
        router_.on_session(e.peer, false, at);
        if (on_peer_closed_) on_peer_closed_(e.peer);
        break;
      case SessionEvent::Kind::dropped: metrics_.drops_session->inc(); continue;
    }
    touch(e.peer);  // its keys, channel or route may have changed
  }
}

void Host::deliver(const PublicKey& key, std::span<const std::uint8_t> packet,
                   const Endpoint& source, Instant at) {
  const RelayedSources::Via* via = vias_.via_of(source);
  if (via != nullptr && via->peer != key) {
    // The relay said the datagram was someone else's: misdirected, or a lie. Replies to
    // that source would go to the wrong peer, so it is not used.
    metrics_.drops_relayed->inc();
    return;
  }
  auto frame = wire::decode_transport_frame(packet);
  if (!frame) {
    metrics_.packets_malformed->inc();
    return;
  }
  Peer& peer = peer_entry(key);
  const Arrival arrival = arrival_of(source);
  if (!peer.managed) {
    // An authenticated packet proves where the peer is now (it may have roamed).
    peer.route = arrival.relayed ? Route::relayed_via(arrival.relay) : Route::direct_to(source);
  }
  metrics_.packets_received->inc();
  peer.heard_at = at;
  peer.silence_backoff = Duration::zero();
  if (on_arrival_) on_arrival_(key, arrival);
  router_.on_arrival(key, arrival, at);
  const bool overlay = frame->kind == wire::FrameKind::overlay;
  if (!check_incarnation(key, peer, frame->sender_incarnation, frame->receiver_incarnation, overlay,
                         at)) {
    return;
  }
  if (overlay) {
    on_overlay(key, frame->body, arrival, at);
    return;
  }
  if (frame->body.empty()) {  // a header-only frame: it carried incarnations only
    sessions_.owe_nothing(key);
    return;
  }
  if (!peer.channel.on_packet(frame->body, at)) {
    metrics_.packets_malformed->inc();
    return;
  }
  // ACKs only: the peer waits for nothing, so no session keepalive answers them (an idle
  // client's PING then costs the broker one packet in and its ACK out, nothing more).
  if (!peer.channel.last_received_eliciting()) sessions_.owe_nothing(key);
  while (auto message = peer.channel.poll_message()) {
    metrics_.messages_received->inc();
    if (on_message_) on_message_(key, *message);
  }
}

void Host::on_overlay(const PublicKey& key, std::span<const std::uint8_t> body,
                      const Arrival& arrival, Instant at) {
  metrics_.overlay_received->inc();
  auto m = decode_message(body);
  if (!m) {
    metrics_.overlay_malformed->inc();
    PEERMQ_LOG(debug, "node", "dropped an overlay message: %s", m.error().message().c_str());
    return;
  }
  if (on_control_ && !std::holds_alternative<Forwarded>(*m)) on_control_(key, *m, arrival);
  if (const auto* f = std::get_if<Forwarded>(&*m)) {
    // Only a relay we trust, talking to us directly, may hand us other peers' datagrams
    // (directly: a forwarded forward would let datagrams nest).
    if (!arrival.relayed && trusted_relays_.count(key) != 0) {
      on_forwarded(key, *f, at);
    } else {
      metrics_.drops_relayed->inc();
    }
    return;
  }
  if (class_of(type_of(*m)) == MessageClass::to_relay) {
    if (!arrival.relayed && relays_for(arrival.from)) on_relay_request(key, arrival.from, *m, at);
    return;
  }
  router_.on_message(key, *m, arrival, at);
}

void Host::on_forwarded(const PublicKey& relay, const Forwarded& f, Instant at) {
  auto source = vias_.source_of(relay, f.from);
  if (!source || f.from == sessions_.public_key()) {
    metrics_.drops_relayed->inc();
    return;
  }
  metrics_.relayed_received->inc();
  auto events = sessions_.on_datagram(f.packet, *source, at);
  handle(events, at);
}

void Host::on_relay_request(const PublicKey& from, const Endpoint& source,
                            const OverlayMessage& m, Instant at) {
  server_->on_message(from, source, m, at);
  pump_server();
}

void Host::pump_server() {
  while (auto o = server_->poll_transmit()) {
    // Nearly always the endpoint the node's packets come from, which is its route here.
    if (endpoint_of(o->to) == o->endpoint) {
      (void)send_overlay(o->to, o->message);
    } else {
      (void)send_overlay_to(o->to, o->endpoint, o->message);
    }
  }
  const RelayServerStats& s = server_->stats();
  if (s.registrations != reported_.registrations) {
    PEERMQ_LOG(debug, "relay", "%llu new nodes registered (%zu in all)",
               static_cast<unsigned long long>(s.registrations - reported_.registrations),
               server_->registered_count());
  }
  metrics_.registered->set(static_cast<std::int64_t>(server_->registered_count()));
  metrics_.forwarded_packets->add(s.forwarded_packets - reported_.forwarded_packets);
  metrics_.forwarded_bytes->add(s.forwarded_bytes - reported_.forwarded_bytes);
  metrics_.lookups->add(s.lookups - reported_.lookups);
  metrics_.punches->add(s.punches - reported_.punches);
  reported_ = s;
}

Arrival Host::arrival_of(const Endpoint& source) const {
  Arrival a;
  if (const RelayedSources::Via* via = vias_.via_of(source)) {
    a.relayed = true;
    a.relay = via->relay;
    a.from = endpoint_of(via->relay);
  } else {
    a.from = source;
  }
  return a;
}

std::string Host::source_text(const Endpoint& source) const {
  const Arrival a = arrival_of(source);
  if (!a.relayed) return a.from.to_string();
  return "(relayed by " + a.from.to_string() + ")";
}

bool Host::check_incarnation(const PublicKey& key, Peer& peer, std::uint64_t sender,
                             std::uint64_t receiver, bool overlay, Instant at) {
  if (sender < peer.incarnation) {  // the peer's previous run, delayed in the network
    metrics_.packets_stale->inc();
    return false;
  }
  if (sender > peer.incarnation) {
    if (peer.incarnation != 0) {
      // Same key, new run: the old Channel's numbers mean nothing to it.
      metrics_.peer_resets->inc();
      PEERMQ_LOG(info, "transport", "a peer restarted (%s route): its channel starts afresh",
                 name(peer.route.kind));
      peer.channel = channel::Channel(options_.channel);
      peer.blocked = false;
      peer.incarnation = sender;
      if (on_peer_reset_) on_peer_reset_(key);  // sends it makes go out after this input
    }
    peer.incarnation = sender;
  }
  if (receiver != 0 && receiver != incarnation_) {
    // Meant for our previous run: tell the peer who we are now, at most every few ms.
    send_hint(key, peer, at);
    // Overlay messages hold no channel state, so they are good whichever run of ours the
    // peer thought it spoke to (a node's first register to a restarted relay counts).
    if (overlay) return true;
    metrics_.packets_stale->inc();
    return false;
  }
  return true;
}

void Host::check_silence(const PublicKey& key, Peer& peer, Instant at) {
  if (!peer.channel.awaiting_ack() || at - peer.heard_at < limits::kPeerSilenceRehandshake ||
      at < peer.rehandshake_at) {
    return;
  }
  const session::Session* s = sessions_.session(key);
  if (s == nullptr || !s->can_send(at) || s->handshake_pending()) return;  // handshaking
  peer.silence_backoff = peer.silence_backoff == Duration::zero()
                             ? Duration(limits::kPeerSilenceRehandshake)
                             : std::min<Duration>(peer.silence_backoff * 2,
                                                  limits::kPeerSilenceRehandshakeMax);
  peer.rehandshake_at = at + peer.silence_backoff;
  PEERMQ_LOG(debug, "transport", "a peer is silent with data unacknowledged: handshaking again");
  metrics_.silence_rehandshakes->inc();
  if (!sessions_.rehandshake(key, at)) metrics_.session_send_errors->inc();
}

void Host::send_hint(const PublicKey& key, Peer& peer, Instant at) {
  if (at - peer.hinted_at < limits::kTransportHintInterval) return;
  peer.hinted_at = at;
  std::array<std::uint8_t, limits::kTransportFrameHeaderSize> header{};
  wire::encode_transport_frame_header(wire::FrameKind::channel, incarnation_, peer.incarnation,
                                      header);
  if (!sessions_.send(key, header, at, session::Elicits::nothing)) {
    metrics_.session_send_errors->inc();
  }
}

// ---- output ----------------------------------------------------------------------------------

Instant Host::next_deadline() const noexcept {
  if (service_due_) return Instant::min();
  return deadline_;
}

void Host::schedule_service() {
  if (in_input_ || service_due_ || stopped_) return;
  // Calls made outside an input go out together when the driver next calls on_timeout.
  service_due_ = true;
  if (on_wake_) on_wake_();
}

void Host::service(Instant at) {
  notify_writable();
  const bool full = !pump(at);
  in_input_ = false;
  input_at_.reset();
  refresh_deadlines(at);
  deadline_ = stopped_ ? Instant::max() : compute_deadline(at, full);
}

void Host::notify_writable() {
  if (!on_writable_ || blocked_.empty()) return;
  // on_writable_ may send, and block peers again: they join the fresh list.
  std::vector<PublicKey> blocked;
  blocked.swap(blocked_);
  for (const PublicKey& key : blocked) {
    auto it = peers_.find(key);
    if (it == peers_.end() || !it->second.blocked) continue;  // reset since
    Peer& peer = it->second;
    if (peer.channel.send_buffered_bytes() > options_.channel.send_buffer_limit / 2) {
      blocked_.push_back(key);
      continue;
    }
    peer.blocked = false;
    on_writable_(key);
  }
}

// Hands every datagram the session layer has to the transport.
bool Host::transmit() {
  while (transport_.writable()) {
    auto d = sessions_.poll_transmit();
    if (!d) return true;
    dispatch(*d);  // a relayed one queues its wrapped copy behind: this loop sends it too
  }
  return false;
}

void Host::dispatch(const session::Datagram& d) {
  if (d.to) {  // an answer: back where the datagram came from
    if (const RelayedSources::Via* via = vias_.via_of(*d.to)) {
      forward_via(via->relay, via->peer, d.bytes);
    } else {
      send_direct(*d.to, d.bytes);
    }
    return;
  }
  if (!d.peer) {
    metrics_.drops_no_endpoint->inc();
    return;
  }
  if (redirect_ && redirect_->first == *d.peer) {
    send_direct(redirect_->second, d.bytes);
    return;
  }
  const Route route = route_of(*d.peer);
  switch (route.kind) {
    case Route::Kind::direct: send_direct(route.endpoint, d.bytes); return;
    case Route::Kind::relayed: forward_via(route.relay, *d.peer, d.bytes); return;
    case Route::Kind::none: metrics_.drops_no_endpoint->inc(); return;
  }
}

void Host::send_direct(const Endpoint& to, std::span<const std::uint8_t> bytes) {
  if (to.family() == Endpoint::Family::none || RelayedSources::is_synthetic(to)) {
    metrics_.drops_no_endpoint->inc();
  } else if (!transport_.send(to, bytes)) {
    metrics_.drops_socket_full->inc();
  }
}

void Host::forward_via(const PublicKey& relay, const PublicKey& to,
                       std::span<const std::uint8_t> bytes) {
  auto it = peers_.find(relay);
  // The relay itself must be reached directly: relays do not chain.
  if (bytes.empty() || bytes.size() > limits::kRelayForwardMaxPacket || it == peers_.end() ||
      it->second.route.kind != Route::Kind::direct || relay == to) {
    metrics_.drops_relayed->inc();
    return;
  }
  wrap_.clear();
  encode(OverlayMessage{Forward{to, bytes}}, wrap_);
  if (send_frame(relay, it->second, wrap_, now())) {
    metrics_.relayed_sent->inc();
    router_.on_forward(relay, now());
  }
}

bool Host::pump(Instant at) {
  if (!transport_.is_open()) return true;  // closed: nothing can go
  if (!transmit()) return false;
  // The peers touched since the last pump, behind any that a full transport stopped (they
  // go first). A peer leaves the list once its pump completes.
  while (!pending_.empty()) {
    auto it = peers_.find(pending_.front());
    if (it != peers_.end()) {
      Peer& peer = it->second;
      mark_touched(it->first, peer);  // what it sends moves its deadline
      if (!pump_peer(it->first, peer, at)) return false;
      peer.pending = false;
    }
    pending_.pop_front();
  }
  return true;
}

void Host::refresh_deadlines(Instant at) {
  for (const PublicKey& key : touched_) {
    auto it = peers_.find(key);
    if (it == peers_.end()) continue;
    it->second.touched = false;
    timers_.set(key, channel_deadline(key, it->second, at));
  }
  touched_.clear();
}

Instant Host::channel_deadline(const PublicKey& key, const Peer& peer, Instant at) const {
  const Instant deadline = peer.channel.next_deadline();
  if (deadline == Instant::max()) return deadline;
  // A channel whose session has no usable keys yet waits for the handshake (the session
  // endpoint's deadline; the established event touches the peer again): its pacing
  // deadline, long due, would only spin the loop.
  const session::Session* s = sessions_.session(key);
  return s != nullptr && s->can_send(at) ? deadline : Instant::max();
}

bool Host::pump_peer(const PublicKey& key, Peer& peer, Instant at) {
  // Nothing unacknowledged and nothing due (no ACK, probe or paced send): no packet to send
  // and no handshake to start. Most peers of a busy broker are idle: skip the lookup.
  if (peer.channel.all_acked() && peer.channel.next_deadline() > at) return true;
  const session::Session* s = sessions_.session(key);
  if (s == nullptr || !s->can_send(at)) {
    // Hold packets until keys are usable: the session could queue only a few. A responder
    // with fresh keys waits for the initiator's first packet instead of handshaking anew.
    const bool waiting = s != nullptr && (s->handshake_pending() || s->keypair_count() > 0);
    if (!waiting && !peer.channel.all_acked() && peer.route.kind != Route::Kind::none) {
      if (!sessions_.connect(key, at)) metrics_.session_send_errors->inc();
      return transmit();
    }
    return true;
  }
  while (transport_.writable()) {
    auto body = std::span(packet_).subspan(limits::kTransportFrameHeaderSize);
    const std::size_t n = peer.channel.poll_packet(body, at);
    if (n == 0) return true;
    wire::encode_transport_frame_header(
        wire::FrameKind::channel, incarnation_, peer.incarnation,
        std::span(packet_).first<limits::kTransportFrameHeaderSize>());
    metrics_.packets_sent->inc();
    const auto elicits =
        peer.channel.last_sent_eliciting() ? session::Elicits::answer : session::Elicits::nothing;
    if (!sessions_.send(key, std::span(packet_).first(limits::kTransportFrameHeaderSize + n), at,
                        elicits)) {
      metrics_.session_send_errors->inc();  // the channel's loss recovery resends it
    }
    if (!transmit()) return false;
  }
  return false;
}

Instant Host::compute_deadline(Instant at, bool transport_full) const {
  Instant next = std::min(sessions_.next_deadline(), router_.next_deadline());
  if (server_) next = std::min(next, server_->next_deadline());
  next = std::min(next, timers_.next());
  // The transport refused more: it frees room as the receiver reads, so look again soon
  // (and not sooner: a deadline already due cannot send anything either).
  if (transport_full) next = at + std::chrono::milliseconds(1);
  if (!transport_.is_open()) return Instant::max();
  return next;
}

}  // namespace peermq::overlay
