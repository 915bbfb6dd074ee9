// FlatTable: an open-addressing hash map for small keys and values on the queue's hot path.
//
// Why not std::unordered_map: it allocates one node per entry, and the broker inserts an
// entry per published message (dedupe ids, stored answers). Here all entries live in one
// array (linear probing, power-of-two capacity, load at most 3/4), so an insert costs no
// allocation except when the array doubles, and an entry costs sizeof(Key)+sizeof(Value)
// plus one byte, divided by the load factor. Erase shifts later entries back (no
// tombstones), so a table that churns never degrades.
//
// Key and Value must be trivially copyable; Hash maps a Key to 64 well-mixed bits.
// Pointers returned by find()/insert() stay valid until the next insert or erase.
// Single-threaded.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace peermq::mq {

// SplitMix64's finalizer: every input bit flips about half of the output bits.
inline constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

struct U64Hash {
  std::uint64_t operator()(std::uint64_t k) const noexcept { return mix64(k); }
};

template <class Key, class Value, class Hash>
class FlatTable {
  static_assert(std::is_trivially_copyable_v<Key> && std::is_trivially_copyable_v<Value>);

 public:
  FlatTable() = default;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return entries_.size(); }
  // Bytes held by the table's arrays.
  std::size_t memory_bytes() const noexcept {
    return entries_.size() * (sizeof(Entry) + 1);
  }

  Value* find(const Key& key) noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      if (!used_[i]) return nullptr;
      if (entries_[i].key == key) return &entries_[i].value;
    }
  }
  const Value* find(const Key& key) const noexcept {
    return const_cast<FlatTable*>(this)->find(key);
  }
  bool contains(const Key& key) const noexcept { return find(key) != nullptr; }

  // Inserts (key, value) unless key is present. Returns the stored value and whether it
  // was inserted now.
  std::pair<Value*, bool> insert(const Key& key, const Value& value) {
    if ((size_ + 1) * 4 > entries_.size() * 3) grow();
    std::size_t i = home(key);
    for (; used_[i]; i = (i + 1) & mask_) {
      if (entries_[i].key == key) return {&entries_[i].value, false};
    }
    used_[i] = 1;
    entries_[i] = Entry{key, value};
    ++size_;
    return {&entries_[i].value, true};
  }

  // Sets key's value, inserting it if absent.
  void assign(const Key& key, const Value& value) {
    auto [stored, inserted] = insert(key, value);
    if (!inserted) *stored = value;
  }

  bool erase(const Key& key) noexcept {
    if (size_ == 0) return false;
    std::size_t i = home(key);
    for (;; i = (i + 1) & mask_) {
      if (!used_[i]) return false;
      if (entries_[i].key == key) break;
    }
    // Backward shift: pull each later entry of the probe run into the hole unless its home
    // lies cyclically in (hole, j], where it must stay to remain findable.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; used_[j]; j = (j + 1) & mask_) {
      const std::size_t h = home(entries_[j].key);
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      entries_[hole] = entries_[j];
      hole = j;
    }
    used_[hole] = 0;
    --size_;
    return true;
  }

  // Empties the table and keeps its capacity (a table refilled at the same rate needs it).
  void clear() noexcept {
    std::fill(used_.begin(), used_.end(), std::uint8_t{0});
    size_ = 0;
  }

  // f(key, value) for every entry, in no particular order. f must not modify the table.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (used_[i]) f(entries_[i].key, entries_[i].value);
    }
  }

 private:
  struct Entry {
    Key key;
    Value value;
  };

  std::size_t home(const Key& key) const noexcept {
    return static_cast<std::size_t>(Hash{}(key)) & mask_;
  }

  void grow() {
    std::vector<Entry> old_entries = std::move(entries_);
    std::vector<std::uint8_t> old_used = std::move(used_);
    const std::size_t capacity = old_entries.empty() ? 16 : old_entries.size() * 2;
    entries_.assign(capacity, Entry{});
    used_.assign(capacity, 0);
    mask_ = capacity - 1;
    size_ = 0;
    for (std::size_t i = 0; i < old_entries.size(); ++i) {
      if (old_used[i]) (void)insert(old_entries[i].key, old_entries[i].value);
    }
  }

  std::vector<Entry> entries_;
  std::vector<std::uint8_t> used_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
};

}  // namespace peermq::mq
