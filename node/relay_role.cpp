// peermq relay: registers nodes, answers "where is ADDR", coordinates hole punching and
// forwards the encrypted datagrams of nodes that cannot reach each other directly.
//
// Prints `address: ADDR` first (as the broker does), then serves until SIGINT/SIGTERM.
// Nodes name it -relay=ADDR@HOST:PORT (authenticated) or -relay=HOST:PORT (its key is
// learned on first contact). Give it -key=FILE so it keeps its address across restarts:
// nodes that pinned its key would not accept a new one.
#include <ostream>

#include "node_role.hpp"
#include "roles.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"

namespace peermq::cli {

void define_relay_flags(FlagSet& flags) {
  add_key_and_listen_flags(flags, "", "0.0.0.0:7070");
  add_common_flags(flags);
}

int run_relay(const FlagSet& flags, Io& io) {
  const std::string key_file = flags.get_string("key");
  std::optional<Identity> identity;
  if (key_file.empty()) {
    identity = Identity::generate();
    PEERMQ_LOG(warn, "relay",
               "no -key=FILE: this relay has a new address every run, and nodes that learned "
               "the previous one will not accept it");
  } else if (!(identity = load_identity(key_file, io, "relay"))) {
    return kExitFailure;
  }
  io.out << "address: " << identity->address().to_string() << '\n';
  io.out.flush();

  runtime::Loop loop;
  Counters counters;
  runtime::NodeOptions options = node_options(flags);
  options.host.relay = true;
  runtime::Node relay(loop, counters, *identity, options);
  std::string detail;
  if (!relay.start(&detail)) {
    io.err << "peermq relay: " << detail << '\n';
    return kExitFailure;
  }
  PEERMQ_LOG(info, "relay", "listening on %s: nodes use -relay=%s@HOST:%u",
             relay.local_endpoint().to_string().c_str(), identity->address().to_string().c_str(),
             static_cast<unsigned>(relay.local_endpoint().port()));
  bool stopping = false;
  run_until_done(
      loop, [&] { stopping = true; }, [&] { return stopping; });
  const overlay::RelayServer& server = *relay.host().relay_server();
  const auto& s = server.stats();
  PEERMQ_LOG(
      info, "relay",
      "stopping: %zu nodes registered, %llu datagrams forwarded, %llu lookups, %llu punches",
      server.registered_count(), static_cast<unsigned long long>(s.forwarded_packets),
      static_cast<unsigned long long>(s.lookups), static_cast<unsigned long long>(s.punches));
  for (std::size_t i = 1; i < s.drops.size(); ++i) {
    if (s.drops[i] == 0) continue;
    PEERMQ_LOG(info, "relay", "dropped %llu messages: %s",
               static_cast<unsigned long long>(s.drops[i]),
               make_error_code(static_cast<overlay::OverlayError>(i)).message().c_str());
  }
  relay.stop();
  return kExitOk;
}

}  // namespace peermq::cli
