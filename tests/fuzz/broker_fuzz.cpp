// libFuzzer target for the Broker state machine: any sequence of messages from four peers,
// commits, timers, disconnects, full send buffers and crashes.
//
// Input: a sequence of operations, each one byte `op` then its operands:
//   op % 8 in 0..3  a queue message from peer op % 4: one length byte, then that many bytes
//                   (a hello, publish, answer... or garbage)
//   4               commit everything appended
//   5               advance time by (next byte) * 100 ms and run the timers
//   6               peer (op >> 3) % 4 disconnects; its send buffer empties
//   7               (op >> 3) % 4: 0 = crash (rebuild from committed records, after
//                   deleting those below the floor), 1 = toggle peer 0's full send
//                   buffer, 2 = answer every delivery the broker sent, 3 = on_writable
// Invariants after every step: the counts of message states add up; every stored message
// and answer has its slot; the broker sends only messages that decode; after a crash every
// record of its own log replays.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/counters.hpp>

#include "mq/broker.hpp"
#include "mq/mq_message.hpp"
#include "support/manual_clock.hpp"

using namespace peermq;
using namespace peermq::mq;
using Bytes = std::vector<std::uint8_t>;

namespace {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

PublicKey peer(unsigned n) {
  PublicKey k{};
  k.fill(static_cast<std::uint8_t>(0x10 + n));
  return k;
}

struct MemoryJournal final : Journal {
  struct Record {
    std::uint64_t seq;
    Bytes body;
  };
  std::vector<Record> records;
  std::uint64_t next = 1;
  std::uint64_t append(std::span<const std::uint8_t> body) override {
    records.push_back(Record{next, Bytes(body.begin(), body.end())});
    return next++;
  }
};

struct Outbox final : BrokerOutbox {
  std::set<PublicKey> full;
  std::vector<std::pair<PublicKey, Bytes>> sent;
  bool send(const PublicKey& p, std::span<const std::uint8_t> m) override {
    if (full.count(p) != 0) return false;
    if (sent.size() < 4096) sent.emplace_back(p, Bytes(m.begin(), m.end()));
    return true;
  }
};

void check_counts(const Broker& b) {
  const BrokerStats s = b.stats();
  require(s.stored_messages == s.pending + s.ready + s.in_flight + s.dead_letters,
          "every stored message is in exactly one state");
  require(s.store_span >= s.stored_messages + s.stored_answers,
          "every stored message and answer has a slot");
  require(s.stored_messages + s.stored_answers > 0 || s.stored_bytes == 0,
          "stored bytes belong to stored messages and answers");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ManualClock clock;
  MemoryJournal journal;
  Outbox outbox;
  auto counters = std::make_unique<Counters>();
  BrokerConfig config;
  config.max_messages = 64;
  config.max_deliveries = 3;
  config.visibility_timeout = std::chrono::seconds(2);
  config.compact_min_span = 8;
  config.dedupe_max_entries = 32;
  auto broker =
      std::make_unique<Broker>(config, journal, outbox, *counters, clock.now(), clock.wall_now());
  std::uint64_t committed = 0;

  std::size_t pos = 0;
  auto next_byte = [&]() -> std::uint8_t { return pos < size ? data[pos++] : 0; };
  while (pos < size) {
    const std::uint8_t op = next_byte();
    const unsigned who = (op >> 3) % 4;
    switch (op % 8) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const std::size_t len = std::min<std::size_t>(next_byte(), size - pos);
        (void)broker->on_message(peer(op % 4), std::span(data + pos, len), clock.now());
        pos += len;
        break;
      }
      case 4:
        committed = journal.next - 1;
        broker->on_committed(committed, clock.now());
        break;
      case 5:
        clock.advance(std::chrono::milliseconds(100) * next_byte());
        broker->on_timeout(clock.now());
        break;
      case 6:
        outbox.full.erase(peer(who));
        broker->on_disconnect(peer(who), clock.now());
        break;
      default:
        if (who == 0) {
          // Crash: the log keeps committed records; segments below the floor may be gone.
          const std::uint64_t floor = broker->live_floor();
          std::erase_if(journal.records, [&](const MemoryJournal::Record& r) {
            return r.seq > committed || r.seq < floor;
          });
          journal.next = committed + 1;
          broker.reset();
          counters = std::make_unique<Counters>();
          outbox.full.clear();
          broker = std::make_unique<Broker>(config, journal, outbox, *counters, clock.now(),
                                            clock.wall_now());
          for (const auto& r : journal.records) {
            require(broker->replay(r.seq, r.body).ok(), "the broker's own records replay");
          }
        } else if (who == 1) {
          if (!outbox.full.erase(peer(0))) outbox.full.insert(peer(0));
        } else if (who == 2) {
          auto sent = std::move(outbox.sent);
          outbox.sent.clear();
          for (auto& [p, bytes] : sent) {
            auto m = decode(bytes);
            require(m.ok(), "the broker sends only messages that decode");
            if (type_of(*m) != MessageType::deliver) continue;
            Bytes answer;
            encode(Answer{std::get<Deliver>(*m).tag, {}}, answer);
            (void)broker->on_message(p, answer, clock.now());
          }
        } else {
          broker->on_writable(peer(0), clock.now());
        }
        break;
    }
    check_counts(*broker);
  }
  return 0;
}
