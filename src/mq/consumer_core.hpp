// ConsumerCore: a consumer's side of the queue protocol, without I/O.
//
// on_connected() says hello with the subscriptions and the prefetch; each deliver becomes a
// ConsumerEvent::delivery for the application, which must answer(tag, payload) — that
// acknowledges it — or reject(tag, requeue, reason). The core remembers which deliveries
// the application holds, so it refuses to answer one twice or one from before a reconnect
// (the broker has given that message to someone else by then: at-least-once, so an
// application that must not repeat a side effect dedupes by (producer, message id)).
//
// A delivery's views (command, headers, payload) point into the bytes given to
// on_message(): copy what must outlive them. Threads: one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/result.hpp>

#include "mq/flat_table.hpp"
#include "mq/mq_message.hpp"
#include "wire/limits.hpp"

namespace peermq::mq {

struct ConsumerConfig {
  std::string name = "consumer";
  std::vector<std::string> commands;  // empty: messages without a command
  std::uint32_t prefetch = limits::kPrefetchDefault;
};

struct ConsumerEvent {
  enum class Kind {
    none,
    ready,     // hello_ok: deliveries will come
    refused,   // the broker refused this consumer: text says why
    delivery,  // a message to process: answer or reject delivery.tag
  };
  Kind kind = Kind::none;
  Deliver delivery;
  std::string_view text;
};

struct ConsumerStats {
  std::uint64_t deliveries = 0;
  std::uint64_t redeliveries = 0;  // delivery_count > 1
  std::uint64_t answers = 0;
  std::uint64_t rejects = 0;
};

class ConsumerCore {
 public:
  // Throws std::invalid_argument for a config out of range (start-up only).
  ConsumerCore(ConsumerConfig config, MessageSink& sink);

  void on_connected(Instant now);
  // Deliveries held now are void: the broker requeues them.
  void on_disconnected();
  Result<ConsumerEvent> on_message(std::span<const std::uint8_t> bytes, Instant now);
  Result<ConsumerEvent> on_message(std::vector<std::uint8_t>&&, Instant) = delete;

  // Errors: unknown_delivery (not held: answered, rejected, or from before a reconnect),
  // too_large.
  Result<void> answer(std::uint64_t tag, std::span<const std::uint8_t> payload);
  Result<void> reject(std::uint64_t tag, bool requeue, std::string_view reason);
  // Changes the prefetch at the broker (0 pauses deliveries).
  Result<void> set_prefetch(std::uint32_t prefetch);

  std::size_t held() const noexcept { return held_.size(); }
  // Whether `tag` is a delivery of the current connection still to be answered: one from
  // before a reconnect is not (the broker delivers its message again, under a new tag).
  bool holds(std::uint64_t tag) const noexcept { return held_.contains(tag); }
  bool connected() const noexcept { return connected_; }
  bool is_refused() const noexcept { return refused_; }
  const ConsumerStats& stats() const noexcept { return stats_; }

 private:
  ConsumerConfig config_;
  MessageSink& sink_;
  FlatTable<std::uint64_t, std::uint8_t, U64Hash> held_;
  bool connected_ = false;
  bool refused_ = false;
  ConsumerStats stats_;
  std::vector<std::uint8_t> scratch_;
};

}  // namespace peermq::mq
