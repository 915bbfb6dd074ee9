// peermq bench: a load generator in the spirit of `nats bench`. Starts -producers producer
// nodes and -consumers consumer nodes in this process, each with its own identity and UDP
// socket (its own session with the broker), spread over -loops event loops, one thread
// each. Once every node is connected, the producers publish -count messages between them,
// each keeping up to -inflight unanswered; the consumers answer each with its payload (an
// echo). It prints, for publish->confirm (the broker stored it) and publish->answer, the
// rate and the exact latency percentiles (every sample kept and sorted):
//
//   peermq bench: producers=P consumers=C inflight=N size=B count=M ...
//   connected: P producers, C consumers in X ms
//   publish->confirm: R msgs/s p50=Xus p90=Xus p99=Xus max=Xus
//   publish->answer: R msgs/s p50=Xus p90=Xus p99=Xus max=Xus
//   answers: M/M
//
// It exits 0 once all M answers arrived (with -wait=confirm: once all are stored, the last
// line `confirmed: M/M`); if -timeout passes first it exits 1 after the same lines, with
// what arrived (`answers: K/M`). A rate is the messages completed over the time from the
// first publish to the last completion. Nodes reach a remote broker, or one behind NAT,
// the way every node does (-relay).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <peermq/consumer.hpp>
#include <peermq/network_options.hpp>
#include <peermq/producer.hpp>
#include <peermq/timer.hpp>

#include "node_role.hpp"
#include "roles.hpp"

namespace peermq::cli {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;

struct Settings {
  std::string broker;
  std::int64_t producers = 1, consumers = 1, inflight = 1, size = 100, count = 1, loops = 1;
  std::string command;
  std::vector<std::string> listen;  // node i listens on listen[i % size]
  std::vector<std::string> relays;
  bool want_answer = true;
};

// Latencies in microseconds, every one kept: the percentiles are exact.
struct Samples {
  std::vector<std::uint32_t> us;
  Instant last{};  // the latest completion

  void add(Instant sent, Instant now) {
    const auto d = duration_cast<microseconds>(now - sent).count();
    us.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(d, 0, UINT32_MAX)));
    last = std::max(last, now);
  }
};

// One producer node and the publish times of its messages, indexed from its first id
// (a producer numbers its messages consecutively).
struct BenchProducer {
  std::unique_ptr<Producer> producer;
  std::uint64_t quota = 0;  // messages this one publishes
  std::uint64_t published = 0;
  std::uint64_t first_id = 0;
  std::vector<Instant> sent_at;
};

class Shard;

// What the shards share: the start signal, the count of completed messages, the end.
struct Run {
  explicit Run(const Settings& s) : settings(s) {}
  const Settings& settings;
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<std::size_t> connected_shards{0};  // shards whose nodes are all connected
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> over{false};
  void end();  // stops every shard's loop; any thread
};

// One event loop, on a thread of its own, and the nodes on it.
class Shard {
 public:
  Shard(Run& run, std::size_t index) : run_(run), index_(index), poll_(loop_) {}
  EventLoop& loop() { return loop_; }

  // Makes this shard's share of the nodes (every loops-th, from index_).
  void make_nodes();
  // Starts the nodes and runs the loop until the run is over; false (and `error`) when a
  // node cannot start.
  bool run(std::string& error);
  void destroy_nodes();

  Samples confirms, answers;
  Instant started{};  // when its producers began to publish
  std::size_t connected_producers = 0, connected_consumers = 0;  // at the end

 private:
  void wait_connected();
  void publish_some(BenchProducer& p);
  void completed(BenchProducer& p, std::uint64_t id, Samples& samples);

  Run& run_;
  std::size_t index_;
  EventLoop loop_;
  Timer poll_;
  std::vector<std::unique_ptr<Consumer>> consumers_;
  std::vector<BenchProducer> producers_;
  std::vector<std::uint8_t> payload_;
  bool counted_ = false;  // in run_.connected_shards
};

void Run::end() {
  if (over.exchange(true)) return;
  for (auto& shard : shards) shard->loop().stop();
}

void Shard::make_nodes() {
  const Settings& s = run_.settings;
  payload_.resize(static_cast<std::size_t>(s.size));
  for (std::size_t i = 0; i < payload_.size(); ++i)
    payload_[i] = static_cast<std::uint8_t>('a' + i % 26);
  const auto loops = static_cast<std::size_t>(s.loops);
  for (auto i = index_; i < static_cast<std::size_t>(s.consumers); i += loops) {
    ConsumerOptions o;
    o.broker = s.broker;
    if (!s.command.empty()) o.commands = {s.command};
    o.name = "bench-consumer-" + std::to_string(i);
    o.listen = s.listen[(static_cast<std::size_t>(s.producers) + i) % s.listen.size()];
    o.relays = s.relays;
    auto c = std::make_unique<Consumer>(loop_, std::move(o));
    c->on_delivery([](const Message& m, Delivery delivery) {
      if (auto a = delivery.answer(m.payload); !a)
        PEERMQ_CLI_LOG(warn, "bench", "cannot answer: %s", a.error().message().c_str());
    });
    consumers_.push_back(std::move(c));
  }
  const auto count = static_cast<std::uint64_t>(s.count);
  const auto n = static_cast<std::uint64_t>(s.producers);
  producers_.reserve(static_cast<std::size_t>(n / loops + 1));
  for (auto i = index_; i < n; i += loops) {
    ProducerOptions o;
    o.broker = s.broker;
    o.name = "bench-producer-" + std::to_string(i);
    o.inflight = static_cast<std::uint32_t>(s.inflight);
    o.listen = s.listen[static_cast<std::size_t>(i) % s.listen.size()];
    o.relays = s.relays;
    BenchProducer& p = producers_.emplace_back();
    p.producer = std::make_unique<Producer>(loop_, std::move(o));
    p.quota = count / n + (i < count % n ? 1 : 0);
    p.sent_at.resize(static_cast<std::size_t>(p.quota));
  }
  confirms.us.reserve(static_cast<std::size_t>(count / loops + 1));
  if (s.want_answer) answers.us.reserve(static_cast<std::size_t>(count / loops + 1));
}

bool Shard::run(std::string& error) {
  for (auto& c : consumers_) {
    if (auto ok = c->start(&error); !ok) return false;
  }
  for (BenchProducer& p : producers_) {
    Producer& producer = *p.producer;
    producer.on_confirm([this, &p](std::uint64_t id) { completed(p, id, confirms); });
    producer.on_failure([](std::uint64_t id, std::error_code, std::string_view reason) {
      PEERMQ_CLI_LOG(error, "bench", "message %llu failed: %.*s",
                     static_cast<unsigned long long>(id), static_cast<int>(reason.size()),
                     reason.data());
    });
    if (auto ok = producer.start(&error); !ok) return false;
  }
  poll_.start(std::chrono::milliseconds(1), std::chrono::milliseconds(2),
              [this] { wait_connected(); });
  if (auto ran = loop_.run(); !ran) {
    error = ran.error().message();
    return false;
  }
  return true;
}

// Polled until every node of every shard is connected; then the producers start.
void Shard::wait_connected() {
  if (!counted_) {
    for (auto& c : consumers_)
      if (!c->connected()) return;
    for (auto& p : producers_)
      if (!p.producer->connected()) return;
    counted_ = true;
    run_.connected_shards.fetch_add(1);
  }
  if (run_.connected_shards.load() < run_.shards.size()) return;
  poll_.stop();
  started = loop_.now();
  for (BenchProducer& p : producers_) publish_some(p);
}

void Shard::publish_some(BenchProducer& p) {
  const Settings& s = run_.settings;
  PublishOptions options;
  options.want_answer = s.want_answer;
  while (p.published < p.quota && !run_.over.load(std::memory_order_relaxed)) {
    auto on_outcome = [this, &p](Result<Answer> a) {
      if (!a || a->status == AnswerStatus::stored) return;  // stored: counted by on_confirm
      if (a->status != AnswerStatus::answered)
        PEERMQ_CLI_LOG(warn, "bench", "message %llu %s", static_cast<unsigned long long>(a->id),
                       to_string(a->status));
      completed(p, a->id, answers);
    };
    auto id = p.producer->publish(s.command, payload_, std::move(on_outcome), options);
    if (!id) break;  // would_block: a completion makes room; other errors end in the timeout
    if (p.published == 0) p.first_id = *id;
    p.sent_at[static_cast<std::size_t>(*id - p.first_id)] = loop_.now();
    ++p.published;
  }
}

// Message `id` of `p` reached the stage `samples` measures; the last stage frees its place.
void Shard::completed(BenchProducer& p, std::uint64_t id, Samples& samples) {
  if (id < p.first_id || id - p.first_id >= p.published) return;  // not of this run
  samples.add(p.sent_at[static_cast<std::size_t>(id - p.first_id)], loop_.now());
  const bool last_stage = &samples == &answers || !run_.settings.want_answer;
  if (!last_stage) return;
  if (run_.done.fetch_add(1) + 1 == static_cast<std::uint64_t>(run_.settings.count)) {
    run_.end();
    return;
  }
  loop_.post([this, &p] { publish_some(p); });  // outside the producer's callback
}

void Shard::destroy_nodes() {
  poll_.stop();
  for (auto& c : consumers_) connected_consumers += c->connected() ? 1u : 0u;
  for (auto& p : producers_) connected_producers += p.producer->connected() ? 1u : 0u;
  producers_.clear();
  consumers_.clear();
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    if (comma != 0) out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::optional<Settings> settings_of(const FlagSet& flags, Io& io) {
  const auto broker = broker_address(flags, io, "bench");
  if (!broker) return std::nullopt;
  Settings s;
  s.broker = *broker;
  s.producers = flags.get_integer("producers");
  s.consumers = flags.get_integer("consumers");
  s.inflight = flags.get_integer("inflight");
  s.size = flags.get_integer("size");
  s.count = flags.get_integer("count");
  s.loops = flags.get_integer("loops");
  s.command = flags.get_string("command");
  s.relays = relays(flags);
  s.want_answer = flags.get_string("wait") == "answer";
  s.listen = split_list(flags.get_string("listen"));
  const auto nodes = static_cast<std::size_t>(s.producers + s.consumers);
  for (const std::string& address : s.listen) {
    if (address.ends_with(":0") || nodes <= s.listen.size()) continue;
    io.err << "peermq bench: -listen=" << address << " names a port, and " << nodes
           << " nodes cannot share it: give port 0, e.g. -listen=127.0.0.1:0 (see "
              "'peermq bench -h')\n";
    return std::nullopt;
  }
  if (s.loops > s.producers + s.consumers) s.loops = s.producers + s.consumers;
  return s;
}

void print_header(Io& io, const Settings& s) {
  io.out << "peermq bench: producers=" << s.producers << " consumers=" << s.consumers
         << " inflight=" << s.inflight << " (per producer) size=" << s.size
         << " count=" << s.count << " command=\"" << s.command
         << "\" wait=" << (s.want_answer ? "answer" : "confirm") << " loops=" << s.loops
         << " broker=" << s.broker << '\n';
  io.out.flush();
}

// "publish->answer: R msgs/s p50=Xus p90=Xus p99=Xus max=Xus"
void print_stage(Io& io, std::string_view name, std::vector<std::uint32_t>& us, Instant from,
                 Instant last) {
  io.out << name << ": ";
  if (us.empty()) {
    io.out << "0 msgs/s (none completed)\n";
    return;
  }
  std::sort(us.begin(), us.end());
  const double seconds = std::chrono::duration<double>(last - from).count();
  const double rate = seconds > 0 ? double(us.size()) / seconds : 0;
  // Nearest rank: the smallest sample with at least p of them at or below it.
  auto at = [&](double p) {
    const auto rank = static_cast<std::size_t>(std::ceil(p * double(us.size())));
    return us[std::clamp<std::size_t>(rank, 1, us.size()) - 1];
  };
  io.out << static_cast<std::uint64_t>(rate + 0.5) << " msgs/s p50=" << at(0.50)
         << "us p90=" << at(0.90) << "us p99=" << at(0.99) << "us max=" << us.back() << "us\n";
}

void print_results(Io& io, const Settings& s, Run& run, Instant begun) {
  Instant from = Instant::max(), connected{}, last_confirm{}, last_answer{};
  std::vector<std::uint32_t> confirms, answers;
  for (auto& shard : run.shards) {
    if (shard->started != Instant{}) {
      from = std::min(from, shard->started);
      connected = std::max(connected, shard->started);
    }
    last_confirm = std::max(last_confirm, shard->confirms.last);
    last_answer = std::max(last_answer, shard->answers.last);
    confirms.insert(confirms.end(), shard->confirms.us.begin(), shard->confirms.us.end());
    answers.insert(answers.end(), shard->answers.us.begin(), shard->answers.us.end());
  }
  if (connected == Instant{}) {
    std::size_t producers = 0, consumers = 0;
    for (auto& shard : run.shards) {
      producers += shard->connected_producers;
      consumers += shard->connected_consumers;
    }
    io.out << "connected: only " << producers << '/' << s.producers << " producers, "
           << consumers << '/' << s.consumers << " consumers\n";
  } else {
    io.out << "connected: " << s.producers << " producers, " << s.consumers << " consumers in "
           << std::chrono::duration_cast<std::chrono::milliseconds>(connected - begun).count()
           << " ms\n";
  }
  print_stage(io, "publish->confirm", confirms, from, last_confirm);
  if (s.want_answer) print_stage(io, "publish->answer", answers, from, last_answer);
  io.out << (s.want_answer ? "answers: " : "confirmed: ") << run.done.load() << '/' << s.count
         << '\n';
  io.out.flush();
}

}  // namespace

void define_bench_flags(FlagSet& flags) {
  add_broker_flag(flags);
  flags.add_integer("producers", 1, 1, 100'000, "producer nodes, each with its own session", "P");
  flags.add_integer("consumers", 1, 0, 10'000,
                    "consumer nodes answering with an echo (0: answered by consumers elsewhere)",
                    "C");
  flags.add_integer("inflight", 1, 1, 1 << 20,
                    "unanswered messages at most per producer (total in flight: P x N)", "N");
  flags.add_integer("size", 100, 0, static_cast<std::int64_t>(kMaxPayload), "payload bytes",
                    "BYTES");
  flags.add_integer("count", 100'000, 1, 1'000'000'000, "messages in all, across the producers",
                    "M");
  flags.add_string("command", "", "command of the messages (empty: messages without one)", "NAME");
  flags.add_string("wait", "answer",
                   "what completes a message: answer (the consumer's echo came back) or confirm "
                   "(the broker stored it; no answer is asked for)",
                   "answer|confirm");
  flags.check("wait", [](std::string_view v) -> std::optional<std::string> {
    if (v == "answer" || v == "confirm") return std::nullopt;
    return "use answer or confirm";
  });
  flags.add_integer("loops", 1, 1, 64, "event loops the nodes are spread over, a thread each",
                    "N");
  flags.add_integer("timeout", 0, 0, 31'536'000, "give up after SECONDS (0: never)", "SECONDS");
  flags.add_string("listen", "0.0.0.0:0",
                   "UDP addresses the nodes listen on, comma-separated, taken in turn (each "
                   "node its own socket, so port 0). Several source addresses let more nodes "
                   "handshake at once: a broker starts 20 handshakes a second per source",
                   "IP:0[,IP:0...]", "PEERMQ_LISTEN");
  flags.check("listen", [](std::string_view value) -> std::optional<std::string> {
    const auto list = split_list(value);
    if (list.empty()) return "expected IP:0, for example 127.0.0.1:0";
    for (const std::string& item : list) {
      if (!check_listen(item)) return "\"" + item + "\": expected IP:0, for example 127.0.0.1:0";
    }
    return std::nullopt;
  });
  add_relay_flag(flags);
  add_common_flags(flags, "warn");  // not a line per node connected
}

int run_bench(const FlagSet& flags, Io& io) {
  auto settings = settings_of(flags, io);
  if (!settings) return kExitUsage;
  const Settings& s = *settings;
  print_header(io, s);

  Run run(s);
  for (std::int64_t i = 0; i < s.loops; ++i)
    run.shards.push_back(std::make_unique<Shard>(run, static_cast<std::size_t>(i)));
  Shard& first = *run.shards.front();
  const Instant begun = first.loop().now();
  bool timed_out = false;
  Timer give_up(first.loop());
  if (flags.get_integer("timeout") > 0) {
    give_up.start(std::chrono::seconds(flags.get_integer("timeout")), [&] {
      timed_out = true;
      run.end();
    });
  }
  on_stop_signal(first.loop(), [&] { run.end(); });

  // Each shard makes, runs and destroys its nodes on its own thread (the first on this one).
  std::vector<std::string> errors(run.shards.size());
  auto serve = [&](std::size_t i) {
    Shard& shard = *run.shards[i];
    shard.make_nodes();
    if (!shard.run(errors[i])) run.end();
    shard.destroy_nodes();
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < run.shards.size(); ++i) threads.emplace_back(serve, i);
  serve(0);
  for (auto& t : threads) t.join();
  give_up.stop();
  for (const std::string& e : errors) {
    if (e.empty()) continue;
    io.err << "peermq bench: " << e << '\n';
    return kExitFailure;
  }
  if (timed_out) io.err << "peermq bench: timed out after " << flags.get_integer("timeout") << " s\n";
  print_results(io, s, run, begun);
  return run.done.load() == static_cast<std::uint64_t>(s.count) ? kExitOk : kExitFailure;
}

}  // namespace peermq::cli
