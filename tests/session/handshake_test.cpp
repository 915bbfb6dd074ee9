#include "session/handshake.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include "session/packet.hpp"

using namespace peermq;
using namespace peermq::session;
using namespace std::chrono_literals;

namespace {

LocalKeys keys_of(const Identity& id) {
  LocalKeys k;
  k.ed25519 = id.public_key();
  k.x25519_public = id.x25519_public();
  k.x25519_secret = Secret<32>(id.x25519_secret().span());
  return k;
}

}  // namespace

TEST_CASE("TAI64N timestamps sort in time order byte by byte") {
  const WallTime t = ManualClock::kDefaultWall;
  const Tai64n a = tai64n(t);
  const Tai64n b = tai64n(t + 1ns);
  const Tai64n c = tai64n(t + 1s);
  CHECK(a < b);
  CHECK(b < c);
  CHECK(a[0] == 0x40);  // 2^62 marks TAI64 labels of this era
}

TEST_CASE("the IK handshake gives both sides matching keys and the initiator's address") {
  const Identity alice = Identity::generate();
  const Identity bob = Identity::generate();
  const LocalKeys a = keys_of(alice);
  const LocalKeys b = keys_of(bob);
  std::uint64_t mults = 0;
  std::vector<std::uint8_t> m1;
  auto initiator = create_initiation(a, bob.x25519_public(), tai64n(ManualClock::kDefaultWall), m1,
                                     mults);
  REQUIRE(initiator);
  CHECK(m1.size() == kInitiationNoiseSize);
  auto consumed = consume_initiation(b, m1, mults);
  REQUIRE(consumed);
  CHECK(consumed->initiator == alice.public_key());
  CHECK(consumed->initiator_x25519 == alice.x25519_public());
  CHECK(consumed->timestamp == tai64n(ManualClock::kDefaultWall));
  std::vector<std::uint8_t> m2;
  auto responder_keys = create_response(consumed->state, m2, mults);
  REQUIRE(responder_keys);
  CHECK(m2.size() == kResponseNoiseSize);
  auto initiator_keys = consume_response(*initiator, m2, mults);
  REQUIRE(initiator_keys);
  CHECK(mults == 12);

  std::vector<std::uint8_t> sealed, opened;
  REQUIRE(initiator_keys->send.encrypt_with_ad({}, std::vector<std::uint8_t>{1, 2, 3}, sealed));
  REQUIRE(responder_keys->receive.decrypt_with_ad({}, sealed, opened));
  CHECK(opened == std::vector<std::uint8_t>{1, 2, 3});
}

TEST_CASE("an initiation for another responder does not decrypt") {
  const Identity alice = Identity::generate();
  const Identity bob = Identity::generate();
  const Identity carol = Identity::generate();
  std::uint64_t mults = 0;
  std::vector<std::uint8_t> m1;
  REQUIRE(create_initiation(keys_of(alice), carol.x25519_public(),
                            tai64n(ManualClock::kDefaultWall), m1, mults));
  CHECK(consume_initiation(keys_of(bob), m1, mults).error() == SessionError::handshake_failed);
}

TEST_CASE("an Ed25519 key that is not a curve point has no X25519 counterpart") {
  PublicKey bad{};
  bad.fill(0xff);
  CHECK_FALSE(x25519_of(bad));
  const Identity alice = Identity::generate();
  CHECK(x25519_of(alice.public_key()) == alice.x25519_public());
}
