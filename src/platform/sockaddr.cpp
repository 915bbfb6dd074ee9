#include "platform/sockaddr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

namespace peermq::platform {

std::optional<Endpoint> from_sockaddr(const sockaddr* address) noexcept {
  // memcpy, not a cast: the kernel's buffer need not be aligned for sockaddr_in6.
  if (address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    std::array<std::uint8_t, 4> bytes{};
    std::memcpy(bytes.data(), &in.sin_addr, 4);
    return Endpoint::v4(bytes, ntohs(in.sin_port));
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &in6.sin6_addr, 16);
    return Endpoint::v6(bytes, ntohs(in6.sin6_port), in6.sin6_scope_id);
  }
  return std::nullopt;
}

socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& out, bool v4_mapped) noexcept {
  std::memset(&out, 0, sizeof out);
  if (e.is_v4() && !v4_mapped) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(e.port());
    std::memcpy(&in.sin_addr, e.address().data(), 4);
    std::memcpy(&out, &in, sizeof in);
    return sizeof in;
  }
  if (e.family() == Endpoint::Family::none) return 0;
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(e.port());
  in6.sin6_scope_id = e.scope_id();
  if (e.is_v4()) {
    const auto mapped = e.ip16();
    std::memcpy(&in6.sin6_addr, mapped.data(), mapped.size());
  } else {
    std::memcpy(&in6.sin6_addr, e.address().data(), 16);
  }
  std::memcpy(&out, &in6, sizeof in6);
  return sizeof in6;
}

}  // namespace peermq::platform
