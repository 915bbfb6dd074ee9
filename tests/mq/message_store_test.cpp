#include "mq/message_store.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace peermq::mq;

namespace {

std::vector<std::uint64_t> uids(const MessageStore& s, const SlotList& list) {
  std::vector<std::uint64_t> out;
  for (Pos p = list.head; p != npos; p = s.next(p)) out.push_back(s.at(p).uid);
  return out;
}

std::vector<std::uint64_t> uids_backwards(const MessageStore& s, const SlotList& list) {
  std::vector<std::uint64_t> out;
  for (Pos p = list.tail; p != npos; p = s.prev(p)) out.push_back(s.at(p).uid);
  return out;
}

}  // namespace

TEST_CASE("a store slot is one cache line") { CHECK(sizeof(Slot) == 64); }

TEST_CASE("appended slots keep their id and bytes; killing the head advances it") {
  MessageStore s;
  const Pos a = s.append(10, SlotState::ready, 111, 3);
  const Pos b = s.append(11, SlotState::ready, 222, 0);
  CHECK(block_id(s.at(a)) == 111);
  CHECK(block_id(s.at(b)) == 222);
  CHECK(s.live() == 2);
  CHECK(s.memory_bytes() >= 8 + 3 + 8);
  s.kill(b);  // a hole: the head stays
  CHECK(s.head() == a);
  CHECK(s.span() == 2);
  s.kill(a);
  CHECK(s.span() == 0);
  CHECK(s.live() == 0);
}

TEST_CASE("find_uid finds live slots by binary search and skips dead ones") {
  MessageStore s;
  for (std::uint64_t uid = 1; uid <= 100; uid += 3) (void)s.append(uid, SlotState::ready, uid, 0);
  const Pos p = s.find_uid(31);
  REQUIRE(p != npos);
  CHECK(s.at(p).uid == 31);
  CHECK(s.find_uid(32) == npos);
  CHECK(s.find_uid(1000) == npos);
  s.kill(p);
  CHECK(s.find_uid(31) == npos);
  CHECK(s.at(s.lower_bound(32)).uid == 34);
}

TEST_CASE("intrusive lists link through the slots in both directions") {
  MessageStore s;
  SlotList list;
  std::vector<Pos> pos;
  for (std::uint64_t uid = 1; uid <= 5; ++uid) pos.push_back(s.append(uid, SlotState::ready, 0, 0));
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
  CHECK(list.head == npos);
  CHECK(list.tail == npos);
}

TEST_CASE("relocate moves a slot to the tail and keeps its place in its list") {
  MessageStore s;
  SlotList list;
  const Pos a = s.append(1, SlotState::ready, 7, 4);
  const Pos b = s.append(2, SlotState::ready, 8, 0);
  const Pos c = s.append(3, SlotState::ready, 9, 0);
  s.push_back(list, a);
  s.push_back(list, b);
  s.push_back(list, c);
  s.at(a).block[8] = 'x';
  s.kill((s.unlink(list, b), b));
  const Pos moved = s.relocate(a, 4, &list);
  CHECK(s.head() == c);  // a and b were the dead prefix
  CHECK(s.at(moved).uid == 4);
  CHECK(block_id(s.at(moved)) == 7);
  CHECK(s.at(moved).block[8] == 'x');
  CHECK(uids(s, list) == std::vector<std::uint64_t>{4, 3});
  CHECK(uids_backwards(s, list) == std::vector<std::uint64_t>{3, 4});
  CHECK(s.find_uid(1) == npos);
  CHECK(s.find_uid(4) == moved);
  CHECK(s.live() == 2);
}

TEST_CASE("the store grows and shrinks across chunk boundaries") {
  MessageStore s;
  SlotList list;
  const std::uint64_t n = 3 * MessageStore::kChunkSlots + 17;
  for (std::uint64_t uid = 1; uid <= n; ++uid) {
    s.push_back(list, s.append(uid, SlotState::ready, uid, 1));
  }
  CHECK(list.size == n);
  std::uint64_t expected = 1;
  while (list.head != npos) {
    const Pos p = list.head;
    CHECK(s.at(p).uid == expected++);
    s.unlink(list, p);
    s.kill(p);
  }
  CHECK(s.span() == 0);
  // Reused after emptying: positions go on, chunks come back.
  const Pos p = s.append(n + 1, SlotState::ready, 5, 0);
  CHECK(s.find_uid(n + 1) == p);
}
