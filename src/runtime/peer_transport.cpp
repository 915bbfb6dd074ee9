#include "runtime/peer_transport.hpp"

#include <algorithm>
#include <chrono>

#include "channel/channel_error.hpp"
#include "overlay/overlay_message.hpp"
#include "runtime/log.hpp"
#include "runtime/relay_key_exchange.hpp"
#include "wire/transport_frame.hpp"

namespace peermq::runtime {

using session::SessionEvent;

namespace {

// Synthetic sources of relayed datagrams: 100::/64 is discard-only (RFC 6666), so no real
// datagram comes from there. Bytes 8..9 mark ours, 12..15 hold the slot (1-based).
constexpr std::array<std::uint8_t, 10> kViaPrefix{0x01, 0, 0, 0, 0, 0, 0, 0, 'p', 'q'};
constexpr std::uint16_t kViaPort = 1;

std::optional<std::uint32_t> via_slot(const Endpoint& s) noexcept {
  const auto ip = s.ip16();
  if (!s.is_v6() || s.port() != kViaPort ||
      !std::equal(kViaPrefix.begin(), kViaPrefix.end(), ip.begin())) {
    return std::nullopt;
  }
  std::uint32_t slot = 0;
  for (std::size_t i = 12; i < 16; ++i) slot = (slot << 8) | ip[i];
  return slot;
}

Endpoint via_address(std::uint32_t slot) noexcept {
  std::array<std::uint8_t, 16> ip{};
  std::copy(kViaPrefix.begin(), kViaPrefix.end(), ip.begin());
  for (std::size_t i = 0; i < 4; ++i) ip[15 - i] = static_cast<std::uint8_t>(slot >> (8 * i));
  return Endpoint::v6(ip, kViaPort);
}

}  // namespace

const char* describe(TransportError e) {
  switch (e) {
    case TransportError::unknown_peer:
      return "no route is known to this peer: call add_peer() with its endpoint (or dial it) first";
    case TransportError::not_bound:
      return "the transport has no open socket: call bind() before send(), and not after close()";
  }
  return "unknown transport error";
}

PeerTransport::Metrics PeerTransport::register_metrics(Counters& c) {
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
                 "Datagrams dropped because the UDP send queue was full."),
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
      &c.counter("transport_relay_keys_answered_total", "Relay key requests answered."),
      &c.gauge("transport_peers", "Peers with a channel."),
  };
}

PeerTransport::PeerTransport(Loop& loop, const Identity& identity, Counters& counters,
                             PeerTransportOptions options)
    : loop_(loop),
      options_(std::move(options)),
      metrics_(register_metrics(counters)),
      sessions_(identity, options_.session, loop.now(), std::chrono::system_clock::now()),
      packet_(limits::transport_frame_header_size + options_.channel.max_packet_size),
      key_answer_rate_(overlay::TokenRate::of(limits::relay_key_answers_per_second,
                                              limits::relay_key_answers_per_second)),
      key_answers_(key_answer_rate_, loop.now()),
      incarnation_(std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()))),
      socket_(loop, counters, options_.udp),
      timer_(loop) {
  socket_.on_receive([this](std::span<const std::uint8_t> data, const Endpoint& from) {
    on_datagram(data, from);
  });
  socket_.on_read_done([this] { on_read_done(); });
}

Result<void> PeerTransport::bind(const Endpoint& local) {
  return socket_.bind(local);
}

Endpoint PeerTransport::local_endpoint() const {
  auto e = socket_.local_endpoint();
  return e ? *e : Endpoint{};
}

void PeerTransport::add_peer(const PublicKey& peer, const Endpoint& where) {
  Peer& p = peer_entry(peer);
  const overlay::Route to = overlay::Route::direct_to(where);
  const bool moved = p.route.kind != overlay::Route::Kind::none && p.route != to;
  p.route = to;
  p.managed = false;
  if (moved && sessions_.session(peer) != nullptr && socket_.bound()) {
    // A peer found somewhere else may be a new run that lost our keys: do not wait for
    // the keys to time out before handshaking again.
    if (!sessions_.rehandshake(peer, loop_.now())) metrics_.session_send_errors->inc();
    schedule_service();
  }
}

void PeerTransport::set_route(const PublicKey& peer, const overlay::Route& route) {
  Peer& p = peer_entry(peer);
  p.route = route;
  p.managed = true;
  schedule_service();  // what waited for a route may go now
}

Endpoint PeerTransport::endpoint_of(const PublicKey& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.route.kind != overlay::Route::Kind::direct) return {};
  return it->second.route.endpoint;
}

overlay::Route PeerTransport::route_of(const PublicKey& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? overlay::Route{} : it->second.route;
}

const channel::Channel* PeerTransport::channel(const PublicKey& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second.channel;
}

PeerTransport::Peer& PeerTransport::peer_entry(const PublicKey& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    it = peers_
             .emplace(std::piecewise_construct, std::forward_as_tuple(peer),
                      std::forward_as_tuple(options_.channel))
             .first;
    metrics_.peers->set(static_cast<std::int64_t>(peers_.size()));
  }
  return it->second;
}

Result<void> PeerTransport::send(const PublicKey& peer, std::span<const std::uint8_t> message) {
  if (!socket_.bound()) return TransportError::not_bound;
  auto it = peers_.find(peer);
  // A managed peer without a route yet (being looked up) queues: its route is coming.
  if (it == peers_.end() ||
      (it->second.route.kind == overlay::Route::Kind::none && !it->second.managed)) {
    return TransportError::unknown_peer;
  }
  auto sent = it->second.channel.send(message);
  if (!sent) {
    if (sent.error() == channel::ChannelError::would_block) it->second.blocked = true;
    return sent;
  }
  metrics_.messages_sent->inc();
  schedule_service();
  return {};
}

Result<void> PeerTransport::send_frame(const PublicKey& key, Peer& peer,
                                       std::span<const std::uint8_t> message, Instant now) {
  overlay_.resize(limits::transport_frame_header_size);
  wire::encode_transport_frame_header(
      wire::FrameKind::overlay, incarnation_, peer.incarnation,
      std::span(overlay_).first<limits::transport_frame_header_size>());
  overlay_.insert(overlay_.end(), message.begin(), message.end());
  auto sent = sessions_.send(key, overlay_, now);
  if (!sent) {
    metrics_.session_send_errors->inc();
    return sent;
  }
  metrics_.overlay_sent->inc();
  return {};
}

Result<void> PeerTransport::send_overlay(const PublicKey& peer,
                                         std::span<const std::uint8_t> message) {
  if (!socket_.bound()) return TransportError::not_bound;
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.route.kind == overlay::Route::Kind::none) {
    return TransportError::unknown_peer;
  }
  auto sent = send_frame(peer, it->second, message, loop_.now());
  schedule_service();
  return sent;
}

Result<void> PeerTransport::send_overlay_to(const PublicKey& peer, const Endpoint& where,
                                            std::span<const std::uint8_t> message) {
  if (!socket_.bound()) return TransportError::not_bound;
  const Instant now = loop_.now();
  Peer& p = peer_entry(peer);
  // What the session layer holds already leaves along its route; only this message's
  // datagrams (or the handshake below) go to `where`.
  (void)transmit();
  const session::Session* s = sessions_.session(peer);
  if (s == nullptr || !s->can_send(now)) {
    // The handshake goes along the route when there is one (it works, while a NAT may
    // still close `where`), else to `where`; a responder with fresh keys waits for the
    // initiator's first packet instead. The message waits for the keys.
    const bool waiting = s != nullptr && (s->handshake_pending() || s->keypair_count() > 0);
    if (p.route.kind == overlay::Route::Kind::none) redirect_.emplace(peer, where);
    if (!waiting && !sessions_.connect(peer, now)) metrics_.session_send_errors->inc();
    (void)transmit();
    redirect_.reset();
    hold(p, where, message);
    schedule_service();
    return {};
  }
  redirect_.emplace(peer, where);
  auto sent = send_frame(peer, p, message, now);
  (void)transmit();
  redirect_.reset();
  schedule_service();
  return sent;
}

void PeerTransport::hold(Peer& p, const Endpoint& where, std::span<const std::uint8_t> message) {
  auto same = std::find_if(p.held.begin(), p.held.end(),
                           [&](const HeldOverlay& h) { return h.to == where; });
  if (same != p.held.end()) {
    same->message.assign(message.begin(), message.end());  // the newest probe wins
    return;
  }
  if (p.held.size() >= limits::max_path_candidates) p.held.erase(p.held.begin());
  p.held.push_back(HeldOverlay{where, {message.begin(), message.end()}});
}

void PeerTransport::release_held(const PublicKey& key) {
  auto it = peers_.find(key);
  if (it == peers_.end() || it->second.held.empty()) return;
  std::vector<HeldOverlay> held = std::move(it->second.held);
  it->second.held.clear();
  for (const HeldOverlay& h : held) (void)send_overlay_to(key, h.to, h.message);
}

void PeerTransport::rehandshake(const PublicKey& peer) {
  if (!socket_.bound()) return;
  if (!sessions_.rehandshake(peer, loop_.now())) metrics_.session_send_errors->inc();
  schedule_service();
}

Result<void> PeerTransport::request_relay_key(const Endpoint& relay, std::uint64_t nonce) {
  if (!socket_.bound()) return TransportError::not_bound;
  const RelayKeyRequest request = encode_relay_key_request(nonce);
  if (!socket_.send(relay, request)) metrics_.drops_socket_full->inc();
  return {};
}

void PeerTransport::close() noexcept {
  socket_.close();
  timer_.stop();
}

// ---- input ---------------------------------------------------------------------------------

void PeerTransport::on_datagram(std::span<const std::uint8_t> data, const Endpoint& from) {
  // The datagrams of one read arrived together: one clock read stands for all of them.
  if (!read_at_) read_at_ = loop_.now();
  const Instant now = *read_at_;
  if (on_relay_key_datagram(data, from, now)) return;
  // What this datagram makes us send waits for the end of its read (on_read_done): the
  // answers to a whole batch then share packets, ACKs and one pass over the channels.
  in_service_ = true;
  batch_pending_ = true;
  auto events = sessions_.on_datagram(data, from, now);
  handle(events, now);
}

void PeerTransport::on_read_done() {
  read_at_.reset();
  if (!batch_pending_) return;
  batch_pending_ = false;
  service(loop_.now());
}

void PeerTransport::flush() {
  if (in_service_ || !socket_.bound()) return;  // the service under way sends it
  in_service_ = true;
  service(loop_.now());
  socket_.flush();
}

bool PeerTransport::on_relay_key_datagram(std::span<const std::uint8_t> data, const Endpoint& from,
                                          Instant now) {
  if (looks_like_relay_key_request(data)) {
    if (!options_.answer_relay_key_requests) return true;
    auto nonce = decode_relay_key_request(data);
    if (!nonce || !key_answers_.take(key_answer_rate_, now)) return true;
    const RelayKeyAnswer answer = encode_relay_key_answer(*nonce, sessions_.public_key());
    if (socket_.send(from, answer)) metrics_.relay_keys_answered->inc();
    return true;
  }
  if (looks_like_relay_key_answer(data)) {
    auto answer = decode_relay_key_answer(data);
    if (answer && on_relay_key_) on_relay_key_(from, answer->nonce, answer->key);
    return true;
  }
  return false;
}

void PeerTransport::on_timer() {
  service_scheduled_ = false;
  const Instant now = loop_.now();
  in_service_ = true;
  if (sessions_.next_deadline() <= now) {
    auto events = sessions_.on_timeout(now);
    handle(events, now);
  }
  for (auto& [key, peer] : peers_) {
    if (peer.channel.next_deadline() <= now) peer.channel.on_timeout(now);
  }
  service(now);
}

void PeerTransport::handle(std::vector<SessionEvent>& events, Instant now) {
  for (SessionEvent& e : events) {
    switch (e.kind) {
      case SessionEvent::Kind::established: {
        metrics_.sessions_established->inc();
        // The responder learns where its new peer is from the handshake itself.
        Peer& p = peer_entry(e.peer);
        if (p.route.kind == overlay::Route::Kind::none && !p.managed) {
          const Arrival a = arrival_of(e.source);
          p.route = a.relayed ? overlay::Route::relayed_via(a.relay)
                              : overlay::Route::direct_to(e.source);
        }
        PEERMQ_LOG(debug, "transport", "session established with a peer at %s",
                   source_text(e.source).c_str());
        release_held(e.peer);
        // Tell the peer who we are at once: a restart on either side is then noticed
        // now, not whenever one of us next has data to send (a quiet producer or an idle
        // consumer may have none, and would wait forever for a broker that restarted).
        send_hint(e.peer, p, now);
        break;
      }
      case SessionEvent::Kind::delivered: deliver(e.peer, e.data, e.source, now); break;
      case SessionEvent::Kind::handshake_failed:
        metrics_.handshakes_failed->inc();
        if (on_peer_closed_) on_peer_closed_(e.peer);
        break;
      case SessionEvent::Kind::closed:
        metrics_.sessions_closed->inc();
        if (on_peer_closed_) on_peer_closed_(e.peer);
        break;
      case SessionEvent::Kind::dropped: metrics_.drops_session->inc(); break;
    }
  }
}

void PeerTransport::deliver(const PublicKey& key, std::span<const std::uint8_t> packet,
                            const Endpoint& source, Instant now) {
  const Via* via = via_of(source);
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
    peer.route = arrival.relayed ? overlay::Route::relayed_via(arrival.relay)
                                 : overlay::Route::direct_to(source);
  }
  metrics_.packets_received->inc();
  if (on_arrival_) on_arrival_(key, arrival);
  const bool overlay = frame->kind == wire::FrameKind::overlay;
  if (!check_incarnation(key, peer, frame->sender_incarnation, frame->receiver_incarnation, overlay,
                         now)) {
    return;
  }
  if (overlay) {
    metrics_.overlay_received->inc();
    // Only a relay we trust, talking to us directly, may hand us other peers' datagrams
    // (directly: a forwarded forward would let datagrams nest).
    if (!arrival.relayed && trusted_relays_.count(key) != 0) {
      auto m = overlay::decode_message(frame->body);
      if (m && std::holds_alternative<overlay::Forwarded>(*m)) {
        const auto& f = std::get<overlay::Forwarded>(*m);
        Via v{key, f.from};
        auto at = relayed_source(v);
        if (!at || f.from == sessions_.public_key()) {
          metrics_.drops_relayed->inc();
          return;
        }
        metrics_.relayed_received->inc();
        auto events = sessions_.on_datagram(f.packet, *at, now);
        handle(events, now);
        return;
      }
    }
    if (on_overlay_) on_overlay_(key, frame->body, arrival);
    return;
  }
  if (frame->body.empty()) return;  // a header-only frame: it carried incarnations only
  if (!peer.channel.on_packet(frame->body, now)) {
    metrics_.packets_malformed->inc();
    return;
  }
  while (auto message = peer.channel.poll_message()) {
    metrics_.messages_received->inc();
    if (on_message_) on_message_(key, *message);
  }
}

std::optional<Endpoint> PeerTransport::relayed_source(const Via& via) {
  auto it = via_slots_.find({via.relay, via.peer});
  if (it != via_slots_.end()) return via_address(it->second);
  if (vias_.size() >= limits::transport_max_relayed_sources) return std::nullopt;
  vias_.push_back(via);
  const auto slot = static_cast<std::uint32_t>(vias_.size());
  via_slots_.emplace(std::make_pair(via.relay, via.peer), slot);
  return via_address(slot);
}

const PeerTransport::Via* PeerTransport::via_of(const Endpoint& source) const {
  auto slot = via_slot(source);
  if (!slot || *slot == 0 || *slot > vias_.size()) return nullptr;
  return &vias_[*slot - 1];
}

Arrival PeerTransport::arrival_of(const Endpoint& source) const {
  Arrival a;
  if (const Via* via = via_of(source)) {
    a.relayed = true;
    a.relay = via->relay;
    a.from = endpoint_of(via->relay);
  } else {
    a.from = source;
  }
  return a;
}

std::string PeerTransport::source_text(const Endpoint& source) const {
  const Arrival a = arrival_of(source);
  if (!a.relayed) return a.from.to_string();
  return "(relayed by " + a.from.to_string() + ")";
}

bool PeerTransport::check_incarnation(const PublicKey& key, Peer& peer, std::uint64_t sender,
                                      std::uint64_t receiver, bool overlay, Instant now) {
  if (sender < peer.incarnation) {  // the peer's previous run, delayed in the network
    metrics_.packets_stale->inc();
    return false;
  }
  if (sender > peer.incarnation) {
    if (peer.incarnation != 0) {
      // Same key, new run: the old Channel's numbers mean nothing to it.
      metrics_.peer_resets->inc();
      PEERMQ_LOG(info, "transport", "a peer restarted (%s route): its channel starts afresh",
                 overlay::name(peer.route.kind));
      peer.channel = channel::Channel(options_.channel);
      peer.blocked = false;
      peer.incarnation = sender;
      if (on_peer_reset_) on_peer_reset_(key);  // sends it makes go out after this input
    }
    peer.incarnation = sender;
  }
  if (receiver != 0 && receiver != incarnation_) {
    // Meant for our previous run: tell the peer who we are now, at most every few ms.
    send_hint(key, peer, now);
    // Overlay messages hold no channel state, so they are good whichever run of ours the
    // peer thought it spoke to (a node's first register to a restarted relay counts).
    if (overlay) return true;
    metrics_.packets_stale->inc();
    return false;
  }
  return true;
}

void PeerTransport::send_hint(const PublicKey& key, Peer& peer, Instant now) {
  if (now - peer.hinted_at < limits::transport_hint_interval) return;
  peer.hinted_at = now;
  std::array<std::uint8_t, limits::transport_frame_header_size> header{};
  wire::encode_transport_frame_header(wire::FrameKind::channel, incarnation_, peer.incarnation,
                                      header);
  if (!sessions_.send(key, header, now)) metrics_.session_send_errors->inc();
}

// ---- output --------------------------------------------------------------------------------

void PeerTransport::schedule_service() {
  if (in_service_ || service_scheduled_) return;
  // Sends made outside our callbacks go out together on the next loop iteration.
  service_scheduled_ = true;
  timer_.start(Duration::zero(), [this] { on_timer(); });
}

void PeerTransport::service(Instant now) {
  notify_writable();
  const bool socket_full = !pump(now);
  in_service_ = false;
  arm(now, socket_full);
}

void PeerTransport::notify_writable() {
  if (!on_writable_) return;
  for (auto& [key, peer] : peers_) {
    if (peer.blocked &&
        peer.channel.send_buffered_bytes() <= options_.channel.send_buffer_limit / 2) {
      peer.blocked = false;
      on_writable_(key);
    }
  }
}

bool PeerTransport::socket_has_room() {
  if (socket_.queued() < socket_.send_capacity()) return true;
  socket_.flush();
  return socket_.queued() < socket_.send_capacity();
}

// Hands every datagram the session layer has to the socket.
bool PeerTransport::transmit() {
  while (socket_has_room()) {
    auto d = sessions_.poll_transmit();
    if (!d) return true;
    dispatch(*d);  // a relayed one queues its wrapped copy behind: this loop sends it too
  }
  return false;
}

void PeerTransport::dispatch(const session::Datagram& d) {
  if (d.to) {  // an answer: back where the datagram came from
    if (const Via* via = via_of(*d.to)) {
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
  auto it = peers_.find(*d.peer);
  const overlay::Route route = it == peers_.end() ? overlay::Route{} : it->second.route;
  switch (route.kind) {
    case overlay::Route::Kind::direct: send_direct(route.endpoint, d.bytes); return;
    case overlay::Route::Kind::relayed: forward_via(route.relay, *d.peer, d.bytes); return;
    case overlay::Route::Kind::none: metrics_.drops_no_endpoint->inc(); return;
  }
}

void PeerTransport::send_direct(const Endpoint& to, std::span<const std::uint8_t> bytes) {
  if (to.family() == Endpoint::Family::none || via_slot(to)) {
    metrics_.drops_no_endpoint->inc();
  } else if (!socket_.send(to, bytes)) {
    metrics_.drops_socket_full->inc();
  }
}

void PeerTransport::forward_via(const PublicKey& relay, const PublicKey& to,
                                std::span<const std::uint8_t> bytes) {
  auto it = peers_.find(relay);
  // The relay itself must be reached directly: relays do not chain.
  if (bytes.empty() || bytes.size() > limits::relay_forward_max_packet || it == peers_.end() ||
      it->second.route.kind != overlay::Route::Kind::direct || relay == to) {
    metrics_.drops_relayed->inc();
    return;
  }
  wrap_.clear();
  overlay::encode(overlay::OverlayMessage{overlay::Forward{to, bytes}}, wrap_);
  if (send_frame(relay, it->second, wrap_, loop_.now())) metrics_.relayed_sent->inc();
}

bool PeerTransport::pump(Instant now) {
  if (!socket_.bound()) return true;  // closed: nothing can go
  if (!transmit()) return false;
  for (auto& [key, peer] : peers_) {
    if (!pump_peer(key, peer, now)) return false;
  }
  return true;
}

bool PeerTransport::pump_peer(const PublicKey& key, Peer& peer, Instant now) {
  // Nothing unacknowledged and nothing due (no ACK, probe or paced send): no packet to send
  // and no handshake to start. Most peers of a busy broker are idle: skip the lookup.
  if (peer.channel.all_acked() && peer.channel.next_deadline() > now) return true;
  const session::Session* s = sessions_.session(key);
  if (s == nullptr || !s->can_send(now)) {
    // Hold packets until keys are usable: the session could queue only a few. A responder
    // with fresh keys waits for the initiator's first packet instead of handshaking anew.
    const bool waiting = s != nullptr && (s->handshake_pending() || s->keypair_count() > 0);
    if (!waiting && !peer.channel.all_acked() && peer.route.kind != overlay::Route::Kind::none) {
      if (!sessions_.connect(key, now)) metrics_.session_send_errors->inc();
      return transmit();
    }
    return true;
  }
  while (socket_has_room()) {
    auto body = std::span(packet_).subspan(limits::transport_frame_header_size);
    const std::size_t n = peer.channel.poll_packet(body, now);
    if (n == 0) return true;
    wire::encode_transport_frame_header(
        wire::FrameKind::channel, incarnation_, peer.incarnation,
        std::span(packet_).first<limits::transport_frame_header_size>());
    metrics_.packets_sent->inc();
    if (!sessions_.send(key, std::span(packet_).first(limits::transport_frame_header_size + n),
                        now)) {
      metrics_.session_send_errors->inc();  // the channel's loss recovery resends it
    }
    if (!transmit()) return false;
  }
  return false;
}

void PeerTransport::arm(Instant now, bool socket_full) {
  Instant next = sessions_.next_deadline();
  for (const auto& [key, peer] : peers_) {
    // A channel whose session has no usable keys yet waits for the handshake (the session
    // endpoint's deadline): its pacing deadline, long due, would only spin the loop.
    const Instant deadline = peer.channel.next_deadline();
    if (deadline >= next) continue;  // idle channels need no session lookup
    const session::Session* s = sessions_.session(key);
    if (s != nullptr && s->can_send(now)) next = deadline;
  }
  // The kernel refused more: it frees room as the receiver reads, so look again soon
  // (and not sooner: a deadline already due cannot send anything either).
  if (socket_full) next = now + std::chrono::milliseconds(1);
  if (!socket_.bound() || next == Instant::max()) {
    if (!service_scheduled_) timer_.stop();
    return;
  }
  service_scheduled_ = false;
  timer_.start_at(next, [this] { on_timer(); });
}

}  // namespace peermq::runtime
