// Broker: the queue's state machine. It stores messages, hands each to one consumer of its
// command, routes answers back to producers, and journals everything it must not forget.
//
// No I/O. The runtime feeds it events and the time, and gives it two small interfaces:
//   Journal       append(body) -> seq: a record for the durable log (mq/journal_record.hpp),
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
// Timers (folded into next_deadline()):
//   visibility  the oldest in-flight delivery's deadline (one FIFO: one timeout for all)
//   expiry      the earliest TTL or answer expiry, swept at most every
//               broker_expiry_sweep_interval
//   dedupe      the dedupe generation turns every dedupe_window
//
// Memory per stored message: one 32-byte slot plus one block of a 16-byte header, the
// encoded headers and the payload, rounded up to 4 bytes (8 more with a TTL, 2 more with
// headers), bump-allocated in 1 MiB arena pages that go back once all their blocks are
// gone (mq/message_store.hpp): 48 bytes beyond a 100-byte payload, and nothing else while
// it waits. Measured with 1,000,000 queued 100-byte messages: 48 bytes of heap beyond the
// payload in the I/O-free broker (tests/bench/core_bench; 145 before), 53 of the broker
// process's RSS (scripts/queue_bench.sh; 146 before). Its publish id costs nothing while
// the producer's ids are consecutive, as ProducerCore's are (mq/publish_dedupe.hpp: runs of
// consecutive ids per producer, kept for one to two dedupe windows); an id out of order
// costs a run or ~24 bytes / load for as long. Bounded extras: while pending, an entry in
// the pending-id index (a commit's worth); while in flight, one in the deadline index (the
// prefetches). Per stored answer: one slot, one block of 16 + 8 (expiry) + reason +
// payload bytes (+2 with a reason), and a 24-byte entry in the answer index.
//
// Threads: one (the node's loop).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/result.hpp>

#include "metrics/counter_registry.hpp"
#include "mq/access_list.hpp"
#include "mq/flat_table.hpp"
#include "mq/journal_record.hpp"
#include "mq/message_store.hpp"
#include "mq/mq_message.hpp"
#include "mq/publish_dedupe.hpp"
#include "wire/limits.hpp"

namespace peermq::mq {

struct BrokerConfig {
  Duration visibility_timeout = limits::broker_visibility_timeout;
  std::uint32_t max_deliveries = limits::broker_max_deliveries;  // 1..255
  std::uint64_t max_messages = limits::broker_queue_max_messages;
  std::uint64_t max_bytes = limits::broker_queue_max_bytes;
  std::size_t max_payload = limits::max_payload;  // payload + headers; <= limits::max_payload
  Duration answer_ttl = limits::answer_ttl_default;
  Duration dedupe_window = limits::dedupe_window;
  std::size_t dedupe_max_entries = limits::dedupe_max_entries;
  std::uint64_t compact_min_span = limits::broker_compact_min_span;
  std::optional<AccessList> access;  // none: everybody may do everything
  std::string name = "broker";       // for refusal texts

  Result<void> validate() const;
};

// The runtime implements it over runtime::SegmentLog: append() -> SegmentLog::append(),
// and after each commit, on_committed(stored_seq()) then SegmentLog::release(s) for every
// s below live_floor() not released yet. append() cannot fail: a log that can no longer
// write (LogError::failed) must stop the broker process, and recovery starts again from
// what is on disk.
class Journal {
 public:
  virtual ~Journal() = default;
  // Appends a copy of `body`; returns its sequence number: at least 1 and greater than
  // every one before (including those replayed). Not durable until the owner calls
  // Broker::on_committed.
  virtual std::uint64_t append(std::span<const std::uint8_t> body) = 0;

 protected:
  Journal() = default;
  Journal(const Journal&) = default;
  Journal& operator=(const Journal&) = default;
};

class BrokerOutbox {
 public:
  virtual ~BrokerOutbox() = default;
  // Queues a copy of `message` for `peer`; false if its send buffer is full (dropped).
  virtual bool send(const PublicKey& peer, std::span<const std::uint8_t> message) = 0;
  // A line for the operator's log: refusals, malformed input, dead letters.
  virtual void report(const PublicKey& peer, std::string_view what) {
    (void)peer;
    (void)what;
  }

 protected:
  BrokerOutbox() = default;
  BrokerOutbox(const BrokerOutbox&) = default;
  BrokerOutbox& operator=(const BrokerOutbox&) = default;
};

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
  std::uint64_t store_span = 0;  // slots between the oldest live one and the newest
  std::uint64_t store_memory_bytes = 0;  // slots and blocks (MessageStore)
  std::uint64_t index_memory_bytes = 0;  // dedupe and answer indexes
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
  Result<void> on_message(const PublicKey& peer, std::span<const std::uint8_t> bytes,
                          Instant now);
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
  std::uint64_t live_floor() const noexcept;

  BrokerStats stats() const;
  const BrokerConfig& config() const noexcept { return config_; }

 private:
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  struct Connection;
  struct Consumer {
    std::uint32_t id = 0;
    Connection* conn = nullptr;
    std::string name;
    std::vector<std::uint32_t> commands;
    std::uint32_t prefetch = 0;
    std::uint32_t in_flight = 0;
    std::uint32_t zombies = 0;  // timed-out deliveries it may still answer: still charged
    std::uint32_t rr = 0;       // round robin over its commands
  };
  struct Connection {
    PublicKey key{};
    bool blocked = false;  // its send buffer was full
    bool admin = false;
    std::uint32_t producer = kNone;  // producer table index once hello'd as producer
    Consumer* consumer = nullptr;    // owned by consumers_
    Grant grant;
  };
  struct Producer {
    PublicKey key{};
    std::uint32_t refs = 0;  // slots, dedupe entries, the online connection
    Connection* conn = nullptr;
    SlotList answers;
    Pos unsent = npos;  // first answer not yet sent on the current connection
  };
  struct CommandQueue {
    std::string name;
    std::array<SlotList, limits::max_priority + 1> ready;
    std::uint16_t mask = 0;  // bit p: ready[p] is not empty
    std::uint32_t refs = 0;  // message slots and subscriptions
    std::vector<Consumer*> consumers;
    std::uint32_t rr = 0;
  };
  struct IdKey {
    std::uint32_t producer = 0;
    std::uint64_t id = 0;
    friend bool operator==(const IdKey&, const IdKey&) = default;
  };
  struct IdKeyHash {
    std::uint64_t operator()(const IdKey& k) const noexcept {
      return mix64(k.id ^ (std::uint64_t{k.producer} * 0x9e3779b97f4a7c15ULL));
    }
  };
  struct KeyHash {
    std::size_t operator()(const PublicKey& k) const noexcept;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // A slot killed by a record not yet durable: its own record must stay until then.
  struct Unsettled {
    std::uint64_t seq;
    std::uint64_t uid;
  };
  struct Metrics {
    explicit Metrics(CounterRegistry c);
    Counter& published;
    Counter& duplicates;
    Counter& confirmed;
    Counter& nacked_queue_full;
    Counter& nacked_too_large;
    Counter& nacked_not_allowed;
    Counter& delivered;
    Counter& redelivered;
    Counter& answered;
    Counter& rejected;
    Counter& visibility_timeouts;
    Counter& expired;
    Counter& dead_lettered;
    Counter& dlq_requeued;
    Counter& dlq_purged;
    Counter& answers_sent;
    Counter& answers_expired;
    Counter& refused;
    Counter& malformed;
    Counter& dropped;
    Counter& send_blocked;
    Counter& replay_errors;
    Counter& relocated;
    Counter& dedupe_early_turns;
    Gauge& stored_messages;
    Gauge& stored_bytes;
    Gauge& ready;
    Gauge& in_flight;
    Gauge& dead_letters;
    Gauge& stored_answers;
    Gauge& consumers;
  };

  // Message handlers (broker.cpp).
  Result<void> handle(Connection& c, const Message& m, Instant now);
  Result<void> on_hello(Connection& c, const Hello& m, Instant now);
  Result<void> hello_consumer(Connection& c, const Hello& m, Instant now);
  Result<void> on_publish(Connection& c, const Publish& m, Instant now);
  Result<void> on_answer(Connection& c, const Answer& m, Instant now);
  Result<void> on_reject(Connection& c, const Reject& m, Instant now);
  Result<void> on_answer_received(Connection& c, const AnswerReceived& m);
  Result<void> on_credit(Connection& c, const Credit& m, Instant now);
  Result<void> on_dlq_list(Connection& c, const DlqList& m);
  Result<void> on_dlq_modify(Connection& c, const DlqModify& m, Instant now);
  Result<void> refuse(Connection& c, RefuseCode code, std::string_view text);
  void nack(Connection& c, std::uint64_t id, NackReason reason, std::string_view text);
  bool send(Connection& c, std::span<const std::uint8_t> bytes);
  Pos resolve_delivery(Consumer& k, std::uint64_t tag, bool allow_requeued);
  void remove_consumer(Consumer& k, Instant now);
  void unsubscribe(Consumer& k);
  void disconnect(Connection& c, Instant now);

  // Dispatch (broker.cpp).
  bool has_credit(const Consumer& k) const noexcept;
  void make_ready(Pos p, bool front);
  void unlink_ready(Pos p);
  Pos pop_ready(CommandQueue& q);
  void detach(Pos p);  // off whatever list or count its state puts it on: state held
  bool expired_now(Pos p, Instant now) const noexcept;
  void dispatch_command(std::uint32_t command, Instant now);
  void dispatch_consumer(Consumer& k, Instant now);
  bool deliver(Consumer& k, Pos p, Instant now);
  void return_message(Pos p, Instant now);  // back from a consumer: requeue or dead-letter
  void dead_letter(Pos p, DeadLetterReason reason, std::string_view text, Instant now);
  void expire(Pos p, Instant now);
  // Journals the end of held message p (answered, expired...) and removes it.
  void complete(Pos p, AnswerStatus status, std::span<const std::uint8_t> payload,
                std::string_view reason, Instant now);
  // Journals and keeps an answer (acking message `acked_uid` if not 0) and sends it if
  // the producer is online. Returns the record's seq.
  std::uint64_t store_answer(std::uint32_t producer, std::uint64_t message_id,
                             AnswerStatus status, std::span<const std::uint8_t> payload,
                             std::string_view reason, std::uint64_t acked_uid, Instant now);
  void flush_answers(Producer& pr);
  bool send_answer(Producer& pr, Pos p);

  // Storage (broker_storage.cpp).
  std::uint64_t append(const JournalRecord& r);
  void kill_by(std::uint64_t seq, Pos p);
  Pos new_message_slot(std::uint64_t uid, const PublicKey& producer, std::uint64_t message_id,
                       std::string_view command, const Headers& headers,
                       std::span<const std::uint8_t> payload, std::int64_t expires,
                       std::uint8_t priority, std::uint8_t flags, SlotState state);
  Pos new_answer_slot(std::uint64_t uid, std::uint32_t producer, std::uint64_t message_id,
                      AnswerStatus status, std::span<const std::uint8_t> payload,
                      std::string_view reason, std::int64_t expires);
  void drop_message(Pos p);  // unlinks, forgets and frees: the caller journals why
  void drop_answer(Pos p);
  void dedupe_insert(std::uint32_t producer, std::uint64_t id);
  void dedupe_turn(Instant now);
  void sweep(Instant now);
  void compact();
  void relocate(Pos p);
  Result<void> apply(std::uint64_t seq, const JournalRecord& r);
  std::int64_t to_wall_ms(std::int64_t ticks) const noexcept;
  std::int64_t from_wall_ms(std::int64_t ms) const noexcept;
  void note_expiry(std::int64_t expires) noexcept;

  // Tables (broker_storage.cpp).
  std::uint32_t intern_producer(const PublicKey& key);
  void release_producer(std::uint32_t index);
  std::uint32_t intern_command(std::string_view name);
  void release_command(std::uint32_t index);
  Connection& connection(const PublicKey& peer);
  void update_gauges();

  BrokerConfig config_;
  Journal& journal_;
  BrokerOutbox& outbox_;
  Metrics metrics_;
  std::int64_t epoch_ticks_;   // an Instant ...
  std::int64_t epoch_wall_ms_; // ... and the Unix time it was, in ms

  MessageStore store_;
  // A deque, not a vector: one entry per producer ever connected (tens of thousands of idle
  // ones), and a vector's doubling holds up to twice that (plus the freed old array).
  std::deque<Producer> producers_;
  std::vector<std::uint32_t> free_producers_;
  std::unordered_map<PublicKey, std::uint32_t, KeyHash> producer_index_;
  std::vector<CommandQueue> commands_;
  std::vector<std::uint32_t> free_commands_;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> command_index_;
  std::unordered_map<PublicKey, Connection, KeyHash> connections_;
  std::unordered_map<std::uint32_t, Consumer> consumers_;
  std::uint32_t next_consumer_id_ = 1;

  SlotList in_flight_;            // delivery order = deadline order
  std::deque<Pos> pending_;       // appended, not committed, in seq order
  FlatTable<IdKey, std::uint32_t, IdKeyHash> pending_ids_;  // ids of pending_: how often
  FlatTable<Pos, std::int64_t, U64Hash> deadlines_;  // in flight: visibility deadline (ticks)
  std::deque<Unsettled> unsettled_;
  PublishDedupe dedupe_;
  FlatTable<IdKey, Pos, IdKeyHash> answers_;
  std::int64_t dedupe_turn_at_;
  std::int64_t next_expiry_ = kNever;  // no stored expiry before this
  std::int64_t next_sweep_ = 0;        // no sweep before this

  std::uint64_t committed_ = 0;  // highest durable seq
  std::uint64_t last_seq_ = 0;   // highest seq appended or replayed
  std::uint64_t stored_messages_ = 0;
  std::uint64_t stored_bytes_ = 0;
  std::uint64_t ready_ = 0;
  std::uint64_t dead_letters_ = 0;
  std::uint64_t stored_answers_ = 0;

  std::vector<std::uint8_t> scratch_;  // encodes messages and records: reused, no allocation
  std::vector<std::uint8_t> record_;
  std::vector<Pos> positions_;         // scratch list of positions
};

}  // namespace peermq::mq
