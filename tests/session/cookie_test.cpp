#include "session/cookie.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "session/packet.hpp"

using namespace peermq;
using namespace peermq::session;
using namespace std::chrono_literals;

namespace {

X25519PublicKey key_of(std::uint8_t v) {
  X25519PublicKey k{};
  k.fill(v);
  return k;
}

std::vector<std::uint8_t> initiation() {
  return encode_initiation(9, std::vector<std::uint8_t>(kInitiationNoiseSize, 0x5a));
}

const Instant t0 = ManualClock::kDefaultStart;
const auto here = Endpoint::v4({192, 0, 2, 1}, 1000);

}  // namespace

TEST_CASE("mac1 is valid only for the key it was made for and the exact bytes") {
  CookieChecker checker(key_of(1), 120s);
  CookieMaker maker(key_of(1), 120s);
  CookieMaker other(key_of(2), 120s);
  auto packet = initiation();
  CHECK_FALSE(checker.mac1_valid(packet));  // zeros
  maker.add_macs(packet, t0);
  CHECK(checker.mac1_valid(packet));
  auto wrong = initiation();
  other.add_macs(wrong, t0);
  CHECK_FALSE(checker.mac1_valid(wrong));
  packet[10] ^= 1;
  CHECK_FALSE(checker.mac1_valid(packet));
  CHECK_FALSE(checker.mac1_valid(std::vector<std::uint8_t>(10)));
}

TEST_CASE("a cookie reply is smaller than what it answers and makes mac2 valid") {
  CookieChecker checker(key_of(1), 120s);
  CookieMaker maker(key_of(1), 120s);
  auto packet = initiation();
  maker.add_macs(packet, t0);
  CHECK_FALSE(checker.mac2_valid(packet, here, t0));
  const auto reply_bytes = checker.make_reply(packet, 9, here, t0);
  CHECK(reply_bytes.size() == kCookieReplySize);
  CHECK(reply_bytes.size() < packet.size());
  CHECK(reply_bytes.size() < kResponseSize);
  auto reply = decode_cookie_reply(reply_bytes);
  REQUIRE(reply);
  CHECK(reply->receiver_index == 9);
  REQUIRE(maker.consume_reply(*reply, t0));
  CHECK(maker.has_cookie(t0));
  // The same reply cannot be consumed twice.
  CHECK(maker.consume_reply(*reply, t0).error() == SessionError::bad_cookie_reply);

  auto retry = initiation();
  maker.add_macs(retry, t0 + 1s);
  CHECK(checker.mac2_valid(retry, here, t0 + 1s));
  // Bound to the source address and port.
  const auto elsewhere = here.with_port(1001);
  CHECK_FALSE(checker.mac2_valid(retry, elsewhere, t0 + 1s));
  // And to the secret, which rotates.
  CHECK_FALSE(checker.mac2_valid(retry, here, t0 + 121s));
}

TEST_CASE("a cookie reply opens only for the packet it answers") {
  CookieChecker checker(key_of(1), 120s);
  CookieMaker maker(key_of(1), 120s);
  auto first = initiation();
  maker.add_macs(first, t0);
  auto reply = checker.make_reply(first, 9, here, t0);
  auto second = initiation();
  second[20] ^= 1;
  maker.add_macs(second, t0);  // mac1 changed: the reply to `first` no longer applies
  auto decoded = decode_cookie_reply(reply);
  REQUIRE(decoded);
  CHECK(maker.consume_reply(*decoded, t0).error() == SessionError::bad_cookie_reply);
  reply[40] ^= 1;
  CookieMaker fresh(key_of(1), 120s);
  fresh.add_macs(first, t0);
  auto forged = decode_cookie_reply(reply);
  REQUIRE(forged);
  CHECK(fresh.consume_reply(*forged, t0).error() == SessionError::bad_cookie_reply);
}

TEST_CASE("a cookie stops being used before the responder's secret would expire") {
  CookieChecker checker(key_of(1), 120s);
  CookieMaker maker(key_of(1), 120s);
  auto packet = initiation();
  maker.add_macs(packet, t0);
  const auto reply_bytes = checker.make_reply(packet, 9, here, t0);
  auto reply = decode_cookie_reply(reply_bytes);
  REQUIRE(reply);
  REQUIRE(maker.consume_reply(*reply, t0));
  CHECK(maker.has_cookie(t0 + 114s));
  CHECK_FALSE(maker.has_cookie(t0 + 115s));
}
