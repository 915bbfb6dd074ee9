#include "sim/sim_random.hpp"

#include <doctest/doctest.h>

#include <sodium.h>

#include <array>
#include <stdexcept>
#include <string>

#include <peermq/identity.hpp>

using namespace std::chrono_literals;
using peermq::Identity;
using peermq::sim::SimPrng;
using peermq::sim::SimRandom;

namespace {

std::array<unsigned char, 32> crypto_bytes() {
  std::array<unsigned char, 32> b{};
  randombytes_buf(b.data(), b.size());
  return b;
}

}  // namespace

TEST_CASE("sim random replays libsodium's draws from the seed, keys included") {
  std::array<unsigned char, 32> first{};
  peermq::PublicKey key{};
  {
    SimRandom r(42);
    first = crypto_bytes();
    key = Identity::generate().public_key();
    CHECK(r.crypto_bytes_drawn() >= 64);
  }
  {
    SimRandom r(42);
    CHECK(crypto_bytes() == first);
    CHECK(Identity::generate().public_key() == key);
  }
  {
    SimRandom r(43);
    CHECK(crypto_bytes() != first);
  }
}

TEST_CASE("sim random keeps the network's draws apart from libsodium's") {
  std::uint64_t quiet = 0;
  std::uint64_t busy = 0;
  {
    SimRandom r(7);
    quiet = r.network().next();
  }
  {
    SimRandom r(7);
    (void)crypto_bytes();  // a code change that draws one more key
    busy = r.network().next();
  }
  CHECK(quiet == busy);
  SimRandom r(7);
  CHECK(r.derive("traffic").next() == r.derive("traffic").next());
  CHECK(r.derive("traffic").next() != r.derive("disk").next());
  CHECK(r.derive("traffic").next() != r.network().next());
}

TEST_CASE("sim random puts the system's source back and allows one at a time") {
  {
    SimRandom r(1);
    CHECK(std::string(randombytes_implementation_name()) == "peermq-sim-chacha20");
    CHECK_THROWS_AS(SimRandom(2), std::logic_error);
  }
  CHECK(std::string(randombytes_implementation_name()) != "peermq-sim-chacha20");
}

TEST_CASE("sim prng draws stay in range and are the same for the same seed") {
  SimPrng a(99);
  SimPrng b(99);
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t x = a.below(7);
    CHECK(x < 7);
    CHECK(x == b.below(7));
    const auto d = a.up_to(5ms);
    CHECK(d >= 0ms);
    CHECK(d <= 5ms);
    (void)b.up_to(5ms);
  }
  CHECK(a.below(0) == 0);
  CHECK_FALSE(a.chance(0));
  CHECK(a.chance(100));
  int hits = 0;
  for (int i = 0; i < 10000; ++i) hits += a.chance(30);
  CHECK(hits > 2700);
  CHECK(hits < 3300);
}
