// zmq_peer: the ZeroMQ side of scripts/compare_bench.sh, request -> answer through a
// ROUTER/DEALER proxy to a REP worker with libzmq's C API, measured the way the peermq
// producer measures.
//
//   zmq_peer broker -front=tcp://127.0.0.1:P1 -back=tcp://127.0.0.1:P2
//       binds a ROUTER (clients) and a DEALER (workers) and runs zmq_proxy between them;
//       a port of * binds a free one. Prints "front: ENDPOINT", "back: ENDPOINT" (the bound
//       ones) and "ready"; runs until killed.
//   zmq_peer worker -back=ENDPOINT
//       REP: receives a request, sends its payload back (the same zmq_msg_t, no copy).
//   zmq_peer client -front=ENDPOINT -count=N -inflight=K -size=100 [-timeout=SECONDS]
//       DEALER sending [empty delimiter][payload] so the REP worker sees a proper envelope;
//       keeps K requests outstanding, answers matched by the request id in the first 8
//       payload bytes; prints the peermq producer's two lines, `latency: p50=Nus p99=Nus
//       max=Nus` and `answers: K/N`; exits 0 only when all N were answered in time.
//
// Every socket's send and receive high-water marks are 65,536 messages (the default is
// 1,000), so 1,024 requests in flight never block a sender or drop at the ROUTER. One I/O
// thread per context (the default) is what libzmq recommends below a gigabyte a second.
#include <zmq.h>

#include "peer_common.hpp"

#include <algorithm>
#include <cerrno>
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

constexpr int kHighWaterMark = 65'536;

using bench_peer::Flags;
using bench_peer::Load;
using bench_peer::now_ns;
using bench_peer::print_result;

bool check(int rc, const char* what) {
  if (rc >= 0) return true;
  std::fprintf(stderr, "zmq_peer: %s: %s\n", what, zmq_strerror(zmq_errno()));
  return false;
}

// A socket with the high-water marks and no linger (nothing is worth waiting for at exit).
void* make_socket(void* ctx, int type) {
  void* socket = zmq_socket(ctx, type);
  if (socket == nullptr) {
    check(-1, "socket");
    return nullptr;
  }
  const int linger = 0;
  if (!check(zmq_setsockopt(socket, ZMQ_SNDHWM, &kHighWaterMark, sizeof kHighWaterMark), "sndhwm") ||
      !check(zmq_setsockopt(socket, ZMQ_RCVHWM, &kHighWaterMark, sizeof kHighWaterMark), "rcvhwm") ||
      !check(zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger), "linger")) {
    zmq_close(socket);
    return nullptr;
  }
  return socket;
}

bool bind_and_print(void* socket, const std::string& endpoint, const char* name) {
  if (!check(zmq_bind(socket, endpoint.c_str()), name)) return false;
  char bound[256] = {};
  std::size_t length = sizeof bound;
  if (!check(zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, bound, &length), "last endpoint")) return false;
  std::printf("%s: %s\n", name, bound);
  return true;
}

int run_broker(const Flags& flags) {
  void* ctx = zmq_ctx_new();
  void* front = make_socket(ctx, ZMQ_ROUTER);
  void* back = make_socket(ctx, ZMQ_DEALER);
  bool ok = front != nullptr && back != nullptr &&
            bind_and_print(front, flags.text("front", "tcp://127.0.0.1:*"), "front") &&
            bind_and_print(back, flags.text("back", "tcp://127.0.0.1:*"), "back");
  if (ok) {
    std::printf("ready\n");
    std::fflush(stdout);
    zmq_proxy(front, back, nullptr);  // returns only when the context ends
  }
  if (front != nullptr) zmq_close(front);
  if (back != nullptr) zmq_close(back);
  zmq_ctx_term(ctx);
  return ok ? 0 : 1;
}

int run_worker(const Flags& flags) {
  void* ctx = zmq_ctx_new();
  void* socket = make_socket(ctx, ZMQ_REP);
  bool ok = socket != nullptr &&
            check(zmq_connect(socket, flags.text("back", "tcp://127.0.0.1:5556").c_str()), "connect");
  if (ok) {
    std::printf("ready\n");
    std::fflush(stdout);
  }
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (ok) {
    // The answer is the request's own message: zmq_msg_send takes it and leaves msg empty,
    // ready for the next receive.
    ok = check(zmq_msg_recv(&msg, socket, 0), "receive") && check(zmq_msg_send(&msg, socket, 0), "send");
  }
  zmq_msg_close(&msg);
  if (socket != nullptr) zmq_close(socket);
  zmq_ctx_term(ctx);
  return 1;  // the worker runs until killed; coming here means an error
}

int run_client(const Flags& flags) {
  const Load load = Load::from(flags);
  const auto [count, inflight, size, timeout_ns] = load;

  void* ctx = zmq_ctx_new();
  void* socket = make_socket(ctx, ZMQ_DEALER);
  bool ok = socket != nullptr &&
            check(zmq_connect(socket, flags.text("front", "tcp://127.0.0.1:5555").c_str()), "connect");

  std::vector<char> payload = load.payload();
  std::vector<char> answer(size);
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
      if (!check(zmq_send(socket, nullptr, 0, ZMQ_SNDMORE), "send delimiter") ||
          !check(zmq_send(socket, payload.data(), size, 0), "send")) {
        ok = false;
        break;
      }
      ++sent;
    }
    if (!ok) break;
    // An answer is [empty delimiter][payload]. Take what has arrived without waiting; poll
    // (up to the deadline) only when nothing has.
    int n = zmq_recv(socket, answer.data(), answer.size(), ZMQ_DONTWAIT);
    if (n < 0 && zmq_errno() == EAGAIN) {
      const std::int64_t left_ms = (deadline - now_ns()) / 1'000'000;
      zmq_pollitem_t item = {socket, 0, ZMQ_POLLIN, 0};
      if (left_ms <= 0 || !check(zmq_poll(&item, 1, static_cast<long>(left_ms)), "poll") ||
          (item.revents & ZMQ_POLLIN) == 0) {
        std::fprintf(stderr, "zmq_peer: timed out after %lld s\n",
                     static_cast<long long>(timeout_ns / 1'000'000'000));
        ok = false;
        break;
      }
      n = zmq_recv(socket, answer.data(), answer.size(), 0);
    }
    int payload_bytes = -1;
    for (int frame = 0; ok; ++frame) {
      ok = check(n, "receive");
      if (frame == 1) payload_bytes = n;
      int more = 0;
      std::size_t more_size = sizeof more;
      ok = ok && check(zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size), "rcvmore");
      if (!ok || more == 0) break;
      n = zmq_recv(socket, answer.data(), answer.size(), 0);
    }
    const std::int64_t received = now_ns();
    std::uint64_t id = 0;
    if (ok && payload_bytes >= static_cast<int>(sizeof id)) {
      std::memcpy(&id, answer.data(), sizeof id);
      if (id < sent && sent_at[id] != 0) {  // else a duplicate or garbage: not counted
        latencies_us.push_back((received - sent_at[id]) / 1000);
        sent_at[id] = 0;
        ++answers;
      }
    }
  }
  print_result(latencies_us, answers, count);
  if (socket != nullptr) zmq_close(socket);
  zmq_ctx_term(ctx);
  return ok && answers == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view role = argc > 1 ? argv[1] : "";
  Flags flags;
  if ((role != "broker" && role != "worker" && role != "client") || !flags.parse("zmq_peer", argc, argv, 2)) {
    std::fprintf(stderr,
                 "usage: zmq_peer broker -front=tcp://127.0.0.1:P1 -back=tcp://127.0.0.1:P2\n"
                 "       zmq_peer worker -back=ENDPOINT\n"
                 "       zmq_peer client -front=ENDPOINT -count=N -inflight=K -size=BYTES "
                 "[-timeout=SECONDS]\n");
    return 2;
  }
  if (role == "broker") return run_broker(flags);
  if (role == "worker") return run_worker(flags);
  return run_client(flags);
}
