// core_bench: what one core can do with peermq's protocol cores, no sockets involved.
//
// Prints one table. Each figure is the median of several runs, measured side by side
// with the ceiling it should be compared to:
//   - ChaCha20-Poly1305 on 1,168-byte packets, straight from libsodium: the crypto
//     ceiling of a single core;
//   - the same through peermq's CipherState (what every session packet costs);
//   - Noise IK handshakes, both sides on this core, and raw X25519 for reference;
//   - two Channels joined in memory, every packet sealed and opened: bulk goodput of
//     1 MiB messages, and 100-byte messages per second;
//   - the I/O-free Broker: publish -> deliver -> answer -> answer_received round trips per
//     second, and its memory per queued 100-byte message beyond the payload with 1,000,000
//     queued: the process's RSS delta, and the broker's own count (BrokerStats store and
//     index bytes); measured once, it does not vary.
// Timings never fail anything: this is a program, not a test.
#include <malloc.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/counters.hpp>
#include <peermq/identity.hpp>

#include "channel/channel.hpp"
#include "crypto/cipher_state.hpp"
#include "crypto/handshake_state.hpp"
#include "mq/broker.hpp"
#include "mq/mq_message.hpp"
#include "support/manual_clock.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using peermq::crypto::CipherState;
using peermq::crypto::HandshakeConfig;
using peermq::crypto::HandshakeState;
using peermq::crypto::NoiseRole;

constexpr std::size_t kPacket = 1168;
int g_runs = 5;

// Runs `once` (which returns units of work done) g_runs times; the median rate per second.
double median_rate(const std::function<double()>& once) {
  std::vector<double> rates;
  for (int i = 0; i < g_runs; ++i) {
    auto start = Clock::now();
    double units = once();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    rates.push_back(units / seconds);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

double raw_aead_bytes() {
  std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_KEYBYTES> key{};
  std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce{};
  randombytes_buf(key.data(), key.size());
  std::vector<unsigned char> in(kPacket, 7), out(kPacket + 16);
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    nonce[0] = static_cast<unsigned char>(i);
    unsigned long long len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, in.data(), in.size(), nullptr, 0,
                                              nullptr, nonce.data(), key.data());
  }
  return double(n) * kPacket;
}

double cipher_state_bytes() {
  std::array<std::uint8_t, 32> key{};
  randombytes_buf(key.data(), key.size());
  CipherState cs(key);
  std::vector<std::uint8_t> in(kPacket, 7), out;
  out.reserve(kPacket + 16);
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    out.clear();
    if (!cs.encrypt_with_ad({}, in, out)) std::abort();
  }
  return double(n) * kPacket;
}

double x25519_ops() {
  std::array<unsigned char, 32> s{}, p{}, q{};
  randombytes_buf(s.data(), s.size());
  crypto_scalarmult_base(p.data(), s.data());
  const int n = 2000;
  for (int i = 0; i < n; ++i)
    if (crypto_scalarmult(q.data(), s.data(), p.data()) != 0) std::abort();
  return n;
}

double ik_handshakes() {
  auto initiator_id = peermq::Identity::generate();
  auto responder_id = peermq::Identity::generate();
  const int n = 200;
  std::vector<std::uint8_t> m1, m2, payload;
  for (int i = 0; i < n; ++i) {
    HandshakeConfig ic{.pattern = "IK", .role = NoiseRole::initiator, .prologue = {},
                       .local_static = initiator_id.x25519_secret().span(),
                       .remote_static = responder_id.x25519_public(), .fixed_ephemeral = {}};
    HandshakeConfig rc{.pattern = "IK", .role = NoiseRole::responder, .prologue = {},
                       .local_static = responder_id.x25519_secret().span(), .remote_static = {},
                       .fixed_ephemeral = {}};
    auto init = HandshakeState::create(ic);
    auto resp = HandshakeState::create(rc);
    m1.clear(); m2.clear(); payload.clear();
    if (!init || !resp || !init->write_message({}, m1) || !resp->read_message(m1, payload) ||
        !resp->write_message({}, m2) || !init->read_message(m2, payload) || !init->split() ||
        !resp->split())
      std::abort();
  }
  return n;
}

// Two channels joined in memory; every packet is sealed by the sender's CipherState and
// opened by the receiver's, as a session would. Returns payload bytes delivered.
double channel_transfer(std::size_t message_size, std::size_t messages) {
  peermq::channel::Channel a, b;
  std::array<std::uint8_t, 32> key{};
  randombytes_buf(key.data(), key.size());
  CipherState seal_ab(key), open_ab(key), seal_ba(key), open_ba(key);
  std::vector<std::uint8_t> message(message_size, 1), packet(kPacket), sealed, opened;
  std::size_t sent = 0, received = 0;
  auto pump = [&](peermq::channel::Channel& from, CipherState& seal, CipherState& open,
                  peermq::channel::Channel& to, peermq::Instant now) {
    bool moved = false;
    while (std::size_t n = from.poll_packet(packet, now)) {
      sealed.clear(); opened.clear();
      if (!seal.encrypt_with_ad({}, std::span(packet.data(), n), sealed)) std::abort();
      if (!open.decrypt_with_ad({}, sealed, opened)) std::abort();
      (void)to.on_packet(opened, now);
      moved = true;
    }
    return moved;
  };
  for (int guard = 0; received < messages && guard < 100000000; ++guard) {
    while (sent < messages && a.send(message)) ++sent;
    auto now = peermq::Instant(Clock::now().time_since_epoch());
    a.on_timeout(now);
    b.on_timeout(now);
    bool moved = pump(a, seal_ab, open_ab, b, now);
    moved |= pump(b, seal_ba, open_ba, a, now);
    while (b.poll_message()) ++received;
    if (!moved && received < messages) {
      // Paced or waiting for a timer: let real time reach the next deadline.
      auto deadline = std::min(a.next_deadline(), b.next_deadline());
      while (peermq::Instant(Clock::now().time_since_epoch()) < deadline) {
      }
    }
  }
  return double(received) * double(message_size);
}

// ---- the I/O-free broker ----------------------------------------------------------------

// A journal that numbers records and keeps nothing (the log's cost is not the broker's).
struct NullJournal final : peermq::mq::Journal {
  std::uint64_t next = 1;
  std::uint64_t append(std::span<const std::uint8_t>) override { return next++; }
};

// Keeps the tags of deliveries and the ids of answers, drops everything else.
struct TagOutbox final : peermq::mq::BrokerOutbox {
  std::vector<std::uint64_t> tags, answers;
  bool send(const peermq::PublicKey&, std::span<const std::uint8_t> m) override {
    auto d = peermq::mq::decode(m);
    if (!d) std::abort();
    if (auto* x = std::get_if<peermq::mq::Deliver>(&*d)) tags.push_back(x->tag);
    if (auto* x = std::get_if<peermq::mq::AnswerToProducer>(&*d)) answers.push_back(x->message_id);
    return true;
  }
};

struct BrokerRig {
  peermq::ManualClock clock;
  NullJournal journal;
  TagOutbox out;
  peermq::Counters counters;
  std::unique_ptr<peermq::mq::Broker> broker;
  peermq::PublicKey producer{}, consumer{};
  std::vector<std::uint8_t> bytes;

  BrokerRig() {
    producer.fill(1);
    consumer.fill(2);
    broker = std::make_unique<peermq::mq::Broker>(peermq::mq::BrokerConfig{}, journal, out,
                                                  counters, clock.now(), clock.wall_now());
  }
  void send(const peermq::PublicKey& peer, const peermq::mq::Message& m) {
    bytes.clear();
    peermq::mq::encode(m, bytes);
    if (!broker->on_message(peer, bytes, clock.now())) std::abort();
  }
  void hello(const peermq::PublicKey& peer, peermq::mq::Role role, std::uint32_t prefetch) {
    broker->on_connect(peer, clock.now());
    peermq::mq::Hello h;
    h.role = role;
    h.name = "bench";
    if (role == peermq::mq::Role::consumer) h.commands = {"jobs"};
    h.prefetch = prefetch;
    send(peer, h);
  }
  void publish(std::uint64_t id, std::span<const std::uint8_t> payload) {
    peermq::mq::Publish p;
    p.id = id;
    p.command = "jobs";
    p.payload = payload;
    send(producer, p);
  }
  void commit() { broker->on_committed(journal.next - 1, clock.now()); }
};

// Round trips through the broker in batches of 256, as a pipelined producer would: publish,
// commit, deliver, answer, commit, answer to the producer, answer_received. Each batch is
// 1 ms of virtual time, so the consumer's credit grows (credit_tuner.hpp) as it would on a
// link, from 16 to past the 256 a batch brings, within the first few hundred batches.
double broker_round_trips() {
  BrokerRig rig;
  rig.hello(rig.producer, peermq::mq::Role::producer, 0);
  rig.hello(rig.consumer, peermq::mq::Role::consumer, 1024);
  const std::vector<std::uint8_t> payload(100, 7);
  const std::uint64_t n = 200000;
  std::uint64_t id = 1, done = 0;
  while (done < n) {
    rig.clock.advance(std::chrono::milliseconds(1));
    for (int i = 0; i < 256; ++i) rig.publish(id++, payload);
    rig.commit();
    // Answers make room for more deliveries, which add tags: answer those of this batch.
    std::vector<std::uint64_t> tags;
    tags.swap(rig.out.tags);
    for (std::uint64_t tag : tags) rig.send(rig.consumer, peermq::mq::Answer{tag, payload});
    rig.commit();
    for (std::uint64_t answered : rig.out.answers) {
      rig.send(rig.producer, peermq::mq::AnswerReceived{answered});
      ++done;
    }
    rig.out.answers.clear();
  }
  return double(done);
}

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096;
}

struct FillResult {
  double rss_per_message;      // bytes beyond the payload
  double counted_per_message;  // BrokerStats store + index bytes, beyond the payload
  double rate;                 // publishes per second, commits every 1,024
};

// 1,000,000 100-byte messages queued with no consumer, ids increasing as ProducerCore's.
FillResult broker_fill() {
  constexpr std::uint64_t n = 1000000;
  constexpr double kPayload = 100;
  malloc_trim(0);  // what earlier benchmarks freed must not be reused unseen
  const std::size_t rss0 = rss_bytes();
  const auto start = Clock::now();
  auto rig = std::make_unique<BrokerRig>();
  rig->hello(rig->producer, peermq::mq::Role::producer, 0);
  const std::vector<std::uint8_t> payload(100, 7);
  for (std::uint64_t id = 1; id <= n; ++id) {
    rig->publish((std::uint64_t{1} << 40) + id, payload);
    if (id % 1024 == 0) rig->commit();
  }
  rig->commit();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const peermq::mq::BrokerStats stats = rig->broker->stats();
  if (stats.stored_messages != n) std::abort();
  const double rss = double(rss_bytes() - rss0) / double(n) - kPayload;
  const double counted =
      double(stats.store_memory_bytes + stats.index_memory_bytes) / double(n) - kPayload;
  return {rss, counted, double(n) / seconds};
}

void row(const char* what, double value, const char* unit, const std::string& note) {
  std::printf("| %-46s | %12.1f | %-10s | %-34s |\n", what, value, unit, note.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_runs = std::max(1, std::atoi(argv[1]));
  if (sodium_init() < 0) return 1;
  const double mb = 1e6;

  double aead = median_rate(raw_aead_bytes) / mb;
  double cipher = median_rate(cipher_state_bytes) / mb;
  double x25519 = median_rate(x25519_ops);
  double handshakes = median_rate(ik_handshakes);
  double bulk = median_rate([] { return channel_transfer(1 << 20, 64); }) / mb;
  double small = median_rate([] { return channel_transfer(100, 200000) / 100; });
  double broker_rt = median_rate(broker_round_trips);
  const FillResult fill = broker_fill();

  char buf[64];
  std::printf("core_bench: median of %d runs, one core, no sockets\n\n", g_runs);
  std::printf("| %-46s | %12s | %-10s | %-34s |\n", "what", "value", "unit", "compared with");
  std::printf("|%s|%s|%s|%s|\n", std::string(48, '-').c_str(), std::string(14, '-').c_str(),
              std::string(12, '-').c_str(), std::string(36, '-').c_str());
  row("libsodium ChaCha20-Poly1305, 1168 B packets", aead, "MB/s", "the single-core crypto ceiling");
  std::snprintf(buf, sizeof buf, "%.0f%% of the ceiling", 100 * cipher / aead);
  row("peermq CipherState seal, 1168 B packets", cipher, "MB/s", buf);
  row("X25519 scalar multiplications", x25519, "ops/s", "libsodium");
  std::snprintf(buf, sizeof buf, "%.1f X25519 per handshake", x25519 / handshakes);
  row("Noise IK handshakes, both sides on one core", handshakes, "per second", buf);
  std::snprintf(buf, sizeof buf, "%.0f%% of the ceiling", 100 * bulk / aead);
  row("channel bulk goodput, 1 MiB messages, sealed", bulk, "MB/s", buf);
  row("channel 100 B messages, sealed", small, "msgs/s", "one way, in memory");
  row("broker round trips, 100 B, 256 per batch", broker_rt, "per second",
      "publish..answer_received, no I/O");
  std::snprintf(buf, sizeof buf, "beyond payload; %.0f publishes/s", fill.rate);
  row("broker RSS per queued 100 B message, 1M", fill.rss_per_message, "bytes", buf);
  row("broker's own count per queued 100 B message", fill.counted_per_message, "bytes",
      "beyond payload: store + indexes");
  return 0;
}
