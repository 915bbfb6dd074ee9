#include "platform/sockaddr.hpp"
#include "platform/udp_socket.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <numeric>
#include <optional>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <utility>
#include <vector>

#include <dirent.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <doctest/doctest.h>

#include <string_view>

#include "platform/timer.hpp"
#include "support/test_skip.hpp"

using namespace std::chrono_literals;
using peermq::Counters;
using peermq::Endpoint;
using peermq::platform::Loop;
using peermq::platform::Timer;
using peermq::platform::UdpError;
using peermq::platform::UdpOptions;
using peermq::platform::UdpSocket;
using Bytes = std::vector<std::uint8_t>;

namespace {

const Endpoint kLoopback = Endpoint::v4({127, 0, 0, 1}, 0);

UdpOptions named(const char* prefix) {
  UdpOptions options;
  options.counter_prefix = prefix;
  return options;
}

// One datagram per message both ways, as on a kernel without UDP GSO and GRO.
UdpOptions without_offloads(const char* prefix) {
  UdpOptions options = named(prefix);
  options.segmentation_offload = false;
  options.receive_offload = false;
  return options;
}

std::uint64_t value(Counters& counters, const std::string& name) {
  return counters.counter_value(name);
}

// Datagram `index` of `size` bytes: the index, then bytes derived from it.
void fill(Bytes& out, std::uint32_t index) {
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = i < 4 ? static_cast<std::uint8_t>(index >> (8 * i))
                   : static_cast<std::uint8_t>(index * 131 + i);
}

std::optional<std::uint32_t> index_of(std::span<const std::uint8_t> data) {
  if (data.size() < 4) return std::nullopt;
  std::uint32_t index = 0;
  for (std::size_t i = 0; i < 4; ++i) index |= std::uint32_t{data[i]} << (8 * i);
  Bytes expected(data.size());
  fill(expected, index);
  if (!std::equal(data.begin(), data.end(), expected.begin())) return std::nullopt;
  return index;
}

// Runs the loop until `done()` holds, or gives up after `limit` so no test can hang.
template <class Done>
bool run_until(Loop& loop, Done done, peermq::Duration limit = 20s) {
  Timer guard(loop);
  bool expired = false;
  guard.start(limit, [&] { expired = true; });
  while (!done() && !expired) loop.run_once();
  return done();
}

void run_for(Loop& loop, peermq::Duration time) {
  bool expired = false;
  run_until(
      loop, [&] { return expired; }, time);
}

}  // namespace

TEST_CASE("udp port zero bind reports the chosen port, and a port in use is refused clearly") {
  Loop loop;
  Counters counters;
  UdpSocket first(loop, counters);
  REQUIRE(first.bind(kLoopback).ok());
  Endpoint local = first.local_endpoint().value();
  CHECK(local.is_v4());
  CHECK(local.port() != 0);
  CHECK(local.to_string() == "127.0.0.1:" + std::to_string(local.port()));
  MESSAGE("socket buffers: send " << first.buffer_sizes().send << " B, receive "
                                  << first.buffer_sizes().receive << " B");
  CHECK(first.buffer_sizes().send > 0);
  CHECK(first.buffer_sizes().receive > 0);

  UdpSocket second(loop, counters);
  auto taken = second.bind(local);
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error() == UdpError::address_in_use);
  CHECK(taken.error().message().find("already in use") != std::string::npos);
  CHECK(taken.error().message().find("port 0") != std::string::npos);
  CHECK(second.bind(kLoopback).ok());  // the failed socket is still usable
  CHECK(first.bind(kLoopback).error() == UdpError::already_bound);
  CHECK_FALSE(second.local_endpoint().value() == local);
}

TEST_CASE("two sockets exchange 20000 datagrams of 1200 bytes intact") {
  constexpr std::uint32_t kTotal = 20000;
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, named("sender"));
  UdpSocket receiver(loop, counters, named("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  const Endpoint to = receiver.local_endpoint().value();
  const Endpoint from = sender.local_endpoint().value();
  // Loopback drops only when the receive buffer is full, so the sender keeps at most a
  // window in flight that fits it with room to spare (~2.3 KiB of kernel memory per
  // datagram), and sends the next window when the whole last one has arrived.
  const auto window = std::clamp<std::uint32_t>(
      static_cast<std::uint32_t>(receiver.buffer_sizes().receive / 8192), 16, 256);

  std::uint32_t sent = 0, received = 0, corrupt = 0, duplicates = 0, refused = 0;
  std::vector<bool> seen(kTotal);
  Bytes datagram(1200);
  auto send_window = [&] {
    for (std::uint32_t end = std::min(sent + window, kTotal); sent < end; ++sent) {
      fill(datagram, sent);
      if (!sender.send(to, datagram)) ++refused;
    }
  };
  receiver.on_receive([&](std::span<const std::uint8_t> data, const Endpoint& source) {
    auto index = index_of(data);
    if (!index || data.size() != 1200 || source != from || *index >= kTotal) {
      ++corrupt;
    } else if (seen[*index]) {
      ++duplicates;
    } else {
      seen[*index] = true;
    }
    if (++received == sent) send_window();
  });
  sender.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++corrupt; });
  send_window();
  CHECK(run_until(loop, [&] { return received >= kTotal; }));
  MESSAGE("window " << window << ", send batches " << value(counters, "sender_tx_batches_total")
                    << ", receive batches " << value(counters, "receiver_rx_batches_total"));
  CHECK(received == kTotal);
  CHECK(corrupt == 0);
  CHECK(duplicates == 0);
  CHECK(refused == 0);
  CHECK(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
  CHECK(value(counters, "sender_tx_datagrams_total") == kTotal);
  CHECK(value(counters, "sender_tx_bytes_total") == kTotal * 1200ull);
  CHECK(value(counters, "receiver_rx_datagrams_total") == kTotal);
  CHECK(value(counters, "receiver_rx_bytes_total") == kTotal * 1200ull);
  CHECK(value(counters, "sender_tx_batches_total") <= kTotal / 16);
}

TEST_CASE(
    "without offloads 256 datagrams leave in sendmmsg batches and arrive in recvmmsg batches") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, without_offloads("sender"));
  UdpSocket receiver(loop, counters, without_offloads("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  CHECK(receiver.using_recvmmsg());
  CHECK_FALSE(sender.using_gso());
  CHECK_FALSE(receiver.using_gro());
  int received = 0;
  receiver.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++received; });
  Bytes datagram(1200);
  for (std::uint32_t i = 0; i < 256; ++i) {
    fill(datagram, i);
    REQUIRE(sender.send(receiver.local_endpoint().value(), datagram));
  }
  CHECK(sender.queued() == 256);
  CHECK(value(counters, "sender_tx_batches_total") == 0);  // nothing leaves inside send()
  CHECK(run_until(loop, [&] { return received == 256; }));
  CHECK(sender.queued() == 0);
  auto send_batches = value(counters, "sender_tx_batches_total");
  auto receive_batches = value(counters, "receiver_rx_batches_total");
  MESSAGE("send batches " << send_batches << ", receive batches of >1 datagram "
                          << receive_batches);
  CHECK(send_batches >= 4);  // at most 64 per sendmmsg
  CHECK(send_batches < 256);
  CHECK(receive_batches >= 1);
  CHECK(value(counters, "sender_tx_gso_batches_total") == 0);
  CHECK(value(counters, "receiver_rx_gro_batches_total") == 0);
}

TEST_CASE("without offloads flush sends the queue at once in one system call per 64 datagrams") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, without_offloads("sender"));
  UdpSocket receiver(loop, counters, named("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  Bytes datagram(100, 7);
  for (int i = 0; i < 100; ++i) REQUIRE(sender.send(receiver.local_endpoint().value(), datagram));
  sender.flush();
  CHECK(sender.queued() == 0);
  CHECK(value(counters, "sender_tx_batches_total") == 2);
  CHECK(value(counters, "sender_tx_datagrams_total") == 100);
  int received = 0;
  receiver.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++received; });
  CHECK(run_until(loop, [&] { return received == 100; }));
}

namespace {

// What one receiver got, in order: the index and size of each datagram, checked against
// fill() on arrival; `corrupt` counts anything else.
struct Arrivals {
  std::vector<std::pair<std::uint32_t, std::size_t>> got;
  int corrupt = 0;

  UdpSocket::ReceiveCallback recorder(const Endpoint& from) {
    return [this, from](std::span<const std::uint8_t> data, const Endpoint& source) {
      if (source != from) {
        ++corrupt;
      } else if (data.empty()) {
        got.emplace_back(0, 0);  // only empty datagrams are sent without an index
      } else if (auto index = index_of(data)) {
        got.emplace_back(*index, data.size());
      } else {
        ++corrupt;
      }
    };
  }
};

}  // namespace

TEST_CASE("same-size datagrams to one peer leave as GSO messages and arrive intact and in order") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, named("sender"));
  UdpSocket receiver(loop, counters, named("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
#ifdef __linux__
  REQUIRE(sender.using_gso());    // Linux >= 4.18
  REQUIRE(receiver.using_gro());  // Linux >= 5.0
#endif
  Arrivals arrivals;
  receiver.on_receive(arrivals.recorder(sender.local_endpoint().value()));
  const Endpoint to = receiver.local_endpoint().value();
  constexpr std::uint32_t kCount = 1000;
  std::vector<std::pair<std::uint32_t, std::size_t>> expected;
  Bytes datagram(1200);
  for (std::uint32_t i = 0; i < kCount; ++i) {
    fill(datagram, i);
    REQUIRE(sender.send(to, datagram));
    expected.emplace_back(i, 1200);
  }
  sender.flush();
  CHECK(sender.queued() == 0);
  CHECK(run_until(loop, [&] { return arrivals.got.size() >= kCount; }));
  run_for(loop, 10ms);  // nothing more may come
  CHECK(arrivals.got == expected);
  CHECK(arrivals.corrupt == 0);
  // Datagrams are counted as datagrams, however they were grouped.
  CHECK(value(counters, "sender_tx_datagrams_total") == kCount);
  CHECK(value(counters, "sender_tx_bytes_total") == kCount * 1200ull);
  CHECK(value(counters, "receiver_rx_datagrams_total") == kCount);
  CHECK(value(counters, "receiver_rx_bytes_total") == kCount * 1200ull);
  MESSAGE("sendmmsg calls " << value(counters, "sender_tx_batches_total") << ", GSO messages "
                            << value(counters, "sender_tx_gso_batches_total")
                            << ", GRO runs received "
                            << value(counters, "receiver_rx_gro_batches_total"));
#ifdef __linux__
  // 54 x 1,200 bytes is the most under 65,507: 18 messages of 54 and one of 28, one call.
  CHECK(value(counters, "sender_tx_gso_batches_total") == 19);
  CHECK(value(counters, "sender_tx_batches_total") == 1);
  CHECK(value(counters, "sender_tx_gso_refused_total") == 0);
  CHECK(value(counters, "receiver_rx_gro_batches_total") >= 1);  // loopback keeps them whole
#endif
}

TEST_CASE("mixed sizes and destinations are cut into GSO runs that arrive intact and in order") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, named("sender"));
  UdpSocket a(loop, counters, named("a"));
  UdpSocket b(loop, counters, named("b"));
  UdpSocket c(loop, counters, named("c"));
  for (UdpSocket* s : {&sender, &a, &b, &c}) REQUIRE(s->bind(kLoopback).ok());
  const Endpoint from = sender.local_endpoint().value();
  std::array<Arrivals, 3> arrivals;
  std::array<std::vector<std::pair<std::uint32_t, std::size_t>>, 3> expected;
  std::array<Endpoint, 3> to;
  std::array<UdpSocket*, 3> receivers{&a, &b, &c};
  for (std::size_t r = 0; r < 3; ++r) {
    receivers[r]->on_receive(arrivals[r].recorder(from));
    to[r] = receivers[r]->local_endpoint().value();
  }
  std::uint32_t next = 1;  // index 0 marks an empty datagram
  std::uint32_t total = 0;
  auto queue = [&](std::size_t r, std::size_t count, std::size_t size) {
    for (std::size_t i = 0; i < count; ++i, ++total) {
      Bytes datagram(size);
      if (size > 0) fill(datagram, next);
      REQUIRE(sender.send(to[r], datagram));
      expected[r].emplace_back(size > 0 ? next++ : 0, size);
    }
  };
  queue(0, 10, 1200);  // run 1: ten of 1,200 ...
  queue(0, 1, 500);    // ... and a shorter last one
  queue(0, 5, 1200);   // run 2: a shorter one ended the last
  queue(1, 3, 1200);   // run 3: another destination
  queue(1, 1, 1300);   // alone: longer than the run before it
  queue(1, 1, 0);      // alone: GSO has no empty segments
  queue(2, 4, 800);    // run 4
  queue(0, 2, 800);    // run 5: same size, another destination
  queue(2, 100, 100);  // runs 6 and 7: at most 64 segments
  queue(0, 60, 1452);  // runs 8 and 9: at most 65,507 bytes (45 x 1,452)
  // Six alone, destinations alternating; b first, or a's first would end run 9 as its
  // shorter last segment.
  for (int i = 0; i < 3; ++i) {
    queue(1, 1, 1200);
    queue(0, 1, 1200);
  }
  sender.flush();
  CHECK(sender.queued() == 0);
  CHECK(run_until(loop, [&] {
    return arrivals[0].got.size() + arrivals[1].got.size() + arrivals[2].got.size() >= total;
  }));
  run_for(loop, 10ms);
  for (std::size_t r = 0; r < 3; ++r) {
    CAPTURE(r);
    CHECK(arrivals[r].got == expected[r]);
    CHECK(arrivals[r].corrupt == 0);
  }
  CHECK(value(counters, "sender_tx_datagrams_total") == total);
#ifdef __linux__
  CHECK(value(counters, "sender_tx_gso_batches_total") == 9);
  CHECK(value(counters, "sender_tx_batches_total") == 1);  // 9 runs + 8 alone: 17 messages
#endif
}

TEST_CASE("a GSO run stops at the end of the send ring and the rest follows in order") {
  Loop loop;
  Counters counters;
  UdpOptions small = named("sender");
  small.send_queue_datagrams = 64;
  UdpSocket sender(loop, counters, small);
  UdpSocket receiver(loop, counters, named("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  Arrivals arrivals;
  receiver.on_receive(arrivals.recorder(sender.local_endpoint().value()));
  const Endpoint to = receiver.local_endpoint().value();
  std::vector<std::pair<std::uint32_t, std::size_t>> expected;
  std::uint32_t next = 0;
  auto queue = [&](std::size_t count) {
    Bytes datagram(1200);
    for (std::size_t i = 0; i < count; ++i, ++next) {
      fill(datagram, next);
      REQUIRE(sender.send(to, datagram));
      expected.emplace_back(next, 1200);
    }
    sender.flush();
  };
  queue(40);  // slots 0-39: one message
  queue(50);  // slots 40-63 and 0-25: two messages, cut where the ring wraps
  CHECK(run_until(loop, [&] { return arrivals.got.size() >= 90; }));
  CHECK(arrivals.got == expected);
#ifdef __linux__
  CHECK(value(counters, "sender_tx_gso_batches_total") == 3);
#endif
  CHECK(value(counters, "sender_tx_datagrams_total") == 90);
}

TEST_CASE("the receive limit applies to each datagram of a coalesced run") {
  Loop loop;
  Counters counters;
  UdpOptions limited = named("receiver");
  limited.max_receive_datagram = 1000;
  UdpSocket sender(loop, counters, named("sender"));
  UdpSocket receiver(loop, counters, limited);
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  std::vector<std::size_t> sizes;
  receiver.on_receive(
      [&](std::span<const std::uint8_t> data, const Endpoint&) { sizes.push_back(data.size()); });
  const Endpoint to = receiver.local_endpoint().value();
  for (int i = 0; i < 10; ++i) REQUIRE(sender.send(to, Bytes(1200, 5)));
  REQUIRE(sender.send(to, Bytes(500, 6)));  // the shorter last segment of the same run
  CHECK(run_until(loop, [&] { return !sizes.empty(); }));
  run_for(loop, 10ms);
  CHECK(sizes == std::vector<std::size_t>{500});
  CHECK(value(counters, "receiver_rx_dropped_too_long_total") == 10);
  CHECK(value(counters, "receiver_rx_datagrams_total") == 1);
}

TEST_CASE("a kernel that refuses segmentation offload gets every datagram one by one") {
  Loop loop;
  Counters counters;
  UdpOptions refused = named("sender");
  refused.force_gso_refusal = true;  // no UDP checksums: the kernel answers GSO with EINVAL
  UdpSocket sender(loop, counters, refused);
  UdpSocket receiver(loop, counters, named("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  Arrivals arrivals;
  receiver.on_receive(arrivals.recorder(sender.local_endpoint().value()));
  const Endpoint to = receiver.local_endpoint().value();
  std::vector<std::pair<std::uint32_t, std::size_t>> expected;
  Bytes datagram(1200);
  std::uint32_t next = 0;
  auto queue = [&](std::uint32_t count) {
    for (std::uint32_t i = 0; i < count; ++i, ++next) {
      fill(datagram, next);
      REQUIRE(sender.send(to, datagram));
      expected.emplace_back(next, 1200);
    }
    sender.flush();
  };
  queue(300);
  CHECK(sender.queued() == 0);
  CHECK_FALSE(sender.using_gso());
  queue(100);  // no second refusal: GSO stays off for this socket
  CHECK(run_until(loop, [&] { return arrivals.got.size() >= 400; }));
  run_for(loop, 10ms);
  CHECK(arrivals.got == expected);
  CHECK(arrivals.corrupt == 0);
  CHECK(value(counters, "sender_tx_datagrams_total") == 400);
  CHECK(value(counters, "sender_tx_gso_batches_total") == 0);
  CHECK(value(counters, "sender_tx_dropped_other_total") == 0);
#ifdef __linux__
  CHECK(value(counters, "sender_tx_gso_refused_total") == 1);
#endif
}

TEST_CASE("an oversized datagram is dropped and counted and an empty one is delivered") {
  Loop loop;
  Counters counters;
  UdpOptions big = named("sender");
  big.max_send_datagram = 4000;
  UdpOptions small = named("receiver");
  small.max_receive_datagram = 1500;
  UdpSocket sender(loop, counters, big);
  UdpSocket receiver(loop, counters, small);
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  std::vector<std::size_t> sizes;
  receiver.on_receive(
      [&](std::span<const std::uint8_t> data, const Endpoint&) { sizes.push_back(data.size()); });
  const Endpoint to = receiver.local_endpoint().value();
  REQUIRE(sender.send(to, Bytes(2000, 1)));
  REQUIRE(sender.send(to, Bytes{}));
  REQUIRE(sender.send(to, Bytes(1500, 2)));
  CHECK(run_until(loop, [&] { return sizes.size() == 2; }));
  CHECK(sizes == std::vector<std::size_t>{0, 1500});
  CHECK(value(counters, "receiver_rx_dropped_too_long_total") == 1);
  CHECK(value(counters, "receiver_rx_datagrams_total") == 2);
  CHECK_THROWS_AS((void)sender.send(to, Bytes(4001)), std::invalid_argument);
}

TEST_CASE("send returns false when the queue is full and accepts again once it drained") {
  Loop loop;
  Counters counters;
  UdpOptions tiny = named("sender");
  tiny.send_queue_datagrams = 8;
  UdpSocket sender(loop, counters, tiny);
  UdpSocket receiver(loop, counters, named("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  int received = 0;
  receiver.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++received; });
  const Endpoint to = receiver.local_endpoint().value();
  Bytes datagram(64, 3);
  for (int i = 0; i < 8; ++i) CHECK(sender.send(to, datagram));
  CHECK_FALSE(sender.send(to, datagram));
  CHECK(sender.queued() == 8);
  CHECK(sender.send_capacity() == 8);
  CHECK(run_until(loop, [&] { return received == 8; }));
  for (int i = 0; i < 8; ++i) CHECK(sender.send(to, datagram));  // the ring wrapped around
  CHECK(run_until(loop, [&] { return received == 16; }));
  CHECK(value(counters, "sender_tx_datagrams_total") == 16);
}

TEST_CASE("a failed datagram is counted by kind and the ones behind it still go out") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, named("sender"));
  UdpSocket receiver(loop, counters, named("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  int received = 0;
  receiver.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++received; });
  const Endpoint to = receiver.local_endpoint().value();
  Bytes datagram(10, 1);
  REQUIRE(sender.send(to, datagram));
  // Loopback's broadcast address without SO_BROADCAST: the kernel refuses (EACCES). Three
  // in a row leave as one segmented message, refused whole: three datagrams are counted.
  for (int i = 0; i < 3; ++i)
    REQUIRE(sender.send(Endpoint::parse("127.255.255.255:9").value(), datagram));
  // An IPv6 destination on an IPv4 socket: refused before anything leaves.
  REQUIRE(sender.send(Endpoint::parse("[::1]:9").value(), datagram));
  REQUIRE(sender.send(to, datagram));
  CHECK(run_until(loop, [&] { return received == 2; }));
  CHECK(value(counters, "sender_tx_dropped_denied_total") == 3);
  CHECK(value(counters, "sender_tx_dropped_other_total") == 1);
  CHECK(value(counters, "sender_tx_datagrams_total") == 2);
  CHECK(value(counters, "sender_tx_gso_refused_total") == 0);  // EACCES is no GSO refusal
  CHECK(sender.using_gso() == receiver.using_gso());

  // The sender still receives after its refused sends.
  int answers = 0;
  sender.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++answers; });
  REQUIRE(receiver.send(sender.local_endpoint().value(), datagram));
  CHECK(run_until(loop, [&] { return answers == 1; }));
  CHECK(value(counters, "sender_rx_errors_total") == 0);
}

#ifdef __linux__
namespace {

// The fd of this process's socket bound to `local`, found through /proc/self/fd, or -1:
// lets a test set an option the socket does not offer.
int fd_bound_to(const Endpoint& local) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (entry->d_name[0] == '.' || fd == dirfd(dir) ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      continue;
    if (peermq::platform::from_sockaddr(address) == local) found = fd;
  }
  closedir(dir);
  return found;
}

}  // namespace

TEST_CASE("a socket error that poll reports is cleared and the socket goes on receiving") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, named("sender"));
  UdpSocket receiver(loop, counters, named("receiver"));
  UdpSocket gone(loop, counters, named("gone"));
  for (UdpSocket* s : {&sender, &receiver, &gone}) REQUIRE(s->bind(kLoopback).ok());
  const Endpoint nobody = gone.local_endpoint().value();
  gone.close();  // its port now answers with ICMP port unreachable
  // With IP_RECVERR the ICMP error is kept on the socket (SO_ERROR and the error queue),
  // which poll reports as POLLERR, and libuv stops the poll handle on POLLERR.
  const int fd = fd_bound_to(sender.local_endpoint().value());
  REQUIRE(fd >= 0);
  const int one = 1;
  REQUIRE(setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one) == 0);
  REQUIRE(sender.send(nobody, Bytes(10, 1)));
  CHECK(run_until(
      loop, [&] { return value(counters, "sender_rx_errors_total") >= 1; }, 5s));
  int received = 0;
  sender.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++received; });
  REQUIRE(receiver.send(sender.local_endpoint().value(), Bytes(10, 2)));
  CHECK(run_until(
      loop, [&] { return received == 1; }, 5s));
  const Endpoint to = receiver.local_endpoint().value();
  int answers = 0;
  receiver.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++answers; });
  REQUIRE(sender.send(to, Bytes(10, 3)));  // and sending still works
  CHECK(run_until(
      loop, [&] { return answers == 1; }, 5s));
}
#endif

TEST_CASE("sockets on ::1 exchange datagrams and see IPv6 source endpoints") {
  Loop loop;
  Counters counters;
  UdpSocket a(loop, counters, named("a"));
  UdpSocket b(loop, counters, named("b"));
  const Endpoint v6_loopback = Endpoint::parse("[::1]:0").value();
  auto bound = a.bind(v6_loopback);
  if (!bound.ok()) {
    peermq::test::skip("no IPv6 loopback here: " + bound.error().message());
    return;
  }
  REQUIRE(b.bind(v6_loopback).ok());
  std::optional<Endpoint> source;
  b.on_receive([&](std::span<const std::uint8_t>, const Endpoint& from) { source = from; });
  REQUIRE(a.send(b.local_endpoint().value(), Bytes{1, 2, 3}));
  CHECK(run_until(loop, [&] { return source.has_value(); }));
  CHECK(source == a.local_endpoint().value());
  CHECK(source->to_string() == "[::1]:" + std::to_string(source->port()));
}

TEST_CASE("over IPv6 runs leave segmented, and a refusal falls back without loss") {
  Loop loop;
  Counters counters;
  UdpOptions refused = named("refused");
  refused.force_gso_refusal = true;  // UDP_NO_CHECK6_TX: the kernel answers GSO with EINVAL
  UdpSocket segmented(loop, counters, named("segmented"));
  UdpSocket fallback(loop, counters, refused);
  UdpSocket receiver(loop, counters, named("receiver"));
  const Endpoint v6_loopback = Endpoint::parse("[::1]:0").value();
  auto bound = receiver.bind(v6_loopback);
  if (!bound.ok()) {
    peermq::test::skip("no IPv6 loopback here: " + bound.error().message());
    return;
  }
  REQUIRE(segmented.bind(v6_loopback).ok());
  REQUIRE(fallback.bind(v6_loopback).ok());
  const Endpoint to = receiver.local_endpoint().value();
  Arrivals from_segmented, from_fallback;
  const Endpoint segmented_at = segmented.local_endpoint().value();
  auto record_segmented = from_segmented.recorder(segmented_at);
  auto record_fallback = from_fallback.recorder(fallback.local_endpoint().value());
  receiver.on_receive([&](std::span<const std::uint8_t> data, const Endpoint& from) {
    (from == segmented_at ? record_segmented : record_fallback)(data, from);
  });
  std::vector<std::pair<std::uint32_t, std::size_t>> expected;
  Bytes datagram(1200);
  for (std::uint32_t i = 0; i < 200; ++i) {
    fill(datagram, i);
    REQUIRE(segmented.send(to, datagram));
    REQUIRE(fallback.send(to, datagram));
    expected.emplace_back(i, 1200);
  }
  CHECK(run_until(
      loop, [&] { return from_segmented.got.size() >= 200 && from_fallback.got.size() >= 200; }));
  CHECK(from_segmented.got == expected);
  CHECK(from_fallback.got == expected);
  CHECK(from_segmented.corrupt + from_fallback.corrupt == 0);
#ifdef __linux__
  CHECK(value(counters, "segmented_tx_gso_batches_total") == 4);  // 54 + 54 + 54 + 38
  CHECK(value(counters, "refused_tx_gso_refused_total") == 1);
  CHECK(value(counters, "refused_tx_gso_batches_total") == 0);
#endif
  CHECK(value(counters, "refused_tx_datagrams_total") == 200);
}

TEST_CASE(
    "a socket closed with datagrams queued and arriving calls nothing back and leaks nothing") {
  Loop loop;
  Counters counters;
  auto keep = std::make_shared<int>(1);
  int calls = 0;
  {
    UdpSocket sender(loop, counters, named("sender"));
    UdpSocket receiver(loop, counters, named("receiver"));
    REQUIRE(sender.bind(kLoopback).ok());
    REQUIRE(receiver.bind(kLoopback).ok());
    receiver.on_receive(
        [&calls, keep](std::span<const std::uint8_t>, const Endpoint&) { ++calls; });
    const Endpoint to = receiver.local_endpoint().value();
    Bytes datagram(1200, 9);
    for (int i = 0; i < 50; ++i) REQUIRE(sender.send(to, datagram));
    sender.flush();  // now waiting in the receiver's kernel buffer
    for (int i = 0; i < 100; ++i) REQUIRE(sender.send(to, datagram));
    receiver.close();
    receiver.close();  // idempotent
    sender.close();
    CHECK_FALSE(sender.bound());
    CHECK_FALSE(sender.bind(kLoopback).ok());  // closed for good
    CHECK(loop.open_handles() == 0);
    run_for(loop, 20ms);
  }
  CHECK(calls == 0);
  CHECK(keep.use_count() == 1);  // the callback was released with the handle
  CHECK(value(counters, "sender_tx_dropped_closed_total") == 100);
}

TEST_CASE("read-done runs once after each read, when all of its datagrams were delivered") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, without_offloads("sender"));
  UdpSocket receiver(loop, counters, without_offloads("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  int received = 0;
  int since_done = 0;  // datagrams delivered since the last read-done
  std::vector<int> reads;
  receiver.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) {
    ++received;
    ++since_done;
  });
  receiver.on_read_done([&] {
    reads.push_back(since_done);
    since_done = 0;
  });
  REQUIRE(receiver.bind(kLoopback).ok());  // callbacks set before bind are kept
  const Endpoint to = receiver.local_endpoint().value();
  for (int i = 0; i < 50; ++i) REQUIRE(sender.send(to, Bytes(100, 7)));
  sender.flush();  // all 50 wait in the receiver's buffer before its first read
  CHECK(run_until(loop, [&] { return received == 50; }));
  CHECK(since_done == 0);  // the last read was closed too
  REQUIRE(!reads.empty());
  CHECK(std::all_of(reads.begin(), reads.end(), [](int n) { return n > 0; }));
  CHECK(reads.front() > 1);  // several datagrams per read, one read-done for them
  CHECK(reads.size() < 50);
  CHECK(std::accumulate(reads.begin(), reads.end(), 0) == 50);
}

TEST_CASE("a socket closed from inside read-done reads no further") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, without_offloads("sender"));
  std::optional<UdpSocket> receiver(std::in_place, loop, counters, without_offloads("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver->bind(kLoopback).ok());
  int received = 0;
  int reads = 0;
  receiver->on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++received; });
  receiver->on_read_done([&] {
    ++reads;
    receiver.reset();
  });
  const Endpoint to = receiver->local_endpoint().value();
  for (int i = 0; i < 100; ++i) REQUIRE(sender.send(to, Bytes(100, 4)));
  sender.flush();
  CHECK(run_until(loop, [&] { return !receiver.has_value(); }));
  run_for(loop, 20ms);
  CHECK(reads == 1);
  CHECK(received > 0);
  CHECK(received <= 20);  // one read's worth
}

TEST_CASE("a socket destroyed from inside its receive callback gets no more of the batch") {
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, named("sender"));
  std::optional<UdpSocket> receiver(std::in_place, loop, counters, named("receiver"));
  REQUIRE(sender.bind(kLoopback).ok());
  REQUIRE(receiver->bind(kLoopback).ok());
  int calls = 0;
  receiver->on_receive([&](std::span<const std::uint8_t>, const Endpoint&) {
    ++calls;
    receiver.reset();
  });
  const Endpoint to = receiver->local_endpoint().value();
  for (int i = 0; i < 40; ++i) REQUIRE(sender.send(to, Bytes(100, 4)));
  CHECK(run_until(loop, [&] { return !receiver.has_value(); }));
  run_for(loop, 20ms);
  CHECK(calls == 1);
}

TEST_CASE("a moved socket keeps its port, queue and callback") {
  Loop loop;
  Counters counters;
  UdpSocket receiver(loop, counters, named("receiver"));
  UdpSocket original(loop, counters, named("sender"));
  CHECK_THROWS_AS((void)original.send(kLoopback, Bytes(1)), std::invalid_argument);  // not bound
  REQUIRE(original.bind(kLoopback).ok());
  REQUIRE(receiver.bind(kLoopback).ok());
  int received = 0;
  receiver.on_receive([&](std::span<const std::uint8_t>, const Endpoint&) { ++received; });
  const Endpoint to = receiver.local_endpoint().value();
  REQUIRE(original.send(to, Bytes(10)));
  UdpSocket moved = std::move(original);
  CHECK(moved.queued() == 1);
  REQUIRE(moved.send(to, Bytes(10)));
  CHECK(run_until(loop, [&] { return received == 2; }));  // auto-flush still reaches it
  UdpSocket assigned(loop, counters, named("other"));
  REQUIRE(assigned.bind(kLoopback).ok());
  REQUIRE(assigned.send(to, Bytes(10)));
  assigned = std::move(moved);  // the replaced socket's queue is dropped and counted
  CHECK(value(counters, "other_tx_dropped_closed_total") == 1);
  REQUIRE(assigned.send(to, Bytes(10)));
  CHECK(run_until(loop, [&] { return received == 3; }));
}

namespace {

// In the child of a fork, inside its own network namespace whose loopback is slowed to
// 20 Mbit/s: the kernel holds datagrams in the qdisc, the small send buffer fills, and
// sendmmsg says EAGAIN. Exit 0 if every datagram still arrived, in order, after waiting
// for writability; 77 if this machine cannot build the namespace.
int exchange_through_a_slow_loopback() {
  if (unshare(CLONE_NEWNET) != 0) return 77;
  if (std::system("ip link set lo up && tc qdisc add dev lo root tbf rate 20mbit burst 16kb "
                  "latency 800ms") != 0)
    return 77;
  Loop loop;
  Counters counters;
  UdpOptions small = named("sender");
  small.socket_buffer_bytes = 16 * 1024;
  UdpSocket sender(loop, counters, small);
  UdpSocket receiver(loop, counters, named("receiver"));
  if (!sender.bind(kLoopback).ok() || !receiver.bind(kLoopback).ok()) return 2;
  constexpr std::uint32_t kTotal = 1000;
  std::uint32_t sent = 0, received = 0, out_of_order = 0;
  receiver.on_receive([&](std::span<const std::uint8_t> data, const Endpoint&) {
    if (index_of(data) != received) ++out_of_order;
    ++received;
  });
  const Endpoint to = receiver.local_endpoint().value();
  Bytes datagram(1200);
  Timer pump(loop);  // refills the queue as it drains, as a node under backpressure would
  pump.start(0ms, 1ms, [&] {
    for (; sent < kTotal; ++sent) {
      fill(datagram, sent);
      if (!sender.send(to, datagram)) break;
    }
  });
  bool done = run_until(
      loop, [&] { return received == kTotal; }, 20s);
  pump.stop();
  if (!done || out_of_order != 0) return 3;
  if (value(counters, "sender_tx_blocked_total") == 0) return 4;  // never hit the full buffer
  return value(counters, "sender_tx_datagrams_total") == kTotal ? 0 : 5;
}

}  // namespace

TEST_CASE("a full kernel send buffer holds the queue until the socket is writable again") {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(exchange_through_a_slow_loopback());
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    peermq::test::skip("needs root and iproute2's tc for a private network namespace");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

namespace {

// In the child of a fork, inside its own network namespace whose loopback has an MTU of
// 1,300: 1,000-byte runs fit and leave segmented; 1,400-byte ones do not (the kernel answers
// GSO with EMSGSIZE, or EINVAL before Linux 5.x), so they leave one by one, each fragmented by
// IP as any datagram over the MTU is, and GSO stays on for the runs after them. Exit 0 if all
// arrived in order and were counted so; 77 if this machine cannot build the namespace.
int exchange_over_a_small_mtu() {
  if (unshare(CLONE_NEWNET) != 0) return 77;
  if (std::system("ip link set lo up && ip link set lo mtu 1300") != 0) return 77;
  Loop loop;
  Counters counters;
  UdpSocket sender(loop, counters, named("sender"));
  UdpSocket receiver(loop, counters, named("receiver"));
  if (!sender.bind(kLoopback).ok() || !receiver.bind(kLoopback).ok()) return 2;
  if (!sender.using_gso()) return 77;
  std::vector<std::pair<std::uint32_t, std::size_t>> got, expected;
  receiver.on_receive([&](std::span<const std::uint8_t> data, const Endpoint&) {
    got.emplace_back(index_of(data).value_or(~0u), data.size());
  });
  const Endpoint to = receiver.local_endpoint().value();
  std::uint32_t next = 0;
  for (std::size_t size : {std::size_t{1000}, std::size_t{1400}, std::size_t{1000}}) {
    Bytes datagram(size);
    for (int i = 0; i < 20; ++i, ++next) {
      fill(datagram, next);
      if (!sender.send(to, datagram)) return 3;
      expected.emplace_back(next, size);
    }
    sender.flush();
  }
  if (!run_until(
          loop, [&] { return got.size() >= expected.size(); }, 10s))
    return 4;
  if (got != expected) return 5;
  if (value(counters, "sender_tx_gso_refused_total") != 1) return 6;
  if (value(counters, "sender_tx_gso_batches_total") != 2 || !sender.using_gso()) return 7;
  return value(counters, "sender_tx_datagrams_total") == 60 ? 0 : 8;
}

void expect_child_success(int (*body)()) {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(body());
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    peermq::test::skip("needs root and iproute2 for a private network namespace");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE(
    "a route whose MTU is below the segment size gets that run one by one, and GSO stays on") {
  expect_child_success(exchange_over_a_small_mtu);
}
