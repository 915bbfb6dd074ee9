// SourceAddress: the UDP endpoint a datagram came from, as opaque bytes.
//
// The session layer never sends anything itself; it only needs the source to bind DoS
// cookies to it, to rate-limit per IP, and to tell the caller where to send a reply.
// IPv4 is carried as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so one layout serves
// both. A plain value: copyable and comparable.
#pragma once

#include <array>
#include <cstdint>

namespace peermq::session {

struct SourceAddress {
  std::array<std::uint8_t, 16> ip{};
  std::uint16_t port = 0;

  static SourceAddress ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                            std::uint16_t port) {
    SourceAddress s;
    s.ip[10] = 0xff;
    s.ip[11] = 0xff;
    s.ip[12] = a;
    s.ip[13] = b;
    s.ip[14] = c;
    s.ip[15] = d;
    s.port = port;
    return s;
  }

  friend bool operator==(const SourceAddress&, const SourceAddress&) = default;
};

}  // namespace peermq::session
