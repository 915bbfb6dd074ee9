// Broker: what it keeps and how it keeps it — journal appends, commits, recovery, expiry,
// dedupe generations, compaction and the producer/command tables. Protocol handling and
// dispatch are in broker.cpp.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "mq/broker.hpp"
#include "mq/mq_error.hpp"

namespace peermq::mq {

namespace {

std::int64_t ticks(Instant t) noexcept { return t.time_since_epoch().count(); }

void copy_bytes(std::uint8_t* to, std::span<const std::uint8_t> from) noexcept {
  if (!from.empty()) std::memcpy(to, from.data(), from.size());
}

std::span<const std::uint8_t> bytes_of(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string_view text_of(std::span<const std::uint8_t> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Every in-flight slot has its deadline (deliver() sets it, detach() erases it); a missing
// one would be a bug, and is treated as due.
std::int64_t deadline_of(const FlatTable<Pos, std::int64_t, U64Hash>& deadlines, Pos p) noexcept {
  const std::int64_t* d = deadlines.find(p);
  assert(d != nullptr);
  return d != nullptr ? *d : 0;
}

}  // namespace

std::size_t Broker::KeyHash::operator()(const PublicKey& k) const noexcept {
  std::uint64_t h;
  std::memcpy(&h, k.data(), sizeof h);
  return static_cast<std::size_t>(mix64(h));
}

// ---- time ------------------------------------------------------------------------------------

std::int64_t Broker::to_wall_ms(std::int64_t t) const noexcept {
  return epoch_wall_ms_ + (t - epoch_ticks_) / 1'000'000;
}

std::int64_t Broker::from_wall_ms(std::int64_t ms) const noexcept {
  // A record's time is at most decades away; clamp what a corrupt one says.
  constexpr std::int64_t kLimit = std::int64_t{1} << 40;  // ms: ~35 years
  const std::int64_t d = std::clamp(ms, epoch_wall_ms_ - kLimit, epoch_wall_ms_ + kLimit) -
                         epoch_wall_ms_;
  return epoch_ticks_ + d * 1'000'000;
}

void Broker::note_expiry(std::int64_t expires) noexcept {
  next_expiry_ = std::min(next_expiry_, expires);
}

// ---- journal ---------------------------------------------------------------------------------

std::uint64_t Broker::append(const JournalRecord& r) {
  record_.clear();
  encode_record(r, record_);
  const std::uint64_t seq = journal_.append(record_);
  assert(seq > last_seq_ && "journal sequence numbers must grow (and start at 1)");
  last_seq_ = seq;
  return seq;
}

void Broker::kill_by(std::uint64_t seq, Pos p) {
  // Until `seq` is durable, the record holding p must survive a crash: keep the floor.
  if (seq > committed_) unsettled_.push_back(Unsettled{seq, store_.uid(p)});
  if (store_.at(p).state == SlotState::answer) {
    drop_answer(p);
  } else {
    drop_message(p);
  }
}

void Broker::on_committed(std::uint64_t upto, Instant now) {
  committed_ = std::max(committed_, upto);
  while (!pending_.empty()) {
    const Pos p = pending_.front();
    if (store_.uid(p) > committed_) break;
    pending_.pop_front();
    Slot& s = store_.at(p);
    const std::uint32_t producer = block_producer(s);
    const IdKey key{producer, block_id(s)};
    if (std::uint32_t* n = pending_ids_.find(key); n != nullptr && --*n == 0) {
      pending_ids_.erase(key);
    }
    Producer& pr = producers_[producer];
    if (pr.conn != nullptr) {
      scratch_.clear();
      encode(Confirm{key.id}, scratch_);
      if (send(*pr.conn, scratch_)) metrics_.confirmed.inc();
    }
    const std::uint32_t command = s.command;
    make_ready(p, false);
    dispatch_command(command, now);
  }
  while (!unsettled_.empty() && unsettled_.front().seq <= committed_) unsettled_.pop_front();
  compact();
  update_gauges();
}

std::uint64_t Broker::live_floor() const noexcept {
  std::uint64_t floor = store_.live() > 0 ? store_.uid(store_.head()) : last_seq_ + 1;
  for (const Unsettled& u : unsettled_) floor = std::min(floor, u.uid);
  return floor;
}

// ---- slots -----------------------------------------------------------------------------------

// A block's first part (encoded headers, answer reason) has a 16-bit size, and its data a
// 24-bit one (mq/message_store.hpp).
static_assert(5 + limits::max_headers * (5 + limits::max_header_name + 5 +
                                         limits::max_header_value) <= 0xffff);
static_assert(limits::max_reason_text <= 0xffff);
static_assert(limits::max_payload + limits::max_reason_text < (std::size_t{1} << 24));

Pos Broker::new_message_slot(std::uint64_t uid, const PublicKey& producer,
                             std::uint64_t message_id, std::string_view command,
                             const Headers& headers, std::span<const std::uint8_t> payload,
                             std::int64_t expires, std::uint8_t priority, std::uint8_t flags,
                             SlotState state) {
  const std::size_t header_bytes = headers.count == 0 ? 0 : headers.encoded.size();
  const auto size = static_cast<std::uint32_t>(header_bytes + payload.size());
  BlockSpec spec;
  spec.id = message_id;
  spec.producer = intern_producer(producer);
  spec.size = size;
  spec.first = static_cast<std::uint16_t>(header_bytes);
  spec.flags = static_cast<std::uint8_t>(flags & known_flags);
  spec.expires = expires;
  const Pos p = store_.append(uid, state, spec);
  Slot& s = store_.at(p);
  copy_bytes(block_data(s), headers.encoded.first(header_bytes));
  copy_bytes(block_data(s) + header_bytes, payload);
  s.command = intern_command(command);
  s.priority = static_cast<std::uint8_t>(priority & 0x0f);
  note_expiry(expires);
  ++stored_messages_;
  stored_bytes_ += size;
  return p;
}

Pos Broker::new_answer_slot(std::uint64_t uid, std::uint32_t producer, std::uint64_t message_id,
                            AnswerStatus status, std::span<const std::uint8_t> payload,
                            std::string_view reason, std::int64_t expires) {
  if (const Pos* old = answers_.find(IdKey{producer, message_id})) {
    kill_by(uid, *old);  // a newer answer for the same message replaces it
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
  ++producers_[producer].refs;
  note_expiry(expires);
  store_.push_back(producers_[producer].answers, q);
  answers_.assign(IdKey{producer, message_id}, q);
  stored_bytes_ += spec.size;
  ++stored_answers_;
  return q;
}

void Broker::drop_message(Pos p) {
  Slot& s = store_.at(p);
  assert(s.state == SlotState::held || s.state == SlotState::pending);
  --stored_messages_;
  stored_bytes_ -= block_size(s);
  const std::uint32_t command = s.command;
  const std::uint32_t producer = block_producer(s);
  store_.kill(p);
  release_command(command);
  release_producer(producer);
}

void Broker::drop_answer(Pos p) {
  Slot& a = store_.at(p);
  assert(a.state == SlotState::answer);
  const std::uint32_t producer = block_producer(a);
  Producer& pr = producers_[producer];
  if (pr.unsent == p) pr.unsent = store_.next(p);
  store_.unlink(pr.answers, p);
  answers_.erase(IdKey{producer, block_id(a)});
  stored_bytes_ -= block_size(a);
  --stored_answers_;
  store_.kill(p);
  release_producer(producer);
}

// ---- dedupe ----------------------------------------------------------------------------------

// A producer remembered by the dedupe keeps one reference per generation (its index must
// not name another producer meanwhile).
void Broker::dedupe_insert(std::uint32_t producer, std::uint64_t id) {
  if (dedupe_.contains(producer, id)) return;
  if (dedupe_.insert(producer, id)) ++producers_[producer].refs;
}

// An id is remembered in the current generation, then in the previous one: between one and
// two dedupe windows in all.
void Broker::dedupe_turn(Instant now) {
  dedupe_.turn([&](std::uint32_t producer) { release_producer(producer); });
  dedupe_turn_at_ = ticks(now) + config_.dedupe_window.count();
}

// ---- timers ----------------------------------------------------------------------------------

void Broker::on_timeout(Instant now) {
  const std::int64_t t = ticks(now);
  // Visibility: deadlines are in delivery order, so only the front can be due.
  while (in_flight_.head != npos && deadline_of(deadlines_, in_flight_.head) <= t) {
    const Pos p = in_flight_.head;
    const std::uint32_t command = store_.at(p).command;
    auto it = consumers_.find(store_.at(p).consumer);
    detach(p);
    if (it != consumers_.end()) ++it->second.zombies;
    metrics_.visibility_timeouts.inc();
    return_message(p, now);
    dispatch_command(command, now);
  }
  if (next_expiry_ != kNever && t >= std::max(next_expiry_, next_sweep_)) sweep(now);
  if (t >= dedupe_turn_at_) dedupe_turn(now);
  compact();
  update_gauges();
}

Instant Broker::next_deadline() const noexcept {
  std::int64_t d = kNever;
  if (in_flight_.head != npos) d = deadline_of(deadlines_, in_flight_.head);
  if (next_expiry_ != kNever) d = std::min(d, std::max(next_expiry_, next_sweep_));
  if (!dedupe_.empty()) d = std::min(d, dedupe_turn_at_);
  return d == kNever ? Instant::max() : Instant(Duration(d));
}

// Drops expired ready messages (telling their producers) and expired answers, and finds
// the next expiry. A full pass, at most once per sweep interval.
void Broker::sweep(Instant now) {
  const std::int64_t t = ticks(now);
  std::int64_t next = kNever;
  next_expiry_ = kNever;  // answers stored during the pass note themselves
  const Pos end = store_.tail();
  for (Pos p = store_.head(); p < end; p = std::max(p + 1, store_.head())) {
    const Slot& s = store_.at(p);
    if (!s.timed || s.state == SlotState::dead) continue;
    const std::int64_t expires = block_expires(s);
    switch (s.state) {
      case SlotState::ready:
        if (expires <= t) {
          detach(p);
          expire(p, now);
          continue;
        }
        break;
      case SlotState::answer:
        if (expires <= t) {
          metrics_.answers_expired.inc();
          drop_answer(p);
          continue;
        }
        break;
      case SlotState::pending:
      case SlotState::in_flight:
        break;  // checked when they become ready
      default:
        continue;  // dead letters keep until an admin acts
    }
    next = std::min(next, expires);
  }
  next_expiry_ = std::min(next_expiry_, next);
  next_sweep_ = t + std::chrono::duration_cast<Duration>(limits::broker_expiry_sweep_interval)
                        .count();
}

// ---- compaction ------------------------------------------------------------------------------

void Broker::compact() {
  for (std::uint32_t budget = limits::broker_compact_batch; budget > 0; --budget) {
    if (store_.span() <= std::max(2 * store_.live(), config_.compact_min_span)) return;
    const Pos p = store_.head();
    const Slot& s = store_.at(p);
    // In flight (its tag names the position) or not durable yet: wait.
    if (s.state == SlotState::pending || s.state == SlotState::in_flight ||
        store_.uid(p) > committed_) {
      return;
    }
    relocate(p);
  }
}

void Broker::relocate(Pos p) {
  const Slot& s = store_.at(p);
  const std::uint64_t old_uid = store_.uid(p);
  const std::uint32_t producer = block_producer(s);
  const PublicKey& key = producers_[producer].key;
  const std::int64_t expires = block_expires(s);
  const std::int64_t wall = expires == kNever ? 0 : to_wall_ms(expires);
  const std::uint8_t flags = block_flags(s);
  std::uint64_t seq = 0;
  SlotList* list = nullptr;
  if (s.state == SlotState::answer) {
    seq = append(AnsweredRecord{0, old_uid, key, block_id(s), static_cast<AnswerStatus>(flags),
                                block_second(s), text_of(block_first(s)), wall});
    list = &producers_[producer].answers;
  } else {
    const bool dead = s.state == SlotState::dead_letter;
    seq = append(StoredRecord{old_uid, key, block_id(s), commands_[s.command].name,
                              Headers{block_first(s), block_first(s).empty() ? 0u : 1u},
                              block_second(s), wall, s.priority,
                              static_cast<std::uint8_t>(flags & known_flags), s.deliveries,
                              static_cast<std::uint8_t>(dead ? flags >> 4 : 0)});
    if (s.state == SlotState::ready) list = &commands_[s.command].ready[s.priority];
  }
  const bool answer = s.state == SlotState::answer;
  const std::uint64_t id = block_id(s);
  const Pos q = store_.relocate(p, seq, list);
  if (answer) {
    answers_.assign(IdKey{producer, id}, q);
    if (producers_[producer].unsent == p) producers_[producer].unsent = q;
  }
  unsettled_.push_back(Unsettled{seq, old_uid});
  metrics_.relocated.inc();
}

// ---- recovery --------------------------------------------------------------------------------

Result<void> Broker::replay(std::uint64_t seq, std::span<const std::uint8_t> body) {
  if (seq == 0 || seq <= last_seq_) {  // uids must grow for the store's order
    metrics_.replay_errors.inc();
    return MqError::bad_sequence;
  }
  last_seq_ = seq;
  committed_ = seq;
  auto record = decode_record(body);
  if (!record) {
    metrics_.replay_errors.inc();
    return record.error();
  }
  auto r = apply(seq, *record);
  update_gauges();
  return r;
}

Result<void> Broker::apply(std::uint64_t seq, const JournalRecord& record) {
  // The live message (not answer) slot holding uid, or npos.
  auto message = [&](std::uint64_t uid) {
    const Pos p = uid == 0 ? npos : store_.find_uid(uid);
    return p != npos && store_.at(p).state != SlotState::answer ? p : npos;
  };
  auto answer = [&](std::uint64_t uid) {
    const Pos p = uid == 0 ? npos : store_.find_uid(uid);
    return p != npos && store_.at(p).state == SlotState::answer ? p : npos;
  };
  switch (static_cast<RecordType>(record.index() + 1)) {
    case RecordType::stored: {
      const auto& r = std::get<StoredRecord>(record);
      if (const Pos old = message(r.prev_uid); old != npos) {
        detach(old);
        drop_message(old);
      }
      const std::int64_t expires = r.expires_ms == 0 ? kNever : from_wall_ms(r.expires_ms);
      const Pos p = new_message_slot(seq, r.producer, r.message_id, r.command, r.headers,
                                     r.payload, expires, r.priority, r.flags, SlotState::held);
      Slot& s = store_.at(p);
      s.deliveries = static_cast<std::uint8_t>(std::min<std::uint32_t>(r.deliveries, 255));
      if (r.dead_letter != 0) {
        s.state = SlotState::dead_letter;
        set_block_flags(s, static_cast<std::uint8_t>(block_flags(s) | (r.dead_letter << 4)));
        ++dead_letters_;
      } else {
        make_ready(p, false);
      }
      dedupe_insert(block_producer(s), r.message_id);
      return {};
    }
    case RecordType::acked: {
      if (const Pos p = message(std::get<AckedRecord>(record).uid); p != npos) {
        detach(p);
        drop_message(p);
      }
      return {};
    }
    case RecordType::answered: {
      const auto& r = std::get<AnsweredRecord>(record);
      if (const Pos p = message(r.acked_uid); p != npos) {
        detach(p);
        drop_message(p);
      }
      if (const Pos p = answer(r.prev_uid); p != npos) drop_answer(p);
      const std::uint32_t producer = intern_producer(r.producer);  // held across the slot
      (void)new_answer_slot(seq, producer, r.message_id, r.status, r.payload, r.reason,
                            r.expires_ms == 0 ? kNever : from_wall_ms(r.expires_ms));
      dedupe_insert(producer, r.message_id);
      release_producer(producer);
      return {};
    }
    case RecordType::answer_done: {
      if (const Pos p = answer(std::get<AnswerDoneRecord>(record).uid); p != npos) {
        drop_answer(p);
      }
      return {};
    }
    case RecordType::dead_lettered: {
      const auto& r = std::get<DeadLetteredRecord>(record);
      if (const Pos p = message(r.uid); p != npos && store_.at(p).state == SlotState::ready) {
        detach(p);
        Slot& s = store_.at(p);
        s.state = SlotState::dead_letter;
        set_block_flags(s, static_cast<std::uint8_t>((block_flags(s) & 0x0f) |
                                                     (static_cast<unsigned>(r.reason) << 4)));
        ++dead_letters_;
      }
      return {};
    }
    case RecordType::requeued: {
      const Pos p = message(std::get<RequeuedRecord>(record).uid);
      if (p != npos && store_.at(p).state == SlotState::dead_letter) {
        detach(p);
        Slot& s = store_.at(p);
        s.deliveries = 0;
        set_block_flags(s, block_flags(s) & 0x0f);
        make_ready(p, false);
      }
      return {};
    }
  }
  return MqError::unknown_record_type;
}

// ---- tables ----------------------------------------------------------------------------------

std::uint32_t Broker::intern_producer(const PublicKey& key) {
  auto [it, inserted] = producer_index_.try_emplace(key, 0);
  if (inserted) {
    std::uint32_t index;
    if (free_producers_.empty()) {
      index = static_cast<std::uint32_t>(producers_.size());
      producers_.emplace_back();
    } else {
      index = free_producers_.back();
      free_producers_.pop_back();
    }
    producers_[index] = Producer{};
    producers_[index].key = key;
    it->second = index;
  }
  ++producers_[it->second].refs;
  return it->second;
}

void Broker::release_producer(std::uint32_t index) {
  Producer& pr = producers_[index];
  assert(pr.refs > 0);
  if (--pr.refs > 0) return;
  producer_index_.erase(pr.key);
  pr = Producer{};
  free_producers_.push_back(index);
}

std::uint32_t Broker::intern_command(std::string_view name) {
  auto it = command_index_.find(name);
  if (it != command_index_.end()) {
    ++commands_[it->second].refs;
    return it->second;
  }
  std::uint32_t index;
  if (free_commands_.empty()) {
    index = static_cast<std::uint32_t>(commands_.size());
    commands_.emplace_back();
  } else {
    index = free_commands_.back();
    free_commands_.pop_back();
  }
  commands_[index].name = std::string(name);
  commands_[index].refs = 1;
  command_index_.emplace(commands_[index].name, index);
  return index;
}

void Broker::release_command(std::uint32_t index) {
  CommandQueue& q = commands_[index];
  assert(q.refs > 0);
  if (--q.refs > 0) return;
  assert(q.mask == 0 && q.consumers.empty());
  command_index_.erase(q.name);
  q = CommandQueue{};
  free_commands_.push_back(index);
}

Broker::Connection& Broker::connection(const PublicKey& peer) {
  auto [it, inserted] = connections_.try_emplace(peer);
  if (inserted) it->second.key = peer;
  return it->second;
}

void Broker::update_gauges() {
  metrics_.stored_messages.set(static_cast<std::int64_t>(stored_messages_));
  metrics_.stored_bytes.set(static_cast<std::int64_t>(stored_bytes_));
  metrics_.ready.set(static_cast<std::int64_t>(ready_));
  metrics_.in_flight.set(static_cast<std::int64_t>(in_flight_.size));
  metrics_.dead_letters.set(static_cast<std::int64_t>(dead_letters_));
  metrics_.stored_answers.set(static_cast<std::int64_t>(stored_answers_));
  metrics_.consumers.set(static_cast<std::int64_t>(consumers_.size()));
}

BrokerStats Broker::stats() const {
  BrokerStats s;
  s.stored_messages = stored_messages_;
  s.pending = pending_.size();
  s.ready = ready_;
  s.in_flight = in_flight_.size;
  s.dead_letters = dead_letters_;
  s.stored_answers = stored_answers_;
  s.stored_bytes = stored_bytes_;
  s.consumers = consumers_.size();
  s.producers = producer_index_.size();
  s.commands = command_index_.size();
  s.dedupe_entries = dedupe_.ids();
  s.store_span = store_.span();
  s.store_memory_bytes = store_.memory_bytes();
  s.index_memory_bytes = dedupe_.memory_bytes() + answers_.memory_bytes() +
                         pending_ids_.memory_bytes() + deadlines_.memory_bytes();
  return s;
}

}  // namespace peermq::mq
