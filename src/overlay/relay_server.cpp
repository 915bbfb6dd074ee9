#include "overlay/relay_server.hpp"

#include <algorithm>
#include <type_traits>

namespace peermq::overlay {

RelayServer::RelayServer(const RelayServerConfig& config)
    : config_(config),
      forward_rate_(TokenRate::of(config.forward_per_second, config.forward_burst)),
      signal_rate_(TokenRate::of(config.signal_per_second, config.signal_burst)) {}

void RelayServer::on_message(const PublicKey& from, const Endpoint& source,
                             std::span<const std::uint8_t> bytes, Instant now) {
  auto m = decode_message(bytes);
  if (!m) {
    drop(drop_reason(m.error()));
    return;
  }
  on_message(from, source, *m, now);
}

void RelayServer::on_message(const PublicKey& from, const Endpoint& source,
                             const OverlayMessage& m, Instant now) {
  // Answers and peer probes have no business at a relay.
  if (class_of(type_of(m)) != MessageClass::to_relay) {
    drop(OverlayError::unexpected_message);
    return;
  }
  if (const auto* reg = std::get_if<Register>(&m)) {
    on_register(from, source, *reg, now);
    return;
  }
  Registration* self = live(from, now);
  if (self == nullptr) {
    // Forgotten (restart or expiry): say so, and the node registers again. The answer is
    // smaller than any request, so it cannot amplify.
    drop(OverlayError::not_registered);
    ++stats_.unknown_peer_sent;
    send(from, source, UnknownPeer{});
    return;
  }
  self->observed = source;  // follow the node's NAT rebinding between keepalives
  if (const auto* f = std::get_if<Forward>(&m)) {
    on_forward(from, *self, *f, now);
  } else if (const auto* l = std::get_if<Lookup>(&m)) {
    on_lookup(from, *self, *l, now);
  } else if (const auto* p = std::get_if<PunchRequest>(&m)) {
    on_punch(from, *self, *p, now);
  }
}

void RelayServer::on_register(const PublicKey& from, const Endpoint& source, const Register& m,
                              Instant now) {
  auto it = table_.find(from);
  if (it == table_.end()) {
    if (table_.size() >= config_.max_registrations) {
      on_timeout(now);  // room may be held by entries that expired but were not swept yet
      if (table_.size() >= config_.max_registrations) {
        drop(OverlayError::table_full);
        return;
      }
    }
    Registration fresh;
    fresh.forward = TokenBucket(forward_rate_, now);
    fresh.signal = TokenBucket(signal_rate_, now);
    it = table_.emplace(from, std::move(fresh)).first;
    ++stats_.registrations;
  } else {
    expiry_.erase({it->second.expires, from});
    ++stats_.refreshes;
  }
  Registration& r = it->second;
  r.observed = source;
  r.locals = m.candidates;
  r.expires = now + config_.registration_lifetime;
  expiry_.insert({r.expires, from});
  send(from, source, Registered{m.seq, source, config_.keepalive});
}

void RelayServer::on_lookup(const PublicKey& from, Registration& self, const Lookup& m,
                            Instant now) {
  if (!self.signal.take(signal_rate_, now)) {
    drop(OverlayError::rate_limited);
    return;
  }
  ++stats_.lookups;
  LookupResult answer{m.request_id, m.target, false, {}};
  if (const Registration* target = live(m.target, now)) {
    answer.found = true;
    answer.candidates = candidates_of(*target);
  } else {
    ++stats_.lookup_misses;
  }
  send(from, self.observed, answer);
}

void RelayServer::on_punch(const PublicKey& from, Registration& self, const PunchRequest& m,
                           Instant now) {
  if (!self.signal.take(signal_rate_, now)) {
    drop(OverlayError::rate_limited);
    return;
  }
  Registration* target = live(m.target, now);
  if (target == nullptr) {
    drop(OverlayError::unknown_target);
    return;
  }
  Candidates ours = candidates_of(self);
  Candidates theirs = candidates_of(*target);
  if (ours.empty() || theirs.empty()) {  // a WebSocket peer: the relay is its only way
    drop(OverlayError::not_punchable);
    return;
  }
  ++stats_.punches;
  // Both at once, so the two sides' probes cross in the network (simultaneous open).
  send(m.target, target->observed, PunchNotify{from, m.nonce, std::move(ours)});
  send(from, self.observed, PunchNotify{m.target, m.nonce, std::move(theirs)});
}

void RelayServer::on_forward(const PublicKey& from, Registration& self, const Forward& m,
                             Instant now) {
  if (!self.forward.take(forward_rate_, now)) {
    drop(OverlayError::rate_limited);
    return;
  }
  Registration* target = live(m.to, now);
  if (target == nullptr) {
    drop(OverlayError::unknown_target);
    // Tell the sender, within its signalling allowance, so a flood of forwards to a
    // missing node does not become a flood of answers.
    if (self.signal.take(signal_rate_, now))
      send(from, self.observed, LookupResult{0, m.to, false, {}});
    return;
  }
  ++stats_.forwarded_packets;
  stats_.forwarded_bytes += m.packet.size();
  send(m.to, target->observed, Forwarded{from, m.packet});
}

RelayServer::Registration* RelayServer::live(const PublicKey& node, Instant now) {
  auto it = table_.find(node);
  if (it == table_.end() || it->second.expires <= now) return nullptr;
  return &it->second;
}

const RelayServer::Registration* RelayServer::registration(const PublicKey& node) const {
  auto it = table_.find(node);
  return it == table_.end() ? nullptr : &it->second;
}

Candidates RelayServer::candidates_of(const Registration& r) {
  Candidates out;
  const auto add = [&out](const Endpoint& e) {
    // A web endpoint names a WebSocket at this relay: no other peer can send to it.
    if (e.is_web() || !valid_endpoint(e) || out.size() >= limits::kMaxEndpointCandidates) return;
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  };
  add(r.observed);
  for (const Endpoint& e : r.locals) add(e);
  return out;
}

void RelayServer::on_timeout(Instant now) {
  while (!expiry_.empty() && expiry_.begin()->first <= now) {
    auto it = table_.find(expiry_.begin()->second);
    expiry_.erase(expiry_.begin());
    if (it != table_.end()) {
      table_.erase(it);
      ++stats_.expirations;
    }
  }
}

Instant RelayServer::next_deadline() const noexcept {
  return expiry_.empty() ? Instant::max() : expiry_.begin()->first;
}

std::optional<RelayOutput> RelayServer::poll_transmit() {
  if (transmit_.empty()) return std::nullopt;
  RelayOutput out = std::move(transmit_.front());
  transmit_.pop_front();
  return out;
}

void RelayServer::send(const PublicKey& to, const Endpoint& endpoint,
                       const OverlayMessage& m) {
  RelayOutput out{to, endpoint, {}};
  encode(m, out.message);
  transmit_.push_back(std::move(out));
}

}  // namespace peermq::overlay
