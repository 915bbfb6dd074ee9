#include "mq/delivery_router.hpp"

#include <algorithm>
#include <cassert>

namespace peermq::mq {

namespace {

std::int64_t ticks(Instant t) noexcept {
  return t.time_since_epoch().count();
}

int top_priority(std::uint16_t mask) noexcept {
  return static_cast<int>(std::bit_width(unsigned{mask})) - 1;
}

}  // namespace

DeliveryRouter::DeliveryRouter(MessageStore& store, const ProducerTable& producers,
                               BrokerSender& sender, BrokerMetrics& metrics,
                               Duration visibility_timeout) noexcept
    : store_(store),
      producers_(producers),
      sender_(sender),
      metrics_(metrics),
      visibility_timeout_(visibility_timeout) {}

// ---- commands --------------------------------------------------------------------------------

std::uint32_t DeliveryRouter::intern_command(std::string_view name) {
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

void DeliveryRouter::release_command(std::uint32_t index) {
  CommandQueue& q = commands_[index];
  assert(q.refs > 0);
  if (--q.refs > 0) return;
  assert(q.mask == 0 && q.consumers.empty());
  command_index_.erase(q.name);
  q = CommandQueue{};
  free_commands_.push_back(index);
}

// ---- consumers -------------------------------------------------------------------------------

DeliveryRouter::Consumer& DeliveryRouter::add_consumer(PeerLink& link) {
  const std::uint32_t id = next_consumer_id_++;
  Consumer& k = consumers_[id];
  k.id = id;
  k.link = &link;
  return k;
}

void DeliveryRouter::subscribe(Consumer& k, std::string_view name, std::uint32_t prefetch,
                               std::span<const std::string_view> commands) {
  unsubscribe(k);
  k.name = std::string(name);
  k.credit.set_cap(prefetch);
  for (std::string_view command : commands) {
    const std::uint32_t index = intern_command(command);
    if (std::find(k.commands.begin(), k.commands.end(), index) != k.commands.end()) {
      release_command(index);  // listed twice
      continue;
    }
    k.commands.push_back(index);
    commands_[index].consumers.push_back(&k);
  }
}

void DeliveryRouter::unsubscribe(Consumer& k) {
  for (std::uint32_t index : k.commands) {
    auto& list = commands_[index].consumers;
    list.erase(std::find(list.begin(), list.end(), &k));
    release_command(index);
  }
  k.commands.clear();
}

void DeliveryRouter::take_back(Consumer& k, std::vector<Pos>& out) {
  const std::size_t first = out.size();
  for (Pos p = in_flight_.head; p != kNoPos; p = store_.next(p)) {
    if (store_.at(p).consumer == k.id) out.push_back(p);
  }
  for (std::size_t i = first; i < out.size(); ++i) end_delivery(out[i]);
}

void DeliveryRouter::remove_consumer(Consumer& k) {
  assert(k.in_flight == 0);
  unsubscribe(k);
  consumers_.erase(k.id);
}

// ---- ready queues ----------------------------------------------------------------------------

Pos DeliveryRouter::pop_ready(CommandQueue& q) noexcept {
  const Pos p = q.ready[static_cast<unsigned>(top_priority(q.mask))].head;
  unready(p);
  return p;
}

Pos DeliveryRouter::take(Consumer& k) noexcept {
  if (!has_credit(k)) return kNoPos;
  const std::size_t n = k.commands.size();
  std::uint32_t best = kNone;
  std::size_t best_offset = 0;
  int best_priority = -1;
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint32_t index = k.commands[(k.rr + j) % n];
    const std::uint16_t mask = commands_[index].mask;
    if (mask == 0) continue;
    if (top_priority(mask) > best_priority) {
      best = index;
      best_priority = top_priority(mask);
      best_offset = j;
    }
  }
  if (best == kNone) return kNoPos;
  k.rr = static_cast<std::uint32_t>((k.rr + best_offset + 1) % n);
  return pop_ready(commands_[best]);
}

Pos DeliveryRouter::take(std::uint32_t command, Consumer*& to) noexcept {
  CommandQueue& q = commands_[command];
  if (q.mask == 0) return kNoPos;
  const std::size_t n = q.consumers.size();
  for (std::size_t i = 0; i < n; ++i) {
    Consumer* candidate = q.consumers[(q.rr + i) % n];
    if (has_credit(*candidate)) {
      q.rr = static_cast<std::uint32_t>((q.rr + i + 1) % n);
      to = candidate;
      return pop_ready(q);
    }
  }
  return kNoPos;
}

// ---- deliveries ------------------------------------------------------------------------------

bool DeliveryRouter::deliver(Consumer& k, Pos p, Instant now) {
  Slot& s = store_.at(p);
  s.state = SlotState::in_flight;
  s.consumer = k.id;
  deadlines_.assign(p, ticks(now) + visibility_timeout_.count());
  ++s.attempt;
  ++s.deliveries;
  store_.push_back(in_flight_, p);
  ++k.in_flight;
  Deliver d;
  d.tag = (p << 16) | s.attempt;
  d.message_id = block_id(s);
  d.producer = producers_.key(block_producer(s));
  d.command = commands_[s.command].name;
  d.headers = Headers{block_first(s), block_first(s).empty() ? 0u : 1u};
  d.payload = block_second(s);
  d.delivery_count = s.deliveries;
  d.priority = s.priority;
  d.flags = static_cast<std::uint8_t>(block_flags(s) & kKnownFlags);
  if (!sender_.send(*k.link, d)) {
    // Not sent: the message goes back to the front and the consumer waits for on_writable.
    end_delivery(p);
    --store_.at(p).deliveries;
    make_ready(p, true);
    return false;
  }
  metrics_.delivered.inc();
  if (s.deliveries > 1) metrics_.redelivered.inc();
  return true;
}

Pos DeliveryRouter::resolve(const Consumer& k, std::uint64_t tag,
                            bool allow_requeued) const noexcept {
  const Pos p = tag >> 16;
  const auto attempt = static_cast<std::uint16_t>(tag & 0xffff);
  if (!store_.contains(p)) return kNoPos;
  const Slot& s = store_.at(p);
  if (s.attempt != attempt || s.consumer != k.id) return kNoPos;
  if (s.state == SlotState::in_flight) return p;
  if (allow_requeued && s.state == SlotState::ready) return p;
  return kNoPos;
}

std::int64_t DeliveryRouter::deadline() const noexcept {
  if (in_flight_.head == kNoPos) return kNever;
  // Every in-flight slot has its deadline (deliver() sets it, end_delivery() erases it); a
  // missing one would be a bug, and is treated as due.
  const std::int64_t* d = deadlines_.find(in_flight_.head);
  assert(d != nullptr);
  return d != nullptr ? *d : 0;
}

Pos DeliveryRouter::time_out(std::int64_t now) noexcept {
  if (in_flight_.head == kNoPos || deadline() > now) return kNoPos;
  const Pos p = in_flight_.head;
  auto it = consumers_.find(store_.at(p).consumer);
  end_delivery(p);
  if (it != consumers_.end()) ++it->second.zombies;
  return p;
}

}  // namespace peermq::mq
