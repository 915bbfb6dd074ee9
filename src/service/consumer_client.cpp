#include "service/consumer_client.hpp"

#include "service/broker_client.hpp"
#include "log/log.hpp"

namespace peermq::service {

void ConsumerClient::Sink::send(std::span<const std::uint8_t> message) {
  (void)client->host_.send(client->options_.broker, message);
}

ConsumerClient::ConsumerClient(overlay::Host& host, ConsumerClientOptions options)
    : host_(host),
      options_(std::move(options)),
      broker_text_(Address(options_.broker).to_string()),
      core_(options_.consumer, sink_) {
  sink_.client = this;
}

Result<void> ConsumerClient::start(std::string* detail) {
  if (auto dialed = host_.dial(options_.broker, detail); !dialed) {
    PEERMQ_LOG(warn, "consumer", "broker %s not found yet (%s); waiting for it",
               broker_text_.c_str(), dialed.error().message().c_str());
  }
  started_ = true;
  auto& transport = host_;
  transport.on_message([this](const PublicKey& from, std::span<const std::uint8_t> bytes) {
    on_message(from, bytes);
  });
  transport.on_peer_reset([this](const PublicKey& peer) { reconnect(peer); });
  transport.on_peer_closed([this](const PublicKey& peer) {
    if (peer == options_.broker)
      PEERMQ_LOG(warn, "consumer", "lost broker %s; retrying", broker_text_.c_str());
    reconnect(peer);
  });
  core_.on_connected(host_.now());
  return {};
}

void ConsumerClient::stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  if (ready_) say_bye(host_, options_.broker);
}

void ConsumerClient::reconnect(const PublicKey& peer) {
  if (peer != options_.broker || stopped_) return;
  ready_ = false;
  core_.on_disconnected();
  core_.on_connected(host_.now());
}

void ConsumerClient::on_message(const PublicKey& from, std::span<const std::uint8_t> bytes) {
  if (from != options_.broker || stopped_) return;
  auto event = core_.on_message(bytes, host_.now());
  if (!event) {
    PEERMQ_LOG(warn, "consumer", "dropped a message from the broker: %s",
               event.error().message().c_str());
    return;
  }
  switch (event->kind) {
    case mq::ConsumerEvent::Kind::ready:
      ready_ = true;
      PEERMQ_LOG(info, "consumer", "connected to broker %s", broker_text_.c_str());
      break;
    case mq::ConsumerEvent::Kind::refused:
      if (on_refused_) on_refused_(event->text);
      break;
    case mq::ConsumerEvent::Kind::delivery:
      if (on_delivery_) on_delivery_(event->delivery);
      break;
    case mq::ConsumerEvent::Kind::none: break;
  }
}

}  // namespace peermq::service
