#include "runtime/broker_client.hpp"

#include <chrono>

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using peermq::Duration;
using peermq::runtime::broker_client_node_options;
using peermq::runtime::NodeOptions;
namespace limits = peermq::limits;

TEST_CASE("a broker client's node is not announced and keeps its broker session alive") {
  NodeOptions o;
  REQUIRE(o.host.router.announce);
  REQUIRE(o.host.channel.keepalive_interval == Duration::zero());  // off for others
  const NodeOptions client = broker_client_node_options(o);
  CHECK_FALSE(client.host.router.announce);
  CHECK(client.host.channel.keepalive_interval ==
        Duration(limits::client_keepalive_interval));
  // Tests with shortened session timers keep their own, shorter keepalive.
  o.host.channel.keepalive_interval = 400ms;
  CHECK(broker_client_node_options(o).host.channel.keepalive_interval == 400ms);
}
