// Where peermq's randomness comes from: libsodium's randombytes, for keys, nonces, session
// indices, cookie secrets, jitter and the host's probe nonces alike. It is injected the
// way libsodium means it to be: randombytes_set_implementation() replaces the source for
// the whole process. The real process keeps the system's CSPRNG; the simulator installs a
// seeded, deterministic source (tests/sim/sim_random.hpp: a ChaCha20 keystream keyed from
// the run's seed, reset for each run) so that a seed replays a run exactly, crypto
// included. Nothing here may draw randomness any other way, or a replay diverges.
#pragma once

#include <sodium.h>

#include <cstdint>

namespace peermq::crypto {

inline std::uint64_t random_u64() noexcept {
  std::uint64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return v;
}

}  // namespace peermq::crypto
