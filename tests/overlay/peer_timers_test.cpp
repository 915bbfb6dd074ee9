#include "overlay/peer_timers.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <random>
#include <vector>

using namespace peermq;
using namespace peermq::overlay;
using namespace std::chrono_literals;

namespace {

const Instant t0 = Instant{} + 1000s;

PublicKey key_of(unsigned i) {
  PublicKey key{};
  key[0] = static_cast<std::uint8_t>(i);
  key[1] = static_cast<std::uint8_t>(i >> 8);
  return key;
}

}  // namespace

TEST_CASE("peer timers hand out due peers earliest first, like a sorted map") {
  PeerTimers timers;
  std::map<PublicKey, Instant> model;  // deadlines set, Instant::max() never stored
  std::mt19937_64 rng(7);
  Instant now = t0;
  std::vector<PublicKey> due;
  for (int op = 0; op < 50'000; ++op) {
    const PublicKey peer = key_of(static_cast<unsigned>(rng() % 300));
    const auto roll = rng() % 10;
    if (roll < 6) {  // set or move a deadline, earlier or later
      const Instant at = now + std::chrono::milliseconds(rng() % 5000);
      timers.set(peer, at);
      model[peer] = at;
    } else if (roll < 8) {
      timers.set(peer, Instant::max());
      model.erase(peer);
    } else {
      now += std::chrono::milliseconds(rng() % 300);
      due.clear();
      timers.take_due(now, due);
      Instant last = Instant::min();
      for (const PublicKey& p : due) {
        REQUIRE(model.count(p) == 1);
        CHECK(model[p] <= now);
        CHECK(last <= model[p]);
        last = model[p];
        model.erase(p);
      }
      for (const auto& [p, at] : model) CHECK(at > now);  // nothing due was left behind
    }
    Instant earliest = Instant::max();
    for (const auto& [p, at] : model) earliest = std::min(earliest, at);
    REQUIRE(timers.next() == earliest);
    REQUIRE(timers.size() == model.size());
    REQUIRE(timers.entries() <= 2 * timers.size() + 64 + 1);
  }
}

TEST_CASE("peer timers: a moved deadline fires once, at its new time") {
  PeerTimers timers;
  const PublicKey a = key_of(1);
  timers.set(a, t0 + 10ms);
  timers.set(a, t0 + 30ms);  // the 10 ms entry is now stale
  CHECK(timers.next() == t0 + 30ms);
  std::vector<PublicKey> due;
  timers.take_due(t0 + 20ms, due);
  CHECK(due.empty());
  timers.take_due(t0 + 30ms, due);
  REQUIRE(due.size() == 1);
  CHECK(due[0] == a);
  CHECK(timers.next() == Instant::max());
  CHECK(timers.deadline_of(a) == Instant::max());
}

TEST_CASE("peer timers: setting the same deadline again adds no entry") {
  PeerTimers timers;
  for (int i = 0; i < 1000; ++i) timers.set(key_of(2), t0 + 5ms);
  CHECK(timers.entries() == 1);
  CHECK(timers.deadline_of(key_of(2)) == t0 + 5ms);
}

TEST_CASE("peer timers: a removed deadline never fires") {
  PeerTimers timers;
  timers.set(key_of(3), t0 + 1ms);
  timers.set(key_of(4), t0 + 2ms);
  timers.set(key_of(3), Instant::max());
  CHECK(timers.next() == t0 + 2ms);
  std::vector<PublicKey> due;
  timers.take_due(t0 + 1s, due);
  REQUIRE(due.size() == 1);
  CHECK(due[0] == key_of(4));
}
