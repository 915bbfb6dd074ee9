// MessageStore: the broker's in-memory copy of what its journal holds live — stored
// messages and stored answers — in one ring of fixed-size slots, in journal order.
//
// Why a ring: every live slot was appended when its record was journaled, and records get
// increasing sequence numbers (uids), so the ring is sorted by uid. That gives, with no
// index: the oldest live record (the head: segments below it can be deleted), lookup by
// uid for replay and admin requests (binary search), and O(1) append. A dead slot in the
// middle keeps only its 64 bytes (its block is freed) until the head passes it; the
// broker's compaction moves the few long-lived slots at the head to the tail (relocate()),
// so holes never outnumber live slots for long.
//
// Per stored message: one 64-byte Slot plus one heap block holding the 8-byte message id,
// the encoded headers and the payload (the only allocation per message; the allocator adds
// its own ~16-byte header). Slots live in chunks of 4096 (256 KiB), recycled.
//
// Lists: a slot is on at most one intrusive doubly linked list at a time (a command's ready
// queue, the in-flight queue, a producer's answers), linked through the slot itself, so a
// list costs nothing per element. Links hold the low 32 bits of a position and the broker
// keeps the ring's span below 2^32 slots.
//
// Positions (Pos) are absolute and never reused, so a stale Pos is detected by contains()
// or by the slot's state. Slot references stay valid until the next append/relocate/kill
// (chunks are recycled). Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <span>
#include <string_view>

namespace peermq::mq {

using Pos = std::uint64_t;
inline constexpr Pos npos = std::numeric_limits<Pos>::max();
// Slot::expires when a slot never expires.
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

enum class SlotState : std::uint8_t {
  dead = 0,     // free: its block is gone, it only waits for the head to pass
  pending,      // message appended to the journal, not yet committed
  ready,        // message waiting on its command's ready list
  in_flight,    // message delivered to a consumer, on the in-flight list
  dead_letter,  // message in the dead-letter queue (on no list)
  answer,       // answer waiting for its producer, on the producer's answer list
  held,         // message in the owner's hands between two of the states above, on no list
};

struct Slot {
  std::uint64_t uid = 0;           // seq of the journal record holding it; kept when dead
  std::uint8_t* block = nullptr;   // u64 message id, then `size` bytes: headers and payload
                                   // (message) or reason and payload (answer)
  std::int64_t expires = kNever;   // Instant ticks (ns): TTL (message) or answer expiry
  std::int64_t deadline = 0;       // in flight: visibility deadline (Instant ticks)
  std::uint32_t size = 0;          // bytes after the id
  std::uint32_t producer = 0;      // producer table index
  std::uint32_t command = 0;       // command table index (messages)
  std::uint32_t next = 0;          // list links: low 32 bits of a Pos; own position = none
  std::uint32_t prev = 0;
  std::uint32_t consumer = 0;      // in flight: the consumer's id (also kept afterwards)
  std::uint16_t aux = 0;           // bytes of the first part: message headers, answer reason
  std::uint16_t attempt = 0;       // deliveries ever made (wraps): part of the delivery tag
  SlotState state = SlotState::dead;
  std::uint8_t priority = 0;
  std::uint8_t deliveries = 0;     // deliveries since stored or requeued from the DLQ
  std::uint8_t flags = 0;          // message: publish flags | dead-letter reason << 4;
                                   // answer: AnswerStatus
};
static_assert(sizeof(Slot) == 64, "a slot is one cache line: see the header comment");

// Reads of a slot's block.
inline std::uint64_t block_id(const Slot& s) noexcept {
  std::uint64_t id;
  std::memcpy(&id, s.block, sizeof id);
  return id;
}
inline std::span<const std::uint8_t> block_first(const Slot& s) noexcept {  // headers/reason
  return {s.block + 8, s.aux};
}
inline std::span<const std::uint8_t> block_second(const Slot& s) noexcept {  // payload
  return {s.block + 8 + s.aux, s.size - s.aux};
}
inline std::span<const std::uint8_t> block_rest(const Slot& s) noexcept {
  return {s.block + 8, s.size};
}

// An intrusive list's ends; empty when head == npos.
struct SlotList {
  Pos head = npos;
  Pos tail = npos;
  std::uint32_t size = 0;
};

class MessageStore {
 public:
  static constexpr unsigned kChunkBits = 12;
  static constexpr Pos kChunkSlots = Pos{1} << kChunkBits;

  MessageStore() = default;
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;
  ~MessageStore();

  // A new slot at the tail with `uid` (greater than every uid before it), state `state` and
  // a block of 8 + `size` bytes starting with `id`; the caller fills the rest.
  Pos append(std::uint64_t uid, SlotState state, std::uint64_t id, std::uint32_t size);
  // Frees p's block, marks it dead and advances the head past dead slots. p must be on no
  // list.
  void kill(Pos p) noexcept;
  // Moves live slot p (with its block, no copy) to a new slot at the tail with `new_uid`,
  // taking its place in `list` if it is on one. Returns the new position.
  Pos relocate(Pos p, std::uint64_t new_uid, SlotList* list);

  Slot& at(Pos p) noexcept { return chunks_[chunk_index(p)][p & (kChunkSlots - 1)]; }
  const Slot& at(Pos p) const noexcept {
    return chunks_[chunk_index(p)][p & (kChunkSlots - 1)];
  }
  bool contains(Pos p) const noexcept { return p >= head_ && p < tail_; }
  // The live slot holding `uid`, or npos.
  Pos find_uid(std::uint64_t uid) const noexcept;
  // The first position whose uid is >= `uid` (tail() if none).
  Pos lower_bound(std::uint64_t uid) const noexcept;

  Pos head() const noexcept { return head_; }
  Pos tail() const noexcept { return tail_; }
  std::uint64_t span() const noexcept { return tail_ - head_; }
  std::uint64_t live() const noexcept { return live_; }
  // Bytes held: slots (live or not) and blocks.
  std::uint64_t memory_bytes() const noexcept {
    return (chunks_.size() + (spare_ ? 1 : 0)) * kChunkSlots * sizeof(Slot) + block_bytes_;
  }

  // Intrusive lists.
  void push_back(SlotList& list, Pos p) noexcept;
  void push_front(SlotList& list, Pos p) noexcept;
  void unlink(SlotList& list, Pos p) noexcept;
  Pos next(Pos p) const noexcept { return link_pos(p, at(p).next); }
  Pos prev(Pos p) const noexcept { return link_pos(p, at(p).prev); }

 private:
  std::size_t chunk_index(Pos p) const noexcept {
    return static_cast<std::size_t>((p >> kChunkBits) - (head_ >> kChunkBits));
  }
  Pos link_pos(Pos self, std::uint32_t link) const noexcept {
    if (link == static_cast<std::uint32_t>(self)) return npos;
    return head_ + static_cast<std::uint32_t>(link - static_cast<std::uint32_t>(head_));
  }
  static std::uint32_t link_of(Pos p) noexcept { return static_cast<std::uint32_t>(p); }
  void set_next(Pos p, Pos next) noexcept { at(p).next = link_of(next == npos ? p : next); }
  void set_prev(Pos p, Pos prev) noexcept { at(p).prev = link_of(prev == npos ? p : prev); }
  void trim() noexcept;

  std::deque<std::unique_ptr<Slot[]>> chunks_;
  std::unique_ptr<Slot[]> spare_;
  Pos head_ = 0;
  Pos tail_ = 0;
  std::uint64_t live_ = 0;
  std::uint64_t block_bytes_ = 0;
};

}  // namespace peermq::mq
