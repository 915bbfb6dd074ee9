#include "platform/relay_spec_parser.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <charconv>

#include "platform/sockaddr.hpp"
#include "wire/limits.hpp"

namespace peermq::platform {
namespace {

void say(std::string* detail, std::string text) {
  if (detail != nullptr) *detail = std::move(text);
}

// HOST:PORT where HOST is a name: resolved to its first UDP address.
Result<Endpoint> resolve(std::string_view text, std::string* detail) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    say(detail, "\"" + std::string(text) + "\" is not HOST:PORT");
    return RelaySpecError::bad_endpoint;
  }
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    say(detail, "\"" + std::string(port_text) + "\" is not a port from 1 to 65535");
    return RelaySpecError::bad_endpoint;
  }
  const std::string host(text.substr(0, colon));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    say(detail, "cannot resolve \"" + host + "\": " + gai_strerror(rc));
    return RelaySpecError::unresolved;
  }
  std::optional<Endpoint> e;
  for (addrinfo* a = found; a != nullptr && !e; a = a->ai_next)
    e = from_sockaddr(a->ai_addr);
  freeaddrinfo(found);
  if (!e) {
    say(detail, "\"" + host + "\" has no IPv4 or IPv6 address");
    return RelaySpecError::unresolved;
  }
  return e->with_port(static_cast<std::uint16_t>(port));
}

}  // namespace

const char* describe(RelaySpecError e) {
  switch (e) {
    case RelaySpecError::empty: return "an empty relay in the list";
    case RelaySpecError::bad_address: return "the relay's address (before '@') is not valid";
    case RelaySpecError::bad_endpoint: return "the relay is not HOST:PORT or ADDR@HOST:PORT";
    case RelaySpecError::unresolved: return "the relay's host name does not resolve";
    case RelaySpecError::too_many: return "more relays than a node uses";
  }
  return "unknown relay error";
}

Result<RelaySpec> parse_relay_spec(std::string_view text, std::string* detail) {
  if (text.empty()) {
    say(detail, "an empty relay in the list");
    return RelaySpecError::empty;
  }
  RelaySpec spec;
  spec.text = std::string(text);
  std::string_view where = text;
  if (const auto at = text.find('@'); at != std::string_view::npos) {
    std::size_t pos = 0;
    auto address = Address::parse(text.substr(0, at), &pos);
    if (!address) {
      say(detail, "\"" + std::string(text.substr(0, at)) +
                      "\" is not a relay address: " + address.error().message());
      return RelaySpecError::bad_address;
    }
    spec.key = address->public_key();
    where = text.substr(at + 1);
  }
  if (auto numeric = Endpoint::parse(where)) {
    if (numeric->port() == 0) {
      say(detail, "the relay's port cannot be 0");
      return RelaySpecError::bad_endpoint;
    }
    spec.endpoint = *numeric;
    return spec;
  }
  if (!where.empty() && where.front() == '[') {
    say(detail, "\"" + std::string(where) + "\" is not [IPv6]:PORT");
    return RelaySpecError::bad_endpoint;
  }
  auto resolved = resolve(where, detail);
  if (!resolved) return resolved.error();
  spec.endpoint = *resolved;
  return spec;
}

Result<std::vector<RelaySpec>> parse_relay_specs(std::string_view text, std::string* detail) {
  std::vector<RelaySpec> out;
  if (text.empty()) return out;
  while (true) {
    const auto comma = text.find(',');
    auto spec = parse_relay_spec(text.substr(0, comma), detail);
    if (!spec) return spec.error();
    out.push_back(std::move(*spec));
    if (out.size() > limits::kMaxRelays) {
      say(detail, "at most " + std::to_string(limits::kMaxRelays) + " relays");
      return RelaySpecError::too_many;
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace peermq::platform
