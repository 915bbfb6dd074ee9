// CreditTuner: how many unanswered deliveries the broker lets one consumer hold — its
// window — found by measurement, under the cap the consumer asked for (its prefetch).
//
// A fixed prefetch is wrong both ways: a small one caps a fast consumer at window / round
// trip (16 deliveries over a loopback round trip were a quarter of what the pipe carries),
// a large one lets a slow consumer hoard messages its competitors could be working on, and
// redelivers more when it dies. HTTP/2 and QUIC receivers auto-tune their flow-control
// windows for the first reason; here the broker can see both sides, so it tunes:
//
// - Rounds. The tuner counts settlements (answers and rejects) of the consumer; a round is
//   max(4 * window, kMinRoundSettlements) of them lasting at least kMinRoundTime (50 ms:
//   long enough for a rate to mean something on a busy machine; kMinRampRoundTime, 5 ms,
//   while the window ramps up from its start, until the first probe that does not pay,
//   as slow start doubles per round trip), and its
//   rate is settlements per second. A round counts only if the consumer was window
//   limited at at least half of its settlements — it held its whole window, its link was
//   not blocked (the pipe was not full) and messages for it were waiting — since
//   otherwise the window was not what held it back, and the rate says nothing about it
//   (an up probe is kept then: the larger window covers the consumer's demand).
// - Probes. By Little's law rate = window / latency: where the window is the limit (the
//   round trip dominates), doubling it nearly doubles the rate; where the consumer is (it
//   processes one message at a time), doubling it only doubles the time each message
//   waits at the consumer; in between (CPUs shared by broker and clients) a larger window
//   still buys larger batches, a little rate for each doubling. So the tuner compares
//   adjacent windows, with hysteresis: from w it keeps 2w if 2w's rate is more than
//   kGrowGain (5%) above w's; from 2w it keeps w if w's rate is at least kShrinkKeep (99%)
//   of 2w's. From the start (min(cap, kInitialWindow)) it probes up, doubling while that
//   pays; a probe that does not pay is undone, and after kHoldRounds limited rounds it
//   probes the other way, so a consumer whose answers lag comes down to the window it can
//   use (a slow handler's rate is the same at any window: it comes down to 1), and one
//   that got faster goes up again. Each comparison is between two fresh measurements,
//   never against a stale best, and the two thresholds leave a band between them, so noise
//   makes the window step around its knee rather than drift; the bias is toward the larger
//   window, which costs a fast consumer little.
// - Bounds: 1 <= window <= cap. cap 0 pauses the consumer (window 0). Changing the cap
//   keeps what was learnt, clamped.
//
// Deterministic: driven by the Instants it is given. Memory: a few words per consumer.
#pragma once

#include <cstdint>

#include <peermq/clock.hpp>

namespace peermq::mq {

class CreditTuner {
 public:
  static constexpr std::uint32_t kInitialWindow = 16;
  static constexpr std::uint32_t kMinRoundSettlements = 256;
  static constexpr Duration kMinRoundTime = std::chrono::milliseconds(50);
  static constexpr Duration kMinRampRoundTime = std::chrono::milliseconds(5);
  static constexpr unsigned kHoldRounds = 4;
  static constexpr double kGrowGain = 1.05;
  static constexpr double kShrinkKeep = 0.99;

  explicit CreditTuner(std::uint32_t cap = 0) noexcept { set_cap(cap); }

  // The consumer's prefetch: the most the window may be (0: deliver nothing).
  void set_cap(std::uint32_t cap) noexcept;
  std::uint32_t cap() const noexcept { return cap_; }
  // How many unanswered deliveries the consumer may hold now.
  std::uint32_t window() const noexcept { return window_; }

  // One delivery of the consumer was settled at `now`; `limited`: at that moment it held
  // its whole window, with messages waiting for it and its link open.
  void on_settled(bool limited, Instant now) noexcept;

 private:
  enum class Probe : std::uint8_t { none, up, down };

  void end_round(double rate) noexcept;
  void start_probe(Probe direction) noexcept;

  std::uint32_t cap_ = 0;
  std::uint32_t window_ = 0;
  std::uint32_t base_ = 0;  // the window a probe started from, and returns to if it fails
  double base_rate_ = 0;    // base_'s rate, from its latest limited round; 0: unknown
  Probe probe_ = Probe::none;
  Probe next_ = Probe::up;  // the direction of the next probe
  bool ramping_ = true;     // no probe has failed since the start: short rounds
  unsigned hold_ = 0;       // limited rounds at base_ before the next probe
  bool round_open_ = false;  // a round has started: round_start_ is set
  Instant round_start_{};
  std::uint32_t round_settled_ = 0;
  std::uint32_t round_limited_ = 0;
};

}  // namespace peermq::mq
