// SimScheduler: the virtual time and the one event queue of a simulated run.
//
// It is the run's Clock: now() and wall_now() move together, only when an event runs, and
// jump straight to the next event, so minutes of protocol time pass in milliseconds.
// Events run in (time, insertion order): two events at one instant run in the order they
// were scheduled, so a run is a pure function of its inputs and its seeds.
//
// Everything a simulated process does happens in an event: a datagram arriving, a timer
// firing, a driver's "after this loop turn" work. An event may schedule and cancel others
// (itself included) and may schedule at now (it runs after what is already queued for now);
// a time in the past counts as now.
//
// A run that makes no progress is a bug in what it drives (a core whose deadline never
// moves past now would spin a real loop at 100% CPU): after max_events_per_instant events
// without time advancing, run_next() throws std::logic_error naming the instant.
//
// Single-threaded. Callbacks are owned by the scheduler until they run or are cancelled;
// whatever they capture must outlive that.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include <peermq/clock.hpp>

#include "support/manual_clock.hpp"

namespace peermq::sim {

using EventId = std::uint64_t;  // 0 is never an event

struct SimSchedulerOptions {
  Instant start = ManualClock::kDefaultStart;
  WallTime wall_start = ManualClock::kDefaultWall;
  // Events in a row at one instant before the run counts as stuck.
  std::uint64_t max_events_per_instant = 200'000;
};

class SimScheduler final : public Clock {
 public:
  explicit SimScheduler(SimSchedulerOptions options = {});
  SimScheduler(const SimScheduler&) = delete;
  SimScheduler& operator=(const SimScheduler&) = delete;

  Instant now() const override { return now_; }
  WallTime wall_now() const override;
  // Virtual time since the run began.
  Duration elapsed() const noexcept { return now_ - options_.start; }

  // Runs `fn` at `when` (now, if `when` has passed). The id cancels it.
  EventId at(Instant when, std::function<void()> fn);
  EventId after(Duration delay, std::function<void()> fn) { return at(now_ + delay, std::move(fn)); }
  // False when `id` already ran, was cancelled, or never was.
  bool cancel(EventId id);
  bool pending(EventId id) const { return when_.count(id) != 0; }

  // Moves time to the earliest event and runs it; false when nothing is queued.
  bool run_next();
  // Runs events until `done()` holds (tested first, then after every event) or the next
  // event lies more than `limit` from now, in which case time moves to now + limit. True
  // when done() held.
  bool run_until(const std::function<bool()>& done, Duration limit);
  // Runs every event of the next `d`; time ends exactly d later.
  void run_for(Duration d);

  std::size_t queued() const noexcept { return queue_.size(); }
  // Instant::max() when nothing is queued.
  Instant next_event_at() const noexcept;
  std::uint64_t events_run() const noexcept { return events_run_; }

 private:
  SimSchedulerOptions options_;
  Instant now_;
  std::map<std::pair<Instant, EventId>, std::function<void()>> queue_;
  std::map<EventId, Instant> when_;
  EventId next_id_ = 1;
  std::uint64_t events_run_ = 0;
  std::uint64_t events_this_instant_ = 0;
};

}  // namespace peermq::sim
