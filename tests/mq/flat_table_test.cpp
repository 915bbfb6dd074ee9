#include "mq/flat_table.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <unordered_map>

using peermq::mq::FlatTable;
using peermq::mq::U64Hash;

namespace {

// Every key lands in the same home bucket: probe runs are as long as they can be.
struct CollidingHash {
  std::uint64_t operator()(std::uint64_t) const noexcept { return 0; }
};

}  // namespace

TEST_CASE("flat table inserts, finds and refuses to overwrite on insert") {
  FlatTable<std::uint64_t, std::uint32_t, U64Hash> t;
  CHECK(t.find(1) == nullptr);
  auto [v, inserted] = t.insert(1, 10);
  CHECK(inserted);
  CHECK(*v == 10);
  auto [v2, again] = t.insert(1, 20);
  CHECK_FALSE(again);
  CHECK(*v2 == 10);
  t.assign(1, 30);
  CHECK(*t.find(1) == 30);
  CHECK(t.size() == 1);
}

TEST_CASE("flat table erase keeps every other key findable, even in one probe run") {
  FlatTable<std::uint64_t, std::uint64_t, CollidingHash> t;
  for (std::uint64_t k = 0; k < 10; ++k) t.insert(k, k * 2);
  CHECK(t.erase(3));
  CHECK_FALSE(t.erase(3));
  CHECK(t.find(3) == nullptr);
  for (std::uint64_t k = 0; k < 10; ++k) {
    if (k != 3) CHECK(*t.find(k) == k * 2);
  }
}

TEST_CASE("flat table agrees with std::unordered_map over random operations") {
  FlatTable<std::uint64_t, std::uint64_t, U64Hash> t;
  std::unordered_map<std::uint64_t, std::uint64_t> ref;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t k = rng() % 5000;
    switch (rng() % 3) {
      case 0:
        t.assign(k, static_cast<std::uint64_t>(i));
        ref[k] = static_cast<std::uint64_t>(i);
        break;
      case 1: CHECK(t.erase(k) == (ref.erase(k) == 1)); break;
      default: {
        const std::uint64_t* v = t.find(k);
        auto it = ref.find(k);
        REQUIRE((v == nullptr) == (it == ref.end()));
        if (v) CHECK(*v == it->second);
      }
    }
  }
  CHECK(t.size() == ref.size());
  std::size_t seen = 0;
  t.for_each([&](std::uint64_t k, std::uint64_t v) {
    ++seen;
    CHECK(ref.at(k) == v);
  });
  CHECK(seen == ref.size());
}

TEST_CASE("flat table clear empties it and keeps its capacity") {
  FlatTable<std::uint64_t, std::uint8_t, U64Hash> t;
  for (std::uint64_t k = 0; k < 1000; ++k) t.insert(k, 1);
  const std::size_t capacity = t.capacity();
  CHECK(capacity >= 1000 * 4 / 3);
  t.clear();
  CHECK(t.empty());
  CHECK(t.find(5) == nullptr);
  CHECK(t.capacity() == capacity);
}
