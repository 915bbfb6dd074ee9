#include "wire/endpoint.hpp"

#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <unordered_set>

#include <doctest/doctest.h>

using peermq::Endpoint;
using peermq::EndpointError;

TEST_CASE("endpoints parse and format back to the same text") {
  for (const char* text : {"127.0.0.1:9000", "0.0.0.0:0", "255.255.255.255:65535", "[::1]:1",
                           "[2001:db8::1]:443", "[::]:0", "[fe80::1%2]:9000"}) {
    CAPTURE(text);
    auto endpoint = Endpoint::parse(text);
    REQUIRE(endpoint.ok());
    CHECK(endpoint->to_string() == text);
    CHECK(Endpoint::parse(endpoint->to_string()).value() == *endpoint);
  }
}

TEST_CASE("a parsed endpoint knows its family, address bytes and port") {
  Endpoint v4 = Endpoint::parse("192.0.2.7:9000").value();
  CHECK(v4.is_v4());
  CHECK(v4.port() == 9000);
  REQUIRE(v4.address().size() == 4);
  CHECK(v4.address()[0] == 192);
  CHECK(v4.address()[3] == 7);
  CHECK(v4 == Endpoint::v4({192, 0, 2, 7}, 9000));

  Endpoint v6 = Endpoint::parse("[2001:db8::5]:80").value();
  CHECK(v6.is_v6());
  CHECK(v6.address().size() == 16);
  CHECK(v6.address()[0] == 0x20);
  CHECK(v6.address()[15] == 5);
  CHECK(v6.with_port(81).port() == 81);
}

TEST_CASE("each malformed endpoint is rejected with the error that says what to fix") {
  struct Case {
    const char* text;
    EndpointError error;
  };
  const Case cases[] = {
      /* 1 */ {"127.0.0.1", EndpointError::missing_port},
      /* 2 */ {"127.0.0.1:", EndpointError::missing_port},
      /* 3 */ {"[::1]", EndpointError::missing_port},
      /* 4 */ {"[::1]:", EndpointError::missing_port},
      /* 5 */ {"", EndpointError::missing_port},
      /* 6 */ {"127.0.0.1:65536", EndpointError::bad_port},
      /* 7 */ {"127.0.0.1:-1", EndpointError::bad_port},
      /* 8 */ {"127.0.0.1:+80", EndpointError::bad_port},
      /* 9 */ {"127.0.0.1:80a", EndpointError::bad_port},
      /* 10 */ {"127.0.0.1: 80", EndpointError::bad_port},
      /* 11 */ {"127.0.0.1:99999999999999999999", EndpointError::bad_port},
      /* 12 */ {"localhost:80", EndpointError::bad_address},
      /* 13 */ {"256.0.0.1:80", EndpointError::bad_address},
      /* 14 */ {"1.2.3:80", EndpointError::bad_address},
      /* 15 */ {":80", EndpointError::bad_address},
      /* 16 */ {"[::1:80", EndpointError::bad_address},
      /* 17 */ {"[::1]80", EndpointError::bad_address},
      /* 18 */ {"[1.2.3.4]:80", EndpointError::bad_address},
      /* 19 */ {"[fe80::1%eth0]:80", EndpointError::bad_address},
      /* 20 */ {"[]:80", EndpointError::bad_address},
      /* 21 */ {"::1:80", EndpointError::ipv6_without_brackets},
      /* 22 */ {"2001:db8::1:80", EndpointError::ipv6_without_brackets},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto endpoint = Endpoint::parse(c.text);
    REQUIRE_FALSE(endpoint.ok());
    CHECK(endpoint.error() == c.error);
    CHECK(std::string(endpoint.error().category().name()) == "peermq.wire.endpoint");
  }
  CHECK(std::string(describe(EndpointError::bad_address)).find("host names") != std::string::npos);
  CHECK(std::string(describe(EndpointError::missing_port)).find("IP:PORT") != std::string::npos);
}

TEST_CASE("equal endpoints hash equally and different ones usually do not") {
  std::unordered_set<Endpoint> set;
  set.insert(Endpoint::parse("127.0.0.1:1").value());
  set.insert(Endpoint::parse("127.0.0.1:1").value());
  set.insert(Endpoint::parse("127.0.0.1:2").value());
  set.insert(Endpoint::parse("127.0.0.2:1").value());
  set.insert(Endpoint::parse("[::1]:1").value());
  set.insert(Endpoint::parse("[fe80::1%1]:1").value());
  set.insert(Endpoint::parse("[fe80::1%2]:1").value());
  CHECK(set.size() == 6);
  CHECK(Endpoint::parse("[::1]:1").value().hash() != Endpoint::parse("[::1]:2").value().hash());
  CHECK(Endpoint{}.to_string() == "(none)");
  CHECK(Endpoint{} != Endpoint::v4({0, 0, 0, 0}, 0));
}

TEST_CASE("ip16 writes IPv4 as an IPv4-mapped address and IPv6 as itself") {
  const auto v4 = Endpoint::v4({192, 0, 2, 1}, 53).ip16();
  CHECK(v4 == std::array<std::uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1});
  CHECK(Endpoint::v6(v4, 53) == Endpoint::v4({192, 0, 2, 1}, 53));
  const Endpoint v6 = Endpoint::parse("[2001:db8::1]:1").value();
  CHECK(Endpoint::v6(v6.ip16(), 1) == v6);
  CHECK(Endpoint{}.ip16() == std::array<std::uint8_t, 16>{});
}

TEST_CASE("unspecified addresses are told apart from real ones") {
  CHECK(Endpoint{}.is_unspecified());
  CHECK(Endpoint::parse("0.0.0.0:9").value().is_unspecified());
  CHECK(Endpoint::parse("[::]:9").value().is_unspecified());
  CHECK_FALSE(Endpoint::parse("127.0.0.1:9").value().is_unspecified());
  CHECK_FALSE(Endpoint::parse("[::1]:9").value().is_unspecified());
}

TEST_CASE("a web endpoint names a WebSocket connection in 100::/64 and no UDP address") {
  const auto e = peermq::Endpoint::web(0x0102030405060708u);
  CHECK(e.is_web());
  CHECK(e.is_v6());
  CHECK(e.port() == 0);
  CHECK(e.web_connection() == 0x0102030405060708u);
  CHECK(e.to_string() == "[100::102:304:506:708]:0");
  CHECK(peermq::Endpoint::web(0).is_web());
  CHECK(peermq::Endpoint::web(7) != peermq::Endpoint::web(8));
  const auto udp = peermq::Endpoint::parse("[2001:db8::1]:9000");
  REQUIRE(udp);
  CHECK_FALSE(udp.value().is_web());
  CHECK(udp.value().web_connection() == 0);
  const auto near = peermq::Endpoint::parse("[100:0:0:1::1]:0");  // 100::/16 but not /64
  REQUIRE(near);
  CHECK_FALSE(near.value().is_web());
}
