#include "overlay/router.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "crypto/random.hpp"
#include "overlay/host.hpp"
#include "log/log.hpp"
#include "wire/limits.hpp"

namespace peermq::overlay {

namespace {

std::string address_text(const PublicKey& key) {
  return Address(key).to_string();
}

}  // namespace

Router::Router(Host& host, const Identity& identity, const Clock& clock,
               PeerDirectory* directory, RouterOptions options)
    : host_(host),
      identity_(identity),
      clock_(clock),
      directory_(directory),
      options_(std::move(options)) {}

Result<void> Router::start(Instant now, std::string* detail) {
  (void)detail;
  started_ = true;
  if (options_.announce) announce(now);
  redial_at_ = now + limits::kNodeRedialInterval;
  if (uses_relays()) start_overlay(now);
  return {};
}

void Router::stop() noexcept {
  if (announced_ && directory_ != nullptr) directory_->withdraw(identity_.public_key());
  announced_ = false;
  started_ = false;
  announce_at_ = Instant::max();
  redial_at_ = Instant::max();
  armed_at_ = Instant::max();
}

// What nodes on this host should dial: loopback when we listen on every address.
void Router::announce(Instant now) {
  announce_at_ = now + limits::kLocalDiscoveryInterval;
  if (directory_ == nullptr) return;
  Endpoint e = host_.local_endpoint();
  if (e.is_unspecified()) {
    std::array<std::uint8_t, 16> loopback{};
    loopback[15] = 1;
    e = e.is_v4() ? Endpoint::v4({127, 0, 0, 1}, e.port()) : Endpoint::v6(loopback, e.port());
  }
  std::string detail;
  if (!directory_->announce(identity_, {e}, clock_.wall_now(), &detail)) {
    PEERMQ_LOG(warn, "node", "cannot announce this node for local discovery: %s", detail.c_str());
    return;
  }
  announced_ = true;
}

Result<void> Router::resolve(const PublicKey& peer, std::string* detail) {
  if (directory_ == nullptr) return HostError::unknown_peer;
  auto found = directory_->lookup(peer, clock_.wall_now(), detail);
  if (!found) return found.error();
  const Endpoint where = found->endpoints.front();
  if (!host_.has_channel(peer) || host_.endpoint_of(peer) != where) {
    PEERMQ_LOG(debug, "node", "found a peer at %s", where.to_string().c_str());
    host_.add_peer(peer, where);
  }
  return {};
}

Result<void> Router::dial(const PublicKey& peer, Instant now, std::string* detail) {
  dialed_.insert(peer);
  if (!uses_relays()) return resolve(peer, detail);
  if (peer == identity_.public_key() || relays_.count(peer) != 0) return {};
  path_for(peer);
  // Messages sent before a route is known wait in the channel instead of failing.
  if (host_.route_of(peer).kind == Route::Kind::none) host_.set_route(peer, Route{});
  local_lookup_for_path(peer, now);
  look_up(peer, now);
  pump(now);
  return {};
}

const PeerPath* Router::path(const PublicKey& peer) const {
  auto it = paths_.find(peer);
  return it == paths_.end() ? nullptr : &it->second;
}

std::size_t Router::relays_known() const noexcept {
  return relay_client_ ? relay_client_->relay_count() : 0;
}

std::size_t Router::relays_registered() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < relays_known(); ++i) {
    n += relay_client_->status(i) == RelayClient::Status::registered;
  }
  return n;
}

Endpoint Router::relay_endpoint(const PublicKey& relay) const {
  auto it = relays_.find(relay);
  return it == relays_.end() ? Endpoint{} : it->second.spec.endpoint;
}

std::string Router::describe(const Route& route) const {
  switch (route.kind) {
    case Route::Kind::direct: return "direct " + route.endpoint.to_string();
    case Route::Kind::relayed: return "relayed via " + relay_endpoint(route.relay).to_string();
    case Route::Kind::none: break;
  }
  return "none";
}

Instant Router::next_deadline() const noexcept {
  return std::min({armed_at_, announce_at_, redial_at_, path_timers_.next()});
}

void Router::on_timeout(Instant now) {
  if (!started_) return;
  if (announce_at_ <= now) {
    if (options_.announce) {
      announce(now);
    } else {
      announce_at_ = Instant::max();
    }
  }
  if (redial_at_ <= now) {
    redial_at_ = now + limits::kNodeRedialInterval;
    for (const PublicKey& peer : dialed_) {
      if (uses_relays()) {
        local_lookup_for_path(peer, now);
      } else {
        (void)resolve(peer, nullptr);
      }
    }
  }
  if (!relay_client_ || (armed_at_ > now && path_timers_.next() > now)) {
    if (relay_client_) pump(now);
    return;
  }
  armed_at_ = Instant::max();
  Instant next = Instant::max();
  for (PendingKey& p : pending_keys_) {
    if (p.next <= now) {
      host_.request_relay_key(p.spec.endpoint, p.nonce);
      p.next = now + p.retry;
      p.retry = std::min<Duration>(p.retry * 2, limits::kRelayRegisterRetryMax);
    }
    next = std::min(next, p.next);
  }
  if (relay_client_->next_deadline() <= now) relay_client_->on_timeout(now);
  // Only the due paths: the pump sets their next deadlines.
  due_paths_.clear();
  path_timers_.take_due(now, due_paths_);
  for (const PublicKey& peer : due_paths_) {
    auto it = paths_.find(peer);
    if (it == paths_.end()) continue;
    if (it->second.next_deadline() <= now) it->second.on_timeout(now);
    dirty_.insert(peer);
  }
  arm(next);
  pump(now);
}

void Router::arm(Instant deadline) {
  armed_at_ = std::min(armed_at_, deadline);
}

// ---- relays ------------------------------------------------------------------------------

void Router::start_overlay(Instant now) {
  RelayClientConfig config = options_.relay_client;
  config.relays.clear();
  config.local_candidates = host_.transport_.local_candidates();
  relay_client_.emplace(std::move(config), now);
  options_.path.nonce_seed = crypto::random_u64();
  for (const RelaySpec& spec : options_.relays) {
    if (spec.key) {
      add_relay(*spec.key, spec, now);
      continue;
    }
    pending_keys_.push_back(PendingKey{spec, crypto::random_u64(), now,
                                       limits::kRelayKeyRetryInitial});
  }
  armed_at_ = now;  // on_timeout sends the key requests and the first registers
}

void Router::add_relay(const PublicKey& key, const RelaySpec& spec, Instant now) {
  if (key == identity_.public_key()) {
    PEERMQ_LOG(error, "relay", "relay %s is this node itself; not using it", spec.text.c_str());
    return;
  }
  if (relays_.count(key) != 0) return;
  relays_[key] = RelayLink{spec};
  host_.add_peer(key, spec.endpoint);
  host_.trust_relay(key);
  relay_client_->add_relay({key, spec.endpoint}, now);
  // Peers that found no route while we had no relay to ask: ask this one.
  for (auto& [peer, p] : paths_) {
    if (p.route().kind == Route::Kind::none) look_up(peer, now);
  }
}

void Router::on_relay_key(const Endpoint& from, std::uint64_t nonce, const PublicKey& key,
                          Instant now) {
  auto it = std::find_if(pending_keys_.begin(), pending_keys_.end(), [&](const PendingKey& p) {
    return p.nonce == nonce && p.spec.endpoint == from;
  });
  if (it == pending_keys_.end()) return;  // not asked, or asked of someone else
  const RelaySpec spec = it->spec;
  pending_keys_.erase(it);
  PEERMQ_LOG(warn, "relay",
             "relay %s: trusting the key it sent on first contact, unauthenticated: %s "
             "(use -relay=%s@%s to authenticate it)",
             spec.text.c_str(), address_text(key).c_str(), address_text(key).c_str(),
             spec.endpoint.to_string().c_str());
  add_relay(key, spec, now);
  pump(now);
}

void Router::send_to_relay(const PublicKey& relay, std::span<const std::uint8_t> message,
                           bool answered, Instant now) {
  auto link = relays_.find(relay);
  if (link == relays_.end()) return;
  if (answered) {
    Instant& since = link->second.unanswered_since;
    if (since == Instant::max()) {
      since = now;
    } else if (now - since >= limits::kRelaySilenceRehandshake) {
      if (!link->second.complained) {
        PEERMQ_LOG(info, "relay", "relay %s does not answer: handshaking again (restarted?)",
                   link->second.spec.text.c_str());
      }
      link->second.complained = true;
      host_.rehandshake(relay);
      since = now;
    }
  }
  (void)host_.send_overlay(relay, message);
}

void Router::on_forward(const PublicKey& relay, Instant now) {
  auto link = relays_.find(relay);
  if (link == relays_.end() || !relay_client_) return;
  Instant& since = link->second.forwarded_since;
  if (since == Instant::max()) {
    since = now;
    return;
  }
  if (now - since < limits::kRelaySilenceRehandshake) return;
  // Our forwards have heard nothing back from the relay for a while: ask it directly.
  since = now;
  relay_client_->refresh(relay, now);
  arm(now);  // the register leaves at the next pump, which this deadline brings
}

void Router::on_client_event(const RelayClientEvent& e, Instant now) {
  using Kind = RelayClientEvent::Kind;
  auto link = relays_.find(e.relay);
  const std::string relay = link != relays_.end() ? link->second.spec.text : "?";
  switch (e.kind) {
    case Kind::registered:
      PEERMQ_LOG(info, "relay", "registered with relay %s; it sees us at %s", relay.c_str(),
                 e.observed.to_string().c_str());
      break;
    case Kind::observed_changed:
      PEERMQ_LOG(info, "relay", "relay %s now sees us at %s", relay.c_str(),
                 e.observed.to_string().c_str());
      break;
    case Kind::relay_lost:
      PEERMQ_LOG(warn, "relay", "relay %s stopped answering", relay.c_str());
      for (auto& [peer, p] : paths_) {
        p.on_relay_lost(e.relay, now);
        dirty_.insert(peer);
      }
      host_.rehandshake(e.relay);
      break;
    case Kind::relay_forgot:
      PEERMQ_LOG(info, "relay", "relay %s forgot us (restarted?): registering again",
                 relay.c_str());
      break;
    case Kind::lookup_done: path_for(e.peer).on_lookup_result(e.relay, e.candidates, now); break;
    case Kind::lookup_failed:
      PEERMQ_LOG(debug, "relay", "no relay knows %s: %s", address_text(e.peer).c_str(),
                 e.error.message().c_str());
      if (auto it = paths_.find(e.peer); it != paths_.end()) {
        it->second.on_lookup_failed(now);
        dirty_.insert(e.peer);
      }
      break;
    case Kind::punch:
      path_for(e.peer).on_punch_notify(e.relay, PunchNotify{e.peer, e.nonce, e.candidates}, now);
      break;
    case Kind::peer_gone:
      if (auto it = paths_.find(e.peer); it != paths_.end()) {
        it->second.on_relay_lost(e.relay, now);
        dirty_.insert(e.peer);
      }
      break;
  }
}

// ---- paths -------------------------------------------------------------------------------

PeerPath& Router::path_for(const PublicKey& peer) {
  auto it = paths_.find(peer);
  if (it == paths_.end()) {
    it = paths_.emplace(peer, PeerPath(peer, options_.path)).first;
    const Instant now = host_.now();
    const session::Session* s = host_.sessions().session(peer);
    it->second.on_session(s != nullptr && s->can_send(now), now);
  }
  dirty_.insert(peer);
  return it->second;
}

void Router::on_session(const PublicKey& peer, bool usable, Instant now) {
  auto it = paths_.find(peer);
  if (it == paths_.end()) return;
  it->second.on_session(usable, now);
  dirty_.insert(peer);
  pump(now);
}

void Router::look_up(const PublicKey& peer, Instant now) {
  if (!relay_client_ || relay_client_->relay_count() == 0) return;  // asked once a key is known
  if (!relay_client_->lookup(peer, now)) {
    if (auto it = paths_.find(peer); it != paths_.end()) {
      it->second.on_lookup_failed(now);
      dirty_.insert(peer);
    }
  }
}

void Router::local_lookup_for_path(const PublicKey& peer, Instant now) {
  if (directory_ == nullptr) return;
  auto found = directory_->lookup(peer, clock_.wall_now(), nullptr);
  if (!found) return;
  Candidates& seen = local_seen_[peer];
  if (seen == found->endpoints) return;  // nothing new: no new punch round
  seen = found->endpoints;
  path_for(peer).on_local_candidates(seen, now);
}

void Router::on_arrival(const PublicKey& peer, const Arrival& a, Instant now) {
  if (auto link = relays_.find(peer); link != relays_.end()) {
    link->second.unanswered_since = Instant::max();
    link->second.forwarded_since = Instant::max();
    link->second.complained = false;
    return;
  }
  if (!relay_client_) return;
  PeerPath& p = path_for(peer);
  if (a.relayed) {
    p.on_relayed_packet(a.relay, now);
  } else {
    p.on_direct_packet(a.from, now);
  }
  pump(now);
}

void Router::on_message(const PublicKey& peer, const OverlayMessage& m, const Arrival& a,
                        Instant now) {
  switch (class_of(type_of(m))) {
    case MessageClass::from_relay:
      if (relay_client_ && !a.relayed && relay_client_->is_relay(peer)) {
        relay_client_->on_message(peer, m, now);
        pump(now);
      }
      return;
    case MessageClass::to_relay: return;  // the host's relay server takes these, if it has one
    case MessageClass::between_peers: on_peer_message(peer, m, a, now); return;
  }
}

void Router::on_peer_message(const PublicKey& peer, const OverlayMessage& m, const Arrival& a,
                             Instant now) {
  if (const auto* ping = std::get_if<Ping>(&m)) {
    (void)host_.send_overlay(peer, encode(OverlayMessage{Pong{ping->id}}));
    return;
  }
  if (const auto* pong = std::get_if<Pong>(&m)) {
    if (on_pong_) on_pong_(peer, pong->id);
    return;
  }
  // Probes count only straight from the peer: that is what they test.
  if (a.relayed || relays_.count(peer) != 0) return;
  if (!relay_client_) {
    // No paths of our own, but a peer with relays may be testing the way to us.
    if (const auto* probe = std::get_if<Probe>(&m)) {
      (void)host_.send_overlay_to(peer, a.from,
                                  encode(OverlayMessage{ProbeAck{probe->nonce, probe->seq, a.from}}));
    }
    return;
  }
  if (!options_.punch) return;
  if (const auto* probe = std::get_if<Probe>(&m)) {
    path_for(peer).on_probe(a.from, *probe, now);
  } else if (const auto* ack = std::get_if<ProbeAck>(&m)) {
    path_for(peer).on_probe_ack(a.from, *ack, now);
  }
  pump(now);
}

void Router::pump_path(const PublicKey& peer, PeerPath& p, Instant now) {
  // Route changes first: a probe's handshake goes along the route it just got.
  while (auto e = p.poll_event()) {
    std::string rtt;
    if (e->rtt) {
      char text[48];
      std::snprintf(text, sizeof text, ", rtt %.2f ms",
                    std::chrono::duration<double, std::milli>(*e->rtt).count());
      rtt = text;
    }
    if (e->from == e->to) {
      PEERMQ_LOG(info, "path", "%s: %s, still %s", address_text(peer).c_str(), name(e->reason),
                 describe(e->to).c_str());
    } else {
      PEERMQ_LOG(info, "path", "%s: %s -> %s (%s%s)", address_text(peer).c_str(),
                 describe(e->from).c_str(), describe(e->to).c_str(), name(e->reason),
                 rtt.c_str());
      host_.set_route(peer, e->to);
    }
    if (on_path_) on_path_(peer, *e);
  }
  while (auto o = p.poll_output()) {
    switch (o->kind) {
      case PathOutput::Kind::probe:
        if (options_.punch) (void)host_.send_overlay_to(peer, o->endpoint, o->message);
        break;
      case PathOutput::Kind::to_relay:  // punch requests: none from a node that does not punch
        if (options_.punch) send_to_relay(o->relay, o->message, false, now);
        break;
      case PathOutput::Kind::lookup:
        // Only peers we dialed are looked for; one that dialed us dials again if it wants.
        if (dialed_.count(peer) != 0) look_up(peer, now);
        break;
    }
  }
  arm(p.next_deadline());
}

void Router::pump(Instant now) {
  if (!relay_client_ || pumping_) return;  // the pump running further up finishes the job
  pumping_ = true;
  for (bool busy = true; busy;) {
    busy = false;
    while (auto o = relay_client_->poll_transmit()) {
      busy = true;
      send_to_relay(o->relay, o->message, true, now);
    }
    while (auto e = relay_client_->poll_event()) {
      busy = true;
      on_client_event(*e, now);
    }
    while (!dirty_.empty()) {
      busy = true;
      const PublicKey key = *dirty_.begin();
      dirty_.erase(dirty_.begin());
      auto it = paths_.find(key);
      if (it == paths_.end()) continue;
      pump_path(key, it->second, now);
      // A peer that dialed us and can no longer be reached is forgotten (not looked up
      // forever); its packets make a new path if it comes back.
      if (it->second.route().kind == Route::Kind::none && dialed_.count(key) == 0) {
        paths_.erase(it);
        local_seen_.erase(key);
        path_timers_.set(key, Instant::max());
      } else {
        path_timers_.set(key, it->second.next_deadline());
      }
    }
  }
  arm(relay_client_->next_deadline());
  pumping_ = false;
}

}  // namespace peermq::overlay
