// peermq ping: finds a node by address, through the local directory or the relays, and
// sends it pings (overlay ping/pong, answered by every node along its route to us).
//
// One line per answer:
//   reply seq=1 path=relayed endpoint=203.0.113.10:7070 rtt=1.52 ms
//   reply seq=2 path=direct endpoint=203.0.113.21:1024 rtt=0.31 ms
// (endpoint is where the path sends to: the relay, for a relayed path), `timeout seq=N` for a
// ping unanswered after -wait, and a last line `pings: S sent, R received, path=...`.
// Exits 0 when at least one ping was answered, 1 otherwise.
#include <chrono>
#include <cstdio>
#include <map>
#include <ostream>

#include "node_role.hpp"
#include "roles.hpp"
#include "runtime/log.hpp"
#include "runtime/timer.hpp"

namespace peermq::cli {

namespace {

// The path and the remote endpoint it sends to: the peer's for a direct path, the relay's
// for a relayed one.
std::string path_fields(const overlay::Host& host, const PublicKey& peer) {
  const overlay::Route route = host.route_of(peer);
  if (route.kind == overlay::Route::Kind::none) return "path=none";
  return std::string("path=") + overlay::name(route.kind) +
         " endpoint=" + host.remote_endpoint_of(peer).to_string();
}

}  // namespace

void define_ping_flags(FlagSet& flags) {
  flags.set_positional("ADDR", 1);
  flags.add_integer("count", 0, 0, 1'000'000'000, "pings to send; 0: until interrupted", "N");
  flags.add_integer("interval", 1000, 10, 3'600'000, "milliseconds between two pings", "MS");
  flags.add_integer("wait", 10, 1, 3600, "seconds to wait for a path to ADDR, and for each answer",
                    "SECONDS");
  add_node_flags(flags, "", "0.0.0.0:0");
  add_common_flags(flags);
}

int run_ping(const FlagSet& flags, Io& io) {
  if (flags.positional().empty()) {
    io.err << "peermq ping: which node? give its address: peermq ping ADDR\n";
    return kExitUsage;
  }
  const std::string& text = flags.positional().front();
  std::size_t pos = 0;
  auto address = Address::parse(text, &pos);
  if (!address) {
    io.err << "peermq ping: " << Address::explain(text, address.error(), pos) << '\n';
    return kExitUsage;
  }
  const PublicKey peer = address->public_key();
  const std::string key_file = flags.get_string("key");
  std::optional<Identity> identity;
  if (key_file.empty()) {
    identity = Identity::generate();
  } else if (!(identity = load_identity(key_file, io, "ping"))) {
    return kExitFailure;
  }
  const auto count = static_cast<std::uint64_t>(flags.get_integer("count"));
  const auto interval = std::chrono::milliseconds(flags.get_integer("interval"));
  const auto wait = std::chrono::seconds(flags.get_integer("wait"));

  runtime::Loop loop;
  Counters counters;
  runtime::NodeOptions options = node_options(flags);
  options.host.router.announce = false;  // nobody dials a ping
  runtime::Node node(loop, counters, *identity, options);
  std::string detail;
  if (!node.start(&detail)) {
    io.err << "peermq ping: " << detail << '\n';
    return kExitFailure;
  }
  if (auto dialed = node.host().dial(peer, &detail); !dialed) {
    PEERMQ_LOG(info, "ping", "%s not found yet (%s); waiting for it", text.c_str(),
               dialed.error().message().c_str());
  }

  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::map<std::uint64_t, Instant> outstanding;  // seq -> sent at
  bool finished = false;
  int exit_code = kExitOk;
  auto finish = [&] {
    if (finished) return;
    finished = true;
    exit_code = received > 0 ? kExitOk : kExitFailure;
    io.out << "pings: " << sent << " sent, " << received << " received, " << path_fields(node.host(), peer)
           << '\n';
    io.out.flush();
  };
  auto all_done = [&] { return count != 0 && sent >= count && outstanding.empty(); };

  node.host().on_pong([&](const PublicKey& from, std::uint64_t seq) {
    auto it = outstanding.find(seq);
    if (from != peer || it == outstanding.end()) return;
    const double ms = std::chrono::duration<double, std::milli>(loop.now() - it->second).count();
    outstanding.erase(it);
    ++received;
    char rtt[32];
    std::snprintf(rtt, sizeof rtt, "%.3f", ms);
    io.out << "reply seq=" << seq << ' ' << path_fields(node.host(), peer) << " rtt=" << rtt << " ms\n";
    io.out.flush();
    if (all_done()) finish();
  });

  runtime::Timer tick(loop);
  const Instant started = loop.now();
  Instant next_ping = started;
  bool waiting_logged = false;
  tick.start(Duration::zero(), std::chrono::milliseconds(10), [&] {
    const Instant now = loop.now();
    for (auto it = outstanding.begin(); it != outstanding.end();) {
      if (now - it->second < wait) {
        ++it;
        continue;
      }
      io.out << "timeout seq=" << it->first << '\n';
      it = outstanding.erase(it);
    }
    if (all_done()) return finish();
    if (node.host().route_of(peer).kind == overlay::Route::Kind::none) {
      if (sent == 0 && now - started >= wait) {
        io.err << "peermq ping: no path to " << text << " after " << wait.count() << " s\n";
        return finish();
      }
      if (!waiting_logged) PEERMQ_LOG(debug, "ping", "waiting for a path");
      waiting_logged = true;
      return;
    }
    if (count != 0 && sent >= count) return;
    // The first ping goes as soon as a route exists, the next ones every -interval.
    if (sent > 0 && now < next_ping) return;
    next_ping = now + interval;
    ++sent;
    outstanding[sent] = now;
    if (auto r = node.host().ping(peer, sent); !r) {
      PEERMQ_LOG(debug, "ping", "ping %llu not sent: %s", static_cast<unsigned long long>(sent),
                 r.error().message().c_str());
    }
  });

  run_until_done(loop, finish, [&] { return finished; });
  node.stop();
  return exit_code;
}

}  // namespace peermq::cli
