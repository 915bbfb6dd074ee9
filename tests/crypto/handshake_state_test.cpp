#include <doctest/doctest.h>

#include <sodium.h>

#include <algorithm>

#include "crypto/handshake_state.hpp"
#include "crypto/noise_test_util.hpp"

using namespace peermq::crypto;
using peermq::Secret;
using peermq::crypto::test::as_bytes;
using peermq::crypto::test::Bytes;

namespace {

struct KeyPair {
  KeyPair() {
    REQUIRE(sodium_init() >= 0);
    randombytes_buf(secret.data(), secret.size());
    public_key = x25519_public_key(secret);
  }
  Secret<32> secret;
  NoisePublicKey public_key{};
};

HandshakeState make(std::string_view pattern, NoiseRole role, const KeyPair* local,
                    std::optional<NoisePublicKey> remote, std::string_view prologue = "peermq") {
  HandshakeConfig config;
  config.pattern = pattern;
  config.role = role;
  config.prologue = as_bytes(prologue);
  if (local != nullptr) config.local_static = local->secret.span();
  config.remote_static = remote;
  auto state = HandshakeState::create(config);
  REQUIRE_MESSAGE(state.ok(), state.error().message());
  return std::move(state).value();
}

// An IK initiator and responder that have exchanged nothing yet.
struct IkPair {
  KeyPair initiator_key, responder_key;
  HandshakeState initiator =
      make("IK", NoiseRole::initiator, &initiator_key, responder_key.public_key);
  HandshakeState responder = make("IK", NoiseRole::responder, &responder_key, std::nullopt);
};

Bytes write(HandshakeState& state, std::string_view payload) {
  Bytes out;
  REQUIRE(state.write_message(as_bytes(payload), out).ok());
  return out;
}

}  // namespace

TEST_CASE("an IK handshake authenticates both sides and yields working transport keys") {
  IkPair ik;
  CHECK(ik.initiator.is_my_turn());
  CHECK_FALSE(ik.responder.is_my_turn());
  Bytes payload;
  REQUIRE(ik.responder.read_message(write(ik.initiator, "hello"), payload).ok());
  CHECK(payload == Bytes{'h', 'e', 'l', 'l', 'o'});
  // The responder learns who is calling only from the encrypted static in message 1.
  REQUIRE(ik.responder.remote_static().has_value());
  CHECK(*ik.responder.remote_static() == ik.initiator_key.public_key);
  payload.clear();
  REQUIRE(ik.initiator.read_message(write(ik.responder, "welcome"), payload).ok());
  CHECK(payload.size() == 7);
  CHECK(ik.initiator.is_complete());
  CHECK(ik.responder.is_complete());
  CHECK(std::ranges::equal(ik.initiator.get_handshake_hash(), ik.responder.get_handshake_hash()));

  auto a = ik.initiator.split();
  auto b = ik.responder.split();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  Bytes wire, plain;
  REQUIRE(a->send.encrypt_with_ad({}, as_bytes("ping"), wire).ok());
  REQUIRE(b->receive.decrypt_with_ad({}, wire, plain).ok());
  wire.clear();
  REQUIRE(b->send.encrypt_with_ad({}, as_bytes("pong"), wire).ok());
  REQUIRE(a->receive.decrypt_with_ad({}, wire, plain).ok());
  CHECK(plain == Bytes{'p', 'i', 'n', 'g', 'p', 'o', 'n', 'g'});
  // Still readable after split (channel binding, peer identity).
  CHECK(*ik.responder.remote_static() == ik.initiator_key.public_key);
  CHECK(std::ranges::equal(ik.initiator.get_handshake_hash(), ik.responder.get_handshake_hash()));
}

TEST_CASE("the initiator's static key never appears in clear in IK message 1") {
  IkPair ik;
  const Bytes message = write(ik.initiator, "");
  CHECK(message.size() == 32 + 48 + 16);  // e, encrypted s, empty encrypted payload
  const auto& s = ik.initiator_key.public_key;
  CHECK(std::search(message.begin(), message.end(), s.begin(), s.end()) == message.end());
}

TEST_CASE("two IK handshakes with the same keys use fresh ephemerals") {
  KeyPair responder_key, initiator_key;
  auto a = make("IK", NoiseRole::initiator, &initiator_key, responder_key.public_key);
  auto b = make("IK", NoiseRole::initiator, &initiator_key, responder_key.public_key);
  const Bytes m1 = write(a, "same"), m2 = write(b, "same");
  CHECK_FALSE(std::equal(m1.begin(), m1.begin() + 32, m2.begin()));
}

TEST_CASE("any flipped bit in IK message 1 fails the read and leaves the responder unchanged") {
  IkPair ik;
  const Bytes message = write(ik.initiator, "payload");
  for (std::size_t i = 0; i < message.size() * 8; ++i) {
    CAPTURE(i);
    Bytes corrupt = message;
    corrupt[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    Bytes payload;
    REQUIRE_FALSE(ik.responder.read_message(corrupt, payload).ok());
    CHECK(payload.empty());
  }
  CHECK_FALSE(ik.responder.remote_static().has_value());
  Bytes payload;
  CHECK(ik.responder.read_message(message, payload).ok());  // the genuine one still works
}

TEST_CASE("any flipped bit in IK message 2 fails the read and leaves the initiator unchanged") {
  IkPair ik;
  Bytes payload;
  REQUIRE(ik.responder.read_message(write(ik.initiator, ""), payload).ok());
  const Bytes message = write(ik.responder, "reply");
  for (std::size_t i = 0; i < message.size() * 8; ++i) {
    CAPTURE(i);
    Bytes corrupt = message;
    corrupt[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    REQUIRE_FALSE(ik.initiator.read_message(corrupt, payload).ok());
    CHECK_FALSE(ik.initiator.is_complete());
  }
  CHECK(ik.initiator.read_message(message, payload).ok());
  CHECK(ik.initiator.is_complete());
}

TEST_CASE("every truncation of an IK message is refused") {
  IkPair ik;
  const Bytes message = write(ik.initiator, "payload");
  for (std::size_t n = 0; n < message.size(); ++n) {
    CAPTURE(n);
    Bytes payload;
    auto r = ik.responder.read_message(std::span(message).first(n), payload);
    REQUIRE_FALSE(r.ok());
    if (n < 32 + 48 + 16) CHECK(r.error() == NoiseError::message_too_short);
  }
}

TEST_CASE("an initiator that dials the wrong responder key fails at message 1") {
  KeyPair initiator_key, responder_key, someone_else;
  auto initiator = make("IK", NoiseRole::initiator, &initiator_key, someone_else.public_key);
  auto responder = make("IK", NoiseRole::responder, &responder_key, std::nullopt);
  Bytes payload;
  CHECK(responder.read_message(write(initiator, "hi"), payload).error() ==
        NoiseError::decrypt_failed);
}

TEST_CASE("a different prologue fails the handshake") {
  KeyPair initiator_key, responder_key;
  auto initiator = make("IK", NoiseRole::initiator, &initiator_key, responder_key.public_key, "v1");
  auto responder = make("IK", NoiseRole::responder, &responder_key, std::nullopt, "v2");
  Bytes payload;
  CHECK(responder.read_message(write(initiator, "hi"), payload).error() ==
        NoiseError::decrypt_failed);
}

TEST_CASE("a low-order ephemeral or static key is refused with bad_dh") {
  KeyPair initiator_key, responder_key;
  SUBCASE("in the message") {
    IkPair ik;
    Bytes message = write(ik.initiator, "");
    std::fill(message.begin(), message.begin() + 32, std::uint8_t{0});
    Bytes payload;
    CHECK(ik.responder.read_message(message, payload).error() == NoiseError::bad_dh);
  }
  SUBCASE("as the dialled responder key") {
    auto initiator = make("IK", NoiseRole::initiator, &initiator_key, NoisePublicKey{});
    Bytes out;
    CHECK(initiator.write_message({}, out).error() == NoiseError::bad_dh);
    CHECK(out.empty());
    CHECK(initiator.is_my_turn());
  }
}

TEST_CASE("messages out of turn and calls after the handshake are refused") {
  IkPair ik;
  Bytes out, payload;
  CHECK(ik.responder.write_message({}, out).error() == NoiseError::wrong_turn);
  CHECK(ik.initiator.read_message(Bytes(100), payload).error() == NoiseError::wrong_turn);
  CHECK(ik.initiator.split().error() == NoiseError::handshake_incomplete);
  CHECK(out.empty());
  REQUIRE(ik.responder.read_message(write(ik.initiator, ""), payload).ok());
  REQUIRE(ik.initiator.read_message(write(ik.responder, ""), payload).ok());
  CHECK(ik.initiator.write_message({}, out).error() == NoiseError::handshake_over);
  CHECK(ik.responder.read_message(Bytes(100), payload).error() == NoiseError::handshake_over);
  REQUIRE(ik.initiator.split().ok());
  CHECK(ik.initiator.split().error() == NoiseError::handshake_over);
}

TEST_CASE("oversized messages are refused in both directions") {
  IkPair ik;
  Bytes out, payload;
  CHECK(ik.initiator.write_message(Bytes(kNoiseMaxMessage), out).error() ==
        NoiseError::message_too_long);
  CHECK(out.empty());
  CHECK(ik.responder.read_message(Bytes(kNoiseMaxMessage + 1), payload).error() ==
        NoiseError::message_too_long);
  // The largest payload that fits: 65535 - e - encrypted s - tag.
  CHECK(ik.initiator.write_message(Bytes(kNoiseMaxMessage - 32 - 48 - 16), out).ok());
  CHECK(out.size() == kNoiseMaxMessage);
}

TEST_CASE("a configuration that does not fit the pattern is refused") {
  KeyPair key;
  auto create = [](HandshakeConfig config) { return HandshakeState::create(config).error(); };
  HandshakeConfig ik_initiator{.pattern = "IK", .role = NoiseRole::initiator};
  CHECK(create(ik_initiator) == NoiseError::missing_key);
  ik_initiator.local_static = key.secret.span();
  CHECK(create(ik_initiator) == NoiseError::missing_key);  // no responder key to dial
  ik_initiator.remote_static = key.public_key;
  CHECK_FALSE(create(ik_initiator));

  HandshakeConfig xx{.pattern = "XX", .role = NoiseRole::responder};
  xx.local_static = key.secret.span();
  xx.remote_static = key.public_key;  // XX learns it in the handshake: a pin would be ignored
  CHECK(create(xx) == NoiseError::unexpected_key);
  CHECK(create(HandshakeConfig{.pattern = "QQ"}) == NoiseError::unknown_pattern);
}

TEST_CASE("an XX handshake tells each side the other's static key") {
  KeyPair a_key, b_key;
  auto a = make("XX", NoiseRole::initiator, &a_key, std::nullopt);
  auto b = make("XX", NoiseRole::responder, &b_key, std::nullopt);
  Bytes payload;
  REQUIRE(b.read_message(write(a, ""), payload).ok());
  REQUIRE(a.read_message(write(b, ""), payload).ok());
  CHECK_FALSE(b.remote_static().has_value());
  REQUIRE(b.read_message(write(a, ""), payload).ok());
  CHECK(a.remote_static() == b_key.public_key);
  CHECK(b.remote_static() == a_key.public_key);
}

TEST_CASE("in a one-way pattern only the initiator can send") {
  KeyPair responder_key;
  auto initiator = make("N", NoiseRole::initiator, nullptr, responder_key.public_key);
  auto responder = make("N", NoiseRole::responder, &responder_key, std::nullopt);
  Bytes payload;
  REQUIRE(responder.read_message(write(initiator, "one way"), payload).ok());
  auto a = initiator.split();
  auto b = responder.split();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  Bytes wire;
  CHECK(b->send.encrypt_with_ad({}, as_bytes("back"), wire).error() == NoiseError::no_key);
  CHECK(a->receive.decrypt_with_ad({}, Bytes(20), wire).error() == NoiseError::no_key);
  REQUIRE(a->send.encrypt_with_ad({}, as_bytes("more"), wire).ok());
  CHECK(b->receive.decrypt_with_ad({}, wire, payload).ok());
}

TEST_CASE("a supplied local static public key is used as given: right one works, wrong one fails") {
  KeyPair initiator_key, responder_key, stranger;
  auto with_public = [&](const NoisePublicKey& claimed) {
    HandshakeConfig config;
    config.pattern = "IK";
    config.role = NoiseRole::initiator;
    config.prologue = as_bytes("peermq");
    config.local_static = initiator_key.secret.span();
    config.local_static_public = claimed;
    config.remote_static = responder_key.public_key;
    auto state = HandshakeState::create(config);
    REQUIRE(state.ok());
    return std::move(state).value();
  };
  Bytes payload;
  {
    HandshakeState initiator = with_public(initiator_key.public_key);
    HandshakeState responder = make("IK", NoiseRole::responder, &responder_key, std::nullopt);
    CHECK(responder.read_message(write(initiator, "hi"), payload).ok());
    REQUIRE(responder.remote_static().has_value());
    CHECK(*responder.remote_static() == initiator_key.public_key);
  }
  {
    // Claiming another key than the secret's: the responder's ss disagrees, the read fails.
    HandshakeState initiator = with_public(stranger.public_key);
    HandshakeState responder = make("IK", NoiseRole::responder, &responder_key, std::nullopt);
    CHECK_FALSE(responder.read_message(write(initiator, "hi"), payload).ok());
  }
}
