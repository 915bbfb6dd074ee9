// Endpoint: an IPv4 or IPv6 address and a UDP port, the "where" of every datagram. The one
// endpoint type of every layer: the session layer binds cookies and rate limits to it, the
// overlay puts it on the wire as a candidate, the platform turns it into a sockaddr
// (platform/sockaddr.hpp), the simulator addresses its hosts with it.
//
// A plain 24-byte value: cheap to copy, compare and hash, built per received datagram
// without allocating. Text forms are "192.0.2.1:9000" and "[2001:db8::1]:9000" (an IPv6
// zone, if any, as a number: "[fe80::1%2]:9000"); parse() takes numeric addresses only,
// because resolving names is a blocking, fallible job for the caller, not for a value type.
//
// IPv4-mapped IPv6 addresses (::ffff:192.0.2.1, what a dual-stack socket reports for an
// IPv4 peer) are stored as the IPv4 address, so a peer has one Endpoint whichever socket
// saw it; a socket bound to IPv6 maps them back when sending.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <peermq/result.hpp>

namespace peermq {

enum class EndpointError {
  missing_port = 1,       // "192.0.2.1" or "[::1]" or "192.0.2.1:"
  bad_port,               // not a decimal number from 0 to 65535
  bad_address,            // not a numeric IPv4/IPv6 address (or a host name)
  ipv6_without_brackets,  // "::1:9000" is ambiguous
};
const char* describe(EndpointError e);
inline const char* category_name(EndpointError) {
  return "peermq.wire.endpoint";
}
PEERMQ_ERROR_ENUM(EndpointError)

class Endpoint {
 public:
  enum class Family : std::uint8_t { none, v4, v6 };

  // Family::none: an Endpoint that names nothing (a default for "not yet known").
  Endpoint() = default;
  // Address bytes in network order.
  static Endpoint v4(std::array<std::uint8_t, 4> address, std::uint16_t port) noexcept;
  static Endpoint v6(const std::array<std::uint8_t, 16>& address, std::uint16_t port,
                     std::uint32_t scope_id = 0) noexcept;

  // A WebSocket connection, as the node at either end of it names it: an IPv6 address in
  // the discard-only prefix 100::/64 (RFC 6666), which no UDP peer can have, with the
  // connection's number in the low 64 bits, and port 0. The transport that owns the
  // connection delivers what is sent to it; a UDP socket drops it; it is never a
  // candidate another peer could punch to.
  static Endpoint web(std::uint64_t connection) noexcept;
  bool is_web() const noexcept;
  // The connection number of a web endpoint (0 for any other).
  std::uint64_t web_connection() const noexcept;

  static Result<Endpoint> parse(std::string_view text);

  std::string to_string() const;

  Family family() const noexcept { return family_; }
  bool is_v4() const noexcept { return family_ == Family::v4; }
  bool is_v6() const noexcept { return family_ == Family::v6; }
  std::uint16_t port() const noexcept { return port_; }
  std::uint32_t scope_id() const noexcept { return scope_id_; }
  // 4 or 16 bytes in network order; empty for Family::none.
  std::span<const std::uint8_t> address() const noexcept {
    return {address_.data(), family_ == Family::v4 ? 4u : family_ == Family::v6 ? 16u : 0u};
  }
  // The address as 16 bytes, IPv4 as ::ffff:a.b.c.d (all zero for Family::none): the form
  // on the wire and in cookie and rate-limit keys, one layout for both families.
  std::array<std::uint8_t, 16> ip16() const noexcept;
  // 0.0.0.0 or ::, or Family::none: not a place a datagram can be sent to.
  bool is_unspecified() const noexcept;
  Endpoint with_port(std::uint16_t port) const noexcept {
    Endpoint copy = *this;
    copy.port_ = port;
    return copy;
  }

  bool operator==(const Endpoint&) const noexcept = default;
  std::size_t hash() const noexcept;

 private:
  std::array<std::uint8_t, 16> address_{};  // unused bytes stay zero, so == and hash work
  std::uint32_t scope_id_ = 0;
  std::uint16_t port_ = 0;
  Family family_ = Family::none;
};

}  // namespace peermq

PEERMQ_ERROR_ENUM_STD(peermq::EndpointError)

template <>
struct std::hash<peermq::Endpoint> {
  std::size_t operator()(const peermq::Endpoint& e) const noexcept { return e.hash(); }
};
