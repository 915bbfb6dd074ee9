// SimRandom: every random choice of one simulated run, from one seed.
//
// Two kinds of randomness, kept apart so that one cannot shift the other:
// - libsodium's. While a SimRandom lives it is installed as libsodium's random source
//   (randombytes_set_implementation, as src/crypto/random.hpp says): a ChaCha20 keystream
//   keyed from the seed serves every randombytes call of the process (identity keys,
//   ephemeral keys, session indices, cookie secrets, handshake jitter, probe nonces), so
//   the crypto of a run replays exactly from its seed. Destroying the SimRandom puts the
//   system's source back.
// - the simulator's own: a SimPrng stream per purpose (derive(tag)): the network's losses,
//   delays and NAT ports from one, traffic sizes from another. A code change that adds a
//   randombytes call changes the keys, never which datagram the network drops; a scenario
//   that draws one more message size does not move the network's draws either.
//
// One SimRandom at a time per process (the libsodium source is global): a second one while
// the first lives is a programmer error (std::logic_error). Single-threaded, like the runs.
#pragma once

#include <cstdint>
#include <string_view>

#include <peermq/clock.hpp>

namespace peermq::sim {

// xoshiro256** seeded through splitmix64: small, fast, and the same numbers on every
// platform and standard library (std::uniform_int_distribution is not).
class SimPrng {
 public:
  explicit SimPrng(std::uint64_t seed);
  std::uint64_t next() noexcept;
  // Uniform in [0, n); 0 when n is 0.
  std::uint64_t below(std::uint64_t n) noexcept;
  // True with probability percent/100 (never for 0, always for 100 or more).
  bool chance(unsigned percent) noexcept;
  // Uniform in [0, max] at nanosecond resolution; zero for a zero or negative max.
  Duration up_to(Duration max) noexcept;

 private:
  std::uint64_t s_[4];
};

class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed);
  ~SimRandom();
  SimRandom(const SimRandom&) = delete;
  SimRandom& operator=(const SimRandom&) = delete;

  std::uint64_t seed() const noexcept { return seed_; }
  // The network's stream (losses, delays, duplicates, NAT ports).
  SimPrng& network() noexcept { return network_; }
  // A stream of its own for `tag`, the same for the same (seed, tag).
  SimPrng derive(std::string_view tag) const;
  // Bytes libsodium has drawn from this run's source so far.
  std::uint64_t crypto_bytes_drawn() const noexcept;

 private:
  std::uint64_t seed_;
  SimPrng network_;
};

}  // namespace peermq::sim
