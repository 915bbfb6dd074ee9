// Endpoint: an IPv4 or IPv6 address and a UDP port, the "where" of every datagram.
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

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <peermq/result.hpp>

namespace peermq::runtime {

enum class EndpointError {
  missing_port = 1,       // "192.0.2.1" or "[::1]" or "192.0.2.1:"
  bad_port,               // not a decimal number from 0 to 65535
  bad_address,            // not a numeric IPv4/IPv6 address (or a host name)
  ipv6_without_brackets,  // "::1:9000" is ambiguous
};
const char* describe(EndpointError e);
inline const char* category_name(EndpointError) {
  return "peermq.runtime.endpoint";
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

  static Result<Endpoint> parse(std::string_view text);
  // nullopt for families other than AF_INET/AF_INET6.
  static std::optional<Endpoint> from_sockaddr(const sockaddr* address) noexcept;
  static std::optional<Endpoint> from_sockaddr(const sockaddr_storage& address) noexcept {
    return from_sockaddr(reinterpret_cast<const sockaddr*>(&address));
  }
  // Fills `out` and returns the length to pass to the kernel (0 for Family::none). With
  // `v4_mapped`, an IPv4 endpoint is written as ::ffff:a.b.c.d for an AF_INET6 socket.
  socklen_t to_sockaddr(sockaddr_storage& out, bool v4_mapped = false) const noexcept;

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

}  // namespace peermq::runtime

PEERMQ_ERROR_ENUM_STD(peermq::runtime::EndpointError)

template <>
struct std::hash<peermq::runtime::Endpoint> {
  std::size_t operator()(const peermq::runtime::Endpoint& e) const noexcept { return e.hash(); }
};
