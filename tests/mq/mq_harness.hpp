// Test doubles for the queue cores: an in-memory journal with commits, segment deletion and
// crashes; an outbox that records what the broker sends; a sink for client cores; the
// broker's parts wired together as the Broker wires them (PartsRig), for the tests of one
// part; and the peers and helpers the broker tests share.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/counters.hpp>

#include <doctest/doctest.h>

#include "mq/broker.hpp"
#include "mq/broker_parts.hpp"
#include "mq/mq_message.hpp"
#include "support/manual_clock.hpp"

namespace mqtest {

using namespace peermq;
using namespace peermq::mq;
using Bytes = std::vector<std::uint8_t>;

inline PublicKey key(std::uint8_t n) {
  PublicKey k{};
  k.fill(static_cast<std::uint8_t>(0x40 + n));
  k[0] = n;
  return k;
}

inline Bytes bytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
inline std::string text(std::span<const std::uint8_t> b) {
  return std::string(b.begin(), b.end());
}

// A message that owns its bytes: `msg` views them (moving a Got keeps the buffer).
struct Got {
  Bytes bytes;
  Message msg;
  explicit Got(Bytes b) : bytes(std::move(b)), msg(*decode(std::span<const std::uint8_t>(bytes))) {}
  Got(Got&& o) noexcept : bytes(std::move(o.bytes)), msg(std::move(o.msg)) {}
  MessageType type() const { return type_of(msg); }
  template <class T>
  const T& as() const {
    return std::get<T>(msg);
  }
};

class MemoryJournal final : public Journal {
 public:
  struct Record {
    std::uint64_t seq;
    Bytes body;
  };

  std::uint64_t append(std::span<const std::uint8_t> body) override {
    records.push_back(Record{next, Bytes(body.begin(), body.end())});
    return next++;
  }
  std::uint64_t last() const { return next - 1; }
  // The log a restarted broker finds: committed records only, seqs continuing after them.
  void crash(std::uint64_t committed) {
    std::erase_if(records, [&](const Record& r) { return r.seq > committed; });
    next = committed + 1;
  }
  // Deletes what the broker no longer needs, as whole segments below the floor would be.
  void delete_below(std::uint64_t floor) {
    std::erase_if(records, [&](const Record& r) { return r.seq < floor; });
  }

  std::vector<Record> records;
  std::uint64_t next = 1;
};

class RecordingOutbox final : public BrokerOutbox {
 public:
  bool send(const PublicKey& peer, std::span<const std::uint8_t> message) override {
    if (full.count(peer) != 0) return false;
    sent.emplace_back(peer, Bytes(message.begin(), message.end()));
    return true;
  }
  void report(const PublicKey&, std::string_view what) override { reports.emplace_back(what); }

  // Everything sent to `peer` since the last take, decoded.
  std::vector<Got> take(const PublicKey& peer) {
    std::vector<Got> out;
    std::vector<std::pair<PublicKey, Bytes>> rest;
    for (auto& [p, b] : sent) {
      if (p == peer) {
        out.emplace_back(std::move(b));
      } else {
        rest.emplace_back(p, std::move(b));
      }
    }
    sent = std::move(rest);
    return out;
  }

  std::vector<std::pair<PublicKey, Bytes>> sent;
  std::set<PublicKey> full;
  std::vector<std::string> reports;
};

// A broker on virtual time with an in-memory journal.
struct BrokerHarness {
  explicit BrokerHarness(BrokerConfig c = {}) : config(std::move(c)) { rebuild(); }

  void rebuild() {
    counters = std::make_unique<Counters>();
    broker =
        std::make_unique<Broker>(config, journal, out, *counters, clock.now(), clock.wall_now());
  }

  // Loses what was not committed, then recovers from the journal like a restart.
  void crash() {
    journal.crash(committed);
    out.sent.clear();
    rebuild();
    for (const auto& r : journal.records) (void)broker->replay(r.seq, r.body);
  }

  void commit() {
    committed = journal.last();
    broker->on_committed(committed, clock.now());
  }

  Result<void> send(const PublicKey& peer, const Message& m) {
    Bytes b;
    encode(m, b);
    return broker->on_message(peer, b, clock.now());
  }

  void hello(const PublicKey& peer, Role role, std::vector<std::string_view> commands = {},
             std::uint32_t prefetch = limits::kPrefetchDefault) {
    broker->on_connect(peer, clock.now());
    Hello h;
    h.role = role;
    h.name = "test";
    h.commands = std::move(commands);
    h.prefetch = prefetch;
    (void)send(peer, h);
  }

  Result<void> publish(const PublicKey& producer, std::uint64_t id, std::string_view command,
                       std::string_view payload, std::uint8_t priority = 0,
                       std::uint64_t ttl_ms = 0, std::uint8_t flags = 0) {
    Publish p;
    p.id = id;
    p.command = command;
    const Bytes body = bytes(payload);
    p.payload = body;
    p.priority = priority;
    p.ttl_ms = ttl_ms;
    p.flags = flags;
    return send(producer, p);
  }

  // Advances virtual time in steps no longer than `step`, running due timers.
  void advance(Duration d, Duration step = std::chrono::milliseconds(100)) {
    const Instant end = clock.now() + d;
    while (clock.now() < end) {
      const Instant next = std::min({end, clock.now() + step, broker->next_deadline()});
      clock.set(std::max(next, clock.now()));
      if (broker->next_deadline() <= clock.now()) broker->on_timeout(clock.now());
    }
  }

  std::vector<Got> take(const PublicKey& peer) { return out.take(peer); }

  // Deliveries sent to `peer` since the last take (other messages are dropped).
  std::vector<Got> deliveries(const PublicKey& peer) {
    std::vector<Got> all = take(peer);
    std::vector<Got> d;
    for (Got& g : all) {
      if (g.type() == MessageType::deliver) d.push_back(std::move(g));
    }
    return d;
  }

  std::uint64_t counter(std::string_view name) const {
    for (const auto& e : counters->entries()) {
      if (e.name == name) {
        if (const auto* c = std::get_if<Counter>(&e.metric)) return c->value();
      }
    }
    return ~std::uint64_t{0};
  }

  ManualClock clock;
  BrokerConfig config;
  MemoryJournal journal;
  RecordingOutbox out;
  std::unique_ptr<Counters> counters;
  std::unique_ptr<Broker> broker;
  std::uint64_t committed = 0;
};

// The broker's parts as Broker assembles them, on virtual time, with no facade: for tests
// that drive one part and look at its neighbours.
struct PartsRig {
  explicit PartsRig(BrokerConfig c = {})
      : config(std::move(c)),
        metrics(counters),
        sender(out, metrics.send_blocked),
        journal(memory, clock.now(), clock.wall_now()),
        router(store, producers, sender, metrics, config.visibility_timeout),
        messages(store, producers, router, expiry),
        answers(store, producers, sender, metrics, expiry),
        dead_letters(store, producers, router),
        publishes(store, producers, config.dedupe_window, config.dedupe_max_entries,
                  metrics.dedupe_early_turns, clock.now()),
        settlement(parts(), config, sender, metrics),
        recovery(parts(), settlement, metrics.relocated, config.compact_min_span) {}

  BrokerParts parts() {
    return {store, journal, producers, router, messages, answers, dead_letters, publishes};
  }

  // A held message of `command` from `producer`, stored under the next journal seq (an
  // acked record stands in for its stored record: only the seq matters here).
  Pos message(std::string_view command, const PublicKey& producer = key(1),
              std::uint8_t priority = 0, std::int64_t expires = kNever,
              std::string_view payload = "x", std::uint8_t flags = 0) {
    const std::uint64_t seq = journal.append(AckedRecord{0});
    const std::uint32_t index = producers.intern(producer);
    const Bytes body = bytes(payload);
    const Headers none;
    const Pos p = messages.create(
        seq, NewMessage{index, next_id++, command, none, body, expires, priority, flags},
        SlotState::held);
    producers.release(index);
    return p;
  }
  Pos ready(std::string_view command, std::uint8_t priority = 0) {
    const Pos p = message(command, key(1), priority);
    router.make_ready(p, false);
    return p;
  }
  // A consumer on its own link, subscribed to `commands`.
  DeliveryRouter::Consumer& consumer(PeerLink& link, std::vector<std::string_view> commands,
                                     std::uint32_t prefetch) {
    DeliveryRouter::Consumer& k = router.add_consumer(link);
    router.subscribe(k, "test", prefetch, commands);
    return k;
  }

  // A slot's state by value (it is a bit-field: doctest cannot bind it).
  SlotState state(Pos p) const { return store.at(p).state; }

  std::uint64_t counter_value(std::string_view name) const {
    for (const auto& e : counters.entries()) {
      if (e.name == name) {
        if (const auto* c = std::get_if<Counter>(&e.metric)) return c->value();
      }
    }
    return ~std::uint64_t{0};
  }

  ManualClock clock;
  BrokerConfig config;
  Counters counters;
  BrokerMetrics metrics;
  RecordingOutbox out;
  BrokerSender sender;
  MemoryJournal memory;
  BrokerJournal journal;
  MessageStore store;
  ProducerTable producers;
  ExpirySweep expiry;
  DeliveryRouter router;
  StoredMessages messages;
  AnswerBox answers;
  DeadLetterQueue dead_letters;
  PublishTracker publishes;
  Settlement settlement;
  BrokerRecovery recovery;
  std::uint64_t next_id = 1;
};

// ---- what the broker tests share -------------------------------------------------------------

namespace peers {
inline const PublicKey P = key(1);   // a producer
inline const PublicKey P2 = key(2);  // another producer
inline const PublicKey C = key(10);  // consumers
inline const PublicKey C2 = key(11);
inline const PublicKey A = key(20);  // an admin
}  // namespace peers

inline std::vector<std::uint64_t> confirmed_ids(const std::vector<Got>& got) {
  std::vector<std::uint64_t> ids;
  for (const Got& g : got) {
    if (g.type() == MessageType::confirm) ids.push_back(g.as<Confirm>().id);
  }
  return ids;
}

inline std::vector<const Got*> of_type(const std::vector<Got>& got, MessageType t) {
  std::vector<const Got*> out;
  for (const Got& g : got) {
    if (g.type() == t) out.push_back(&g);
  }
  return out;
}

inline std::vector<std::string> payloads(const std::vector<Got>& deliveries) {
  std::vector<std::string> out;
  for (const Got& g : deliveries) out.push_back(text(g.as<Deliver>().payload));
  return out;
}

inline void answer(BrokerHarness& h, const PublicKey& consumer, const Got& delivery,
                   std::string_view payload) {
  const Bytes body = bytes(payload);
  REQUIRE(h.send(consumer, Answer{delivery.as<Deliver>().tag, body}));
}

// Dead-letters `n` messages with ids 1..n through rejects.
inline void make_dead_letters(BrokerHarness& h, std::uint64_t n) {
  using namespace peers;
  h.hello(P, Role::producer);
  h.hello(C, Role::consumer, {"jobs"}, static_cast<std::uint32_t>(n));
  for (std::uint64_t i = 1; i <= n; ++i) REQUIRE(h.publish(P, i, "jobs", "m" + std::to_string(i)));
  h.commit();
  for (const Got& d : h.deliveries(C)) REQUIRE(h.send(C, Reject{d.as<Deliver>().tag, false, ""}));
  REQUIRE(h.broker->stats().dead_letters == n);
}

// The admin's page of dead letters after `after`; `keep` holds the bytes it views.
inline DlqListResult list_dead_letters(BrokerHarness& h, std::uint64_t after, std::uint32_t max,
                                       std::vector<Got>& keep) {
  REQUIRE(h.send(peers::A, DlqList{5, after, max}));
  keep = h.take(peers::A);
  REQUIRE(keep.size() == 1);
  return keep[0].as<DlqListResult>();
}

// A MessageSink that keeps what a client core sends.
class SinkRecorder final : public MessageSink {
 public:
  void send(std::span<const std::uint8_t> message) override {
    sent.emplace_back(message.begin(), message.end());
  }
  std::vector<Got> take() {
    std::vector<Got> out;
    for (Bytes& b : sent) out.emplace_back(std::move(b));
    sent.clear();
    return out;
  }
  std::vector<Bytes> sent;
};

}  // namespace mqtest
