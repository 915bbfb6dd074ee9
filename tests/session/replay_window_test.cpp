#include "session/replay_window.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <system_error>

using peermq::Result;
using peermq::session::ReplayError;
using peermq::session::ReplayWindow;

namespace {

constexpr std::uint64_t W = ReplayWindow::kWindowPackets;  // 8192
constexpr std::uint64_t T_LIM = ReplayWindow::kRejectAfter;
constexpr std::uint64_t LAP = (W / 64 + 1) * 64;  // counters per turn of the 129-word ring
constexpr ReplayError ok{};                       // "accepted" in the tables below
// (a replay; "dup" would clash with dup() from <unistd.h>)
constexpr ReplayError rep = ReplayError::duplicate;
constexpr ReplayError old = ReplayError::too_old;
constexpr ReplayError lim = ReplayError::exhausted;

std::error_code code(ReplayError e) {
  return e == ok ? std::error_code{} : make_error_code(e);
}

// The specification, written the slow obvious way: every counter seen, and the highest.
class ReferenceWindow {
 public:
  ReplayError check(std::uint64_t c) const {
    if (c >= T_LIM) return lim;
    if (highest_ && *highest_ >= W && c <= *highest_ - W) return old;
    if (seen_.count(c) != 0) return rep;
    return ok;
  }
  ReplayError accept(std::uint64_t c) {
    const ReplayError verdict = check(c);
    if (verdict != ok) return verdict;
    seen_.insert(c);
    highest_ = std::max(highest_.value_or(0), c);
    // Counters this far back are refused as too old before the set is asked: drop them.
    if (seen_.size() > 4 * W) seen_.erase(seen_.begin(), seen_.lower_bound(*highest_ - W));
    return ok;
  }
  std::uint64_t highest() const { return highest_.value_or(0); }

 private:
  std::set<std::uint64_t> seen_;
  std::optional<std::uint64_t> highest_;
};

struct Case {
  std::uint64_t counter;
  ReplayError want;
};

constexpr std::uint64_t A = 9 + W;           // a jump by exactly the window from 9
constexpr std::uint64_t B = A + (W - 1);     // a jump by the window - 1
constexpr std::uint64_t C = B + (W + 1);     // a jump by the window + 1
constexpr std::uint64_t D = C + (1u << 20);  // far ahead
constexpr std::uint64_t R = 1u << 24;        // a lap base: R + k * LAP share R's word and bit
static_assert(R % 64 == 0 && R > D + W);

// Run in order on one window; H below is the highest accepted counter at that point.
constexpr std::array kCases{
    /*  1 */ Case{0, ok},   // the first counter of a key
    /*  2 */ Case{1, ok},   // in order
    /*  3 */ Case{1, rep},  // replayed at once
    /*  4 */ Case{9, ok},   // skips 2..8
    /*  5 */ Case{8, ok},   // out of order, inside the window
    /*  6 */ Case{7, ok},
    /*  7 */ Case{7, rep},
    /*  8 */ Case{0, rep},            // the very first counter, replayed later
    /*  9 */ Case{2, ok},             // the gap fills in any order
    /* 10 */ Case{A, ok},             // H = A: jump by exactly W
    /* 11 */ Case{A - (W - 1), ok},   // H - 8191, unseen: the oldest counter accepted
    /* 12 */ Case{A - (W - 1), rep},  // ...once
    /* 13 */ Case{A - W, old},        // H - 8192 (= 9, seen): just outside
    /* 14 */ Case{0, old},
    /* 15 */ Case{A, rep},  // the highest itself
    /* 16 */ Case{A - 1, ok},
    /* 17 */ Case{B, ok},            // H = B: jump by W - 1
    /* 18 */ Case{A, rep},           // H - 8191, seen before the jump: still known
    /* 19 */ Case{A - 1, old},       // H - 8192
    /* 20 */ Case{A + 1, ok},        // H - 8190, unseen
    /* 21 */ Case{C, ok},            // H = C: jump by W + 1
    /* 22 */ Case{B, old},           // H - 8193: the old highest
    /* 23 */ Case{C - W, old},       // H - 8192
    /* 24 */ Case{C - (W - 1), ok},  // H - 8191
    /* 25 */ Case{C + 1, ok},        // in order again
    /* 26 */ Case{D, ok},            // H = D: jump by 2^20
    /* 27 */ Case{C + 1, old},       // everything before the jump is too old
    /* 28 */ Case{D - 1, ok},
    /* 29 */ Case{D - (W - 1), ok},  // H - 8191
    /* 30 */ Case{D - W, old},       // H - 8192
    /* 31 */ Case{D + 1, ok},
    /* 32 */ Case{R, ok},  // ring lap 0
    /* 33 */ Case{R + 100, ok},
    /* 34 */ Case{R + 4000, ok},
    /* 35 */ Case{R + 8000, ok},
    /* 36 */ Case{R + LAP + 200, ok},  // H = R + 8456: a whole lap of the ring on
    /* 37 */ Case{R + LAP + 100, ok},  // R + 100's word and bit, lap 1: not a duplicate
    /* 38 */ Case{R + LAP, ok},        // R's word and bit, lap 1
    /* 39 */ Case{R + LAP + 100, rep},
    /* 40 */ Case{R + 8000, rep},          // H - 456: lap 0 bits still in the window survive
    /* 41 */ Case{R + 4000, rep},          // H - 4456
    /* 42 */ Case{R + 100, old},           // H - 8356
    /* 43 */ Case{R + LAP + 4200, ok},     // H = R + 12456
    /* 44 */ Case{R + LAP + 8100, ok},     // H = R + 16356
    /* 45 */ Case{R + 2 * LAP + 100, ok},  // H = R + 16612: R + 100's bit, lap 2
    /* 46 */ Case{R + 2 * LAP, ok},        // R's bit, lap 2 (set in lap 1 by case 38)
    /* 47 */ Case{R + LAP + 8100, rep},    // H - 256
    /* 48 */ Case{R + LAP + 4200, rep},    // H - 4156
    /* 49 */ Case{R + 2 * LAP + 100 - (W - 1), ok},  // H - 8191, unseen
    /* 50 */ Case{R + 2 * LAP + 100 - W, old},       // H - 8192, unseen
    /* 51 */ Case{R + LAP + 200, rep},               // H - 8156, lap 1
    /* 52 */ Case{R + 3 * LAP + 100, ok},            // jump by exactly one lap onto the old H's bit
    /* 53 */ Case{R + 2 * LAP + 100, old},           // H - 8256
    /* 54 */ Case{R + 3 * LAP + 99, ok},
    /* 55 */ Case{T_LIM - W - 1, ok},  // far jump towards the limit
    /* 56 */ Case{T_LIM - 1, ok},      // H = T_LIM - 1: the last counter allowed
    /* 57 */ Case{T_LIM, lim},         // the reject limit
    /* 58 */ Case{T_LIM + 1, lim},
    /* 59 */ Case{UINT64_MAX, lim},  // the maximum counter
    /* 60 */ Case{T_LIM - 1, rep},
    /* 61 */ Case{T_LIM - W, ok},       // H - 8191
    /* 62 */ Case{T_LIM - W - 1, old},  // H - 8192 (seen: too old wins)
    /* 63 */ Case{T_LIM - 2, ok},
};

}  // namespace

TEST_CASE("replay window edge cases, in order on one window") {
  ReplayWindow window;
  ReferenceWindow reference;
  for (std::size_t i = 0; i < kCases.size(); ++i) {
    const Case& c = kCases[i];
    const std::size_t number = i + 1;
    const std::uint64_t counter = c.counter;
    const std::uint64_t highest_before = window.highest();
    CAPTURE(number);
    CAPTURE(counter);
    CAPTURE(highest_before);
    // The table agrees with the plain model of the specification...
    CHECK(reference.accept(counter) == c.want);
    // ...and the window agrees with the table, in check() and in accept().
    const Result<void> checked = window.check(counter);
    CHECK(checked.error() == code(c.want));
    const Result<void> accepted = window.accept(counter);
    CHECK(accepted.error() == code(c.want));
    CHECK(window.highest() == reference.highest());
  }
  CHECK(window.highest() == T_LIM - 1);
}

TEST_CASE("check() marks nothing and does not move the window") {
  ReplayWindow window;
  CHECK(window.check(1'000'000).ok());
  CHECK(window.check(1'000'000).ok());
  CHECK(window.empty());
  CHECK(window.highest() == 0);
  // Had check() moved the window to 1,000,000, counter 0 would now be too old.
  CHECK(window.accept(0).ok());
  CHECK(window.check(5).ok());
  CHECK(window.check(5).ok());
  CHECK(window.accept(5).ok());
  CHECK(window.check(5).error() == ReplayError::duplicate);
  CHECK(window.highest() == 5);
}

TEST_CASE("a fresh window accepts any counter below the limit and nothing from it on") {
  ReplayWindow window;
  CHECK(window.empty());
  CHECK(window.check(T_LIM).error() == ReplayError::exhausted);
  CHECK(window.accept(UINT64_MAX).error() == ReplayError::exhausted);
  CHECK(window.empty());
  CHECK(window.accept(T_LIM - 1).ok());
  CHECK(!window.empty());
  CHECK(window.highest() == T_LIM - 1);
  CHECK(window.accept(T_LIM - 1).error() == ReplayError::duplicate);
}

TEST_CASE("reset forgets every counter, for the next key") {
  ReplayWindow window;
  for (std::uint64_t c = 0; c < 3 * W; c += 7) REQUIRE(window.accept(c).ok());
  window.reset();
  CHECK(window.empty());
  CHECK(window.highest() == 0);
  for (std::uint64_t c = 0; c < 3 * W; c += 7) CHECK(window.accept(c).ok());
}

TEST_CASE("replay window decides like the reference model on random traffic") {
  // 1,000,000 operations in all. Seeds 1-3 start at 0; seed 4 starts close enough to the
  // limit that its traffic reaches it about a third of the way in.
  constexpr int kOperationsPerSeed = 250'000;
  for (const std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    auto below = [&](std::uint64_t n) {
      return std::uniform_int_distribution<std::uint64_t>(0, n)(rng);
    };
    ReplayWindow window;
    ReferenceWindow reference;
    if (seed == 4) {
      REQUIRE(window.accept(T_LIM - (std::uint64_t{1} << 31)).ok());
      REQUIRE(reference.accept(T_LIM - (std::uint64_t{1} << 31)) == ok);
    }
    std::array<std::uint64_t, 16> recent{};   // accepted counters, replayed as duplicates
    std::array<std::uint64_t, 4> verdicts{};  // by ReplayError value, 0 = accepted
    std::size_t accepted = 0;
    for (int op = 0; op < kOperationsPerSeed; ++op) {
      const std::uint64_t h = reference.highest();
      const std::uint64_t roll = below(99);
      std::uint64_t counter = 0;
      if (roll < 20) {
        counter = recent[below(recent.size() - 1)];  // a replay of a recent packet
      } else if (roll < 45) {
        counter = h - std::min(h, below(255));  // reordered by a little
      } else if (roll < 65) {
        counter = h - std::min(h, W - 64 + below(128));  // around the window's edge
      } else if (roll < 85) {
        counter = h + 1 + below(63);  // in order, small gaps
      } else if (roll < 92) {
        counter = h + below(3 * LAP);  // steps across the ring's end
      } else if (roll < 99) {
        counter = h - std::min(h, W + below(std::uint64_t{1} << 22));  // too old
      } else {
        counter = h + below(std::uint64_t{1} << 22);  // far ahead
      }
      if (below(9) == 0) {  // a check() alone must agree and change nothing
        const ReplayError want = reference.check(counter);
        if (window.check(counter).error() != code(want)) {
          CAPTURE(op);
          CAPTURE(counter);
          CAPTURE(h);
          FAIL_CHECK("check() disagrees with the reference model");
          break;
        }
        continue;
      }
      const ReplayError want = reference.accept(counter);
      ++verdicts[static_cast<std::size_t>(want)];
      if (want == ok) recent[accepted++ % recent.size()] = counter;
      if (window.accept(counter).error() != code(want) || window.highest() != reference.highest()) {
        CAPTURE(op);
        CAPTURE(counter);
        CAPTURE(h);
        CAPTURE(static_cast<int>(want));
        FAIL_CHECK("accept() disagrees with the reference model");
        break;
      }
    }
    // The traffic reached every verdict, so the comparison meant something.
    CAPTURE(verdicts[0]);
    CAPTURE(verdicts[1]);
    CAPTURE(verdicts[2]);
    CAPTURE(verdicts[3]);
    CHECK(verdicts[0] > 20'000);
    CHECK(verdicts[static_cast<std::size_t>(rep)] > 20'000);
    CHECK(verdicts[static_cast<std::size_t>(old)] > 20'000);
    CHECK((verdicts[static_cast<std::size_t>(lim)] > 10'000) == (seed == 4));
  }
}

TEST_CASE("every replay error has its own message in the peermq.session.replay category") {
  std::set<std::string> messages;
  for (const ReplayError e : {rep, old, lim}) {
    const std::error_code ec = e;
    CAPTURE(static_cast<int>(e));
    CHECK(std::string(ec.category().name()) == "peermq.session.replay");
    CHECK(ec.message().find("dropped") != std::string::npos);
    messages.insert(ec.message());
  }
  CHECK(messages.size() == 3);
}

TEST_CASE("a window needs no ring while its counters stay below 128, and keeps them in one") {
  // Short sequences from a fresh window: counters below kCompactCounters in any order, then
  // a step across it (just above, or far enough that the early ones fall out of the
  // window), then more traffic around both; every verdict must match the reference model.
  constexpr std::uint64_t C = ReplayWindow::kCompactCounters;
  std::mt19937_64 rng(7);
  auto below = [&](std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n)(rng);
  };
  for (int sequence = 0; sequence < 2000; ++sequence) {
    CAPTURE(sequence);
    ReplayWindow window;
    ReferenceWindow reference;
    const int early = static_cast<int>(1 + below(60));
    for (int i = 0; i < early; ++i) {
      const std::uint64_t c = below(C - 1);
      REQUIRE(window.accept(c).error() == code(reference.accept(c)));
    }
    CHECK(window.compact());
    const std::uint64_t step = below(3) == 0 ? C + W + below(3 * LAP) : C + below(2 * LAP);
    REQUIRE(window.accept(step).error() == code(reference.accept(step)));
    CHECK_FALSE(window.compact());
    for (int i = 0; i < 200; ++i) {
      const std::uint64_t c = below(1) == 0 ? below(C + 64) : step - std::min(step, below(W + 64));
      const ReplayError want = reference.check(c);
      REQUIRE(window.check(c).error() == code(want));
      REQUIRE(window.accept(c).error() == code(reference.accept(c)));
    }
  }
  // Counters 0..127 in reverse order, each once, then each again: all accepted, then all
  // refused as replays, all without a ring.
  ReplayWindow window;
  for (std::uint64_t c = C; c-- > 0;) REQUIRE(window.accept(c).ok());
  for (std::uint64_t c = 0; c < C; ++c) REQUIRE(window.accept(c).error() == code(rep));
  CHECK(window.compact());
  CHECK(window.highest() == C - 1);
  window.reset();
  CHECK(window.compact());
  CHECK(window.empty());
}
