#include "sim/sim_scheduler.hpp"

#include <stdexcept>
#include <string>

namespace peermq::sim {

SimScheduler::SimScheduler(SimSchedulerOptions options)
    : options_(options), now_(options.start) {}

WallTime SimScheduler::wall_now() const {
  return options_.wall_start +
         std::chrono::duration_cast<WallTime::duration>(now_ - options_.start);
}

EventId SimScheduler::at(Instant when, std::function<void()> fn) {
  if (when < now_) when = now_;
  const EventId id = next_id_++;
  queue_.emplace(std::make_pair(when, id), std::move(fn));
  when_.emplace(id, when);
  return id;
}

bool SimScheduler::cancel(EventId id) {
  auto it = when_.find(id);
  if (it == when_.end()) return false;
  queue_.erase({it->second, id});
  when_.erase(it);
  return true;
}

Instant SimScheduler::next_event_at() const noexcept {
  return queue_.empty() ? Instant::max() : queue_.begin()->first.first;
}

bool SimScheduler::run_next() {
  if (queue_.empty()) return false;
  auto first = queue_.begin();
  const auto [when, id] = first->first;
  std::function<void()> fn = std::move(first->second);
  queue_.erase(first);
  when_.erase(id);
  if (when > now_) {
    now_ = when;
    events_this_instant_ = 0;
  } else if (++events_this_instant_ > options_.max_events_per_instant) {
    throw std::logic_error(
        "simulation stuck: " + std::to_string(options_.max_events_per_instant) +
        " events in a row at t=" +
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                           now_ - options_.start)
                           .count()) +
        " us without time advancing (a deadline that never moves past now?)");
  }
  ++events_run_;
  fn();
  return true;
}

bool SimScheduler::run_until(const std::function<bool()>& done, Duration limit) {
  const Instant stop = now_ + limit;
  while (!done()) {
    if (next_event_at() > stop) {
      if (stop > now_) {
        now_ = stop;
        events_this_instant_ = 0;
      }
      return done();
    }
    run_next();
  }
  return true;
}

void SimScheduler::run_for(Duration d) {
  run_until([] { return false; }, d);
}

}  // namespace peermq::sim
