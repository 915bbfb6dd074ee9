#include "session/index_table.hpp"

#include <doctest/doctest.h>

#include <set>

#include "session/session.hpp"

using namespace peermq;
using namespace peermq::session;

TEST_CASE("indices are unique, non-zero, and name their session until erased") {
  IndexTable table;
  const SessionConfig config;
  PublicKey key{};
  X25519PublicKey x25519{};
  key.fill(1);
  Session alice(key, x25519, config);
  key.fill(2);
  Session bob(key, x25519, config);
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    Session* owner = i % 2 == 0 ? &alice : &bob;
    const std::uint32_t index = table.insert(owner);
    CHECK(index != 0);
    CHECK(seen.insert(index).second);
    CHECK(table.find(index) == owner);
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
