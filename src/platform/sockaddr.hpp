// The kernel's names for an Endpoint (sockaddr_in, sockaddr_in6), for the code that talks
// to sockets; everything above the platform deals in Endpoint only.
#pragma once

#include <sys/socket.h>

#include <optional>

#include "wire/endpoint.hpp"

namespace peermq::platform {

// nullopt for families other than AF_INET/AF_INET6.
std::optional<Endpoint> from_sockaddr(const sockaddr* address) noexcept;
inline std::optional<Endpoint> from_sockaddr(const sockaddr_storage& address) noexcept {
  return from_sockaddr(reinterpret_cast<const sockaddr*>(&address));
}
// Fills `out` (zeroed first, so equal endpoints are equal bytes) and returns the length
// to pass to the kernel (0 for Family::none). With `v4_mapped`, an IPv4 endpoint is
// written as ::ffff:a.b.c.d for an AF_INET6 socket.
socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& out, bool v4_mapped = false) noexcept;

}  // namespace peermq::platform
