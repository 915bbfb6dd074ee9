// StoredMessages: a message's slot and block made from a publish or a record, freed when
// it is done, and what a stored message costs. First through the broker, then on its own.
#include "mq/stored_messages.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "mq_harness.hpp"

using namespace mqtest;
using namespace mqtest::peers;
using namespace std::chrono_literals;

// ---- through the broker ----------------------------------------------------------------------

TEST_CASE("a stored message costs a 32-byte slot and its block, and its id costs nothing") {
  BrokerHarness h;
  h.hello(P, Role::producer);
  constexpr std::uint64_t n = 16 * MessageStore::kChunkSlots;
  for (std::uint64_t i = 1; i <= n; ++i) {
    REQUIRE(h.publish(P, (std::uint64_t{1} << 40) + i, "jobs", "0123456789"));
    if (i % 1024 == 0) h.commit();  // group commit, as the runtime does
  }
  h.commit();
  const BrokerStats s = h.broker->stats();
  CHECK(s.stored_messages == n);
  CHECK(s.dedupe_entries == n);
  // A slot and a block of a 16-byte header and the payload, rounded up to 4 bytes, in whole
  // pages; consecutive ids are one run in the dedupe, the other indexes a commit's worth.
  const double per_message = double(s.store_memory_bytes) / double(n);
  const double per_id = double(s.index_memory_bytes) / double(n);
  MESSAGE("bytes per stored 10-byte message: " << per_message << " + indexes " << per_id);
  CHECK(per_message <= 32 + 28 + double(MessageStore::kPageSize) / double(n));
  CHECK(per_id < 1);
}

// ---- the part on its own ---------------------------------------------------------------------

TEST_CASE("a stored message's slot and block hold what the publish said") {
  PartsRig r;
  const std::uint32_t producer = r.producers.intern(P);
  Bytes encoded;
  const std::pair<std::string_view, std::string_view> entries[] = {{"k", "v"}};
  Headers::encode(entries, encoded);
  const Headers headers{encoded, 1};
  const Bytes payload = bytes("payload");
  const Pos p = r.messages.create(
      7, NewMessage{producer, 42, "jobs", headers, payload, 1234, 3, kFlagNoAnswer | 0x80},
      SlotState::pending);
  const Slot& s = r.store.at(p);
  CHECK(s.state == SlotState::pending);
  CHECK(r.store.uid(p) == 7);
  CHECK(block_id(s) == 42);
  CHECK(block_producer(s) == producer);
  CHECK(r.router.command_name(s.command) == "jobs");
  CHECK(unsigned{s.priority} == 3);
  CHECK(block_flags(s) == kFlagNoAnswer);  // unknown flags are not kept
  CHECK(block_expires(s) == 1234);
  CHECK(unsigned{s.timed} == 1);
  CHECK(text(block_first(s)) == text(encoded));
  CHECK(text(block_second(s)) == "payload");
  CHECK(r.messages.count() == 1);
  CHECK(r.messages.bytes() == encoded.size() + payload.size());
  CHECK(r.expiry.deadline() == 1234);  // its expiry is noted
}

TEST_CASE("a stored message holds its producer and command until it is dropped") {
  PartsRig r;
  const std::uint32_t producer = r.producers.intern(P);
  const Pos a = r.message("jobs");
  const Pos b = r.message("jobs");
  CHECK(r.producers.refs(producer) == 3);
  CHECK(r.router.commands() == 1);
  r.messages.drop(a);
  CHECK(r.producers.refs(producer) == 2);
  CHECK(r.router.commands() == 1);
  r.messages.drop(b);
  CHECK(r.producers.refs(producer) == 1);
  CHECK(r.router.commands() == 0);
  CHECK(r.messages.count() == 0);
  CHECK(r.messages.bytes() == 0);
  CHECK(r.store.live() == 0);
}

TEST_CASE("headers that hold no entry cost nothing") {
  PartsRig r;
  const std::uint32_t producer = r.producers.intern(P);
  const Bytes empty_map = {0x80};  // an encoded map with no entry
  const Headers headers{empty_map, 0};
  const Bytes payload = bytes("x");
  const Pos p = r.messages.create(1, NewMessage{producer, 1, "", headers, payload, kNever, 0, 0},
                                  SlotState::held);
  CHECK(block_first(r.store.at(p)).empty());
  CHECK(r.messages.bytes() == 1);
  CHECK(unsigned{r.store.at(p).timed} == 0);
}
