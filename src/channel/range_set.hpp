// RangeSet: a set of byte offsets kept as sorted, disjoint, non-adjacent half-open ranges.
//
// Used for the bytes of a message received (reassembly), acknowledged and lost (sending).
// Sets stay small in practice (a few holes per message), so a sorted vector beats a tree.
#pragma once

#include <cstdint>
#include <vector>

namespace peermq::channel {

class RangeSet {
 public:
  struct Range {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;  // one past the last offset
  };

  // Adds [begin, end); returns how many offsets were not in the set before.
  std::uint64_t insert(std::uint64_t begin, std::uint64_t end);
  // Removes [begin, end).
  void erase(std::uint64_t begin, std::uint64_t end);
  bool contains(std::uint64_t begin, std::uint64_t end) const noexcept;
  bool empty() const noexcept { return ranges_.empty(); }
  // The lowest range; the set must not be empty.
  const Range& front() const noexcept { return ranges_.front(); }
  // Where the gap that starts at `begin` ends: the first offset in the set at or after
  // `begin`, capped at `end` (so `begin` itself when it is in the set).
  std::uint64_t first_gap_end(std::uint64_t begin, std::uint64_t end) const noexcept;
  // The end of the range holding `at`, or `at` when it is not in the set.
  std::uint64_t covered_end(std::uint64_t at) const noexcept;
  std::uint64_t size() const noexcept;
  void clear() noexcept { ranges_.clear(); }
  const std::vector<Range>& ranges() const noexcept { return ranges_; }

 private:
  std::vector<Range> ranges_;
};

}  // namespace peermq::channel
