#include "overlay/peer_timers.hpp"

#include <algorithm>

namespace peermq::overlay {

namespace {

// std::*_heap build a max-heap: "later" first puts the earliest deadline on top. Ties go
// by key, so the order never depends on how the entries were pushed.
bool later(const auto& a, const auto& b) noexcept {
  if (a.at != b.at) return b.at < a.at;
  return b.peer < a.peer;
}

// Stale entries may outnumber live ones by this much before the heap is rebuilt.
constexpr std::size_t kStaleSlack = 64;

}  // namespace

bool PeerTimers::stale(const Entry& e) const noexcept {
  auto it = current_.find(e.peer);
  return it == current_.end() || it->second != e.at;
}

void PeerTimers::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), later<Entry, Entry>);
  heap_.pop_back();
}

void PeerTimers::drop_stale_top() {
  while (!heap_.empty() && stale(heap_.front())) pop();
}

void PeerTimers::rebuild() {
  heap_.clear();
  for (const auto& [peer, at] : current_) heap_.push_back(Entry{at, peer});
  std::make_heap(heap_.begin(), heap_.end(), later<Entry, Entry>);
}

Instant PeerTimers::deadline_of(const PublicKey& peer) const noexcept {
  auto it = current_.find(peer);
  return it == current_.end() ? Instant::max() : it->second;
}

void PeerTimers::set(const PublicKey& peer, Instant deadline) {
  auto it = current_.find(peer);
  if (deadline == Instant::max()) {
    if (it == current_.end()) return;
    current_.erase(it);
  } else {
    if (it != current_.end() && it->second == deadline) return;  // its entry is live
    current_.insert_or_assign(peer, deadline);
    heap_.push_back(Entry{deadline, peer});
    std::push_heap(heap_.begin(), heap_.end(), later<Entry, Entry>);
  }
  if (heap_.size() > 2 * current_.size() + kStaleSlack) {
    rebuild();
  } else {
    drop_stale_top();
  }
}

void PeerTimers::take_due(Instant now, std::vector<PublicKey>& out) {
  while (!heap_.empty() && heap_.front().at <= now) {
    out.push_back(heap_.front().peer);
    current_.erase(heap_.front().peer);
    pop();
    drop_stale_top();
  }
}

}  // namespace peermq::overlay
