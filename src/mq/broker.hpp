// Broker: the queue's state machine. It stores messages, hands each to one consumer of its
// command, routes answers back to producers, and journals everything it must not forget.
//
// No I/O. The runtime feeds it events and the time, and gives it two small interfaces:
//   Journal       append(body) -> seq: a record for the durable log (mq/broker_journal.hpp),
//                 not yet durable; the runtime calls on_committed(seq) once it is (group
//                 commit: one fsync per loop iteration covers many records).
//   BrokerOutbox  send(peer, bytes): one queue message (mq/mq_message.hpp) for a peer;
//                 false when that peer's send buffer is full (then on_writable(peer)).
// Both may be called during any Broker call; neither may call back into the Broker.
//
// Guarantees
// - A publish is confirmed only once its record is committed; a message is delivered only
//   once committed too, so nothing a consumer saw can vanish in a crash. A duplicate
//   publish (same producer key and id within the dedupe window) is confirmed again, never
//   stored twice.
// - Each message goes to one consumer subscribed to its command (a consumer with no
//   commands takes messages without one), within the consumer's prefetch, round-robin
//   among those with credit; higher priority first within a command, FIFO within a
//   priority. Messages wait while no suitable consumer exists. An expired message (TTL) is
//   never delivered: it is dropped, counted, and its producer told (status expired).
// - An answer acknowledges the delivery. A reject with requeue, a consumer that goes away
//   or does not answer within the visibility timeout sends the message to another
//   consumer; the max_deliveries'th such return moves it to the dead-letter queue instead,
//   as does a reject without requeue, and the producer is told (status dead_lettered or
//   rejected). Admins list, requeue and purge the dead-letter queue.
// - Answers are journaled, sent to the producer (by its key) at once or when it says hello
//   again, and kept until it sends answer_received or they expire (answer_ttl).
// - Bounded: beyond max_messages stored messages (or as many answers not yet fetched) or
//   max_bytes of stored payloads and answers, publishes get publish_nack(queue_full);
//   nothing is dropped.
// - Access control (optional AccessList) at hello and at every publish; refusals are sent,
//   counted and reported.
// - Malformed or misdirected input is dropped, counted and returned as a typed error;
//   stored data is never touched by it.
//
// Recovery: at start-up feed every record of the log to replay() in order (after a crash
// only the committed ones exist). The broker is then exactly as it was at the last commit,
// except that deliveries in flight are ready again and delivery counts restart from the
// last time the message's record was written. live_floor() says which records are still
// needed: the log may delete any segment whose records all have a lower seq. Compaction
// rewrites the few long-lived records at the floor (a message no consumer takes, the DLQ)
// so that the floor keeps moving and disk use returns to baseline.
//
// Parts. The Broker is a facade: it keeps the peers' connections, decodes their messages
// and decides what each one means, and leaves the state to parts that each own theirs:
//   MessageStore     (message_store.hpp)     slots and blocks of stored messages and answers
//   ProducerTable    (producer_table.hpp)    producer keys as small indexes, online links
//   DeliveryRouter   (delivery_router.hpp)   commands, consumers, credit, in flight
//   StoredMessages   (stored_messages.hpp)   message slots made and freed, counted
//   AnswerBox        (answer_box.hpp)        stored answers per producer, sending them
//   DeadLetterQueue  (dead_letter_queue.hpp) the DLQ, its listing
//   PublishTracker   (publish_tracker.hpp)   dedupe of publish ids, pending confirms
//   QueueLimits      (queue_limits.hpp)      bounds and access checks
//   BrokerJournal    (broker_journal.hpp)    seqs, commits, the live floor, record times
//   Settlement       (settlement.hpp)        a message's outcomes: answered, requeued, DLQ
//   BrokerRecovery   (broker_recovery.hpp)   replay of records, compaction
//   ExpirySweep      (expiry_sweep.hpp)      when and how expired slots are found
//   BrokerSender     (broker_sender.hpp)     encoding and sending, blocked peers
//
// Timers (folded into next_deadline()):
//   visibility  the oldest in-flight delivery's deadline (one FIFO: one timeout for all)
//   expiry      the earliest TTL or answer expiry, swept at most every
//               broker_expiry_sweep_interval
//   dedupe      the dedupe generation turns every dedupe_window
//
// What a stored message costs: one 32-byte slot plus one block of a 16-byte header, the
// encoded headers and the payload, rounded up to 4 bytes (8 more with a TTL, 2 more with
// headers), bump-allocated in 1 MiB arena pages that go back once all their blocks are
// gone (mq/message_store.hpp); nothing else while it waits. So a 100-byte payload without
// TTL or headers costs 32 + 116 bytes, 48 beyond the payload. Its publish id costs nothing
// while the producer's ids are consecutive, as ProducerCore's are (mq/publish_dedupe.hpp:
// runs of consecutive ids per producer, kept for one to two dedupe windows); an id out of
// order costs a run or ~24 bytes / load for as long. Bounded extras: while pending, an
// entry in the pending-id index (a commit's worth); while in flight, one in the deadline
// index (the prefetches). Per stored answer: one slot, one block of 16 + 8 (expiry) +
// reason + payload bytes (+2 with a reason), and a 24-byte entry in the answer index.
// Measured figures are in the README (Performance), from tests/bench/core_bench.
//
// Threads: one (the node's loop).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/result.hpp>

#include "metrics/counter_registry.hpp"
#include "mq/access_list.hpp"
#include "mq/answer_box.hpp"
#include "mq/broker_config.hpp"
#include "mq/broker_journal.hpp"
#include "mq/broker_metrics.hpp"
#include "mq/broker_parts.hpp"
#include "mq/broker_recovery.hpp"
#include "mq/broker_sender.hpp"
#include "mq/dead_letter_queue.hpp"
#include "mq/delivery_router.hpp"
#include "mq/expiry_sweep.hpp"
#include "mq/message_store.hpp"
#include "mq/mq_error.hpp"
#include "mq/mq_message.hpp"
#include "mq/producer_table.hpp"
#include "mq/publish_tracker.hpp"
#include "mq/queue_limits.hpp"
#include "mq/settlement.hpp"
#include "mq/stored_messages.hpp"

namespace peermq::mq {

// Levels for tests and `-stat`; counters of events are in the Counters registry.
struct BrokerStats {
  std::uint64_t stored_messages = 0;  // pending + ready + in flight + dead letters
  std::uint64_t pending = 0;          // appended, not yet committed
  std::uint64_t ready = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t stored_answers = 0;
  std::uint64_t stored_bytes = 0;  // payloads + headers + answers
  std::uint64_t consumers = 0;
  std::uint64_t producers = 0;  // producer entries (online or referenced)
  std::uint64_t commands = 0;
  std::uint64_t dedupe_entries = 0;
  std::uint64_t store_span = 0;          // slots between the oldest live one and the newest
  std::uint64_t store_memory_bytes = 0;  // slots and blocks (MessageStore)
  std::uint64_t index_memory_bytes = 0;  // dedupe, pending, answer and deadline indexes
};

class Broker {
 public:
  // `now` and `wall_now` are read together once, to turn TTLs into Unix times in records.
  // Throws std::invalid_argument if config.validate() fails (start-up only).
  Broker(BrokerConfig config, Journal& journal, BrokerOutbox& outbox, Counters& counters,
         Instant now, WallTime wall_now);
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;
  ~Broker();

  // Start-up: every record of the log in order, before any other call. A record that does
  // not decode, or whose seq does not grow, is skipped, counted and its error returned;
  // replay goes on.
  Result<void> replay(std::uint64_t seq, std::span<const std::uint8_t> body);

  // A session with `peer` is up. A peer already connected starts afresh (its deliveries
  // are requeued), so the runtime may call this for every new session.
  void on_connect(const PublicKey& peer, Instant now);
  // One message from `peer`. Errors are drops (counted, and reported when a peer should
  // be told); they never change stored data.
  Result<void> on_message(const PublicKey& peer, std::span<const std::uint8_t> bytes, Instant now);
  // The peer's session ended; nothing when it has no connection here.
  void on_disconnect(const PublicKey& peer, Instant now);
  // Whether `peer` has a connection here (on_connect, or a message, made it one).
  bool connected(const PublicKey& peer) const { return connections_.count(peer) != 0; }
  // The peer's send buffer has room again after a send() returned false.
  void on_writable(const PublicKey& peer, Instant now);
  // Every record up to and including `upto` is durable.
  void on_committed(std::uint64_t upto, Instant now);
  void on_timeout(Instant now);
  // When on_timeout() has work; Instant::max() when none.
  Instant next_deadline() const noexcept;

  // Records with a lower seq are no longer needed (see Recovery above): release them all.
  // The floor only grows.
  std::uint64_t live_floor() const noexcept { return journal_.floor(store_); }

  BrokerStats stats() const;
  const BrokerConfig& config() const noexcept { return config_; }

 private:
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};
  using Consumer = DeliveryRouter::Consumer;

  struct Connection {
    PeerLink link;
    bool admin = false;
    std::uint32_t producer = kNone;  // producer table index once hello'd as producer
    Consumer* consumer = nullptr;    // owned by the router
    Grant grant;
  };

  // Peers and protocol messages.
  Connection& connection(const PublicKey& peer);
  void disconnect(Connection& c, Instant now);
  void remove_consumer(Connection& c, Instant now);
  Result<void> handle(Connection& c, const Message& m, Instant now);
  Result<void> drop(MqError e);  // a message dropped unused: counted
  Result<void> refuse(Connection& c, RefuseCode code, std::string_view text);
  Result<void> on_hello(Connection& c, const Hello& m, Instant now);
  Result<void> on_publish(Connection& c, const Publish& m, Instant now);
  Result<void> nack(Connection& c, const Publish& m, Admission a, std::size_t size);
  Result<void> on_answer_received(Connection& c, const AnswerReceived& m);
  Result<void> on_answer(Connection& c, const Answer& m, Instant now);
  Result<void> on_reject(Connection& c, const Reject& m, Instant now);
  Result<void> on_credit(Connection& c, const Credit& m, Instant now);
  Result<void> on_dlq_list(Connection& c, const DlqList& m);
  Result<void> on_dlq_modify(Connection& c, const DlqModify& m, Instant now);

  BrokerParts parts() noexcept {
    return {store_, journal_, producers_, router_, messages_, answers_, dead_letters_, publishes_};
  }
  QueueLevels levels() const noexcept {
    return {messages_.count(), answers_.count(), messages_.bytes() + answers_.bytes()};
  }
  void update_gauges();

  BrokerConfig config_;
  BrokerMetrics metrics_;
  BrokerSender sender_;
  BrokerJournal journal_;
  MessageStore store_;
  ProducerTable producers_;
  ExpirySweep expiry_;
  DeliveryRouter router_;
  StoredMessages messages_;
  AnswerBox answers_;
  DeadLetterQueue dead_letters_;
  PublishTracker publishes_;
  QueueLimits limits_;
  Settlement settlement_;
  BrokerRecovery recovery_;
  std::unordered_map<PublicKey, Connection, PublicKeyHash> connections_;
  std::vector<Pos> positions_;  // scratch list of positions
};

}  // namespace peermq::mq
