#include "mq/crc32c.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

using peermq::mq::crc32c;
using peermq::mq::crc32c_hardware;
using peermq::mq::crc32c_portable;
using peermq::mq::crc32c_sse42;

namespace {

using Crc = std::function<std::uint32_t(std::span<const std::uint8_t>, std::uint32_t)>;

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The implementations under test; the SSE4.2 one only where this CPU can run it.
std::vector<std::pair<const char*, Crc>> implementations() {
  std::vector<std::pair<const char*, Crc>> out{{"portable", crc32c_portable}, {"dispatch", crc32c}};
  if (crc32c_hardware()) out.emplace_back("sse4.2", crc32c_sse42);
  return out;
}

// RFC 3720 appendix B.4 vectors, plus the customary "123456789" check value.
void check_vectors(const Crc& crc) {
  std::array<std::uint8_t, 32> buf{};
  CHECK(crc(buf, 0) == 0x8A9136AAu);
  buf.fill(0xFF);
  CHECK(crc(buf, 0) == 0x62A8AB43u);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::uint8_t>(i);
  CHECK(crc(buf, 0) == 0x46DD794Eu);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::uint8_t>(31 - i);
  CHECK(crc(buf, 0) == 0x113FDB5Cu);
  CHECK(crc(bytes("123456789"), 0) == 0xE3069283u);
  CHECK(crc({}, 0) == 0u);
}

}  // namespace

TEST_CASE("crc32c matches the RFC 3720 test vectors on every path") {
  const std::string path =
      crc32c_hardware() ? "available, tested" : "absent, only the table path tested";
  MESSAGE("SSE4.2 CRC32 instruction: " << path);
  for (const auto& [name, crc] : implementations()) {
    CAPTURE(name);
    check_vectors(crc);
  }
}

TEST_CASE("crc32c paths agree on every length and alignment") {
  std::mt19937_64 rng(7);
  std::vector<std::uint8_t> data(4096 + 16);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  for (std::size_t offset = 0; offset < 16; ++offset) {
    for (std::size_t len : {0u, 1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 63u, 64u, 100u, 1000u, 4096u}) {
      const std::span<const std::uint8_t> piece(data.data() + offset, len);
      CAPTURE(offset);
      CAPTURE(len);
      const std::uint32_t want = crc32c_portable(piece);
      CHECK(crc32c(piece) == want);
      if (crc32c_hardware()) CHECK(crc32c_sse42(piece) == want);
    }
  }
}

TEST_CASE("crc32c continues over split input as if it were one piece") {
  const auto whole = bytes("The quick brown fox jumps over the lazy dog, twice over.");
  for (const auto& [name, crc] : implementations()) {
    CAPTURE(name);
    for (std::size_t cut = 0; cut <= whole.size(); ++cut)
      CHECK(crc(whole.subspan(cut), crc(whole.first(cut), 0)) == crc(whole, 0));
  }
}

TEST_CASE("crc32c changes when any single bit of the input flips") {
  std::vector<std::uint8_t> data(64, 0x5A);
  const std::uint32_t clean = crc32c(data);
  for (std::size_t bit = 0; bit < data.size() * 8; ++bit) {
    data[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    CHECK(crc32c(data) != clean);
    data[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  }
}
