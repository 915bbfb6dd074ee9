#include "node_role.hpp"

#include <algorithm>
#include <csignal>
#include <memory>
#include <ostream>
#include <sstream>

#include <peermq/network_options.hpp>

namespace peermq::cli {

void add_relay_flag(FlagSet& flags) {
  flags.add_string("relay", "",
                   "relays to register with and dial through, comma-separated: ADDR@HOST:PORT "
                   "authenticates the relay; HOST:PORT trusts the key it sends on first contact "
                   "(unauthenticated, like SSH's first connection; a wrong relay can delay or "
                   "drop traffic, never read or forge it). No relay: this host only",
                   "RELAY", "PEERMQ_RELAY");
  flags.check("relay", [](std::string_view value) -> std::optional<std::string> {
    std::string detail;
    if (parse_relays(value, &detail)) return std::nullopt;
    return detail + " (expected HOST:PORT or ADDR@HOST:PORT, comma-separated)";
  });
}

void add_key_and_listen_flags(FlagSet& flags, std::string default_key, std::string default_listen) {
  flags.add_string("key", std::move(default_key),
                   "identity key file, created with mode 0600 if missing", "FILE", "PEERMQ_KEY");
  flags.add_string("listen", std::move(default_listen),
                   "UDP address to listen on (port 0: any free port)", "IP:PORT", "PEERMQ_LISTEN");
  flags.check("listen", [](std::string_view value) -> std::optional<std::string> {
    if (check_listen(value)) return std::nullopt;
    return "expected IP:PORT, for example 0.0.0.0:7070 or [::1]:7070";
  });
}

void add_node_flags(FlagSet& flags, std::string default_key, std::string default_listen) {
  add_key_and_listen_flags(flags, std::move(default_key), std::move(default_listen));
  add_relay_flag(flags);
}

void add_web_flags(FlagSet& flags) {
  flags.add_string("web", "",
                   "also listen for browsers on this TCP address: the page, /peermq.json and "
                   "the WebSocket /peermq (port 0: any free port). Empty: no browsers",
                   "IP:PORT", "PEERMQ_WEB");
  flags.check("web", [](std::string_view value) -> std::optional<std::string> {
    if (value.empty() || check_listen(value)) return std::nullopt;
    return "expected IP:PORT, for example 127.0.0.1:8080 or 0.0.0.0:0";
  });
  flags.add_string("web-cert", "", "PEM certificate: serve https:// and wss:// (with -web-key)",
                   "FILE");
  flags.add_string("web-key", "", "PEM private key of -web-cert", "FILE");
  flags.add_string("web-root", "",
                   "directory of the page (default: the page installed with peermq)", "DIR");
}

std::optional<WebOptions> web_options(const FlagSet& flags, Io& io, std::string_view role) {
  WebOptions web;
  web.listen = flags.get_string("web");
  web.cert_file = flags.get_string("web-cert");
  web.key_file = flags.get_string("web-key");
  web.root = flags.get_string("web-root");
  std::string detail;
  if (!check_web(web, &detail)) {
    io.err << "peermq " << role << ": " << detail << '\n';
    return std::nullopt;
  }
  return web;
}

void print_web(Io& io, const std::string& url) {
  if (url.empty()) return;
  io.out << "web: " << url << '\n';
  io.out.flush();
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

std::optional<std::string> broker_address(const FlagSet& flags, Io& io, std::string_view role) {
  const std::string& text = flags.get_string("broker");
  if (text.empty()) {
    io.err << "peermq " << role
           << ": -broker=ADDR is required: start `peermq broker` and copy the address it prints\n";
    return std::nullopt;
  }
  return text;  // checked while parsing the flags
}

std::vector<std::string> relays(const FlagSet& flags) {
  if (!flags.is_set("relay")) return {};
  auto list = parse_relays(flags.get_string("relay"));  // checked while parsing the flags
  return list ? std::move(*list) : std::vector<std::string>{};
}

void print_address(Io& io, const Address& address) {
  io.out << "address: " << address.to_string() << '\n';
  io.out.flush();
}

void OutputFlusher::written() {
  if (io_.out_is_terminal) {
    io_.out.flush();
    return;
  }
  if (posted_) return;
  posted_ = true;
  loop_.post([this] {
    io_.out.flush();
    posted_ = false;
  });
}

void on_stop_signal(EventLoop& loop, std::function<void()> on_stop) {
  auto stopping = std::make_shared<bool>(false);
  auto once = [stopping, on_stop = std::move(on_stop)] {
    if (*stopping) return;
    *stopping = true;
    on_stop();
  };
  loop.on_signal(SIGINT, once);
  loop.on_signal(SIGTERM, once);
}

std::string printable(std::span<const std::uint8_t> bytes) {
  constexpr std::size_t kShown = 200;
  const auto shown = bytes.first(std::min(bytes.size(), kShown));
  const auto plain = [](std::uint8_t c) { return c >= 0x20 && c < 0x7f && c != '\\'; };
  std::string out;
  out.reserve(shown.size() + 16);
  // Runs of plain text go in whole (a consumer prints every message it takes).
  for (std::size_t i = 0; i < shown.size();) {
    std::size_t j = i;
    while (j < shown.size() && plain(shown[j])) ++j;
    out.append(reinterpret_cast<const char*>(shown.data() + i), j - i);
    if (j == shown.size()) break;
    static const char* hex = "0123456789abcdef";
    const auto c = shown[j];
    const char escaped[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
    out.append(escaped, 4);
    i = j + 1;
  }
  if (bytes.size() > kShown) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace peermq::cli
