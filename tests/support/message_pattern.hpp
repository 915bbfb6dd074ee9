// Message contents a receiver can check without keeping a copy: bytes drawn from a PRNG
// seeded by (run seed, message index), so a message that is lost, duplicated, reordered or
// corrupted is caught on receipt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace peermq::test {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline void fill_pattern(std::span<std::uint8_t> out, std::uint64_t seed, std::uint64_t index) {
  std::uint64_t state = seed * 0x100000001b3ull ^ index;
  std::size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    const std::uint64_t v = splitmix64(state);
    std::memcpy(out.data() + i, &v, 8);
  }
  if (i < out.size()) {
    const std::uint64_t v = splitmix64(state);
    std::memcpy(out.data() + i, &v, out.size() - i);
  }
}

inline std::vector<std::uint8_t> make_pattern(std::size_t size, std::uint64_t seed,
                                              std::uint64_t index) {
  std::vector<std::uint8_t> v(size);
  fill_pattern(v, seed, index);
  return v;
}

inline bool matches_pattern(std::span<const std::uint8_t> data, std::uint64_t seed,
                            std::uint64_t index, std::vector<std::uint8_t>& scratch) {
  scratch.resize(data.size());
  fill_pattern(scratch, seed, index);
  return data.size() == 0 || std::memcmp(data.data(), scratch.data(), data.size()) == 0;
}

}  // namespace peermq::test
