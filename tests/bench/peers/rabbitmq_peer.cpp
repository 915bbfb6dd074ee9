// rabbitmq_peer: the RabbitMQ side of scripts/durable_bench.sh, durable messages through a
// rabbitmq-server with the C client librabbitmq (rabbitmq-c), measured the way the peermq
// producer measures.
//
//   rabbitmq_peer publisher -host=127.0.0.1 -port=P -queue=NAME -type=quorum|classic
//                           -count=N -inflight=K -size=100 [-timeout=SECONDS]
//       declares the durable queue NAME (x-queue-type), puts its channel in confirm mode and
//       publishes N persistent messages to it through the default exchange, at most K of
//       them unconfirmed; prints `latency: p50=Nus p99=Nus max=Nus` (publish to the
//       broker's basic.ack) and `confirmed: K/N`; exits 0 only when all N were confirmed
//       (a basic.nack fails the run).
//   rabbitmq_peer responder -host=... -port=... -queue=NAME -type=quorum|classic [-prefetch=256]
//       declares the queue, consumes it with manual acknowledgements, answers every request
//       with its payload and correlation id to its reply_to, then acks it; prints "ready"
//       once consuming, runs until killed.
//   rabbitmq_peer requester -host=... -port=... -queue=NAME -count=N -inflight=K -size=100
//       keeps K persistent requests outstanding on the queue (reply_to: direct reply-to,
//       correlation id: the request's number), prints the latency line (publish to answer)
//       and `answers: K/N`.
//   rabbitmq_peer purge -host=... -port=... -queue=NAME
//       removes the queue's messages and keeps the queue (the script empties the publishers'
//       queues between runs, untimed; deleting them would make every run declare a new
//       queue, a new Raft group for a quorum queue, inside its timed run).
//   -url=amqp://USER:PASS@HOST:PORT/VHOST may replace -host/-port (guest/guest on "/").
//
// How the client is used, and why (librabbitmq 0.11 headers and examples, RabbitMQ docs):
// - One connection, one channel (1), one thread: librabbitmq is a blocking, single-threaded
//   client; a thread publishes and reads the broker's frames on the same socket, as its
//   examples do. It sets TCP_NODELAY itself and sends the three frames of a publish
//   (method, header, body) with MSG_MORE on the first two, so a message is one TCP segment.
// - Heartbeats off (0): a run lasts seconds; heartbeats would only add frames. frame_max
//   131,072 (the library's and server's default); 100-byte bodies fit in one body frame.
// - Publisher confirms (confirm.select), not transactions: the RabbitMQ docs' way to know a
//   message is safe, and far faster than tx.commit. Messages persistent (delivery_mode 2)
//   on a durable queue, so a confirm means what the docs promise for that queue type:
//   quorum: the Raft log entry is fsynced (here on the only replica) before the ack;
//   classic: the message store writes persistent messages in batches (an fsync every few
//   hundred milliseconds, or when the queue goes idle), and the ack waits for that write.
// - Confirms are read as they come (the broker may ack several at once, multiple=true) and
//   every frame already in the library's buffer is handled before publishing again, so a
//   burst of acks refills the window in one go: K unconfirmed at most, never more.
// - Responder: basic.qos prefetch 256 (-prefetch): RabbitMQ's docs find 100-300 best for
//   throughput, and 256 holds every request of the most in flight this benchmark runs.
//   Acks are sent with multiple=true when no further delivery is buffered (one ack per
//   burst, the docs' "multiple" acknowledgement), never later than the answer they follow.
// - Requester: direct reply-to (amq.rabbitmq.reply-to, consumed with no-ack on the same
//   channel before the first publish): RabbitMQ's recommended RPC reply path, no reply
//   queue to declare or store. Requests carry no confirm: on a quorum queue a consumer
//   sees a message only once it is committed (fsynced), so an answer implies the request
//   was on disk; on a classic queue it does not (see the script's notes).
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <sys/time.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "peer_common.hpp"

namespace {

using bench_peer::Flags;
using bench_peer::Load;
using bench_peer::now_ns;

constexpr amqp_channel_t kChannel = 1;
constexpr const char* kDirectReplyTo = "amq.rabbitmq.reply-to";

amqp_bytes_t bytes_of(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}
std::string_view view_of(amqp_bytes_t b) {
  return {static_cast<const char*>(b.bytes), b.len};
}

bool status_ok(int status, const char* what) {
  if (status >= 0) return true;
  std::fprintf(stderr, "rabbitmq_peer: %s: %s\n", what, amqp_error_string2(status));
  return false;
}

// The outcome of the last RPC (login, declare, ...), with the server's reason when it
// closed the channel or the connection.
bool reply_ok(amqp_rpc_reply_t r, const char* what) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return true;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return status_ok(r.library_error, what);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD || r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        // Both close methods start with reply_code then reply_text.
        const auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        const std::string_view text = view_of(m->reply_text);
        std::fprintf(stderr, "rabbitmq_peer: %s: server closed: %u %.*s\n", what,
                     static_cast<unsigned>(m->reply_code), static_cast<int>(text.size()),
                     text.data());
      } else {
        std::fprintf(stderr, "rabbitmq_peer: %s: server exception (method 0x%08x)\n", what,
                     static_cast<unsigned>(r.reply.id));
      }
      return false;
    default:
      std::fprintf(stderr, "rabbitmq_peer: %s: no reply\n", what);
      return false;
  }
}

timeval until(std::int64_t deadline_ns) {
  const std::int64_t left_us = std::max<std::int64_t>(0, (deadline_ns - now_ns()) / 1000);
  return timeval{static_cast<time_t>(left_us / 1'000'000),
                 static_cast<suseconds_t>(left_us % 1'000'000)};
}

// A logged-in connection with channel 1 open, closed and freed on destruction.
class Connection {
 public:
  Connection() : conn_(amqp_new_connection()) {}
  ~Connection() {
    if (open_) {
      amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
      amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool open(const Flags& flags) {
    std::string url = flags.text("url", "");
    amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (!url.empty() && amqp_parse_url(url.data(), &info) != AMQP_STATUS_OK) {
      std::fprintf(stderr, "rabbitmq_peer: bad -url %s\n", url.c_str());
      return false;
    }
    const std::string host = flags.text("host", url.empty() ? "127.0.0.1" : info.host);
    const auto port = static_cast<int>(flags.integer("port", info.port));
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);  // owned by the connection
    if (socket == nullptr) {
      std::fprintf(stderr, "rabbitmq_peer: no socket\n");
      return false;
    }
    if (!status_ok(amqp_socket_open(socket, host.c_str(), port), "connect")) return false;
    if (!reply_ok(amqp_login(conn_, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user,
                             info.password),
                  "login"))
      return false;
    amqp_channel_open(conn_, kChannel);
    open_ = reply_ok(amqp_get_rpc_reply(conn_), "channel open");
    return open_;
  }

  // Declares the durable queue NAME of TYPE (quorum or classic), or checks it exists as one.
  bool declare(std::string_view name, std::string_view type) {
    amqp_table_entry_t entry;
    entry.key = amqp_cstring_bytes("x-queue-type");
    entry.value.kind = AMQP_FIELD_KIND_UTF8;
    entry.value.value.bytes = bytes_of(type);
    const amqp_table_t arguments{1, &entry};
    amqp_queue_declare(conn_, kChannel, bytes_of(name), 0, 1, 0, 0, arguments);
    return reply_ok(amqp_get_rpc_reply(conn_), "queue declare");
  }

  amqp_connection_state_t get() const { return conn_; }
  // Whether a frame can be read without blocking.
  bool buffered() const { return amqp_frames_enqueued(conn_) || amqp_data_in_buffer(conn_); }

 private:
  amqp_connection_state_t conn_;
  bool open_ = false;
};

bool queue_type_ok(std::string_view type) {
  if (type == "quorum" || type == "classic") return true;
  std::fprintf(stderr, "rabbitmq_peer: -type is quorum or classic, not %.*s\n",
               static_cast<int>(type.size()), type.data());
  return false;
}

// Publish times by delivery tag (1-based, as confirm mode counts), and which are confirmed.
class ConfirmWindow {
 public:
  explicit ConfirmWindow(std::uint64_t count) : sent_at_(count + 1, 0) { latencies_us_.reserve(count); }
  void sent(std::uint64_t tag) { sent_at_[tag] = now_ns(); }
  // basic.ack or basic.nack of `tag` (and of every earlier open tag when `multiple`).
  void settle(std::uint64_t tag, bool multiple) {
    const std::int64_t now = now_ns();
    const std::uint64_t last = std::min<std::uint64_t>(tag, sent_at_.size() - 1);
    for (std::uint64_t t = multiple ? lowest_open_ : tag; t <= last; ++t) {
      if (sent_at_[t] == 0) continue;  // settled already, or not ours
      latencies_us_.push_back((now - sent_at_[t]) / 1000);
      sent_at_[t] = 0;
      ++settled_;
    }
    while (lowest_open_ < sent_at_.size() && sent_at_[lowest_open_] == 0 && lowest_open_ <= last)
      ++lowest_open_;
  }
  std::uint64_t settled() const { return settled_; }
  std::vector<std::int64_t>& latencies_us() { return latencies_us_; }

 private:
  std::vector<std::int64_t> sent_at_;  // index: delivery tag; 0: settled or not sent
  std::vector<std::int64_t> latencies_us_;
  std::uint64_t lowest_open_ = 1;
  std::uint64_t settled_ = 0;
};

// One frame on the publisher's channel: an ack settles, anything else ends the run.
bool on_confirm_frame(const amqp_frame_t& frame, ConfirmWindow& window) {
  if (frame.frame_type != AMQP_FRAME_METHOD) return true;  // none expected; harmless
  switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      const auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      window.settle(ack->delivery_tag, ack->multiple != 0);
      return true;
    }
    case AMQP_BASIC_NACK_METHOD:
      std::fprintf(stderr, "rabbitmq_peer: the broker refused a message (basic.nack)\n");
      return false;
    default:
      std::fprintf(stderr, "rabbitmq_peer: unexpected method %s\n",
                   amqp_method_name(frame.payload.method.id));
      return false;
  }
}

int run_publisher(const Flags& flags) {
  const Load load = Load::from(flags);
  const std::string queue = flags.text("queue", "durable");
  const std::string type = flags.text("type", "quorum");
  if (!queue_type_ok(type)) return 2;
  Connection c;
  if (!c.open(flags) || !c.declare(queue, type)) return 1;
  amqp_confirm_select(c.get(), kChannel);
  if (!reply_ok(amqp_get_rpc_reply(c.get()), "confirm.select")) return 1;

  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  std::vector<char> payload = load.payload();
  ConfirmWindow window(load.count);
  std::uint64_t sent = 0;
  const std::int64_t deadline = now_ns() + load.timeout_ns;
  bool ok = true;
  while (ok && window.settled() < load.count) {
    while (sent < load.count && sent - window.settled() < load.inflight) {
      std::memcpy(payload.data(), &sent, sizeof sent);
      window.sent(sent + 1);
      if (!status_ok(amqp_basic_publish(c.get(), kChannel, amqp_empty_bytes, bytes_of(queue), 0, 0,
                                        &props, amqp_bytes_t{payload.size(), payload.data()}),
                     "publish")) {
        ok = false;
        break;
      }
      ++sent;
    }
    // Wait for one frame, then take every frame already read before publishing again.
    do {
      amqp_frame_t frame;
      const timeval left = until(deadline);
      const int s = amqp_simple_wait_frame_noblock(c.get(), &frame, &left);
      if (s == AMQP_STATUS_TIMEOUT) {
        std::fprintf(stderr, "rabbitmq_peer: timed out\n");
        ok = false;
      } else {
        ok = ok && status_ok(s, "wait for confirms") && on_confirm_frame(frame, window);
      }
    } while (ok && c.buffered());
    amqp_maybe_release_buffers(c.get());
  }
  bench_peer::print_result(window.latencies_us(), window.settled(), load.count, "confirmed");
  return ok && window.settled() == load.count ? 0 : 1;
}

// Delivers every request to an answer; returns only on an error (the run ends by a signal).
int run_responder(const Flags& flags) {
  const std::string queue = flags.text("queue", "durable");
  const std::string type = flags.text("type", "quorum");
  const auto prefetch = static_cast<std::uint16_t>(std::clamp<std::int64_t>(flags.integer("prefetch", 256), 1, 65535));
  if (!queue_type_ok(type)) return 2;
  Connection c;
  if (!c.open(flags) || !c.declare(queue, type)) return 1;
  amqp_basic_qos(c.get(), kChannel, 0, prefetch, 0);
  if (!reply_ok(amqp_get_rpc_reply(c.get()), "basic.qos")) return 1;
  amqp_basic_consume(c.get(), kChannel, bytes_of(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  if (!reply_ok(amqp_get_rpc_reply(c.get()), "basic.consume")) return 1;
  std::printf("ready\n");
  std::fflush(stdout);

  for (;;) {
    amqp_envelope_t envelope;
    amqp_maybe_release_buffers(c.get());
    const amqp_rpc_reply_t r = amqp_consume_message(c.get(), &envelope, nullptr, 0);
    if (!reply_ok(r, "consume")) return 1;
    const amqp_basic_properties_t& in = envelope.message.properties;
    if ((in._flags & AMQP_BASIC_REPLY_TO_FLAG) != 0) {
      amqp_basic_properties_t out{};
      if ((in._flags & AMQP_BASIC_CORRELATION_ID_FLAG) != 0) {
        out._flags = AMQP_BASIC_CORRELATION_ID_FLAG;
        out.correlation_id = in.correlation_id;
      }
      if (!status_ok(amqp_basic_publish(c.get(), kChannel, amqp_empty_bytes, in.reply_to, 0, 0,
                                        &out, envelope.message.body),
                     "answer"))
        return 1;
    }
    const std::uint64_t tag = envelope.delivery_tag;
    amqp_destroy_envelope(&envelope);
    if (!c.buffered() && !status_ok(amqp_basic_ack(c.get(), kChannel, tag, 1), "ack")) return 1;
  }
}

int run_requester(const Flags& flags) {
  const Load load = Load::from(flags);
  const std::string queue = flags.text("queue", "durable");
  Connection c;
  if (!c.open(flags)) return 1;
  amqp_basic_consume(c.get(), kChannel, amqp_cstring_bytes(kDirectReplyTo), amqp_empty_bytes, 0, 1,
                     0, amqp_empty_table);
  if (!reply_ok(amqp_get_rpc_reply(c.get()), "consume direct reply-to")) return 1;

  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
                 AMQP_BASIC_CORRELATION_ID_FLAG;
  props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  props.reply_to = amqp_cstring_bytes(kDirectReplyTo);
  std::vector<char> payload = load.payload();
  std::vector<std::int64_t> sent_at(load.count, 0);  // by request number; 0: answered
  std::vector<std::int64_t> latencies_us;
  latencies_us.reserve(load.count);
  std::uint64_t sent = 0;
  std::uint64_t answers = 0;
  const std::int64_t deadline = now_ns() + load.timeout_ns;
  bool ok = true;
  while (ok && answers < load.count) {
    while (sent < load.count && sent - answers < load.inflight) {
      char id[24];
      const auto end = std::to_chars(id, id + sizeof id, sent).ptr;
      props.correlation_id = amqp_bytes_t{static_cast<std::size_t>(end - id), id};
      std::memcpy(payload.data(), &sent, sizeof sent);
      sent_at[sent] = now_ns();
      if (!status_ok(amqp_basic_publish(c.get(), kChannel, amqp_empty_bytes, bytes_of(queue), 0, 0,
                                        &props, amqp_bytes_t{payload.size(), payload.data()}),
                     "publish")) {
        ok = false;
        break;
      }
      ++sent;
    }
    if (!ok) break;
    amqp_envelope_t envelope;
    amqp_maybe_release_buffers(c.get());
    const timeval left = until(deadline);
    const amqp_rpc_reply_t r = amqp_consume_message(c.get(), &envelope, &left, 0);
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
      std::fprintf(stderr, "rabbitmq_peer: timed out\n");
      ok = false;
      break;
    }
    if (!reply_ok(r, "answer")) {
      ok = false;
      break;
    }
    const std::int64_t received = now_ns();
    const amqp_basic_properties_t& in = envelope.message.properties;
    std::uint64_t id = 0;
    const std::string_view text = view_of(in.correlation_id);
    if ((in._flags & AMQP_BASIC_CORRELATION_ID_FLAG) != 0 &&
        std::from_chars(text.data(), text.data() + text.size(), id).ec == std::errc{} && id < sent &&
        sent_at[id] != 0) {  // else a duplicate or garbage: not counted
      latencies_us.push_back((received - sent_at[id]) / 1000);
      sent_at[id] = 0;
      ++answers;
    }
    amqp_destroy_envelope(&envelope);
  }
  bench_peer::print_result(latencies_us, answers, load.count);
  return ok && answers == load.count ? 0 : 1;
}

int run_purge(const Flags& flags) {
  const std::string queue = flags.text("queue", "durable");
  Connection c;
  if (!c.open(flags)) return 1;
  amqp_queue_purge(c.get(), kChannel, bytes_of(queue));
  return reply_ok(amqp_get_rpc_reply(c.get()), "queue purge") ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view role = argc > 1 ? argv[1] : "";
  Flags flags;
  const bool known = role == "publisher" || role == "responder" || role == "requester" ||
                     role == "purge";
  if (!known || !flags.parse("rabbitmq_peer", argc, argv, 2)) {
    std::fprintf(stderr,
                 "usage: rabbitmq_peer publisher -host=H -port=P -queue=NAME -type=quorum|classic "
                 "-count=N -inflight=K -size=BYTES [-timeout=SECONDS]\n"
                 "       rabbitmq_peer responder -host=H -port=P -queue=NAME -type=quorum|classic "
                 "[-prefetch=256]\n"
                 "       rabbitmq_peer requester -host=H -port=P -queue=NAME -count=N -inflight=K "
                 "-size=BYTES [-timeout=SECONDS]\n"
                 "       rabbitmq_peer purge -host=H -port=P -queue=NAME\n"
                 "       (-url=amqp://USER:PASS@HOST:PORT/VHOST instead of -host/-port)\n");
    return 2;
  }
  if (role == "publisher") return run_publisher(flags);
  if (role == "responder") return run_responder(flags);
  if (role == "requester") return run_requester(flags);
  return run_purge(flags);
}
