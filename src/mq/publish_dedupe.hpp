// PublishDedupe: the (producer, publish id) pairs the broker stored within its dedupe
// window, remembered in far less than an entry per id.
//
// ProducerCore numbers a producer's messages id, id+1, id+2... (mq/producer_core.hpp), and
// they reach the broker in that order except for resends. So the ids stored for one
// producer are kept as sorted runs of consecutive ids: an id one past the newest run
// extends it (no memory at all), an id beyond it starts a new run (a gap: publishes
// refused as queue_full or too_large in between), and an id below the newest run's end that
// no run holds (a refused publish sent again) is kept on its own in a hash set. Any other
// numbering is exact too, only larger: at worst one run per id.
//
// Window: ids go into the current generation and stay there, then in the previous one;
// turn() forgets the previous and starts a new current one, so an id is remembered from
// one to two turns. The owner turns every dedupe window, and early once entries() — runs
// and single ids of the current generation, i.e. its memory — reaches its bound.
//
// Cost: per producer and generation one table entry and a vector of 16-byte runs (a single
// run while ids stay consecutive); about 24 bytes / load per out-of-order id. A lookup is a
// hash probe per generation; an id above the producer's newest run (every new publish)
// stops there, others take a binary search among its runs and a probe of the set.
//
// Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "mq/flat_table.hpp"

namespace peermq::mq {

class PublishDedupe {
 public:
  bool contains(std::uint32_t producer, std::uint64_t id) const noexcept {
    return gen_[0].contains(producer, id) || gen_[1].contains(producer, id);
  }
  // Remembers (producer, id), which contains() must deny, in the current generation.
  // Returns true when the producer had nothing there before: its owner keeps the
  // producer's index from being reused until turn() releases it.
  bool insert(std::uint32_t producer, std::uint64_t id);
  // Forgets the previous generation, calling released(producer) once for every producer
  // it held, and makes the current one the previous.
  template <class F>
  void turn(F&& released) {
    gen_[1].producers.for_each([&](std::uint32_t producer, std::uint32_t) { released(producer); });
    gen_[1].clear();
    std::swap(gen_[0], gen_[1]);
  }

  // Runs and single ids of the current generation: what its memory grows with.
  std::size_t entries() const noexcept { return gen_[0].runs_total + gen_[0].singles.size(); }
  std::uint64_t ids() const noexcept { return gen_[0].ids + gen_[1].ids; }
  bool empty() const noexcept { return gen_[0].producers.empty() && gen_[1].producers.empty(); }
  std::size_t memory_bytes() const noexcept {
    return gen_[0].memory_bytes() + gen_[1].memory_bytes();
  }

 private:
  struct Run {
    std::uint64_t first;
    std::uint64_t last;
  };
  struct Key {
    std::uint32_t producer = 0;
    std::uint64_t id = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::uint64_t operator()(const Key& k) const noexcept {
      return mix64(k.id ^ (std::uint64_t{k.producer} * 0x9e3779b97f4a7c15ULL));
    }
  };
  struct ProducerHash {
    std::uint64_t operator()(std::uint32_t p) const noexcept { return mix64(p); }
  };
  struct Generation {
    FlatTable<std::uint32_t, std::uint32_t, ProducerHash> producers;  // -> index in runs
    std::vector<std::vector<Run>> runs;  // [0, used): sorted, disjoint; the rest for reuse
    std::uint32_t used = 0;
    std::size_t runs_total = 0;
    FlatTable<Key, std::uint8_t, KeyHash> singles;  // ids below their producer's last run
    std::uint64_t ids = 0;

    bool contains(std::uint32_t producer, std::uint64_t id) const noexcept;
    void clear() noexcept;
    std::size_t memory_bytes() const noexcept;
  };

  Generation gen_[2];  // [current, previous]
};

}  // namespace peermq::mq
