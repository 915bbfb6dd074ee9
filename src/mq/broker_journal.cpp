#include "mq/broker_journal.hpp"

#include "mq/mq_error.hpp"

namespace peermq::mq {

BrokerJournal::BrokerJournal(Journal& journal, Instant now, WallTime wall_now) noexcept
    : journal_(journal),
      epoch_ticks_(now.time_since_epoch().count()),
      epoch_wall_ms_(
          std::chrono::duration_cast<std::chrono::milliseconds>(wall_now.time_since_epoch())
              .count()) {}

Result<void> BrokerJournal::replayed(std::uint64_t seq) noexcept {
  if (seq == 0 || seq <= last_seq_) return MqError::bad_sequence;
  last_seq_ = seq;
  committed_ = seq;
  return {};
}

void BrokerJournal::commit(std::uint64_t upto) noexcept {
  committed_ = std::max(committed_, upto);
  while (!unsettled_.empty() && unsettled_.front().seq <= committed_) unsettled_.pop_front();
}

std::uint64_t BrokerJournal::floor(const MessageStore& store) const noexcept {
  std::uint64_t floor = store.live() > 0 ? store.uid(store.head()) : last_seq_ + 1;
  for (const Unsettled& u : unsettled_) floor = std::min(floor, u.uid);
  return floor;
}

std::int64_t BrokerJournal::to_wall_ms(std::int64_t ticks) const noexcept {
  const auto per_ms = std::chrono::duration_cast<Duration>(std::chrono::milliseconds(1)).count();
  return epoch_wall_ms_ + (ticks - epoch_ticks_) / per_ms;
}

std::int64_t BrokerJournal::from_wall_ms(std::int64_t ms) const noexcept {
  // A record's time is at most decades away; clamp what a corrupt one says.
  constexpr std::int64_t kLimit = std::int64_t{1} << 40;  // ms: ~35 years
  const std::int64_t d =
      std::clamp(ms, epoch_wall_ms_ - kLimit, epoch_wall_ms_ + kLimit) - epoch_wall_ms_;
  const auto per_ms = std::chrono::duration_cast<Duration>(std::chrono::milliseconds(1)).count();
  return epoch_ticks_ + d * per_ms;
}

}  // namespace peermq::mq
