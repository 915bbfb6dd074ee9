#include "support/manual_clock.hpp"
#include "sim/sim_directory.hpp"

#include <doctest/doctest.h>

#include <peermq/clock.hpp>

#include "sim/sim_random.hpp"
#include "wire/limits.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using namespace peermq::sim;

TEST_CASE("sim directory finds a node by its signed record until it withdraws or it expires") {
  SimRandom random(1);
  const Identity me = Identity::generate();
  const Identity other = Identity::generate();
  SimDirectory d;
  const WallTime t = ManualClock::kDefaultWall;
  const overlay::Candidates where{Endpoint::v4({192, 0, 2, 1}, 4000)};
  CHECK_FALSE(d.lookup(me.public_key(), t, nullptr).ok());
  REQUIRE(d.announce(me, where, t, nullptr).ok());
  auto found = d.lookup(me.public_key(), t + 1s, nullptr);
  REQUIRE(found.ok());
  CHECK(found->endpoints == where);
  CHECK_FALSE(d.lookup(other.public_key(), t, nullptr).ok());
  // A crashed node's record stops counting once it is too old to be believed.
  std::string why;
  CHECK_FALSE(d.lookup(me.public_key(), t + limits::kLocalAnnouncementLifetime + 1s, &why).ok());
  CHECK_FALSE(why.empty());
  d.withdraw(me.public_key());
  CHECK(d.size() == 0);
}

TEST_CASE("sim directory that fails every lookup finds nobody") {
  SimRandom random(2);
  const Identity me = Identity::generate();
  SimDirectory d;
  const WallTime t = ManualClock::kDefaultWall;
  REQUIRE(d.announce(me, {Endpoint::v4({192, 0, 2, 1}, 4000)}, t, nullptr).ok());
  d.fail_lookups(true);
  CHECK_FALSE(d.lookup(me.public_key(), t, nullptr).ok());
  CHECK(d.lookups() == 1);
}
