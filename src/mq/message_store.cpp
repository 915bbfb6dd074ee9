#include "mq/message_store.hpp"

#include <sys/mman.h>

#include <cassert>
#include <new>

namespace peermq::mq {

namespace {

// A page starts with the count of its live blocks.
constexpr std::size_t kPageHeader = 8;
constexpr std::size_t kBlockAlign = 4;

std::uint32_t& page_live(std::uint8_t* page) noexcept {
  return *std::launder(reinterpret_cast<std::uint32_t*>(page));
}

std::uint8_t* page_of(std::uint8_t* block) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(block);
  return reinterpret_cast<std::uint8_t*>(address & ~std::uintptr_t{MessageStore::kPageSize - 1});
}

}  // namespace

// Pages are mapped straight from the kernel, aligned by trimming a double-size mapping:
// aligned_alloc from the heap splits a chunk around every page and leaves touched slack
// behind (measured: 6..12 more bytes of RSS per queued 100-byte message), while a mapping
// is resident only where written and goes back to the system when unmapped.
std::uint8_t* MessageStore::map_page() {
  void* raw =
      ::mmap(nullptr, 2 * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t page = (start + kPageSize - 1) & ~std::uintptr_t{kPageSize - 1};
  const std::uintptr_t end = start + 2 * kPageSize;
  if (page > start) ::munmap(raw, page - start);
  if (end > page + kPageSize) {
    ::munmap(reinterpret_cast<void*>(page + kPageSize), end - page - kPageSize);
  }
  return reinterpret_cast<std::uint8_t*>(page);
}

void MessageStore::PageDeleter::operator()(std::uint8_t* page) const noexcept {
  ::munmap(page, kPageSize);
}

MessageStore::~MessageStore() {
  for (Pos p = head_; p < tail_; ++p) {
    Slot& s = at(p);
    if (s.block != nullptr) release(s.block, block_bytes(s.block));
  }
  if (page_ != nullptr) PageDeleter{}(page_);
}

// ---- arena -----------------------------------------------------------------------------------

std::size_t MessageStore::block_bytes(const std::uint8_t* block) noexcept {
  const std::uint32_t w = block_detail::word(block);
  const std::size_t bytes = block_detail::header_bytes(static_cast<std::uint8_t>(w >> 24)) +
                            (w & block_detail::kSizeMask);
  return (bytes + kBlockAlign - 1) & ~(kBlockAlign - 1);
}

std::uint8_t* MessageStore::new_page() {
  std::uint8_t* page = nullptr;
  if (spare_page_) {
    page = spare_page_.release();
  } else {
    page = map_page();
    ++pages_;
  }
  new (page) std::uint32_t{0};
  return page;
}

void MessageStore::drop_page(std::uint8_t* page) noexcept {
  if (!spare_page_) {
    spare_page_.reset(page);
    return;
  }
  PageDeleter{}(page);
  --pages_;
}

std::uint8_t* MessageStore::allocate(std::size_t bytes) {
  if (bytes > kMaxPagedBlock) {
    large_bytes_ += bytes;
    return static_cast<std::uint8_t*>(::operator new(bytes));
  }
  if (page_ == nullptr || used_ + bytes > kPageSize) {
    // The full page lives on until its last block is killed (release() drops it then).
    page_ = new_page();
    used_ = kPageHeader;
  }
  std::uint8_t* block = page_ + used_;
  used_ += bytes;
  ++page_live(page_);
  return block;
}

void MessageStore::release(std::uint8_t* block, std::size_t bytes) noexcept {
  if (bytes > kMaxPagedBlock) {
    ::operator delete(block);
    large_bytes_ -= bytes;
    return;
  }
  std::uint8_t* page = page_of(block);
  assert(page_live(page) > 0);
  if (--page_live(page) > 0) return;
  if (page == page_) {
    used_ = kPageHeader;  // empty: fill it again from the start, it is warm
  } else {
    drop_page(page);
  }
}

// ---- slots -----------------------------------------------------------------------------------

Pos MessageStore::push_slot(std::uint64_t uid) {
  assert(tail_ == head_ || this->uid(tail_ - 1) < uid);
  if ((tail_ & (kChunkSlots - 1)) != 0 &&
      uid - chunks_.back().base > std::numeric_limits<std::uint32_t>::max()) {
    // Too far from this chunk's base: leave the rest of the chunk dead, with the last uid
    // so the ring stays sorted, and start the next one.
    const std::uint32_t last = at(tail_ - 1).uid_offset;
    while ((tail_ & (kChunkSlots - 1)) != 0) {
      Slot& s = at(tail_++);
      s = Slot{};
      s.uid_offset = last;
    }
    trim();
  }
  if ((tail_ & (kChunkSlots - 1)) == 0) {
    Chunk c;
    c.slots = spare_chunk_ ? std::move(spare_chunk_) : std::make_unique<Slot[]>(kChunkSlots);
    c.base = uid;
    chunks_.push_back(std::move(c));
  }
  const Pos p = tail_++;
  Slot& s = at(p);
  s = Slot{};
  s.uid_offset = static_cast<std::uint32_t>(uid - chunks_.back().base);
  s.next = s.prev = link_of(p);
  return p;
}

Pos MessageStore::append(std::uint64_t uid, SlotState state, const BlockSpec& spec) {
  assert(spec.size <= block_detail::kSizeMask && spec.first <= spec.size &&
         spec.flags <= block_detail::kOwnerFlags);
  std::uint8_t layout = spec.flags;
  if (spec.expires != kNever) layout |= block_detail::kHasExpiry;
  if (spec.first != 0) layout |= block_detail::kHasFirst;
  const std::size_t header = block_detail::header_bytes(layout);
  std::uint8_t* b = allocate((header + spec.size + kBlockAlign - 1) & ~(kBlockAlign - 1));
  const std::uint32_t w = spec.size | (std::uint32_t{layout} << 24);
  std::memcpy(b, &spec.id, 8);
  std::memcpy(b + 8, &spec.producer, 4);
  std::memcpy(b + 12, &w, 4);
  std::size_t at_byte = block_detail::kHeader;
  if (spec.expires != kNever) {
    std::memcpy(b + at_byte, &spec.expires, 8);
    at_byte += 8;
  }
  if (spec.first != 0) std::memcpy(b + at_byte, &spec.first, 2);

  Pos p;
  try {
    p = push_slot(uid);
  } catch (...) {
    release(b, block_bytes(b));
    throw;
  }
  Slot& s = at(p);
  s.block = b;
  s.state = state;
  s.timed = spec.expires != kNever ? 1 : 0;
  ++live_;
  return p;
}

void MessageStore::kill(Pos p) noexcept {
  Slot& s = at(p);
  assert(s.state != SlotState::dead);
  release(s.block, block_bytes(s.block));
  s.block = nullptr;
  s.state = SlotState::dead;
  --live_;
  trim();
}

Pos MessageStore::relocate(Pos p, std::uint64_t new_uid, SlotList* list) {
  assert(at(p).state != SlotState::dead && uid(tail_ - 1) < new_uid);
  const Pos before = list ? prev(p) : kNoPos;
  const Pos after = list ? next(p) : kNoPos;
  const std::size_t bytes = block_bytes(at(p).block);
  // A paged block is copied to the tail so that its old page can go; a large one moves.
  std::uint8_t* block = at(p).block;
  if (bytes <= kMaxPagedBlock) {
    block = allocate(bytes);
    std::memcpy(block, at(p).block, bytes);
  }
  Pos q;
  try {
    q = push_slot(new_uid);
  } catch (...) {
    if (block != at(p).block) release(block, bytes);
    throw;
  }
  Slot& moved = at(q);
  Slot& old = at(p);
  const std::uint32_t offset = moved.uid_offset;
  moved = old;
  moved.uid_offset = offset;
  moved.block = block;
  if (block != old.block) release(old.block, bytes);
  old.block = nullptr;
  old.state = SlotState::dead;
  set_prev(q, before);
  set_next(q, after);
  if (list) {
    if (before == kNoPos) {
      list->head = q;
    } else {
      set_next(before, q);
    }
    if (after == kNoPos) {
      list->tail = q;
    } else {
      set_prev(after, q);
    }
  }
  trim();
  return q;
}

Pos MessageStore::lower_bound(std::uint64_t uid) const noexcept {
  Pos lo = head_;
  Pos hi = tail_;
  while (lo < hi) {
    const Pos mid = lo + (hi - lo) / 2;
    if (this->uid(mid) < uid) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

Pos MessageStore::find_uid(std::uint64_t uid) const noexcept {
  const Pos p = lower_bound(uid);
  if (p == tail_ || this->uid(p) != uid || at(p).state == SlotState::dead) return kNoPos;
  return p;
}

void MessageStore::push_back(SlotList& list, Pos p) noexcept {
  set_next(p, kNoPos);
  set_prev(p, list.tail);
  if (list.tail == kNoPos) {
    list.head = p;
  } else {
    set_next(list.tail, p);
  }
  list.tail = p;
  ++list.size;
}

void MessageStore::push_front(SlotList& list, Pos p) noexcept {
  set_prev(p, kNoPos);
  set_next(p, list.head);
  if (list.head == kNoPos) {
    list.tail = p;
  } else {
    set_prev(list.head, p);
  }
  list.head = p;
  ++list.size;
}

void MessageStore::unlink(SlotList& list, Pos p) noexcept {
  const Pos before = prev(p);
  const Pos after = next(p);
  if (before == kNoPos) {
    list.head = after;
  } else {
    set_next(before, after);
  }
  if (after == kNoPos) {
    list.tail = before;
  } else {
    set_prev(after, before);
  }
  set_next(p, kNoPos);
  set_prev(p, kNoPos);
  --list.size;
}

void MessageStore::trim() noexcept {
  while (head_ < tail_ && at(head_).state == SlotState::dead) {
    ++head_;
    if ((head_ & (kChunkSlots - 1)) == 0) {
      spare_chunk_ = std::move(chunks_.front().slots);
      chunks_.pop_front();
    }
  }
}

}  // namespace peermq::mq
