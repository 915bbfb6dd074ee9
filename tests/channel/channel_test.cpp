#include "channel/channel.hpp"
#include "support/manual_clock.hpp"

#include <doctest/doctest.h>

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <set>
#include <vector>

#include "channel/varint.hpp"
#include "support/channel_endpoint.hpp"
#include "support/message_pattern.hpp"

using namespace peermq;
using namespace peermq::channel;
namespace limits = peermq::limits;
using namespace peermq::test;
using namespace std::chrono_literals;

// Heap bytes in use by this test program (operator new and delete, which the library's
// containers use), so a test can see what a channel keeps while idle. Not inlined: GCC 12
// at -O3 would see the free() inside a vector's destructor and take it for a mismatch.
namespace {
std::atomic<std::int64_t> g_heap_bytes{0};
}  // namespace

__attribute__((noinline)) void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  g_heap_bytes += static_cast<std::int64_t>(malloc_usable_size(p));
  return p;
}
__attribute__((noinline)) void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  g_heap_bytes -= static_cast<std::int64_t>(malloc_usable_size(p));
  std::free(p);
}
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept {
  operator delete(p);
}

namespace {

using Bytes = std::vector<std::uint8_t>;

// Hands packets between two channels directly until neither has anything to send and
// both have read everything; virtual time moves 1 ms per round.
void settle(Channel& a, Channel& b, Instant& now, std::size_t& received_a,
            std::size_t& received_b) {
  Bytes buf(limits::kMaxPacketSize);
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    while (std::size_t n = a.poll_packet(buf, now)) {
      moved = true;
      REQUIRE(b.on_packet(std::span(buf).first(n), now));
    }
    while (std::size_t n = b.poll_packet(buf, now)) {
      moved = true;
      REQUIRE(a.on_packet(std::span(buf).first(n), now));
    }
    while (a.poll_message()) ++received_a;
    while (b.poll_message()) ++received_b;
    while (a.poll_datagram()) ++received_a;
    while (b.poll_datagram()) ++received_b;
    if (!moved && a.all_acked() && b.all_acked() && a.next_deadline() == Instant::max() &&
        b.next_deadline() == Instant::max()) {
      return;
    }
    now += 1ms;
    if (a.next_deadline() <= now) a.on_timeout(now);
    if (b.next_deadline() <= now) b.on_timeout(now);
  }
  FAIL("the channels did not settle");
}

bool drain_into(Channel& c, std::vector<Bytes>& got) {
  while (auto m = c.poll_message()) got.push_back(std::move(*m));
  return true;
}

}  // namespace

TEST_CASE("an idle channel keeps no heap memory beyond its ACK ranges once all is acknowledged") {
  Instant now = ManualClock::kDefaultStart;
  // Traffic both ways: small and fragmented messages, a burst, datagrams.
  auto exchange = [&](Channel& a, Channel& b) {
    std::size_t got_a = 0, got_b = 0;
    for (int i = 0; i < 200; ++i) REQUIRE(a.send(Bytes(100, 2)));
    REQUIRE(a.send(Bytes(50000, 3)));
    REQUIRE(b.send(Bytes(10, 4)));
    REQUIRE(a.send_datagram(Bytes(20, 5)));
    REQUIRE(b.send_datagram(Bytes(20, 6)));
    settle(a, b, now, got_a, got_b);
    CHECK(got_b == 202);
    CHECK(got_a == 2);
  };
  {  // The per-thread scratch grows on first use: not what this test measures.
    Channel warm_a, warm_b;
    exchange(warm_a, warm_b);
  }
  const std::int64_t before = g_heap_bytes.load();
  Channel a, b;
  CHECK(g_heap_bytes.load() == before);  // a new channel allocates nothing
  exchange(a, b);
  const std::int64_t kept = g_heap_bytes.load() - before;
  MESSAGE("two idle channels keep " << kept
                                    << " heap bytes; sizeof(Channel) = " << sizeof(Channel));
  // Each keeps one ACK range (16 bytes, in a block malloc rounds up to 24) and nothing else.
  CHECK(kept <= 2 * 32);
  CHECK(sizeof(Channel) <= 768);
}

TEST_CASE("a clean link delivers messages in order at a high rate") {
  ChannelPair pair(1);
  Link l;
  l.delay = 1ms;
  pair.set_links(l);
  constexpr std::size_t count = 20000, size = 1000;
  std::size_t sent = 0, received = 0, bad = 0;
  const Bytes payload = make_pattern(size, 1, 0);
  const auto wall = std::chrono::steady_clock::now();
  auto app = [&] {
    while (sent < count && pair.a.channel.send(payload)) ++sent;
    while (auto m = pair.b.channel.poll_message()) {
      bad += *m != payload;
      ++received;
    }
    return received == count;
  };
  REQUIRE(pair.sim.run_until(app, 1h) == NetworkSimulator::Outcome::done);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  CHECK(bad == 0);
  const auto st = pair.a.channel.stats();
  CHECK(st.packets_lost == 0);
  CHECK(st.bytes_retransmitted == 0);
  MESSAGE("clean link, core + simulator: " << count / s << " messages/s, "
          << double(count * size) / s / 1e6 << " MB/s (" << s << " s wall, "
          << st.packets_sent << " packets, cwnd " << st.congestion_window << ")");
}

TEST_CASE("the channel core alone moves messages fast when packets are handed over directly") {
  Channel a, b;
  Instant now = ManualClock::kDefaultStart;
  Bytes buf(limits::kMaxPacketSize);
  constexpr std::size_t count = 50000, size = 1000;
  const Bytes payload = make_pattern(size, 2, 0);
  std::size_t sent = 0, received = 0, refused = 0;
  const auto wall = std::chrono::steady_clock::now();
  for (int round = 0; received < count && round < 1'000'000; ++round) {
    while (sent < count && a.send(payload)) ++sent;
    while (std::size_t n = a.poll_packet(buf, now)) {
      refused += !b.on_packet(std::span(buf).first(n), now);
    }
    while (b.poll_message()) ++received;
    while (std::size_t n = b.poll_packet(buf, now)) {
      refused += !a.on_packet(std::span(buf).first(n), now);
    }
    now += 100us;  // lets the pacer refill; no other delay
    if (a.next_deadline() <= now) a.on_timeout(now);
    if (b.next_deadline() <= now) b.on_timeout(now);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  CHECK(received == count);
  CHECK(refused == 0);
  MESSAGE("channel core alone: " << count / s << " messages/s, "
          << double(count * size) / s / 1e6 << " MB/s of payload (" << s << " s wall)");
}

TEST_CASE("a reader that stops reading stops the sender within the window, and resuming drains it") {
  ChannelPair pair(3);
  pair.set_links(Link{});
  constexpr std::size_t count = 2000, size = 10000;  // 20 MB, far beyond the 1 MiB window
  std::size_t sent = 0;
  bool blocked = false;
  auto fill = [&] {
    while (sent < count) {
      const auto r = pair.a.channel.send(make_pattern(size, 3, sent));
      if (!r) {
        CHECK(r.error() == ChannelError::would_block);
        blocked = true;
        break;
      }
      ++sent;
    }
    return false;
  };
  (void)pair.sim.run_until(fill, 10s);
  CHECK(blocked);
  CHECK(sent < count);
  const std::uint64_t window = limits::kInitialFlowWindow;
  // Nothing was read: at most the initial credit crossed the link.
  CHECK(pair.b.channel.receive_buffered_bytes() <= window);
  CHECK(pair.b.channel.receive_buffered_bytes() > window / 2);
  CHECK(pair.a.channel.send_buffered_bytes() <= limits::kDefaultSendBufferLimit);
  const auto before = pair.a.channel.stats().packets_sent;
  (void)pair.sim.run_until(fill, 60s);
  CHECK(pair.a.channel.stats().packets_sent == before);  // the sender stays quiet

  std::size_t checked = 0, bad = 0;
  Bytes scratch;
  std::size_t peak = 0;
  auto read = [&] {
    fill();
    while (auto m = pair.b.channel.poll_message()) {
      bad += !matches_pattern(*m, 3, checked, scratch) || m->size() != size;
      ++checked;
    }
    peak = std::max(peak, pair.b.channel.receive_buffered_bytes());
    return checked == count;
  };
  CHECK(pair.sim.run_until(read, 1h) == NetworkSimulator::Outcome::done);
  CHECK(bad == 0);
  CHECK(peak <= window + limits::kMaxMessageSize);
}

TEST_CASE("a message larger than the flow-control window still gets through") {
  ChannelPair pair(4);
  pair.set_links(Link{});
  const Bytes big = make_pattern(3 * limits::kInitialFlowWindow + 17, 4, 0);
  REQUIRE(pair.a.channel.send(big));
  std::optional<Bytes> got;
  auto done = [&] {
    if (!got) got = pair.b.channel.poll_message();
    return got.has_value();
  };
  REQUIRE(pair.sim.run_until(done, 1h) == NetworkSimulator::Outcome::done);
  CHECK(*got == big);
}

TEST_CASE("a hundred small messages sent at once are coalesced into a few packets") {
  ChannelPair pair(5);
  pair.set_links(Link{});
  for (std::uint64_t i = 0; i < 100; ++i) REQUIRE(pair.a.channel.send(make_pattern(10, 5, i)));
  std::vector<Bytes> got;
  auto done = [&] { return drain_into(pair.b.channel, got) && got.size() == 100; };
  REQUIRE(pair.sim.run_until(done, 10s) == NetworkSimulator::Outcome::done);
  for (std::uint64_t i = 0; i < 100; ++i) CHECK(got[i] == make_pattern(10, 5, i));
  CHECK(pair.a.channel.stats().packets_sent <= 3);
}

TEST_CASE("datagrams are delivered at most once and lost ones are not retransmitted") {
  ChannelPair pair(6);
  Link l;
  l.loss = 0.3;
  l.duplicate = 0.2;
  pair.set_links(l);
  std::set<std::uint64_t> got;
  std::size_t received = 0, bad = 0;
  for (std::uint64_t i = 0; i < 50; ++i) {
    Bytes d = make_pattern(100, 6, i);
    d[0] = static_cast<std::uint8_t>(i);  // names the datagram
    REQUIRE(pair.a.channel.send_datagram(d));
  }
  auto collect = [&] {
    while (auto d = pair.b.channel.poll_datagram()) {
      const std::uint64_t i = (*d)[0];
      Bytes want = make_pattern(100, 6, i);
      want[0] = static_cast<std::uint8_t>(i);
      bad += *d != want;
      got.insert(i);
      ++received;
    }
    return false;
  };
  (void)pair.sim.run_until(collect, 30s);
  CHECK(bad == 0);
  CHECK(received == got.size());  // duplicated packets were not delivered twice
  CHECK(got.size() < 50);
  CHECK(got.size() > 10);
  const auto st = pair.a.channel.stats();
  CHECK(st.datagrams_sent == 50);
  CHECK(st.bytes_retransmitted == 0);
  CHECK(pair.a.channel.send_datagram(Bytes(pair.a.channel.max_datagram_size() + 1)).error() ==
        ChannelError::datagram_too_large);
}

TEST_CASE("a channel with a keepalive interval pings a silent peer, whose ACKs answer") {
  ChannelConfig kept;
  kept.keepalive_interval = 15s;
  ChannelPair pair(8, kept, ChannelConfig{});
  pair.set_links(Link{});
  // Never sent anything: nothing to keep alive, no timer.
  CHECK(pair.a.channel.next_deadline() == Instant::max());
  REQUIRE(pair.a.channel.send(Bytes(10, 1)));
  auto delivered = [&] { return pair.b.channel.poll_message().has_value(); };
  REQUIRE(pair.sim.run_until(delivered, 1s) == NetworkSimulator::Outcome::done);
  const Instant start = pair.sim.now();
  const auto a0 = pair.a.channel.stats();
  const auto b0 = pair.b.channel.stats();
  // A minute of silence from both applications.
  CHECK(pair.sim.run_until([] { return false; }, 60s) == NetworkSimulator::Outcome::time_limit);
  const auto a1 = pair.a.channel.stats();
  const auto b1 = pair.b.channel.stats();
  // One PING per 15 s since the message (its ACK came ~20 ms after it): 4 in the minute.
  CHECK(a1.keepalives - a0.keepalives == 4);
  CHECK(b1.packets_received - b0.packets_received == 4);
  // An ACK for each, so a hears from b too: sent at once (a lone PING is not held for
  // max_ack_delay), so the 4th PING, arriving as the minute ends, is answered within it;
  // and the message's own ACK, held max_ack_delay past the delivery the minute starts at.
  CHECK(b1.packets_sent - b0.packets_sent == 5);
  CHECK(a1.packets_received - a0.packets_received == 4);
  CHECK(b1.keepalives == 0);  // b has no interval: it only answers
  CHECK(pair.a.channel.all_acked());
  CHECK(pair.a.channel.next_deadline() <= start + 75s);
  // Traffic moves the timer: a message now puts the next PING 15 s after it.
  const Instant sent = pair.sim.now();
  REQUIRE(pair.a.channel.send(Bytes(10, 2)));
  auto acked = [&] { return pair.a.channel.all_acked() && pair.b.channel.poll_message(); };
  REQUIRE(pair.sim.run_until(acked, 1s) == NetworkSimulator::Outcome::done);
  CHECK(pair.a.channel.next_deadline() >= sent + 15s);
  CHECK(pair.a.channel.next_deadline() <= sent + 15s + 1ms);
}

TEST_CASE("a lone PING is acknowledged at once, a message within max_ack_delay") {
  Instant now = ManualClock::kDefaultStart;
  Channel a, b;
  std::vector<std::uint8_t> packet(limits::kMaxPacketSize);
  a.ping();
  std::size_t n = a.poll_packet(packet, now);
  REQUIRE(n > 0);
  REQUIRE(b.on_packet(std::span(packet).first(n), now));
  CHECK(b.next_deadline() == now);  // its ACK leaves with this input
  n = b.poll_packet(packet, now);
  REQUIRE(n > 0);
  REQUIRE(a.on_packet(std::span(packet).first(n), now));
  CHECK(a.all_acked());
  CHECK(b.next_deadline() == Instant::max());  // an ACK-only packet asks for nothing
  REQUIRE(a.send(Bytes(10, 1)));
  n = a.poll_packet(packet, now);
  REQUIRE(n > 0);
  REQUIRE(b.on_packet(std::span(packet).first(n), now));
  CHECK(b.next_deadline() == now + limits::kMaxAckDelay);  // more may come to share it
}

TEST_CASE("without a keepalive interval an idle channel sends nothing, however long") {
  ChannelPair pair(9);
  pair.set_links(Link{});
  REQUIRE(pair.a.channel.send(Bytes(10, 1)));
  auto delivered = [&] { return pair.b.channel.poll_message().has_value(); };
  REQUIRE(pair.sim.run_until(delivered, 1s) == NetworkSimulator::Outcome::done);
  (void)pair.sim.run_until([] { return false; }, 1s);  // the last ACK settles
  const auto sent_a = pair.a.channel.stats().packets_sent;
  const auto sent_b = pair.b.channel.stats().packets_sent;
  CHECK(pair.sim.run_until([] { return false; }, 1h) == NetworkSimulator::Outcome::idle);
  CHECK(pair.a.channel.stats().packets_sent == sent_a);
  CHECK(pair.b.channel.stats().packets_sent == sent_b);
}

TEST_CASE("send refuses a message over the maximum size and anything after close") {
  ChannelConfig cfg;
  cfg.max_message_size = 1000;
  Channel c(cfg);
  CHECK(c.send(Bytes(1000)));
  CHECK(c.send(Bytes(1001)).error() == ChannelError::message_too_large);
  c.close(9);
  CHECK(c.is_closed());
  CHECK(c.send(Bytes(1)).error() == ChannelError::closed);
}

TEST_CASE("close reaches the peer with its code") {
  ChannelPair pair(7);
  pair.set_links(Link{});
  pair.a.channel.close(42);
  auto done = [&] { return pair.b.channel.peer_close_code().has_value(); };
  REQUIRE(pair.sim.run_until(done, 10s) == NetworkSimulator::Outcome::done);
  CHECK(*pair.b.channel.peer_close_code() == 42);
  CHECK(pair.b.channel.is_closed());
}

TEST_CASE("a malformed packet is dropped whole and counted") {
  Channel c;
  const Instant now = ManualClock::kDefaultStart;
  // A valid MESSAGE followed by an unknown frame: the message must not be delivered.
  const Bytes p{0x00, 0x03, 0x00, 0x00, 0x01, 0x01, 0xaa, 0x7f};
  CHECK(c.on_packet(p, now).error() == ChannelError::unknown_frame);
  CHECK_FALSE(c.poll_message());
  CHECK(c.stats().packets_malformed == 1);
  CHECK(c.stats().packets_received == 0);
  // The same packet number is still usable: the bad packet left no trace.
  const Bytes good{0x00, 0x03, 0x00, 0x00, 0x01, 0x01, 0xaa};
  CHECK(c.on_packet(good, now));
  auto m = c.poll_message();
  REQUIRE(m);
  CHECK(*m == Bytes{0xaa});
  CHECK(c.on_packet(good, now));  // a duplicate: dropped, counted, not delivered again
  CHECK(c.stats().packets_duplicate == 1);
  CHECK_FALSE(c.poll_message());
}

TEST_CASE("a peer that sends beyond its credit breaks the channel") {
  Channel c;
  const Instant now = ManualClock::kDefaultStart;
  // MESSAGE id 0 at offset 2 MiB: far past the 1 MiB initial credit.
  Bytes p{0x00, 0x03, 0x00};
  p.resize(3 + varint_size(2 * limits::MiB));
  varint_write(2 * limits::MiB, p.data() + 3);
  p.push_back(0x01);
  p.push_back(0xaa);
  CHECK(c.on_packet(p, now).error() == ChannelError::flow_control_violation);
  CHECK(c.is_closed());
  CHECK(c.stats().protocol_violations == 1);
  Bytes out(limits::kMaxPacketSize);
  CHECK(c.poll_packet(out, now) > 0);  // the CLOSE goes out
}

TEST_CASE("over a narrow bottleneck with a short queue the channel fills the link without collapse") {
  ChannelPair pair(8);
  Link l;
  l.delay = 20ms;
  l.bandwidth = 1'000'000;  // 1 MB/s
  l.queue_limit = 30;
  pair.set_links(l);
  constexpr std::size_t count = 500, size = 10000;  // 5 MB: at least 5 s on this link
  std::size_t sent = 0, received = 0, bad = 0;
  Bytes scratch;
  auto app = [&] {
    while (sent < count && pair.a.channel.send(make_pattern(size, 8, sent))) ++sent;
    while (auto m = pair.b.channel.poll_message()) {
      bad += !matches_pattern(*m, 8, received, scratch) || m->size() != size;
      ++received;
    }
    return received == count;
  };
  const Instant start = pair.sim.now();
  REQUIRE(pair.sim.run_until(app, 1h) == NetworkSimulator::Outcome::done);
  const double seconds = std::chrono::duration<double>(pair.sim.now() - start).count();
  CHECK(bad == 0);
  const double utilisation = double(count * size) / seconds / 1e6;
  MESSAGE("1 MB/s bottleneck: " << seconds << " s virtual, utilisation " << utilisation
          << ", queue drops " << pair.sim.link_stats(pair.ida, pair.idb).queue_dropped
          << ", cwnd " << pair.a.channel.stats().congestion_window);
  CHECK(utilisation > 0.7);
}
