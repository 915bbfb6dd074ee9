#include "mq/consumer_core.hpp"

#include <algorithm>
#include <stdexcept>

#include "mq/mq_error.hpp"

namespace peermq::mq {

ConsumerCore::ConsumerCore(ConsumerConfig config, MessageSink& sink)
    : config_(std::move(config)), sink_(sink) {
  const bool ok = config_.name.size() <= limits::kMaxClientName &&
                  config_.commands.size() <= limits::kMaxSubscriptions &&
                  config_.prefetch <= limits::kMaxPrefetch &&
                  std::all_of(config_.commands.begin(), config_.commands.end(),
                              [](const std::string& c) { return valid_command(c); });
  if (!ok) throw std::invalid_argument("mq::ConsumerConfig out of range");
}

void ConsumerCore::on_connected(Instant now) {
  (void)now;
  connected_ = true;
  held_.clear();
  Hello hello;
  hello.role = Role::consumer;
  hello.name = config_.name;
  hello.commands.assign(config_.commands.begin(), config_.commands.end());
  hello.prefetch = config_.prefetch;
  scratch_.clear();
  encode(hello, scratch_);
  sink_.send(scratch_);
}

void ConsumerCore::on_disconnected() {
  connected_ = false;
  held_.clear();
}

Result<ConsumerEvent> ConsumerCore::on_message(std::span<const std::uint8_t> bytes,
                                               Instant now) {
  (void)now;
  auto m = decode(bytes);
  if (!m) return m.error();
  ConsumerEvent event;
  switch (type_of(*m)) {
    case MessageType::hello_ok: event.kind = ConsumerEvent::Kind::ready; break;
    case MessageType::refused:
      refused_ = true;
      event.kind = ConsumerEvent::Kind::refused;
      event.text = std::get<Refused>(*m).text;
      break;
    case MessageType::deliver:
      event.kind = ConsumerEvent::Kind::delivery;
      event.delivery = std::get<Deliver>(*m);
      held_.insert(event.delivery.tag, 1);
      ++stats_.deliveries;
      if (event.delivery.delivery_count > 1) ++stats_.redeliveries;
      break;
    default: return MqError::unexpected_message;
  }
  return event;
}

Result<void> ConsumerCore::answer(std::uint64_t tag, std::span<const std::uint8_t> payload) {
  if (payload.size() > limits::kMaxPayload) return MqError::too_large;
  if (!held_.erase(tag)) return MqError::unknown_delivery;
  scratch_.clear();
  encode(Answer{tag, payload}, scratch_);
  sink_.send(scratch_);
  ++stats_.answers;
  return {};
}

Result<void> ConsumerCore::reject(std::uint64_t tag, bool requeue, std::string_view reason) {
  if (!held_.contains(tag)) return MqError::unknown_delivery;
  // A reason is for humans: cut it rather than fail the reject, and never inside a UTF-8
  // character (the last one may go whole).
  if (reason.size() > limits::kMaxReasonText) {
    std::size_t n = limits::kMaxReasonText;
    while (n > 0 && (static_cast<unsigned char>(reason[n - 1]) & 0xc0) == 0x80) --n;
    if (n > 0 && (static_cast<unsigned char>(reason[n - 1]) & 0x80) != 0) --n;
    reason = reason.substr(0, n);
  }
  (void)held_.erase(tag);
  scratch_.clear();
  encode(Reject{tag, requeue, reason}, scratch_);
  sink_.send(scratch_);
  ++stats_.rejects;
  return {};
}

Result<void> ConsumerCore::set_prefetch(std::uint32_t prefetch) {
  if (prefetch > limits::kMaxPrefetch) return MqError::bad_config;
  config_.prefetch = prefetch;
  if (connected_) {
    scratch_.clear();
    encode(Credit{prefetch}, scratch_);
    sink_.send(scratch_);
  }
  return {};
}

}  // namespace peermq::mq
