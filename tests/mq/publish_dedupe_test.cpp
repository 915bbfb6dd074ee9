#include "mq/publish_dedupe.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

using peermq::mq::PublishDedupe;

namespace {

std::vector<std::uint32_t> turn(PublishDedupe& d) {
  std::vector<std::uint32_t> released;
  d.turn([&](std::uint32_t p) { released.push_back(p); });
  return released;
}

}  // namespace

TEST_CASE("consecutive ids of a producer are one run: no memory per id") {
  PublishDedupe d;
  const std::uint64_t first = std::uint64_t{1767225600000} << 20;  // as ProducerCore's
  CHECK(d.insert(3, first));
  for (std::uint64_t id = first + 1; id < first + 200000; ++id) {
    REQUIRE_FALSE(d.contains(3, id));
    CHECK_FALSE(d.insert(3, id));
  }
  CHECK(d.entries() == 1);
  CHECK(d.ids() == 200000);
  CHECK(d.memory_bytes() < 4096);
  CHECK(d.contains(3, first));
  CHECK(d.contains(3, first + 199999));
  CHECK_FALSE(d.contains(3, first - 1));
  CHECK_FALSE(d.contains(3, first + 200000));
  CHECK_FALSE(d.contains(4, first));  // another producer
}

TEST_CASE("a gap starts a new run and an id sent late into it is kept on its own") {
  PublishDedupe d;
  (void)d.insert(1, 10);
  (void)d.insert(1, 11);
  (void)d.insert(1, 14);  // 12 and 13 refused, say
  (void)d.insert(1, 15);
  CHECK(d.entries() == 2);
  CHECK_FALSE(d.contains(1, 12));
  CHECK_FALSE(d.contains(1, 13));
  (void)d.insert(1, 12);  // sent again and stored
  CHECK(d.entries() == 3);
  CHECK(d.contains(1, 12));
  CHECK_FALSE(d.contains(1, 13));
  for (std::uint64_t id : {10u, 11u, 14u, 15u}) CHECK(d.contains(1, id));
  (void)d.insert(1, 3);  // below every run
  CHECK(d.contains(1, 3));
  CHECK_FALSE(d.contains(1, 4));
}

TEST_CASE("an id is remembered for one to two turns, and each producer released once") {
  PublishDedupe d;
  CHECK(d.insert(1, 100));
  CHECK_FALSE(d.insert(1, 101));
  CHECK(d.insert(2, 5));
  CHECK(turn(d).empty());  // nothing in the previous generation yet
  CHECK(d.contains(1, 100));
  CHECK(d.contains(2, 5));
  CHECK(d.insert(1, 102));  // new in this generation: held again
  const std::vector<std::uint32_t> released = turn(d);
  CHECK(std::set<std::uint32_t>(released.begin(), released.end()) ==
        std::set<std::uint32_t>{1, 2});
  CHECK(released.size() == 2);
  CHECK_FALSE(d.contains(1, 100));
  CHECK_FALSE(d.contains(2, 5));
  CHECK(d.contains(1, 102));
  CHECK(turn(d) == std::vector<std::uint32_t>{1});
  CHECK(d.empty());
  CHECK(d.ids() == 0);
}

TEST_CASE("the dedupe agrees with a set of every id for any order of ids") {
  PublishDedupe d;
  std::set<std::pair<std::uint32_t, std::uint64_t>> current, previous;
  std::uint64_t next[3] = {1, 1000, 1ULL << 63};
  std::uint64_t x = 99;
  for (int i = 0; i < 60000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto producer = static_cast<std::uint32_t>((x >> 40) % 3);
    std::uint64_t id = 0;
    switch ((x >> 61) & 7) {
      case 0:
      case 1:
      case 2:
      case 3: id = next[producer]++; break;  // in order, half the time
      case 4:
      case 5: id = next[producer] - 1 - ((x >> 20) % 100); break;  // a resend
      case 6:  // a gap
        next[producer] += 2 + (x >> 20) % 7;
        id = next[producer]++;
        break;
      default: id = x >> 2; break;  // anything
    }
    const bool expected = current.count({producer, id}) + previous.count({producer, id}) != 0;
    REQUIRE(d.contains(producer, id) == expected);
    if (!expected) {
      (void)d.insert(producer, id);
      current.emplace(producer, id);
    }
    if (i % 20000 == 19999) {
      (void)turn(d);
      previous = std::move(current);
      current.clear();
    }
  }
  CHECK(d.ids() == current.size() + previous.size());
}
