#include "runtime/relay_node.hpp"

#include "runtime/log.hpp"

namespace peermq::runtime {

NodeOptions RelayNode::node_options(NodeOptions o) {
  o.relays.clear();
  o.announce = false;
  o.transport.answer_relay_key_requests = true;
  return o;
}

RelayNode::RelayNode(Loop& loop, Counters& counters, const Identity& identity,
                     RelayNodeOptions options)
    : loop_(loop),
      server_(options.server),
      node_(loop, counters, identity, node_options(std::move(options.node))),
      timer_(loop),
      metrics_{
          &counters.gauge("relay_registered_nodes", "Nodes registered with this relay."),
          &counters.counter("relay_forwarded_packets_total", "Datagrams forwarded between nodes."),
          &counters.counter("relay_forwarded_bytes_total", "Bytes of datagrams forwarded."),
          &counters.counter("relay_lookups_total", "Address lookups answered."),
          &counters.counter("relay_punches_total", "Hole punching rounds coordinated."),
      } {
  node_.on_relay_request([this](const PublicKey& from, const Endpoint& source,
                                const overlay::OverlayMessage& m) { on_request(from, source, m); });
}

Result<void> RelayNode::start(std::string* detail) {
  return node_.start(detail);
}

void RelayNode::stop() noexcept {
  timer_.stop();
  node_.stop();
}

void RelayNode::on_request(const PublicKey& from, const Endpoint& source,
                           const overlay::OverlayMessage& m) {
  server_.on_message(from, source, m, loop_.now());
  pump();
}

void RelayNode::on_timer() {
  armed_at_ = Instant::max();
  server_.on_timeout(loop_.now());
  pump();
}

void RelayNode::pump() {
  PeerTransport& t = node_.transport();
  while (auto o = server_.poll_transmit()) {
    const Endpoint to = o->endpoint;
    // Nearly always the endpoint the node's packets come from, which is its route here.
    if (t.endpoint_of(o->to) == to) {
      (void)t.send_overlay(o->to, o->message);
    } else {
      (void)t.send_overlay_to(o->to, to, o->message);
    }
  }
  const overlay::RelayServerStats& s = server_.stats();
  if (s.registrations != reported_.registrations) {
    PEERMQ_LOG(debug, "relay", "%llu new nodes registered (%zu in all)",
               static_cast<unsigned long long>(s.registrations - reported_.registrations),
               server_.registered_count());
  }
  metrics_.registered->set(static_cast<std::int64_t>(server_.registered_count()));
  metrics_.forwarded_packets->add(s.forwarded_packets - reported_.forwarded_packets);
  metrics_.forwarded_bytes->add(s.forwarded_bytes - reported_.forwarded_bytes);
  metrics_.lookups->add(s.lookups - reported_.lookups);
  metrics_.punches->add(s.punches - reported_.punches);
  reported_ = s;
  const Instant next = server_.next_deadline();
  if (next < armed_at_) {
    armed_at_ = next;
    timer_.start_at(next, [this] { on_timer(); });
  }
}

}  // namespace peermq::runtime
