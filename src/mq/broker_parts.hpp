// BrokerParts: references to the parts of a Broker that hold its state, so the parts that
// only act on them (Settlement, BrokerRecovery) take one argument instead of eight.
//
// Plain references: the Broker owns every part and outlives every BrokerParts it hands
// out. What each part owns is in its own header (and the list in mq/broker.hpp).
#pragma once

#include "mq/answer_box.hpp"
#include "mq/broker_journal.hpp"
#include "mq/dead_letter_queue.hpp"
#include "mq/delivery_router.hpp"
#include "mq/message_store.hpp"
#include "mq/producer_table.hpp"
#include "mq/publish_tracker.hpp"
#include "mq/stored_messages.hpp"

namespace peermq::mq {

struct BrokerParts {
  MessageStore& store;
  BrokerJournal& journal;
  ProducerTable& producers;
  DeliveryRouter& router;
  StoredMessages& messages;
  AnswerBox& answers;
  DeadLetterQueue& dead_letters;
  PublishTracker& publishes;
};

}  // namespace peermq::mq
