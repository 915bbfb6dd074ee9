#include "service/producer_client.hpp"

#include "service/broker_client.hpp"
#include "log/log.hpp"

namespace peermq::service {

// A full send buffer drops the message: the producer core sends it again on its timer.
void ProducerClient::Sink::send(std::span<const std::uint8_t> message) {
  (void)client->host_.send(client->options_.broker, message);
}

ProducerClient::ProducerClient(Executor& executor, overlay::Host& host,
                               ProducerClientOptions options)
    : executor_(executor),
      host_(host),
      options_(std::move(options)),
      broker_text_(Address(options_.broker).to_string()),
      core_(options_.producer, sink_, executor.wall_now()),
      core_timer_(executor.make_alarm()),
      probe_timer_(executor.make_alarm()) {
  sink_.client = this;
}

Result<void> ProducerClient::start(std::string* detail) {
  if (auto dialed = host_.dial(options_.broker, detail); !dialed) {
    PEERMQ_LOG(warn, "producer", "broker %s not found yet (%s); waiting for it",
               broker_text_.c_str(), dialed.error().message().c_str());
  }
  started_ = true;
  auto& transport = host_;
  transport.on_message([this](const PublicKey& from, std::span<const std::uint8_t> bytes) {
    on_message(from, bytes);
  });
  // A broker that restarted (or a session that closed) gets hello and every unconfirmed
  // message again.
  transport.on_peer_reset([this](const PublicKey& peer) { reconnect(peer); });
  transport.on_peer_closed([this](const PublicKey& peer) {
    if (peer != options_.broker) return;
    PEERMQ_LOG(warn, "producer", "lost broker %s; retrying", broker_text_.c_str());
    reconnect(peer);
  });
  core_.on_connected(executor_.now());
  wake();
  return {};
}

void ProducerClient::stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  core_timer_->stop();
  probe_timer_->stop();
  probe_armed_ = false;
  armed_at_ = Instant::max();
  if (ready_) say_bye(host_, options_.broker);
}

Result<std::uint64_t> ProducerClient::publish(const mq::PublishRequest& request) {
  auto id = core_.publish(request, now());
  if (id) arm();
  return id;
}

void ProducerClient::reconnect(const PublicKey& peer) {
  if (peer != options_.broker || stopped_) return;
  ready_ = false;
  core_.on_disconnected();
  core_.on_connected(executor_.now());
  wake();
}

void ProducerClient::wake() {
  if (on_wake_) on_wake_();
  if (!stopped_) {
    arm();
    arm_probe();
  }
}

// While answers are awaited, a broker that says nothing for a while is PINGed.
void ProducerClient::arm_probe() {
  if (probe_armed_ || core_.in_flight() == 0) return;
  probe_armed_ = true;
  probe_timer_->start_at(std::max(heard_at_, executor_.now()) +
                             limits::kProducerWaitingProbeInterval,
                         [this] {
                           probe_armed_ = false;
                           if (stopped_ || core_.in_flight() == 0) return;
                           const Instant now = executor_.now();
                           if (now - heard_at_ >= limits::kProducerWaitingProbeInterval) {
                             host_.probe(options_.broker);
                             heard_at_ = now;  // the next PING one interval later
                           }
                           arm_probe();
                         });
}

// Restarts the timer only when the core's deadline moved: publishing a burst re-arms once.
void ProducerClient::arm() {
  const Instant deadline = core_.next_deadline();
  if (deadline == armed_at_) return;
  armed_at_ = deadline;
  if (deadline == Instant::max()) {
    core_timer_->stop();
    return;
  }
  core_timer_->start_at(deadline, [this] {
    armed_at_ = Instant::max();
    core_.on_timeout(executor_.now());
    wake();
  });
}

void ProducerClient::on_message(const PublicKey& from, std::span<const std::uint8_t> bytes) {
  if (from != options_.broker || stopped_) return;  // only the broker speaks to producers
  const Instant now = host_.now();
  heard_at_ = now;
  auto event = core_.on_message(bytes, now);
  if (!event) {
    PEERMQ_LOG(warn, "producer", "dropped a message from the broker: %s",
               event.error().message().c_str());
    return;
  }
  if (event->kind == mq::ProducerEvent::Kind::ready) {
    ready_ = true;
    PEERMQ_LOG(info, "producer", "connected to broker %s", broker_text_.c_str());
  }
  input_now_ = now;
  if (on_event_) on_event_(*event);
  if (!stopped_) wake();
  input_now_.reset();
}

}  // namespace peermq::service
