// peermq relay: registers nodes, answers "where is ADDR", coordinates hole punching and
// forwards the encrypted datagrams of nodes that cannot reach each other directly.
//
// Prints `address: ADDR` first (as the broker does), then serves until SIGINT/SIGTERM.
// Nodes name it -relay=ADDR@HOST:PORT (authenticated) or -relay=HOST:PORT (its key is
// learned on first contact). Give it -key=FILE so it keeps its address across restarts:
// nodes that pinned its key would not accept a new one.
#include <ostream>
#include <string>

#include <peermq/relay.hpp>

#include "node_role.hpp"
#include "roles.hpp"

namespace peermq::cli {

namespace {

// "0.0.0.0:7070" -> "7070", "[::]:7070" -> "7070".
std::string port_of(const std::string& endpoint) {
  const auto colon = endpoint.rfind(':');
  return colon == std::string::npos ? endpoint : endpoint.substr(colon + 1);
}

}  // namespace

void define_relay_flags(FlagSet& flags) {
  add_key_and_listen_flags(flags, "", "0.0.0.0:7070");
  add_web_flags(flags);
  add_common_flags(flags);
}

int run_relay(const FlagSet& flags, Io& io) {
  RelayOptions options;
  options.key_file = flags.get_string("key");
  options.listen = flags.get_string("listen");
  auto web = web_options(flags, io, "relay");
  if (!web) return kExitUsage;
  options.web = std::move(*web);
  if (options.key_file.empty()) {
    PEERMQ_CLI_LOG(warn, "relay",
                   "no -key=FILE: this relay has a new address every run, and nodes that "
                   "learned the previous one will not accept it");
  }
  EventLoop loop;
  Relay relay(loop, std::move(options));
  std::string detail;
  auto address = relay.load_identity(&detail);
  if (!address) {
    io.err << "peermq relay: " << detail << '\n';
    return kExitFailure;
  }
  print_address(io, *address);

  if (auto started = relay.start(&detail); !started) {
    io.err << "peermq relay: " << detail << '\n';
    return kExitFailure;
  }
  print_web(io, relay.web_url());
  const std::string endpoint = relay.endpoint();
  PEERMQ_CLI_LOG(info, "relay", "listening on %s: nodes use -relay=%s@HOST:%s", endpoint.c_str(),
                 address->to_string().c_str(), port_of(endpoint).c_str());
  on_stop_signal(loop, [&] { relay.stop(); });
  if (auto ran = relay.run(&detail); !ran) {
    io.err << "peermq relay: " << (detail.empty() ? ran.error().message() : detail) << '\n';
    return kExitFailure;
  }
  const RelayStats s = relay.stats();
  PEERMQ_CLI_LOG(
      info, "relay",
      "stopping: %llu nodes registered, %llu datagrams forwarded, %llu lookups, %llu punches",
      static_cast<unsigned long long>(s.registered),
      static_cast<unsigned long long>(s.forwarded_packets),
      static_cast<unsigned long long>(s.lookups), static_cast<unsigned long long>(s.punches));
  for (const RelayStats::Drop& drop : s.drops) {
    PEERMQ_CLI_LOG(info, "relay", "dropped %llu messages: %s",
                   static_cast<unsigned long long>(drop.count), drop.reason.c_str());
  }
  return kExitOk;
}

}  // namespace peermq::cli
