#include "channel/ring.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

using peermq::channel::Ring;

namespace {

// Counts live instances, so a test can see that every element is destroyed exactly once.
struct Tracked {
  static inline int live = 0;
  explicit Tracked(int v) : value(std::make_unique<int>(v)) { ++live; }
  Tracked(Tracked&& o) noexcept : value(std::move(o.value)) { ++live; }
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { --live; }
  std::unique_ptr<int> value;
};

}  // namespace

TEST_CASE("a ring holds no memory until its first push and after its last pop") {
  Ring<std::uint64_t> r;
  CHECK(r.empty());
  CHECK(r.capacity() == 0);
  r.push_back(1);
  CHECK(r.capacity() == Ring<std::uint64_t>::kMinCapacity);
  r.push_back(2);
  r.pop_front();
  CHECK(r.capacity() > 0);  // one element left: the storage stays
  r.pop_front();
  CHECK(r.empty());
  CHECK(r.capacity() == 0);
  r.push_back(3);  // and starts again
  CHECK(r.front() == 3);
  r.clear();
  CHECK(r.capacity() == 0);
}

TEST_CASE("a ring is first in, first out across wrap-around and growth, like a deque") {
  Ring<std::uint64_t> r;
  std::deque<std::uint64_t> model;
  std::uint64_t next = 0;
  // A pattern that wraps the head around a small ring many times, then grows it while
  // wrapped: pushes run ahead of pops by a slowly rising margin.
  for (int round = 0; round < 2000; ++round) {
    const int pushes = 1 + round % 7;
    const int pops = round % 5;
    for (int i = 0; i < pushes; ++i) {
      r.push_back(std::uint64_t{next});
      model.push_back(next++);
    }
    for (int i = 0; i < pops && !model.empty(); ++i) {
      REQUIRE(r.front() == model.front());
      r.pop_front();
      model.pop_front();
    }
    REQUIRE(r.size() == model.size());
    if (!model.empty()) {
      REQUIRE(r.back() == model.back());
      REQUIRE(r[model.size() / 2] == model[model.size() / 2]);
    }
  }
  CHECK(std::equal(r.begin(), r.end(), model.begin(), model.end()));
  while (!model.empty()) {
    REQUIRE(r.front() == model.front());
    r.pop_front();
    model.pop_front();
  }
  CHECK(r.capacity() == 0);
}

TEST_CASE("a ring's iterators search it like a sorted array even when it wraps") {
  Ring<std::uint64_t> r;
  for (std::uint64_t i = 0; i < 6; ++i) r.push_back(std::uint64_t{i});
  for (int i = 0; i < 5; ++i) r.pop_front();  // head near the end of 8 slots
  for (std::uint64_t i = 6; i < 12; ++i) r.push_back(std::uint64_t{i});  // wraps
  REQUIRE(r.size() == 7);
  for (std::uint64_t want = 5; want < 12; ++want) {
    auto it = std::lower_bound(r.begin(), r.end(), want);
    REQUIRE(it != r.end());
    CHECK(*it == want);
    CHECK(it - r.begin() == static_cast<std::ptrdiff_t>(want - 5));
  }
  CHECK(std::lower_bound(r.begin(), r.end(), std::uint64_t{12}) == r.end());
  const Ring<std::uint64_t>& c = r;
  std::uint64_t sum = 0;
  for (const std::uint64_t v : c) sum += v;
  CHECK(sum == 5 + 6 + 7 + 8 + 9 + 10 + 11);
}

TEST_CASE("a ring destroys each element once: on pop, on clear, when moved from and at its end") {
  Tracked::live = 0;
  {
    Ring<Tracked> r;
    for (int i = 0; i < 10; ++i) r.emplace_back(i);  // grows 4 -> 8 -> 16, moving elements
    CHECK(Tracked::live == 10);
    r.pop_front();
    CHECK(Tracked::live == 9);
    CHECK(*r.front().value == 1);
    Ring<Tracked> moved(std::move(r));
    CHECK(r.empty());  // NOLINT(bugprone-use-after-move): a moved-from ring is empty
    CHECK(moved.size() == 9);
    CHECK(*moved.back().value == 9);
    Ring<Tracked> assigned;
    assigned.emplace_back(42);
    assigned = std::move(moved);
    CHECK(Tracked::live == 9);
    assigned.clear();
    CHECK(Tracked::live == 0);
    assigned.emplace_back(7);
  }
  CHECK(Tracked::live == 0);
}
