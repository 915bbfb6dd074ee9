// ConsumerClient: a consumer. It joins the queue's consumer core (mq::ConsumerCore) to the
// node's host (overlay::Host), which dials the broker. No I/O of its own: it runs over the
// libuv driver and in the simulator alike.
//
// start() dials the broker (if it is not found yet, the node keeps looking it up
// and messages wait for the route) and says hello with the subscriptions. Each message
// the broker hands over comes to on_delivery(); the application answers it (answer()
// acknowledges it) or rejects it, then or later, as long as the same connection lasts.
// When the broker restarts or the session closes, the held deliveries are void (the
// broker requeues them) and hello goes again. Messages from anyone but the broker are
// ignored; undecodable ones are logged and dropped.
//
// Used by `peermq consumer` (node/consumer_role.cpp) and the public peermq::Consumer.
// The host is the owner's: started before start(), stopped after stop() (which says bye to
// the broker through it), and built with client_host_options() (service/broker_client.hpp).
// The client takes the host's message, reset and closed callbacks.
// Threads: the host's. Lifetime: the host outlives the client.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <peermq/address.hpp>
#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "mq/consumer_core.hpp"
#include "overlay/host.hpp"

namespace peermq::service {

struct ConsumerClientOptions {
  PublicKey broker{};
  mq::ConsumerConfig consumer{};
};

class ConsumerClient {
 public:
  // The delivery's views point into the received bytes: valid during the call only.
  using DeliveryCallback = std::function<void(const mq::Deliver& delivery)>;
  using RefusedCallback = std::function<void(std::string_view why)>;

  // Throws std::invalid_argument for a consumer config out of range (start-up only).
  ConsumerClient(overlay::Host& host, ConsumerClientOptions options);
  ~ConsumerClient() { stop(); }
  ConsumerClient(const ConsumerClient&) = delete;
  ConsumerClient& operator=(const ConsumerClient&) = delete;

  void on_delivery(DeliveryCallback callback) { on_delivery_ = std::move(callback); }
  // The broker refused this consumer (access list, protocol version); it gets no deliveries.
  void on_refused(RefusedCallback callback) { on_refused_ = std::move(callback); }

  // Dials the broker (a broker not found yet is looked up until it appears) and says hello.
  // `detail` gets a sentence for the user on failure.
  Result<void> start(std::string* detail);
  // Says bye to the broker. Idempotent; the client does not start again.
  void stop() noexcept;

  // Errors: MqError::unknown_delivery (not held: answered, rejected, or from before a
  // reconnect), MqError::too_large. A full send buffer drops the answer: the broker
  // delivers the message again after its visibility timeout.
  Result<void> answer(std::uint64_t tag, std::span<const std::uint8_t> payload) {
    return core_.answer(tag, payload);
  }
  Result<void> reject(std::uint64_t tag, bool requeue, std::string_view reason) {
    return core_.reject(tag, requeue, reason);
  }
  // Whether `tag` may still be answered (see mq::ConsumerCore::holds): work queued for a
  // delivery that no longer is held would only be done twice.
  bool holds(std::uint64_t tag) const noexcept { return core_.holds(tag); }
  // Sends what answer() and reject() queued now, instead of after the current batch of
  // input (or on the next loop iteration): for answers produced outside on_delivery, one at
  // a time (a slow command per message). Inside on_delivery it does nothing.
  void flush() { host_.flush(); }

  // The broker accepted our hello on the current connection.
  bool ready() const noexcept { return ready_; }
  const mq::ConsumerCore& core() const noexcept { return core_; }
  const PublicKey& broker() const noexcept { return options_.broker; }
  overlay::Host& host() noexcept { return host_; }

 private:
  struct Sink final : mq::MessageSink {
    ConsumerClient* client = nullptr;
    void send(std::span<const std::uint8_t> message) override;
  };

  void on_message(const PublicKey& from, std::span<const std::uint8_t> bytes);
  void reconnect(const PublicKey& peer);

  overlay::Host& host_;
  ConsumerClientOptions options_;
  std::string broker_text_;
  Sink sink_;
  mq::ConsumerCore core_;
  DeliveryCallback on_delivery_;
  RefusedCallback on_refused_;
  bool ready_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace peermq::service
