#include "channel/range_set.hpp"

#include <algorithm>

namespace peermq::channel {

std::uint64_t RangeSet::insert(std::uint64_t begin, std::uint64_t end) {
  if (begin >= end) return 0;
  // First range that ends at or after `begin`: it may touch or overlap the new one.
  auto first = std::lower_bound(ranges_.begin(), ranges_.end(), begin,
                                [](const Range& r, std::uint64_t b) { return r.end < b; });
  auto last = first;
  std::uint64_t covered = 0;
  std::uint64_t lo = begin, hi = end;
  while (last != ranges_.end() && last->begin <= end) {
    const std::uint64_t ob = std::max(last->begin, begin), oe = std::min(last->end, end);
    if (oe > ob) covered += oe - ob;
    lo = std::min(lo, last->begin);
    hi = std::max(hi, last->end);
    ++last;
  }
  if (first == last) {
    ranges_.insert(first, Range{lo, hi});
  } else {
    *first = Range{lo, hi};
    ranges_.erase(first + 1, last);
  }
  return (end - begin) - covered;
}

void RangeSet::erase(std::uint64_t begin, std::uint64_t end) {
  if (begin >= end) return;
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), begin,
                             [](const Range& r, std::uint64_t b) { return r.end <= b; });
  while (it != ranges_.end() && it->begin < end) {
    if (it->begin < begin && it->end > end) {  // split in two
      const Range tail{end, it->end};
      it->end = begin;
      ranges_.insert(it + 1, tail);
      return;
    }
    if (it->begin < begin) {
      it->end = begin;
      ++it;
    } else if (it->end > end) {
      it->begin = end;
      return;
    } else {
      it = ranges_.erase(it);
    }
  }
}

bool RangeSet::contains(std::uint64_t begin, std::uint64_t end) const noexcept {
  if (begin >= end) return true;
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), begin,
                             [](std::uint64_t b, const Range& r) { return b < r.end; });
  return it != ranges_.end() && it->begin <= begin && it->end >= end;
}

std::uint64_t RangeSet::first_gap_end(std::uint64_t begin, std::uint64_t end) const noexcept {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), begin,
                             [](std::uint64_t b, const Range& r) { return b < r.end; });
  if (it == ranges_.end()) return end;
  if (it->begin <= begin) return begin;  // `begin` itself is in the set
  return std::min(it->begin, end);
}

std::uint64_t RangeSet::covered_end(std::uint64_t at) const noexcept {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), at,
                             [](std::uint64_t b, const Range& r) { return b < r.end; });
  return it != ranges_.end() && it->begin <= at ? it->end : at;
}

std::uint64_t RangeSet::size() const noexcept {
  std::uint64_t n = 0;
  for (const Range& r : ranges_) n += r.end - r.begin;
  return n;
}

}  // namespace peermq::channel
