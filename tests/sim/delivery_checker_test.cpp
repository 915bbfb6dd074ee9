#include "sim/delivery_checker.hpp"

#include <doctest/doctest.h>

using namespace peermq;
using namespace peermq::sim;

namespace {

PublicKey key(std::uint8_t n) {
  PublicKey k{};
  k.fill(n);
  return k;
}

const PublicKey A = key(1);
const PublicKey B = key(2);

struct Run {
  DeliveryChecker checker;
  DeliveryChecker::StreamId s = checker.open(A, B, "a->b");
  void send(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) checker.on_sent(s, checker.sent(s));
  }
  void deliver(std::uint64_t seq, std::size_t size = 40) {
    checker.on_delivered(B, A, checker.message(s, seq, size));
  }
  std::size_t failures() {
    Verdict v;
    checker.judge(v);
    return v.failures().size();
  }
};

}  // namespace

TEST_CASE("delivery checker: a table of deliveries it accepts and refuses") {
  struct Case {
    int n;
    std::vector<std::uint64_t> order;  // seqs delivered, of 3 sent
    bool excuse_first_two;
    bool safe;
    bool complete;
  };
  const Case cases[] = {
      /* 1 */ {1, {0, 1, 2}, false, true, true},
      /* 2 */ {2, {0, 1}, false, true, false},         // one still missing
      /* 3 */ {3, {0, 0, 1, 2}, false, false, true},   // a duplicate
      /* 4 */ {4, {1, 0, 2}, false, false, false},     // reordered: #0 came too late
      /* 5 */ {5, {0, 2}, false, false, false},        // a gap
      /* 6 */ {6, {2}, true, true, true},              // a restart lost 0 and 1: excused
      /* 7 */ {7, {0, 2, 2}, true, false, true},       // excused losses, never duplicates
      /* 8 */ {8, {}, true, true, false},              // the one sent after is owed
  };
  for (const Case& c : cases) {
    CAPTURE(c.n);
    Run r;
    r.send(2);
    if (c.excuse_first_two) r.checker.excuse_losses(r.s);
    r.send(1);
    for (const std::uint64_t seq : c.order) r.deliver(seq);
    CHECK((r.failures() == 0) == c.safe);
    CHECK(r.checker.complete() == c.complete);
  }
}

TEST_CASE("delivery checker notices corrupted, truncated, misdirected and unsent messages") {
  Run r;
  r.send(2);
  auto m = r.checker.message(r.s, 0, 64);
  m[40] ^= 1;
  r.checker.on_delivered(B, A, m);
  CHECK(r.failures() == 1);
  auto cut = r.checker.message(r.s, 0, 64);
  cut.resize(50);
  r.checker.on_delivered(B, A, cut);
  CHECK(r.failures() == 2);
  r.checker.on_delivered(A, B, r.checker.message(r.s, 0, 64));  // wrong way round
  CHECK(r.failures() == 3);
  r.deliver(5);  // never sent
  CHECK(r.failures() == 4);
  const std::uint8_t foreign[3] = {1, 2, 3};
  r.checker.on_delivered(B, A, foreign);
  CHECK(r.failures() == 5);
  Verdict v;
  r.checker.judge_complete(v);
  CHECK(v.failures().size() == 1);  // nothing valid arrived: both still owed
}
