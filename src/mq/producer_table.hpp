// ProducerTable: the producers a broker knows of, each by a small index instead of its
// 32-byte key, with the link it is online on; and MessageKey, the (producer index, message
// id) pair that names a producer's message in the broker's indexes.
//
// Stored message and answer blocks keep the producer's 4-byte index (mq/message_store.hpp),
// so a key is held once per producer however many messages it has. An index lives while it
// has references: intern() takes one (creating the entry on first use), retain() another,
// release() gives one back, and the last release frees the index for reuse. Whoever keeps
// an index (a stored message or answer, a dedupe generation, an online connection) holds a
// reference for as long, so an index never names two producers while anything remembers it.
//
// A producer is online while its connection set_link()s it (and holds a reference); its
// confirms and answers go there.
//
// Cost: one 48-byte entry per producer in a deque (no doubling: brokers hold tens of
// thousands of idle producers) plus an entry in a hash index by key. References to entries
// and keys stay valid until their index is freed. Single-threaded; misuse (release() of a free
// index) is a programmer error, caught by assertions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

#include <peermq/address.hpp>

#include "mq/broker_sender.hpp"
#include "mq/flat_table.hpp"

namespace peermq::mq {

// A producer's message: how the dedupe, the pending confirms and the answer index key it.
struct MessageKey {
  std::uint32_t producer = 0;
  std::uint64_t id = 0;
  friend bool operator==(const MessageKey&, const MessageKey&) = default;
};
struct MessageKeyHash {
  std::uint64_t operator()(const MessageKey& k) const noexcept {
    return mix64(k.id ^ (std::uint64_t{k.producer} * 0x9e3779b97f4a7c15ULL));
  }
};

// Keys are uniformly random (public keys): their first 8 bytes, mixed, are a good hash.
struct PublicKeyHash {
  std::size_t operator()(const PublicKey& k) const noexcept {
    std::uint64_t h;
    std::memcpy(&h, k.data(), sizeof h);
    return static_cast<std::size_t>(mix64(h));
  }
};

class ProducerTable {
 public:
  // The index of `key` with one more reference; a new entry if it had none.
  std::uint32_t intern(const PublicKey& key);
  void retain(std::uint32_t index) noexcept { ++entries_[index].refs; }
  // Gives back one reference; the last frees the index.
  void release(std::uint32_t index);

  const PublicKey& key(std::uint32_t index) const noexcept { return entries_[index].key; }
  // Where the producer is online; nullptr when it is not.
  PeerLink* link(std::uint32_t index) const noexcept { return entries_[index].link; }
  void set_link(std::uint32_t index, PeerLink* link) noexcept { entries_[index].link = link; }
  std::uint32_t refs(std::uint32_t index) const noexcept { return entries_[index].refs; }
  // Producers with at least one reference.
  std::size_t size() const noexcept { return index_.size(); }
  // One past the highest index ever handed out: parallel tables size themselves by it.
  std::size_t capacity() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    PublicKey key{};
    std::uint32_t refs = 0;
    PeerLink* link = nullptr;
  };
  std::deque<Entry> entries_;
  std::vector<std::uint32_t> free_;
  std::unordered_map<PublicKey, std::uint32_t, PublicKeyHash> index_;
};

}  // namespace peermq::mq
