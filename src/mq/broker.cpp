// Broker: peers, protocol messages and dispatch. Journaling, recovery, expiry, dedupe and
// compaction are in broker_storage.cpp.
#include "mq/broker.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>

#include "mq/mq_error.hpp"

namespace peermq::mq {

namespace {

std::int64_t ticks(Instant t) noexcept { return t.time_since_epoch().count(); }

std::string address_of(const PublicKey& key) { return Address(key).to_string(); }

std::string quoted_command(std::string_view command) {
  if (command.empty()) return "messages without a command";
  return "command \"" + std::string(command) + "\"";
}

}  // namespace

Result<void> BrokerConfig::validate() const {
  const bool ok = visibility_timeout > Duration::zero() && max_deliveries >= 1 &&
                  max_deliveries <= 255 && max_messages >= 1 &&
                  max_messages <= (std::uint64_t{1} << 29) && max_bytes >= 1 &&
                  max_payload >= 1 && max_payload <= limits::max_payload &&
                  answer_ttl > Duration::zero() && dedupe_window > Duration::zero() &&
                  dedupe_max_entries >= 1 && compact_min_span >= 1 &&
                  compact_min_span <= (std::uint64_t{1} << 30);
  if (!ok) return MqError::bad_config;
  return {};
}

Broker::Metrics::Metrics(CounterRegistry c)
    : published(c.counter("mq_published_total", "Messages stored (first publish of an id).")),
      duplicates(c.counter("mq_duplicate_publishes_total",
                           "Publishes of an id already stored: confirmed, not stored again.")),
      confirmed(c.counter("mq_confirms_sent_total", "Confirms sent to producers.")),
      nacked_queue_full(c.counter("mq_nack_queue_full_total",
                                  "Publishes refused because the queue was full.")),
      nacked_too_large(c.counter("mq_nack_too_large_total",
                                 "Publishes refused for payload and headers too large.")),
      nacked_not_allowed(c.counter("mq_nack_not_allowed_total",
                                   "Publishes refused by the access list.")),
      delivered(c.counter("mq_deliveries_total", "Messages delivered to consumers.")),
      redelivered(c.counter("mq_redeliveries_total",
                            "Deliveries of a message delivered before.")),
      answered(c.counter("mq_answers_total", "Deliveries answered by consumers.")),
      rejected(c.counter("mq_rejects_total", "Deliveries rejected by consumers.")),
      visibility_timeouts(c.counter("mq_visibility_timeouts_total",
                                    "Deliveries not answered within the visibility timeout.")),
      expired(c.counter("mq_expired_total", "Messages dropped undelivered because of TTL.")),
      dead_lettered(c.counter("mq_dead_lettered_total",
                              "Messages moved to the dead-letter queue.")),
      dlq_requeued(c.counter("mq_dlq_requeued_total",
                             "Dead letters requeued by an admin.")),
      dlq_purged(c.counter("mq_dlq_purged_total", "Dead letters purged by an admin.")),
      answers_sent(c.counter("mq_answers_sent_total", "Answers sent to producers.")),
      answers_expired(c.counter("mq_answers_expired_total",
                                "Answers dropped because their producer did not fetch them.")),
      refused(c.counter("mq_refused_total", "Hellos refused (access list, version).")),
      malformed(c.counter("mq_malformed_total", "Queue messages that did not decode.")),
      dropped(c.counter("mq_dropped_total",
                        "Queue messages dropped: wrong role, unknown delivery or answer.")),
      send_blocked(c.counter("mq_send_blocked_total",
                             "Messages not sent because a peer's send buffer was full.")),
      replay_errors(c.counter("mq_replay_errors_total",
                              "Journal records skipped at recovery because they did not "
                              "decode.")),
      relocated(c.counter("mq_relocated_total",
                          "Old live records rewritten at the journal's head (compaction).")),
      dedupe_early_turns(c.counter("mq_dedupe_early_turns_total",
                                   "Dedupe generations cut short by dedupe_max_entries.")),
      stored_messages(c.gauge("mq_stored_messages", "Messages stored (any state).")),
      stored_bytes(c.gauge("mq_stored_bytes", "Bytes of stored payloads, headers, answers.")),
      ready(c.gauge("mq_ready_messages", "Messages waiting for a consumer.")),
      in_flight(c.gauge("mq_in_flight_messages", "Messages delivered, not yet answered.")),
      dead_letters(c.gauge("mq_dead_letters", "Messages in the dead-letter queue.")),
      stored_answers(c.gauge("mq_stored_answers", "Answers waiting for their producer.")),
      consumers(c.gauge("mq_consumers", "Consumers connected.")) {}

Broker::Broker(BrokerConfig config, Journal& journal, BrokerOutbox& outbox, Counters& counters,
               Instant now, WallTime wall_now)
    : config_(std::move(config)),
      journal_(journal),
      outbox_(outbox),
      metrics_(counters),
      epoch_ticks_(ticks(now)),
      epoch_wall_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                         wall_now.time_since_epoch())
                         .count()),
      dedupe_turn_at_(ticks(now) + config_.dedupe_window.count()) {
  if (!config_.validate()) throw std::invalid_argument("mq::BrokerConfig out of range");
}

Broker::~Broker() = default;

// ---- peers -----------------------------------------------------------------------------------

void Broker::on_connect(const PublicKey& peer, Instant now) {
  // A new session from a known peer: whatever the old one held is void (its deliveries go
  // back to the queue), as if the disconnect had been seen first.
  auto it = connections_.find(peer);
  if (it != connections_.end()) {
    disconnect(it->second, now);
    it->second = Connection{};
    it->second.key = peer;
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
  if (c.consumer != nullptr) remove_consumer(*c.consumer, now);
  if (c.producer != kNone) {
    Producer& pr = producers_[c.producer];
    pr.conn = nullptr;
    pr.unsent = npos;
    release_producer(c.producer);
    c.producer = kNone;
  }
}

void Broker::on_writable(const PublicKey& peer, Instant now) {
  auto it = connections_.find(peer);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  c.blocked = false;
  if (c.producer != kNone) flush_answers(producers_[c.producer]);
  if (c.consumer != nullptr) dispatch_consumer(*c.consumer, now);
  update_gauges();
}

bool Broker::send(Connection& c, std::span<const std::uint8_t> bytes) {
  if (c.blocked || !outbox_.send(c.key, bytes)) {
    c.blocked = true;
    metrics_.send_blocked.inc();
    return false;
  }
  return true;
}

Result<void> Broker::on_message(const PublicKey& peer, std::span<const std::uint8_t> bytes,
                                Instant now) {
  Connection& c = connection(peer);
  auto m = decode(bytes);
  if (!m) {
    metrics_.malformed.inc();
    outbox_.report(peer, "dropped a malformed queue message: " + m.error().message());
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
    case MessageType::answer_received:
      return on_answer_received(c, std::get<AnswerReceived>(m));
    case MessageType::credit: return on_credit(c, std::get<Credit>(m), now);
    case MessageType::dlq_list: return on_dlq_list(c, std::get<DlqList>(m));
    case MessageType::dlq_modify: return on_dlq_modify(c, std::get<DlqModify>(m), now);
    case MessageType::bye: on_disconnect(c.key, now); return {};  // c is gone now
    default: break;  // broker-to-client messages
  }
  metrics_.dropped.inc();
  return MqError::unexpected_message;
}

Result<void> Broker::refuse(Connection& c, RefuseCode code, std::string_view text) {
  scratch_.clear();
  encode(Refused{code, text}, scratch_);
  (void)send(c, scratch_);
  metrics_.refused.inc();
  outbox_.report(c.key, "refused " + address_of(c.key) + ": " + std::string(text));
  return code == RefuseCode::bad_version ? MqError::bad_version : MqError::not_allowed;
}

// ---- hello -----------------------------------------------------------------------------------

Result<void> Broker::on_hello(Connection& c, const Hello& m, Instant now) {
  if (m.version < limits::mq_protocol_version) {
    return refuse(c, RefuseCode::bad_version,
                  "queue protocol version " + std::to_string(m.version) + " is older than " +
                      std::to_string(limits::mq_protocol_version) + ": upgrade the client");
  }
  if (config_.access) c.grant = config_.access->grant(c.key);
  const bool checked = config_.access.has_value();
  switch (m.role) {
    case Role::producer: {
      if (checked && !c.grant.may_produce_something()) {
        return refuse(c, RefuseCode::not_allowed, "not allowed to produce at " + config_.name);
      }
      if (c.producer == kNone) c.producer = intern_producer(c.key);
      Producer& pr = producers_[c.producer];
      pr.conn = &c;
      pr.unsent = pr.answers.head;  // every stored answer goes out again
      break;
    }
    case Role::consumer: return hello_consumer(c, m, now);
    case Role::admin:
      if (checked && !c.grant.may_admin()) {
        return refuse(c, RefuseCode::not_allowed, "not allowed to administer " + config_.name);
      }
      c.admin = true;
      break;
  }
  scratch_.clear();
  encode(HelloOk{}, scratch_);
  (void)send(c, scratch_);
  if (m.role == Role::producer) flush_answers(producers_[c.producer]);
  return {};
}

Result<void> Broker::hello_consumer(Connection& c, const Hello& m, Instant now) {
  static constexpr std::string_view kNoCommand[] = {""};
  std::span<const std::string_view> commands = m.commands;
  if (commands.empty()) commands = kNoCommand;
  if (config_.access) {
    for (std::string_view command : commands) {
      if (!c.grant.may_consume(command)) {
        return refuse(c, RefuseCode::not_allowed, "not allowed to consume " +
                                                      quoted_command(command) + " at " +
                                                      config_.name);
      }
    }
  }
  Consumer* k = c.consumer;
  if (k == nullptr) {
    const std::uint32_t id = next_consumer_id_++;
    k = &consumers_[id];
    k->id = id;
    k->conn = &c;
    c.consumer = k;
  } else {
    unsubscribe(*k);  // a second hello replaces the subscriptions
  }
  k->name = std::string(m.name);
  k->prefetch = m.prefetch;
  for (std::string_view command : commands) {
    const std::uint32_t index = intern_command(command);
    if (std::find(k->commands.begin(), k->commands.end(), index) != k->commands.end()) {
      release_command(index);  // listed twice
      continue;
    }
    k->commands.push_back(index);
    commands_[index].consumers.push_back(k);
  }
  scratch_.clear();
  encode(HelloOk{}, scratch_);
  (void)send(c, scratch_);
  dispatch_consumer(*k, now);
  return {};
}

void Broker::unsubscribe(Consumer& k) {
  for (std::uint32_t index : k.commands) {
    auto& list = commands_[index].consumers;
    list.erase(std::find(list.begin(), list.end(), &k));
    release_command(index);
  }
  k.commands.clear();
}

void Broker::remove_consumer(Consumer& k, Instant now) {
  // Its deliveries go back to the front of their queues, in the order they were delivered.
  positions_.clear();
  for (Pos p = in_flight_.head; p != npos; p = store_.next(p)) {
    if (store_.at(p).consumer == k.id) positions_.push_back(p);
  }
  unsubscribe(k);
  std::vector<std::uint32_t> touched;
  for (auto it = positions_.rbegin(); it != positions_.rend(); ++it) {
    touched.push_back(store_.at(*it).command);
    detach(*it);
    return_message(*it, now);
  }
  Connection* c = k.conn;
  consumers_.erase(k.id);
  c->consumer = nullptr;
  for (std::uint32_t command : touched) dispatch_command(command, now);
}

// ---- producers -------------------------------------------------------------------------------

void Broker::nack(Connection& c, std::uint64_t id, NackReason reason, std::string_view text) {
  scratch_.clear();
  encode(PublishNack{id, reason, text}, scratch_);
  (void)send(c, scratch_);
}

Result<void> Broker::on_publish(Connection& c, const Publish& m, Instant now) {
  if (c.producer == kNone) {
    metrics_.dropped.inc();
    return MqError::hello_required;
  }
  const std::uint32_t producer = c.producer;
  if (dedupe_.contains(producer, m.id)) {
    // Stored already: confirm again once durable (the pending confirm covers it before).
    metrics_.duplicates.inc();
    if (!pending_ids_.contains(IdKey{producer, m.id})) {
      scratch_.clear();
      encode(Confirm{m.id}, scratch_);
      if (send(c, scratch_)) metrics_.confirmed.inc();
    }
    return {};
  }
  if (config_.access && !c.grant.may_produce(m.command)) {
    metrics_.nacked_not_allowed.inc();
    const std::string text = "not allowed to produce " + quoted_command(m.command);
    nack(c, m.id, NackReason::not_allowed, text);
    outbox_.report(c.key, "refused a publish of " + address_of(c.key) + ": " + text);
    return MqError::not_allowed;
  }
  const std::size_t size = m.headers.encoded.size() + m.payload.size();
  if (size > config_.max_payload) {
    metrics_.nacked_too_large.inc();
    nack(c, m.id, NackReason::too_large,
         "payload and headers of " + std::to_string(size) + " bytes exceed " +
             std::to_string(config_.max_payload));
    return MqError::too_large;
  }
  if (stored_messages_ >= config_.max_messages || stored_answers_ >= config_.max_messages ||
      stored_bytes_ + size > config_.max_bytes) {
    metrics_.nacked_queue_full.inc();
    nack(c, m.id, NackReason::queue_full, "queue full: slow down and publish again");
    return {};
  }
  std::int64_t expires = kNever;
  if (m.ttl_ms != 0) {
    expires = ticks(now) + std::chrono::duration_cast<Duration>(
                               std::chrono::milliseconds(m.ttl_ms))
                               .count();
  }
  const std::uint64_t seq = append(StoredRecord{0, c.key, m.id, m.command, m.headers, m.payload,
                                                expires == kNever ? 0 : to_wall_ms(expires),
                                                m.priority, m.flags, 0, 0});
  const Pos p = new_message_slot(seq, c.key, m.id, m.command, m.headers, m.payload, expires,
                                 m.priority, m.flags, SlotState::pending);
  pending_.push_back(p);
  ++*pending_ids_.insert(IdKey{producer, m.id}, 0).first;  // stored twice if forgotten
  if (dedupe_.entries() >= config_.dedupe_max_entries) {
    metrics_.dedupe_early_turns.inc();
    dedupe_turn(now);
  }
  dedupe_insert(producer, m.id);
  metrics_.published.inc();
  return {};
}

Result<void> Broker::on_answer_received(Connection& c, const AnswerReceived& m) {
  if (c.producer == kNone) {
    metrics_.dropped.inc();
    return MqError::hello_required;
  }
  const Pos* found = answers_.find(IdKey{c.producer, m.message_id});
  if (found == nullptr) {
    metrics_.dropped.inc();
    return MqError::unknown_answer;
  }
  const Pos p = *found;
  kill_by(append(AnswerDoneRecord{store_.uid(p)}), p);
  return {};
}

// ---- consumers -------------------------------------------------------------------------------

Pos Broker::resolve_delivery(Consumer& k, std::uint64_t tag, bool allow_requeued) {
  const Pos p = tag >> 16;
  const auto attempt = static_cast<std::uint16_t>(tag & 0xffff);
  if (!store_.contains(p)) return npos;
  const Slot& s = store_.at(p);
  if (s.attempt != attempt || s.consumer != k.id) return npos;
  if (s.state == SlotState::in_flight) return p;
  if (allow_requeued && s.state == SlotState::ready) return p;
  return npos;
}

Result<void> Broker::on_answer(Connection& c, const Answer& m, Instant now) {
  if (c.consumer == nullptr) {
    metrics_.dropped.inc();
    return MqError::hello_required;
  }
  Consumer& k = *c.consumer;
  // A late answer to a delivery that timed out still completes the message if no other
  // consumer has taken it yet.
  const Pos p = resolve_delivery(k, m.tag, true);
  if (p == npos) {
    metrics_.dropped.inc();
    if (k.zombies > 0) {  // it is done with a timed-out delivery: its credit comes back
      --k.zombies;
      dispatch_consumer(k, now);
    }
    return MqError::unknown_delivery;
  }
  if (store_.at(p).state == SlotState::ready && k.zombies > 0) --k.zombies;
  detach(p);
  metrics_.answered.inc();
  complete(p, AnswerStatus::answered, m.payload, {}, now);
  dispatch_consumer(k, now);
  return {};
}

Result<void> Broker::on_reject(Connection& c, const Reject& m, Instant now) {
  if (c.consumer == nullptr) {
    metrics_.dropped.inc();
    return MqError::hello_required;
  }
  Consumer& k = *c.consumer;
  const Pos p = resolve_delivery(k, m.tag, false);
  if (p == npos) {
    metrics_.dropped.inc();
    if (k.zombies > 0) {
      --k.zombies;
      dispatch_consumer(k, now);
    }
    return MqError::unknown_delivery;
  }
  metrics_.rejected.inc();
  const std::uint32_t command = store_.at(p).command;
  detach(p);
  if (m.requeue) {
    return_message(p, now);
  } else {
    dead_letter(p, DeadLetterReason::rejected,
                m.reason.empty() ? std::string_view("rejected by a consumer") : m.reason, now);
  }
  dispatch_command(command, now);
  dispatch_consumer(k, now);
  return {};
}

Result<void> Broker::on_credit(Connection& c, const Credit& m, Instant now) {
  if (c.consumer == nullptr) {
    metrics_.dropped.inc();
    return MqError::hello_required;
  }
  c.consumer->prefetch = m.prefetch;
  dispatch_consumer(*c.consumer, now);
  return {};
}

// ---- admin -----------------------------------------------------------------------------------

Result<void> Broker::on_dlq_list(Connection& c, const DlqList& m) {
  if (!c.admin) {
    metrics_.dropped.inc();
    return MqError::hello_required;
  }
  DlqListResult result;
  result.request_id = m.request_id;
  result.total = dead_letters_;
  if (m.after != ~std::uint64_t{0}) {
    // Bounded work per request: a sparse DLQ in a long ring is paged through.
    const std::uint64_t scan_limit = std::uint64_t{m.max} * 1024;
    Pos p = store_.lower_bound(m.after + 1);
    std::uint64_t scanned = 0;
    for (; p < store_.tail() && result.entries.size() < m.max && scanned < scan_limit;
         ++p, ++scanned) {
      const Slot& s = store_.at(p);
      if (s.state != SlotState::dead_letter) continue;
      result.entries.push_back(DlqEntry{store_.uid(p), block_id(s),
                                        producers_[block_producer(s)].key,
                                        commands_[s.command].name, s.deliveries,
                                        static_cast<DeadLetterReason>(block_flags(s) >> 4),
                                        block_size(s)});
    }
    if (p < store_.tail()) result.next = store_.uid(p - 1);
  }
  scratch_.clear();
  encode(result, scratch_);
  (void)send(c, scratch_);
  return {};
}

Result<void> Broker::on_dlq_modify(Connection& c, const DlqModify& m, Instant now) {
  if (!c.admin) {
    metrics_.dropped.inc();
    return MqError::hello_required;
  }
  positions_.clear();
  if (m.all) {
    for (Pos p = store_.head(); p < store_.tail(); ++p) {
      if (store_.at(p).state == SlotState::dead_letter) positions_.push_back(p);
    }
  } else {
    for (std::uint64_t uid : m.uids) {
      const Pos p = store_.find_uid(uid);
      if (p != npos) positions_.push_back(p);
    }
  }
  std::uint64_t count = 0;
  std::vector<std::uint32_t> touched;
  for (Pos p : positions_) {
    // A uid named twice, or purged above: check before touching.
    if (!store_.contains(p) || store_.at(p).state != SlotState::dead_letter) continue;
    const std::uint64_t uid = store_.uid(p);
    ++count;
    if (m.action == DlqAction::requeue) {
      (void)append(RequeuedRecord{uid});
      detach(p);
      Slot& s = store_.at(p);
      s.deliveries = 0;
      set_block_flags(s, block_flags(s) & 0x0f);
      touched.push_back(s.command);
      make_ready(p, false);
      metrics_.dlq_requeued.inc();
    } else {
      const std::uint64_t seq = append(AckedRecord{uid});
      detach(p);
      kill_by(seq, p);
      metrics_.dlq_purged.inc();
    }
  }
  scratch_.clear();
  encode(DlqDone{m.request_id, count}, scratch_);
  (void)send(c, scratch_);
  for (std::uint32_t command : touched) dispatch_command(command, now);
  return {};
}

// ---- dispatch --------------------------------------------------------------------------------

bool Broker::has_credit(const Consumer& k) const noexcept {
  return !k.conn->blocked && std::uint64_t{k.in_flight} + k.zombies < k.prefetch;
}

void Broker::make_ready(Pos p, bool front) {
  Slot& s = store_.at(p);
  CommandQueue& q = commands_[s.command];
  s.state = SlotState::ready;
  SlotList& list = q.ready[s.priority];
  if (front) {
    store_.push_front(list, p);
  } else {
    store_.push_back(list, p);
  }
  q.mask = static_cast<std::uint16_t>(q.mask | (1u << s.priority));
  ++ready_;
}

void Broker::unlink_ready(Pos p) {
  Slot& s = store_.at(p);
  CommandQueue& q = commands_[s.command];
  SlotList& list = q.ready[s.priority];
  store_.unlink(list, p);
  if (list.head == npos) q.mask = static_cast<std::uint16_t>(q.mask & ~(1u << s.priority));
  s.state = SlotState::held;
  --ready_;
}

Pos Broker::pop_ready(CommandQueue& q) {
  const auto priority = static_cast<unsigned>(std::bit_width(unsigned{q.mask}) - 1);
  const Pos p = q.ready[priority].head;
  unlink_ready(p);
  return p;
}

void Broker::detach(Pos p) {
  Slot& s = store_.at(p);
  switch (s.state) {
    case SlotState::ready: unlink_ready(p); break;
    case SlotState::in_flight: {
      store_.unlink(in_flight_, p);
      deadlines_.erase(p);
      auto it = consumers_.find(s.consumer);
      if (it != consumers_.end()) --it->second.in_flight;
      break;
    }
    case SlotState::dead_letter: --dead_letters_; break;
    default: break;
  }
  s.state = SlotState::held;
}

bool Broker::expired_now(Pos p, Instant now) const noexcept {
  return block_expires(store_.at(p)) <= ticks(now);
}

void Broker::dispatch_command(std::uint32_t command, Instant now) {
  while (commands_[command].mask != 0) {
    CommandQueue& q = commands_[command];
    const std::size_t n = q.consumers.size();
    Consumer* k = nullptr;
    for (std::size_t i = 0; i < n; ++i) {
      Consumer* candidate = q.consumers[(q.rr + i) % n];
      if (has_credit(*candidate)) {
        k = candidate;
        q.rr = static_cast<std::uint32_t>((q.rr + i + 1) % n);
        break;
      }
    }
    if (k == nullptr) return;
    const Pos p = pop_ready(q);
    if (expired_now(p, now)) {
      expire(p, now);
      continue;
    }
    (void)deliver(*k, p, now);
  }
}

void Broker::dispatch_consumer(Consumer& k, Instant now) {
  while (has_credit(k)) {
    const std::size_t n = k.commands.size();
    std::uint32_t best = kNone;
    std::size_t best_offset = 0;
    int best_priority = -1;
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint32_t index = k.commands[(k.rr + j) % n];
      const std::uint16_t mask = commands_[index].mask;
      if (mask == 0) continue;
      const int priority = static_cast<int>(std::bit_width(unsigned{mask})) - 1;
      if (priority > best_priority) {
        best = index;
        best_priority = priority;
        best_offset = j;
      }
    }
    if (best == kNone) return;
    k.rr = static_cast<std::uint32_t>((k.rr + best_offset + 1) % n);
    const Pos p = pop_ready(commands_[best]);
    if (expired_now(p, now)) {
      expire(p, now);
      continue;
    }
    (void)deliver(k, p, now);
  }
}

bool Broker::deliver(Consumer& k, Pos p, Instant now) {
  Slot& s = store_.at(p);
  s.state = SlotState::in_flight;
  s.consumer = k.id;
  deadlines_.assign(p, ticks(now) + config_.visibility_timeout.count());
  ++s.attempt;
  ++s.deliveries;
  store_.push_back(in_flight_, p);
  ++k.in_flight;
  Deliver d;
  d.tag = (p << 16) | s.attempt;
  d.message_id = block_id(s);
  d.producer = producers_[block_producer(s)].key;
  d.command = commands_[s.command].name;
  d.headers = Headers{block_first(s), block_first(s).empty() ? 0u : 1u};
  d.payload = block_second(s);
  d.delivery_count = s.deliveries;
  d.priority = s.priority;
  d.flags = static_cast<std::uint8_t>(block_flags(s) & known_flags);
  scratch_.clear();
  encode(d, scratch_);
  if (!send(*k.conn, scratch_)) {
    // Not sent: the message goes back to the front and the consumer waits for on_writable.
    detach(p);
    --store_.at(p).deliveries;
    make_ready(p, true);
    return false;
  }
  metrics_.delivered.inc();
  if (s.deliveries > 1) metrics_.redelivered.inc();
  return true;
}

void Broker::return_message(Pos p, Instant now) {
  Slot& s = store_.at(p);
  if (s.deliveries >= config_.max_deliveries) {
    dead_letter(p, DeadLetterReason::max_deliveries,
                "delivered " + std::to_string(s.deliveries) + " times without an answer", now);
    return;
  }
  make_ready(p, true);
}

void Broker::dead_letter(Pos p, DeadLetterReason reason, std::string_view text, Instant now) {
  (void)append(DeadLetteredRecord{store_.uid(p), reason});
  Slot& s = store_.at(p);
  s.state = SlotState::dead_letter;
  set_block_flags(s, static_cast<std::uint8_t>((block_flags(s) & 0x0f) |
                                               (static_cast<unsigned>(reason) << 4)));
  ++dead_letters_;
  metrics_.dead_lettered.inc();
  const std::uint32_t producer = block_producer(s);
  const std::uint64_t id = block_id(s);
  outbox_.report(producers_[producer].key, "message " + std::to_string(id) + " of " +
                                               address_of(producers_[producer].key) +
                                               " moved to the dead-letter queue: " +
                                               std::string(text));
  if ((block_flags(s) & flag_no_answer) == 0) {
    const AnswerStatus status = reason == DeadLetterReason::rejected
                                    ? AnswerStatus::rejected
                                    : AnswerStatus::dead_lettered;
    (void)store_answer(producer, id, status, {}, text, 0, now);
  }
}

void Broker::expire(Pos p, Instant now) {
  metrics_.expired.inc();
  complete(p, AnswerStatus::expired, {}, "TTL passed before a consumer took it", now);
}

void Broker::complete(Pos p, AnswerStatus status, std::span<const std::uint8_t> payload,
                      std::string_view reason, Instant now) {
  const Slot& s = store_.at(p);
  const std::uint64_t uid = store_.uid(p);
  std::uint64_t seq = 0;
  if ((block_flags(s) & flag_no_answer) != 0) {
    seq = append(AckedRecord{uid});
  } else {
    seq = store_answer(block_producer(s), block_id(s), status, payload, reason, uid, now);
  }
  kill_by(seq, p);
}

std::uint64_t Broker::store_answer(std::uint32_t producer, std::uint64_t message_id,
                                   AnswerStatus status, std::span<const std::uint8_t> payload,
                                   std::string_view reason, std::uint64_t acked_uid,
                                   Instant now) {
  const std::int64_t expires = ticks(now) + config_.answer_ttl.count();
  const std::uint64_t seq =
      append(AnsweredRecord{acked_uid, 0, producers_[producer].key, message_id, status, payload,
                            reason, to_wall_ms(expires)});
  const Pos q = new_answer_slot(seq, producer, message_id, status, payload, reason, expires);
  Producer& pr = producers_[producer];
  if (pr.conn != nullptr && pr.unsent == npos && !send_answer(pr, q)) pr.unsent = q;
  return seq;
}

bool Broker::send_answer(Producer& pr, Pos p) {
  const Slot& a = store_.at(p);
  const std::span<const std::uint8_t> reason = block_first(a);
  scratch_.clear();
  encode(AnswerToProducer{block_id(a), static_cast<AnswerStatus>(block_flags(a)), block_second(a),
                          std::string_view(reinterpret_cast<const char*>(reason.data()),
                                           reason.size())},
         scratch_);
  if (!send(*pr.conn, scratch_)) return false;
  metrics_.answers_sent.inc();
  return true;
}

void Broker::flush_answers(Producer& pr) {
  while (pr.conn != nullptr && pr.unsent != npos) {
    if (!send_answer(pr, pr.unsent)) return;
    pr.unsent = store_.next(pr.unsent);
  }
}

}  // namespace peermq::mq
