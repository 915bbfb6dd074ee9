// StoredMessages: the messages half of the MessageStore — makes a message's slot and block
// from a publish or a journal record, frees it when it is done, and counts what is stored.
//
// A message's slot keeps its command index (DeliveryRouter), priority, delivery counts and
// state; its block keeps the id, the producer index (ProducerTable), the flags, the expiry
// if it has a TTL, the encoded headers and the payload (mq/message_store.hpp). So a stored
// message costs one 32-byte slot plus a 16-byte header, its headers and payload rounded up
// to 4 bytes (8 more with a TTL, 2 more with headers), and nothing else while it waits;
// the key and command name are held once per producer and command, by reference count.
//
// Both create() and drop() keep those references and the counts. Where the message is
// (ready, in flight...) is not this part's business: create() leaves the state asked for,
// and drop() takes a message on no list (held or pending). The store, tables and expiry
// sweep outlive this object. Single-threaded.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "mq/delivery_router.hpp"
#include "mq/expiry_sweep.hpp"
#include "mq/message_store.hpp"
#include "mq/mq_message.hpp"
#include "mq/producer_table.hpp"

namespace peermq::mq {

// What a new message slot holds.
struct NewMessage {
  std::uint32_t producer = 0;  // ProducerTable index, referenced by the caller
  std::uint64_t id = 0;
  std::string_view command;
  const Headers& headers;
  std::span<const std::uint8_t> payload;
  std::int64_t expires = kNever;  // Instant ticks
  std::uint8_t priority = 0;
  std::uint8_t flags = 0;
};

class StoredMessages {
 public:
  StoredMessages(MessageStore& store, ProducerTable& producers, DeliveryRouter& router,
                 ExpirySweep& expiry) noexcept
      : store_(store), producers_(producers), router_(router), expiry_(expiry) {}
  StoredMessages(const StoredMessages&) = delete;
  StoredMessages& operator=(const StoredMessages&) = delete;

  // A slot for `m` under `uid` (its record's seq, above every uid in the store), in
  // `state` and on no list. The slot takes its own reference to m.producer.
  Pos create(std::uint64_t uid, const NewMessage& m, SlotState state);
  // Frees message p, on no list (held or pending): the caller journaled why.
  void drop(Pos p);

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t bytes() const noexcept { return bytes_; }  // payloads and headers

 private:
  MessageStore& store_;
  ProducerTable& producers_;
  DeliveryRouter& router_;
  ExpirySweep& expiry_;
  std::uint64_t count_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace peermq::mq
