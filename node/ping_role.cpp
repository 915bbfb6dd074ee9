// peermq ping: finds a node by address, through the local directory or the relays, and
// sends it pings (overlay ping/pong, peermq::Pinger).
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

#include <peermq/pinger.hpp>
#include <peermq/timer.hpp>

#include "node_role.hpp"
#include "roles.hpp"

namespace peermq::cli {

namespace {

// "path=none", or "path=direct endpoint=IP:PORT" (the relay's endpoint when relayed).
std::string path_fields(const Path& path) {
  if (path.kind == PathKind::none) return "path=none";
  return std::string("path=") + to_string(path.kind) + " endpoint=" + path.endpoint;
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
  auto target = Address::parse(text, &pos);
  if (!target) {
    io.err << "peermq ping: " << Address::explain(text, target.error(), pos) << '\n';
    return kExitUsage;
  }
  const auto count = static_cast<std::uint64_t>(flags.get_integer("count"));
  const auto interval = std::chrono::milliseconds(flags.get_integer("interval"));
  const auto wait = std::chrono::seconds(flags.get_integer("wait"));
  PingerOptions options;
  options.target = text;
  options.key_file = flags.get_string("key");  // empty: a fresh identity
  options.listen = flags.get_string("listen");
  options.relays = relays(flags);
  options.timeout = wait;

  EventLoop loop;
  Pinger pinger(loop, std::move(options));
  std::string detail;
  auto address = pinger.load_identity(&detail);
  if (!address) {
    io.err << "peermq ping: " << detail << '\n';
    return kExitFailure;
  }
  print_address(io, *address);
  if (auto started = pinger.start(&detail); !started) {
    io.err << "peermq ping: " << detail << '\n';
    return kExitFailure;
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
    io.out << "pings: " << sent << " sent, " << received << " received, "
           << path_fields(pinger.path()) << '\n';
    io.out.flush();
    loop.stop();
  };
  auto all_done = [&] { return count != 0 && sent >= count && outstanding.empty(); };

  pinger.on_reply([&](const PingReply& reply) {
    auto it = outstanding.find(reply.seq);
    if (finished || it == outstanding.end()) return;  // timed out already
    outstanding.erase(it);
    ++received;
    char rtt[32];
    std::snprintf(rtt, sizeof rtt, "%.3f",
                  std::chrono::duration<double, std::milli>(reply.rtt).count());
    io.out << "reply seq=" << reply.seq << ' ' << path_fields(reply.path) << " rtt=" << rtt
           << " ms\n";
    io.out.flush();
    if (all_done()) finish();
  });

  Timer tick(loop);
  const Instant started = loop.now();
  Instant next_ping = started;
  bool waiting_logged = false;
  tick.start(Duration::zero(), std::chrono::milliseconds(10), [&] {
    if (finished) return;
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
    if (pinger.path().kind == PathKind::none) {
      if (sent == 0 && now - started >= wait) {
        io.err << "peermq ping: no path to " << text << " after " << wait.count() << " s\n";
        return finish();
      }
      if (!waiting_logged) PEERMQ_CLI_LOG(debug, "ping", "waiting for a path");
      waiting_logged = true;
      return;
    }
    if (count != 0 && sent >= count) return;
    // The first ping goes as soon as a route exists, the next ones every -interval.
    if (sent > 0 && now < next_ping) return;
    next_ping = now + interval;
    ++sent;
    outstanding[sent] = now;
    if (auto r = pinger.ping(sent); !r) {
      PEERMQ_CLI_LOG(debug, "ping", "ping %llu not sent: %s", static_cast<unsigned long long>(sent),
                     r.error().message().c_str());
    }
  });

  on_stop_signal(loop, finish);
  if (auto ran = loop.run(); !ran) {
    io.err << "peermq ping: " << ran.error().message() << '\n';
    return kExitFailure;
  }
  pinger.stop();
  return exit_code;
}

}  // namespace peermq::cli
