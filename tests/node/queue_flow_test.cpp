// Integration tests of the queue (issue 5): the real peermq binary as broker, consumers and
// producers, all on 127.0.0.1, finding each other through a PEERMQ_RUNTIME_DIR of their own
// (one fresh temporary directory per test, so tests never see each other's nodes).
//
// Every process is a ChildProcess (tests/support/child_process.hpp): killed and reaped when
// the test ends, whatever happens; every wait is bounded. Processes print what they see
//   consumer  message <id>[ command=X][ delivery=N]: <payload>
//   producer  answer <id> <status>: <payload>   ...   answers: K/N
// and the tests check those lines against each other. On a failure, the tail of every
// process's output is printed; PEERMQ_TEST_KEEP=1 keeps the whole directory.
//
// Figures (timings, repeat counts) are printed with MESSAGE at the end of each test.
// Under AddressSanitizer every process is several times slower: the counts are scaled down
// and the time limits up (each such test says so).
#include <doctest/doctest.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mq/log_record.hpp"
#include "support/child_process.hpp"
#include "support/test_seed.hpp"

namespace {

namespace fs = std::filesystem;
using peermq::test::ChildProcess;
using peermq::test::LineFollower;
using peermq::test::seconds_since;
using peermq::test::SteadyClock;
using peermq::test::TempDir;
using peermq::test::wait_quiet;
using peermq::test::wait_until;
using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Time limits: generous, and three times that under ASan.
std::chrono::milliseconds limit(std::chrono::milliseconds ms) {
  return kSanitized ? 3 * ms : ms;
}

// ---- what the processes print ------------------------------------------------------------

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

struct Delivery {
  std::uint64_t id = 0;
  std::string command;
  std::uint64_t delivery = 1;
  std::string payload;
};

// "message <id>[ command=X][ delivery=N]: <payload>"
std::optional<Delivery> parse_delivery(std::string_view line) {
  if (!line.starts_with("message ")) return std::nullopt;
  const auto colon = line.find(": ");
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view head = line.substr(8, colon - 8);
  Delivery d;
  d.payload = std::string(line.substr(colon + 2));
  bool first = true;
  while (!head.empty()) {
    const auto space = head.find(' ');
    const std::string_view token = head.substr(0, space);
    head = space == std::string_view::npos ? std::string_view{} : head.substr(space + 1);
    if (first) {
      auto id = parse_u64(token);
      if (!id) return std::nullopt;
      d.id = *id;
      first = false;
    } else if (token.starts_with("command=")) {
      d.command = std::string(token.substr(8));
    } else if (token.starts_with("delivery=")) {
      auto n = parse_u64(token.substr(9));
      if (!n) return std::nullopt;
      d.delivery = *n;
    } else {
      return std::nullopt;
    }
  }
  if (first) return std::nullopt;
  return d;
}

std::vector<Delivery> deliveries_of(const std::vector<std::string>& lines) {
  std::vector<Delivery> out;
  for (const auto& line : lines) {
    if (auto d = parse_delivery(line)) out.push_back(std::move(*d));
  }
  return out;
}

struct Answer {
  std::uint64_t id = 0;
  std::string status;
  std::string payload;  // with a " (reason)" suffix when the broker gave one
};

// "answer <id> <status>: <payload>"
std::optional<Answer> parse_answer(std::string_view line) {
  if (!line.starts_with("answer ")) return std::nullopt;
  const auto colon = line.find(": ");
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view head = line.substr(7, colon - 7);
  const auto space = head.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto id = parse_u64(head.substr(0, space));
  if (!id) return std::nullopt;
  return Answer{*id, std::string(head.substr(space + 1)), std::string(line.substr(colon + 2))};
}

std::vector<Answer> answers_of(const std::vector<std::string>& lines) {
  std::vector<Answer> out;
  for (const auto& line : lines) {
    if (auto a = parse_answer(line)) out.push_back(std::move(*a));
  }
  return out;
}

std::string last_line(const std::vector<std::string>& lines) {
  return lines.empty() ? std::string("(no output)") : lines.back();
}

// ---- a broker and its clients ------------------------------------------------------------

// One test's world: its directory, the processes it started, and the broker's data.
class Cluster {
 public:
  explicit Cluster(const std::string& name)
      : dir_("peermq-" + name), env_{{"PEERMQ_RUNTIME_DIR", (dir_.path() / "run").string()}} {}

  const fs::path& dir() const noexcept { return dir_.path(); }
  fs::path data() const { return dir_.path() / "data"; }

  // `peermq <role> args... -listen=127.0.0.1:0`, output in <dir>/<name>.out/.err.
  ChildProcess& start(const std::string& name, const std::string& role,
                      std::vector<std::string> args) {
    args.insert(args.begin(), {PEERMQ_BINARY, role});
    args.emplace_back("-listen=127.0.0.1:0");
    return add(name, std::move(args));
  }

  // Starts a broker on data() and waits until it serves; returns its address.
  std::string start_broker(const std::string& name, std::vector<std::string> args) {
    args.push_back("-data=" + data().string());
    ChildProcess& b = start(name, "broker", std::move(args));
    auto address = b.wait_for_line([](const std::string& l) { return l.starts_with("address: "); },
                                   limit(15s));
    REQUIRE_MESSAGE(address, name << " printed no address");
    // Announced for local discovery once it listens: clients find it at their first try.
    REQUIRE_MESSAGE(
        b.wait_for_line(
            [](const std::string& l) { return l.find("listening on") != std::string::npos; },
            limit(15s), true),
        name << " does not listen");
    broker_ = &b;
    return address->substr(9);
  }
  ChildProcess& broker() { return *broker_; }

  // `peermq keygen -key=<dir>/<name>.key`; returns the address.
  std::string keygen(const std::string& name) {
    ChildProcess& k =
        add("keygen-" + name, {PEERMQ_BINARY, "keygen", "-key=" + key_file(name).string()});
    auto status = k.wait_for(limit(15s));
    REQUIRE_MESSAGE((status && status->exited_with(0)), "keygen " << name << " failed");
    const auto lines = k.stdout_lines();
    REQUIRE(!lines.empty());
    REQUIRE(lines.front().starts_with("address: "));
    return lines.front().substr(9);
  }
  fs::path key_file(const std::string& name) const { return dir_.path() / (name + ".key"); }

  // Children whose stderr holds a sanitizer report (in a sanitized build, an error
  // aborts the child; one the test killed anyway would go unnoticed without this).
  std::string sanitizer_reports() {
    std::string r;
    for (auto& child : children_) {
      const std::string err = child->stderr_text();
      for (const char* mark : {"AddressSanitizer", "LeakSanitizer", "runtime error:"}) {
        if (err.find(mark) != std::string::npos) r += child->name() + " (" + mark + ") ";
      }
    }
    return r;
  }

  // Every process's state and output tail: printed when a check fails.
  std::string report() {
    std::string r = "test directory: " + dir_.path().string() + "\n";
    for (auto& c : children_) r += c->report();
    return r;
  }

 private:
  ChildProcess& add(const std::string& name, std::vector<std::string> argv) {
    children_.push_back(std::make_unique<ChildProcess>(name, dir_.path(), std::move(argv), env_));
    return *children_.back();
  }

  TempDir dir_;  // first: it outlives the children, whose destructors kill them
  ChildProcess::Env env_;
  std::deque<std::unique_ptr<ChildProcess>> children_;
  ChildProcess* broker_ = nullptr;
};

// Occurrences of `needle` in the log segments in `dir` (a message's payload is stored as is).
std::size_t count_in_dir(const fs::path& dir, const std::string& needle) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".log") continue;
    const std::string text = peermq::test::read_text_file(entry.path());
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
      ++n;
  }
  return n;
}

// Waits for a producer started with -count to end; REQUIREs that it did.
peermq::test::ExitStatus wait_producer(ChildProcess& producer, std::chrono::milliseconds timeout) {
  auto status = producer.wait_for(timeout);
  REQUIRE_MESSAGE(status, producer.name() << " still running after " << timeout.count() << " ms");
  return *status;
}

// Whether `client` logged "connected to broker" twice (it said hello to a restarted broker),
// waiting up to `timeout`.
bool connected_twice(ChildProcess& client, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        int n = 0;
        for (const auto& line : client.stderr_lines())
          n += line.find("connected to broker") != std::string::npos;
        return n >= 2;
      },
      timeout);
}

// A shell command that returns once `gate` exists (a test opens it when it is ready for
// what comes next), or fails after 60 s.
std::string gate_wait(const fs::path& gate) {
  return "{ for i in $(seq 6000); do [ -e '" + gate.string() +
         "' ] && break; sleep 0.01; done; [ -e '" + gate.string() + "' ]; }";
}

// What a test prints when it ends (one MESSAGE). Declare it before INFO(c.report()): it is
// then printed after that context has closed, so a passing test prints its figures without
// the report meant for failures.
class Figures {
 public:
  Figures() = default;
  Figures(const Figures&) = delete;
  Figures& operator=(const Figures&) = delete;
  ~Figures() {
    if (!text_.str().empty() && std::uncaught_exceptions() == 0) MESSAGE(text_.str());
  }
  template <class T>
  Figures& operator<<(const T& value) {
    text_ << value;
    return *this;
  }

 private:
  std::ostringstream text_;
};

}  // namespace

// 1 -----------------------------------------------------------------------------------------

TEST_CASE("queue: 200 messages each reach one consumer and every answer comes back") {
  Cluster c("queue-basic");
  Figures figures;
  INFO(c.report());
  const auto started = SteadyClock::now();
  const std::string broker = c.start_broker("broker", {});
  ChildProcess& consumer = c.start("consumer", "consumer", {"-broker=" + broker, "-name=c1"});
  ChildProcess& producer =
      c.start("producer", "producer",
              {"-broker=" + broker, "-count=200", "-inflight=16", "-payload=basic-payload",
               "-timeout=" + std::to_string(limit(60s).count() / 1000)});

  const auto status = wait_producer(producer, limit(90s));
  const double elapsed = seconds_since(started);
  CHECK(status.exited_with(0));
  const auto out = producer.stdout_lines();
  CHECK(last_line(out) == "answers: 200/200");

  const auto answers = answers_of(out);
  std::map<std::uint64_t, std::string> answered;
  for (const auto& a : answers) {
    CHECK(a.status == "answered");
    CHECK(a.payload == "basic-payload");
    CHECK_MESSAGE(answered.emplace(a.id, a.payload).second, "answer " << a.id << " came twice");
  }
  CHECK(answered.size() == 200);

  // The consumer printed each message before answering it, so all of them are there.
  const auto seen = deliveries_of(consumer.stdout_lines());
  std::set<std::uint64_t> seen_ids;
  for (const auto& d : seen) {
    seen_ids.insert(d.id);
    auto it = answered.find(d.id);
    CHECK_MESSAGE(it != answered.end(), "consumer saw message " << d.id << ", never answered");
    if (it != answered.end()) CHECK(it->second == d.payload);
    CHECK(d.delivery == 1);
  }
  CHECK(seen.size() == 200);
  CHECK(seen_ids.size() == 200);
  figures << "basic: 200/200 answered, consumer saw " << seen.size() << " deliveries; " << elapsed
          << " s from broker start";
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}

// 2 -----------------------------------------------------------------------------------------

TEST_CASE(
    "queue: a broker killed with SIGKILL 10 times loses no message and repeats only those in "
    "flight at a kill") {
#if defined(__SANITIZE_ADDRESS__)
  const std::uint64_t total = 4000;
  MESSAGE("AddressSanitizer build: 4,000 messages instead of 20,000");
#else
  const std::uint64_t total = 20000;
#endif
  constexpr int kKills = 10;
  constexpr int kConsumers = 2;
  constexpr int kPrefetch = 16;
  // What the broker may have handed out and not yet durably seen answered when it dies:
  // every consumer's prefetch in flight, plus as many answers received in the iteration
  // whose commit the kill cut short (an answer frees its credit before its record is synced).
  constexpr std::uint64_t kWindow = 2 * kConsumers * kPrefetch;

  // The kill moments follow from the seed; the processes' own timing does not, so a replay
  // repeats where the kills fall in the stream, not every interleaving.
  const std::uint64_t seed = peermq::test::test_seed(20251);
  MESSAGE("seed " << seed << " (set PEERMQ_TEST_SEED to repeat the kill moments)");
  INFO(peermq::test::replay_command(seed));
  std::mt19937_64 rng(seed);

  Cluster c("queue-broker-kill");
  Figures figures;
  INFO(c.report());
  const auto started = SteadyClock::now();
  const std::string address = c.start_broker("broker-0", {"-sync=always"});
  std::vector<ChildProcess*> consumers;
  std::vector<pid_t> consumer_pids;
  std::vector<LineFollower> followers;
  for (int i = 0; i < kConsumers; ++i) {
    ChildProcess& p = c.start("consumer-" + std::to_string(i), "consumer",
                              {"-broker=" + address, "-name=c" + std::to_string(i),
                               "-prefetch=" + std::to_string(kPrefetch)});
    consumers.push_back(&p);
    consumer_pids.push_back(p.pid());
    followers.emplace_back(p.stdout_path());
  }
  // Within ctest's 300 s, so that a stall ends with the producer's own `answers: K/N`.
  const auto budget = kSanitized ? 220s : 150s;
  ChildProcess& producer =
      c.start("producer", "producer",
              {"-broker=" + address, "-count=" + std::to_string(total), "-inflight=64", "-quiet",
               "-payload=x", "-timeout=" + std::to_string(budget.count())});

  // The consumers' lines as they come, and where each kill cut them: epoch e of consumer i
  // is its lines [cuts[i][e-1], cuts[i][e]).
  std::vector<std::vector<std::uint64_t>> ids(kConsumers);
  std::vector<std::vector<std::size_t>> cuts(kConsumers);
  std::uint64_t seen_total = 0;
  auto poll = [&] {
    for (int i = 0; i < kConsumers; ++i) {
      for (const auto& line : followers[static_cast<std::size_t>(i)].poll()) {
        auto d = parse_delivery(line);
        if (!d) continue;
        ids[static_cast<std::size_t>(i)].push_back(d->id);
        ++seen_total;
      }
    }
    return seen_total;
  };

  // Only the test ends a process here: one that ends by itself (or is signalled by
  // someone else) fails the test at once, naming it, instead of stalling it.
  auto all_running = [&] {
    bool all = producer.running() && c.broker().running();
    for (auto* p : consumers) all = p->running() && all;
    return all;
  };
  auto who_ended = [&] {
    std::string r;
    std::vector<ChildProcess*> all = consumers;
    all.push_back(&producer);
    all.push_back(&c.broker());
    for (auto* p : all) {
      if (auto st = p->status()) r += p->name() + " ended by itself (" + st->describe() + ") ";
    }
    return r;
  };

  // Kill moments: random points of the stream, between 3% and 80% of it, plus a random
  // few milliseconds; each broker serves at least 50 deliveries before it is killed, so
  // that every kill finds messages in flight.
  std::uniform_int_distribution<std::uint64_t> at(total * 3 / 100, total * 80 / 100);
  std::vector<std::uint64_t> thresholds;
  for (int k = 0; k < kKills; ++k) thresholds.push_back(at(rng));
  std::sort(thresholds.begin(), thresholds.end());

  std::vector<std::string> recoveries;
  std::vector<double> downtimes;
  for (int k = 0; k < kKills; ++k) {
    const std::uint64_t threshold =
        std::max(thresholds[static_cast<std::size_t>(k)], seen_total + 50);
    const bool reached =
        wait_until([&] { return poll() >= threshold || !all_running(); }, limit(30s));
    REQUIRE_MESSAGE(all_running(), "before kill " << k << ", " << who_ended());
    REQUIRE_MESSAGE(reached, "kill " << k << ": the consumers saw only " << seen_total
                                     << " messages, waiting for " << threshold);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));

    const auto killed_at = SteadyClock::now();
    const auto st = c.broker().kill_now();
    CHECK(st.signal == SIGKILL);
    // A consumer may still print deliveries that were in its socket when the broker died
    // (nothing new can come while it is dead): cut the epoch once every consumer is idle,
    // asleep with no datagram unread, three times in a row with no new line.
    const bool settled = wait_quiet(consumer_pids, limit(5s), poll);
    CHECK_MESSAGE(settled, "kill " << k << ": the consumers kept busy with the broker dead");
    for (int i = 0; i < kConsumers; ++i)
      cuts[static_cast<std::size_t>(i)].push_back(ids[static_cast<std::size_t>(i)].size());
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));

    const std::string again = c.start_broker("broker-" + std::to_string(k + 1), {"-sync=always"});
    CHECK_MESSAGE(again == address, "the restarted broker has another address");
    downtimes.push_back(seconds_since(killed_at));
    for (const auto& line : c.broker().stderr_lines()) {
      if (line.find("recovered") != std::string::npos) recoveries.push_back(line);
    }
  }

  (void)wait_until([&] { return !producer.running() || !c.broker().running(); }, budget + 10s);
  REQUIRE_MESSAGE(c.broker().running(), who_ended());
  const auto status = wait_producer(producer, 1s);
  const double elapsed = seconds_since(started);
  CHECK_MESSAGE(status.exited_with(0), status.describe());
  CHECK(last_line(producer.stdout_lines()) ==
        "answers: " + std::to_string(total) + "/" + std::to_string(total));
  // Deliveries still in the consumers' sockets (repeats of answered messages) are printed
  // by the time they are quiet.
  CHECK(wait_quiet(consumer_pids, limit(5s), poll));

  // Each id's deliveries with their epochs: a repeat in the same epoch is never explained
  // by a kill; a repeat in a later epoch is charged to the kill that ended the earlier one.
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> epochs_of;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    for (std::size_t j = 0; j < ids[i].size(); ++j) {
      const auto epoch = static_cast<std::size_t>(
          std::upper_bound(cuts[i].begin(), cuts[i].end(), j) - cuts[i].begin());
      epochs_of[ids[i][j]].push_back(epoch);
    }
  }
  std::vector<std::uint64_t> repeats_after_kill(kKills, 0);
  std::uint64_t repeats_in_epoch = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t example_in_epoch = 0;
  for (auto& [id, epochs] : epochs_of) {
    deliveries += epochs.size();
    std::sort(epochs.begin(), epochs.end());
    for (std::size_t n = 1; n < epochs.size(); ++n) {
      if (epochs[n] == epochs[n - 1]) {
        ++repeats_in_epoch;
        example_in_epoch = id;
      } else {
        ++repeats_after_kill[epochs[n - 1]];
      }
    }
  }
  std::string per_kill;
  std::uint64_t worst = 0;
  for (auto r : repeats_after_kill) {
    per_kill += " " + std::to_string(r);
    worst = std::max(worst, r);
  }
  std::string down;
  for (auto d : downtimes) down += " " + std::to_string(d).substr(0, 4);
  figures << "broker kills: " << kKills << "; " << total << " messages answered in " << elapsed
          << " s; consumers printed " << deliveries << " deliveries of " << epochs_of.size()
          << " distinct ids (" << (deliveries - epochs_of.size())
          << " repeats); repeats per kill:" << per_kill << " (window " << kWindow
          << "); repeats within one broker run: " << repeats_in_epoch
          << "; kill-to-serving seconds:" << down;
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
  for (const auto& r : recoveries) figures << "\n  " << r;

  CHECK(epochs_of.size() == total);
  CHECK_MESSAGE(repeats_in_epoch == 0, repeats_in_epoch << " repeats with no kill between them"
                                                        << " (e.g. message " << example_in_epoch
                                                        << ")");
  CHECK_MESSAGE(worst <= kWindow,
                "a kill caused " << worst << " repeats, more than the window " << kWindow);
}

// 2b ----------------------------------------------------------------------------------------

// The quiet side of a broker restart, which the busy stream above meets only by chance: a
// producer whose messages are all stored and confirmed, waiting for answers, and a consumer
// with nothing in hand, have nothing to send the restarted broker, yet both must carry on.
TEST_CASE(
    "queue: a producer waiting for answers and an idle consumer carry on after a broker "
    "restart") {
  Cluster c("queue-quiet-restart");
  Figures figures;
  INFO(c.report());
  const std::string address = c.start_broker("broker-1", {});
  ChildProcess& idle =
      c.start("idle-consumer", "consumer", {"-broker=" + address, "-name=idle", "-command=idle"});
  REQUIRE(idle.wait_for_line(
      [](const std::string& l) { return l.find("connected to broker") != std::string::npos; },
      limit(10s), true));
  // No consumer of "work" yet: the message is stored, confirmed, and waits.
  ChildProcess& waiting =
      c.start("producer-waiting", "producer",
              {"-broker=" + address, "-command=work", "-count=1", "-payload=stored-before-restart",
               "-timeout=" + std::to_string(limit(30s).count() / 1000)});
  REQUIRE(wait_until([&] { return count_in_dir(c.data() / "log", "stored-before-restart") >= 1; },
                     limit(10s)));
  // Its confirmation has reached the producer once broker and producer are quiet.
  CHECK(wait_quiet({c.broker().pid(), waiting.pid(), idle.pid()}, limit(10s)));
  c.broker().kill_now();
  const auto restarted_at = SteadyClock::now();
  CHECK(c.start_broker("broker-2", {}) == address);
  // Both clients look the broker up again (every limits::kNodeRedialInterval) and say
  // hello: each logs that it is connected a second time.
  CHECK_MESSAGE(connected_twice(waiting, limit(10s)), "the waiting producer did not reconnect");
  CHECK_MESSAGE(connected_twice(idle, limit(10s)), "the idle consumer did not reconnect");

  ChildProcess& worker =
      c.start("worker", "consumer", {"-broker=" + address, "-name=w", "-command=work"});
  const auto waited = waiting.wait_for(limit(10s));
  CHECK_MESSAGE(waited.has_value(),
                "the producer got no answer: it never said hello to the restarted broker");
  if (waited) CHECK(last_line(waiting.stdout_lines()) == "answers: 1/1");
  CHECK(deliveries_of(worker.stdout_lines()).size() == 1);

  ChildProcess& after =
      c.start("producer-after", "producer",
              {"-broker=" + address, "-command=idle", "-count=1", "-payload=for-the-idle-consumer",
               "-timeout=" + std::to_string(limit(30s).count() / 1000)});
  const auto served = after.wait_for(limit(10s));
  CHECK_MESSAGE(served.has_value(),
                "the idle consumer got nothing: it never said hello to the restarted broker");
  CHECK(deliveries_of(idle.stdout_lines()).size() == (served ? 1u : 0u));
  figures << "quiet restart: waiting producer " << (waited ? "answered" : "stuck")
          << ", idle consumer " << (served ? "served" : "stuck") << ", "
          << seconds_since(restarted_at) << " s after the restart";
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}

// 3 -----------------------------------------------------------------------------------------

TEST_CASE("queue: the messages of a consumer killed mid-stream go to another consumer") {
  Cluster c("queue-consumer-kill");
  Figures figures;
  INFO(c.report());
  const std::string broker = c.start_broker("broker", {"-visibility-timeout=2"});
  // A slow consumer: it holds its prefetch while each message takes 0.2 s.
  ChildProcess& slow =
      c.start("consumer-a", "consumer",
              {"-broker=" + broker, "-name=a", "-prefetch=4", "-exec=sleep 0.2; cat"});
  ChildProcess& producer =
      c.start("producer", "producer",
              {"-broker=" + broker, "-count=40", "-inflight=40", "-payload=job",
               "-timeout=" + std::to_string(limit(60s).count() / 1000)});

  LineFollower follow(slow.stdout_path());
  REQUIRE(wait_until(
      [&] {
        (void)follow.poll();
        return follow.lines() >= 3;
      },
      limit(20s), 5ms));
  // Killed while it runs the command for the message it printed last (and holds the rest
  // of its prefetch).
  const auto killed_at = SteadyClock::now();
  slow.kill_now();
  const auto slow_seen = deliveries_of(slow.stdout_lines());
  REQUIRE(!slow_seen.empty());
  const std::uint64_t last_held = slow_seen.back().id;

  ChildProcess& other = c.start("consumer-b", "consumer", {"-broker=" + broker, "-name=b"});
  const auto status = wait_producer(producer, limit(60s));
  const double recovery = seconds_since(killed_at);
  CHECK(status.exited_with(0));
  CHECK(last_line(producer.stdout_lines()) == "answers: 40/40");

  const auto answers = answers_of(producer.stdout_lines());
  std::set<std::uint64_t> answered;
  for (const auto& a : answers) {
    CHECK(a.status == "answered");
    CHECK(a.payload == "job");
    answered.insert(a.id);
  }
  CHECK(answered.size() == 40);

  const auto other_seen = deliveries_of(other.stdout_lines());
  std::map<std::uint64_t, std::uint64_t> redelivered;  // id -> delivery count at b
  for (const auto& d : other_seen) {
    if (d.delivery > 1) redelivered[d.id] = d.delivery;
  }
  // What a printed and could not have answered went to b (its answers would have made
  // those deliveries final): at least one of a's messages came to b again.
  std::uint64_t from_slow = 0;
  for (const auto& d : slow_seen) from_slow += redelivered.count(d.id);
  CHECK_MESSAGE(from_slow >= 1, "none of the " << slow_seen.size()
                                               << " messages the killed consumer printed "
                                                  "was delivered again to the other one");
  figures << "consumer kill: a printed " << slow_seen.size() << " messages before SIGKILL; b saw "
          << other_seen.size() << ", " << redelivered.size() << " of them again, " << from_slow
          << " of those printed by a (its last one "
          << (redelivered.count(last_held) ? "too" : "not") << "); all 40 answered " << recovery
          << " s after the kill (visibility timeout 2 s)";
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}

// 4 -----------------------------------------------------------------------------------------

TEST_CASE("queue: a message rejected on each of its 5 deliveries is dead-lettered") {
  Cluster c("queue-dead-letter");
  Figures figures;
  INFO(c.report());
  const auto started = SteadyClock::now();
  const std::string broker = c.start_broker("broker", {});
  ChildProcess& consumer =
      c.start("consumer", "consumer", {"-broker=" + broker, "-name=rejecter", "-exec=exit 1"});
  ChildProcess& producer =
      c.start("producer", "producer",
              {"-broker=" + broker, "-count=3", "-inflight=3", "-payload=doomed",
               "-timeout=" + std::to_string(limit(60s).count() / 1000)});

  const auto status = wait_producer(producer, limit(60s));
  const double elapsed = seconds_since(started);
  CHECK(status.exited_with(0));  // a dead-lettered answer is an answer
  const auto out = producer.stdout_lines();
  CHECK(last_line(out) == "answers: 3/3");
  const auto answers = answers_of(out);
  CHECK(answers.size() == 3);
  for (const auto& a : answers) CHECK_MESSAGE(a.status == "dead-lettered", "answer " << a.id);

  // Each message was delivered exactly 5 times, counted 1..5.
  std::map<std::uint64_t, std::vector<std::uint64_t>> counts;
  for (const auto& d : deliveries_of(consumer.stdout_lines())) counts[d.id].push_back(d.delivery);
  CHECK(counts.size() == 3);
  const std::vector<std::uint64_t> one_to_five{1, 2, 3, 4, 5};
  for (const auto& a : answers) {
    CHECK_MESSAGE(counts[a.id] == one_to_five, "deliveries of message " << a.id);
  }
  figures << "dead letter: 3 messages x 5 deliveries, dead-lettered after " << elapsed << " s";
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}

// 5 -----------------------------------------------------------------------------------------

TEST_CASE("queue: consumers of a command share it, others never see it, and it waits for one") {
  Cluster c("queue-commands");
  Figures figures;
  INFO(c.report());
  const auto started = SteadyClock::now();
  const std::string broker = c.start_broker("broker", {});
  const std::string timeout = "-timeout=" + std::to_string(limit(60s).count() / 1000);
  ChildProcess& w1 =
      c.start("worker-1", "consumer", {"-broker=" + broker, "-name=w1", "-command=work"});
  ChildProcess& w2 =
      c.start("worker-2", "consumer", {"-broker=" + broker, "-name=w2", "-command=work"});
  ChildProcess& bystander =
      c.start("other", "consumer", {"-broker=" + broker, "-name=o", "-command=other"});
  // Both workers take part only if both have said hello before the work comes: 200
  // messages take one consumer less time than another takes to start.
  for (ChildProcess* worker : {&w1, &w2}) {
    REQUIRE(worker->wait_for_line(
        [](const std::string& l) { return l.find("connected to broker") != std::string::npos; },
        limit(10s), true));
  }

  ChildProcess& work = c.start(
      "producer-work", "producer",
      {"-broker=" + broker, "-command=work", "-count=200", "-inflight=16", "-payload=w", timeout});
  CHECK(wait_producer(work, limit(60s)).exited_with(0));
  CHECK(last_line(work.stdout_lines()) == "answers: 200/200");
  // The bystander works: it takes its own command.
  ChildProcess& other =
      c.start("producer-other", "producer",
              {"-broker=" + broker, "-command=other", "-count=10", "-payload=o", timeout});
  CHECK(wait_producer(other, limit(60s)).exited_with(0));

  const auto d1 = deliveries_of(w1.stdout_lines());
  const auto d2 = deliveries_of(w2.stdout_lines());
  const auto d3 = deliveries_of(bystander.stdout_lines());
  std::set<std::uint64_t> work_ids;
  for (const auto* d : {&d1, &d2}) {
    for (const auto& m : *d) {
      CHECK(m.command == "work");
      CHECK(work_ids.insert(m.id).second);
    }
  }
  CHECK(work_ids.size() == 200);
  CHECK(d1.size() > 0);
  CHECK(d2.size() > 0);
  CHECK(d3.size() == 10);
  for (const auto& m : d3)
    CHECK_MESSAGE(m.command == "other", "the consumer of other got " << m.command);

  // A command nobody takes: its messages wait, and are served once a consumer comes.
  ChildProcess& later = c.start("producer-later", "producer",
                                {"-broker=" + broker, "-command=later", "-count=5", "-inflight=5",
                                 "-payload=waits-for-a-consumer", timeout});
  // Stored, and still unanswered once everything is quiet (with -count the producer exits
  // once it has its answers).
  REQUIRE(wait_until([&] { return count_in_dir(c.data() / "log", "waits-for-a-consumer") >= 5; },
                     limit(20s)));
  CHECK(wait_quiet({c.broker().pid(), later.pid(), w1.pid(), w2.pid(), bystander.pid()},
                   limit(10s)));
  CHECK(later.running());
  const auto late_at = SteadyClock::now();
  ChildProcess& latecomer =
      c.start("latecomer", "consumer", {"-broker=" + broker, "-name=late", "-command=later"});
  CHECK(wait_producer(later, limit(30s)).exited_with(0));
  CHECK(last_line(later.stdout_lines()) == "answers: 5/5");
  const double waited = seconds_since(late_at);
  const auto d4 = deliveries_of(latecomer.stdout_lines());
  CHECK(d4.size() == 5);
  for (const auto& m : d4) {
    CHECK(m.command == "later");
    CHECK(m.delivery == 1);  // never handed to anybody before
  }
  // Nobody else saw them.
  for (auto* p : {&w1, &w2, &bystander}) {
    for (const auto& m : deliveries_of(p->stdout_lines()))
      CHECK_MESSAGE(m.command != "later", p->name() << " got message " << m.id);
  }
  figures << "commands: work split " << d1.size() << " / " << d2.size() << ", other 10 to its own "
          << "consumer; 5 waiting messages served " << waited << " s after their consumer started; "
          << seconds_since(started) << " s in all";
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}

// 6 -----------------------------------------------------------------------------------------

namespace {

// Stores two intact messages and then one more, damages the record of the last one on
// disk (flips a byte of it, or cuts its last 3 bytes off), and restarts the broker.
void damaged_last_record(bool flip) {
  const std::string intact = "intact-before-damage";
  const std::string target = "damaged-last-record";
  Cluster c(flip ? "queue-log-corrupt" : "queue-log-torn");
  Figures figures;
  INFO(c.report());
  const fs::path log_dir = c.data() / "log";
  const std::string address = c.start_broker("broker-1", {"-sync=always"});
  // No consumer yet: the messages stay stored.
  ChildProcess& p1 =
      c.start("producer-intact", "producer",
              {"-broker=" + address, "-count=2", "-inflight=2", "-payload=" + intact});
  REQUIRE(wait_until([&] { return count_in_dir(log_dir, intact) >= 2; }, limit(20s)));
  ChildProcess& p2 = c.start("producer-target", "producer",
                             {"-broker=" + address, "-count=1", "-payload=" + target});
  REQUIRE(wait_until([&] { return count_in_dir(log_dir, target) >= 1; }, limit(20s)));
  p1.kill_now();
  p2.kill_now();
  const auto [stopped, clean] = c.broker().stop(limit(10s));
  CHECK(clean);
  CHECK(stopped.exited_with(0));

  std::vector<fs::path> segments;
  for (const auto& entry : fs::directory_iterator(log_dir)) {
    if (entry.path().extension() == ".log") segments.push_back(entry.path());
  }
  REQUIRE(!segments.empty());
  std::sort(segments.begin(), segments.end());
  const fs::path segment = segments.back();
  std::string bytes = peermq::test::read_text_file(segment);
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  peermq::mq::RecordScanner scan(std::span<const std::uint8_t>(data, bytes.size()));
  std::size_t last_offset = 0;
  std::size_t last_size = 0;
  while (auto record = scan.next()) {
    last_offset = scan.valid_bytes() - record->size;
    last_size = record->size;
  }
  REQUIRE_MESSAGE(!scan.stop_reason(), "the log was damaged before the test touched it");
  REQUIRE(scan.valid_bytes() == bytes.size());
  const std::string last_record = bytes.substr(last_offset, last_size);
  REQUIRE_MESSAGE(last_record.find(target) != std::string::npos,
                  "the last record of " << segment << " is not the last message");

  if (flip) {
    const std::size_t at = last_offset + last_record.find(target) + 3;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
    REQUIRE(peermq::test::write_text_file(segment, bytes));
  } else {
    fs::resize_file(segment, bytes.size() - 3);
  }

  const std::string again = c.start_broker("broker-2", {"-sync=always"});
  CHECK(again == address);
  std::string recovered;
  for (const auto& line : c.broker().stderr_lines()) {
    if (line.find("recovered") != std::string::npos) recovered = line;
  }
  REQUIRE_MESSAGE(!recovered.empty(), "the broker logged no recovery line");
  figures << (flip ? "flipped byte: " : "torn tail: ") << recovered;
  std::smatch m;
  const std::regex recovery_figures(
      R"((\d+) messages stored.*\((\d+) torn bytes cut, (\d+) corrupt records skipped)");
  REQUIRE(std::regex_search(recovered, m, recovery_figures));
  CHECK(m[1].str() == "2");
  if (flip) {
    CHECK(m[2].str() == std::to_string(last_size));
    CHECK(m[3].str() == "1");
  } else {
    CHECK(m[2].str() == std::to_string(last_size - 3));
    CHECK(m[3].str() == "0");
  }

  // The intact messages are served; the damaged one never is.
  ChildProcess& consumer = c.start("consumer", "consumer", {"-broker=" + again, "-name=c"});
  REQUIRE(
      wait_until([&] { return deliveries_of(consumer.stdout_lines()).size() >= 2; }, limit(20s)));
  // Nothing more comes once broker and consumer are quiet.
  CHECK(wait_quiet({c.broker().pid(), consumer.pid()}, limit(10s)));
  const auto seen = deliveries_of(consumer.stdout_lines());
  CHECK(seen.size() == 2);
  for (const auto& d : seen) CHECK(d.payload == intact);
  CHECK(consumer.stdout_text().find("damaged") == std::string::npos);
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}

}  // namespace

TEST_CASE("queue: a corrupted last log record is skipped at restart and never served") {
  damaged_last_record(true);
}

TEST_CASE("queue: a torn last log record is cut at restart and never served") {
  damaged_last_record(false);
}

// 7 -----------------------------------------------------------------------------------------

TEST_CASE("queue: a producer whose key the access list does not allow is refused") {
  Cluster c("queue-access");
  Figures figures;
  INFO(c.report());
  const std::string allowed = c.keygen("allowed");
  const std::string consumer_key = c.keygen("consumer");
  const std::string stranger = c.keygen("stranger");
  const fs::path allow = c.dir() / "allow.txt";
  REQUIRE(peermq::test::write_text_file(allow, "# issue 5 access list test\n" + allowed +
                                                   "  produce=job\n" + consumer_key +
                                                   "  consume=job\n"));
  const std::string broker = c.start_broker("broker", {"-allow=" + allow.string()});
  const std::string timeout = "-timeout=" + std::to_string(limit(60s).count() / 1000);
  ChildProcess& consumer =
      c.start("consumer", "consumer",
              {"-broker=" + broker, "-command=job", "-key=" + c.key_file("consumer").string()});

  ChildProcess& ok = c.start("producer-allowed", "producer",
                             {"-broker=" + broker, "-command=job", "-count=3", "-payload=ok",
                              "-key=" + c.key_file("allowed").string(), timeout});
  CHECK(wait_producer(ok, limit(60s)).exited_with(0));
  CHECK(last_line(ok.stdout_lines()) == "answers: 3/3");

  const auto refused_at = SteadyClock::now();
  ChildProcess& bad = c.start("producer-stranger", "producer",
                              {"-broker=" + broker, "-command=job", "-count=3", "-payload=bad",
                               "-key=" + c.key_file("stranger").string(), timeout});
  const auto status = wait_producer(bad, limit(30s));
  const double took = seconds_since(refused_at);
  CHECK_MESSAGE(!status.exited_with(0), status.describe());
  CHECK(status.signal == 0);
  const std::string err = bad.stderr_text();
  CHECK_MESSAGE(err.find("refused") != std::string::npos, err);
  CHECK_MESSAGE(err.find("timed out") == std::string::npos, "not refused, only timed out");
  CHECK(answers_of(bad.stdout_lines()).empty());

  // The broker says whom it refused.
  std::string broker_line;
  REQUIRE(wait_until(
      [&] {
        for (const auto& line : c.broker().stderr_lines()) {
          if (line.find(stranger) != std::string::npos) broker_line = line;
        }
        return !broker_line.empty();
      },
      limit(5s)));
  const auto seen = deliveries_of(consumer.stdout_lines());
  CHECK(seen.size() == 3);
  for (const auto& d : seen) CHECK(d.payload == "ok");
  std::string refusal;
  for (const auto& line : peermq::test::complete_lines(err)) {
    if (line.find("refused") != std::string::npos) refusal = line;
  }
  figures << "access list: refused in " << took << " s; producer: \"" << refusal << "\"; broker: \""
          << broker_line << "\"";
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}

// 9 -----------------------------------------------------------------------------------------

TEST_CASE("queue: a slow -exec consumer's answers leave one by one, and the producer shows each") {
  Cluster c("queue-exec-paced");
  Figures figures;
  INFO(c.report());
  const std::string broker = c.start_broker("broker", {});
  const fs::path runs = c.dir() / "runs";
  const fs::path gate = c.dir() / "gate";
  // Four messages reach the consumer together; the first command answers at once, the
  // others wait until the test opens the gate.
  c.start("consumer", "consumer",
          {"-broker=" + broker, "-prefetch=4",
           "-exec=echo ran >> '" + runs.string() + "'; { [ \"$(wc -l < '" + runs.string() +
               "')\" -eq 1 ] || " + gate_wait(gate) + "; } && cat"});
  ChildProcess& producer =
      c.start("producer", "producer",
              {"-broker=" + broker, "-count=4", "-inflight=4", "-payload=paced",
               "-timeout=" + std::to_string(limit(60s).count() / 1000)});
  // The first answer is printed (and flushed) while the other commands still run: they
  // cannot end before the gate opens.
  auto first = producer.wait_for_line(
      [](const std::string& l) { return l.starts_with("answer "); }, limit(60s));
  REQUIRE_MESSAGE(first, "no answer line");
  CHECK(answers_of(producer.stdout_lines()).size() == 1);
  CHECK(producer.running());
  REQUIRE(peermq::test::write_text_file(gate, "open\n"));
  CHECK(wait_producer(producer, limit(60s)).exited_with(0));
  const auto answers = answers_of(producer.stdout_lines());
  CHECK(answers.size() == 4);
  for (const auto& a : answers) CHECK(a.payload == "paced");
  figures << "paced -exec: 1 answer out while 3 commands waited, then all 4";
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}

// After a reconnect the broker delivers again what the consumer held; -exec commands queued
// for the old connection's deliveries must not run as well (each would run twice).
TEST_CASE("queue: after a broker restart a -exec consumer skips what it queued before") {
  Cluster c("queue-exec-restart");
  Figures figures;
  INFO(c.report());
  const std::string address = c.start_broker("broker-1", {});
  const fs::path runs = c.dir() / "runs";
  const fs::path gate = c.dir() / "gate";
  // Three messages reach the consumer together; each command notes that it ran and waits
  // for the gate, which opens once the consumer has reconnected and holds the deliveries
  // of the restarted broker, long before its first command ends.
  ChildProcess& consumer =
      c.start("consumer", "consumer",
              {"-broker=" + address, "-prefetch=3",
               "-exec=echo ran >> '" + runs.string() + "'; " + gate_wait(gate) + " && cat"});
  ChildProcess& producer =
      c.start("producer", "producer",
              {"-broker=" + address, "-count=3", "-inflight=3", "-payload=once",
               "-timeout=" + std::to_string(limit(90s).count() / 1000)});
  auto ran = [&] {
    std::ifstream f(runs);
    return static_cast<std::size_t>(
        std::count(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>(), '\n'));
  };
  REQUIRE(wait_until([&] { return ran() >= 1; }, limit(20s)));
  c.broker().kill_now();
  CHECK(c.start_broker("broker-2", {}) == address);
  CHECK_MESSAGE(connected_twice(consumer, limit(20s)), "the consumer did not reconnect");
  CHECK(wait_until([&] { return deliveries_of(consumer.stdout_lines()).size() >= 6; },
                   limit(20s)));
  REQUIRE(peermq::test::write_text_file(gate, "open\n"));
  CHECK(wait_producer(producer, limit(90s)).exited_with(0));
  CHECK(answers_of(producer.stdout_lines()).size() == 3);
  // Each command ran once. The restarted broker delivers the three again under the tags
  // they had (a tag is the message's slot and delivery attempt, and attempts restart with
  // the broker), so the answer of the command running at the kill is taken, and of each
  // pair of jobs for one tag the second finds it answered and is skipped. Without the
  // check, that second job ran too: 4 commands (measured).
  CHECK(ran() == 3);
  figures << "-exec across a broker restart: " << ran() << " commands run for 3 messages";
  CHECK_MESSAGE(c.sanitizer_reports().empty(), c.sanitizer_reports());
}
