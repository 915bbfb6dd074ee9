#include "mq/answer_box.hpp"

#include <cassert>
#include <cstring>

namespace peermq::mq {

namespace {

void copy_bytes(std::uint8_t* to, std::span<const std::uint8_t> from) noexcept {
  if (!from.empty()) std::memcpy(to, from.data(), from.size());
}

std::span<const std::uint8_t> bytes_of(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

// An answer block's first part (the reason) has a 16-bit size, and its data a 24-bit one
// (mq/message_store.hpp).
static_assert(limits::kMaxReasonText <= 0xffff);
static_assert(limits::kMaxPayload + limits::kMaxReasonText < (std::size_t{1} << 24));

AnswerBox::AnswerBox(MessageStore& store, ProducerTable& producers, BrokerSender& sender,
                     BrokerMetrics& metrics, ExpirySweep& expiry) noexcept
    : store_(store), producers_(producers), sender_(sender), metrics_(metrics), expiry_(expiry) {}

AnswerBox::Mailbox& AnswerBox::box(std::uint32_t producer) {
  if (producer >= boxes_.size()) boxes_.resize(std::size_t{producer} + 1);
  return boxes_[producer];
}

std::uint64_t AnswerBox::store(std::uint64_t uid, std::uint32_t producer, std::uint64_t message_id,
                               AnswerStatus status, std::span<const std::uint8_t> payload,
                               std::string_view reason, std::int64_t expires) {
  std::uint64_t replaced = 0;
  if (const Pos* old = find(producer, message_id)) {
    replaced = store_.uid(*old);
    drop(*old);  // a newer answer for the same message replaces it
  }
  BlockSpec spec;
  spec.id = message_id;
  spec.producer = producer;
  spec.size = static_cast<std::uint32_t>(reason.size() + payload.size());
  spec.first = static_cast<std::uint16_t>(reason.size());
  spec.flags = static_cast<std::uint8_t>(status);
  spec.expires = expires;
  const Pos q = store_.append(uid, SlotState::answer, spec);
  Slot& a = store_.at(q);
  copy_bytes(block_data(a), bytes_of(reason));
  copy_bytes(block_data(a) + reason.size(), payload);
  producers_.retain(producer);
  expiry_.note(expires);
  Mailbox& m = box(producer);
  store_.push_back(m.answers, q);
  index_.assign(MessageKey{producer, message_id}, q);
  bytes_ += spec.size;
  ++count_;
  if (PeerLink* link = producers_.link(producer);
      link != nullptr && m.unsent == kNoPos && !send(*link, q)) {
    m.unsent = q;
  }
  return replaced;
}

void AnswerBox::drop(Pos p) {
  Slot& a = store_.at(p);
  assert(a.state == SlotState::answer);
  const std::uint32_t producer = block_producer(a);
  Mailbox& m = boxes_[producer];
  if (m.unsent == p) m.unsent = store_.next(p);
  store_.unlink(m.answers, p);
  index_.erase(MessageKey{producer, block_id(a)});
  bytes_ -= block_size(a);
  --count_;
  store_.kill(p);
  producers_.release(producer);
}

Pos AnswerBox::relocate(Pos p, std::uint64_t uid) {
  const Slot& a = store_.at(p);
  const std::uint32_t producer = block_producer(a);
  const std::uint64_t id = block_id(a);
  Mailbox& m = boxes_[producer];
  const Pos q = store_.relocate(p, uid, &m.answers);
  index_.assign(MessageKey{producer, id}, q);
  if (m.unsent == p) m.unsent = q;
  return q;
}

void AnswerBox::resend_all(std::uint32_t producer) {
  Mailbox& m = box(producer);
  m.unsent = m.answers.head;
}

void AnswerBox::offline(std::uint32_t producer) noexcept {
  if (producer < boxes_.size()) boxes_[producer].unsent = kNoPos;
}

void AnswerBox::flush(std::uint32_t producer) {
  PeerLink* link = producers_.link(producer);
  if (link == nullptr) return;
  Mailbox& m = box(producer);
  while (m.unsent != kNoPos) {
    if (!send(*link, m.unsent)) return;
    m.unsent = store_.next(m.unsent);
  }
}

bool AnswerBox::send(PeerLink& link, Pos p) {
  const Slot& a = store_.at(p);
  const std::span<const std::uint8_t> reason = block_first(a);
  const AnswerToProducer message{
      block_id(a), static_cast<AnswerStatus>(block_flags(a)), block_second(a),
      std::string_view(reinterpret_cast<const char*>(reason.data()), reason.size())};
  if (!sender_.send(link, message)) return false;
  metrics_.answers_sent.inc();
  return true;
}

}  // namespace peermq::mq
