#include "runtime/sockaddr.hpp"
#include "runtime/node.hpp"

#include <sodium.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>

#include "runtime/log.hpp"
#include "wire/limits.hpp"

namespace peermq::runtime {

using overlay::OverlayMessage;
using overlay::PathEvent;
using overlay::PathOutput;
using overlay::RelayClientEvent;
using overlay::Route;

namespace {

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return v;
}

bool unspecified(const Endpoint& e) {
  const auto a = e.address();
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

std::string address_text(const PublicKey& key) {
  return Address(key).to_string();
}

}  // namespace

Node::Node(Loop& loop, Counters& counters, const Identity& identity, NodeOptions options)
    : loop_(loop),
      identity_(identity),
      options_(std::move(options)),
      transport_(loop, identity, counters, options_.transport),
      tick_(loop),
      overlay_timer_(loop) {
  transport_.on_overlay([this](const PublicKey& peer, std::span<const std::uint8_t> bytes,
                               const Arrival& a) { on_overlay(peer, bytes, a); });
  transport_.on_arrival([this](const PublicKey& peer, const Arrival& a) { on_arrival(peer, a); });
  transport_.on_relay_key([this](const Endpoint& from, std::uint64_t nonce, const PublicKey& key) {
    on_relay_key(from, nonce, key);
  });
}

Result<void> Node::start(std::string* detail) {
  if (auto bound = transport_.bind(options_.listen); !bound) {
    if (detail != nullptr) {
      *detail = "cannot listen on " + options_.listen.to_string() + ": " + bound.error().message() +
                " (choose another -listen=IP:PORT)";
    }
    return bound.error();
  }
  auto dir = LocalDirectory::open(options_.discovery_dir, detail);
  if (!dir) return dir.error();
  directory_.emplace(std::move(*dir));
  if (options_.announce) announce();
  tick_.start(limits::node_redial_interval, limits::node_redial_interval, [this] { on_tick(); });
  if (uses_relays()) start_overlay(loop_.now());
  return {};
}

// What nodes on this host should dial: loopback when we listen on every address.
void Node::announce() {
  Endpoint e = transport_.local_endpoint();
  if (e == Endpoint::v4({0, 0, 0, 0}, e.port())) {
    e = Endpoint::v4({127, 0, 0, 1}, e.port());
  } else if (e == Endpoint::v6({}, e.port())) {
    std::array<std::uint8_t, 16> loopback{};
    loopback[15] = 1;
    e = Endpoint::v6(loopback, e.port());
  }
  std::string detail;
  if (!directory_->announce(identity_, {e}, std::chrono::system_clock::now(),
                            &detail)) {
    PEERMQ_LOG(warn, "node", "cannot announce this node for local discovery: %s", detail.c_str());
    return;
  }
  announced_ = true;
  announced_at_ = loop_.now();
}

Result<void> Node::resolve(const PublicKey& peer, std::string* detail) {
  if (!directory_) return TransportError::not_bound;
  auto found = directory_->lookup(peer, std::chrono::system_clock::now(), detail);
  if (!found) return found.error();
  const Endpoint where = found->endpoints.front();
  const channel::Channel* existing = transport_.channel(peer);
  if (existing == nullptr || transport_.endpoint_of(peer) != where) {
    PEERMQ_LOG(debug, "node", "found a peer at %s", where.to_string().c_str());
    transport_.add_peer(peer, where);
  }
  return {};
}

Result<void> Node::dial(const PublicKey& peer, std::string* detail) {
  dialed_.insert(peer);
  if (!uses_relays()) return resolve(peer, detail);
  if (!directory_) return TransportError::not_bound;
  if (peer == identity_.public_key() || relays_.count(peer) != 0) return {};
  const Instant now = loop_.now();
  path_for(peer);
  // Messages sent before a route is known wait in the channel instead of failing.
  if (transport_.route_of(peer).kind == Route::Kind::none) transport_.set_route(peer, Route{});
  local_lookup_for_path(peer, now);
  look_up(peer, now);
  pump(&peer);
  return {};
}

Result<void> Node::ping(const PublicKey& peer, std::uint64_t id) {
  return transport_.send_overlay(peer, overlay::encode(OverlayMessage{overlay::Ping{id}}));
}

void Node::on_tick() {
  // Keeps the record fresh: it expires, so a crashed node's file stops being used.
  if (options_.announce && loop_.now() - announced_at_ >= limits::local_discovery_interval) {
    announce();
  }
  if (uses_relays()) {
    for (const PublicKey& peer : dialed_) local_lookup_for_path(peer, loop_.now());
    pump(nullptr);
    return;
  }
  for (const PublicKey& peer : dialed_) (void)resolve(peer, nullptr);
}

void Node::stop() noexcept {
  tick_.stop();
  overlay_timer_.stop();
  if (announced_ && directory_) directory_->withdraw(identity_.public_key());
  announced_ = false;
  transport_.close();
}

const overlay::PeerPath* Node::path(const PublicKey& peer) const {
  auto it = paths_.find(peer);
  return it == paths_.end() ? nullptr : &it->second;
}

std::size_t Node::relays_known() const noexcept {
  return relay_client_ ? relay_client_->relay_count() : 0;
}

std::size_t Node::relays_registered() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < relays_known(); ++i) {
    n += relay_client_->status(i) == overlay::RelayClient::Status::registered;
  }
  return n;
}

Endpoint Node::relay_endpoint(const PublicKey& relay) const {
  auto it = relay_specs_.find(relay);
  return it == relay_specs_.end() ? Endpoint{} : it->second.endpoint;
}

std::string Node::describe(const Route& route) const {
  switch (route.kind) {
    case Route::Kind::direct: return "direct " + route.endpoint.to_string();
    case Route::Kind::relayed: return "relayed via " + relay_endpoint(route.relay).to_string();
    case Route::Kind::none: break;
  }
  return "none";
}

// ---- overlay: relays ---------------------------------------------------------------------

overlay::Candidates Node::local_candidates() const {
  const Endpoint bound = transport_.local_endpoint();
  overlay::Candidates out;
  if (!unspecified(bound)) {
    out.push_back(bound);
    return out;
  }
  // Bound to every address: announce each interface's, loopback only if nothing else.
  uv_interface_address_t* ifaces = nullptr;
  int count = 0;
  if (uv_interface_addresses(&ifaces, &count) == 0) {
    for (int i = 0; i < count && out.size() < limits::max_endpoint_candidates; ++i) {
      if (ifaces[i].is_internal) continue;
      auto e = from_sockaddr(reinterpret_cast<const sockaddr*>(&ifaces[i].address));
      if (!e || e->is_v4() != bound.is_v4() || e->scope_id() != 0) continue;
      out.push_back(e->with_port(bound.port()));
    }
    uv_free_interface_addresses(ifaces, count);
  }
  if (out.empty()) {
    out.push_back(
        bound.is_v4()
            ? Endpoint::v4({127, 0, 0, 1}, bound.port())
            : Endpoint::v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, bound.port()));
  }
  return out;
}

void Node::start_overlay(Instant now) {
  overlay::RelayClientConfig config = options_.relay_client;
  config.relays.clear();
  config.local_candidates = local_candidates();
  relay_client_.emplace(std::move(config), now);
  options_.path.nonce_seed = random_u64();
  for (const RelaySpec& spec : options_.relays) {
    if (spec.key) {
      add_relay(*spec.key, spec, now);
      continue;
    }
    PendingKey p{spec, random_u64(), now, limits::relay_key_retry_initial};
    pending_keys_.push_back(std::move(p));
  }
  on_timer();  // sends the key requests and the first registers
}

void Node::add_relay(const PublicKey& key, const RelaySpec& spec, Instant now) {
  if (key == identity_.public_key()) {
    PEERMQ_LOG(error, "relay", "relay %s is this node itself; not using it", spec.text.c_str());
    return;
  }
  if (relays_.count(key) != 0) return;
  relays_[key] = RelayLink{};
  relay_specs_[key] = spec;
  transport_.add_peer(key, spec.endpoint);
  transport_.trust_relay(key);
  relay_client_->add_relay({key, spec.endpoint}, now);
  // Peers that found no route while we had no relay to ask: ask this one.
  for (auto& [peer, p] : paths_) {
    if (p.route().kind == Route::Kind::none) look_up(peer, now);
  }
}

void Node::on_relay_key(const Endpoint& from, std::uint64_t nonce, const PublicKey& key) {
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
  add_relay(key, spec, loop_.now());
  pump(nullptr);
}

void Node::send_to_relay(const PublicKey& relay, std::span<const std::uint8_t> message,
                         bool answered, Instant now) {
  auto link = relays_.find(relay);
  if (link == relays_.end()) return;
  if (answered) {
    Instant& since = link->second.unanswered_since;
    if (since == Instant::max()) {
      since = now;
    } else if (now - since >= limits::relay_silence_rehandshake) {
      if (!link->second.complained) {
        PEERMQ_LOG(info, "relay", "relay %s does not answer: handshaking again (restarted?)",
                   relay_specs_[relay].text.c_str());
      }
      link->second.complained = true;
      transport_.rehandshake(relay);
      since = now;
    }
  }
  (void)transport_.send_overlay(relay, message);
}

void Node::on_client_event(const RelayClientEvent& e, Instant now) {
  using Kind = RelayClientEvent::Kind;
  const std::string relay = relay_specs_.count(e.relay) ? relay_specs_[e.relay].text : "?";
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
      transport_.rehandshake(e.relay);
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
      path_for(e.peer).on_punch_notify(e.relay, overlay::PunchNotify{e.peer, e.nonce, e.candidates},
                                       now);
      break;
    case Kind::peer_gone:
      if (auto it = paths_.find(e.peer); it != paths_.end()) {
        it->second.on_relay_lost(e.relay, now);
        dirty_.insert(e.peer);
      }
      break;
  }
}

// ---- overlay: paths ----------------------------------------------------------------------

overlay::PeerPath& Node::path_for(const PublicKey& peer) {
  auto it = paths_.find(peer);
  if (it == paths_.end()) it = paths_.emplace(peer, overlay::PeerPath(peer, options_.path)).first;
  dirty_.insert(peer);
  return it->second;
}

void Node::look_up(const PublicKey& peer, Instant now) {
  if (!relay_client_ || relay_client_->relay_count() == 0) return;  // asked once a key is known
  if (!relay_client_->lookup(peer, now)) {
    if (auto it = paths_.find(peer); it != paths_.end()) {
      it->second.on_lookup_failed(now);
      dirty_.insert(peer);
    }
  }
}

void Node::local_lookup_for_path(const PublicKey& peer, Instant now) {
  if (!directory_) return;
  auto found = directory_->lookup(peer, std::chrono::system_clock::now());
  if (!found) return;
  overlay::Candidates& seen = local_seen_[peer];
  if (seen == found->endpoints) return;  // nothing new: no new punch round
  seen = found->endpoints;
  path_for(peer).on_local_candidates(seen, now);
}

void Node::on_arrival(const PublicKey& peer, const Arrival& a) {
  if (auto link = relays_.find(peer); link != relays_.end()) {
    link->second.unanswered_since = Instant::max();
    link->second.complained = false;
    return;
  }
  if (!relay_client_) return;
  const Instant now = loop_.now();
  overlay::PeerPath& p = path_for(peer);
  if (a.relayed) {
    p.on_relayed_packet(a.relay, now);
  } else {
    p.on_direct_packet(a.from, now);
  }
  pump(&peer);
}

void Node::on_overlay(const PublicKey& peer, std::span<const std::uint8_t> bytes,
                      const Arrival& a) {
  auto m = overlay::decode_message(bytes);
  if (!m) {
    PEERMQ_LOG(debug, "node", "dropped an overlay message: %s", m.error().message().c_str());
    return;
  }
  const Instant now = loop_.now();
  switch (overlay::class_of(overlay::type_of(*m))) {
    case overlay::MessageClass::from_relay:
      if (relay_client_ && !a.relayed && relay_client_->is_relay(peer)) {
        relay_client_->on_message(peer, *m, now);
        pump(nullptr);
      }
      return;
    case overlay::MessageClass::to_relay:
      if (on_relay_request_ && !a.relayed) on_relay_request_(peer, a.from, *m);
      return;
    case overlay::MessageClass::between_peers: on_peer_message(peer, *m, a, now); return;
  }
}

void Node::on_peer_message(const PublicKey& peer, const OverlayMessage& m, const Arrival& a,
                           Instant now) {
  if (const auto* ping = std::get_if<overlay::Ping>(&m)) {
    (void)transport_.send_overlay(peer, overlay::encode(OverlayMessage{overlay::Pong{ping->id}}));
    return;
  }
  if (const auto* pong = std::get_if<overlay::Pong>(&m)) {
    if (on_pong_) on_pong_(peer, pong->id);
    return;
  }
  // Probes count only straight from the peer: that is what they test.
  if (a.relayed || relays_.count(peer) != 0) return;
  const Endpoint source = a.from;
  if (!relay_client_) {
    // No paths of our own, but a peer with relays may be testing the way to us.
    if (const auto* probe = std::get_if<overlay::Probe>(&m)) {
      (void)transport_.send_overlay_to(
          peer, a.from,
          overlay::encode(OverlayMessage{overlay::ProbeAck{probe->nonce, probe->seq, source}}));
    }
    return;
  }
  if (!options_.punch) return;
  if (const auto* probe = std::get_if<overlay::Probe>(&m)) {
    path_for(peer).on_probe(source, *probe, now);
  } else if (const auto* ack = std::get_if<overlay::ProbeAck>(&m)) {
    path_for(peer).on_probe_ack(source, *ack, now);
  }
  pump(&peer);
}

void Node::pump_path(const PublicKey& peer, overlay::PeerPath& p, Instant now) {
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
      PEERMQ_LOG(info, "path", "%s: %s, still %s", address_text(peer).c_str(),
                 overlay::name(e->reason), describe(e->to).c_str());
    } else {
      PEERMQ_LOG(info, "path", "%s: %s -> %s (%s%s)", address_text(peer).c_str(),
                 describe(e->from).c_str(), describe(e->to).c_str(), overlay::name(e->reason),
                 rtt.c_str());
      transport_.set_route(peer, e->to);
    }
    if (on_path_) on_path_(peer, *e);
  }
  while (auto o = p.poll_output()) {
    switch (o->kind) {
      case PathOutput::Kind::probe:
        if (options_.punch)
          (void)transport_.send_overlay_to(peer, o->endpoint, o->message);
        break;
      case PathOutput::Kind::to_relay: send_to_relay(o->relay, o->message, false, now); break;
      case PathOutput::Kind::lookup:
        // Only peers we dialed are looked for; one that dialed us dials again if it wants.
        if (dialed_.count(peer) != 0) look_up(peer, now);
        break;
    }
  }
  arm(p.next_deadline());
}

void Node::pump(const PublicKey* peer) {
  if (!relay_client_ || pumping_) return;  // the pump running further up finishes the job
  pumping_ = true;
  const Instant now = loop_.now();
  if (peer != nullptr) dirty_.insert(*peer);
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
      }
    }
  }
  arm(relay_client_->next_deadline());
  pumping_ = false;
}

void Node::arm(Instant deadline) {
  if (deadline >= armed_at_ || deadline == Instant::max()) return;
  armed_at_ = deadline;
  overlay_timer_.start_at(deadline, [this] { on_timer(); });
}

void Node::on_timer() {
  armed_at_ = Instant::max();
  const Instant now = loop_.now();
  Instant next = Instant::max();
  for (PendingKey& p : pending_keys_) {
    if (p.next <= now) {
      (void)transport_.request_relay_key(p.spec.endpoint, p.nonce);
      p.next = now + p.retry;
      p.retry = std::min<Duration>(p.retry * 2, limits::relay_register_retry_max);
    }
    next = std::min(next, p.next);
  }
  if (relay_client_->next_deadline() <= now) relay_client_->on_timeout(now);
  for (auto& [peer, p] : paths_) {
    if (p.next_deadline() <= now) {
      p.on_timeout(now);
      dirty_.insert(peer);
    }
    next = std::min(next, p.next_deadline());
  }
  arm(next);
  pump(nullptr);
}

}  // namespace peermq::runtime
