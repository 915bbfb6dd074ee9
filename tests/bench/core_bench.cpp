// core_bench: what one core can do with peermq's protocol cores, no sockets involved.
//
// Prints one table. Each figure is the median of several runs, measured side by side
// with the ceiling it should be compared to:
//   - ChaCha20-Poly1305 on 1,168-byte packets, straight from libsodium: the crypto
//     ceiling of a single core;
//   - the same through peermq's CipherState (what every session packet costs);
//   - Noise IK handshakes, both sides on this core, and raw X25519 for reference;
//   - two Channels joined in memory, every packet sealed and opened: bulk goodput of
//     1 MiB messages, and 100-byte messages per second.
// Timings never fail anything: this is a program, not a test.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <peermq/clock.hpp>
#include <peermq/identity.hpp>

#include "channel/channel.hpp"
#include "crypto/cipher_state.hpp"
#include "crypto/handshake_state.hpp"

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
  return 0;
}
