#include "mq/message_store.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace peermq::mq;

namespace {

std::vector<std::uint64_t> uids(const MessageStore& s, const SlotList& list) {
  std::vector<std::uint64_t> out;
  for (Pos p = list.head; p != kNoPos; p = s.next(p)) out.push_back(s.uid(p));
  return out;
}

std::vector<std::uint64_t> uids_backwards(const MessageStore& s, const SlotList& list) {
  std::vector<std::uint64_t> out;
  for (Pos p = list.tail; p != kNoPos; p = s.prev(p)) out.push_back(s.uid(p));
  return out;
}

Pos append(MessageStore& s, std::uint64_t uid, std::uint64_t id, std::uint32_t size = 0) {
  BlockSpec spec;
  spec.id = id;
  spec.size = size;
  return s.append(uid, SlotState::ready, spec);
}

std::string text(std::span<const std::uint8_t> b) {
  return std::string(b.begin(), b.end());
}

}  // namespace

TEST_CASE("a store slot is half a cache line") {
  CHECK(sizeof(Slot) == 32);
}

TEST_CASE("appended slots keep their id and bytes: killing the head advances it") {
  MessageStore s;
  const Pos a = append(s, 10, 111, 3);
  const Pos b = append(s, 11, 222, 0);
  CHECK(block_id(s.at(a)) == 111);
  CHECK(block_id(s.at(b)) == 222);
  CHECK(block_size(s.at(a)) == 3);
  CHECK(s.live() == 2);
  s.kill(b);  // a hole: the head stays
  CHECK(s.head() == a);
  CHECK(s.span() == 2);
  s.kill(a);
  CHECK(s.span() == 0);
  CHECK(s.live() == 0);
}

TEST_CASE("a block keeps its header fields, both parts and its expiry") {
  MessageStore s;
  BlockSpec spec;
  spec.id = 0x0102030405060708;
  spec.producer = 77;
  spec.size = 9;
  spec.first = 4;
  spec.flags = 0x21;
  spec.expires = 123456789;
  const Pos p = s.append(5, SlotState::answer, spec);
  std::memcpy(block_data(s.at(p)), "headpay12", 9);
  const Slot& slot = s.at(p);
  CHECK(block_id(slot) == 0x0102030405060708);
  CHECK(block_producer(slot) == 77);
  CHECK(block_size(slot) == 9);
  CHECK(block_flags(slot) == 0x21);
  CHECK(block_expires(slot) == 123456789);
  CHECK(text(block_first(slot)) == "head");
  CHECK(text(block_second(slot)) == "pay12");
  CHECK(text(block_rest(slot)) == "headpay12");
  // The owner's flags change alone: the layout and the data stay.
  set_block_flags(s.at(p), 0x10);
  CHECK(block_flags(slot) == 0x10);
  CHECK(block_expires(slot) == 123456789);
  CHECK(text(block_first(slot)) == "head");
  CHECK(text(block_second(slot)) == "pay12");

  // Without expiry or first part the header is 16 bytes and the fields read as none.
  BlockSpec plain;
  plain.id = 9;
  plain.size = 2;
  const Pos q = s.append(6, SlotState::ready, plain);
  std::memcpy(block_data(s.at(q)), "ok", 2);
  CHECK(block_data(s.at(q)) == s.at(q).block + 16);
  CHECK(block_expires(s.at(q)) == kNever);
  CHECK(block_first(s.at(q)).empty());
  CHECK(text(block_second(s.at(q))) == "ok");
}

TEST_CASE("find_uid finds live slots by binary search and skips dead ones") {
  MessageStore s;
  for (std::uint64_t uid = 1; uid <= 100; uid += 3) (void)append(s, uid, uid);
  const Pos p = s.find_uid(31);
  REQUIRE(p != kNoPos);
  CHECK(s.uid(p) == 31);
  CHECK(s.find_uid(32) == kNoPos);
  CHECK(s.find_uid(1000) == kNoPos);
  s.kill(p);
  CHECK(s.find_uid(31) == kNoPos);
  CHECK(s.uid(s.lower_bound(32)) == 34);
}

TEST_CASE("a uid more than 2^32 past its chunk's base starts a new chunk and stays findable") {
  MessageStore s;
  const std::uint64_t far = std::uint64_t{1} << 33;
  const Pos a = append(s, 1, 1);
  const Pos b = append(s, 2, 2);
  const Pos c = append(s, far, 3);  // does not fit an offset from uid 1
  const Pos d = append(s, far + 1, 4);
  CHECK(c % MessageStore::kChunkSlots == 0);
  CHECK(d == c + 1);
  CHECK(s.uid(c) == far);
  CHECK(s.find_uid(2) == b);
  CHECK(s.find_uid(far) == c);
  CHECK(s.find_uid(far + 1) == d);
  CHECK(s.lower_bound(3) == c);  // the dead rest of the first chunk sorts below
  CHECK(s.live() == 4);
  s.kill(a);
  s.kill(b);
  CHECK(s.head() == c);  // past the dead filler
  CHECK(block_id(s.at(c)) == 3);
}

TEST_CASE("intrusive lists link through the slots in both directions") {
  MessageStore s;
  SlotList list;
  std::vector<Pos> pos;
  for (std::uint64_t uid = 1; uid <= 5; ++uid) pos.push_back(append(s, uid, 0));
  s.push_back(list, pos[1]);
  s.push_back(list, pos[2]);
  s.push_front(list, pos[0]);
  s.push_back(list, pos[3]);
  CHECK(uids(s, list) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(uids_backwards(s, list) == std::vector<std::uint64_t>{4, 3, 2, 1});
  s.unlink(list, pos[2]);
  s.unlink(list, pos[0]);
  CHECK(uids(s, list) == std::vector<std::uint64_t>{2, 4});
  CHECK(list.size == 2);
  s.unlink(list, pos[1]);
  s.unlink(list, pos[3]);
  CHECK(list.head == kNoPos);
  CHECK(list.tail == kNoPos);
}

TEST_CASE("relocate moves a slot to the tail and keeps its place in its list") {
  MessageStore s;
  SlotList list;
  const Pos a = append(s, 1, 7, 4);
  const Pos b = append(s, 2, 8, 0);
  const Pos c = append(s, 3, 9, 0);
  s.push_back(list, a);
  s.push_back(list, b);
  s.push_back(list, c);
  block_data(s.at(a))[0] = 'x';
  s.at(a).priority = 3;
  s.kill((s.unlink(list, b), b));
  const Pos moved = s.relocate(a, 4, &list);
  CHECK(s.head() == c);  // a and b were the dead prefix
  CHECK(s.uid(moved) == 4);
  CHECK(block_id(s.at(moved)) == 7);
  CHECK(block_size(s.at(moved)) == 4);
  CHECK(block_data(s.at(moved))[0] == 'x');
  CHECK(int{s.at(moved).priority} == 3);
  CHECK(uids(s, list) == std::vector<std::uint64_t>{4, 3});
  CHECK(uids_backwards(s, list) == std::vector<std::uint64_t>{3, 4});
  CHECK(s.find_uid(1) == kNoPos);
  CHECK(s.find_uid(4) == moved);
  CHECK(s.live() == 2);
}

TEST_CASE("the store grows and shrinks across chunk boundaries") {
  MessageStore s;
  SlotList list;
  const std::uint64_t n = 3 * MessageStore::kChunkSlots + 17;
  for (std::uint64_t uid = 1; uid <= n; ++uid) s.push_back(list, append(s, uid, uid, 1));
  CHECK(list.size == n);
  std::uint64_t expected = 1;
  while (list.head != kNoPos) {
    const Pos p = list.head;
    CHECK(s.uid(p) == expected);
    CHECK(block_id(s.at(p)) == expected++);
    s.unlink(list, p);
    s.kill(p);
  }
  CHECK(s.span() == 0);
  // Reused after emptying: positions go on, chunks come back.
  const Pos p = append(s, n + 1, 5);
  CHECK(s.find_uid(n + 1) == p);
}

// ---- arena -----------------------------------------------------------------------------------

TEST_CASE("a queued 100-byte message costs a 32-byte slot and a 116-byte block") {
  MessageStore s;
  constexpr std::uint64_t n = 16 * MessageStore::kChunkSlots;
  for (std::uint64_t uid = 1; uid <= n; ++uid) (void)append(s, uid, uid, 100);
  const double per_message = double(s.memory_bytes()) / double(n);
  MESSAGE("bytes per queued 100-byte message, payload included: " << per_message);
  CHECK(per_message >= 32 + 116);
  // Plus the unfilled part of the last page, spread out.
  CHECK(per_message <= 32 + 116 + double(MessageStore::kPageSize) / double(n));
}

TEST_CASE("a page goes back once its blocks are gone: an emptied current page is reused") {
  MessageStore s;
  const std::uint64_t per_page = MessageStore::kPageSize / 1024;
  std::uint64_t uid = 0;
  std::vector<Pos> pos;
  for (std::uint64_t i = 0; i < 4 * per_page; ++i) pos.push_back(append(s, ++uid, i, 1000));
  const std::uint64_t full = s.memory_bytes();
  // FIFO: the first pages go back as their last blocks die (one is kept as a spare).
  for (std::uint64_t i = 0; i < 3 * per_page; ++i) s.kill(pos[i]);
  CHECK(s.memory_bytes() <= full - MessageStore::kPageSize);
  for (std::uint64_t i = 3 * per_page; i < 4 * per_page; ++i) s.kill(pos[i]);
  const std::uint64_t empty = s.memory_bytes();
  // A queue that keeps up: append and kill one at a time, forever on the same page.
  for (int i = 0; i < 100000; ++i) s.kill(append(s, ++uid, 1, 1000));
  CHECK(s.memory_bytes() == empty);
  CHECK(s.live() == 0);
}

TEST_CASE("one old live block keeps only its own page, and relocating it frees that") {
  MessageStore s;
  const std::uint64_t per_page = MessageStore::kPageSize / 1024;
  std::uint64_t uid = 0;
  const Pos stuck = append(s, ++uid, 42, 1000);
  block_data(s.at(stuck))[0] = 's';
  std::vector<Pos> pos;
  for (std::uint64_t i = 0; i < 8 * per_page; ++i) pos.push_back(append(s, ++uid, i, 1000));
  for (Pos p : pos) s.kill(p);
  // Its page, the page being filled and the spare; the ring's slots wait for the head.
  const std::uint64_t slots =
      (pos.size() / MessageStore::kChunkSlots + 2) * MessageStore::kChunkSlots * sizeof(Slot);
  CHECK(s.memory_bytes() <= 3 * MessageStore::kPageSize + slots);
  const Pos moved = s.relocate(stuck, ++uid, nullptr);
  CHECK(block_id(s.at(moved)) == 42);
  CHECK(block_data(s.at(moved))[0] == 's');
  CHECK(s.head() == moved);
  CHECK(s.span() == 1);
}

TEST_CASE("a block larger than a page's share is allocated on its own and freed with it") {
  MessageStore s;
  const std::uint64_t before = s.memory_bytes();
  BlockSpec spec;
  spec.id = 1;
  spec.size = 1 << 20;  // 1 MiB: more than a page
  const Pos p = s.append(1, SlotState::ready, spec);
  block_data(s.at(p))[spec.size - 1] = 'z';
  CHECK(s.memory_bytes() >= before + spec.size);
  CHECK(s.memory_bytes() < before + spec.size + MessageStore::kPageSize);
  const Pos q = s.relocate(p, 2, nullptr);  // moved, not copied
  CHECK(block_data(s.at(q))[spec.size - 1] == 'z');
  s.kill(q);
  CHECK(s.memory_bytes() <= before + MessageStore::kChunkSlots * sizeof(Slot));
}
