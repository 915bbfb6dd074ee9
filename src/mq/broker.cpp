// Broker: the peers, what their messages mean, and what happens to messages as a result.
// The state lives in the parts (see broker.hpp); every function here is a short sequence
// of calls into them.
#include "mq/broker.hpp"

#include <stdexcept>
#include <string>

#include "mq/mq_error.hpp"

namespace peermq::mq {

namespace {

std::int64_t ticks(Instant t) noexcept {
  return t.time_since_epoch().count();
}

std::string address_of(const PublicKey& key) {
  return Address(key).to_string();
}

NackReason nack_reason(Admission a) noexcept {
  switch (a) {
    case Admission::not_allowed: return NackReason::not_allowed;
    case Admission::too_large: return NackReason::too_large;
    default: return NackReason::queue_full;
  }
}

}  // namespace

Broker::Broker(BrokerConfig config, Journal& journal, BrokerOutbox& outbox, Counters& counters,
               Instant now, WallTime wall_now)
    : config_(std::move(config)),
      metrics_(counters),
      sender_(outbox, metrics_.send_blocked),
      journal_(journal, now, wall_now),
      router_(store_, producers_, sender_, metrics_, config_.visibility_timeout),
      messages_(store_, producers_, router_, expiry_),
      answers_(store_, producers_, sender_, metrics_, expiry_),
      dead_letters_(store_, producers_, router_),
      publishes_(store_, producers_, config_.dedupe_window, config_.dedupe_max_entries,
                 metrics_.dedupe_early_turns, now),
      limits_(config_),
      settlement_(parts(), config_, sender_, metrics_),
      recovery_(parts(), settlement_, metrics_.relocated, config_.compact_min_span) {
  if (!config_.validate()) throw std::invalid_argument("mq::BrokerConfig out of range");
}

Broker::~Broker() = default;

// ---- peers -----------------------------------------------------------------------------------

Broker::Connection& Broker::connection(const PublicKey& peer) {
  auto [it, inserted] = connections_.try_emplace(peer);
  if (inserted) it->second.link.key = peer;
  return it->second;
}

void Broker::on_connect(const PublicKey& peer, Instant now) {
  // A new session from a known peer: whatever the old one held is void (its deliveries go
  // back to the queue), as if the disconnect had been seen first.
  auto it = connections_.find(peer);
  if (it != connections_.end()) {
    disconnect(it->second, now);
    it->second = Connection{};
    it->second.link.key = peer;
  } else {
    (void)connection(peer);
  }
  update_gauges();
}

void Broker::on_disconnect(const PublicKey& peer, Instant now) {
  auto it = connections_.find(peer);
  if (it == connections_.end()) return;
  disconnect(it->second, now);
  connections_.erase(it);
  update_gauges();
}

void Broker::disconnect(Connection& c, Instant now) {
  if (c.consumer != nullptr) remove_consumer(c, now);
  if (c.producer != kNone) {
    producers_.set_link(c.producer, nullptr);
    answers_.offline(c.producer);
    producers_.release(c.producer);
    c.producer = kNone;
  }
}

void Broker::remove_consumer(Connection& c, Instant now) {
  // Its deliveries go back to the front of their queues, in the order they were delivered.
  positions_.clear();
  router_.take_back(*c.consumer, positions_);
  std::vector<std::uint32_t> touched;
  for (auto it = positions_.rbegin(); it != positions_.rend(); ++it) {
    touched.push_back(store_.at(*it).command);
    settlement_.return_message(*it, now);
  }
  router_.remove_consumer(*c.consumer);
  c.consumer = nullptr;
  for (std::uint32_t command : touched) settlement_.dispatch(command, now);
}

void Broker::on_writable(const PublicKey& peer, Instant now) {
  auto it = connections_.find(peer);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  c.link.blocked = false;
  if (c.producer != kNone) answers_.flush(c.producer);
  if (c.consumer != nullptr) settlement_.dispatch(*c.consumer, now);
  update_gauges();
}

Result<void> Broker::on_message(const PublicKey& peer, std::span<const std::uint8_t> bytes,
                                Instant now) {
  Connection& c = connection(peer);
  auto m = decode(bytes);
  if (!m) {
    metrics_.malformed.inc();
    sender_.report(peer, "dropped a malformed queue message: " + m.error().message());
    return m.error();
  }
  auto r = handle(c, *m, now);
  update_gauges();
  return r;
}

Result<void> Broker::handle(Connection& c, const Message& m, Instant now) {
  switch (type_of(m)) {
    case MessageType::hello: return on_hello(c, std::get<Hello>(m), now);
    case MessageType::publish: return on_publish(c, std::get<Publish>(m), now);
    case MessageType::answer: return on_answer(c, std::get<Answer>(m), now);
    case MessageType::reject: return on_reject(c, std::get<Reject>(m), now);
    case MessageType::answer_received: return on_answer_received(c, std::get<AnswerReceived>(m));
    case MessageType::credit: return on_credit(c, std::get<Credit>(m), now);
    case MessageType::dlq_list: return on_dlq_list(c, std::get<DlqList>(m));
    case MessageType::dlq_modify: return on_dlq_modify(c, std::get<DlqModify>(m), now);
    case MessageType::bye: on_disconnect(c.link.key, now); return {};  // c is gone now
    default: break;                                                    // broker-to-client messages
  }
  return drop(MqError::unexpected_message);
}

Result<void> Broker::drop(MqError e) {
  metrics_.dropped.inc();
  return e;
}

Result<void> Broker::refuse(Connection& c, RefuseCode code, std::string_view text) {
  (void)sender_.send(c.link, Refused{code, text});
  metrics_.refused.inc();
  sender_.report(c.link.key, "refused " + address_of(c.link.key) + ": " + std::string(text));
  return code == RefuseCode::bad_version ? MqError::bad_version : MqError::not_allowed;
}

// ---- hello -----------------------------------------------------------------------------------

Result<void> Broker::on_hello(Connection& c, const Hello& m, Instant now) {
  if (m.version < limits::kMqProtocolVersion) {
    return refuse(c, RefuseCode::bad_version,
                  "queue protocol version " + std::to_string(m.version) + " is older than " +
                      std::to_string(limits::kMqProtocolVersion) + ": upgrade the client");
  }
  static constexpr std::string_view kNoCommand[] = {""};
  std::span<const std::string_view> commands = m.commands;
  if (m.role == Role::consumer && commands.empty()) commands = kNoCommand;
  if (limits_.checked()) c.grant = limits_.grant(c.link.key);
  if (std::string why = limits_.refusal(c.grant, m.role, commands); !why.empty()) {
    return refuse(c, RefuseCode::not_allowed, why);
  }
  switch (m.role) {
    case Role::producer:
      if (c.producer == kNone) c.producer = producers_.intern(c.link.key);
      producers_.set_link(c.producer, &c.link);
      answers_.resend_all(c.producer);
      break;
    case Role::consumer:
      if (c.consumer == nullptr) c.consumer = &router_.add_consumer(c.link);
      router_.subscribe(*c.consumer, m.name, m.prefetch, commands);  // replaces a former
      break;
    case Role::admin: c.admin = true; break;
  }
  (void)sender_.send(c.link, HelloOk{});
  if (m.role == Role::producer) answers_.flush(c.producer);
  if (m.role == Role::consumer) settlement_.dispatch(*c.consumer, now);
  return {};
}

// ---- producers -------------------------------------------------------------------------------

Result<void> Broker::on_publish(Connection& c, const Publish& m, Instant now) {
  if (c.producer == kNone) return drop(MqError::hello_required);
  const std::uint32_t producer = c.producer;
  if (publishes_.stored(producer, m.id)) {
    // Stored already: confirm again once durable (the pending confirm covers it before).
    metrics_.duplicates.inc();
    if (!publishes_.pending(producer, m.id) && sender_.send(c.link, Confirm{m.id})) {
      metrics_.confirmed.inc();
    }
    return {};
  }
  const std::size_t size = m.headers.encoded.size() + m.payload.size();
  const Admission admission = limits_.admit(c.grant, m.command, size, levels());
  if (admission != Admission::admitted) return nack(c, m, admission, size);
  std::int64_t expires = kNever;
  if (m.ttl_ms != 0) {
    expires = ticks(now) +
              std::chrono::duration_cast<Duration>(std::chrono::milliseconds(m.ttl_ms)).count();
  }
  const std::uint64_t seq = journal_.append(StoredRecord{
      0, c.link.key, m.id, m.command, m.headers, m.payload,
      expires == kNever ? 0 : journal_.to_wall_ms(expires), m.priority, m.flags, 0, 0});
  const Pos p = messages_.create(
      seq,
      NewMessage{producer, m.id, m.command, m.headers, m.payload, expires, m.priority, m.flags},
      SlotState::pending);
  publishes_.add(p, producer, m.id, now);
  metrics_.published.inc();
  return {};
}

Result<void> Broker::nack(Connection& c, const Publish& m, Admission a, std::size_t size) {
  const std::string explained =
      a == Admission::queue_full ? std::string() : limits_.explain(a, m.command, size);
  const std::string_view text = a == Admission::queue_full ? QueueLimits::kQueueFull : explained;
  (void)sender_.send(c.link, PublishNack{m.id, nack_reason(a), text});
  switch (a) {
    case Admission::not_allowed:
      metrics_.nacked_not_allowed.inc();
      sender_.report(c.link.key,
                     "refused a publish of " + address_of(c.link.key) + ": " + explained);
      return MqError::not_allowed;
    case Admission::too_large: metrics_.nacked_too_large.inc(); return MqError::too_large;
    default: metrics_.nacked_queue_full.inc(); return {};  // not an error: a slow down
  }
}

Result<void> Broker::on_answer_received(Connection& c, const AnswerReceived& m) {
  if (c.producer == kNone) return drop(MqError::hello_required);
  const Pos* found = answers_.find(c.producer, m.message_id);
  if (found == nullptr) return drop(MqError::unknown_answer);
  const Pos p = *found;
  settlement_.kill_by(journal_.append(AnswerDoneRecord{store_.uid(p)}), p);
  return {};
}

// ---- consumers -------------------------------------------------------------------------------

Result<void> Broker::on_answer(Connection& c, const Answer& m, Instant now) {
  if (c.consumer == nullptr) return drop(MqError::hello_required);
  Consumer& k = *c.consumer;
  // A late answer to a delivery that timed out still completes the message if no other
  // consumer has taken it yet.
  const Pos p = router_.resolve(k, m.tag, true);
  if (p == kNoPos) {
    // It is done with a timed-out delivery: its credit comes back.
    if (router_.forgive(k)) settlement_.dispatch(k, now);
    return drop(MqError::unknown_delivery);
  }
  if (store_.at(p).state == SlotState::ready) {
    (void)router_.forgive(k);
  } else {
    router_.note_settled(k, now);
  }
  settlement_.detach(p);
  metrics_.answered.inc();
  settlement_.complete(p, AnswerStatus::answered, m.payload, {}, now);
  settlement_.dispatch(k, now);
  return {};
}

Result<void> Broker::on_reject(Connection& c, const Reject& m, Instant now) {
  if (c.consumer == nullptr) return drop(MqError::hello_required);
  Consumer& k = *c.consumer;
  const Pos p = router_.resolve(k, m.tag, false);
  if (p == kNoPos) {
    if (router_.forgive(k)) settlement_.dispatch(k, now);
    return drop(MqError::unknown_delivery);
  }
  router_.note_settled(k, now);
  metrics_.rejected.inc();
  const std::uint32_t command = store_.at(p).command;
  settlement_.detach(p);
  if (m.requeue) {
    settlement_.return_message(p, now);
  } else {
    settlement_.dead_letter(
        p, DeadLetterReason::rejected,
        m.reason.empty() ? std::string_view("rejected by a consumer") : m.reason, now);
  }
  settlement_.dispatch(command, now);
  settlement_.dispatch(k, now);
  return {};
}

Result<void> Broker::on_credit(Connection& c, const Credit& m, Instant now) {
  if (c.consumer == nullptr) return drop(MqError::hello_required);
  router_.set_prefetch(*c.consumer, m.prefetch);
  settlement_.dispatch(*c.consumer, now);
  return {};
}

// ---- admin -----------------------------------------------------------------------------------

Result<void> Broker::on_dlq_list(Connection& c, const DlqList& m) {
  if (!c.admin) return drop(MqError::hello_required);
  (void)sender_.send(c.link, dead_letters_.list(m));
  return {};
}

Result<void> Broker::on_dlq_modify(Connection& c, const DlqModify& m, Instant now) {
  if (!c.admin) return drop(MqError::hello_required);
  std::vector<std::uint32_t> touched;
  const std::uint64_t count = settlement_.settle_dead_letters(m, touched);
  (void)sender_.send(c.link, DlqDone{m.request_id, count});
  for (std::uint32_t command : touched) settlement_.dispatch(command, now);
  return {};
}

// ---- the runtime's calls ---------------------------------------------------------------------

void Broker::on_committed(std::uint64_t upto, Instant now) {
  journal_.commit(upto);
  for (Pos p = publishes_.pop_committed(journal_.committed()); p != kNoPos;
       p = publishes_.pop_committed(journal_.committed())) {
    const Slot& s = store_.at(p);
    PeerLink* link = producers_.link(block_producer(s));
    if (link != nullptr && sender_.send(*link, Confirm{block_id(s)})) metrics_.confirmed.inc();
    const std::uint32_t command = s.command;
    router_.make_ready(p, false);
    settlement_.dispatch(command, now);
  }
  recovery_.compact();
  update_gauges();
}

void Broker::on_timeout(Instant now) {
  settlement_.time_out(now);
  const std::int64_t t = ticks(now);
  if (expiry_.due(t)) expiry_.sweep(store_, t, [&](Pos p) { settlement_.expire(p, now); });
  publishes_.on_timeout(now);
  recovery_.compact();
  update_gauges();
}

Instant Broker::next_deadline() const noexcept {
  const std::int64_t d = std::min({router_.deadline(), expiry_.deadline(), publishes_.deadline()});
  return d == kNever ? Instant::max() : Instant(Duration(d));
}

Result<void> Broker::replay(std::uint64_t seq, std::span<const std::uint8_t> body) {
  if (auto ok = journal_.replayed(seq); !ok) {  // uids must grow for the store's order
    metrics_.replay_errors.inc();
    return ok.error();
  }
  auto record = decode_record(body);
  if (!record) {
    metrics_.replay_errors.inc();
    return record.error();
  }
  auto r = recovery_.apply(seq, *record);
  update_gauges();
  return r;
}

void Broker::update_gauges() {
  metrics_.stored_messages.set(static_cast<std::int64_t>(messages_.count()));
  metrics_.stored_bytes.set(static_cast<std::int64_t>(levels().bytes));
  metrics_.ready.set(static_cast<std::int64_t>(router_.ready()));
  metrics_.in_flight.set(static_cast<std::int64_t>(router_.in_flight()));
  metrics_.dead_letters.set(static_cast<std::int64_t>(dead_letters_.count()));
  metrics_.stored_answers.set(static_cast<std::int64_t>(answers_.count()));
  metrics_.consumers.set(static_cast<std::int64_t>(router_.consumers()));
}

BrokerStats Broker::stats() const {
  BrokerStats s;
  s.stored_messages = messages_.count();
  s.pending = publishes_.pending_count();
  s.ready = router_.ready();
  s.in_flight = router_.in_flight();
  s.dead_letters = dead_letters_.count();
  s.stored_answers = answers_.count();
  s.stored_bytes = levels().bytes;
  s.consumers = router_.consumers();
  s.producers = producers_.size();
  s.commands = router_.commands();
  s.dedupe_entries = publishes_.ids();
  s.store_span = store_.span();
  s.store_memory_bytes = store_.memory_bytes();
  s.index_memory_bytes =
      publishes_.memory_bytes() + answers_.memory_bytes() + router_.memory_bytes();
  return s;
}

}  // namespace peermq::mq
