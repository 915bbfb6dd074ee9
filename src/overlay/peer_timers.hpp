// PeerTimers: the channel deadlines of a host's peers in one min-heap, so that a wakeup
// finds the due peers and the earliest deadline without asking every peer. A broker keeps
// tens of thousands of mostly idle peers; asking each channel on every wakeup made its
// CPU grow with the number of sessions instead of with the work.
//
// Lazy invalidation: set() records a peer's current deadline and pushes (deadline, peer);
// an older entry of the same peer stays in the heap until it reaches the top, where it is
// seen to be stale (it is not the peer's current deadline) and dropped. The top is always
// live, so next() is exact. When stale entries outnumber live ones the heap is rebuilt.
//
// Owned by the Host (channel deadlines, set after each input that touched the peer) and by
// the Router (path deadlines, set when a path is pumped). Single-threaded. Peers with equal deadlines come out in key order.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>

#include "session/session_endpoint.hpp"  // PeerKeyHash

namespace peermq::overlay {

class PeerTimers {
 public:
  // Sets `peer`'s deadline; Instant::max() removes it.
  void set(const PublicKey& peer, Instant deadline);
  // The earliest deadline; Instant::max() when none is set.
  Instant next() const noexcept { return heap_.empty() ? Instant::max() : heap_.front().at; }
  // `peer`'s deadline; Instant::max() when none is set.
  Instant deadline_of(const PublicKey& peer) const noexcept;
  // Appends every peer whose deadline is at or before `now` to `out`, earliest first, and
  // removes their deadlines: the caller fires them and sets their new ones.
  void take_due(Instant now, std::vector<PublicKey>& out);
  // Peers with a deadline.
  std::size_t size() const noexcept { return current_.size(); }
  // Heap entries, stale ones included (for tests: bounded by a multiple of size()).
  std::size_t entries() const noexcept { return heap_.size(); }

 private:
  struct Entry {
    Instant at;
    PublicKey peer;
  };
  bool stale(const Entry& e) const noexcept;
  void pop();
  void drop_stale_top();
  void rebuild();

  std::vector<Entry> heap_;              // a min-heap on `at`
  // Each peer's live deadline. Not iterated but to rebuild the heap, whose order does not
  // depend on it (ties go by key), so runs stay deterministic.
  std::unordered_map<PublicKey, Instant, session::PeerKeyHash> current_{
      16, session::PeerKeyHash::random()};
};

}  // namespace peermq::overlay
