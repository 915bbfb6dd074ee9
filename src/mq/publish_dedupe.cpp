#include "mq/publish_dedupe.hpp"

#include <algorithm>
#include <iterator>

namespace peermq::mq {

namespace {
// A run vector grown past this by a burst of gaps is given back when its generation ends.
constexpr std::size_t kKeptRuns = 64;
}  // namespace

bool PublishDedupe::insert(std::uint32_t producer, std::uint64_t id) {
  Generation& g = gen_[0];
  ++g.ids;
  auto [index, inserted] = g.producers.insert(producer, g.used);
  if (inserted) {
    if (g.used == g.runs.size()) g.runs.emplace_back();
    g.runs[g.used++].push_back(Run{id, id});
    ++g.runs_total;
    return true;
  }
  std::vector<Run>& runs = g.runs[*index];
  Run& newest = runs.back();
  if (id > newest.last) {
    if (id == newest.last + 1) {
      newest.last = id;
    } else {
      runs.push_back(Run{id, id});
      ++g.runs_total;
    }
  } else {
    g.singles.insert(Key{producer, id}, 1);
  }
  return false;
}

bool PublishDedupe::Generation::contains(std::uint32_t producer, std::uint64_t id) const noexcept {
  const std::uint32_t* index = producers.find(producer);
  if (index == nullptr) return false;
  const std::vector<Run>& r = runs[*index];
  if (id > r.back().last) return false;  // singles are all below it too
  // The last run starting at or before id.
  auto it = std::upper_bound(r.begin(), r.end(), id,
                             [](std::uint64_t v, const Run& run) { return v < run.first; });
  if (it != r.begin() && id <= std::prev(it)->last) return true;
  return !singles.empty() && singles.contains(Key{producer, id});
}

void PublishDedupe::Generation::clear() noexcept {
  producers.clear();
  for (std::uint32_t i = 0; i < used; ++i) {
    if (runs[i].capacity() > kKeptRuns) {
      std::vector<Run>().swap(runs[i]);
    } else {
      runs[i].clear();
    }
  }
  used = 0;
  runs_total = 0;
  singles.clear();
  ids = 0;
}

std::size_t PublishDedupe::Generation::memory_bytes() const noexcept {
  std::size_t bytes = producers.memory_bytes() + singles.memory_bytes() +
                      runs.capacity() * sizeof(std::vector<Run>);
  for (const std::vector<Run>& r : runs) bytes += r.capacity() * sizeof(Run);
  return bytes;
}

}  // namespace peermq::mq
