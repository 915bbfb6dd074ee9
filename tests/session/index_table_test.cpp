#include "session/index_table.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace peermq;
using namespace peermq::session;

TEST_CASE("indices are unique, non-zero, and name their peer until erased") {
  IndexTable table;
  PublicKey alice{};
  alice.fill(1);
  PublicKey bob{};
  bob.fill(2);
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::uint32_t index = table.insert(i % 2 == 0 ? alice : bob);
    CHECK(index != 0);
    CHECK(seen.insert(index).second);
  }
  CHECK(table.size() == 1000);
  const std::uint32_t first = *seen.begin();
  REQUIRE(table.find(first) != nullptr);
  table.erase(first);
  CHECK(table.find(first) == nullptr);
  CHECK(table.size() == 999);
  // Random, not sequential: guessing a live index from another is hopeless.
  CHECK(*seen.rbegin() - *seen.begin() > 1000U);
}
