#include "service/broker_client.hpp"

#include <chrono>

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using peermq::Duration;
using peermq::overlay::HostOptions;
using peermq::service::client_host_options;
namespace limits = peermq::limits;

TEST_CASE("a broker client's host is not announced and keeps its broker session alive") {
  HostOptions o;
  REQUIRE(o.router.announce);
  REQUIRE(o.channel.keepalive_interval == Duration::zero());  // off for others
  const HostOptions client = client_host_options(o);
  CHECK_FALSE(client.router.announce);
  CHECK(client.channel.keepalive_interval ==
        Duration(limits::kClientKeepaliveInterval));
  // Tests with shortened session timers keep their own, shorter keepalive.
  o.channel.keepalive_interval = 400ms;
  CHECK(client_host_options(o).channel.keepalive_interval == 400ms);
}
