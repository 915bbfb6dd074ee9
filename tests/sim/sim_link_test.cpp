#include "sim/sim_link.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace std::chrono_literals;
using namespace peermq::sim;

TEST_CASE("link drops datagrams larger than its mtu and keeps those that fit") {
  SimPrng prng(1);
  LinkOptions o;
  o.mtu = 1200;
  CHECK(cross(o, 1201, prng).outcome == LinkFate::Outcome::too_big);
  const LinkFate fits = cross(o, 1200, prng);
  REQUIRE(fits.outcome == LinkFate::Outcome::passed);
  REQUIRE(fits.copies.size() == 1);
  CHECK(fits.copies[0].delay == o.delay);
  CHECK_FALSE(fits.copies[0].corrupt);
}

TEST_CASE("link loss, duplication and jitter happen at the rates their options give") {
  SimPrng prng(2);
  LinkOptions o;
  o.delay = 10ms;
  o.jitter = 4ms;
  o.loss_percent = 20;
  o.duplicate_percent = 10;
  int lost = 0, doubled = 0;
  for (int i = 0; i < 10000; ++i) {
    const LinkFate f = cross(o, 100, prng);
    if (f.outcome == LinkFate::Outcome::lost) {
      ++lost;
      CHECK(f.copies.empty());
      continue;
    }
    doubled += f.copies.size() == 2;
    for (const LinkCopy& c : f.copies) {
      CHECK(c.delay >= 10ms);
      CHECK(c.delay <= 10ms + 4ms + o.reorder_delay);
    }
    CHECK(f.copies[0].delay <= 14ms);  // no reordering asked for
  }
  CHECK(lost > 1800);
  CHECK(lost < 2200);
  CHECK(doubled > 650);  // 10% of the 80% that passed
  CHECK(doubled < 950);
}

TEST_CASE("link reordering holds a datagram back by up to the reorder delay") {
  SimPrng prng(3);
  LinkOptions o;
  o.reorder_percent = 100;
  o.reorder_delay = 30ms;
  bool later = false;
  for (int i = 0; i < 100; ++i) {
    const LinkFate f = cross(o, 10, prng);
    CHECK(f.reordered);
    CHECK(f.copies[0].delay <= o.delay + 30ms);
    later = later || f.copies[0].delay > o.delay;
  }
  CHECK(later);
}

TEST_CASE("corrupting a datagram changes exactly one byte") {
  SimPrng prng(4);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> bytes(64, 0x5a);
    corrupt(bytes, prng);
    int changed = 0;
    for (const auto b : bytes) changed += b != 0x5a;
    CHECK(changed == 1);
  }
  std::vector<std::uint8_t> empty;
  corrupt(empty, prng);
  CHECK(empty.empty());
}
