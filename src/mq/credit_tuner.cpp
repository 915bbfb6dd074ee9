#include "mq/credit_tuner.hpp"

#include <algorithm>
#include <chrono>

namespace peermq::mq {

void CreditTuner::set_cap(std::uint32_t cap) noexcept {
  cap_ = cap;
  if (base_ == 0) base_ = kInitialWindow;
  if (cap > 0) base_ = std::min(base_, cap);
  window_ = cap == 0 ? 0 : base_;
  probe_ = Probe::none;
  next_ = Probe::up;
  ramping_ = true;
  hold_ = 0;
  base_rate_ = 0;
  round_open_ = false;
}

void CreditTuner::on_settled(bool limited, Instant now) noexcept {
  if (window_ == 0) return;
  if (!round_open_) {  // this settlement starts the round: the rate counts those after it
    round_open_ = true;
    round_start_ = now;
    round_settled_ = 0;
    round_limited_ = 0;
    return;
  }
  ++round_settled_;
  if (limited) ++round_limited_;
  if (round_settled_ < std::max(4 * window_, kMinRoundSettlements)) return;
  const Duration elapsed = now - round_start_;
  if (elapsed < (ramping_ ? kMinRampRoundTime : kMinRoundTime)) return;
  const bool was_limited = 2 * round_limited_ >= round_settled_;
  const double rate =
      double(round_settled_) / std::chrono::duration<double>(elapsed).count();
  round_start_ = now;
  round_settled_ = 0;
  round_limited_ = 0;
  if (!was_limited) {
    // The window did not hold it back: nothing learnt about its rate. A larger window
    // being tried is kept (it covers what the consumer is given, which base_ did not);
    // a smaller one is undone.
    if (probe_ == Probe::up) base_ = window_;
    window_ = base_;
    probe_ = Probe::none;
    base_rate_ = 0;
    return;
  }
  end_round(rate);
}

void CreditTuner::end_round(double rate) noexcept {
  switch (probe_) {
    case Probe::none:
      base_rate_ = rate;
      if (hold_ > 0) {
        --hold_;
      } else {
        start_probe(next_);
      }
      return;
    case Probe::up:
      if (rate > kGrowGain * base_rate_) {
        base_ = window_;
        base_rate_ = rate;
        start_probe(Probe::up);  // it paid: keep going
      } else {
        window_ = base_;
        probe_ = Probe::none;
        next_ = Probe::down;
        hold_ = kHoldRounds;
        ramping_ = false;
      }
      return;
    case Probe::down:
      if (rate >= kShrinkKeep * base_rate_) {
        base_ = window_;
        base_rate_ = rate;
        start_probe(Probe::down);  // the smaller window does as well
      } else {
        window_ = base_;
        probe_ = Probe::none;
        next_ = Probe::up;
        hold_ = kHoldRounds;
      }
      return;
  }
}

void CreditTuner::start_probe(Probe direction) noexcept {
  const bool can_up = base_ < cap_;
  const bool can_down = base_ > 1;
  if (direction == Probe::up && !can_up) direction = can_down ? Probe::down : Probe::none;
  if (direction == Probe::down && !can_down) direction = can_up ? Probe::up : Probe::none;
  probe_ = direction;
  if (direction != Probe::up) ramping_ = false;  // the ramp ends where it stops going up
  switch (direction) {
    case Probe::up: window_ = std::min(cap_, 2 * base_); break;
    case Probe::down: window_ = std::max<std::uint32_t>(1, base_ / 2); break;
    case Probe::none:
      window_ = base_;
      hold_ = kHoldRounds;
      break;
  }
}

}  // namespace peermq::mq
