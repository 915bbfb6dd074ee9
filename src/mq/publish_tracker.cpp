#include "mq/publish_tracker.hpp"

namespace peermq::mq {

namespace {
std::int64_t ticks(Instant t) noexcept {
  return t.time_since_epoch().count();
}
}  // namespace

PublishTracker::PublishTracker(const MessageStore& store, ProducerTable& producers, Duration window,
                               std::size_t max_entries, Counter& early_turns, Instant now) noexcept
    : store_(store),
      producers_(producers),
      window_(window),
      max_entries_(max_entries),
      early_turns_(early_turns),
      turn_at_(ticks(now) + window.count()) {}

void PublishTracker::add(Pos p, std::uint32_t producer, std::uint64_t id, Instant now) {
  pending_.push_back(p);
  ++*pending_ids_.insert(MessageKey{producer, id}, 0).first;  // stored twice if forgotten
  if (dedupe_.entries() >= max_entries_) {
    early_turns_.inc();
    turn(now);
  }
  remember(producer, id);
}

void PublishTracker::remember(std::uint32_t producer, std::uint64_t id) {
  if (dedupe_.contains(producer, id)) return;
  if (dedupe_.insert(producer, id)) producers_.retain(producer);  // one per generation
}

void PublishTracker::on_timeout(Instant now) {
  if (ticks(now) >= turn_at_) turn(now);
}

// An id is remembered in the current generation, then in the previous one: between one and
// two dedupe windows in all.
void PublishTracker::turn(Instant now) {
  dedupe_.turn([&](std::uint32_t producer) { producers_.release(producer); });
  turn_at_ = ticks(now) + window_.count();
}

}  // namespace peermq::mq
