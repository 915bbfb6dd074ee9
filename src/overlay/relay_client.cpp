#include "overlay/relay_client.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace peermq::overlay {
namespace {

RelayClientEvent event(RelayClientEvent::Kind kind, const PublicKey& relay) {
  RelayClientEvent e;
  e.kind = kind;
  e.relay = relay;
  return e;
}

}  // namespace

RelayClient::RelayClient(RelayClientConfig config, Instant now) : config_(std::move(config)) {
  if (config_.relays.size() > limits::kMaxRelays) {
    throw std::invalid_argument("more relays than limits::kMaxRelays");
  }
  if (config_.local_candidates.size() > limits::kMaxEndpointCandidates) {
    config_.local_candidates.resize(limits::kMaxEndpointCandidates);
  }
  relays_.reserve(config_.relays.size());
  for (const RelayInfo& info : config_.relays) {
    Relay r;
    r.info = info;
    r.retry = config_.retry_initial;
    r.next_send = now;
    relays_.push_back(std::move(r));
  }
  for (Relay& r : relays_) send_register(r, now);
}

RelayClient::Relay* RelayClient::find(const PublicKey& key) noexcept {
  for (Relay& r : relays_) {
    if (r.info.key == key) return &r;
  }
  return nullptr;
}

const RelayClient::Relay* RelayClient::find(const PublicKey& key) const noexcept {
  for (const Relay& r : relays_) {
    if (r.info.key == key) return &r;
  }
  return nullptr;
}

bool RelayClient::registered_with(const PublicKey& relay) const noexcept {
  const Relay* r = find(relay);
  return r != nullptr && r->status == Status::registered;
}

void RelayClient::send_register(Relay& r, Instant now) {
  r.seq += 1;
  r.last_sent = now;
  r.next_send = now + r.retry;  // a retry unless an answer turns it into a keepalive
  r.retry = std::min<Duration>(r.retry * 2, config_.retry_max);
  RelayClientOutput out{r.info.key, r.info.endpoint, {}};
  encode(Register{r.seq, config_.local_candidates}, out.message);
  transmit_.push_back(std::move(out));
  ++stats_.registers_sent;
}

void RelayClient::on_message(const PublicKey& relay, const OverlayMessage& m, Instant now) {
  Relay* r = find(relay);
  if (r == nullptr) {
    drop(OverlayError::not_a_relay);
    return;
  }
  if (class_of(type_of(m)) != MessageClass::from_relay) {
    drop(OverlayError::unexpected_message);
    return;
  }
  if (const auto* reg = std::get_if<Registered>(&m)) {
    on_registered(*r, *reg, now);
  } else if (std::holds_alternative<UnknownPeer>(m)) {
    on_unknown_peer(*r, now);
  } else if (const auto* res = std::get_if<LookupResult>(&m)) {
    on_lookup_result(*r, *res, now);
  } else if (const auto* p = std::get_if<PunchNotify>(&m)) {
    RelayClientEvent e = event(RelayClientEvent::Kind::punch, relay);
    e.peer = p->peer;
    e.candidates = p->candidates;
    e.nonce = p->nonce;
    emit(std::move(e));
  }
  // Forwarded belongs to the session layer; nothing to do here.
}

void RelayClient::on_registered(Relay& r, const Registered& m, Instant now) {
  // An answer to any register since the last one answered: on a slow path the answer to
  // a retried register may arrive after the next retry went out.
  if (m.seq <= r.acked_seq || m.seq > r.seq) {
    drop(OverlayError::stale_answer);
    return;
  }
  r.acked_seq = m.seq;
  r.missed = 0;
  r.retry = config_.retry_initial;
  const Duration keepalive = std::clamp<Duration>(m.keepalive, limits::kRelayKeepaliveIntervalMin,
                                                  limits::kRelayKeepaliveInterval);
  r.next_send = now + keepalive;
  const bool was_registered = r.status == Status::registered;
  const std::optional<Endpoint> before = r.observed;
  r.status = Status::registered;
  r.observed = m.observed;
  if (!was_registered) {
    RelayClientEvent e = event(RelayClientEvent::Kind::registered, r.info.key);
    e.observed = m.observed;
    emit(std::move(e));
  } else if (before != m.observed) {
    RelayClientEvent e = event(RelayClientEvent::Kind::observed_changed, r.info.key);
    e.observed = m.observed;
    emit(std::move(e));
  }
  send_parked(index_of(r), now);
}

void RelayClient::on_unknown_peer(Relay& r, Instant now) {
  // The relay is up but forgot us. Register at once, unless a register went out just now
  // (a burst of refused requests must not become a burst of registers).
  if (r.status == Status::registered) {
    ++stats_.relays_forgot;
    emit(event(RelayClientEvent::Kind::relay_forgot, r.info.key));
  }
  r.status = Status::registering;
  r.missed = 0;
  park_sent(index_of(r));
  const bool fresh = r.acked_seq < r.seq && now - r.last_sent < config_.retry_initial;
  if (!fresh) {
    r.retry = config_.retry_initial;
    send_register(r, now);
  }
}

void RelayClient::on_lookup_result(Relay& r, const LookupResult& m, Instant now) {
  if (m.request_id == 0) {
    // Unsolicited: a datagram we forwarded to m.target found no such node at this relay.
    if (!m.found) {
      RelayClientEvent e = event(RelayClientEvent::Kind::peer_gone, r.info.key);
      e.peer = m.target;
      emit(std::move(e));
    }
    return;
  }
  auto by = by_request_.find(m.request_id);
  if (by == by_request_.end() || by->second != m.target) {
    drop(OverlayError::stale_answer);
    return;
  }
  auto it = lookups_.find(by->second);
  if (it == lookups_.end() || it->second.order[it->second.attempt] != index_of(r)) {
    drop(OverlayError::stale_answer);  // answered by another relay than it was asked
    return;
  }
  if (m.found) {
    RelayClientEvent e = event(RelayClientEvent::Kind::lookup_done, r.info.key);
    e.peer = m.target;
    e.candidates = m.candidates;
    emit(std::move(e));
    by_request_.erase(by);
    lookups_.erase(it);
    return;
  }
  next_attempt(it, now);
}

Result<void> RelayClient::lookup(const PublicKey& target, Instant now) {
  if (relays_.empty()) return OverlayError::no_relays;
  if (lookups_.count(target) != 0) return {};
  if (lookups_.size() >= config_.max_pending_lookups) return OverlayError::too_many_lookups;
  Lookup l;
  // Registered relays first, then those still registering, each group in configured
  // order. Dead relays are left out: waiting for them would only delay the answer.
  for (const Status wanted : {Status::registered, Status::registering}) {
    for (std::size_t i = 0; i < relays_.size(); ++i) {
      if (relays_[i].status == wanted) l.order.push_back(i);
    }
  }
  if (l.order.empty()) {
    RelayClientEvent e = event(RelayClientEvent::Kind::lookup_failed, PublicKey{});
    e.peer = target;
    e.error = OverlayError::lookup_timeout;
    emit(std::move(e));
    return {};
  }
  auto it = lookups_.emplace(target, std::move(l)).first;
  start_attempt(it, now);
  return {};
}

void RelayClient::start_attempt(LookupMap::iterator it, Instant now) {
  Lookup& l = it->second;
  l.request_id = next_request_id_++;
  by_request_[l.request_id] = it->first;
  l.deadline = now + config_.lookup_timeout;
  l.sent = false;
  Relay& r = relays_[l.order[l.attempt]];
  if (r.status != Status::registered) return;  // parked until it registers
  RelayClientOutput out{r.info.key, r.info.endpoint, {}};
  encode(overlay::Lookup{l.request_id, it->first}, out.message);
  transmit_.push_back(std::move(out));
  l.sent = true;
  ++stats_.lookups_sent;
}

void RelayClient::next_attempt(LookupMap::iterator it, Instant now) {
  Lookup& l = it->second;
  by_request_.erase(l.request_id);
  if (l.attempt + 1 >= l.order.size()) {
    const std::error_code error = l.timed_out ? make_error_code(OverlayError::lookup_timeout)
                                              : make_error_code(OverlayError::not_found);
    RelayClientEvent e = event(RelayClientEvent::Kind::lookup_failed, PublicKey{});
    e.peer = it->first;
    e.error = error;
    emit(std::move(e));
    lookups_.erase(it);
    return;
  }
  ++l.attempt;
  start_attempt(it, now);
}

void RelayClient::send_parked(std::size_t i, Instant now) {
  for (auto it = lookups_.begin(); it != lookups_.end();) {
    auto next = std::next(it);
    Lookup& l = it->second;
    if (l.order[l.attempt] == i && !l.sent) {
      // Keep the attempt's deadline: a relay that registers late does not extend it.
      const Instant deadline = l.deadline;
      by_request_.erase(l.request_id);
      start_attempt(it, now);
      it->second.deadline = deadline;
    }
    it = next;
  }
}

void RelayClient::park_sent(std::size_t i) {
  for (auto& [target, l] : lookups_) {
    if (l.order[l.attempt] == i) l.sent = false;
  }
}

void RelayClient::relay_died(Relay& r, Instant now) {
  const bool was_registered = r.status == Status::registered;
  r.status = Status::dead;
  r.observed.reset();
  if (was_registered) {
    ++stats_.relays_lost;
    emit(event(RelayClientEvent::Kind::relay_lost, r.info.key));
  }
  // Lookups waiting for this relay move on to the next one now.
  const std::size_t i = index_of(r);
  for (auto it = lookups_.begin(); it != lookups_.end();) {
    auto next = std::next(it);
    if (it->second.order[it->second.attempt] == i) {
      it->second.timed_out = true;
      next_attempt(it, now);
    }
    it = next;
  }
}

void RelayClient::on_timeout(Instant now) {
  for (Relay& r : relays_) {
    if (r.next_send > now) continue;
    if (r.acked_seq < r.seq) {  // the last register went unanswered
      ++r.missed;
      if (r.missed >= config_.missed_answers_dead && r.status != Status::dead) {
        relay_died(r, now);
      }
    }
    send_register(r, now);
  }
  for (auto it = lookups_.begin(); it != lookups_.end();) {
    auto next = std::next(it);
    if (it->second.deadline <= now) {
      it->second.timed_out = true;
      next_attempt(it, now);
    }
    it = next;
  }
}

Instant RelayClient::next_deadline() const noexcept {
  Instant t = Instant::max();
  for (const Relay& r : relays_) t = std::min(t, r.next_send);
  for (const auto& [target, l] : lookups_) t = std::min(t, l.deadline);
  return t;
}

bool RelayClient::add_relay(const RelayInfo& info, Instant now) {
  if (find(info.key) != nullptr || relays_.size() >= limits::kMaxRelays) return false;
  config_.relays.push_back(info);
  Relay r;
  r.info = info;
  r.retry = config_.retry_initial;
  r.next_send = now;
  relays_.push_back(std::move(r));
  send_register(relays_.back(), now);
  return true;
}

void RelayClient::set_local_candidates(Candidates candidates, Instant now) {
  if (candidates.size() > limits::kMaxEndpointCandidates) {
    candidates.resize(limits::kMaxEndpointCandidates);
  }
  config_.local_candidates = std::move(candidates);
  for (Relay& r : relays_) send_register(r, now);
}

void RelayClient::refresh(const PublicKey& relay, Instant now) {
  Relay* r = find(relay);
  if (r == nullptr || r->status == Status::dead || r->acked_seq < r->seq) return;
  r->retry = config_.retry_initial;
  send_register(*r, now);
}

std::optional<RelayClientOutput> RelayClient::poll_transmit() {
  if (transmit_.empty()) return std::nullopt;
  RelayClientOutput out = std::move(transmit_.front());
  transmit_.pop_front();
  return out;
}

std::optional<RelayClientEvent> RelayClient::poll_event() {
  if (events_.empty()) return std::nullopt;
  RelayClientEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace peermq::overlay
