#include "mq/message_store.hpp"

#include <cassert>

namespace peermq::mq {

MessageStore::~MessageStore() {
  for (Pos p = head_; p < tail_; ++p) delete[] at(p).block;
}

Pos MessageStore::append(std::uint64_t uid, SlotState state, std::uint64_t id,
                         std::uint32_t size) {
  assert(tail_ == head_ || at(tail_ - 1).uid < uid);
  if ((tail_ & (kChunkSlots - 1)) == 0) {
    chunks_.push_back(spare_ ? std::move(spare_) : std::make_unique<Slot[]>(kChunkSlots));
  }
  const Pos p = tail_++;
  Slot& s = at(p);
  s = Slot{};
  s.uid = uid;
  s.state = state;
  s.size = size;
  s.block = new std::uint8_t[8 + std::size_t{size}];
  std::memcpy(s.block, &id, sizeof id);
  s.next = s.prev = link_of(p);
  block_bytes_ += 8 + std::uint64_t{size};
  ++live_;
  return p;
}

void MessageStore::kill(Pos p) noexcept {
  Slot& s = at(p);
  assert(s.state != SlotState::dead);
  block_bytes_ -= 8 + std::uint64_t{s.size};
  delete[] s.block;
  s.block = nullptr;
  s.state = SlotState::dead;
  --live_;
  trim();
}

Pos MessageStore::relocate(Pos p, std::uint64_t new_uid, SlotList* list) {
  assert(at(p).state != SlotState::dead && at(tail_ - 1).uid < new_uid);
  const Pos before = list ? prev(p) : npos;
  const Pos after = list ? next(p) : npos;
  if ((tail_ & (kChunkSlots - 1)) == 0) {
    chunks_.push_back(spare_ ? std::move(spare_) : std::make_unique<Slot[]>(kChunkSlots));
  }
  const Pos q = tail_++;
  Slot& moved = at(q);
  Slot& old = at(p);
  moved = old;
  moved.uid = new_uid;
  old.block = nullptr;
  old.state = SlotState::dead;
  set_prev(q, before);
  set_next(q, after);
  if (list) {
    if (before == npos) {
      list->head = q;
    } else {
      set_next(before, q);
    }
    if (after == npos) {
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
    if (at(mid).uid < uid) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

Pos MessageStore::find_uid(std::uint64_t uid) const noexcept {
  const Pos p = lower_bound(uid);
  if (p == tail_ || at(p).uid != uid || at(p).state == SlotState::dead) return npos;
  return p;
}

void MessageStore::push_back(SlotList& list, Pos p) noexcept {
  set_next(p, npos);
  set_prev(p, list.tail);
  if (list.tail == npos) {
    list.head = p;
  } else {
    set_next(list.tail, p);
  }
  list.tail = p;
  ++list.size;
}

void MessageStore::push_front(SlotList& list, Pos p) noexcept {
  set_prev(p, npos);
  set_next(p, list.head);
  if (list.head == npos) {
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
  if (before == npos) {
    list.head = after;
  } else {
    set_next(before, after);
  }
  if (after == npos) {
    list.tail = before;
  } else {
    set_prev(after, before);
  }
  set_next(p, npos);
  set_prev(p, npos);
  --list.size;
}

void MessageStore::trim() noexcept {
  while (head_ < tail_ && at(head_).state == SlotState::dead) {
    ++head_;
    if ((head_ & (kChunkSlots - 1)) == 0) {
      spare_ = std::move(chunks_.front());
      chunks_.pop_front();
    }
  }
}

}  // namespace peermq::mq
