// Small helpers shared by the overlay tests: keys and endpoints by number.
#pragma once

#include <cstdint>
#include <vector>

#include <peermq/address.hpp>

#include "overlay/overlay_message.hpp"

namespace peermq::overlay::test {

// A stand-in public key: the cores under test never do crypto with it.
inline PublicKey key(std::uint8_t n) {
  PublicKey k{};
  k.fill(n);
  return k;
}

inline Endpoint ep(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                        std::uint16_t port) {
  return Endpoint::v4({a, b, c, d}, port);
}

using Bytes = std::vector<std::uint8_t>;

}  // namespace peermq::overlay::test
