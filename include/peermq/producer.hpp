// Producer: sends messages to a broker and receives their answers.
//
//   peermq::ProducerOptions options;
//   options.broker = "<the address the broker printed>";
//   peermq::Producer producer(options);
//   auto answer = producer.request("num_users", "");  // blocks, running the loop
//   if (answer) std::printf("%s\n", answer->text().c_str());
//
// or, without blocking, from the loop's thread:
//
//   producer.publish("num_users", "", [](peermq::Result<peermq::Answer> a) { ... });
//   producer.run();
//
// Delivery: every message is sent again until the broker confirms it has stored it,
// across reconnects and broker restarts; the broker drops the duplicates. Each answer is
// handed over once. The broker keeps answers for a producer that is away, so a producer
// restarted with the same key_file still receives them (through its new callbacks only if
// it published them again: answers to messages this process never published are dropped).
// At most `inflight` messages await their answer at a time. on_confirm() tells when the
// broker has stored each message, before its answer (publish->confirm latency).
//
// Threads: see event_loop.hpp. Callbacks run on the loop's thread; stop() is safe from any
// thread, everything else belongs to the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/queue_error.hpp>
#include <peermq/result.hpp>

namespace peermq {

enum class AnswerStatus {
  answered,       // a consumer answered: payload is its answer
  rejected,       // a consumer rejected it without requeue: reason says why
  dead_lettered,  // delivered max_deliveries times without an answer
  expired,        // its TTL passed before a consumer took it
  stored,         // PublishOptions::want_answer was false: the broker stored it
};
const char* to_string(AnswerStatus status) noexcept;

struct Answer {
  std::uint64_t id = 0;  // what publish() returned
  AnswerStatus status = AnswerStatus::answered;
  std::vector<std::uint8_t> payload;
  std::string reason;  // the broker's or the consumer's words, for the other statuses

  bool ok() const noexcept { return status == AnswerStatus::answered; }
  std::string text() const { return {payload.begin(), payload.end()}; }
};

// The largest payload a message may carry, in bytes (publish() refuses more: too_large).
inline constexpr std::size_t kMaxPayload = 16 * 1024 * 1024 - 64 * 1024;
// The highest priority (PublishOptions::priority).
inline constexpr std::uint8_t kMaxPriority = 9;

struct PublishOptions {
  Duration ttl{0};          // how long it may wait for a consumer; 0: no limit (max 30 days)
  std::uint8_t priority = 0;  // 0..9, higher first
  bool want_answer = true;    // false: complete once stored (AnswerStatus::stored)
};

struct ProducerOptions {
  std::string broker;                // the broker's address, as it printed it
  std::string name = "producer";     // how the broker names it in its logs
  std::uint32_t inflight = 1024;     // messages awaiting their answer at most
  std::string key_file;              // empty: a fresh identity every start
  std::string listen = "0.0.0.0:0";  // UDP IP:PORT; port 0: any free port
  std::vector<std::string> relays;   // "HOST:PORT" or "ADDR@HOST:PORT"; none: this host
  std::string discovery_dir;         // empty: $PEERMQ_RUNTIME_DIR, or the user's default
};

class Producer {
 public:
  // Called once per published message: with its Answer, or with why none will come
  // (QueueError::not_allowed, too_large, refused, stopped).
  using AnswerCallback = std::function<void(Result<Answer> answer)>;
  // A message the broker refused for good (QueueError::not_allowed, too_large,
  // bad_message), with the broker's own words; called just before the message's callback.
  using FailureCallback =
      std::function<void(std::uint64_t id, std::error_code error, std::string_view reason)>;
  // The broker has stored message `id` (durably as its -sync says).
  using ConfirmCallback = std::function<void(std::uint64_t id)>;

  // On a loop of its own (loop()), or on `loop`, which must outlive the producer.
  explicit Producer(ProducerOptions options);
  Producer(EventLoop& loop, ProducerOptions options);
  // Stops; the callbacks of messages still waiting are dropped uncalled. On the loop's
  // thread.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // For logs and diagnostics: the broker's reasons for the messages it refuses.
  void on_failure(FailureCallback callback);
  // Called once per message the broker stored: before its answer callback (an answer that
  // overtakes the confirm proves the message stored, so the confirm comes first anyway),
  // or, without want_answer, just before the callback that says `stored`. Not for
  // messages that failed or were stopped before they were stored. On the loop's thread.
  void on_confirm(ConfirmCallback callback);

  // Loads the identity start() will use: from key_file (created if missing), or a fresh
  // one. Makes address() valid before anything touches the network, e.g. to print it
  // first; start() calls it when you did not. Errors: a KeyFileError (detail says how to
  // fix it), QueueError::stopped.
  Result<Address> load_identity(std::string* detail = nullptr);

  // Binds, dials the broker and says hello; works while the loop runs. A broker not found
  // yet is looked up again until it appears (messages wait). Errors:
  // QueueError::invalid_options (detail says which), QueueError::stopped, a KeyFileError,
  // the network's.
  Result<void> start(std::string* detail = nullptr);
  // start() if needed, then runs the loop until stop(). Errors: start()'s,
  // QueueError::loop_busy, QueueError::refused (detail has the broker's words).
  Result<void> run(std::string* detail = nullptr);
  // Stops; callbacks of messages still waiting get QueueError::stopped, and run()
  // returns. Any thread. A stopped producer does not start again.
  void stop() noexcept;

  // Queues a message for `command` (empty: for consumers without commands); the payload
  // is copied. Returns its id; `callback` (may be empty) gets the outcome, never from
  // inside this call. Errors: QueueError::not_started, stopped, refused, would_block
  // (`inflight` messages await their answer: publish again from a callback),
  // bad_message, too_large.
  Result<std::uint64_t> publish(std::string_view command, std::span<const std::uint8_t> payload,
                                AnswerCallback callback, PublishOptions options = {});
  Result<std::uint64_t> publish(std::string_view command, std::string_view payload,
                                AnswerCallback callback, PublishOptions options = {});

  // Publishes and runs the loop until the answer arrives or `timeout` passes (waiting for
  // room in the in-flight window counts too); start()s first if needed. Everything else
  // on the loop is served meanwhile. Call it from the loop's thread, outside the loop's
  // callbacks. Errors: publish()'s but would_block, QueueError::timed_out (the message
  // stays queued; its answer is dropped), QueueError::loop_busy, start()'s.
  Result<Answer> request(std::string_view command, std::span<const std::uint8_t> payload,
                         Duration timeout = std::chrono::seconds(30), PublishOptions options = {});
  Result<Answer> request(std::string_view command, std::string_view payload,
                         Duration timeout = std::chrono::seconds(30), PublishOptions options = {});

  // Its own address (valid after load_identity() or start()).
  Address address() const;
  // The broker has accepted its hello.
  bool connected() const noexcept;
  // Messages published and not yet answered (or stored, without want_answer).
  std::size_t in_flight() const noexcept;
  const Counters& counters() const noexcept;
  EventLoop& loop() noexcept;

  struct Impl;  // the library's own

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
