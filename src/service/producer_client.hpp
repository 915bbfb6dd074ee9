// ProducerClient: a producer. It joins the queue's producer core (mq::ProducerCore) to the
// node's host (overlay::Host), which dials the broker, and to a timer of its executor. No
// I/O of its own: it runs over libuv and in the simulator alike.
//
// start() dials the broker (if it is not found yet, the node keeps looking it up
// and messages wait for the route) and says hello. publish() hands a message to the core,
// which sends it within its in-flight window and again until the broker confirms it,
// across reconnects and broker restarts (the broker drops duplicates by id). What the
// broker says comes to on_event(): ready, refused, confirmed, answer, failed. on_wake()
// is called after every event and whenever the core may accept more (a reconnect, a
// retry or a queue_full pause that ended): the moment to publish what waits.
// Messages from anyone but the broker are ignored; undecodable ones are logged and dropped.
//
// Used by `peermq producer` (node/producer_role.cpp) and the public peermq::Producer.
// The host is the owner's: started before start(), stopped after stop() (which says bye to
// the broker through it), and built with client_host_options() (service/broker_client.hpp).
// The client takes the host's message, reset and closed callbacks.
// Threads: the host's. Lifetime: the executor and the host outlive the client.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <peermq/address.hpp>
#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "mq/producer_core.hpp"
#include "overlay/host.hpp"
#include "service/executor.hpp"

namespace peermq::service {

struct ProducerClientOptions {
  PublicKey broker{};
  mq::ProducerConfig producer{};
};

class ProducerClient {
 public:
  // The event's views point into the received bytes: valid during the call only. The
  // callback may publish.
  using EventCallback = std::function<void(const mq::ProducerEvent& event)>;
  using WakeCallback = std::function<void()>;

  // Throws std::invalid_argument for a producer config out of range (start-up only).
  ProducerClient(Executor& executor, overlay::Host& host, ProducerClientOptions options);
  ~ProducerClient() { stop(); }
  ProducerClient(const ProducerClient&) = delete;
  ProducerClient& operator=(const ProducerClient&) = delete;

  void on_event(EventCallback callback) { on_event_ = std::move(callback); }
  void on_wake(WakeCallback callback) { on_wake_ = std::move(callback); }

  // Dials the broker and says hello. `detail` gets a sentence for the user on failure.
  Result<void> start(std::string* detail);
  // Stops the timer and says bye; unconfirmed messages are given up. Idempotent.
  void stop() noexcept;

  // Errors: the core's (MqError::would_block when the in-flight window is full: publish
  // again after on_wake; refused; bad_command, bad_publish, too_large).
  Result<std::uint64_t> publish(const mq::PublishRequest& request);

  // The executor's time; inside on_event, the time the event's message was read (so that
  // a burst of events costs one clock read, not one per use).
  Instant now() const noexcept { return input_now_ ? *input_now_ : executor_.now(); }

  // The broker accepted our hello on the current connection.
  bool ready() const noexcept { return ready_; }
  const mq::ProducerCore& core() const noexcept { return core_; }
  const PublicKey& broker() const noexcept { return options_.broker; }
  overlay::Host& host() noexcept { return host_; }

 private:
  struct Sink final : mq::MessageSink {
    ProducerClient* client = nullptr;
    void send(std::span<const std::uint8_t> message) override;
  };

  void on_message(const PublicKey& from, std::span<const std::uint8_t> bytes);
  void reconnect(const PublicKey& peer);
  void wake();
  void arm();
  void arm_probe();

  Executor& executor_;
  overlay::Host& host_;
  ProducerClientOptions options_;
  std::string broker_text_;
  Sink sink_;
  mq::ProducerCore core_;
  std::unique_ptr<Alarm> core_timer_;
  std::unique_ptr<Alarm> probe_timer_;  // PINGs the broker while answers are awaited
  Instant heard_at_{};                  // the broker's last message
  bool probe_armed_ = false;
  Instant armed_at_ = Instant::max();  // the core_timer_'s deadline; max: not armed
  std::optional<Instant> input_now_;   // during on_message: the time it was read
  EventCallback on_event_;
  WakeCallback on_wake_;
  bool ready_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace peermq::service
