// ProducerCore: a producer's side of the queue protocol, without I/O.
//
// The application publishes (command, headers, payload); the core gives each message an
// id, keeps its encoded bytes (the one copy of the payload) until the broker confirms it,
// and the message's entry until its answer arrives (or, with want_answer = false, until the
// confirm). It sends through a MessageSink and is fed the broker's messages, the time and
// connection changes:
//
//   on_connected      sends hello, then every unconfirmed publish again, in id order
//   on_disconnected   everything sent but unconfirmed will be sent again
//   on_message        confirm / publish_nack / answer_to_producer / hello_ok / refused
//   on_timeout        at next_deadline(): resends publishes unconfirmed for
//                     retry_interval, resumes after a queue_full pause, turns the answer
//                     dedupe generation
//
// Ids: unique per producer key across restarts, so the broker's dedupe never mistakes a new
// message for an old one: the first id is the Unix time in ms shifted left by 20 (unless
// configured), then +1 per message (a restart would have to publish over a million
// messages per millisecond of its previous life to collide).
//
// Delivery: at least once, with the broker dropping duplicates by id; answers are surfaced
// once each: the broker resends stored answers after a reconnect until they are
// acknowledged (answer_received, sent by this core), and duplicates are dropped: for ids
// of this core, an answer counts only while its message is held (no table: the broker
// answers only messages that want an answer, and each is held until answered or failed);
// for older ids (a previous run of the same key), those seen within the answer dedupe
// window. An answer also settles a publish whose confirm was lost.
// queue_full pauses all publishing for a backoff (50 ms doubling up to retry_interval) and
// retries; too_large and not_allowed are final (ProducerEvent::failed).
//
// Threads: one. Views in events point into the bytes given to on_message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

#include "mq/flat_table.hpp"
#include "mq/mq_message.hpp"
#include "wire/limits.hpp"

namespace peermq::mq {

struct ProducerConfig {
  std::string name = "producer";
  std::uint32_t max_inflight = limits::kProducerInflightDefault;
  Duration retry_interval = limits::kPublishRetryInterval;
  Duration answer_dedupe_window = limits::kDedupeWindow;
  std::uint64_t first_id = 0;  // 0: from the wall clock (see above)
};

struct PublishRequest {
  std::string_view command;
  std::span<const std::pair<std::string_view, std::string_view>> headers;
  std::span<const std::uint8_t> payload;
  Duration ttl{0};  // 0: no TTL; at most limits::kMaxMessageTtl
  std::uint8_t priority = 0;
  bool want_answer = true;
};

struct ProducerEvent {
  enum class Kind {
    none,       // nothing for the application (a duplicate, a retry...)
    ready,      // hello_ok: the broker admitted this producer
    refused,    // the broker refused this producer: text says why; publishing stops
    confirmed,  // message `id` is stored durably
    answer,     // the answer to message `id`: status, payload, text (reason)
    failed,     // message `id` will never be stored: nack says why, text explains
  };
  Kind kind = Kind::none;
  std::uint64_t id = 0;
  AnswerStatus status = AnswerStatus::answered;
  NackReason nack = NackReason::queue_full;
  std::span<const std::uint8_t> payload;
  std::string_view text;
};

struct ProducerStats {
  std::uint64_t published = 0;
  std::uint64_t sends = 0;    // publish messages sent, first times and retries
  std::uint64_t resends = 0;  // retries (timeouts, reconnects, queue_full)
  std::uint64_t queue_full = 0;
  std::uint64_t confirmed = 0;
  std::uint64_t answers = 0;
  std::uint64_t duplicate_answers = 0;
  std::uint64_t failed = 0;
};

class ProducerCore {
 public:
  // Throws std::invalid_argument for a config out of range (start-up only).
  ProducerCore(ProducerConfig config, MessageSink& sink, WallTime wall_now);

  void on_connected(Instant now);
  void on_disconnected();
  Result<ProducerEvent> on_message(std::span<const std::uint8_t> bytes, Instant now);
  Result<ProducerEvent> on_message(std::vector<std::uint8_t>&&, Instant) = delete;

  // Queues a message and sends it when connected. Errors: would_block (in-flight full),
  // refused, bad_command / bad_publish / too_large (invalid request).
  Result<std::uint64_t> publish(const PublishRequest& request, Instant now);

  void on_timeout(Instant now);
  Instant next_deadline() const noexcept;

  std::size_t in_flight() const noexcept { return live_; }
  bool connected() const noexcept { return connected_; }
  bool is_refused() const noexcept { return refused_; }
  const ProducerStats& stats() const noexcept { return stats_; }

 private:
  enum class State : std::uint8_t { free, unsent, sent, confirmed };
  struct Entry {
    std::uint64_t id = 0;
    std::vector<std::uint8_t> bytes;  // the encoded publish, until confirmed
    Instant sent_at{};
    State state = State::free;
    bool want_answer = true;
  };

  Result<void> validate(const PublishRequest& r) const;
  bool may_send(Instant now) const noexcept;
  void send_entry(Entry& e, Instant now);
  void send_waiting(Instant now, bool resend_sent);
  void set_state(Entry& e, State state) noexcept;
  void remove(std::uint32_t index);
  static void release_bytes(Entry& e) noexcept;
  void turn_answered(Instant now);
  ProducerEvent on_confirm(std::uint64_t id);
  ProducerEvent on_nack(const PublishNack& m, Instant now);
  ProducerEvent on_answer(const AnswerToProducer& m, Instant now);

  ProducerConfig config_;
  MessageSink& sink_;
  std::uint64_t first_id_;  // this core's ids are first_id_ .. next_id_ - 1
  std::uint64_t next_id_;
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> free_;
  FlatTable<std::uint64_t, std::uint32_t, U64Hash> index_;
  FlatTable<std::uint64_t, std::uint8_t, U64Hash> answered_[2];  // [current, previous]
  Instant answered_turn_at_;
  std::size_t live_ = 0;
  std::size_t unsent_ = 0;  // entries in State::unsent
  bool connected_ = false;
  bool refused_ = false;
  Instant paused_until_{};
  Duration backoff_;
  Instant next_retry_ = Instant::max();  // no unconfirmed send is due before this
  ProducerStats stats_;
  std::vector<std::uint8_t> scratch_;
  std::vector<std::uint8_t> headers_;
  std::vector<std::uint32_t> order_;
};

}  // namespace peermq::mq
