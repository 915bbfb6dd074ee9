// idle_producers_bench: many idle producers connected to one broker, from one process, so
// that the broker's memory per idle session can be measured (scripts/idle_bench.sh).
//
//   idle_producers_bench BROKER_ADDRESS HOST:PORT COUNT [SOURCE_PREFIX] [DIALS_PER_SECOND]
//       [TIMEOUT_SECONDS]
//
// Each producer is a real one to the broker: its own freshly generated identity (so its own
// session, channel and producer entry there), its own UDP socket, the Noise handshake
// (cookies and retries included), the transport frame with incarnations, a reliable
// Channel, and mq::ProducerCore's hello, accepted by the broker (hello_ok). The broker is
// dialed at HOST:PORT, as local discovery or -broker=ADDR@HOST:PORT would find it.
//
// Why not one overlay::Host per producer: each UdpSocket preallocates (and
// zero-fills, so it is resident) a 1.25 MiB receive slab and a 1.4 MiB send ring, about
// 2.7 MiB per producer. Here each producer runs the same protocol cores (SessionEndpoint,
// Channel, ProducerCore) the way overlay::Host and ProducerClient join them, over a plain
// libuv UDP handle, with one shared receive buffer; the broker cannot tell the difference.
//
// Sources: the broker limits handshakes per source IP (limits::kHandshakesPerSecondPerSource
// source, 20/s), as it must, so 10,000 producers from one address would take 500 s to get
// in. SOURCE_PREFIX "127.N" binds producer i to 127.N.(i / 250).(1 + i % 250): loopback
// addresses that stand for distinct hosts. "127.0.0.1" binds them all to 127.0.0.1.
// Default: 127.0.0.1. New dials are paced (DIALS_PER_SECOND, default 250), so the broker's
// load threshold (limits::kUnderLoadHandshakesPerSecond) is met by cookies, which the
// session layer handles, not by losses.
//
// Prints "connected: K/COUNT" once every producer's hello was accepted (exit code 0 later)
// or at the timeout (TIMEOUT_SECONDS, default 60; exit code 1 at once). Then stays idle,
// reconnecting any producer whose session closes, until SIGTERM or SIGINT: exit 0.
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include <peermq/address.hpp>
#include <peermq/identity.hpp>

#include "platform/sockaddr.hpp"
#include "channel/channel.hpp"
#include "mq/producer_core.hpp"
#include "wire/endpoint.hpp"
#include "platform/loop.hpp"
#include "platform/signal_watcher.hpp"
#include "platform/timer.hpp"
#include "service/broker_client.hpp"
#include "session/session_endpoint.hpp"
#include "wire/transport_frame.hpp"

namespace {

using namespace peermq;
using peermq::Endpoint;
using platform::Loop;

constexpr std::size_t kHeader = limits::kTransportFrameHeaderSize;

// One receive buffer for every socket and one packet being built: the loop's thread
// handles one datagram (or timer) at a time.
std::array<char, 64 * 1024> g_receive_buffer;
std::array<std::uint8_t, kHeader + limits::kMaxPacketSize> g_packet;

std::uint64_t new_incarnation() {
  static std::uint64_t last = 0;
  const auto ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  last = std::max(last + 1, ns);
  return last;
}

struct Shared {
  Loop& loop;
  PublicKey broker;
  Endpoint broker_endpoint;
  std::size_t ready = 0;  // producers whose hello the broker accepted at least once
  std::size_t refused = 0;
  std::size_t closed = 0;  // sessions the session layer closed (idle timeout, give-up)
};

// A real client's channel: it PINGs the broker after limits::kClientKeepaliveInterval of
// silence, so an idle session stays up (without it both ends closed it after
// kSessionIdleTimeout, and a fill that takes longer measured reconnects, not idling).
channel::ChannelConfig client_channel_config() {
  return service::client_host_options(overlay::HostOptions{}).channel;
}

// One producer: what overlay::Host + ProducerClient do for one peer (the broker).
class Producer final : mq::MessageSink {
 public:
  Producer(Shared& shared, const Identity& identity)
      : shared_(shared),
        sessions_(identity, session::SessionConfig{}, shared.loop.now(),
                  std::chrono::system_clock::now()),
        channel_(client_channel_config()),
        core_(mq::ProducerConfig{}, *this, std::chrono::system_clock::now()),
        timer_(shared.loop),
        incarnation_(new_incarnation()) {}
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  ~Producer() { close(); }

  // Binds to `source` (port 0) and says hello; false if the socket cannot be opened.
  bool start(const Endpoint& source, std::string* error) {
    udp_ = new uv_udp_t;
    if (int rc = uv_udp_init(shared_.loop.raw(), udp_); rc != 0) {
      delete udp_;
      udp_ = nullptr;
      *error = std::string("uv_udp_init: ") + uv_strerror(rc);
      return false;
    }
    udp_->data = this;
    sockaddr_storage address{};
    platform::to_sockaddr(source, address);
    int rc = uv_udp_bind(udp_, reinterpret_cast<const sockaddr*>(&address), 0);
    if (rc == 0) rc = uv_udp_recv_start(udp_, on_alloc, on_receive);
    if (rc != 0) {
      *error = "binding " + source.to_string() + ": " + uv_strerror(rc);
      close();
      return false;
    }
    core_.on_connected(shared_.loop.now());  // hello goes into the channel
    service(shared_.loop.now());
    return true;
  }

  void close() noexcept {
    timer_.stop();
    if (udp_ == nullptr) return;
    udp_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(udp_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
    udp_ = nullptr;
  }

  bool ready() const noexcept { return ready_; }
  // For the report of those not ready at the timeout.
  const char* state(Instant now) const {
    if (ready_) return "ready";
    const session::Session* s = sessions_.session(shared_.broker);
    if (s == nullptr) return "no session";
    if (s->can_send(now)) return "session up, no hello_ok";
    if (s->handshake_pending()) return "handshaking";
    return "no keys";
  }

 private:
  // mq::MessageSink: a full send buffer drops the message; the core sends it again.
  void send(std::span<const std::uint8_t> message) override { (void)channel_.send(message); }

  static void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) {
    *buf = uv_buf_init(g_receive_buffer.data(), static_cast<unsigned>(g_receive_buffer.size()));
  }

  static void on_receive(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                         unsigned) {
    auto* self = static_cast<Producer*>(handle->data);
    if (self == nullptr || nread < 0 || from == nullptr) return;
    auto source = platform::from_sockaddr(from);
    if (!source) return;
    const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(buf->base),
                                 static_cast<std::size_t>(nread));
    const Instant now = self->shared_.loop.now();
    auto events = self->sessions_.on_datagram(bytes, *source, now);
    self->handle(events, now);
    self->service(now);
  }

  void on_timer() {
    const Instant now = shared_.loop.now();
    if (sessions_.next_deadline() <= now) {
      auto events = sessions_.on_timeout(now);
      handle(events, now);
    }
    if (channel_.next_deadline() <= now) channel_.on_timeout(now);
    if (core_.next_deadline() <= now) core_.on_timeout(now);
    service(now);
  }

  void handle(std::vector<session::SessionEvent>& events, Instant now) {
    for (session::SessionEvent& e : events) {
      if (e.peer != shared_.broker && e.kind != session::SessionEvent::Kind::dropped) continue;
      switch (e.kind) {
        case session::SessionEvent::Kind::established: send_header_only(now); break;
        case session::SessionEvent::Kind::delivered: deliver(e.data, now); break;
        case session::SessionEvent::Kind::handshake_failed:
        case session::SessionEvent::Kind::closed:
          ++shared_.closed;
          reconnect(now);
          break;
        case session::SessionEvent::Kind::dropped: break;
      }
    }
  }

  // As overlay::Host on a new session: tell the broker who we are at once.
  void send_header_only(Instant now) {
    std::array<std::uint8_t, kHeader> header{};
    wire::encode_transport_frame_header(wire::FrameKind::channel, incarnation_, broker_incarnation_,
                                        header);
    (void)sessions_.send(shared_.broker, header, now, session::Elicits::nothing);
  }

  void deliver(std::span<const std::uint8_t> packet, Instant now) {
    auto frame = wire::decode_transport_frame(packet);
    if (!frame) return;
    if (frame->sender_incarnation < broker_incarnation_) return;  // its previous run
    if (frame->sender_incarnation > broker_incarnation_) {
      const bool restarted = broker_incarnation_ != 0;
      broker_incarnation_ = frame->sender_incarnation;
      if (restarted) {  // a fresh channel on both sides, and hello again
        channel_ = channel::Channel{client_channel_config()};
        reconnect(now);
      }
    }
    if (frame->receiver_incarnation != 0 && frame->receiver_incarnation != incarnation_) return;
    if (frame->kind != wire::FrameKind::channel) return;
    if (frame->body.empty()) {  // incarnations only: no answer owed, as in overlay::Host
      sessions_.owe_nothing(shared_.broker);
      return;
    }
    if (!channel_.on_packet(frame->body, now)) return;
    if (!channel_.last_received_eliciting()) sessions_.owe_nothing(shared_.broker);
    while (auto message = channel_.poll_message()) {
      auto event = core_.on_message(*message, now);
      if (!event) continue;
      if (event->kind == mq::ProducerEvent::Kind::ready && !ready_) {
        ready_ = true;
        ++shared_.ready;
      } else if (event->kind == mq::ProducerEvent::Kind::refused) {
        ++shared_.refused;
      }
    }
  }

  void reconnect(Instant now) {
    core_.on_disconnected();
    core_.on_connected(now);
  }

  // Sends what the channel may send, hands datagrams to the socket, re-arms the timer.
  void service(Instant now) {
    if (udp_ == nullptr) return;
    const session::Session* s = sessions_.session(shared_.broker);
    if (s != nullptr && s->can_send(now)) {
      for (int i = 0; i < 64; ++i) {  // bounded: the pacer and window stop it sooner
        const std::size_t n = channel_.poll_packet(std::span(g_packet).subspan(kHeader), now);
        if (n == 0) break;
        wire::encode_transport_frame_header(wire::FrameKind::channel, incarnation_,
                                            broker_incarnation_,
                                            std::span(g_packet).first<kHeader>());
        (void)sessions_.send(shared_.broker, std::span(g_packet).first(kHeader + n), now,
                             channel_.last_sent_eliciting() ? session::Elicits::answer
                                                            : session::Elicits::nothing);
      }
    } else {
      const bool waiting = s != nullptr && (s->handshake_pending() || s->keypair_count() > 0);
      if (!waiting && !channel_.all_acked()) (void)sessions_.connect(shared_.broker, now);
    }
    while (auto d = sessions_.poll_transmit()) {
      const Endpoint to = d->to ? *d->to : shared_.broker_endpoint;
      sockaddr_storage address{};
      platform::to_sockaddr(to, address);
      uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(d->bytes.data()),
                                 static_cast<unsigned>(d->bytes.size()));
      (void)uv_udp_try_send(udp_, &buf, 1, reinterpret_cast<const sockaddr*>(&address));
    }
    Instant next = std::min(sessions_.next_deadline(), core_.next_deadline());
    if (s != nullptr && s->can_send(now)) next = std::min(next, channel_.next_deadline());
    if (next == Instant::max()) {
      timer_.stop();
    } else if (next != armed_at_ || !timer_armed_) {
      armed_at_ = next;
      timer_armed_ = true;
      timer_.start_at(std::max(next, now), [this] {
        timer_armed_ = false;
        on_timer();
      });
    }
  }

  Shared& shared_;
  session::SessionEndpoint sessions_;
  channel::Channel channel_;
  mq::ProducerCore core_;
  platform::Timer timer_;
  uv_udp_t* udp_ = nullptr;
  std::uint64_t incarnation_;
  std::uint64_t broker_incarnation_ = 0;
  Instant armed_at_ = Instant::max();
  bool timer_armed_ = false;
  bool ready_ = false;
};

// 127.N.(i / 250).(1 + i % 250), or one fixed address.
Endpoint source_of(std::size_t i, int prefix) {
  if (prefix < 0) return Endpoint::v4({127, 0, 0, 1}, 0);
  return Endpoint::v4({127, static_cast<std::uint8_t>(prefix), static_cast<std::uint8_t>(i / 250),
                       static_cast<std::uint8_t>(1 + i % 250)},
                      0);
}

bool raise_file_limit(std::size_t needed) {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return false;
  if (r.rlim_cur >= needed) return true;
  if (r.rlim_max < needed && r.rlim_max != RLIM_INFINITY) {
    r.rlim_max = needed;  // root may raise the hard limit
  }
  r.rlim_cur = needed;
  return setrlimit(RLIMIT_NOFILE, &r) == 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: idle_producers_bench BROKER_ADDRESS HOST:PORT COUNT [SOURCE_PREFIX] "
               "[DIALS_PER_SECOND] [TIMEOUT_SECONDS]\n"
               "  SOURCE_PREFIX: 127.0.0.1 (default) or 127.N (one loopback address each)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 7) return usage();
  auto broker = Address::parse(argv[1]);
  auto where = Endpoint::parse(argv[2]);
  const long count = std::strtol(argv[3], nullptr, 10);
  if (!broker || !where || count <= 0 || count > 60000) return usage();
  int prefix = -1;
  if (argc > 4 && std::string_view(argv[4]) != "127.0.0.1") {
    const std::string_view p = argv[4];
    if (p.substr(0, 4) != "127.") return usage();
    prefix = std::atoi(argv[4] + 4);
    if (prefix < 1 || prefix > 254 || count > 250 * 256) return usage();
  }
  const double rate = argc > 5 ? std::strtod(argv[5], nullptr) : 250.0;
  const long timeout_s = argc > 6 ? std::strtol(argv[6], nullptr, 10) : 60;
  if (rate <= 0 || timeout_s <= 0) return usage();
  const auto total = static_cast<std::size_t>(count);
  if (!raise_file_limit(total + 64)) {
    std::fprintf(stderr, "idle_producers_bench: cannot raise RLIMIT_NOFILE to %zu\n", total + 64);
    return 1;
  }

  Loop loop;
  Shared shared{loop, broker->public_key(), *where};
  std::vector<std::unique_ptr<Producer>> producers;
  producers.reserve(total);
  bool stop = false;
  platform::SignalWatcher signals(loop, [&](int) { stop = true; });
  (void)signals.watch(SIGINT);
  (void)signals.watch(SIGTERM);

  // Dials `rate` producers per second, in steps of 10 ms.
  const Instant started = loop.now();
  std::string error;
  bool failed = false;
  platform::Timer dialer(loop);
  dialer.start(Duration::zero(), std::chrono::milliseconds(10), [&] {
    const double elapsed = std::chrono::duration<double>(loop.now() - started).count();
    const auto due = std::min(total, static_cast<std::size_t>(rate * elapsed) + 1);
    while (producers.size() < due && !failed) {
      const Identity identity = Identity::generate();
      producers.push_back(std::make_unique<Producer>(shared, identity));
      if (!producers.back()->start(source_of(producers.size() - 1, prefix), &error)) failed = true;
    }
    if (producers.size() == total || failed) dialer.stop();
  });

  // Wakes the loop at least every 100 ms, so the deadline is checked even when all is quiet.
  platform::Timer watchdog(loop);
  watchdog.start(std::chrono::milliseconds(100), std::chrono::milliseconds(100), [] {});
  const Instant deadline = started + std::chrono::seconds(timeout_s);
  while (!stop && !failed && shared.ready < total && loop.now() < deadline) loop.run_once();
  dialer.stop();
  watchdog.stop();
  const bool all = shared.ready == total;
  std::printf("connected: %zu/%zu\n", shared.ready, total);
  std::fflush(stdout);
  if (failed) std::fprintf(stderr, "idle_producers_bench: %s\n", error.c_str());
  if (!all) {
    std::map<std::string, std::size_t> states;
    for (const auto& p : producers) ++states[p->state(loop.now())];
    for (const auto& [state, n] : states) {
      std::fprintf(stderr, "idle_producers_bench: %zu %s\n", n, state.c_str());
    }
  }
  if (shared.refused > 0) {
    std::fprintf(stderr, "idle_producers_bench: the broker refused %zu hellos\n", shared.refused);
  }
  if (all && !stop) {
    std::fprintf(stderr,
                 "idle_producers_bench: %zu producers connected in %.1f s; idle until "
                 "SIGTERM\n",
                 total, std::chrono::duration<double>(loop.now() - started).count());
    while (!stop) loop.run_once();  // ends with the signal
    std::fprintf(stderr, "idle_producers_bench: %zu sessions closed (and reconnected) in %.0f s\n",
                 shared.closed, std::chrono::duration<double>(loop.now() - started).count());
  }
  for (auto& p : producers) p->close();
  producers.clear();
  (void)loop.run_nowait();  // the sockets' close callbacks; the Loop closes what is left
  return all ? 0 : 1;
}
