// OverlaySimulator: relays and nodes behind NATs on a deterministic, virtual-time network,
// driving the overlay cores (RelayServer, RelayClient, PeerPath) the way the runtime will.
//
// Sessions are stood in for by an envelope [sender key (32)][kind (1)][body]: what the
// overlay cores need from a session is who sent a message, which the real session proves
// (and is tested on its own). SimNode is the glue a transport has to write: it routes each
// overlay message to its core, sends data along the peer's route, wraps relayed datagrams
// in forward messages and unwraps forwarded ones.
//
// The network: public hosts, and sites behind a NAT each. A NAT maps an inside endpoint to
// a public port either once for every destination (cone: endpoint-independent mapping) or
// once per destination (symmetric); either way it lets in only packets from endpoints that
// inside endpoint has sent to (address-and-port-dependent filtering, the strict common
// case). Hosts of one site reach each other's private addresses directly. Links have fixed
// delays; a pair of nodes can be cut off from each other (their relayed traffic still
// flows), a relay can go down or restart (forgetting its table), a NAT can rebind.
// Time jumps from event to event, so minutes of protocol time run in milliseconds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <span>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/clock.hpp>

#include "overlay/overlay_message.hpp"
#include "overlay/peer_path.hpp"
#include "overlay/relay_client.hpp"
#include "overlay/relay_server.hpp"
#include "overlay_test_util.hpp"
#include "support/manual_clock.hpp"

namespace peermq::overlay::test {

using namespace std::chrono_literals;

enum class Nat { cone, symmetric };
enum class EnvelopeKind : std::uint8_t { data = 0, control = 1 };

inline Bytes envelope(const PublicKey& sender, EnvelopeKind kind,
                      std::span<const std::uint8_t> body) {
  Bytes b(sender.begin(), sender.end());
  b.push_back(static_cast<std::uint8_t>(kind));
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

struct Envelope {
  PublicKey sender{};
  EnvelopeKind kind{};
  std::span<const std::uint8_t> body;
};

inline std::optional<Envelope> open_envelope(std::span<const std::uint8_t> b) {
  if (b.size() < 33 || b[32] > 1) return std::nullopt;
  Envelope e;
  std::copy(b.begin(), b.begin() + 32, e.sender.begin());
  e.kind = static_cast<EnvelopeKind>(b[32]);
  e.body = b.subspan(33);
  return e;
}

inline Bytes u64_bytes(std::uint64_t v) {
  Bytes b(8);
  for (int i = 7; i >= 0; --i, v >>= 8)
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
  return b;
}

inline std::uint64_t read_u64(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < b.size(); ++i) v = (v << 8) | b[i];
  return v;
}

class OverlaySimulator;

// A data packet a node received: its sequence number and the path it took.
struct Delivery {
  std::uint64_t seq = 0;
  bool relayed = false;
  PublicKey relay{};
  Endpoint from;
  Instant at{};
};

class SimHost {
 public:
  virtual ~SimHost() = default;
  virtual void on_packet(const Endpoint& from, std::span<const std::uint8_t> bytes,
                         Instant now) = 0;
  virtual Instant next_deadline() const = 0;
  virtual void on_timeout(Instant now) = 0;
  // Sends everything the host's cores want to send.
  virtual void pump(Instant now) = 0;

  PublicKey key{};
  Endpoint address;  // its socket (a private address behind a NAT)
  int site = -1;          // the NAT it sits behind; -1 for a public host

 protected:
  SimHost(OverlaySimulator& sim, const PublicKey& k, const Endpoint& a, int s)
      : key(k), address(a), site(s), sim_(sim) {}
  void send(const Endpoint& to, Bytes bytes);
  OverlaySimulator& sim_;
};

class SimRelay final : public SimHost {
 public:
  SimRelay(OverlaySimulator& sim, const PublicKey& k, const Endpoint& a,
           const RelayServerConfig& config)
      : SimHost(sim, k, a, -1), config_(config) {
    server.emplace(config_);
  }

  void on_packet(const Endpoint& from, std::span<const std::uint8_t> bytes,
                 Instant now) override {
    if (down) return;
    auto e = open_envelope(bytes);
    if (!e || e->kind != EnvelopeKind::control) return;
    server->on_message(e->sender, from, e->body, now);
  }
  Instant next_deadline() const override { return server->next_deadline(); }
  void on_timeout(Instant now) override { server->on_timeout(now); }
  void pump(Instant) override {
    while (auto o = server->poll_transmit()) {
      if (!down) send(o->endpoint, envelope(key, EnvelopeKind::control, o->message));
    }
  }
  // A restart: the process comes back with an empty table.
  void restart() { server.emplace(config_); }

  std::optional<RelayServer> server;
  bool down = false;

 private:
  RelayServerConfig config_;
};

class SimNode final : public SimHost {
 public:
  SimNode(OverlaySimulator& sim, const PublicKey& k, const Endpoint& a, int s,
          std::vector<RelayInfo> relays, Instant now)
      : SimHost(sim, k, a, s),
        client(RelayClientConfig{.relays = std::move(relays), .local_candidates = {a}}, now) {}

  // The application dials `peer`: ask the relays, or use the local directory.
  void dial(const PublicKey& peer, Instant now);
  // Sends a numbered data packet to `peer` every `interval` from now on.
  void stream_to(const PublicKey& peer, Duration interval, Instant now) {
    stream_peer_ = peer;
    stream_interval_ = interval;
    next_stream_ = now;
  }
  void stop_stream() { next_stream_.reset(); }

  void on_packet(const Endpoint& from, std::span<const std::uint8_t> bytes,
                 Instant now) override;
  Instant next_deadline() const override {
    Instant t = std::min(client.next_deadline(), next_stream_.value_or(Instant::max()));
    for (const auto& [peer, path] : paths) t = std::min(t, path.next_deadline());
    return t;
  }
  void on_timeout(Instant now) override;
  void pump(Instant now) override;

  PeerPath& path(const PublicKey& peer) {
    auto it = paths.find(peer);
    if (it == paths.end()) {
      PeerPathConfig config;
      config.nonce_seed = std::uint64_t{key[0]} << 32;
      it = paths.emplace(peer, PeerPath(peer, config)).first;
    }
    return it->second;
  }
  bool has_path(const PublicKey& peer) const { return paths.count(peer) != 0; }

  RelayClient client;
  std::map<PublicKey, PeerPath> paths;
  std::vector<Delivery> received;
  std::vector<std::pair<PublicKey, PathEvent>> path_log;
  std::vector<RelayClientEvent> client_log;
  std::uint64_t sent = 0;
  std::uint64_t unsent = 0;  // data with no route at all when it was due
  std::map<PublicKey, Candidates>* local_directory = nullptr;
  // A peer that takes no part in punching (an older or broken node): it drops probes and
  // sends none.
  bool punching_disabled = false;

 private:
  const RelayInfo* relay_info(const PublicKey& relay) const {
    for (std::size_t i = 0; i < client.relay_count(); ++i) {
      if (client.relay(i).key == relay) return &client.relay(i);
    }
    return nullptr;
  }
  void send_control(const Endpoint& to, std::span<const std::uint8_t> message) {
    send(to, envelope(key, EnvelopeKind::control, message));
  }
  void send_data(const PublicKey& peer, std::uint64_t seq);
  void from_peer(const PublicKey& peer, const Envelope& e, const Endpoint& from,
                 std::optional<PublicKey> via, Instant now);
  void on_client_event(const RelayClientEvent& e, Instant now);

  std::optional<PublicKey> stream_peer_;
  Duration stream_interval_{};
  std::optional<Instant> next_stream_;
};

class OverlaySimulator {
 public:
  struct Stats {
    std::uint64_t delivered = 0, filtered = 0, unroutable = 0, blocked = 0;
  };

  explicit OverlaySimulator(Instant start = ManualClock::kDefaultStart) : now_(start) {}

  // A NAT with public address 198.51.100.<octet>; returns its site number.
  int add_nat(Nat kind, std::uint8_t octet) {
    nats_.push_back(NatBox{kind, Endpoint::v4({198, 51, 100, octet}, 0), {}, {}, 20000});
    return static_cast<int>(nats_.size() - 1);
  }
  // A relay at 192.0.2.<id>:7000 with key(id).
  SimRelay& add_relay(std::uint8_t id, const RelayServerConfig& config = {}) {
    auto r = std::make_unique<SimRelay>(*this, key(id), Endpoint::v4({192, 0, 2, id}, 7000),
                                        config);
    SimRelay& ref = *r;
    hosts_.push_back(std::move(r));
    return ref;
  }
  // A node with key(id): at 10.<site>.0.<id>:4000 behind NAT `site`, or at
  // 203.0.113.<id>:4000 when public (site -1).
  SimNode& add_node(std::uint8_t id, int site, const std::vector<SimRelay*>& relays) {
    std::vector<RelayInfo> infos;
    for (const SimRelay* r : relays) infos.push_back({r->key, r->address});
    const Endpoint at =
        site < 0 ? Endpoint::v4({203, 0, 113, id}, 4000)
                 : Endpoint::v4({10, static_cast<std::uint8_t>(site), 0, id}, 4000);
    auto n = std::make_unique<SimNode>(*this, key(id), at, site, std::move(infos), now_);
    n->local_directory = &directory_;
    SimNode& ref = *n;
    hosts_.push_back(std::move(n));
    return ref;
  }
  // Nodes of one host announce themselves here (local discovery, no relay).
  void announce(const SimNode& n) { directory_[n.key] = {n.address}; }

  // Drops every packet between the two nodes (not their traffic through relays).
  void block(const SimHost& a, const SimHost& b) { blocked_.insert(pair_of(a, b)); }
  void unblock(const SimHost& a, const SimHost& b) { blocked_.erase(pair_of(a, b)); }
  // The NAT of `site` forgets its mappings: every inside endpoint gets a new public port.
  void rebind(int site) {
    nats_[static_cast<std::size_t>(site)].mappings.clear();
    nats_[static_cast<std::size_t>(site)].ports.clear();
  }

  void run_for(Duration d) {
    run_until([] { return false; }, d);
  }
  // Runs until `done` holds or `limit` passes; true if done.
  template <class F>
  bool run_until(F done, Duration limit) {
    const Instant stop = now_ + limit;
    pump_all();
    for (std::uint64_t steps = 0; steps < 10'000'000; ++steps) {  // ample for 10 min
      if (done()) return true;
      Instant next = arrivals_.empty() ? Instant::max() : arrivals_.top().at;
      for (const auto& h : hosts_) next = std::min(next, h->next_deadline());
      if (next > stop) {
        now_ = stop;
        return done();
      }
      now_ = std::max(now_, next);
      while (!arrivals_.empty() && arrivals_.top().at <= now_) {
        InFlight f = arrivals_.top();
        arrivals_.pop();
        f.to->on_packet(f.from, f.bytes, now_);
      }
      for (const auto& h : hosts_) {
        if (h->next_deadline() > now_) continue;
        h->on_timeout(now_);
        // A timer that does not move past now would spin the simulation forever.
        if (h->next_deadline() <= now_) {
          FAIL_CHECK("a core's deadline did not move past now after on_timeout");
          return false;
        }
      }
      pump_all();
    }
    FAIL_CHECK("the simulation hit its step limit");
    return false;
  }

  Instant now() const noexcept { return now_; }
  const Stats& stats() const noexcept { return stats_; }

  // Called by hosts: a datagram from `sender`'s socket to `to`.
  void transmit(SimHost& sender, const Endpoint& to, Bytes bytes) {
    Endpoint from = sender.address;
    SimHost* target = nullptr;
    Duration delay = kWanDelay;
    if (SimHost* lan = host_at(to);
        lan != nullptr && sender.site >= 0 && lan->site == sender.site) {
      target = lan;  // same site: private addresses reach each other directly
      delay = kLanDelay;
    } else {
      if (sender.site >= 0) from = egress(nats_[static_cast<std::size_t>(sender.site)], sender, to);
      target = ingress(to, from);
    }
    if (target == nullptr) return;
    if (blocked_.count(pair_of(sender, *target)) != 0) {
      ++stats_.blocked;
      return;
    }
    ++stats_.delivered;
    arrivals_.push(InFlight{now_ + delay, seq_++, target, from, std::move(bytes)});
  }

  static constexpr Duration kWanDelay = 20ms;
  static constexpr Duration kLanDelay = 1ms;

 private:
  struct AddressLess {
    bool operator()(const Endpoint& a, const Endpoint& b) const {
      return std::make_pair(a.ip16(), a.port()) < std::make_pair(b.ip16(), b.port());
    }
    bool operator()(const std::pair<Endpoint, Endpoint>& a,
                    const std::pair<Endpoint, Endpoint>& b) const {
      return std::make_tuple(a.first.ip16(), a.first.port(), a.second.ip16(), a.second.port()) <
             std::make_tuple(b.first.ip16(), b.first.port(), b.second.ip16(), b.second.port());
    }
  };
  struct NatBox {
    Nat kind;
    Endpoint public_ip;
    // (inside endpoint, destination or {} for cone) -> public port
    std::map<std::pair<Endpoint, Endpoint>, std::uint16_t, AddressLess> mappings;
    struct Port {
      SimHost* inside;
      std::set<Endpoint, AddressLess> allowed;  // endpoints it sent to
    };
    std::map<std::uint16_t, Port> ports;
    std::uint16_t next_port;
  };
  struct InFlight {
    Instant at;
    std::uint64_t seq;
    SimHost* to;
    Endpoint from;
    Bytes bytes;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  static std::pair<const SimHost*, const SimHost*> pair_of(const SimHost& a, const SimHost& b) {
    return std::minmax(&a, &b);
  }

  SimHost* host_at(const Endpoint& a) {
    for (const auto& h : hosts_) {
      if (h->address == a) return h.get();
    }
    return nullptr;
  }

  Endpoint egress(NatBox& nat, SimHost& inside, const Endpoint& to) {
    const Endpoint dest_key = nat.kind == Nat::cone ? Endpoint{} : to;
    auto [it, fresh] = nat.mappings.try_emplace({inside.address, dest_key}, nat.next_port);
    if (fresh) nat.ports[nat.next_port++] = NatBox::Port{&inside, {}};
    nat.ports[it->second].allowed.insert(to);
    return nat.public_ip.with_port(it->second);
  }

  SimHost* ingress(const Endpoint& to, const Endpoint& from) {
    for (NatBox& nat : nats_) {
      if (nat.public_ip.with_port(0) != to.with_port(0)) continue;
      auto p = nat.ports.find(to.port());
      if (p == nat.ports.end() || p->second.allowed.count(from) == 0) {
        ++stats_.filtered;
        return nullptr;
      }
      return p->second.inside;
    }
    SimHost* h = host_at(to);
    if (h == nullptr || h->site >= 0) {
      ++stats_.unroutable;  // nobody there, or a private address of another site
      return nullptr;
    }
    return h;
  }

  void pump_all() {
    for (const auto& h : hosts_) h->pump(now_);
  }

  Instant now_;
  std::uint64_t seq_ = 0;
  std::vector<std::unique_ptr<SimHost>> hosts_;
  std::vector<NatBox> nats_;
  std::map<PublicKey, Candidates> directory_;
  std::set<std::pair<const SimHost*, const SimHost*>> blocked_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> arrivals_;
  Stats stats_;
};

// ---- SimNode: the transport glue ---------------------------------------------------------

inline void SimHost::send(const Endpoint& to, Bytes bytes) {
  sim_.transmit(*this, to, std::move(bytes));
}

inline void SimNode::dial(const PublicKey& peer, Instant now) {
  PeerPath& p = path(peer);
  if (local_directory != nullptr) {
    auto it = local_directory->find(peer);
    if (it != local_directory->end()) p.on_local_candidates(it->second, now);
  }
  if (client.relay_count() > 0) (void)client.lookup(peer, now);
}

inline void SimNode::on_packet(const Endpoint& from, std::span<const std::uint8_t> bytes,
                               Instant now) {
  auto e = open_envelope(bytes);
  if (!e) return;
  if (!client.is_relay(e->sender)) {
    from_peer(e->sender, *e, from, std::nullopt, now);
    return;
  }
  if (e->kind != EnvelopeKind::control) return;
  auto m = decode_message(e->body);
  if (!m) return;
  if (const auto* f = std::get_if<Forwarded>(&*m)) {
    // The inner envelope stands for the end-to-end session datagram: its sender must be
    // who the relay says (a real session would refuse anything else).
    auto inner = open_envelope(f->packet);
    if (inner && inner->sender == f->from) from_peer(f->from, *inner, from, e->sender, now);
    return;
  }
  client.on_message(e->sender, *m, now);
}

inline void SimNode::from_peer(const PublicKey& peer, const Envelope& e, const Endpoint& from,
                               std::optional<PublicKey> via, Instant now) {
  PeerPath& p = path(peer);
  if (via) {
    p.on_relayed_packet(*via, now);
  }
  if (e.kind == EnvelopeKind::data) {
    if (!via) p.on_direct_packet(from, now);
    received.push_back({read_u64(e.body), via.has_value(), via.value_or(PublicKey{}), from, now});
    return;
  }
  auto m = decode_message(e.body);
  if (!m || via || punching_disabled) return;  // probes count only straight from the peer
  if (const auto* probe = std::get_if<Probe>(&*m)) p.on_probe(from, *probe, now);
  if (const auto* ack = std::get_if<ProbeAck>(&*m)) p.on_probe_ack(from, *ack, now);
}

inline void SimNode::on_timeout(Instant now) {
  if (client.next_deadline() <= now) client.on_timeout(now);
  for (auto& [peer, p] : paths) {
    if (p.next_deadline() <= now) p.on_timeout(now);
  }
  if (next_stream_ && *next_stream_ <= now) {
    send_data(*stream_peer_, ++sent);
    *next_stream_ = now + stream_interval_;
  }
}

inline void SimNode::send_data(const PublicKey& peer, std::uint64_t seq) {
  const Bytes data = envelope(key, EnvelopeKind::data, u64_bytes(seq));
  const PeerPath& p = path(peer);
  switch (p.route().kind) {
    case Route::Kind::direct: send(p.route().endpoint, data); return;
    case Route::Kind::relayed:
      if (const RelayInfo* r = relay_info(p.route().relay)) {
        send_control(r->endpoint, encode(OverlayMessage{Forward{peer, data}}));
        return;
      }
      break;
    case Route::Kind::none:
      if (!p.candidates().empty() && client.relay_count() == 0) {
        for (const Endpoint& c : p.candidates()) send(c, data);
        return;
      }
      break;
  }
  ++unsent;
}

inline void SimNode::on_client_event(const RelayClientEvent& e, Instant now) {
  using Kind = RelayClientEvent::Kind;
  switch (e.kind) {
    case Kind::lookup_done: path(e.peer).on_lookup_result(e.relay, e.candidates, now); break;
    case Kind::lookup_failed:
      if (has_path(e.peer)) path(e.peer).on_lookup_failed(now);
      break;
    case Kind::punch:
      path(e.peer).on_punch_notify(e.relay, PunchNotify{e.peer, e.nonce, e.candidates}, now);
      break;
    case Kind::relay_lost:
      for (auto& [peer, p] : paths) p.on_relay_lost(e.relay, now);
      break;
    case Kind::peer_gone:
      if (has_path(e.peer)) path(e.peer).on_relay_lost(e.relay, now);
      break;
    case Kind::registered:
    case Kind::observed_changed:
    case Kind::relay_forgot: break;
  }
  client_log.push_back(e);
}

inline void SimNode::pump(Instant now) {
  for (bool busy = true; busy;) {
    busy = false;
    while (auto o = client.poll_transmit()) {
      busy = true;
      send_control(o->endpoint, o->message);
    }
    while (auto e = client.poll_event()) {
      busy = true;
      on_client_event(*e, now);
    }
    for (auto& [peer, p] : paths) {
      while (auto o = p.poll_output()) {
        busy = true;
        switch (o->kind) {
          case PathOutput::Kind::probe:
            if (!punching_disabled) send_control(o->endpoint, o->message);
            break;
          case PathOutput::Kind::to_relay:
            if (const RelayInfo* r = relay_info(o->relay)) send_control(r->endpoint, o->message);
            break;
          case PathOutput::Kind::lookup: (void)client.lookup(peer, now); break;
        }
      }
      while (auto e = p.poll_event()) path_log.emplace_back(peer, *e);
    }
  }
}

}  // namespace peermq::overlay::test
