#include "overlay/relay_key_exchange.hpp"

#include <ostream>  // doctest prints std::error_code through it
#include <vector>

#include <doctest/doctest.h>

#include <peermq/identity.hpp>

using peermq::Identity;
using peermq::PublicKey;
using namespace peermq::overlay;
namespace limits = peermq::limits;
using Bytes = std::vector<std::uint8_t>;

TEST_CASE("a relay key request and answer round trip, and the answer is the smaller") {
  const Identity relay = Identity::generate();
  const auto request = encode_relay_key_request(0x0123456789abcdefull);
  CHECK(looks_like_relay_key_request(request));
  CHECK_FALSE(looks_like_relay_key_answer(request));
  auto nonce = decode_relay_key_request(request);
  REQUIRE(nonce);
  CHECK(*nonce == 0x0123456789abcdefull);
  const auto answer = encode_relay_key_answer(*nonce, relay.public_key());
  CHECK(answer.size() < request.size());  // no amplification
  CHECK(looks_like_relay_key_answer(answer));
  auto fields = decode_relay_key_answer(answer);
  REQUIRE(fields);
  CHECK(fields->nonce == 0x0123456789abcdefull);
  CHECK(fields->key == relay.public_key());
}

TEST_CASE("relay key datagrams never look like session packets") {
  // Session packets start with their type, 1 to 4.
  CHECK(encode_relay_key_request(1)[0] > 4);
  CHECK(encode_relay_key_answer(1, PublicKey{})[0] > 4);
  CHECK_FALSE(looks_like_relay_key_request(Bytes{}));
  CHECK_FALSE(looks_like_relay_key_answer(Bytes{4, 0, 0, 0}));
}

// Malformed datagrams, one thing wrong at a time.
TEST_CASE("malformed relay key datagrams are refused with a typed error") {
  const Identity relay = Identity::generate();
  const auto good_request = encode_relay_key_request(9);
  const auto good_answer = encode_relay_key_answer(9, relay.public_key());
  {
    /* 1 */ Bytes r(good_request.begin(), good_request.end() - 1);
    CHECK(decode_relay_key_request(r).error() == RelayKeyError::not_relay_key);
  }
  {
    /* 2 */ Bytes r(good_request.begin(), good_request.end());
    r.push_back(0);
    CHECK(decode_relay_key_request(r).error() == RelayKeyError::not_relay_key);
  }
  {
    /* 3 */ Bytes r(good_request.begin(), good_request.end());
    r[2] ^= 1;  // magic
    CHECK(decode_relay_key_request(r).error() == RelayKeyError::not_relay_key);
  }
  {
    /* 4 */ Bytes r(good_request.begin(), good_request.end());
    r.back() = 1;  // padding
    CHECK(decode_relay_key_request(r).error() == RelayKeyError::bad_padding);
  }
  { /* 5 */ CHECK(decode_relay_key_request(good_answer).error() == RelayKeyError::not_relay_key); }
  { /* 6 */ CHECK(decode_relay_key_answer(good_request).error() == RelayKeyError::not_relay_key); }
  {
    /* 7 */ Bytes a(good_answer.begin(), good_answer.end() - 1);
    CHECK(decode_relay_key_answer(a).error() == RelayKeyError::not_relay_key);
  }
  {
    /* 8 */ auto a = encode_relay_key_answer(9, PublicKey{});  // the identity point
    CHECK(decode_relay_key_answer(a).error() == RelayKeyError::bad_key);
  }
}
