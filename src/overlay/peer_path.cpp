#include "overlay/peer_path.hpp"

#include <algorithm>
#include <utility>

namespace peermq::overlay {

const char* name(Route::Kind k) noexcept {
  switch (k) {
    case Route::Kind::none: return "none";
    case Route::Kind::relayed: return "relayed";
    case Route::Kind::direct: return "direct";
  }
  return "unknown";
}

const char* name(PathEvent::Reason r) noexcept {
  switch (r) {
    case PathEvent::Reason::relay_found: return "relay_found";
    case PathEvent::Reason::relay_changed: return "relay_changed";
    case PathEvent::Reason::direct_confirmed: return "direct_confirmed";
    case PathEvent::Reason::direct_learned: return "direct_learned";
    case PathEvent::Reason::rebinding: return "rebinding";
    case PathEvent::Reason::direct_lost: return "direct_lost";
    case PathEvent::Reason::relay_lost: return "relay_lost";
    case PathEvent::Reason::punch_failed: return "punch_failed";
  }
  return "unknown";
}

PeerPath::PeerPath(const PublicKey& peer, const PeerPathConfig& config)
    : peer_(peer),
      config_(config),
      retry_delay_(config.retry_initial),
      lookup_delay_(config.lookup_retry_initial) {}

// ---- what the transport learned ------------------------------------------------------------

void PeerPath::on_lookup_result(const PublicKey& relay, const Candidates& candidates, Instant now) {
  learn_all(candidates);
  relay_ = relay;
  next_lookup_.reset();
  lookup_delay_ = config_.lookup_retry_initial;
  if (route_.kind == Route::Kind::none) {
    change_route(Route::relayed_via(relay), PathEvent::Reason::relay_found, now);
  } else if (route_.kind == Route::Kind::relayed && route_.relay != relay) {
    // Asked again because the old relay failed us: the new answer wins.
    change_route(Route::relayed_via(relay), PathEvent::Reason::relay_changed, now);
  }
  if (route_.kind != Route::Kind::direct && !punching_) start_round(now, std::nullopt, true);
}

void PeerPath::on_lookup_failed(Instant now) {
  if (route_.kind != Route::Kind::none) return;
  next_lookup_ = now + lookup_delay_;
  lookup_delay_ = std::min(lookup_delay_ * 2, config_.lookup_retry_max);
}

void PeerPath::on_local_candidates(const Candidates& candidates, Instant now) {
  learn_all(candidates);
  if (route_.kind != Route::Kind::direct && !punching_) {
    start_round(now, std::nullopt, relay_.has_value());
  }
}

void PeerPath::on_punch_notify(const PublicKey& relay, const PunchNotify& m, Instant now) {
  learn_all(m.candidates);
  if (!relay_ || route_.kind == Route::Kind::none) relay_ = relay;
  if (route_.kind == Route::Kind::none) {
    change_route(Route::relayed_via(relay), PathEvent::Reason::relay_found, now);
  }
  if (!punching_) {
    start_round(now, m.nonce, false);
  } else if (m.nonce != nonce_) {
    // Both sides asked at once: join the peer's round too, and give it its full time.
    nonce_ = m.nonce;
    round_end_ = std::max(round_end_, now + config_.punch_timeout);
  }
}

void PeerPath::on_probe(const Endpoint& source, const Probe& m, Instant now) {
  // The probe came over the peer's session, so it is the peer's: answer where it came
  // from, which is what the peer needs to confirm that endpoint.
  PathOutput ack{PathOutput::Kind::probe, source, {}, {}};
  encode(ProbeAck{m.nonce, m.seq, source}, ack.message);
  output(std::move(ack));
  ++stats_.acks_sent;
  peer_punching();

  if (route_.kind == Route::Kind::direct) {
    if (source == route_.endpoint) {
      last_direct_rx_ = now;  // the peer's keepalive
    } else if (now - last_direct_rx_ >= config_.keepalive_interval) {
      // The endpoint went quiet and the peer now probes from elsewhere: an idle path's NAT
      // rebinding. (While the endpoint is alive, probes from other mappings are a punch
      // round's and must not move the path.)
      learn(source);
      last_direct_rx_ = now;
      change_route(Route::direct_to(source), PathEvent::Reason::rebinding, now);
    }
    return;
  }
  const bool fresh = learn(source);
  // The peer is punching: probe back, which opens our NAT toward it.
  if (!punching_) {
    start_round(now, m.nonce, false);
  } else if (fresh) {
    send_probe(source, now);
  }
}

void PeerPath::on_probe_ack(const Endpoint& source, const ProbeAck& m, Instant now) {
  auto it = sent_.find(m.seq);
  if (it == sent_.end() || it->second.endpoint != source || it->second.nonce != m.nonce) {
    ++stats_.unmatched_acks;
    return;
  }
  const Duration rtt = now - it->second.sent;
  sent_.erase(it);
  peer_punching();
  observed_by_peer_ = m.observed;
  if (route_.kind == Route::Kind::direct) {
    if (source == route_.endpoint) {
      last_direct_rx_ = now;
      rtt_ = rtt;
    }
    return;  // a second confirmed endpoint does not displace a working one
  }
  rtt_ = rtt;
  last_direct_rx_ = now;
  next_keepalive_ = now;
  change_route(Route::direct_to(source), PathEvent::Reason::direct_confirmed, now, rtt);
  end_round(now, true);
}

void PeerPath::on_direct_packet(const Endpoint& source, Instant now) {
  switch (route_.kind) {
    case Route::Kind::direct:
      if (source != route_.endpoint) {
        // The peer's data now comes from elsewhere: its NAT mapping moved. Answers to the
        // new endpoint pass its NAT, since the peer just sent from there to us.
        learn(source);
        change_route(Route::direct_to(source), PathEvent::Reason::rebinding, now);
      }
      last_direct_rx_ = now;
      return;
    case Route::Kind::none:
      // No relay and the peer answered at this endpoint: nothing better exists.
      learn(source);
      last_direct_rx_ = now;
      next_keepalive_ = now;
      change_route(Route::direct_to(source), PathEvent::Reason::direct_learned, now);
      if (punching_) end_round(now, true);
      return;
    case Route::Kind::relayed:
      // The peer already sends straight to us: confirm a path our way too.
      if (learn(source) && !punching_) start_round(now, std::nullopt, false);
      return;
  }
}

void PeerPath::on_relayed_packet(const PublicKey& relay, Instant now) {
  if (!relay_) relay_ = relay;
  if (route_.kind == Route::Kind::none) {
    relay_ = relay;
    change_route(Route::relayed_via(relay), PathEvent::Reason::relay_found, now);
  }
  if (route_.kind != Route::Kind::relayed) return;
  if (relay == route_.relay) {
    last_relayed_rx_ = now;
  } else if (now - last_relayed_rx_ >= config_.keepalive_interval) {
    // The peer now reaches us through another relay, and ours has carried nothing from it
    // for a while: the peer failed over. Answer the way its packets come.
    relay_ = relay;
    change_route(Route::relayed_via(relay), PathEvent::Reason::relay_changed, now);
  }
}

void PeerPath::on_relay_lost(const PublicKey& relay, Instant now) {
  if (relay_ != relay) return;
  relay_.reset();
  if (route_.kind == Route::Kind::relayed) {
    change_route(Route{}, PathEvent::Reason::relay_lost, now);
  }
  want_lookup();  // for a path, or for a fallback behind the direct one
}

void PeerPath::on_session(bool usable, Instant now) {
  const bool was = session_usable_;
  session_usable_ = usable;
  if (!usable || was) return;
  if (punching_ && !round_had_session_) {
    // The round's probes were held until now: give them the round's full time.
    round_had_session_ = true;
    round_end_ = std::max(round_end_, now + config_.punch_timeout);
  } else if (!punching_ && round_owed_ && route_.kind != Route::Kind::direct) {
    round_owed_ = false;
    start_round(now, std::nullopt, relay_.has_value());
  }
}

// ---- timers --------------------------------------------------------------------------------

void PeerPath::on_timeout(Instant now) {
  // Probes older than a round can no longer confirm anything.
  while (!sent_.empty() && sent_.begin()->second.sent + config_.punch_timeout <= now) {
    sent_.erase(sent_.begin());
  }
  if (punching_) {
    if (now >= round_end_) {
      end_round(now, false);
    } else {
      if (now >= next_probe_) probe_candidates(now);
      if (request_at_ && now >= *request_at_) {
        // Nothing from the peer yet: the request or the relay's notify may have been lost.
        if (relay_) request_punch();
        request_at_ = now + config_.request_retry;
      }
    }
  }
  if (route_.kind == Route::Kind::direct) {
    if (now - last_direct_rx_ >= config_.failover_timeout) {
      fall_back(now);
    } else if (now - last_direct_rx_ >= config_.keepalive_interval && now >= next_keepalive_) {
      send_probe(route_.endpoint, now);
      next_keepalive_ = now + config_.keepalive_interval;
    }
  }
  if (next_lookup_ && now >= *next_lookup_) {
    next_lookup_.reset();
    if (route_.kind == Route::Kind::none) want_lookup();
  }
  if (next_round_ && now >= *next_round_ && !punching_) {
    next_round_.reset();
    if (route_.kind != Route::Kind::direct && (relay_ || !candidates_.empty())) {
      start_round(now, std::nullopt, relay_.has_value());
    }
  }
}

Instant PeerPath::next_deadline() const noexcept {
  Instant t = Instant::max();
  if (punching_) t = std::min({t, round_end_, next_probe_});
  if (punching_ && request_at_) t = std::min(t, *request_at_);
  if (route_.kind == Route::Kind::direct) {
    t = std::min(t, last_direct_rx_ + config_.failover_timeout);
    t = std::min(t, std::max(last_direct_rx_ + config_.keepalive_interval, next_keepalive_));
  }
  if (next_round_ && !punching_) t = std::min(t, *next_round_);
  if (next_lookup_) t = std::min(t, *next_lookup_);
  return t;
}

// ---- rounds --------------------------------------------------------------------------------

void PeerPath::start_round(Instant now, std::optional<std::uint64_t> nonce, bool request) {
  punching_ = true;
  ++rounds_;
  ++stats_.rounds;
  nonce_ = nonce.value_or(config_.nonce_seed + rounds_);
  round_end_ = now + config_.punch_timeout;
  next_round_.reset();
  round_had_session_ = session_usable_;
  round_owed_ = false;
  request_at_.reset();
  if (request && relay_) {
    request_punch();
    request_at_ = now + config_.request_retry;
  }
  probe_candidates(now);
}

void PeerPath::request_punch() {
  PathOutput o{PathOutput::Kind::to_relay, {}, *relay_, {}};
  encode(PunchRequest{peer_, nonce_}, o.message);
  output(std::move(o));
  ++stats_.requests_sent;
}

void PeerPath::end_round(Instant now, bool confirmed) {
  punching_ = false;
  request_at_.reset();
  if (confirmed) {
    retry_delay_ = config_.retry_initial;
    return;
  }
  if (route_.kind == Route::Kind::direct) return;  // a round the peer asked for; we are fine
  events_.push_back({PathEvent::Reason::punch_failed, route_, route_, std::nullopt});
  if (!round_had_session_) {
    // Not one probe could leave: this round proved nothing. Run it again once they can.
    round_owed_ = true;
    return;
  }
  next_round_ = now + retry_delay_;
  retry_delay_ = std::min(retry_delay_ * 2, config_.retry_max);
}

void PeerPath::probe_candidates(Instant now) {
  for (const Endpoint& e : candidates_) send_probe(e, now);
  next_probe_ = now + config_.probe_interval;
}

void PeerPath::send_probe(const Endpoint& to, Instant now) {
  const std::uint64_t seq = next_seq_++;
  if (sent_.size() >= limits::kMaxOutstandingProbes) sent_.erase(sent_.begin());
  sent_[seq] = SentProbe{to, nonce_, now};
  PathOutput o{PathOutput::Kind::probe, to, {}, {}};
  encode(Probe{nonce_, seq}, o.message);
  output(std::move(o));
  ++stats_.probes_sent;
}

void PeerPath::fall_back(Instant now) {
  if (relay_) {
    change_route(Route::relayed_via(*relay_), PathEvent::Reason::direct_lost, now);
  } else {
    change_route(Route{}, PathEvent::Reason::direct_lost, now);
    want_lookup();
  }
  // The endpoint may come back (a flapping link): punch again, after the retry delay.
  next_round_ = now + retry_delay_;
  retry_delay_ = std::min(retry_delay_ * 2, config_.retry_max);
}

// ---- helpers -------------------------------------------------------------------------------

bool PeerPath::learn(const Endpoint& e) {
  if (!valid_endpoint(e)) return false;
  if (std::find(candidates_.begin(), candidates_.end(), e) != candidates_.end()) return false;
  if (candidates_.size() >= limits::kMaxPathCandidates) return false;
  candidates_.push_back(e);
  return true;
}

void PeerPath::learn_all(const Candidates& c) {
  for (const Endpoint& e : c) learn(e);
}

void PeerPath::change_route(Route to, PathEvent::Reason reason, Instant now,
                            std::optional<Duration> rtt) {
  PathEvent e{reason, route_, to, rtt};
  route_ = to;
  if (to.kind == Route::Kind::relayed) last_relayed_rx_ = now;
  ++stats_.route_changes;
  events_.push_back(std::move(e));
}

void PeerPath::want_lookup() {
  output(PathOutput{PathOutput::Kind::lookup, {}, {}, {}});
}

std::optional<PathOutput> PeerPath::poll_output() {
  if (outputs_.empty()) return std::nullopt;
  PathOutput o = std::move(outputs_.front());
  outputs_.pop_front();
  return o;
}

std::optional<PathEvent> PeerPath::poll_event() {
  if (events_.empty()) return std::nullopt;
  PathEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace peermq::overlay
