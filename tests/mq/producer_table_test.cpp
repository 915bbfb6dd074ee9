// ProducerTable: producer keys as small indexes with references, and their links.
#include "mq/producer_table.hpp"

#include <doctest/doctest.h>

#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

TEST_CASE("a key interned twice has one index and two references") {
  ProducerTable t;
  const std::uint32_t a = t.intern(P);
  CHECK(t.intern(P) == a);
  CHECK(t.refs(a) == 2);
  CHECK(t.key(a) == P);
  CHECK(t.size() == 1);
  CHECK(t.intern(P2) != a);
  CHECK(t.size() == 2);
}

TEST_CASE("an index is freed with its last reference and goes to the next new key") {
  ProducerTable t;
  const std::uint32_t a = t.intern(P);
  const std::uint32_t b = t.intern(P2);
  t.retain(a);
  t.release(a);
  CHECK(t.size() == 2);  // one reference left
  t.release(a);
  CHECK(t.size() == 1);
  const std::uint32_t c = t.intern(C);
  CHECK(c == a);  // reused: indexes stay dense
  CHECK(t.key(c) == C);
  CHECK(t.refs(c) == 1);
  CHECK(t.capacity() == 2);
  CHECK(t.key(b) == P2);
}

TEST_CASE("a producer is online while its link is set, and a freed index forgets it") {
  ProducerTable t;
  PeerLink link{P};
  const std::uint32_t a = t.intern(P);
  CHECK(t.link(a) == nullptr);
  t.set_link(a, &link);
  CHECK(t.link(a) == &link);
  t.release(a);
  const std::uint32_t b = t.intern(P2);
  REQUIRE(b == a);
  CHECK(t.link(b) == nullptr);
}

TEST_CASE("message keys of different producers or ids differ, and hash apart") {
  const MessageKey k1{1, 7}, k2{2, 7}, k3{1, 8};
  CHECK_FALSE(k1 == k2);
  CHECK_FALSE(k1 == k3);
  CHECK(k1 == MessageKey{1, 7});
  const MessageKeyHash h;
  CHECK(h(k1) != h(k2));
  CHECK(h(k1) != h(k3));
}
