#include "mq/producer_core.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "mq/mq_error.hpp"

namespace peermq::mq {

namespace {

std::uint64_t id_from_clock(WallTime wall) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  return (static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 1)) << 20);
}

}  // namespace

ProducerCore::ProducerCore(ProducerConfig config, MessageSink& sink, WallTime wall_now)
    : config_(std::move(config)),
      sink_(sink),
      first_id_(config_.first_id != 0 ? config_.first_id : id_from_clock(wall_now)),
      next_id_(first_id_),
      backoff_(limits::kPublishBackoffInitial) {
  if (config_.max_inflight == 0 || config_.retry_interval <= Duration::zero() ||
      config_.answer_dedupe_window <= Duration::zero() ||
      config_.name.size() > limits::kMaxClientName) {
    throw std::invalid_argument("mq::ProducerConfig out of range");
  }
}

void ProducerCore::on_connected(Instant now) {
  connected_ = true;
  scratch_.clear();
  Hello hello;
  hello.role = Role::producer;
  hello.name = config_.name;
  hello.prefetch = 0;
  encode(hello, scratch_);
  sink_.send(scratch_);
  if (answered_turn_at_ == Instant{}) answered_turn_at_ = now + config_.answer_dedupe_window;
  send_waiting(now, true);
}

void ProducerCore::on_disconnected() {
  connected_ = false;
  for (Entry& e : entries_) {
    if (e.state == State::sent) set_state(e, State::unsent);
  }
  next_retry_ = Instant::max();
}

Result<void> ProducerCore::validate(const PublishRequest& r) const {
  if (!valid_command(r.command)) return MqError::bad_command;
  if (r.priority > limits::kMaxPriority || r.ttl < Duration::zero() ||
      r.ttl > limits::kMaxMessageTtl || r.headers.size() > limits::kMaxHeaders) {
    return MqError::bad_publish;
  }
  std::size_t header_bytes = 0;
  for (const auto& [name, value] : r.headers) {
    if (name.size() > limits::kMaxHeaderName || value.size() > limits::kMaxHeaderValue) {
      return MqError::bad_publish;
    }
    header_bytes += name.size() + value.size() + 8;  // an upper bound of the encoding
  }
  if (r.payload.size() + header_bytes > limits::kMaxPayload) return MqError::too_large;
  return {};
}

Result<std::uint64_t> ProducerCore::publish(const PublishRequest& request, Instant now) {
  if (refused_) return MqError::refused;
  if (live_ >= config_.max_inflight) return MqError::would_block;
  if (auto ok = validate(request); !ok) return ok.error();

  std::uint32_t index;
  if (free_.empty()) {
    index = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
  } else {
    index = free_.back();
    free_.pop_back();
  }
  Entry& e = entries_[index];
  e.id = next_id_++;
  set_state(e, State::unsent);
  e.want_answer = request.want_answer;
  headers_.clear();
  Publish p;
  p.id = e.id;
  p.command = request.command;
  if (!request.headers.empty()) {
    Headers::encode(request.headers, headers_);
    p.headers = Headers{headers_, static_cast<std::uint32_t>(request.headers.size())};
  }
  p.payload = request.payload;
  p.ttl_ms = static_cast<std::uint64_t>(
      std::chrono::ceil<std::chrono::milliseconds>(request.ttl).count());
  p.priority = request.priority;
  p.flags = request.want_answer ? 0 : kFlagNoAnswer;
  e.bytes.clear();
  e.bytes.reserve(request.payload.size() + headers_.size() + request.command.size() + 48);
  encode(p, e.bytes);
  index_.insert(e.id, index);
  ++live_;
  ++stats_.published;
  if (may_send(now)) send_entry(e, now);
  return e.id;
}

bool ProducerCore::may_send(Instant now) const noexcept {
  return connected_ && !refused_ && now >= paused_until_;
}

void ProducerCore::send_entry(Entry& e, Instant now) {
  if (e.state == State::sent || e.state == State::unsent) {
    if (e.sent_at != Instant{}) ++stats_.resends;
  }
  sink_.send(e.bytes);
  ++stats_.sends;
  set_state(e, State::sent);
  e.sent_at = now;
  next_retry_ = std::min(next_retry_, now + config_.retry_interval);
}

// Sends every unsent publish (and, with resend_sent, every sent one due for a retry) in
// id order, so a reconnect does not reorder what the application published.
void ProducerCore::send_waiting(Instant now, bool resend_sent) {
  if (!may_send(now)) return;
  order_.clear();
  Instant next = Instant::max();
  for (std::uint32_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.state == State::unsent ||
        (resend_sent && e.state == State::sent && e.sent_at + config_.retry_interval <= now)) {
      order_.push_back(i);
    } else if (e.state == State::sent) {
      next = std::min(next, e.sent_at + config_.retry_interval);
    }
  }
  next_retry_ = next;
  std::sort(order_.begin(), order_.end(),
            [&](std::uint32_t a, std::uint32_t b) { return entries_[a].id < entries_[b].id; });
  for (std::uint32_t i : order_) send_entry(entries_[i], now);
}

void ProducerCore::set_state(Entry& e, State state) noexcept {
  if (e.state == State::unsent) --unsent_;
  if (state == State::unsent) ++unsent_;
  e.state = state;
}

void ProducerCore::remove(std::uint32_t index) {
  Entry& e = entries_[index];
  index_.erase(e.id);
  set_state(e, State::free);
  release_bytes(e);
  e.sent_at = Instant{};
  free_.push_back(index);
  --live_;
}

void ProducerCore::release_bytes(Entry& e) noexcept {
  // A small buffer stays for the entry's next message (no allocation per publish); it is
  // no larger than what the entry held before, so memory never grows by it.
  if (e.bytes.capacity() <= limits::kProducerKeptBuffer) {
    e.bytes.clear();
  } else {
    std::vector<std::uint8_t>().swap(e.bytes);
  }
}

void ProducerCore::on_timeout(Instant now) {
  if (answered_turn_at_ != Instant{} && now >= answered_turn_at_) turn_answered(now);
  if (now >= next_retry_ || (unsent_ > 0 && now >= paused_until_)) send_waiting(now, true);
}

Instant ProducerCore::next_deadline() const noexcept {
  Instant d = Instant::max();
  if (connected_ && !refused_) {
    d = std::min(d, std::max(next_retry_, paused_until_));
    if (unsent_ > 0) d = std::min(d, paused_until_);  // held back by a pause
  }
  if (!answered_[0].empty() || !answered_[1].empty()) d = std::min(d, answered_turn_at_);
  return d;
}

void ProducerCore::turn_answered(Instant now) {
  answered_[1].clear();
  std::swap(answered_[0], answered_[1]);
  answered_turn_at_ = now + config_.answer_dedupe_window;
}

Result<ProducerEvent> ProducerCore::on_message(std::span<const std::uint8_t> bytes,
                                               Instant now) {
  auto m = decode(bytes);
  if (!m) return m.error();
  ProducerEvent event;
  switch (type_of(*m)) {
    case MessageType::hello_ok: event.kind = ProducerEvent::Kind::ready; break;
    case MessageType::refused:
      refused_ = true;
      event.kind = ProducerEvent::Kind::refused;
      event.text = std::get<Refused>(*m).text;
      break;
    case MessageType::confirm: event = on_confirm(std::get<Confirm>(*m).id); break;
    case MessageType::publish_nack: event = on_nack(std::get<PublishNack>(*m), now); break;
    case MessageType::answer_to_producer:
      event = on_answer(std::get<AnswerToProducer>(*m), now);
      break;
    default: return MqError::unexpected_message;
  }
  return event;
}

ProducerEvent ProducerCore::on_confirm(std::uint64_t id) {
  ProducerEvent event;
  const std::uint32_t* index = index_.find(id);
  if (index == nullptr) return event;  // answered already, or a duplicate confirm
  const std::uint32_t i = *index;
  Entry& e = entries_[i];
  if (e.state == State::confirmed) return event;
  backoff_ = limits::kPublishBackoffInitial;
  ++stats_.confirmed;
  event.kind = ProducerEvent::Kind::confirmed;
  event.id = id;
  if (e.want_answer) {
    set_state(e, State::confirmed);
    release_bytes(e);  // the broker has it now
  } else {
    remove(i);
  }
  return event;
}

ProducerEvent ProducerCore::on_nack(const PublishNack& m, Instant now) {
  ProducerEvent event;
  const std::uint32_t* index = index_.find(m.id);
  if (index == nullptr || entries_[*index].state == State::confirmed) return event;
  if (m.reason == NackReason::queue_full) {
    // Back off: everything waits, this message first among equals (id order).
    ++stats_.queue_full;
    set_state(entries_[*index], State::unsent);
    paused_until_ = std::max(paused_until_, now + backoff_);
    backoff_ = std::min<Duration>(backoff_ * 2, config_.retry_interval);
    return event;
  }
  ++stats_.failed;
  event.kind = ProducerEvent::Kind::failed;
  event.id = m.id;
  event.nack = m.reason;
  event.text = m.text;
  remove(*index);
  return event;
}

ProducerEvent ProducerCore::on_answer(const AnswerToProducer& m, Instant now) {
  // Acknowledge first, whatever happens below: the broker may forget the answer.
  scratch_.clear();
  encode(AnswerReceived{m.message_id}, scratch_);
  sink_.send(scratch_);

  ProducerEvent event;
  if (m.message_id >= first_id_ && m.message_id < next_id_) {
    // Ours: new exactly while the message is held.
    const std::uint32_t* index = index_.find(m.message_id);
    if (index == nullptr) {
      ++stats_.duplicate_answers;
      return event;
    }
    remove(*index);
  } else {
    if (answered_turn_at_ == Instant{}) answered_turn_at_ = now + config_.answer_dedupe_window;
    if (answered_[0].contains(m.message_id) || answered_[1].contains(m.message_id)) {
      ++stats_.duplicate_answers;
      return event;
    }
    answered_[0].insert(m.message_id, 1);
  }
  ++stats_.answers;
  event.kind = ProducerEvent::Kind::answer;
  event.id = m.message_id;
  event.status = m.status;
  event.payload = m.payload;
  event.text = m.reason;
  return event;
}

}  // namespace peermq::mq
