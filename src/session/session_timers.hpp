// SessionTimers: the sessions of one endpoint ordered by their next deadline, so that the
// endpoint knows its earliest deadline at once and finds the due sessions without asking
// every session. A broker keeps tens of thousands of mostly idle sessions and its
// transport asks for the next deadline after every batch of input: asking each session
// each time made the broker's CPU grow with the number of idle peers.
//
// An indexed binary min-heap: each Session remembers its slot (Session::timer_slot_), so
// moving or removing a session's deadline is O(log n). A session with no deadline
// (Instant::max()) is not in the heap at all. The endpoint updates a session's deadline
// after every call into it.
//
// Owned by SessionEndpoint; the sessions it points at outlive their entries (the endpoint
// removes a session from here before it destroys it). Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <peermq/clock.hpp>

namespace peermq::session {

class Session;

class SessionTimers {
 public:
  static constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};

  // Sets the deadline of `s`; Instant::max() removes it.
  void set(Session& s, Instant deadline);
  void remove(Session& s) { set(s, Instant::max()); }
  // The earliest deadline; Instant::max() when none is set.
  Instant next() const noexcept { return heap_.empty() ? Instant::max() : heap_.front().at; }
  // Appends every session whose deadline is at or before `now` to `out`, earliest first,
  // and removes their deadlines: the caller fires them and sets their new ones.
  void take_due(Instant now, std::vector<Session*>& out);
  std::size_t size() const noexcept { return heap_.size(); }

 private:
  struct Entry {
    Instant at;
    Session* session;
  };
  void place(std::size_t i, Entry e) noexcept;
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void erase_at(std::size_t i) noexcept;

  std::vector<Entry> heap_;
};

}  // namespace peermq::session
