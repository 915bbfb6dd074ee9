// MessageStore: the broker's in-memory copy of what its journal holds live — stored
// messages and stored answers — in one ring of fixed-size slots, in journal order, each
// with its bytes in a block.
//
// Why a ring: every live slot was appended when its record was journaled, and records get
// increasing sequence numbers (uids), so the ring is sorted by uid. That gives, with no
// index: the oldest live record (the head: segments below it can be deleted), lookup by
// uid for replay and admin requests (binary search), and O(1) append. A dead slot in the
// middle keeps only its 32 bytes (its block is freed) until the head passes it; the
// broker's compaction moves the few long-lived slots at the head to the tail (relocate()),
// so holes never outnumber live slots for long.
//
// Why blocks live in arena pages: messages mostly come and go in order, so blocks are
// bump-allocated, in append order, in 1 MiB pages mapped from the kernel (only what is
// touched is resident); a page is unmapped (one spare is kept) once the last of its blocks
// is killed, and the page being filled starts over when it empties, so a queue that keeps
// up reuses one warm page and makes no system call. A page is aligned to its size, so a
// block finds its page's live count with a mask. Blocks over kMaxPagedBlock are allocated
// on their own (a large message costs one allocation; it dwarfs the allocator's header).
// relocate() copies a paged block to the tail, so compaction frees old pages as well as
// old segments.
//
// Per stored message: a 32-byte Slot plus a block of a 16-byte header, the headers and
// the payload, rounded up to 4 bytes (plus 8 with a TTL, 2 with message headers):
// 48 bytes beyond a 100-byte payload without TTL or headers. Slots live in chunks of 4096
// (128 KiB), recycled.
//
// Block layout (read and written only through the functions below; unaligned is fine):
//   0   u64 id         message id (of an answer: the answered message's)
//   8   u32 producer   the broker's producer table index
//   12  u32            data bytes (low 24 bits) | flags (high 8): bits 0..5 the owner's
//                      (block_flags), bit 6 an expiry follows, bit 7 a first-part size
//                      follows
//   16  [i64 expires]  Instant ticks (ns), when flag bit 6 (also Slot::timed: scans for
//                      expiries skip the other blocks unread)
//       [u16 first]    bytes of the first part, when flag bit 7 (else 0)
//       data           first part (message headers, answer reason), then second (payload)
//
// Uids: a slot keeps its uid as an offset from its chunk's base (the first uid appended to
// the chunk). A uid more than 2^32 past the base starts a new chunk early (the rest of the
// old one is left dead), so any uid sequence fits.
//
// Lists: a slot is on at most one intrusive doubly linked list at a time (a command's ready
// queue, the in-flight queue, a producer's answers), linked through the slot itself, so a
// list costs nothing per element. Links hold the low 32 bits of a position and the broker
// keeps the ring's span below 2^32 slots.
//
// Positions (Pos) are absolute and never reused, so a stale Pos is detected by contains()
// or by the slot's state. Slot and block references stay valid until the next
// append/relocate/kill. Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <span>

namespace peermq::mq {

using Pos = std::uint64_t;
inline constexpr Pos kNoPos = std::numeric_limits<Pos>::max();
// block_expires() of a block without expiry.
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
  std::uint8_t* block = nullptr;  // see Block layout; null when dead
  std::uint32_t uid_offset = 0;   // uid minus the chunk's base: MessageStore::uid()
  std::uint32_t next = 0;         // list links: low 32 bits of a Pos; own position = none
  std::uint32_t prev = 0;
  std::uint32_t command = 0;   // message: command table index
  std::uint32_t consumer = 0;  // message: consumer of its last delivery (kept afterwards)
  std::uint16_t attempt = 0;   // deliveries ever made (wraps): part of the delivery tag
  SlotState state : 3 = SlotState::dead;
  std::uint8_t timed : 1 = 0;     // its block holds an expiry: scans skip the others
  std::uint8_t priority : 4 = 0;  // message
  std::uint8_t deliveries = 0;    // deliveries since stored or requeued from the DLQ
};
static_assert(sizeof(Slot) == 32, "see the header comment's per-message figures");

// What a new block holds besides its data.
struct BlockSpec {
  std::uint64_t id = 0;
  std::uint32_t producer = 0;
  std::uint32_t size = 0;         // data bytes, below 2^24
  std::uint16_t first = 0;        // of which the first part
  std::uint8_t flags = 0;         // the owner's, below 64
  std::int64_t expires = kNever;  // kNever: none stored
};

namespace block_detail {
inline constexpr std::size_t kHeader = 16;
inline constexpr std::uint32_t kSizeMask = (1u << 24) - 1;
inline constexpr std::uint8_t kOwnerFlags = 0x3f;
inline constexpr std::uint8_t kHasExpiry = 0x40;
inline constexpr std::uint8_t kHasFirst = 0x80;
inline std::uint32_t word(const std::uint8_t* b) noexcept {
  std::uint32_t w;
  std::memcpy(&w, b + 12, sizeof w);
  return w;
}
inline std::uint8_t layout(const std::uint8_t* b) noexcept {
  return static_cast<std::uint8_t>(word(b) >> 24);
}
// Bytes before the data.
inline std::size_t header_bytes(std::uint8_t layout_flags) noexcept {
  return kHeader + ((layout_flags & kHasExpiry) != 0 ? 8 : 0) +
         ((layout_flags & kHasFirst) != 0 ? 2 : 0);
}
inline std::uint16_t first(const std::uint8_t* b) noexcept {
  const std::uint8_t f = layout(b);
  if ((f & kHasFirst) == 0) return 0;
  std::uint16_t n;
  std::memcpy(&n, b + kHeader + ((f & kHasExpiry) != 0 ? 8 : 0), sizeof n);
  return n;
}
}  // namespace block_detail

// Reads and writes of a live slot's block.
inline std::uint64_t block_id(const Slot& s) noexcept {
  std::uint64_t id;
  std::memcpy(&id, s.block, sizeof id);
  return id;
}
inline std::uint32_t block_producer(const Slot& s) noexcept {
  std::uint32_t p;
  std::memcpy(&p, s.block + 8, sizeof p);
  return p;
}
inline std::uint32_t block_size(const Slot& s) noexcept {  // data bytes
  return block_detail::word(s.block) & block_detail::kSizeMask;
}
inline std::uint8_t block_flags(const Slot& s) noexcept {
  return block_detail::layout(s.block) & block_detail::kOwnerFlags;
}
inline void set_block_flags(Slot& s, std::uint8_t flags) noexcept {
  const std::uint32_t w =
      (block_detail::word(s.block) & ~(std::uint32_t{block_detail::kOwnerFlags} << 24)) |
      (std::uint32_t{static_cast<std::uint8_t>(flags & block_detail::kOwnerFlags)} << 24);
  std::memcpy(s.block + 12, &w, sizeof w);
}
inline std::int64_t block_expires(const Slot& s) noexcept {
  if (!s.timed) return kNever;
  std::int64_t t;
  std::memcpy(&t, s.block + block_detail::kHeader, sizeof t);
  return t;
}
inline std::uint8_t* block_data(const Slot& s) noexcept {
  return s.block + block_detail::header_bytes(block_detail::layout(s.block));
}
inline std::span<const std::uint8_t> block_first(const Slot& s) noexcept {  // headers/reason
  return {block_data(s), block_detail::first(s.block)};
}
inline std::span<const std::uint8_t> block_second(const Slot& s) noexcept {  // payload
  const std::uint16_t first = block_detail::first(s.block);
  return {block_data(s) + first, block_size(s) - first};
}
inline std::span<const std::uint8_t> block_rest(const Slot& s) noexcept {
  return {block_data(s), block_size(s)};
}

// An intrusive list's ends; empty when head == kNoPos.
struct SlotList {
  Pos head = kNoPos;
  Pos tail = kNoPos;
  std::uint32_t size = 0;
};

class MessageStore {
 public:
  static constexpr unsigned kChunkBits = 12;
  static constexpr Pos kChunkSlots = Pos{1} << kChunkBits;
  static constexpr std::size_t kPageSize = std::size_t{1} << 20;  // and alignment
  static constexpr std::size_t kMaxPagedBlock = kPageSize / 8;    // header included

  MessageStore() = default;
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;
  ~MessageStore();

  // A new slot at the tail with `uid` (greater than every uid before it), state `state` and
  // a block as `spec` says; the caller fills block_data() with spec.size bytes.
  Pos append(std::uint64_t uid, SlotState state, const BlockSpec& spec);
  // Frees p's block, marks it dead and advances the head past dead slots. p must be on no
  // list.
  void kill(Pos p) noexcept;
  // Moves live slot p with its block to a new slot at the tail with `new_uid`, taking its
  // place in `list` if it is on one. Returns the new position.
  Pos relocate(Pos p, std::uint64_t new_uid, SlotList* list);

  Slot& at(Pos p) noexcept { return chunks_[chunk_index(p)].slots[p & (kChunkSlots - 1)]; }
  const Slot& at(Pos p) const noexcept {
    return chunks_[chunk_index(p)].slots[p & (kChunkSlots - 1)];
  }
  // The uid of p (live or dead, between head and tail).
  std::uint64_t uid(Pos p) const noexcept {
    const Chunk& c = chunks_[chunk_index(p)];
    return c.base + c.slots[p & (kChunkSlots - 1)].uid_offset;
  }
  bool contains(Pos p) const noexcept { return p >= head_ && p < tail_; }
  // The live slot holding `uid`, or kNoPos.
  Pos find_uid(std::uint64_t uid) const noexcept;
  // The first position whose uid is >= `uid` (tail() if none).
  Pos lower_bound(std::uint64_t uid) const noexcept;

  Pos head() const noexcept { return head_; }
  Pos tail() const noexcept { return tail_; }
  std::uint64_t span() const noexcept { return tail_ - head_; }
  std::uint64_t live() const noexcept { return live_; }
  // Bytes held: slot chunks (live or not), arena pages (whole) and large blocks.
  std::uint64_t memory_bytes() const noexcept {
    return (chunks_.size() + (spare_chunk_ ? 1 : 0)) * kChunkSlots * sizeof(Slot) +
           pages_ * kPageSize + large_bytes_;
  }

  // Intrusive lists.
  void push_back(SlotList& list, Pos p) noexcept;
  void push_front(SlotList& list, Pos p) noexcept;
  void unlink(SlotList& list, Pos p) noexcept;
  Pos next(Pos p) const noexcept { return link_pos(p, at(p).next); }
  Pos prev(Pos p) const noexcept { return link_pos(p, at(p).prev); }

 private:
  struct Chunk {
    std::unique_ptr<Slot[]> slots;
    std::uint64_t base = 0;  // uid of the chunk's first slot
  };
  struct PageDeleter {
    void operator()(std::uint8_t* page) const noexcept;
  };
  using PagePtr = std::unique_ptr<std::uint8_t, PageDeleter>;

  std::size_t chunk_index(Pos p) const noexcept {
    return static_cast<std::size_t>((p >> kChunkBits) - (head_ >> kChunkBits));
  }
  Pos link_pos(Pos self, std::uint32_t link) const noexcept {
    if (link == static_cast<std::uint32_t>(self)) return kNoPos;
    return head_ + static_cast<std::uint32_t>(link - static_cast<std::uint32_t>(head_));
  }
  static std::uint32_t link_of(Pos p) noexcept { return static_cast<std::uint32_t>(p); }
  void set_next(Pos p, Pos next) noexcept { at(p).next = link_of(next == kNoPos ? p : next); }
  void set_prev(Pos p, Pos prev) noexcept { at(p).prev = link_of(prev == kNoPos ? p : prev); }
  Pos push_slot(std::uint64_t uid);  // a fresh slot at the tail, uid set
  void trim() noexcept;

  // Arena.
  std::uint8_t* allocate(std::size_t bytes);
  void release(std::uint8_t* block, std::size_t bytes) noexcept;
  static std::uint8_t* map_page();
  std::uint8_t* new_page();
  void drop_page(std::uint8_t* page) noexcept;
  static std::size_t block_bytes(const std::uint8_t* block) noexcept;

  std::deque<Chunk> chunks_;
  std::unique_ptr<Slot[]> spare_chunk_;
  Pos head_ = 0;
  Pos tail_ = 0;
  std::uint64_t live_ = 0;

  std::uint8_t* page_ = nullptr;  // the page being filled (owned, counted in pages_)
  std::size_t used_ = 0;          // bytes of page_ handed out, its header included
  PagePtr spare_page_;            // one emptied page kept for the next
  std::uint64_t pages_ = 0;       // pages held, spare included
  std::uint64_t large_bytes_ = 0;
};

}  // namespace peermq::mq
