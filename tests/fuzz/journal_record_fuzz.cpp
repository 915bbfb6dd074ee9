// libFuzzer target for the broker's journal records (mq/journal_record.hpp) and their
// replay: a corrupt log must give typed errors, never a crash.
//
// 1. decode_record() on the bytes: a typed error, or a record that encodes to a fixpoint.
// 2. The bytes split into records (2-byte length prefixes) replayed into a fresh Broker:
//    whatever they say, the broker's counts stay consistent and it keeps serving.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/counters.hpp>

#include "mq/broker.hpp"
#include "mq/journal_record.hpp"
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

struct NullJournal final : Journal {
  std::uint64_t next = 1u << 20;
  std::uint64_t append(std::span<const std::uint8_t>) override { return next++; }
};
struct NullOutbox final : BrokerOutbox {
  bool send(const PublicKey&, std::span<const std::uint8_t>) override { return true; }
};

void check_counts(const Broker& b) {
  const BrokerStats s = b.stats();
  require(s.stored_messages == s.pending + s.ready + s.in_flight + s.dead_letters,
          "every stored message is in exactly one state");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input(data, data + size);
  if (auto r = decode_record(input)) {
    Bytes once;
    encode_record(*r, once);
    auto again = decode_record(once);
    require(again.ok(), "re-encoded record decodes");
    Bytes twice;
    encode_record(*again, twice);
    require(twice == once, "record encoding is a fixpoint");
  }

  ManualClock clock;
  NullJournal journal;
  NullOutbox outbox;
  Counters counters;
  BrokerConfig config;
  config.compact_min_span = 4;
  Broker broker(config, journal, outbox, counters, clock.now(), clock.wall_now());
  std::size_t pos = 0;
  std::uint64_t seq = 0;
  while (pos + 2 <= input.size()) {
    const std::size_t len = std::size_t{input[pos]} | (std::size_t{input[pos + 1]} << 8);
    pos += 2;
    const std::size_t n = std::min(len, input.size() - pos);
    // Sequence numbers only grow; gaps are what a deleted segment leaves.
    seq += 1 + (len >> 12);
    (void)broker.replay(seq, std::span<const std::uint8_t>(input).subspan(pos, n));
    pos += n;
    check_counts(broker);
  }
  journal.next = seq + 1;
  broker.on_committed(seq, clock.now());
  clock.advance(std::chrono::hours(2));
  broker.on_timeout(clock.now());
  check_counts(broker);
  return 0;
}
