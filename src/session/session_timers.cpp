#include "session/session_timers.hpp"

#include "session/session.hpp"

namespace peermq::session {

void SessionTimers::place(std::size_t i, Entry e) noexcept {
  e.session->timer_slot_ = static_cast<std::uint32_t>(i);
  heap_[i] = e;
}

void SessionTimers::sift_up(std::size_t i) noexcept {
  const Entry e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!(e.at < heap_[parent].at)) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void SessionTimers::sift_down(std::size_t i) noexcept {
  const Entry e = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1].at < heap_[child].at) ++child;
    if (!(heap_[child].at < e.at)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void SessionTimers::erase_at(std::size_t i) noexcept {
  heap_[i].session->timer_slot_ = kNoSlot;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;  // it was the last one
  place(i, last);
  sift_up(i);
  sift_down(static_cast<std::size_t>(last.session->timer_slot_));
}

void SessionTimers::set(Session& s, Instant deadline) {
  const std::uint32_t slot = s.timer_slot_;
  if (deadline == Instant::max()) {
    if (slot != kNoSlot) erase_at(slot);
    return;
  }
  if (slot == kNoSlot) {
    heap_.push_back(Entry{deadline, &s});
    sift_up(heap_.size() - 1);
    return;
  }
  const Instant before = heap_[slot].at;
  heap_[slot].at = deadline;
  if (deadline < before) {
    sift_up(slot);
  } else {
    sift_down(slot);
  }
}

void SessionTimers::take_due(Instant now, std::vector<Session*>& out) {
  while (!heap_.empty() && heap_.front().at <= now) {
    out.push_back(heap_.front().session);
    erase_at(0);
  }
}

}  // namespace peermq::session
