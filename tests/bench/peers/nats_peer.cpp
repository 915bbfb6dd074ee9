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
// JetStream (scripts/durable_bench.sh; nats-server started with -js -sd DIR):
//   nats_peer js-publisher -url=... -stream=NAME -subject=S -count=N -inflight=K -size=100
//       creates the file-storage stream NAME on subject S (unless it exists), publishes N
//       messages to it with js_PublishAsync, at most K without their publish ack
//       (PublishAsync.MaxPending = K: a publish beyond that waits in the library), and
//       prints the latency line (publish to the stream's ack) and `confirmed: K/N`.
//   nats_peer js-responder -url=... -stream=NAME -subject=S [-prefetch=1024]
//       creates the stream, consumes it with a push consumer (explicit acks, MaxAckPending
//       -prefetch), answers each request with core NATS to the inbox in its Bench-Reply
//       header, then acks it; prints "ready", runs until SIGINT or SIGTERM.
//   nats_peer js-requester -url=... -subject=S -count=N -inflight=K -size=100
//       the requester's loop with each request stored in the stream (js_PublishMsgAsync,
//       the inbox in a Bench-Reply header; a JetStream message's own reply subject is its
//       ack subject); a refused store fails the run.
//   nats_peer js-purge -url=... -stream=NAME   empties the stream, keeps it (between runs,
//       untimed, so a run never pays for creating the stream again).
// JetStream's ack means the server has the message in its file store, not that it is on
// disk: nats-server 2.9 fsyncs the store in the background every 60 s (its filestore's
// defaultSyncInterval; 2.9 has no option to change it, 2.10 added sync_interval).
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
// - JetStream publishes are async (js_PublishAsync, acks handled by an AckHandler on the
//   library's thread), the C client's way to have many in flight; js_Publish waits for
//   each ack. The ack handler owns and destroys the original message, as the docs say.
// - IO buffers at the default 32 KiB: 1,024 requests of 100 bytes (plus ~40 bytes of
//   protocol each) fit in ~140 KiB, read and written in a few calls either way.
#include <nats/nats.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "peer_common.hpp"

namespace {

using bench_peer::Flags;
using bench_peer::Load;
using bench_peer::now_ns;
using bench_peer::print_result;

constexpr const char* kSubject = "rr";
constexpr const char* kQueueGroup = "workers";

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

// Sends one request (PAYLOAD, LEN) whose answer goes to INBOX; false on an error.
using SendRequest = bool (*)(void* sender, const char* inbox, const char* payload, int len);

bool send_core_request(void* nc, const char* inbox, const char* payload, int len) {
  return check(natsConnection_PublishRequest(static_cast<natsConnection*>(nc), kSubject, inbox,
                                             payload, len),
               "publish");
}

// Keeps `inflight` requests outstanding on NC, answers taken from a synchronous
// subscription on one inbox and matched by the request id in the first 8 payload bytes;
// prints the result lines. Returns the exit status.
int request_loop(natsConnection* nc, const Load& load, SendRequest send, void* sender) {
  const auto [count, inflight, size, timeout_ns] = load;
  natsSubscription* sub = nullptr;
  natsInbox* inbox = nullptr;
  bool ok = check(natsInbox_Create(&inbox), "inbox") &&
            check(natsConnection_SubscribeSync(&sub, nc, inbox), "subscribe") &&
            check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits") &&
            check(natsConnection_Flush(nc), "flush");

  std::vector<char> payload = load.payload();
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
      if (!send(sender, inbox, payload.data(), payload_len)) {
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
  return ok && answers == count ? 0 : 1;
}

int run_requester(const Flags& flags) {
  natsOptions* opts = make_options(flags);
  if (opts == nullptr) return 1;
  natsConnection* nc = nullptr;
  const int status = check(natsConnection_Connect(&nc, opts), "connect")
                         ? request_loop(nc, Load::from(flags), send_core_request, nc)
                         : 1;
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  nats_Close();
  return status;
}

// ---------------------------------------------------------------- JetStream

constexpr const char* kReplyHeader = "Bench-Reply";  // where a JetStream request's answer goes

// The file-storage stream -stream (subject -subject), created unless it exists.
bool add_stream(jsCtx* js, const Flags& flags) {
  const std::string name = flags.text("stream", "DURABLE");
  const std::string subject = flags.text("subject", "durable");
  const char* subjects[] = {subject.c_str()};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_AddStream(&info, js, &cfg, nullptr, &code);
  jsStreamInfo_Destroy(info);
  if (s == NATS_OK || code == JSStreamNameExistErr) return true;
  std::fprintf(stderr, "nats_peer: add stream %s: %s (JetStream error %d)\n", name.c_str(),
               natsStatus_GetText(s), static_cast<int>(code));
  return false;
}

// What the publish-ack callback (on the library's reply thread) and the publishing thread
// share: publish times by message id, and the outcome so far.
struct AckState {
  explicit AckState(std::uint64_t count) : sent_at(count) { latencies_us.reserve(count); }
  std::vector<std::atomic<std::int64_t>> sent_at;
  std::mutex mu;
  std::condition_variable settled_cv;
  std::vector<std::int64_t> latencies_us;  // guarded by mu
  std::uint64_t acked = 0;                 // guarded by mu
  std::uint64_t failed = 0;                // guarded by mu
  bool timing = true;                      // false: count acks, measure nothing
};

void on_publish_ack(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
  auto& state = *static_cast<AckState*>(closure);
  const std::int64_t now = now_ns();
  std::uint64_t id = 0;
  if (natsMsg_GetDataLength(msg) >= static_cast<int>(sizeof id))
    std::memcpy(&id, natsMsg_GetData(msg), sizeof id);
  {
    const std::lock_guard lock(state.mu);
    if (ack != nullptr && id < state.sent_at.size()) {
      if (state.timing) state.latencies_us.push_back((now - state.sent_at[id].load()) / 1000);
      ++state.acked;
    } else {
      if (err != nullptr)
        std::fprintf(stderr, "nats_peer: publish refused: %s\n", natsStatus_GetText(err->Err));
      ++state.failed;
    }
  }
  state.settled_cv.notify_one();
  natsMsg_Destroy(msg);  // the callback owns the original message
}

// A JetStream context on NC whose async publishes report to STATE, at most MAX_PENDING
// unacknowledged (a publish beyond waits, up to the run's timeout).
jsCtx* make_js(natsConnection* nc, AckState* state, std::int64_t max_pending, std::int64_t timeout_ns) {
  jsOptions o;
  jsOptions_Init(&o);
  o.PublishAsync.MaxPending = max_pending;
  o.PublishAsync.AckHandler = on_publish_ack;
  o.PublishAsync.AckHandlerClosure = state;
  o.PublishAsync.StallWait = timeout_ns / 1'000'000;
  jsCtx* js = nullptr;
  return check(natsConnection_JetStream(&js, nc, &o), "jetstream") ? js : nullptr;
}

// Waits until every one of COUNT publishes was acked or refused, or the deadline.
bool wait_settled(AckState& state, std::uint64_t count, std::int64_t deadline) {
  std::unique_lock lock(state.mu);
  const auto left = std::chrono::nanoseconds(std::max<std::int64_t>(0, deadline - now_ns()));
  return state.settled_cv.wait_for(lock, left, [&] { return state.acked + state.failed >= count; });
}

int run_js_publisher(const Flags& flags) {
  const Load load = Load::from(flags);
  const std::string subject = flags.text("subject", "durable");
  natsOptions* opts = make_options(flags);
  if (opts == nullptr) return 1;
  natsConnection* nc = nullptr;
  AckState state(load.count);
  jsCtx* js = nullptr;
  bool ok = check(natsConnection_Connect(&nc, opts), "connect") &&
            (js = make_js(nc, &state, static_cast<std::int64_t>(load.inflight), load.timeout_ns)) != nullptr &&
            add_stream(js, flags);
  std::vector<char> payload = load.payload();
  const std::int64_t deadline = now_ns() + load.timeout_ns;
  for (std::uint64_t id = 0; ok && id < load.count; ++id) {
    std::memcpy(payload.data(), &id, sizeof id);
    state.sent_at[id].store(now_ns());
    ok = check(js_PublishAsync(js, subject.c_str(), payload.data(), static_cast<int>(payload.size()),
                               nullptr),
               "publish");
  }
  if (ok && !wait_settled(state, load.count, deadline)) {
    std::fprintf(stderr, "nats_peer: timed out\n");
    ok = false;
  }
  std::uint64_t acked = 0;
  {
    const std::lock_guard lock(state.mu);
    acked = state.acked;
    print_result(state.latencies_us, acked, load.count, "confirmed");
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  nats_Close();
  return ok && acked == load.count ? 0 : 1;
}

// A JetStream request: the payload stored in the stream, the inbox in a header.
struct JsSender {
  jsCtx* js;
  const char* subject;
};

bool send_js_request(void* sender, const char* inbox, const char* payload, int len) {
  const auto& s = *static_cast<JsSender*>(sender);
  natsMsg* msg = nullptr;
  if (!check(natsMsg_Create(&msg, s.subject, nullptr, payload, len), "message") ||
      !check(natsMsgHeader_Set(msg, kReplyHeader, inbox), "header")) {
    natsMsg_Destroy(msg);
    return false;
  }
  const natsStatus st = js_PublishMsgAsync(s.js, &msg, nullptr);  // takes msg on success
  natsMsg_Destroy(msg);
  return check(st, "publish");
}

int run_js_requester(const Flags& flags) {
  const Load load = Load::from(flags);
  const std::string subject = flags.text("subject", "durable");
  natsOptions* opts = make_options(flags);
  if (opts == nullptr) return 1;
  natsConnection* nc = nullptr;
  AckState state(load.count);
  state.timing = false;  // the answer is what is timed; a refused store still fails the run
  jsCtx* js = nullptr;
  // The answer window bounds the stores in flight; twice that leaves room for acks that
  // trail their answers.
  int status = 1;
  if (check(natsConnection_Connect(&nc, opts), "connect") &&
      (js = make_js(nc, &state, 2 * static_cast<std::int64_t>(load.inflight), load.timeout_ns)) != nullptr) {
    JsSender sender{js, subject.c_str()};
    status = request_loop(nc, load, send_js_request, &sender);
    const std::lock_guard lock(state.mu);
    if (state.failed > 0) status = 1;
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  nats_Close();
  return status;
}

void on_js_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  const char* reply = nullptr;
  if (natsMsgHeader_Get(msg, kReplyHeader, &reply) == NATS_OK && reply != nullptr) {
    // An error here means the connection is gone; the requester then times out.
    natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  }
  natsMsg_Ack(msg, nullptr);  // after the answer: an unanswered request is delivered again
  natsMsg_Destroy(msg);
}

int run_js_responder(const Flags& flags) {
  sigset_t stop_signals;  // as run_responder: taken by sigwait, never inside the client
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string subject = flags.text("subject", "durable");
  const std::string stream = flags.text("stream", "DURABLE");
  natsOptions* opts = make_options(flags);
  if (opts == nullptr) return 1;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  natsSubscription* sub = nullptr;
  AckState unused(0);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.ManualAck = true;
  so.Config.MaxAckPending = flags.integer("prefetch", 1024);
  bool ok = check(natsConnection_Connect(&nc, opts), "connect") &&
            (js = make_js(nc, &unused, 1, 1'000'000'000)) != nullptr && add_stream(js, flags) &&
            check(js_Subscribe(&sub, js, subject.c_str(), on_js_request, nullptr, nullptr, &so, nullptr),
                  "subscribe") &&
            check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits") &&
            check(natsConnection_Flush(nc), "flush");
  if (ok) {
    std::printf("ready\n");
    std::fflush(stdout);
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
  }
  natsSubscription_Destroy(sub);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  nats_Close();
  return ok ? 0 : 1;
}

int run_js_purge(const Flags& flags) {
  const std::string stream = flags.text("stream", "DURABLE");
  natsOptions* opts = make_options(flags);
  if (opts == nullptr) return 1;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  AckState unused(0);
  jsErrCode code = static_cast<jsErrCode>(0);
  const bool ok = check(natsConnection_Connect(&nc, opts), "connect") &&
                  (js = make_js(nc, &unused, 1, 1'000'000'000)) != nullptr &&
                  check(js_PurgeStream(js, stream.c_str(), nullptr, &code), "purge");
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  natsOptions_Destroy(opts);
  nats_Close();
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view role = argc > 1 ? argv[1] : "";
  using Run = int (*)(const Flags&);
  constexpr std::pair<std::string_view, Run> kRoles[] = {
      {"responder", run_responder},         {"requester", run_requester},
      {"js-publisher", run_js_publisher},   {"js-responder", run_js_responder},
      {"js-requester", run_js_requester},   {"js-purge", run_js_purge},
  };
  Run run = nullptr;
  for (const auto& [name, fn] : kRoles)
    if (name == role) run = fn;
  Flags flags;
  if (run == nullptr || !flags.parse("nats_peer", argc, argv, 2)) {
    std::fprintf(stderr,
                 "usage: nats_peer responder -url=nats://HOST:PORT [-flush=asap|batched]\n"
                 "       nats_peer requester -url=... -count=N -inflight=K -size=BYTES "
                 "[-timeout=SECONDS] [-flush=asap|batched]\n"
                 "       nats_peer js-publisher -url=... -stream=NAME -subject=SUBJECT -count=N "
                 "-inflight=K -size=BYTES [-timeout=SECONDS] [-flush=...]\n"
                 "       nats_peer js-responder -url=... -stream=NAME -subject=SUBJECT "
                 "[-prefetch=1024] [-flush=...]\n"
                 "       nats_peer js-requester -url=... -subject=SUBJECT -count=N -inflight=K "
                 "-size=BYTES [-timeout=SECONDS] [-flush=...]\n"
                 "       nats_peer js-purge -url=... -stream=NAME\n");
    return 2;
  }
  return run(flags);
}
