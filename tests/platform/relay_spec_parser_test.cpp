#include "platform/relay_spec_parser.hpp"

#include <ostream>  // doctest prints std::error_code through it
#include <string>

#include <doctest/doctest.h>

#include <peermq/identity.hpp>

using peermq::Endpoint;
using peermq::Identity;
using namespace peermq::platform;

TEST_CASE("a relay is HOST:PORT, or ADDR@HOST:PORT with its key") {
  auto plain = parse_relay_spec("192.0.2.1:7070");
  REQUIRE(plain);
  CHECK_FALSE(plain->key.has_value());
  CHECK(plain->endpoint == Endpoint::v4({192, 0, 2, 1}, 7070));
  CHECK(plain->text == "192.0.2.1:7070");

  const Identity relay = Identity::generate();
  const std::string addr = relay.address().to_string();
  auto keyed = parse_relay_spec(addr + "@[2001:db8::1]:7070");
  REQUIRE(keyed);
  REQUIRE(keyed->key.has_value());
  CHECK(*keyed->key == relay.public_key());
  CHECK(keyed->endpoint.is_v6());
  CHECK(keyed->endpoint.port() == 7070);

  auto named = parse_relay_spec("localhost:7070");
  REQUIRE(named);
  CHECK(named->endpoint.port() == 7070);
}

TEST_CASE("a relay list is comma-separated, and an empty one means no relay") {
  auto none = parse_relay_specs("");
  REQUIRE(none);
  CHECK(none->empty());
  auto two = parse_relay_specs("192.0.2.1:7070,192.0.2.2:7071");
  REQUIRE(two);
  REQUIRE(two->size() == 2);
  CHECK((*two)[1].endpoint == Endpoint::v4({192, 0, 2, 2}, 7071));
}

TEST_CASE("bad relays are refused with a typed error and a sentence") {
  std::string detail;
  CHECK(parse_relay_specs("192.0.2.1:7070,,192.0.2.2:1", &detail).error() == RelaySpecError::empty);
  CHECK(parse_relay_spec("192.0.2.1", &detail).error() == RelaySpecError::bad_endpoint);
  CHECK(parse_relay_spec("192.0.2.1:0", &detail).error() == RelaySpecError::bad_endpoint);
  CHECK(parse_relay_spec("192.0.2.1:70000", &detail).error() == RelaySpecError::bad_endpoint);
  CHECK(parse_relay_spec("notanaddress@192.0.2.1:7070", &detail).error() ==
        RelaySpecError::bad_address);
  // (Unresolvable names are not tried here: without DNS the answer can take seconds.)
  CHECK_FALSE(detail.empty());
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += (i ? "," : "") + std::string("192.0.2.1:7070");
  CHECK(parse_relay_specs(nine, &detail).error() == RelaySpecError::too_many);
}
