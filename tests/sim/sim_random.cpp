#include "sim/sim_random.hpp"

#include <sodium.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include <peermq/identity.hpp>

namespace peermq::sim {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}

std::uint64_t fnv1a(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// libsodium's source while a SimRandom lives: ChaCha20 (IETF) keystream under a key
// derived from the seed, handed out in order.
struct CryptoStream {
  std::array<unsigned char, crypto_stream_chacha20_ietf_KEYBYTES> key{};
  std::array<unsigned char, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
  std::uint32_t block = 0;
  std::array<unsigned char, 1024> buffer{};
  std::size_t pos = 0;
  std::uint64_t drawn = 0;
  bool active = false;

  void reseed(std::uint64_t seed) {
    static constexpr char kTag[] = "peermq sim crypto stream";
    std::array<unsigned char, sizeof kTag - 1 + 8> input{};
    std::memcpy(input.data(), kTag, sizeof kTag - 1);
    for (std::size_t i = 0; i < 8; ++i) {
      input[sizeof kTag - 1 + i] = static_cast<unsigned char>(seed >> (8 * i));
    }
    crypto_generichash(key.data(), key.size(), input.data(), input.size(), nullptr, 0);
    nonce.fill(0);
    block = 0;
    pos = buffer.size();
    drawn = 0;
  }

  void refill() {
    static const std::array<unsigned char, 1024> zeros{};
    constexpr std::uint32_t blocks = 1024 / 64;
    crypto_stream_chacha20_ietf_xor_ic(buffer.data(), zeros.data(), zeros.size(), nonce.data(),
                                       block, key.data());
    if (block > UINT32_MAX - blocks) {
      // 256 GiB drawn under this nonce: move to the next one.
      for (auto& b : nonce) {
        if (++b != 0) break;
      }
      block = 0;
    } else {
      block += blocks;
    }
    pos = 0;
  }

  void fill(unsigned char* out, std::size_t size) {
    drawn += size;
    while (size > 0) {
      if (pos == buffer.size()) refill();
      const std::size_t n = std::min(size, buffer.size() - pos);
      std::memcpy(out, buffer.data() + pos, n);
      pos += n;
      out += n;
      size -= n;
    }
  }
};

CryptoStream g_stream;

const char* sim_name() {
  return "peermq-sim-chacha20";
}

void sim_buf(void* const out, const size_t size) {
  g_stream.fill(static_cast<unsigned char*>(out), size);
}

std::uint32_t sim_random() {
  std::uint32_t v = 0;
  sim_buf(&v, sizeof v);
  return v;
}

randombytes_implementation g_impl = {sim_name, sim_random, nullptr, nullptr, sim_buf, nullptr};

}  // namespace

// ---- SimPrng ---------------------------------------------------------------------------------

SimPrng::SimPrng(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t SimPrng::next() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::uint64_t SimPrng::below(std::uint64_t n) noexcept {
  if (n == 0) return 0;
  // Rejection keeps it exactly uniform: draws in the short last bucket are thrown away.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    const std::uint64_t v = next();
    if (v < limit) return v % n;
  }
}

bool SimPrng::chance(unsigned percent) noexcept {
  if (percent == 0) return false;
  if (percent >= 100) return true;
  return below(100) < percent;
}

Duration SimPrng::up_to(Duration max) noexcept {
  if (max <= Duration::zero()) return Duration::zero();
  return Duration(static_cast<Duration::rep>(below(static_cast<std::uint64_t>(max.count()) + 1)));
}

// ---- SimRandom -------------------------------------------------------------------------------

SimRandom::SimRandom(std::uint64_t seed) : seed_(seed), network_(seed ^ fnv1a("network")) {
  if (g_stream.active) {
    throw std::logic_error("a SimRandom is already installed as libsodium's random source");
  }
  crypto_init();
  g_stream.reseed(seed);
  g_stream.active = true;
  randombytes_set_implementation(&g_impl);
}

SimRandom::~SimRandom() {
  randombytes_set_implementation(&randombytes_sysrandom_implementation);
  g_stream.active = false;
}

SimPrng SimRandom::derive(std::string_view tag) const {
  return SimPrng(seed_ ^ fnv1a(tag));
}

std::uint64_t SimRandom::crypto_bytes_drawn() const noexcept {
  return g_stream.drawn;
}

}  // namespace peermq::sim
