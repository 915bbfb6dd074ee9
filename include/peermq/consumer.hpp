// Consumer: takes the messages of its commands from a broker and answers each.
//
//   peermq::ConsumerOptions options;
//   options.broker = "<the address the broker printed>";
//   options.commands = {"num_users"};
//   peermq::Consumer consumer(options);
//   consumer.on_message([](const peermq::Message& m) {
//     return peermq::Reply::answer("42");
//   });
//   consumer.run();
//
// Each message goes to one consumer of its command (competing consumers share the load); a
// consumer with no commands takes the messages published without one. The handler's Reply
// answers the message, which acknowledges it and sends the answer to its producer, or
// rejects it: to be delivered again (requeue), or to the dead-letter queue. A handler that
// answers later takes the message's Delivery instead (on_delivery, delivery.hpp) and
// answers through it once its work is done, while the loop goes on serving; ShellAnswerer
// (shell_answerer.hpp) answers that way with a shell command's output. A message whose
// consumer stops, crashes or loses the broker before answering goes to another consumer,
// and so does one not answered within the broker's visibility timeout: delivery is at
// least once, so a handler whose side effects must not repeat dedupes by
// (producer, id). The consumer reconnects by itself after a broker restart.
//
// Threads: see event_loop.hpp. The handler runs on the loop's thread, one message at a
// time; while it runs, the loop waits. stop() is safe from any thread.
//
// Up to `prefetch` messages are held at a time (sent by the broker and not answered yet):
// a deferred handler gets more while it holds fewer. prefetch is a cap: the broker measures
// how many this consumer can use — more while a larger window raises its answer rate, fewer
// when it does not (a slow handler's messages stay at the broker for its competitors) —
// starting from 16. Set it lower to bound what one consumer may hold or have redelivered.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/counters.hpp>
#include <peermq/delivery.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/queue_error.hpp>
#include <peermq/result.hpp>

namespace peermq {

// A message handed to a consumer. Its views are valid during the handler only: copy what
// must outlive it.
struct Message {
  std::uint64_t id = 0;  // the producer's id for it, unique per producer
  Address producer{PublicKey{}};  // who published it (authenticated by the broker)
  std::string_view command;
  std::span<const std::uint8_t> payload;
  std::uint32_t delivery = 1;  // 2 and up: delivered before, not answered
  std::uint8_t priority = 0;

  std::string_view text() const noexcept {
    return {reinterpret_cast<const char*>(payload.data()), payload.size()};
  }
};

// What a handler does with a message: answer it, or reject it.
class Reply {
 public:
  static Reply answer(std::span<const std::uint8_t> payload) {
    return Reply(false, true, {payload.begin(), payload.end()});
  }
  static Reply answer(std::string_view text) {
    return Reply(false, true, {text.begin(), text.end()});
  }
  // requeue: deliver it again (up to the broker's max_deliveries, then the dead-letter
  // queue); otherwise straight to the dead-letter queue. Either way the producer hears
  // of it only once it is dead-lettered, with `reason`.
  static Reply reject(std::string_view reason, bool requeue = true) {
    return Reply(true, requeue, {reason.begin(), reason.end()});
  }

  bool is_reject() const noexcept { return reject_; }
  bool requeue() const noexcept { return requeue_; }
  // The answer's payload, or the reject's reason.
  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }

 private:
  Reply(bool reject, bool requeue, std::vector<std::uint8_t> bytes)
      : reject_(reject), requeue_(requeue), bytes_(std::move(bytes)) {}
  bool reject_;
  bool requeue_;
  std::vector<std::uint8_t> bytes_;
};

// The most unanswered messages a consumer may hold (ConsumerOptions::prefetch).
inline constexpr std::uint32_t kMaxPrefetch = 65536;

struct ConsumerOptions {
  std::string broker;                 // the broker's address, as it printed it
  std::vector<std::string> commands;  // empty: the messages published without a command
  std::string name = "consumer";      // how the broker names it in its logs
  std::uint32_t prefetch = 4096;      // 1..65536: the most unanswered messages it may hold
  std::string key_file;               // empty: a fresh identity every start
  std::string listen = "0.0.0.0:0";   // UDP IP:PORT; port 0: any free port
  std::vector<std::string> relays;    // "HOST:PORT" or "ADDR@HOST:PORT"; none: this host
  std::string discovery_dir;          // empty: $PEERMQ_RUNTIME_DIR, or the user's default
};

class Consumer {
 public:
  using Handler = std::function<Reply(const Message& message)>;
  // Takes the message's Delivery: answer it now or keep it (moved) and answer it later. A
  // Delivery dropped unanswered rejects its message (delivery.hpp).
  using DeliveryHandler = std::function<void(const Message& message, Delivery delivery)>;

  // On a loop of its own (loop()), or on `loop`, which must outlive the consumer.
  explicit Consumer(ConsumerOptions options);
  Consumer(EventLoop& loop, ConsumerOptions options);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // One of the two is required before start(); the last one set is used. The handler may
  // stop() the consumer. A Handler that throws rejects its message (requeue) with the
  // exception's text; a DeliveryHandler that throws drops its Delivery (unless it kept it),
  // which rejects the message too.
  void on_message(Handler handler);
  void on_delivery(DeliveryHandler handler);

  // Loads the identity start() will use: from key_file (created if missing), or a fresh
  // one. Makes address() valid before anything touches the network, e.g. to print it
  // first; start() calls it when you did not. Errors: a KeyFileError (detail says how to
  // fix it), QueueError::stopped.
  Result<Address> load_identity(std::string* detail = nullptr);

  // Binds and dials the broker; works while the loop runs. A broker not found yet is
  // looked up again until it appears. Errors: QueueError::invalid_options (the broker
  // address, listen, relays, prefetch, or no handler: detail says which),
  // QueueError::stopped, a KeyFileError, the network's.
  Result<void> start(std::string* detail = nullptr);
  // start() if needed, then runs the loop until stop(). Errors: start()'s,
  // QueueError::loop_busy, QueueError::refused (the broker refused this consumer: detail
  // has its words).
  Result<void> run(std::string* detail = nullptr);
  // Stops taking messages; the broker gives those unanswered to another consumer, and
  // run() returns. Any thread. A stopped consumer does not start again.
  void stop() noexcept;

  // Its own address (valid after load_identity() or start()).
  Address address() const;
  // The broker has accepted its hello (and not refused it since).
  bool connected() const noexcept;
  const Counters& counters() const noexcept;
  EventLoop& loop() noexcept;

  struct Impl;  // the library's own

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace peermq
