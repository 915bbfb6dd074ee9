// DeliveryRouter: which consumer gets which message, and what is out with whom — the
// command queues, the consumers and their credit, and the deliveries in flight with their
// visibility deadlines.
//
// Routing rules:
// - Each command has one ready queue per priority (0..limits::kMaxPriority), FIFO within a
//   priority, and a bit mask of the non-empty ones, so the highest ready priority is one
//   bit scan. A message goes to the back of its queue when it becomes ready, to the front
//   when it comes back from a consumer (it was older than everything behind it).
// - A consumer subscribes to a set of commands (none: it takes messages without a command)
//   and has credit while its link is not blocked and deliveries plus zombies are below its
//   window: what its CreditTuner measured it can use, at most its prefetch (the cap the
//   consumer asked for; credit_tuner.hpp says how). A zombie is a delivery that timed out
//   but that the consumer may still be working on: it keeps its charge until the consumer
//   answers anything (forgive()), so a slow consumer is not handed more than its window.
// - take(command, ...) picks among the command's consumers with credit round-robin;
//   take(consumer) picks, among the consumer's commands, the one with the highest ready
//   priority, round-robin among equals. Both pop the message (state held): the owner then
//   delivers it, or drops it when it has expired.
// - deliver() sends it (BrokerSender) with the tag (position << 16 | attempt), so a stale
//   tag — an old attempt, another consumer's, a freed slot — never resolves. If the link
//   is full the message goes back to the front and the consumer waits for on_writable.
// - Deliveries are in flight in delivery order, which is deadline order (one visibility
//   timeout for all), so only the oldest can be due: time_out() is O(1) per expiry.
//
// The router moves slots of the store between states pending/held -> ready -> held ->
// in_flight -> held, and nothing else; what happens to a held message (answered,
// requeued, dead-lettered) is its owner's decision. Lists are intrusive (no memory per
// message); in flight, one 16-byte deadline entry per delivery (bounded by the prefetches).
// Consumer references stay valid until remove_consumer(). The store, producer table,
// sender and metrics outlive the router. Single-threaded.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <peermq/clock.hpp>

#include "mq/broker_metrics.hpp"
#include "mq/broker_sender.hpp"
#include "mq/credit_tuner.hpp"
#include "mq/flat_table.hpp"
#include "mq/message_store.hpp"
#include "mq/producer_table.hpp"
#include "wire/limits.hpp"

namespace peermq::mq {

class DeliveryRouter {
 public:
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  struct Consumer {
    std::uint32_t id = 0;
    PeerLink* link = nullptr;
    std::string name;
    std::vector<std::uint32_t> commands;
    CreditTuner credit;  // its window, under the prefetch it asked for
    std::uint32_t in_flight = 0;
    std::uint32_t zombies = 0;  // timed-out deliveries it may still answer: still charged
    std::uint32_t rr = 0;       // round robin over its commands
  };

  DeliveryRouter(MessageStore& store, const ProducerTable& producers, BrokerSender& sender,
                 BrokerMetrics& metrics, Duration visibility_timeout) noexcept;
  DeliveryRouter(const DeliveryRouter&) = delete;
  DeliveryRouter& operator=(const DeliveryRouter&) = delete;

  // ---- commands: an index per name, alive while messages or subscriptions refer to it
  std::uint32_t intern_command(std::string_view name);
  void release_command(std::uint32_t index);
  std::string_view command_name(std::uint32_t index) const noexcept {
    return commands_[index].name;
  }

  // ---- consumers
  // A new consumer on `link`, with no subscriptions and no credit yet.
  Consumer& add_consumer(PeerLink& link);
  // Replaces k's name, prefetch and subscriptions (a command listed twice counts once).
  void subscribe(Consumer& k, std::string_view name, std::uint32_t prefetch,
                 std::span<const std::string_view> commands);
  void set_prefetch(Consumer& k, std::uint32_t prefetch) noexcept { k.credit.set_cap(prefetch); }
  // k is settling (answering or rejecting) one of its deliveries at `now`, which is still
  // in flight: its window learns whether it was the limit (credit_tuner.hpp).
  void note_settled(Consumer& k, Instant now) noexcept {
    k.credit.on_settled(window_limited(k), now);
  }
  // k answered a delivery it no longer holds: one timed-out delivery's charge comes off.
  // False if it had none.
  bool forgive(Consumer& k) noexcept {
    if (k.zombies == 0) return false;
    --k.zombies;
    return true;
  }
  // Ends every delivery k holds (state held) and appends their positions to `out` in
  // delivery order.
  void take_back(Consumer& k, std::vector<Pos>& out);
  // Unsubscribes and forgets k, which must hold no delivery (take_back() first).
  void remove_consumer(Consumer& k);
  bool has_credit(const Consumer& k) const noexcept {
    return !k.link->blocked && std::uint64_t{k.in_flight} + k.zombies < k.credit.window();
  }
  // k holds its whole window while messages wait for it and its link is open: a larger
  // window would have had it working on more.
  bool window_limited(const Consumer& k) const noexcept {
    if (k.link->blocked || std::uint64_t{k.in_flight} + k.zombies < k.credit.window()) {
      return false;
    }
    return std::any_of(k.commands.begin(), k.commands.end(),
                       [&](std::uint32_t c) { return commands_[c].mask != 0; });
  }

  // ---- ready queues
  // Message p (held or pending) becomes ready at the back, or the front, of its queue.
  void make_ready(Pos p, bool front) noexcept;
  // Message p leaves its ready queue (state held).
  void unready(Pos p) noexcept;
  // The next message for k, popped (held); kNoPos when k has no credit or nothing is ready.
  Pos take(Consumer& k) noexcept;
  // The next message of `command` and the consumer to get it, popped; kNoPos when nothing
  // is ready or no subscriber has credit.
  Pos take(std::uint32_t command, Consumer*& to) noexcept;
  // The list a ready message of (command, priority) is on: compaction moves slots on it.
  SlotList& ready_list(std::uint32_t command, std::uint8_t priority) noexcept {
    return commands_[command].ready[priority];
  }

  // ---- deliveries
  // Sends held message p to k, in flight until `now` + the visibility timeout. False (p
  // back at the front of its queue, k's link blocked) if the send buffer is full.
  bool deliver(Consumer& k, Pos p, Instant now);
  // In-flight message p is no longer out (state held); its consumer's charge comes off.
  void end_delivery(Pos p) noexcept;
  // The message k holds under `tag`: in flight, or (allow_requeued) ready again after it
  // timed out, as long as nobody else took it. kNoPos for any other tag.
  Pos resolve(const Consumer& k, std::uint64_t tag, bool allow_requeued) const noexcept;
  // The oldest delivery if its deadline is at or before `now`: ended, its consumer keeps
  // the charge as a zombie. kNoPos if none is due.
  Pos time_out(std::int64_t now) noexcept;
  // The oldest delivery's deadline; kNever when nothing is in flight.
  std::int64_t deadline() const noexcept;

  std::uint64_t ready() const noexcept { return ready_; }
  std::uint64_t in_flight() const noexcept { return in_flight_.size; }
  std::size_t consumers() const noexcept { return consumers_.size(); }
  std::size_t commands() const noexcept { return command_index_.size(); }
  std::size_t memory_bytes() const noexcept { return deadlines_.memory_bytes(); }

 private:
  struct CommandQueue {
    std::string name;
    std::array<SlotList, limits::kMaxPriority + 1> ready;
    std::uint16_t mask = 0;  // bit p: ready[p] is not empty
    std::uint32_t refs = 0;  // message slots and subscriptions
    std::vector<Consumer*> consumers;
    std::uint32_t rr = 0;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  Pos pop_ready(CommandQueue& q) noexcept;
  void unsubscribe(Consumer& k);

  MessageStore& store_;
  const ProducerTable& producers_;
  BrokerSender& sender_;
  BrokerMetrics& metrics_;
  Duration visibility_timeout_;

  std::vector<CommandQueue> commands_;
  std::vector<std::uint32_t> free_commands_;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> command_index_;
  std::unordered_map<std::uint32_t, Consumer> consumers_;
  std::uint32_t next_consumer_id_ = 1;
  std::uint64_t ready_ = 0;
  SlotList in_flight_;                               // delivery order = deadline order
  FlatTable<Pos, std::int64_t, U64Hash> deadlines_;  // in flight: visibility deadline (ticks)
};

// Inline: every message passes these on its way, several times.

inline void DeliveryRouter::make_ready(Pos p, bool front) noexcept {
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

inline void DeliveryRouter::unready(Pos p) noexcept {
  Slot& s = store_.at(p);
  CommandQueue& q = commands_[s.command];
  SlotList& list = q.ready[s.priority];
  store_.unlink(list, p);
  if (list.head == kNoPos) q.mask = static_cast<std::uint16_t>(q.mask & ~(1u << s.priority));
  s.state = SlotState::held;
  --ready_;
}

inline void DeliveryRouter::end_delivery(Pos p) noexcept {
  Slot& s = store_.at(p);
  assert(s.state == SlotState::in_flight);
  store_.unlink(in_flight_, p);
  deadlines_.erase(p);
  auto it = consumers_.find(s.consumer);
  if (it != consumers_.end()) --it->second.in_flight;
  s.state = SlotState::held;
}

}  // namespace peermq::mq
