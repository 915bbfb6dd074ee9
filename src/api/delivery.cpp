// peermq::Delivery over the ConsumerClient its Link points to: the tag the broker gave the
// delivery, answered or rejected through the client while the client holds it.
#include <peermq/delivery.hpp>

#include <peermq/queue_error.hpp>

#include "api/delivery_link.hpp"
#include "mq/mq_error.hpp"
#include "log/log.hpp"
#include "wire/limits.hpp"

namespace peermq {

namespace {

std::error_code to_public(std::error_code e) {
  if (e == mq::MqError::unknown_delivery) return QueueError::not_held;
  if (e == mq::MqError::too_large) return QueueError::too_large;
  return e;
}

}  // namespace

Delivery::Delivery() noexcept = default;

Delivery::Delivery(std::shared_ptr<Link> link, std::uint64_t tag, std::uint64_t id) noexcept
    : link_(std::move(link)), tag_(tag), id_(id) {}

Delivery::~Delivery() {
  release();
}

Delivery::Delivery(Delivery&& other) noexcept
    : link_(std::move(other.link_)), tag_(other.tag_), id_(other.id_) {}

Delivery& Delivery::operator=(Delivery&& other) noexcept {
  if (this != &other) {
    release();
    link_ = std::move(other.link_);
    tag_ = other.tag_;
    id_ = other.id_;
  }
  return *this;
}

bool Delivery::held() const noexcept {
  return link_ && link_->client != nullptr && link_->client->holds(tag_);
}

Result<void> Delivery::answer(std::span<const std::uint8_t> payload) {
  if (!link_) return QueueError::not_held;
  service::ConsumerClient* client = link_->client;
  if (client == nullptr) return QueueError::stopped;
  if (auto sent = client->answer(tag_, payload); !sent) return to_public(sent.error());
  link_.reset();  // answered: this handle is done
  client->flush();
  return {};
}

Result<void> Delivery::answer(std::string_view text) {
  return answer({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

Result<void> Delivery::reject(std::string_view reason, bool requeue) {
  if (!link_) return QueueError::not_held;
  service::ConsumerClient* client = link_->client;
  if (client == nullptr) return QueueError::stopped;
  reason = reason.substr(0, limits::kMaxReasonText);
  if (auto sent = client->reject(tag_, requeue, reason); !sent) return to_public(sent.error());
  link_.reset();
  client->flush();
  return {};
}

void Delivery::release() noexcept {
  if (!held()) {
    link_.reset();
    return;
  }
  PEERMQ_LOG(warn, "consumer", "message %llu was dropped unanswered: delivered again",
             static_cast<unsigned long long>(id_));
  (void)reject("the consumer dropped it unanswered", true);
  link_.reset();
}

}  // namespace peermq
