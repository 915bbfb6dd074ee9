// transport_bench: one peermq channel between two processes on 127.0.0.1, measured next to
// what it should be compared with, in the same run.
//
//   - ChaCha20-Poly1305 sealing 1,168-byte packets on one core, straight from libsodium:
//     the crypto ceiling (each process seals or opens, so this is the bound of bulk);
//   - bulk goodput of 1 MiB messages through the host (overlay::Host on the UDP socket), parent -> child;
//   - 100-byte messages per second one way;
//   - ping-pong round trips of 100-byte messages: plain libuv UDP (no crypto, no
//     reliability) next to the host, p50 and p99;
//   - handshakes per second one responder core completes (SessionEndpoint in memory:
//     every initiation comes from a new initiator key, as after a broker restart).
//
// Each figure is the median of RUNS runs. The child process is forked, talks only to
// 127.0.0.1, and is killed and reaped on every exit path. Timings never fail anything.
//
//   transport_bench [RUNS] [BULK_MIB]
#include <sodium.h>
#include <uv.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>

#include "channel/channel_error.hpp"
#include "wire/endpoint.hpp"
#include "platform/loop.hpp"
#include "overlay/host.hpp"
#include "support/loopback_node.hpp"
#include "platform/timer.hpp"
#include "session/session_endpoint.hpp"
#include "support/run_until.hpp"

namespace {

using peermq::test::run_until;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using peermq::Counters;
using peermq::Identity;
using peermq::PublicKey;
using peermq::Endpoint;
using peermq::platform::Loop;
using peermq::test::LoopbackNode;
using peermq::platform::Timer;
using Bytes = std::vector<std::uint8_t>;

constexpr std::size_t kPacket = 1168;
constexpr std::size_t kSmall = 100;
constexpr std::uint8_t kEcho = 'e';  // first byte of a message the child sends back
constexpr int kRoundTrips = 20000;
const Endpoint kLoopback = Endpoint::v4({127, 0, 0, 1}, 0);

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double percentile(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- the crypto ceiling ----------------------------------------------------------------

double aead_bytes_per_second() {
  std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_KEYBYTES> key{};
  std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce{};
  randombytes_buf(key.data(), key.size());
  std::vector<unsigned char> in(kPacket, 7), out(kPacket + 16);
  const int n = 200000;
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    std::memcpy(nonce.data(), &i, sizeof i);
    unsigned long long len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, in.data(), in.size(), nullptr, 0,
                                              nullptr, nonce.data(), key.data());
  }
  return double(n) * kPacket / seconds_since(start);
}

// ---- handshakes ------------------------------------------------------------------------

double handshakes_per_second() {
  using peermq::session::SessionConfig;
  using peermq::session::SessionEndpoint;
  using peermq::Endpoint;
  SessionConfig config;
  config.under_load_handshakes_per_second = 1u << 30;  // measure the work, not the guard
  const auto t0 = peermq::Instant(Clock::now().time_since_epoch());
  const auto wall = std::chrono::system_clock::now();
  const Identity responder_id = Identity::generate();
  SessionEndpoint responder(responder_id, config, t0, wall);
  const int n = 1000;
  std::vector<Bytes> initiations;
  initiations.reserve(n);
  for (int i = 0; i < n; ++i) {  // not timed: n initiators, one initiation each
    const Identity id = Identity::generate();
    SessionEndpoint initiator(id, config, t0, wall);
    if (!initiator.connect(responder_id.public_key(), t0)) std::abort();
    auto d = initiator.poll_transmit();
    if (!d) std::abort();
    initiations.push_back(std::move(d->bytes));
  }
  const auto start = Clock::now();
  int answered = 0;
  for (int i = 0; i < n; ++i) {
    // One source address each, as many initiators would have (the rate limit is per IP).
    const auto from = Endpoint::v4({127, 1, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}, 4242);
    (void)responder.on_datagram(initiations[static_cast<std::size_t>(i)], from, t0);
    while (responder.poll_transmit()) ++answered;
  }
  const double s = seconds_since(start);
  if (answered != n) std::fprintf(stderr, "handshakes: %d of %d answered\n", answered, n);
  return answered / s;
}

// ---- the child: echoes over the host and over plain UDP -------------------------------

struct Card {
  PublicKey key{};
  std::uint16_t transport_port = 0;
  std::uint16_t udp_port = 0;
};

bool write_all(int fd, const void* p, std::size_t n) {
  return write(fd, p, n) == static_cast<ssize_t>(n);
}

bool read_all(int fd, void* p, std::size_t n) {
  auto* out = static_cast<std::uint8_t*>(p);
  std::size_t got = 0;
  const auto give_up = Clock::now() + 20s;
  while (got < n && Clock::now() < give_up) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 1000) <= 0) continue;
    const ssize_t r = read(fd, out + got, n - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return got == n;
}

struct RawUdp {
  uv_udp_t handle{};
  std::array<char, 2048> buffer{};
  std::function<void(const char*, std::size_t, const sockaddr*)> on_read;
};

void raw_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* u = static_cast<RawUdp*>(h->data);
  *buf = uv_buf_init(u->buffer.data(), static_cast<unsigned>(u->buffer.size()));
}

void raw_read(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* from, unsigned) {
  auto* u = static_cast<RawUdp*>(h->data);
  if (n > 0 && from != nullptr) u->on_read(buf->base, static_cast<std::size_t>(n), from);
}

std::uint16_t raw_bind(Loop& loop, RawUdp& u) {
  uv_udp_init(loop.raw(), &u.handle);
  u.handle.data = &u;
  sockaddr_in a{};
  uv_ip4_addr("127.0.0.1", 0, &a);
  if (uv_udp_bind(&u.handle, reinterpret_cast<const sockaddr*>(&a), 0) != 0) std::abort();
  sockaddr_storage s{};
  int len = sizeof s;
  uv_udp_getsockname(&u.handle, reinterpret_cast<sockaddr*>(&s), &len);
  uv_udp_recv_start(&u.handle, raw_alloc, raw_read);
  return ntohs(reinterpret_cast<sockaddr_in*>(&s)->sin_port);
}

void raw_send(RawUdp& u, const char* data, std::size_t n, const sockaddr* to) {
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(n));
  // Loopback never blocks a datagram this small; a refused one is a lost round trip.
  (void)uv_udp_try_send(&u.handle, &b, 1, to);
}

void raw_close(RawUdp& u, Loop& loop) {
  uv_close(reinterpret_cast<uv_handle_t*>(&u.handle), nullptr);
  loop.run_nowait();
}

[[noreturn]] void run_child(int in_fd, int out_fd) {
  Loop loop;
  Counters counters;
  const Identity me = Identity::generate();
  LoopbackNode transport(loop, me, counters);
  transport->on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
    if (!m.empty() && m[0] == kEcho) (void)transport->send(from, m);
  });
  if (!transport.start()) _exit(2);
  RawUdp raw;
  raw.on_read = [&](const char* d, std::size_t n, const sockaddr* from) {
    raw_send(raw, d, n, from);
  };
  Card card{me.public_key(), transport.local_endpoint().port(), raw_bind(loop, raw)};
  if (!write_all(out_fd, &card, sizeof card)) _exit(3);
  Card parent;
  if (!read_all(in_fd, &parent, sizeof parent)) _exit(4);
  transport->add_peer(parent.key, kLoopback.with_port(parent.transport_port));
  // Runs until the parent closes its end of the pipe (or dies).
  uv_poll_t watch{};
  bool done = false;
  watch.data = &done;
  uv_poll_init(loop.raw(), &watch, in_fd);
  uv_poll_start(&watch, UV_READABLE | UV_DISCONNECT,
                [](uv_poll_t* p, int, int) { *static_cast<bool*>(p->data) = true; });
  while (!done) loop.run_once();
  _exit(0);
}

struct Child {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
  Card card;
  ~Child() {
    if (to_child >= 0) close(to_child);
    if (from_child >= 0) close(from_child);
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// ---- the parent's measurements -------------------------------------------------------------

struct Parent {
  Loop& loop;
  LoopbackNode& transport;
  PublicKey peer;
  std::function<void(std::span<const std::uint8_t>)> on_echo;

  // Sends `count` messages of `size` bytes as fast as the channel takes them; returns
  // messages per second until the last one is acknowledged.
  double one_way(std::size_t size, std::size_t count) {
    Bytes m(size, 'b');
    std::size_t sent = 0;
    auto pump = [&] {
      while (sent < count && transport->send(peer, m)) ++sent;
    };
    transport->on_writable([&](const PublicKey&) { pump(); });
    const auto start = Clock::now();
    pump();
    const bool ok = run_until(
        loop, [&] { return sent == count && transport->channel(peer)->all_acked(); }, 120s);
    const double s = seconds_since(start);
    transport->on_writable(nullptr);
    if (std::getenv("TRANSPORT_BENCH_DEBUG") != nullptr) {
      const auto st = transport->channel(peer)->stats();
      std::fprintf(stderr,
                   "debug: %zu x %zu B in %.3f s: packets %llu lost %llu pto %llu srtt %lld us "
                   "cwnd %zu scalar_mults %llu\n",
                   count, size, s, static_cast<unsigned long long>(st.packets_sent),
                   static_cast<unsigned long long>(st.packets_lost),
                   static_cast<unsigned long long>(st.pto_count),
                   static_cast<long long>(st.smoothed_rtt.count() / 1000), st.congestion_window,
                   static_cast<unsigned long long>(transport->sessions().stats().scalar_mults));
    }
    if (!ok) std::fprintf(stderr, "one-way transfer timed out after %zu of %zu\n", sent, count);
    return static_cast<double>(sent) / s;
  }

  // Round trips of `kSmall`-byte messages, one at a time; RTTs in microseconds.
  std::vector<double> ping_pong(int n) {
    std::vector<double> rtts;
    rtts.reserve(static_cast<std::size_t>(n));
    Bytes m(kSmall, 'p');
    m[0] = kEcho;
    auto sent_at = Clock::now();
    on_echo = [&](std::span<const std::uint8_t>) {
      rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent_at).count());
      if (static_cast<int>(rtts.size()) < n) {
        sent_at = Clock::now();
        (void)transport->send(peer, m);
      }
    };
    (void)transport->send(peer, m);
    if (!run_until(loop, [&] { return static_cast<int>(rtts.size()) >= n; }, 60s))
      std::fprintf(stderr, "transport ping-pong timed out after %zu\n", rtts.size());
    on_echo = nullptr;
    return rtts;
  }
};

std::vector<double> raw_ping_pong(Loop& loop, std::uint16_t port, int n) {
  RawUdp raw;
  std::vector<double> rtts;
  rtts.reserve(static_cast<std::size_t>(n));
  sockaddr_in to{};
  uv_ip4_addr("127.0.0.1", port, &to);
  const auto* dest = reinterpret_cast<const sockaddr*>(&to);
  std::array<char, kSmall> m{};
  auto sent_at = Clock::now();
  raw.on_read = [&](const char*, std::size_t, const sockaddr*) {
    rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent_at).count());
    if (static_cast<int>(rtts.size()) < n) {
      sent_at = Clock::now();
      raw_send(raw, m.data(), m.size(), dest);
    }
  };
  raw_bind(loop, raw);
  raw_send(raw, m.data(), m.size(), dest);
  if (!run_until(loop, [&] { return static_cast<int>(rtts.size()) >= n; }, 60s))
    std::fprintf(stderr, "UDP ping-pong timed out after %zu\n", rtts.size());
  raw_close(raw, loop);
  return rtts;
}

void row(const char* what, const std::string& value, const std::string& compared) {
  std::printf("| %-44s | %18s | %-40s |\n", what, value.c_str(), compared.c_str());
}

std::string fmt(const char* f, double a) {
  char b[64];
  std::snprintf(b, sizeof b, f, a);
  return b;
}

std::string fmt2(const char* f, double a, double b) {
  char s[96];
  std::snprintf(s, sizeof s, f, a, b);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const std::size_t bulk_mib = argc > 2 ? static_cast<std::size_t>(std::atoi(argv[2])) : 256;
  signal(SIGPIPE, SIG_IGN);

  int down[2], up[2];
  if (pipe(down) != 0 || pipe(up) != 0) return 1;
  Child child;
  child.pid = fork();
  if (child.pid < 0) return 1;
  if (child.pid == 0) {
    close(down[1]);
    close(up[0]);
    run_child(down[0], up[1]);
  }
  close(down[0]);
  close(up[1]);
  child.to_child = down[1];
  child.from_child = up[0];
  if (!read_all(child.from_child, &child.card, sizeof child.card)) {
    std::fprintf(stderr, "the child process did not start\n");
    return 1;
  }

  Loop loop;
  Counters counters;
  const Identity me = Identity::generate();
  std::vector<double> ceiling, bulk, small, udp50, udp99, tp50, tp99, hs;
  {
    LoopbackNode transport(loop, me, counters);
    Parent parent{loop, transport, child.card.key, nullptr};
    transport->on_message([&](const PublicKey&, std::span<const std::uint8_t> m) {
      if (parent.on_echo) parent.on_echo(m);
    });
    if (!transport.start()) return 1;
    const Card mine{me.public_key(), transport.local_endpoint().port(), 0};
    if (!write_all(child.to_child, &mine, sizeof mine)) return 1;
    transport->add_peer(child.card.key, kLoopback.with_port(child.card.transport_port));
    parent.one_way(kSmall, 1000);  // handshake and warm-up

    for (int r = 0; r < runs; ++r) {
      ceiling.push_back(aead_bytes_per_second());
      bulk.push_back(parent.one_way(1 << 20, bulk_mib) * double(1 << 20));
      small.push_back(parent.one_way(kSmall, 200000));
      auto u = raw_ping_pong(loop, child.card.udp_port, kRoundTrips);
      udp50.push_back(percentile(u, 0.50));
      udp99.push_back(percentile(u, 0.99));
      auto t = parent.ping_pong(kRoundTrips);
      tp50.push_back(percentile(t, 0.50));
      tp99.push_back(percentile(t, 0.99));
      hs.push_back(handshakes_per_second());
    }
    transport.stop();
  }

  const double c = median(ceiling), b = median(bulk);
  const double u50 = median(udp50), u99 = median(udp99), t50 = median(tp50), t99 = median(tp99);
  std::printf("transport_bench: two processes on 127.0.0.1, median of %d runs\n\n", runs);
  row("what", "measured", "compared with");
  std::printf("|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(20, '-').c_str(),
              std::string(42, '-').c_str());
  row("ChaCha20-Poly1305 seal, 1,168 B, one core", fmt("%.0f MB/s", c / 1e6), "the ceiling");
  row("bulk goodput, 1 MiB messages", fmt("%.0f MB/s", b / 1e6),
      fmt("%.0f%% of the ceiling (goal: 50%%)", 100 * b / c));
  row("100-byte messages one way", fmt("%.0f msg/s", median(small)), "");
  row("plain libuv UDP ping-pong, 100 B", fmt2("%.0f / %.0f us", u50, u99), "p50 / p99");
  row("peermq ping-pong, 100 B", fmt2("%.0f / %.0f us", t50, t99),
      fmt2("%.2fx / %.2fx plain UDP (goal: 1.5x)", t50 / u50, t99 / u99));
  row("handshakes per second, responder core", fmt("%.0f", median(hs)), "goal: 5,000");
  std::printf("\nbulk: %zu MiB per run; ping-pong: %d round trips per run\n", bulk_mib, kRoundTrips);
  return 0;
}
