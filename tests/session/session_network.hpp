// Test harness: SessionEndpoints that talk over a perfect, instant virtual network.
//
// Each node has an address; pump() moves every queued datagram to the node it is meant
// for (by peer key, or by the `to` address of a reply) until the network is quiet, and
// records every datagram in `wire`. A tap may modify or swallow datagrams in flight.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/identity.hpp>

#include "session/session_endpoint.hpp"
#include "support/manual_clock.hpp"

namespace peermq::session::test {

struct Node {
  Node(const SessionConfig& config, Instant now, Endpoint where)
      : id(Identity::generate()),
        endpoint(id, config, now, ManualClock::kDefaultWall),
        address(where) {}
  Identity id;
  SessionEndpoint endpoint;
  Endpoint address;
  std::vector<SessionEvent> events;

  const PublicKey& key() const { return id.public_key(); }
  std::size_t count(SessionEvent::Kind kind) const {
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [&](const SessionEvent& e) { return e.kind == kind; }));
  }
  std::vector<std::vector<std::uint8_t>> delivered() const {
    std::vector<std::vector<std::uint8_t>> out;
    for (const auto& e : events) {
      if (e.kind == SessionEvent::Kind::delivered) out.push_back(e.data);
    }
    return out;
  }
};

struct Sent {
  const Node* from;
  std::vector<std::uint8_t> bytes;
};

class Network {
 public:
  explicit Network(const SessionConfig& config = {}, std::size_t nodes = 2) {
    for (std::size_t i = 0; i < nodes; ++i) {
      const auto host = static_cast<std::uint8_t>(i + 1);
      nodes_.push_back(
          std::make_unique<Node>(config, now, Endpoint::v4({10, 0, 0, host}, 4000)));
    }
  }

  Node& node(std::size_t i) { return *nodes_[i]; }
  Node& a() { return node(0); }
  Node& b() { return node(1); }

  // Returns false to drop the datagram; may change its bytes.
  std::function<bool(const Node& from, const Node& to, std::vector<std::uint8_t>&)> tap;
  std::vector<Sent> wire;
  Instant now = ManualClock::kDefaultStart;

  void deliver(Node& to, std::span<const std::uint8_t> bytes, const Endpoint& from) {
    auto events = to.endpoint.on_datagram(bytes, from, now);
    to.events.insert(to.events.end(), events.begin(), events.end());
  }

  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto& from : nodes_) {
        while (auto d = from->endpoint.poll_transmit()) {
          moved = true;
          Node* to = destination(*d);
          wire.push_back({from.get(), d->bytes});
          if (to == nullptr) continue;
          if (tap && !tap(*from, *to, d->bytes)) continue;
          deliver(*to, d->bytes, from->address);
        }
      }
    }
  }

  // Moves time to `until`, firing every timer on the way.
  void run_until(Instant until) {
    for (;;) {
      Instant next = Instant::max();
      for (auto& n : nodes_) next = std::min(next, n->endpoint.next_deadline());
      if (next > until) break;
      now = std::max(now, next);
      for (auto& n : nodes_) {
        auto events = n->endpoint.on_timeout(now);
        n->events.insert(n->events.end(), events.begin(), events.end());
      }
      pump();
    }
    now = until;
  }
  void advance(Duration d) { run_until(now + d); }

 private:
  Node* destination(const Datagram& d) {
    for (auto& n : nodes_) {
      if (d.to && *d.to == n->address) return n.get();
      if (!d.to && d.peer && *d.peer == n->key()) return n.get();
    }
    return nullptr;
  }

  std::vector<std::unique_ptr<Node>> nodes_;
};

inline std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

}  // namespace peermq::session::test
