#include "channel/range_set.hpp"

#include <doctest/doctest.h>

using peermq::channel::RangeSet;

TEST_CASE("range set merges overlapping and touching ranges and counts new offsets") {
  RangeSet s;
  CHECK(s.insert(10, 20) == 10);
  CHECK(s.insert(30, 40) == 10);
  CHECK(s.insert(15, 35) == 10);  // bridges the two
  REQUIRE(s.ranges().size() == 1);
  CHECK(s.front().begin == 10);
  CHECK(s.front().end == 40);
  CHECK(s.insert(40, 41) == 1);  // touching merges
  CHECK(s.ranges().size() == 1);
  CHECK(s.insert(0, 5) == 5);
  CHECK(s.ranges().size() == 2);
  CHECK(s.insert(0, 5) == 0);
  CHECK(s.size() == 36);
  CHECK(s.contains(12, 41));
  CHECK_FALSE(s.contains(4, 11));
  CHECK(s.covered_end(3) == 5);
  CHECK(s.covered_end(7) == 7);
  CHECK(s.first_gap_end(5, 100) == 10);
  CHECK(s.first_gap_end(41, 100) == 100);
}

TEST_CASE("range set erase trims and splits ranges") {
  RangeSet s;
  s.insert(0, 100);
  s.erase(40, 60);
  REQUIRE(s.ranges().size() == 2);
  CHECK(s.ranges()[0].end == 40);
  CHECK(s.ranges()[1].begin == 60);
  s.erase(30, 70);
  CHECK(s.size() == 60);
  s.erase(0, 100);
  CHECK(s.empty());
}
