// Pinger: a node found by address, its path (direct or relayed), the endpoint that path
// sends to, and each ping's round-trip time.
#include <peermq/pinger.hpp>

#include <chrono>
#include <optional>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/broker.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/identity.hpp>
#include <peermq/queue_error.hpp>

#include "api_test_util.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::test::run_until;
using peermq::test::Scene;

namespace {

PingerOptions pinger_options(const Scene& scene, const Address& target) {
  PingerOptions o;
  o.target = target.to_string();
  o.listen = "127.0.0.1:0";
  o.discovery_dir = scene.path("run");
  return o;
}

}  // namespace

TEST_CASE("a pinger finds a node on this host: a direct path to its endpoint, and each RTT") {
  Scene scene("ping");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  Pinger pinger(loop, pinger_options(scene, broker.address()));
  std::vector<PingReply> replies;
  pinger.on_reply([&](const PingReply& r) { replies.push_back(r); });
  CHECK(pinger.ping(1).error() == QueueError::not_started);
  std::string why;
  REQUIRE_MESSAGE(pinger.start(&why), why);
  REQUIRE(run_until(loop, [&] { return pinger.path().kind != PathKind::none; }, 10s));
  const Instant before = loop.now();
  REQUIRE(pinger.ping(1));
  REQUIRE(pinger.ping(2));
  REQUIRE(run_until(loop, [&] { return replies.size() == 2; }, 10s));
  const Duration most = loop.now() - before;
  for (const PingReply& r : replies) {
    CAPTURE(r.seq);
    CHECK(r.path.kind == PathKind::direct);
    CHECK(r.path.endpoint == broker.endpoint());
    CHECK(r.rtt > Duration::zero());
    CHECK(r.rtt <= most);
  }
  CHECK(replies[0].seq + replies[1].seq == 3);
  CHECK(std::string(to_string(pinger.path().kind)) == "direct");
  CHECK(pinger.path().endpoint == broker.endpoint());
}

TEST_CASE("a pinger without a target, or with a mistyped one, does not start, and says why") {
  PingerOptions o;
  o.listen = "127.0.0.1:0";
  {
    Pinger pinger(o);
    std::string why;
    CHECK(pinger.start(&why).error() == QueueError::invalid_options);
    CHECK_MESSAGE(why.find("target") != std::string::npos, why);
  }
  o.target = Identity::generate().address().to_string();
  o.target[5] = o.target[5] == 'a' ? 'b' : 'a';  // one mistyped character
  Pinger pinger(o);
  std::string why;
  CHECK(pinger.start(&why).error() == QueueError::invalid_options);
  CHECK_MESSAGE(why.find("target address") != std::string::npos, why);
  CHECK(pinger.path().kind == PathKind::none);
  CHECK(pinger.path().endpoint.empty());
}

TEST_CASE("path kinds are named as peermq ping prints them") {
  CHECK(std::string(to_string(PathKind::none)) == "none");
  CHECK(std::string(to_string(PathKind::relayed)) == "relayed");
  CHECK(std::string(to_string(PathKind::direct)) == "direct");
}
