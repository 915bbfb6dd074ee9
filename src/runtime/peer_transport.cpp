#include "runtime/peer_transport.hpp"

#include <algorithm>
#include <chrono>

#include "channel/channel_error.hpp"
#include "runtime/log.hpp"
#include "wire/transport_frame.hpp"

namespace peermq::runtime {

using session::SessionEvent;

const char* describe(TransportError e) {
  switch (e) {
    case TransportError::unknown_peer:
      return "no UDP endpoint is known for this peer: call add_peer() with its address first";
    case TransportError::not_bound:
      return "the transport has no open socket: call bind() before send(), and not after close()";
  }
  return "unknown transport error";
}

session::SourceAddress to_source_address(const Endpoint& e) noexcept {
  const auto bytes = e.address();
  if (e.is_v4())
    return session::SourceAddress::ipv4(bytes[0], bytes[1], bytes[2], bytes[3], e.port());
  session::SourceAddress s;
  std::copy(bytes.begin(), bytes.end(), s.ip.begin());
  s.port = e.port();
  return s;
}

Endpoint to_endpoint(const session::SourceAddress& s) noexcept {
  const bool mapped = std::all_of(s.ip.begin(), s.ip.begin() + 10, [](auto b) { return b == 0; }) &&
                      s.ip[10] == 0xff && s.ip[11] == 0xff;
  if (mapped) return Endpoint::v4({s.ip[12], s.ip[13], s.ip[14], s.ip[15]}, s.port);
  return Endpoint::v6(s.ip, s.port);
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
      incarnation_(std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()))),
      socket_(loop, counters, options_.udp),
      timer_(loop) {
  socket_.on_receive([this](std::span<const std::uint8_t> data, const Endpoint& from) {
    on_datagram(data, from);
  });
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
  const bool moved = p.endpoint.family() != Endpoint::Family::none && p.endpoint != where;
  p.endpoint = where;
  if (moved && sessions_.session(peer) != nullptr && socket_.bound()) {
    // A peer found somewhere else may be a new run that lost our keys: do not wait for
    // the keys to time out before handshaking again.
    if (!sessions_.rehandshake(peer, loop_.now())) metrics_.session_send_errors->inc();
    schedule_service();
  }
}

Endpoint PeerTransport::endpoint_of(const PublicKey& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? Endpoint{} : it->second.endpoint;
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
  if (it == peers_.end() || it->second.endpoint.family() == Endpoint::Family::none) {
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

void PeerTransport::close() noexcept {
  socket_.close();
  timer_.stop();
}

// ---- input ---------------------------------------------------------------------------------

void PeerTransport::on_datagram(std::span<const std::uint8_t> data, const Endpoint& from) {
  const Instant now = loop_.now();
  in_service_ = true;
  auto events = sessions_.on_datagram(data, to_source_address(from), now);
  handle(events, now);
  service(now);
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
      case SessionEvent::Kind::established:
        metrics_.sessions_established->inc();
        // The responder learns where its new peer is from the handshake itself.
        if (peer_entry(e.peer).endpoint.family() == Endpoint::Family::none) {
          peer_entry(e.peer).endpoint = to_endpoint(e.source);
        }
        PEERMQ_LOG(debug, "transport", "session established with a peer at %s",
                   to_endpoint(e.source).to_string().c_str());
        // Tell the peer who we are at once: a restart on either side is then noticed
        // now, not whenever one of us next has data to send (a quiet producer or an idle
        // consumer may have none, and would wait forever for a broker that restarted).
        send_hint(e.peer, peer_entry(e.peer), now);
        break;
      case SessionEvent::Kind::delivered:
        deliver(e.peer, e.data, to_endpoint(e.source), now);
        break;
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
                            const Endpoint& from, Instant now) {
  auto frame = wire::decode_transport_frame(packet);
  if (!frame) {
    metrics_.packets_malformed->inc();
    return;
  }
  Peer& peer = peer_entry(key);
  // An authenticated packet proves where the peer is now (it may have roamed).
  peer.endpoint = from;
  metrics_.packets_received->inc();
  if (!check_incarnation(key, peer, frame->sender_incarnation, frame->receiver_incarnation, now)) {
    return;
  }
  if (frame->kind == wire::FrameKind::overlay) {
    if (on_overlay_) on_overlay_(key, frame->body);
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

bool PeerTransport::check_incarnation(const PublicKey& key, Peer& peer, std::uint64_t sender,
                                      std::uint64_t receiver, Instant now) {
  if (sender < peer.incarnation) {  // the peer's previous run, delayed in the network
    metrics_.packets_stale->inc();
    return false;
  }
  if (sender > peer.incarnation) {
    if (peer.incarnation != 0) {
      // Same key, new run: the old Channel's numbers mean nothing to it.
      metrics_.peer_resets->inc();
      PEERMQ_LOG(info, "transport", "a peer at %s restarted: its channel starts afresh",
                 peer.endpoint.to_string().c_str());
      peer.channel = channel::Channel(options_.channel);
      peer.blocked = false;
      peer.incarnation = sender;
      if (on_peer_reset_) on_peer_reset_(key);  // sends it makes go out after this input
    }
    peer.incarnation = sender;
  }
  if (receiver != 0 && receiver != incarnation_) {
    // Meant for our previous run: tell the peer who we are now, at most every few ms.
    metrics_.packets_stale->inc();
    send_hint(key, peer, now);
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
    Endpoint to;
    if (d->to) {
      to = to_endpoint(*d->to);
    } else if (d->peer) {
      auto it = peers_.find(*d->peer);
      if (it != peers_.end()) to = it->second.endpoint;
    }
    if (to.family() == Endpoint::Family::none) {
      metrics_.drops_no_endpoint->inc();
    } else if (!socket_.send(to, d->bytes)) {
      metrics_.drops_socket_full->inc();
    }
  }
  return false;
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
  const session::Session* s = sessions_.session(key);
  if (s == nullptr || !s->can_send(now)) {
    // Hold packets until keys are usable: the session could queue only a few. A responder
    // with fresh keys waits for the initiator's first packet instead of handshaking anew.
    const bool waiting = s != nullptr && (s->handshake_pending() || s->keypair_count() > 0);
    if (!waiting && !peer.channel.all_acked() && peer.endpoint.family() != Endpoint::Family::none) {
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
    const session::Session* s = sessions_.session(key);
    if (s != nullptr && s->can_send(now)) next = std::min(next, peer.channel.next_deadline());
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
