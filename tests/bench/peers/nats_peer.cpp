// nats_peer: the NATS side of scripts/compare_bench.sh, request -> answer through a
// nats-server with the NATS C client, measured the way the peermq producer measures.
//
//   nats_peer responder -url=nats://127.0.0.1:PORT
//       queue-subscribes subject "rr" in group "workers" and answers every request with its
//       payload; prints "ready" once the server has the subscription, runs until SIGINT or
//       SIGTERM.
//   nats_peer requester -url=... -count=N -inflight=K -size=100 [-timeout=SECONDS]
//       keeps K requests outstanding (published on "rr" with one reply inbox, one
//       subscription on it, answers matched by the request id in the first 8 payload bytes)
//       and prints the peermq producer's two lines, `latency: p50=Nus p99=Nus max=Nus` (send
//       to answer) and `answers: K/N`; exits 0 only when all N were answered in time.
//
// How the client is used, and why (NATS C client 3.4 docs and source):
// - -flush=asap|batched picks natsOptions_SetSendAsap per connection. The client's default
//   (batched) buffers a publish and kicks a flusher thread, which waits 1 ms "to accumulate
//   more requests" before it writes: best for throughput, as the docs say, but up to 1 ms
//   per hop. SendAsap writes in the publish call; the docs name request/reply as its use (a
//   replier answers one message at a time), the replier example and the client's own
//   request benchmark set it. natsConnection_Flush is no substitute: it is a PING/PONG
//   round trip to the server. scripts/compare_bench.sh gives NATS the faster pair at each
//   level, measured on 2 cores: asap on both sides at 1 and 64 in flight, a batched
//   requester with an asap responder at 256, batched on both sides at 1,024.
// - The requester is one thread with a synchronous subscription on its inbox
//   (natsSubscription_NextMsg): the library's read thread parses and queues answers, this
//   thread publishes and takes answers, no callback thread in between. It publishes with
//   natsConnection_PublishRequest on one inbox (not natsConnection_Request, which is
//   synchronous, one request at a time).
// - The responder uses an asynchronous queue subscription (its callback runs on the
//   subscription's own delivery thread, as in the replier example and the client's
//   benchmark) and answers with natsConnection_Publish to the request's reply subject.
// - Pending limits off (-1, -1) on both subscriptions, as the client's examples do "for
//   maximum performance": 1,024 in flight must never count as a slow consumer.
// - IO buffers at the default 32 KiB: 1,024 requests of 100 bytes (plus ~40 bytes of
//   protocol each) fit in ~140 KiB, read and written in a few calls either way.
#include <nats/nats.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* kSubject = "rr";
constexpr const char* kQueueGroup = "workers";

// -name=value flags; anything else is a usage error.
struct Flags {
  std::map<std::string, std::string, std::less<>> values;

  bool parse(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      const std::string_view arg = argv[i];
      const auto eq = arg.find('=');
      if (arg.size() < 2 || arg[0] != '-' || eq == std::string_view::npos) {
        std::fprintf(stderr, "nats_peer: bad flag %s (use -name=value)\n", argv[i]);
        return false;
      }
      values.emplace(std::string(arg.substr(1, eq - 1)), std::string(arg.substr(eq + 1)));
    }
    return true;
  }
  std::string text(std::string_view name, std::string_view fallback) const {
    const auto it = values.find(name);
    return it == values.end() ? std::string(fallback) : it->second;
  }
  std::int64_t integer(std::string_view name, std::int64_t fallback) const {
    const auto it = values.find(name);
    return it == values.end() ? fallback : std::strtoll(it->second.c_str(), nullptr, 10);
  }
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool check(natsStatus s, const char* what) {
  if (s == NATS_OK) return true;
  std::fprintf(stderr, "nats_peer: %s: %s\n", what, natsStatus_GetText(s));
  return false;
}

// Options both roles share: the server, no reconnects (a benchmark must fail, not wait),
// and the flush mode.
natsOptions* make_options(const Flags& flags) {
  const std::string url = flags.text("url", "nats://127.0.0.1:4222");
  const std::string flush = flags.text("flush", "asap");
  if (flush != "asap" && flush != "batched") {
    std::fprintf(stderr, "nats_peer: -flush is asap or batched, not %s\n", flush.c_str());
    return nullptr;
  }
  const bool asap = flush == "asap";
  natsOptions* opts = nullptr;
  if (!check(natsOptions_Create(&opts), "options")) return nullptr;
  if (!check(natsOptions_SetURL(opts, url.c_str()), "url") ||
      !check(natsOptions_SetAllowReconnect(opts, false), "reconnect") ||
      !check(natsOptions_SetSendAsap(opts, asap), "send asap")) {
    natsOptions_Destroy(opts);
    return nullptr;
  }
  return opts;
}

void on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  const char* reply = natsMsg_GetReply(msg);
  if (reply != nullptr) {
    // An error here means the connection is gone; the requester then times out.
    natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  }
  natsMsg_Destroy(msg);
}

int run_responder(const Flags& flags) {
  // Signals stay blocked in every thread (the library's threads inherit this mask) and
  // are taken by sigwait below, so a stop never lands inside the client.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  natsOptions* opts = make_options(flags);
  if (opts == nullptr) return 1;
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  const bool ok = check(natsConnection_Connect(&nc, opts), "connect") &&
                  check(natsConnection_QueueSubscribe(&sub, nc, kSubject, kQueueGroup,
                                                      on_request, nullptr),
                        "subscribe") &&
                  check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits") &&
                  // The server has the subscription once its PONG is back.
                  check(natsConnection_Flush(nc), "flush");
  if (ok) {
    std::printf("ready\n");
    std::fflush(stdout);
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
  }
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  nats_Close();
  return ok ? 0 : 1;
}

void print_result(std::vector<std::int64_t>& latencies_us, std::uint64_t answers,
                  std::uint64_t count) {
  if (!latencies_us.empty()) {
    std::sort(latencies_us.begin(), latencies_us.end());
    const auto at = [&](double p) {
      const auto i = static_cast<std::size_t>(p * static_cast<double>(latencies_us.size()));
      return latencies_us[std::min(latencies_us.size() - 1, i)];
    };
    std::printf("latency: p50=%lldus p99=%lldus max=%lldus\n", static_cast<long long>(at(0.50)),
                static_cast<long long>(at(0.99)), static_cast<long long>(latencies_us.back()));
  }
  std::printf("answers: %llu/%llu\n", static_cast<unsigned long long>(answers),
              static_cast<unsigned long long>(count));
  std::fflush(stdout);
}

int run_requester(const Flags& flags) {
  const auto count = static_cast<std::uint64_t>(std::max<std::int64_t>(0, flags.integer("count", 1000)));
  const auto inflight = static_cast<std::uint64_t>(std::max<std::int64_t>(1, flags.integer("inflight", 1)));
  const auto size = static_cast<std::size_t>(std::clamp<std::int64_t>(flags.integer("size", 100), 8, 1 << 20));
  const std::int64_t timeout_ns = flags.integer("timeout", 60) * 1'000'000'000;

  natsOptions* opts = make_options(flags);
  if (opts == nullptr) return 1;
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  natsInbox* inbox = nullptr;
  bool ok = check(natsConnection_Connect(&nc, opts), "connect") &&
            check(natsInbox_Create(&inbox), "inbox") &&
            check(natsConnection_SubscribeSync(&sub, nc, inbox), "subscribe") &&
            check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits") &&
            check(natsConnection_Flush(nc), "flush");

  std::vector<char> payload(size);
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
  const int payload_len = static_cast<int>(size);
  std::vector<std::int64_t> sent_at(count, 0);  // by request id; 0: answered or not sent
  std::vector<std::int64_t> latencies_us;
  latencies_us.reserve(count);
  std::uint64_t sent = 0;
  std::uint64_t answers = 0;
  const std::int64_t deadline = now_ns() + timeout_ns;

  while (ok && answers < count) {
    while (sent < count && sent - answers < inflight) {
      std::memcpy(payload.data(), &sent, sizeof sent);
      sent_at[sent] = now_ns();
      if (!check(natsConnection_PublishRequest(nc, kSubject, inbox, payload.data(), payload_len),
                 "publish")) {
        ok = false;
        break;
      }
      ++sent;
    }
    if (!ok) break;
    const std::int64_t left_ms = (deadline - now_ns()) / 1'000'000;
    natsMsg* msg = nullptr;
    const natsStatus s = left_ms > 0 ? natsSubscription_NextMsg(&msg, sub, left_ms) : NATS_TIMEOUT;
    if (s == NATS_TIMEOUT) {
      std::fprintf(stderr, "nats_peer: timed out after %lld s\n",
                   static_cast<long long>(timeout_ns / 1'000'000'000));
      ok = false;
      break;
    }
    if (!check(s, "next message")) {
      ok = false;
      break;
    }
    const std::int64_t received = now_ns();
    std::uint64_t id = 0;
    if (natsMsg_GetDataLength(msg) >= static_cast<int>(sizeof id)) {
      std::memcpy(&id, natsMsg_GetData(msg), sizeof id);
      if (id < sent && sent_at[id] != 0) {  // else a duplicate or garbage: not counted
        latencies_us.push_back((received - sent_at[id]) / 1000);
        sent_at[id] = 0;
        ++answers;
      }
    }
    natsMsg_Destroy(msg);
  }
  print_result(latencies_us, answers, count);
  natsSubscription_Destroy(sub);
  natsInbox_Destroy(inbox);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  nats_Close();
  return ok && answers == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view role = argc > 1 ? argv[1] : "";
  Flags flags;
  if ((role != "responder" && role != "requester") || !flags.parse(argc, argv, 2)) {
    std::fprintf(stderr,
                 "usage: nats_peer responder -url=nats://HOST:PORT [-flush=asap|batched]\n"
                 "       nats_peer requester -url=... -count=N -inflight=K -size=BYTES "
                 "[-timeout=SECONDS] [-flush=asap|batched]\n");
    return 2;
  }
  return role == "responder" ? run_responder(flags) : run_requester(flags);
}
