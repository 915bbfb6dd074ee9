#include "platform/sockaddr.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/un.h>

using peermq::Endpoint;
using peermq::platform::from_sockaddr;
using peermq::platform::to_sockaddr;

TEST_CASE("endpoints round trip through sockaddr_storage") {
  for (const char* text : {"10.1.2.3:5353", "[2001:db8::9]:5353", "[fe80::1%3]:7"}) {
    CAPTURE(text);
    Endpoint endpoint = Endpoint::parse(text).value();
    sockaddr_storage storage{};
    socklen_t length = to_sockaddr(endpoint, storage);
    CHECK(length == (endpoint.is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    auto back = from_sockaddr(storage);
    REQUIRE(back.has_value());
    CHECK(*back == endpoint);
  }
  sockaddr_storage unix_like{};
  unix_like.ss_family = AF_UNIX;
  CHECK_FALSE(from_sockaddr(unix_like).has_value());
  sockaddr_storage none{};
  CHECK(to_sockaddr(Endpoint{}, none) == 0);
}

TEST_CASE("an IPv4-mapped IPv6 address is the IPv4 endpoint, and maps back for v6 sockets") {
  Endpoint mapped = Endpoint::parse("[::ffff:192.0.2.1]:53").value();
  CHECK(mapped.is_v4());
  CHECK(mapped == Endpoint::parse("192.0.2.1:53").value());

  sockaddr_storage storage{};
  CHECK(to_sockaddr(mapped, storage, true) == sizeof(sockaddr_in6));
  CHECK(storage.ss_family == AF_INET6);
  CHECK(from_sockaddr(storage).value() == mapped);
}
