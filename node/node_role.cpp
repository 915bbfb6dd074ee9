#include "node_role.hpp"

#include <csignal>
#include <ostream>

#include "wire/endpoint.hpp"
#include "runtime/relay_spec_parser.hpp"
#include "runtime/signal_watcher.hpp"

namespace peermq::cli {

void add_key_and_listen_flags(FlagSet& flags, std::string default_key, std::string default_listen) {
  flags.add_string("key", std::move(default_key),
                   "identity key file, created with mode 0600 if missing", "FILE", "PEERMQ_KEY");
  flags.add_string("listen", std::move(default_listen),
                   "UDP address to listen on (port 0: any free port)", "IP:PORT", "PEERMQ_LISTEN");
  flags.check("listen", [](std::string_view value) -> std::optional<std::string> {
    if (Endpoint::parse(value)) return std::nullopt;
    return "expected IP:PORT, for example 0.0.0.0:7070 or [::1]:7070";
  });
}

void add_node_flags(FlagSet& flags, std::string default_key, std::string default_listen) {
  add_key_and_listen_flags(flags, std::move(default_key), std::move(default_listen));
  flags.add_string("relay", "",
                   "relays to register with and dial through, comma-separated: ADDR@HOST:PORT "
                   "authenticates the relay; HOST:PORT trusts the key it sends on first contact "
                   "(unauthenticated, like SSH's first connection; a wrong relay can delay or "
                   "drop traffic, never read or forge it). No relay: this host only",
                   "RELAY", "PEERMQ_RELAY");
  flags.check("relay", [](std::string_view value) -> std::optional<std::string> {
    std::string detail;
    if (runtime::parse_relay_specs(value, &detail)) return std::nullopt;
    return detail + " (expected HOST:PORT or ADDR@HOST:PORT, comma-separated)";
  });
}

void add_broker_flag(FlagSet& flags) {
  flags.add_string("broker", "", "address of the broker, as it printed it", "ADDR",
                   "PEERMQ_BROKER");
  flags.check("broker", [](std::string_view value) -> std::optional<std::string> {
    auto a = Address::parse(value);
    if (a) return std::nullopt;
    return a.error().message() + " (copy the address the broker printed: 56 characters)";
  });
}

std::optional<Identity> load_identity(const std::string& path, Io& io, std::string_view role) {
  bool created = false;
  std::string detail;
  auto identity = load_or_create_key_file(path, &created, &detail);
  if (!identity) {
    io.err << "peermq " << role << ": " << detail << '\n';
    return std::nullopt;
  }
  return std::move(identity).value();
}

std::optional<PublicKey> broker_key(const FlagSet& flags, Io& io, std::string_view role) {
  const std::string& text = flags.get_string("broker");
  if (text.empty()) {
    io.err << "peermq " << role
           << ": -broker=ADDR is required: start `peermq broker` and copy the address it prints\n";
    return std::nullopt;
  }
  return Address::parse(text)->public_key();  // checked while parsing the flags
}

runtime::NodeOptions node_options(const FlagSet& flags) {
  runtime::NodeOptions o;
  o.listen = *Endpoint::parse(flags.get_string("listen"));
  if (flags.is_set("relay")) {
    auto relays = runtime::parse_relay_specs(flags.get_string("relay"));  // checked at parse
    if (relays) o.host.router.relays = std::move(*relays);
  }
  return o;
}

void run_until_done(runtime::Loop& loop, const std::function<void()>& on_stop,
                    const std::function<bool()>& done) {
  bool stopping = false;
  runtime::SignalWatcher signals(loop, [&](int) {
    if (stopping) return;
    stopping = true;
    on_stop();
  });
  (void)signals.watch(SIGINT);
  (void)signals.watch(SIGTERM);
  while (!done()) loop.run_once();
}

std::string printable(std::span<const std::uint8_t> bytes) {
  constexpr std::size_t kShown = 200;
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < kShown; ++i) {
    const auto c = bytes[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (bytes.size() > kShown) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace peermq::cli
