#include "mq/producer_table.hpp"

#include <cassert>

namespace peermq::mq {

std::uint32_t ProducerTable::intern(const PublicKey& key) {
  auto [it, inserted] = index_.try_emplace(key, 0);
  if (inserted) {
    std::uint32_t index;
    if (free_.empty()) {
      index = static_cast<std::uint32_t>(entries_.size());
      entries_.emplace_back();
    } else {
      index = free_.back();
      free_.pop_back();
    }
    entries_[index] = Entry{key, 0, nullptr};
    it->second = index;
  }
  ++entries_[it->second].refs;
  return it->second;
}

void ProducerTable::release(std::uint32_t index) {
  Entry& e = entries_[index];
  assert(e.refs > 0);
  if (--e.refs > 0) return;
  index_.erase(e.key);
  e = Entry{};
  free_.push_back(index);
}

}  // namespace peermq::mq
