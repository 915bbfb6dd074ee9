// DeadLetterQueue: messages no consumer could handle, kept for an admin to list, requeue
// or purge. First through the broker, then the queue on its own.
#include "mq/dead_letter_queue.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mq/mq_error.hpp"
#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("an admin lists dead letters page by page") {
  BrokerHarness h;
  make_dead_letters(h, 5);
  h.hello(A, Role::admin);
  (void)h.take(A);
  std::vector<Got> keep;
  DlqListResult page = list_dead_letters(h, 0, 2, keep);
  CHECK(page.total == 5);
  REQUIRE(page.entries.size() == 2);
  CHECK(page.entries[0].message_id == 1);
  CHECK(page.entries[0].producer == P);
  CHECK(page.entries[0].command == "jobs");
  CHECK(page.entries[0].reason == DeadLetterReason::rejected);
  CHECK(page.entries[0].deliveries == 1);
  std::vector<std::uint64_t> ids;
  std::uint64_t after = 0;
  do {
    std::vector<Got> k;
    DlqListResult r = list_dead_letters(h, after, 2, k);
    for (const DlqEntry& e : r.entries) ids.push_back(e.message_id);
    after = r.next;
  } while (after != 0);
  CHECK(ids == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("an admin requeues a dead letter and it is delivered again from count 1") {
  BrokerHarness h;
  make_dead_letters(h, 2);
  h.hello(A, Role::admin);
  (void)h.take(A);
  std::vector<Got> keep;
  const std::uint64_t uid = list_dead_letters(h, 0, 10, keep).entries.at(1).uid;
  REQUIRE(h.send(A, DlqModify{6, DlqAction::requeue, false, {uid, uid, 999999}}));
  auto done = h.take(A);
  CHECK(done.at(0).as<DlqDone>().count == 1);
  auto d = h.deliveries(C);
  REQUIRE(d.size() == 1);
  CHECK(text(d[0].as<Deliver>().payload) == "m2");
  CHECK(d[0].as<Deliver>().delivery_count == 1);
  CHECK(h.broker->stats().dead_letters == 1);
}

TEST_CASE("an admin purges all dead letters") {
  BrokerHarness h;
  make_dead_letters(h, 3);
  h.hello(A, Role::admin);
  (void)h.take(A);
  REQUIRE(h.send(A, DlqModify{1, DlqAction::purge, true, {}}));
  CHECK(h.take(A).at(0).as<DlqDone>().count == 3);
  CHECK(h.broker->stats().dead_letters == 0);
  CHECK(h.broker->stats().stored_messages == 0);
}

TEST_CASE("dead-letter requests from a peer that is not an admin are dropped") {
  BrokerHarness h;
  make_dead_letters(h, 1);
  CHECK(h.send(C, DlqList{1, 0, 10}).error() == MqError::hello_required);
  CHECK(h.send(P, DlqModify{1, DlqAction::purge, true, {}}).error() == MqError::hello_required);
  CHECK(h.broker->stats().dead_letters == 1);
}

// ---- the queue on its own --------------------------------------------------------------------

TEST_CASE("a dead letter keeps its own flags beside the reason, and reset clears both counts") {
  PartsRig r;
  const Pos p = r.message("jobs", P, 0, kNever, "x", kFlagNoAnswer);
  r.store.at(p).deliveries = 4;
  r.dead_letters.enter(p, DeadLetterReason::max_deliveries);
  CHECK(r.dead_letters.count() == 1);
  CHECK(r.state(p) == SlotState::dead_letter);
  CHECK(DeadLetterQueue::reason(r.store.at(p)) == DeadLetterReason::max_deliveries);
  CHECK((block_flags(r.store.at(p)) & 0x0f) == kFlagNoAnswer);
  r.dead_letters.leave(p);
  CHECK(r.dead_letters.count() == 0);
  CHECK(r.state(p) == SlotState::held);
  r.dead_letters.reset(p);
  CHECK(r.store.at(p).deliveries == 0);
  CHECK(block_flags(r.store.at(p)) == kFlagNoAnswer);
}

TEST_CASE("a listing pages through dead letters in uid order and skips the rest") {
  PartsRig r;
  std::vector<std::uint64_t> dead;
  for (int i = 0; i < 7; ++i) {
    const Pos p = r.message("jobs");
    if (i % 2 == 0) {
      r.dead_letters.enter(p, DeadLetterReason::rejected);
      dead.push_back(r.store.uid(p));
    }
  }
  std::vector<std::uint64_t> seen;
  std::uint64_t after = 0;
  int pages = 0;
  do {
    const DlqListResult page = r.dead_letters.list(DlqList{1, after, 3});
    CHECK(page.total == 4);
    CHECK(page.entries.size() <= 3);
    for (const DlqEntry& e : page.entries) {
      seen.push_back(e.uid);
      CHECK(e.command == "jobs");
      CHECK(e.producer == P);
    }
    after = page.next;
    ++pages;
  } while (after != 0 && pages < 10);
  CHECK(seen == dead);
  CHECK(pages == 2);
}

TEST_CASE("a listing with no cursor gives only the total") {
  PartsRig r;
  r.dead_letters.enter(r.message("jobs"), DeadLetterReason::rejected);
  const DlqListResult page = r.dead_letters.list(DlqList{1, ~std::uint64_t{0}, 10});
  CHECK(page.total == 1);
  CHECK(page.entries.empty());
  CHECK(page.next == 0);
}

TEST_CASE("a listing scans a bounded stretch of the store per entry asked for") {
  PartsRig r;
  for (int i = 0; i < 2000; ++i) (void)r.message("jobs");  // a long run of live messages
  const Pos last = r.message("jobs");
  r.dead_letters.enter(last, DeadLetterReason::rejected);
  const DlqListResult first = r.dead_letters.list(DlqList{1, 0, 1});
  CHECK(first.entries.empty());  // 1,024 slots scanned, none a dead letter
  REQUIRE(first.next != 0);      // ... so it says where to go on
  const DlqListResult second = r.dead_letters.list(DlqList{1, first.next, 1});
  REQUIRE(second.entries.size() == 1);
  CHECK(second.entries[0].uid == r.store.uid(last));
}

TEST_CASE("select names every dead letter, or the live slots of the uids given") {
  PartsRig r;
  const Pos a = r.message("jobs");
  const Pos b = r.message("jobs");
  const Pos c = r.message("jobs");
  r.dead_letters.enter(a, DeadLetterReason::rejected);
  r.dead_letters.enter(c, DeadLetterReason::rejected);
  std::vector<Pos> all;
  r.dead_letters.select(DlqModify{1, DlqAction::purge, true, {}}, all);
  CHECK(all == std::vector<Pos>{a, c});
  std::vector<Pos> named;
  r.dead_letters.select(DlqModify{1, DlqAction::purge, false, {r.store.uid(b), 12345}}, named);
  CHECK(named == std::vector<Pos>{b});  // live, if not a dead letter: the caller checks
}
