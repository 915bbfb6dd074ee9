// Test doubles for the queue cores: an in-memory journal with commits, segment deletion and
// crashes; an outbox that records what the broker sends; a sink for client cores.
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

#include "mq/broker.hpp"
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

inline Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string text(std::span<const std::uint8_t> b) { return std::string(b.begin(), b.end()); }

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
    broker = std::make_unique<Broker>(config, journal, out, *counters, clock.now(),
                                      clock.wall_now());
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
             std::uint32_t prefetch = limits::broker_prefetch_default) {
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
