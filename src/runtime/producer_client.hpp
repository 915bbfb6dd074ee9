// ProducerClient: a producer node. It joins the queue's producer core (mq::ProducerCore)
// to the network (a Node that dials the broker) and to a timer, on one Loop.
//
// start() binds, dials the broker (if it is not found yet, the node keeps looking it up
// and messages wait for the route) and says hello. publish() hands a message to the core,
// which sends it within its in-flight window and again until the broker confirms it,
// across reconnects and broker restarts (the broker drops duplicates by id). What the
// broker says comes to on_event(): ready, refused, confirmed, answer, failed. on_wake()
// is called after every event and whenever the core may accept more (a reconnect, a
// retry or a queue_full pause that ended): the moment to publish what waits.
// Messages from anyone but the broker are ignored; undecodable ones are logged and dropped.
//
// Used by `peermq producer` (node/producer_role.cpp) and the public peermq::Producer.
// Threads: the loop's. Lifetime: the Identity, Counters and Loop outlive the client.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <peermq/address.hpp>
#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "mq/producer_core.hpp"
#include "runtime/loop.hpp"
#include "runtime/node.hpp"
#include "runtime/timer.hpp"

namespace peermq::runtime {

struct ProducerClientOptions {
  // Out of line: g++ 12 at -O3 reports a string inside NodeOptions as maybe-uninitialized
  // when this constructor is inlined into a function that can throw (a false positive).
  ProducerClientOptions();
  NodeOptions node{};  // announce is ignored: nobody dials a producer
  PublicKey broker{};
  mq::ProducerConfig producer{};
};

class ProducerClient {
 public:
  // The event's views point into the received bytes: valid during the call only. The
  // callback may publish.
  using EventCallback = std::function<void(const mq::ProducerEvent& event)>;
  using WakeCallback = std::function<void()>;

  // Throws std::invalid_argument for a producer config out of range, std::system_error if
  // libuv cannot create the node's handles (start-up only).
  ProducerClient(Loop& loop, Counters& counters, const Identity& identity,
                 ProducerClientOptions options);
  ~ProducerClient() { stop(); }
  ProducerClient(const ProducerClient&) = delete;
  ProducerClient& operator=(const ProducerClient&) = delete;

  void on_event(EventCallback callback) { on_event_ = std::move(callback); }
  void on_wake(WakeCallback callback) { on_wake_ = std::move(callback); }

  // Binds, dials the broker and says hello. `detail` gets a sentence for the user on
  // failure.
  Result<void> start(std::string* detail);
  // Stops the timer and the node; unconfirmed messages are given up. Idempotent.
  void stop() noexcept;

  // Errors: the core's (MqError::would_block when the in-flight window is full: publish
  // again after on_wake; refused; bad_command, bad_publish, too_large).
  Result<std::uint64_t> publish(const mq::PublishRequest& request);

  // The loop's time; inside on_event, the time the event's message was read (so that a
  // burst of events costs one clock read, not one per use).
  Instant now() const noexcept { return input_now_ ? *input_now_ : loop_.now(); }

  // The broker accepted our hello on the current connection.
  bool ready() const noexcept { return ready_; }
  const mq::ProducerCore& core() const noexcept { return core_; }
  const PublicKey& broker() const noexcept { return options_.broker; }
  Node& node() noexcept { return node_; }

 private:
  struct Sink final : mq::MessageSink {
    ProducerClient* client = nullptr;
    void send(std::span<const std::uint8_t> message) override;
  };

  void on_message(const PublicKey& from, std::span<const std::uint8_t> bytes);
  void reconnect(const PublicKey& peer);
  void wake();
  void arm();

  Loop& loop_;
  ProducerClientOptions options_;
  std::string broker_text_;
  Node node_;
  Sink sink_;
  mq::ProducerCore core_;
  Timer core_timer_;
  Instant armed_at_ = Instant::max();  // the core_timer_'s deadline; max: not armed
  std::optional<Instant> input_now_;   // during on_message: the time it was read
  EventCallback on_event_;
  WakeCallback on_wake_;
  bool ready_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace peermq::runtime
