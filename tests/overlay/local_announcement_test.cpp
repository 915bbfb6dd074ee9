#include "overlay/local_announcement.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

#include "overlay_test_util.hpp"
#include "wire/limits.hpp"
#include "wire/msgpack_writer.hpp"

using namespace peermq;
using namespace peermq::overlay;
using namespace peermq::overlay::test;
using namespace std::chrono_literals;

namespace {
const WallTime kNow = ManualClock::kDefaultWall;
}

TEST_CASE("a local announcement decodes to its key, endpoints and time") {
  const Identity id = Identity::generate();
  const Candidates where{ep(127, 0, 0, 1, 40001), ep(192, 168, 1, 2, 40001)};
  const Bytes record = encode_local_announcement(id, where, kNow);
  CHECK(record.size() <= limits::kLocalAnnouncementMax);
  auto a = decode_local_announcement(record, id.public_key(), kNow + 1s);
  INFO(a.error().message());
  REQUIRE(a.ok());
  CHECK(a->key == id.public_key());
  CHECK(a->endpoints == where);
  CHECK(a->issued == kNow);
}

TEST_CASE("a local announcement with the most endpoints fits the size limit") {
  const Identity id = Identity::generate();
  Candidates many;
  for (std::size_t i = 0; i < limits::kMaxEndpointCandidates; ++i) {
    std::array<std::uint8_t, 16> ip{};
    ip.fill(0xfe);
    many.push_back(Endpoint::v6(ip, static_cast<std::uint16_t>(1000 + i)));
  }
  const Bytes record = encode_local_announcement(id, many, kNow);
  CHECK(record.size() <= limits::kLocalAnnouncementMax);
  CHECK(decode_local_announcement(record, id.public_key(), kNow).ok());
}

TEST_CASE("a local announcement is refused when stale, from the future, or for another key") {
  const Identity id = Identity::generate();
  const Identity other = Identity::generate();
  const Bytes record = encode_local_announcement(id, {ep(127, 0, 0, 1, 5000)}, kNow);
  const auto at = [&](WallTime now, const PublicKey& k) {
    return decode_local_announcement(record, k, now).error();
  };
  // Edge cases around the lifetime and the skew.
  /* 1 */ CHECK_FALSE(at(kNow + limits::kLocalAnnouncementLifetime, id.public_key()));
  /* 2 */ CHECK(at(kNow + limits::kLocalAnnouncementLifetime + 1ms, id.public_key()) ==
                OverlayError::expired);
  /* 3 */ CHECK_FALSE(at(kNow - limits::kLocalAnnouncementMaxSkew, id.public_key()));
  /* 4 */ CHECK(at(kNow - limits::kLocalAnnouncementMaxSkew - 1ms, id.public_key()) ==
                OverlayError::from_future);
  /* 5 */ CHECK(at(kNow, other.public_key()) == OverlayError::key_mismatch);
}

TEST_CASE("a local announcement with any byte changed does not verify") {
  const Identity id = Identity::generate();
  const Bytes record = encode_local_announcement(id, {ep(127, 0, 0, 1, 5000)}, kNow);
  int refused = 0;
  for (std::size_t i = 0; i < record.size(); ++i) {
    Bytes bad = record;
    bad[i] ^= 0x01;
    if (!decode_local_announcement(bad, id.public_key(), kNow).ok()) ++refused;
  }
  CHECK(refused == static_cast<int>(record.size()));
}

TEST_CASE("a planted announcement signed by another key is refused as a forgery") {
  const Identity victim = Identity::generate();
  const Identity attacker = Identity::generate();
  // The attacker builds a record naming the victim's key but signs with its own.
  const Bytes real = encode_local_announcement(attacker, {ep(10, 6, 6, 6, 666)}, kNow);
  Bytes forged = real;
  // Replace the attacker's key (after array marker, version, bin8 marker and length).
  std::copy(victim.public_key().begin(), victim.public_key().end(), forged.begin() + 4);
  CHECK(decode_local_announcement(forged, victim.public_key(), kNow).error() ==
        OverlayError::bad_signature);
}

TEST_CASE("the announcement file is named by the address") {
  const Identity id = Identity::generate();
  CHECK(local_announcement_file_name(id.address()) == id.address().to_string() + ".peer");
}

TEST_CASE("an announcement needs one to max_endpoint_candidates valid endpoints") {
  const Identity id = Identity::generate();
  CHECK_THROWS_AS(encode_local_announcement(id, {}, kNow), std::invalid_argument);
  CHECK_THROWS_AS(encode_local_announcement(id, {ep(0, 0, 0, 0, 1)}, kNow), std::invalid_argument);
}
