#include "wire/endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace peermq {

const char* describe(EndpointError e) {
  switch (e) {
    case EndpointError::missing_port:
      return "endpoint has no port: write it as IP:PORT, e.g. 192.0.2.1:9000 or [2001:db8::1]:9000";
    case EndpointError::bad_port:
      return "endpoint port is not a number from 0 to 65535: write it as IP:PORT, e.g. "
             "192.0.2.1:9000";
    case EndpointError::bad_address:
      return "endpoint address is not a numeric IPv4 or IPv6 address (host names are not "
             "resolved here): write e.g. 192.0.2.1:9000 or [2001:db8::1]:9000";
    case EndpointError::ipv6_without_brackets:
      return "IPv6 endpoint needs brackets around the address to tell it from the port: "
             "write e.g. [2001:db8::1]:9000";
  }
  return "unknown endpoint error";
}

namespace {

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
}

// Decimal only: no sign, no spaces, no hex; at most `max`.
std::optional<std::uint32_t> parse_number(std::string_view text, std::uint32_t max) {
  if (!all_digits(text) || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  if (value > max) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

Result<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty()) return EndpointError::missing_port;
  auto port = parse_number(text, 65535);
  if (!port) return EndpointError::bad_port;
  return static_cast<std::uint16_t>(*port);
}

// inet_pton wants a NUL-terminated string; no valid address is longer than this.
template <std::size_t N>
bool to_c_string(std::string_view text, char (&out)[N]) {
  if (text.empty() || text.size() >= N) return false;
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  return true;
}

Result<Endpoint> parse_v6(std::string_view host, std::uint16_t port) {
  std::uint32_t scope = 0;
  if (auto percent = host.find('%'); percent != std::string_view::npos) {
    auto zone = parse_number(host.substr(percent + 1), UINT32_MAX);
    if (!zone) return EndpointError::bad_address;
    scope = *zone;
    host = host.substr(0, percent);
  }
  char text[INET6_ADDRSTRLEN];
  std::array<std::uint8_t, 16> bytes{};
  if (!to_c_string(host, text) || inet_pton(AF_INET6, text, bytes.data()) != 1)
    return EndpointError::bad_address;
  return Endpoint::v6(bytes, port, scope);
}

Result<Endpoint> parse_v4(std::string_view host, std::uint16_t port) {
  char text[INET_ADDRSTRLEN];
  std::array<std::uint8_t, 4> bytes{};
  if (!to_c_string(host, text) || inet_pton(AF_INET, text, bytes.data()) != 1)
    return EndpointError::bad_address;
  return Endpoint::v4(bytes, port);
}

}  // namespace

Endpoint Endpoint::v4(std::array<std::uint8_t, 4> address, std::uint16_t port) noexcept {
  Endpoint e;
  std::copy(address.begin(), address.end(), e.address_.begin());
  e.port_ = port;
  e.family_ = Family::v4;
  return e;
}

Endpoint Endpoint::v6(const std::array<std::uint8_t, 16>& address, std::uint16_t port,
                      std::uint32_t scope_id) noexcept {
  if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), address.begin()))
    return v4({address[12], address[13], address[14], address[15]}, port);
  Endpoint e;
  e.address_ = address;
  e.scope_id_ = scope_id;
  e.port_ = port;
  e.family_ = Family::v6;
  return e;
}

Result<Endpoint> Endpoint::parse(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return EndpointError::bad_address;
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return EndpointError::missing_port;
    if (rest.front() != ':') return EndpointError::bad_address;
    auto port = parse_port(rest.substr(1));
    if (!port) return port.error();
    return parse_v6(text.substr(1, close - 1), *port);
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return EndpointError::missing_port;
  std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) return EndpointError::ipv6_without_brackets;
  auto port = parse_port(text.substr(colon + 1));
  if (!port) return port.error();
  return parse_v4(host, *port);
}

std::array<std::uint8_t, 16> Endpoint::ip16() const noexcept {
  if (family_ != Family::v4) return address_;
  std::array<std::uint8_t, 16> out{};
  std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), out.begin());
  std::copy(address_.begin(), address_.begin() + 4, out.begin() + 12);
  return out;
}

Endpoint Endpoint::web(std::uint64_t connection) noexcept {
  std::array<std::uint8_t, 16> address{};
  address[0] = 0x01;  // 100::/64
  for (std::size_t i = 0; i < 8; ++i)
    address[15 - i] = static_cast<std::uint8_t>(connection >> (8 * i));
  return v6(address, 0);
}

bool Endpoint::is_web() const noexcept {
  return family_ == Family::v6 && address_[0] == 0x01 &&
         std::all_of(address_.begin() + 1, address_.begin() + 8,
                     [](std::uint8_t b) { return b == 0; });
}

std::uint64_t Endpoint::web_connection() const noexcept {
  if (!is_web()) return 0;
  std::uint64_t connection = 0;
  for (std::size_t i = 8; i < 16; ++i) connection = connection << 8 | address_[i];
  return connection;
}

bool Endpoint::is_unspecified() const noexcept {
  const auto a = address();
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

std::string Endpoint::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family_ == Family::none) return "(none)";
  if (family_ == Family::v4) {
    inet_ntop(AF_INET, address_.data(), text, sizeof text);
    return std::string(text) + ':' + std::to_string(port_);
  }
  inet_ntop(AF_INET6, address_.data(), text, sizeof text);
  std::string out = "[";
  out += text;
  if (scope_id_ != 0) out += '%' + std::to_string(scope_id_);
  return out + "]:" + std::to_string(port_);
}

std::size_t Endpoint::hash() const noexcept {
  // FNV-1a over every field: unused address bytes are zero, so equal values hash equally.
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::uint8_t byte) {
    h ^= byte;
    h *= 1099511628211ull;
  };
  for (std::uint8_t byte : address_) mix(byte);
  for (int shift = 0; shift < 32; shift += 8) mix(static_cast<std::uint8_t>(scope_id_ >> shift));
  mix(static_cast<std::uint8_t>(port_ >> 8));
  mix(static_cast<std::uint8_t>(port_));
  mix(static_cast<std::uint8_t>(family_));
  return static_cast<std::size_t>(h);
}

}  // namespace peermq
