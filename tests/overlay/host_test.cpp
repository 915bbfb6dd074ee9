#include "overlay/host.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <ostream>  // doctest prints std::error_code through it
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "channel/channel_error.hpp"
#include "platform/timer.hpp"
#include "support/loopback_node.hpp"
#include "support/run_until.hpp"

using namespace std::chrono_literals;
using peermq::Counters;
using peermq::Identity;
using peermq::PublicKey;
using peermq::Endpoint;
using peermq::platform::Loop;
using peermq::platform::Timer;
using peermq::overlay::HostError;
using peermq::test::LoopbackNode;
using Bytes = std::vector<std::uint8_t>;

namespace {

using peermq::test::run_until;

const Endpoint kLoopback = Endpoint::v4({127, 0, 0, 1}, 0);

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One stream of messages: `small` seeded sizes from 0 to 2,000 bytes, then `bulk`
// messages of `bulk_size`. Message i's content follows from (seed, i) alone, so the
// receiver checks every byte, the order and the count without a copy of what was sent.
struct Stream {
  std::uint64_t seed = 0;
  std::uint64_t small = 0;
  std::uint64_t bulk = 0;
  std::size_t bulk_size = 0;

  std::uint64_t total() const { return small + bulk; }
  std::size_t size_of(std::uint64_t i) const {
    return i < small ? static_cast<std::size_t>(splitmix(seed ^ i) % 2001) : bulk_size;
  }
  void fill(std::uint64_t i, Bytes& out) const {
    out.resize(size_of(i));
    const auto base = static_cast<std::uint8_t>(splitmix(seed + i));
    for (std::size_t j = 0; j < out.size(); ++j)
      out[j] = static_cast<std::uint8_t>(base + j * 7 + (j >> 11));
  }
};

// Sends a Stream to one peer as fast as backpressure allows.
struct Sender {
  Sender(LoopbackNode& t, const PublicKey& peer, const Stream& s)
      : transport(t), to(peer), stream(s) {}
  LoopbackNode& transport;
  PublicKey to;
  Stream stream;
  std::uint64_t next = 0;
  bool failed = false;
  Bytes scratch;

  void pump() {
    while (next < stream.total() && !failed) {
      stream.fill(next, scratch);
      auto r = transport->send(to, scratch);
      if (r.error() == peermq::channel::ChannelError::would_block) return;
      if (!r) failed = true;
      ++next;
    }
  }
};

// Checks an arriving Stream message by message.
struct Receiver {
  explicit Receiver(const Stream& s) : stream(s) {}
  Stream stream;
  std::uint64_t next = 0;
  std::uint64_t bad = 0;
  std::uint64_t bytes = 0;
  Bytes expected;

  void on(std::span<const std::uint8_t> m) {
    if (next >= stream.total()) {
      ++bad;
      return;
    }
    stream.fill(next++, expected);
    bytes += m.size();
    if (!std::equal(m.begin(), m.end(), expected.begin(), expected.end())) ++bad;
  }
  bool done() const { return next == stream.total(); }
};

// Reads exactly `out.size()` bytes from `fd`, waiting at most 20 s in all.
bool read_exact(int fd, std::span<std::uint8_t> out) {
  std::size_t got = 0;
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (got < out.size()) {
    pollfd p{fd, POLLIN, 0};
    if (std::chrono::steady_clock::now() > give_up || poll(&p, 1, 1000) < 0) return false;
    if ((p.revents & (POLLIN | POLLHUP)) == 0) continue;
    const ssize_t n = read(fd, out.data() + got, out.size() - got);
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

// Who a process is, as the other learns it through a pipe: public key and UDP port.
struct Card {
  PublicKey key{};
  std::uint16_t port = 0;
};

bool write_card(int fd, const Card& c) {
  std::uint8_t buf[34];
  std::memcpy(buf, c.key.data(), 32);
  buf[32] = static_cast<std::uint8_t>(c.port >> 8);
  buf[33] = static_cast<std::uint8_t>(c.port);
  return write(fd, buf, sizeof buf) == static_cast<ssize_t>(sizeof buf);
}

std::optional<Card> read_card(int fd) {
  std::uint8_t buf[34];
  if (!read_exact(fd, buf)) return std::nullopt;
  Card c;
  std::memcpy(c.key.data(), buf, 32);
  c.port = static_cast<std::uint16_t>((buf[32] << 8) | buf[33]);
  return c;
}

// Kills and reaps the child unless the test reaped it: no test leaves a process behind.
struct ChildGuard {
  pid_t pid = -1;
  ~ChildGuard() {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  // The exit status once the child has ended (128 + signal if killed), without waiting.
  std::optional<int> try_wait() {
    int status = 0;
    if (pid <= 0 || waitpid(pid, &status, WNOHANG) != pid) return std::nullopt;
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kBulkMessages = 64;  // 64 MiB: AddressSanitizer is ~10x slower
#else
constexpr std::uint64_t kBulkMessages = 1024;  // 1 GiB
#endif
constexpr std::uint64_t kSmallMessages = 100'000;
constexpr std::size_t kBulkSize = 1 << 20;

Stream parent_stream() {
  return {1, kSmallMessages, kBulkMessages, kBulkSize};
}
// The child answers with small messages, then one more as its verdict.
Stream child_stream() {
  return {2, kSmallMessages + 1, 0, 0};
}

// The child process: receives the parent's stream, sends its own, and reports. Its exit
// status says what went wrong (0: nothing).
int run_child(int read_fd, int write_fd) {
  Loop loop;
  Counters counters;
  const Identity me = Identity::generate();
  LoopbackNode transport(loop, me, counters);
  Receiver receiver{parent_stream()};
  transport->on_message([&](const PublicKey&, std::span<const std::uint8_t> m) { receiver.on(m); });
  if (!transport.start()) return 2;
  if (!write_card(write_fd, {me.public_key(), transport.local_endpoint().port()})) return 3;
  const auto parent = read_card(read_fd);
  if (!parent) return 4;
  transport->add_peer(parent->key, kLoopback.with_port(parent->port));
  Stream mine = child_stream();
  mine.small -= 1;  // the verdict goes last, once everything has arrived
  Sender sender{transport, parent->key, mine};
  transport->on_writable([&](const PublicKey&) { sender.pump(); });
  sender.pump();
  bool reported = false;
  const bool finished = run_until(
      loop,
      [&] {
        if (!reported && receiver.done() && sender.next == mine.total()) {
          Bytes verdict;
          child_stream().fill(mine.total(), verdict);
          if (receiver.bad != 0) verdict.push_back(0);  // one byte too long: the parent fails
          if (!transport->send(parent->key, verdict)) return false;  // full: next time round
          reported = true;
        }
        return reported && transport->channel(parent->key)->all_acked();
      },
      240s);
  transport.stop();
  if (!finished) return 5;
  return receiver.bad == 0 && !sender.failed ? 0 : 6;
}

}  // namespace

TEST_CASE("send names its mistakes: unbound transport, unknown peer") {
  Loop loop;
  Counters counters;
  const Identity me = Identity::generate();
  const Identity other = Identity::generate();
  LoopbackNode transport(loop, me, counters);
  const Bytes m{1, 2, 3};
  CHECK(transport->send(other.public_key(), m).error() == HostError::not_open);
  REQUIRE(transport.start());
  CHECK(transport.local_endpoint().port() != 0);
  CHECK(transport->send(other.public_key(), m).error() == HostError::unknown_peer);
  transport->add_peer(other.public_key(), kLoopback.with_port(9));
  CHECK(transport->send(other.public_key(), m));
  transport.stop();
  CHECK(transport->send(other.public_key(), m).error() == HostError::not_open);
}

TEST_CASE("two transports on one loop handshake and exchange 1,000 messages each way in order") {
  Loop loop;
  Counters ca, cb;
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  {
    LoopbackNode a(loop, ia, ca);
    LoopbackNode b(loop, ib, cb);
    Receiver at_a{Stream{20, 1000, 0, 0}};
    Receiver at_b{Stream{10, 1000, 0, 0}};
    a->on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      if (from == ib.public_key()) at_a.on(m);
    });
    b->on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      if (from == ia.public_key()) at_b.on(m);
    });
    REQUIRE(a.start());
    REQUIRE(b.start());
    // Only a knows where b is: b learns a's endpoint from the handshake.
    a->add_peer(ib.public_key(), b.local_endpoint());
    Sender from_a{a, ib.public_key(), at_b.stream};
    from_a.pump();
    CHECK(b->peer_count() == 0);
    REQUIRE(run_until(
        loop, [&] { return b->peer_count() == 1; }, 10s));
    Sender from_b{b, ia.public_key(), at_a.stream};
    a->on_writable([&](const PublicKey&) { from_a.pump(); });
    b->on_writable([&](const PublicKey&) { from_b.pump(); });
    from_b.pump();
    REQUIRE(run_until(
        loop, [&] { return at_a.done() && at_b.done(); }, 30s));
    CHECK(at_a.bad == 0);
    CHECK(at_b.bad == 0);
    CHECK_FALSE(from_a.failed);
    CHECK_FALSE(from_b.failed);
    CHECK(ca.counter_value("transport_sessions_established_total") >= 1);
    CHECK(cb.counter_value("transport_messages_received_total") == 1000);
  }
  CHECK(loop.open_handles() == 0);
}

TEST_CASE("a peer that restarts with the same key meets a fresh channel on both sides") {
  Loop loop;
  Counters ca, cb;
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  peermq::overlay::HostOptions fast;
  // A peer that stops answering is re-handshaken after keepalive + rekey_timeout.
  fast.session.keepalive_interval = 200ms;
  fast.session.rekey_timeout = 200ms;
  fast.session.retry_initial = 100ms;
  LoopbackNode a(loop, ia, ca, fast);
  std::vector<Bytes> at_a;
  int resets_at_a = 0;
  a->on_message([&](const PublicKey&, std::span<const std::uint8_t> m) {
    at_a.emplace_back(m.begin(), m.end());
  });
  a->on_peer_reset([&](const PublicKey& p) {
    CHECK(p == ib.public_key());
    ++resets_at_a;
  });
  REQUIRE(a.start());
  const Bytes hello{1, 2, 3};
  {
    LoopbackNode b(loop, ib, cb, fast);
    int got = 0;
    b->on_message([&](const PublicKey&, std::span<const std::uint8_t>) { ++got; });
    REQUIRE(b.start());
    a->add_peer(ib.public_key(), b.local_endpoint());
    for (int i = 0; i < 10; ++i) REQUIRE(a->send(ib.public_key(), hello));
    REQUIRE(run_until(
        loop, [&] { return got == 10 && a->channel(ib.public_key())->all_acked(); }, 10s));
    b.stop();
  }
  CHECK(resets_at_a == 0);
  Counters cb2;
  LoopbackNode b2(loop, ib, cb2, fast);
  std::vector<Bytes> at_b2;
  b2->on_message([&](const PublicKey&, std::span<const std::uint8_t> m) {
    at_b2.emplace_back(m.begin(), m.end());
  });
  REQUIRE(b2.start());
  CHECK(b2->incarnation() > a->incarnation());
  a->add_peer(ib.public_key(), b2.local_endpoint());

  SUBCASE("the restarted peer speaks first") {
    b2->add_peer(ia.public_key(), a.local_endpoint());
    for (std::uint8_t i = 0; i < 5; ++i) REQUIRE(b2->send(ia.public_key(), Bytes{i}));
    REQUIRE(run_until(
        loop, [&] { return at_a.size() == 5; }, 10s));
    CHECK(resets_at_a == 1);
    for (std::uint8_t i = 0; i < 5; ++i) CHECK(at_a[i] == Bytes{i});
  }
  SUBCASE("the peer that stayed speaks first: it learns of the restart and starts afresh") {
    // Queued for the old run: the reset drops it, and a is told so it can send again.
    REQUIRE(a->send(ib.public_key(), Bytes{99}));
    REQUIRE(run_until(
        loop, [&] { return resets_at_a == 1; }, 10s));
  }
  for (std::uint8_t i = 0; i < 5; ++i) REQUIRE(a->send(ib.public_key(), Bytes{i}));
  REQUIRE(run_until(
      loop, [&] { return at_b2.size() == 5; }, 10s));
  for (std::uint8_t i = 0; i < 5; ++i) CHECK(at_b2[i] == Bytes{i});
  CHECK(cb2.counter_value("transport_peer_resets_total") == 0);
  CHECK(ca.counter_value("transport_peer_resets_total") == 1);
  b2.stop();
  a.stop();
}

TEST_CASE(
    "two processes on 127.0.0.1 exchange 100,000 messages and bulk data exactly once in order") {
  int to_child[2], to_parent[2];
  REQUIRE(pipe(to_child) == 0);
  REQUIRE(pipe(to_parent) == 0);
  ChildGuard child{fork()};
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    close(to_child[1]);
    close(to_parent[0]);
    _exit(run_child(to_child[0], to_parent[1]));
  }
  close(to_child[0]);
  close(to_parent[1]);
  struct Fds {
    int a, b;
    ~Fds() {
      close(a);
      close(b);
    }
  } fds{to_child[1], to_parent[0]};

  Loop loop;
  Counters counters;
  const Identity me = Identity::generate();
  double seconds = 0;
  std::optional<int> exit_status;
  Receiver receiver{child_stream()};
  {
    LoopbackNode transport(loop, me, counters);
    transport->on_message(
        [&](const PublicKey&, std::span<const std::uint8_t> m) { receiver.on(m); });
    REQUIRE(transport.start());
    const auto peer = read_card(fds.b);
    REQUIRE(peer);
    REQUIRE(write_card(fds.a, {me.public_key(), transport.local_endpoint().port()}));
    transport->add_peer(peer->key, kLoopback.with_port(peer->port));
    Sender sender{transport, peer->key, parent_stream()};
    transport->on_writable([&](const PublicKey&) { sender.pump(); });
    const auto start = std::chrono::steady_clock::now();
    sender.pump();
    const bool done = run_until(
        loop, [&] { return receiver.done() || receiver.bad != 0; }, 240s);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Keep acknowledging until the child, sure its verdict arrived, has exited.
    run_until(
        loop,
        [&] {
          if (!exit_status) exit_status = child.try_wait();
          return exit_status.has_value();
        },
        20s);
    transport.stop();
    REQUIRE(done);
    CHECK_FALSE(sender.failed);
  }
  CHECK(receiver.bad == 0);  // the verdict is the child's last message: it checked ours
  REQUIRE(exit_status.has_value());
  CHECK(*exit_status == 0);
  const double mb = static_cast<double>(kBulkMessages * kBulkSize + kSmallMessages * 1000) / 1e6;
#if defined(__SANITIZE_ADDRESS__)
  MESSAGE("AddressSanitizer build: bulk scaled down to " << kBulkMessages << " MiB");
#endif
  MESSAGE("sent " << kSmallMessages << " small messages and " << kBulkMessages << " MiB bulk in "
                  << seconds << " s: " << mb / seconds << " MB/s one way");
}

// ---- routes: relayed and direct --------------------------------------------------------------

namespace {

namespace overlay = peermq::overlay;
using peermq::overlay::Arrival;

// A transport that forwards like a relay: forward(to, packet) from one peer becomes
// forwarded(from, packet) to `to`, wherever its packets come from. `lie_about` makes it
// claim the datagrams came from someone else.
struct MiniRelay {
  MiniRelay(Loop& loop, Counters& c) : transport(loop, id, c) {
    transport->on_control(
        [this](const PublicKey& from, const overlay::OverlayMessage& m, const Arrival&) {
          if (const auto* f = std::get_if<overlay::Forward>(&m)) {
            const PublicKey claimed = lie_about ? *lie_about : from;
            const Bytes out =
                overlay::encode(overlay::OverlayMessage{overlay::Forwarded{claimed, f->packet}});
            if (transport->send_overlay_to(f->to, transport->endpoint_of(f->to), out)) ++forwarded;
          }
        });
  }
  Identity id = Identity::generate();
  LoopbackNode transport;
  std::optional<PublicKey> lie_about;
  std::uint64_t forwarded = 0;
};

// `t` says hello to the relay so that the relay knows where it is (as a register would).
void introduce(Loop& loop, LoopbackNode& t, MiniRelay& r) {
  t->add_peer(r.id.public_key(), r.transport.local_endpoint());
  t->trust_relay(r.id.public_key());
  const Bytes ping = overlay::encode(overlay::OverlayMessage{overlay::Ping{1}});
  REQUIRE(run_until(
      loop,
      [&] {
        (void)t->send_overlay(r.id.public_key(), ping);
        return r.transport->endpoint_of(t->sessions().public_key()) == t.local_endpoint();
      },
      5s));
}

}  // namespace

TEST_CASE(
    "messages through a relay arrive in order, and moving to the direct path loses and "
    "repeats none") {
  Loop loop;
  Counters ca, cb, cr;
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  {
    MiniRelay relay(loop, cr);
    LoopbackNode a(loop, ia, ca);
    LoopbackNode b(loop, ib, cb);
    REQUIRE(relay.transport.start());
    REQUIRE(a.start());
    REQUIRE(b.start());
    introduce(loop, a, relay);
    introduce(loop, b, relay);

    Receiver at_b{Stream{30, 3000, 0, 0}};
    Receiver at_a{Stream{31, 300, 0, 0}};
    std::vector<Arrival> arrivals_at_b;
    b->on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      if (from == ia.public_key()) at_b.on(m);
    });
    a->on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
      if (from == ib.public_key()) at_a.on(m);
    });
    b->on_arrival([&](const PublicKey& from, const Arrival& how) {
      if (from == ia.public_key()) arrivals_at_b.push_back(how);
    });

    // a knows b only through the relay; b learns of a from the relayed handshake.
    a->set_route(ib.public_key(), overlay::Route::relayed_via(relay.id.public_key()));
    CHECK(a->endpoint_of(ib.public_key()).family() == Endpoint::Family::none);
    Sender from_a{a, ib.public_key(), at_b.stream};
    a->on_writable([&](const PublicKey&) { from_a.pump(); });
    from_a.pump();
    REQUIRE(run_until(
        loop, [&] { return at_b.next >= 1000; }, 20s));
    CHECK(relay.forwarded > 0);
    REQUIRE_FALSE(arrivals_at_b.empty());
    CHECK(arrivals_at_b.front().relayed);
    CHECK(arrivals_at_b.front().relay == relay.id.public_key());
    CHECK(arrivals_at_b.front().from == relay.transport.local_endpoint());
    // b's route follows where a's packets come from: through the relay.
    CHECK(b->route_of(ia.public_key()) == overlay::Route::relayed_via(relay.id.public_key()));
    Sender from_b{b, ia.public_key(), at_a.stream};
    b->on_writable([&](const PublicKey&) { from_b.pump(); });
    from_b.pump();

    // Mid-stream, a moves to the direct path; b follows a's packets there.
    const std::uint64_t relayed = relay.forwarded;
    a->set_route(ib.public_key(),
                overlay::Route::direct_to(b.local_endpoint()));
    REQUIRE(run_until(
        loop, [&] { return at_b.done() && at_a.done(); }, 30s));
    CHECK(at_b.bad == 0);
    CHECK(at_a.bad == 0);
    CHECK(cb.counter_value("transport_messages_received_total") == 3000);
    CHECK(b->route_of(ia.public_key()).kind == overlay::Route::Kind::direct);
    CHECK_FALSE(arrivals_at_b.back().relayed);
    CHECK(arrivals_at_b.back().from == a.local_endpoint());
    CHECK(ca.counter_value("transport_relayed_sent_total") > 0);
    CHECK(cb.counter_value("transport_relayed_received_total") > 0);
    // After the move, hardly anything but what was in flight went through the relay.
    CHECK(relay.forwarded - relayed < 1500);
    CHECK(ca.counter_value("transport_sessions_established_total") == 2);  // relay, b
  }
  CHECK(loop.open_handles() == 0);
}

TEST_CASE("a relay that says a datagram came from someone else gets nothing through") {
  Loop loop;
  Counters ca, cb, cr;
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  const Identity ic = Identity::generate();
  MiniRelay relay(loop, cr);
  relay.lie_about = ic.public_key();
  LoopbackNode a(loop, ia, ca);
  LoopbackNode b(loop, ib, cb);
  REQUIRE(relay.transport.start());
  REQUIRE(a.start());
  REQUIRE(b.start());
  introduce(loop, a, relay);
  introduce(loop, b, relay);
  int delivered = 0;
  b->on_message([&](const PublicKey&, std::span<const std::uint8_t>) { ++delivered; });
  a->set_route(ib.public_key(), overlay::Route::relayed_via(relay.id.public_key()));
  REQUIRE(a->send(ib.public_key(), Bytes{1, 2, 3}));
  (void)run_until(
      loop, [&] { return delivered > 0; }, 1500ms);
  CHECK(delivered == 0);
  CHECK(relay.forwarded > 0);
  // b answered a's handshake toward c, who the relay claimed it was: a has no session.
  CHECK(a->sessions().session(ib.public_key())->keypair_count() == 0);
}

TEST_CASE("overlay messages arrive with how they came, and probes go straight to an endpoint") {
  Loop loop;
  Counters ca, cb;
  const Identity ia = Identity::generate();
  const Identity ib = Identity::generate();
  LoopbackNode a(loop, ia, ca);
  LoopbackNode b(loop, ib, cb);
  REQUIRE(a.start());
  REQUIRE(b.start());
  std::vector<std::pair<overlay::OverlayMessage, Arrival>> at_b;
  b->on_control([&](const PublicKey& from, const overlay::OverlayMessage& m, const Arrival& how) {
    if (from == ia.public_key()) at_b.emplace_back(m, how);
  });
  const Bytes hello = overlay::encode(overlay::OverlayMessage{overlay::Pong{12}});
  CHECK(a->send_overlay(ib.public_key(), hello).error() == HostError::unknown_peer);
  // No route: the handshake goes to the endpoint being tried; the message waits for keys.
  CHECK(a->send_overlay_to(ib.public_key(), b.local_endpoint(), hello));
  REQUIRE(run_until(
      loop, [&] { return !at_b.empty(); }, 5s));
  CHECK(overlay::encode(at_b[0].first) == hello);
  CHECK_FALSE(at_b[0].second.relayed);
  CHECK(at_b[0].second.from == a.local_endpoint());
  // With a route and keys, send_overlay_to goes where it is told, not along the route.
  a->set_route(ib.public_key(), overlay::Route::direct_to(
                                   kLoopback.with_port(9)));
  CHECK(a->send_overlay_to(ib.public_key(), b.local_endpoint(), hello));
  REQUIRE(run_until(
      loop, [&] { return at_b.size() == 2; }, 5s));
  CHECK(ca.counter_value("transport_overlay_sent_total") == 2);
  CHECK(cb.counter_value("transport_overlay_received_total") == 2);
}

TEST_CASE("only a relay answers key requests, with its own key") {
  Loop loop;
  Counters ca, cr, cq;
  const Identity relay_id = Identity::generate();
  peermq::overlay::HostOptions relay_options;
  relay_options.relay = true;
  LoopbackNode relay(loop, relay_id, cr, relay_options);
  const Identity quiet_id = Identity::generate();
  LoopbackNode quiet(loop, quiet_id, cq);
  REQUIRE(relay.start());
  REQUIRE(quiet.start());
  // The asker is given both as HOST:PORT only: it asks each for its key.
  peermq::overlay::HostOptions asker_options;
  asker_options.router.relays = {{std::nullopt, quiet.local_endpoint(), "quiet"},
                                 {std::nullopt, relay.local_endpoint(), "relay"}};
  const Identity asker_id = Identity::generate();
  LoopbackNode asker(loop, asker_id, ca, asker_options);
  REQUIRE(asker.start());
  REQUIRE(run_until(
      loop,
      [&] {
        return asker->router().relays_known() == 1 &&
               cq.counter_value("udp_rx_datagrams_total") >= 1;
      },
      5s));
  CHECK(asker->router().relay_endpoint(relay_id.public_key()) == relay.local_endpoint());
  CHECK(cr.counter_value("transport_relay_keys_answered_total") >= 1);
  CHECK(cq.counter_value("transport_relay_keys_answered_total") == 0);
  CHECK(asker->router().relays_known() == 1);  // the quiet one's request got no answer
}

namespace {

// Two transports on one loop with a session and channel between them, both ways.
struct Pair {
  Loop& loop;
  Counters ca, cb;
  Identity ia = Identity::generate();
  Identity ib = Identity::generate();
  LoopbackNode a{loop, ia, ca};
  LoopbackNode b{loop, ib, cb};

  explicit Pair(Loop& l) : loop(l) {}
  void connect() {
    int at_b = 0;
    b->on_message([&](const PublicKey&, std::span<const std::uint8_t>) { ++at_b; });
    REQUIRE(a.start());
    REQUIRE(b.start());
    a->add_peer(ib.public_key(), b.local_endpoint());
    REQUIRE(a->send(ib.public_key(), Bytes{1}));
    REQUIRE(run_until(
        loop, [&] { return at_b == 1 && a->channel(ib.public_key())->all_acked(); }, 10s));
    b->on_message(nullptr);
  }
  std::uint64_t b_packets() { return cb.counter_value("transport_packets_sent_total"); }
};

}  // namespace

TEST_CASE("the answers to a read's messages leave together, not a packet per datagram") {
  Loop loop;
  Pair p(loop);
  p.connect();
  constexpr std::uint8_t kRequests = 40;
  std::vector<std::uint8_t> answers;
  // b answers every request at once with 2 bytes: alone, each answer would be a packet.
  p.b->on_message([&](const PublicKey& from, std::span<const std::uint8_t> m) {
    REQUIRE(p.b->send(from, Bytes{m[0], 0xaa}));
  });
  p.a->on_message([&](const PublicKey&, std::span<const std::uint8_t> m) {
    if (m.size() == 2 && m[1] == 0xaa) answers.push_back(m[0]);
  });
  const std::uint64_t before = p.b_packets();
  Bytes request(700);  // one request per packet
  for (std::uint8_t i = 0; i < kRequests; ++i) {
    request[0] = i;
    REQUIRE(p.a->send(p.ib.public_key(), request));
  }
  REQUIRE(run_until(
      loop, [&] { return answers.size() == kRequests; }, 10s));
  for (std::uint8_t i = 0; i < kRequests; ++i) CHECK(answers[i] == i);
  const std::uint64_t packets = p.b_packets() - before;
  MESSAGE(packets << " packets carried " << int{kRequests} << " answers");
  CHECK(packets < kRequests / 2);
}

TEST_CASE("flush hands what send queued to the kernel at once, and does nothing in a callback") {
  Loop loop;
  Pair p(loop);
  p.connect();
  auto sent = [&] { return p.ca.counter_value("udp_tx_datagrams_total"); };
  int at_b = 0;
  int flushed_in_callback = 0;
  p.b->on_message([&](const PublicKey& from, std::span<const std::uint8_t>) {
    ++at_b;
    REQUIRE(p.b->send(from, Bytes{7}));
    const auto before = p.cb.counter_value("udp_tx_datagrams_total");
    p.b->flush();  // the read's own service sends it, with the rest of the batch
    if (p.cb.counter_value("udp_tx_datagrams_total") != before) ++flushed_in_callback;
  });
  int at_a = 0;
  p.a->on_message([&](const PublicKey&, std::span<const std::uint8_t>) { ++at_a; });
  const std::uint64_t before = sent();
  REQUIRE(p.a->send(p.ib.public_key(), Bytes{1, 2, 3}));
  CHECK(sent() == before);  // send() only queues
  p.a->flush();
  CHECK(sent() == before + 1);  // no loop iteration needed
  REQUIRE(run_until(
      loop, [&] { return at_b == 1 && at_a == 1; }, 10s));
  CHECK(flushed_in_callback == 0);
  p.a.stop();
  p.a->flush();  // closed: nothing to do, no harm
}
