// peermq broker: stores messages in a durable log, hands each to one consumer of its
// command, and routes the answers back to the producers.
//
// It prints `address: <ADDR>` as soon as its identity is loaded (by default from
// <data>/broker.key, so the address survives restarts), replays its log, announces itself
// for local discovery and serves. Group commit: every message that arrived in one loop
// iteration is written with one write and, with -sync=always, one fdatasync, and then
// confirmed together.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

#include "mq/broker.hpp"
#include "node_role.hpp"
#include "roles.hpp"
#include "runtime/iteration_hook.hpp"
#include "runtime/log.hpp"
#include "runtime/segment_log.hpp"
#include "runtime/timer.hpp"

namespace peermq::cli {

namespace {

// The broker's journal is the segment log; a record the log refuses is a broken invariant
// (the broker bounds payloads well below the log's limit), so it stops the broker.
struct LogJournal final : mq::Journal {
  runtime::SegmentLog* log = nullptr;
  bool failed = false;
  std::string error;
  std::uint64_t append(std::span<const std::uint8_t> body) override {
    auto seq = log->append(body);
    if (!seq) {
      failed = true;
      error = seq.error().message();
      return log->next_seq();
    }
    return *seq;
  }
};

struct TransportOutbox final : mq::BrokerOutbox {
  runtime::PeerTransport* transport = nullptr;
  bool send(const PublicKey& peer, std::span<const std::uint8_t> message) override {
    return transport->send(peer, message).ok();
  }
  void report(const PublicKey& peer, std::string_view what) override {
    const std::string who = Address(peer).to_string();
    PEERMQ_LOG(warn, "broker", "%s: %.*s", who.c_str(), static_cast<int>(what.size()), what.data());
  }
};

std::optional<mq::AccessList> read_access_list(const std::string& path, Io& io) {
  std::ifstream in(path);
  if (!in) {
    io.err << "peermq broker: cannot read the access list " << path
           << ": check the path given to -allow\n";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::size_t line = 0;
  auto list = mq::AccessList::parse(text.str(), &line);
  if (!list) {
    io.err << "peermq broker: " << path << ':' << line << ": " << list.error().message() << '\n';
    return std::nullopt;
  }
  return std::move(list).value();
}

}  // namespace

void define_broker_flags(FlagSet& flags) {
  flags.add_string("data", "peermq-data", "directory of the message log (created if missing)",
                   "DIR", "PEERMQ_DATA");
  flags.add_string("sync", "always",
                   "when a message counts as stored: always (after fsync), batch (fsync every "
                   "few ms), none (leave it to the OS)",
                   "always|batch|none");
  flags.check("sync", [](std::string_view value) -> std::optional<std::string> {
    if (runtime::parse_sync_policy(value)) return std::nullopt;
    return "use always, batch or none";
  });
  flags.add_string("allow", "", "access list: who may produce and consume what (default: open)",
                   "FILE");
  flags.add_integer("visibility-timeout", limits::broker_visibility_timeout.count(), 1, 86400,
                    "seconds a consumer has to answer before the message goes to another",
                    "SECONDS");
  flags.add_integer("max-deliveries", limits::broker_max_deliveries, 1, 255,
                    "deliveries before a message moves to the dead-letter queue", "N");
  flags.add_integer("max-messages", static_cast<std::int64_t>(limits::broker_queue_max_messages), 1,
                    1'000'000'000, "stored messages before producers are told to slow down", "N");
  flags.add_bool("stat", false, "print the broker's figures every 5 seconds and on exit");
  add_node_flags(flags, "", "0.0.0.0:0");
  add_common_flags(flags);
}

int run_broker(const FlagSet& flags, Io& io) {
  const std::filesystem::path data = flags.get_string("data");
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) {
    io.err << "peermq broker: cannot create the data directory " << data.string() << ": "
           << ec.message() << " (choose another with -data=DIR)\n";
    return kExitFailure;
  }
  const std::string key_file =
      flags.get_string("key").empty() ? (data / "broker.key").string() : flags.get_string("key");
  auto identity = load_identity(key_file, io, "broker");
  if (!identity) return kExitFailure;
  io.out << "address: " << identity->address().to_string() << '\n';
  io.out.flush();

  mq::BrokerConfig config;
  config.visibility_timeout = std::chrono::seconds(flags.get_integer("visibility-timeout"));
  config.max_deliveries = static_cast<std::uint32_t>(flags.get_integer("max-deliveries"));
  config.max_messages = static_cast<std::uint64_t>(flags.get_integer("max-messages"));
  if (!flags.get_string("allow").empty()) {
    config.access = read_access_list(flags.get_string("allow"), io);
    if (!config.access) return kExitFailure;
  } else {
    PEERMQ_LOG(warn, "broker",
               "no -allow=FILE: this broker is open, anyone who knows its address may produce "
               "and consume");
  }

  runtime::Loop loop;
  Counters counters;
  LogJournal journal;
  TransportOutbox outbox;
  mq::Broker broker(config, journal, outbox, counters, loop.now(),
                    std::chrono::system_clock::now());

  runtime::LogOptions log_options;
  log_options.sync = *runtime::parse_sync_policy(flags.get_string("sync"));
  std::string detail;
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t replay_errors = 0;
  auto log = runtime::SegmentLog::open(
      data / "log", log_options,
      [&](std::uint64_t seq, std::span<const std::uint8_t> body) {
        if (!broker.replay(seq, body)) ++replay_errors;
      },
      &detail);
  if (!log) {
    io.err << "peermq broker: " << detail << '\n';
    return kExitFailure;
  }
  journal.log = &*log;
  {
    const auto& r = log->recovery();
    const auto s = broker.stats();
    PEERMQ_LOG(info, "broker",
               "recovered %llu records in %.3f s: %llu messages stored, %llu dead letters, %llu "
               "answers (%llu torn bytes cut, %llu corrupt records skipped, %llu unreadable)",
               static_cast<unsigned long long>(r.records),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
               static_cast<unsigned long long>(s.stored_messages),
               static_cast<unsigned long long>(s.dead_letters),
               static_cast<unsigned long long>(s.stored_answers),
               static_cast<unsigned long long>(r.torn_bytes),
               static_cast<unsigned long long>(r.corrupt_records),
               static_cast<unsigned long long>(replay_errors));
  }

  runtime::Node node(loop, counters, *identity, node_options(flags));
  if (!node.start(&detail)) {
    io.err << "peermq broker: " << detail << '\n';
    return kExitFailure;
  }
  outbox.transport = &node.transport();
  PEERMQ_LOG(info, "broker", "listening on %s, data in %s, -sync=%s",
             node.local_endpoint().to_string().c_str(), data.string().c_str(),
             flags.get_string("sync").c_str());

  bool finished = false;
  int exit_code = kExitOk;
  std::uint64_t released_below = 1;  // every record below this was released to the log
  runtime::Timer broker_timer(loop);
  runtime::Timer sync_timer(loop);
  runtime::IterationHook commit_hook(loop);
  std::function<void()> after_input;

  auto fail = [&](const std::string& why) {
    io.err << "peermq broker: " << why << '\n';
    exit_code = kExitFailure;
    finished = true;
  };
  auto commit = [&] {
    if (journal.failed) return fail("the log refused a record: " + journal.error);
    if (log->pending_records() > 0) {
      auto c = log->commit(loop.now());
      if (!c) return fail(log->last_error());
    } else if (log->sync_due(loop.now()) && log->written_seq() > log->synced_seq()) {
      if (!log->sync()) return fail(log->last_error());
    }
    broker.on_committed(log->stored_seq(), loop.now());
    // The log may forget what the broker no longer needs (whole segments at a time).
    for (const std::uint64_t floor = broker.live_floor(); released_below < floor;
         ++released_below) {
      (void)log->release(released_below);
    }
  };
  after_input = [&] {
    const Instant next = broker.next_deadline();
    if (next == Instant::max()) {
      broker_timer.stop();
    } else {
      broker_timer.start_at(next, [&] {
        broker.on_timeout(loop.now());
        after_input();
      });
    }
    if (log_options.sync == runtime::SyncPolicy::batch && log->written_seq() > log->synced_seq()) {
      sync_timer.start_at(log->sync_deadline(), [&] { commit(); });
    }
  };
  commit_hook.start([&] {
    commit();
    after_input();
  });

  auto& transport = node.transport();
  std::set<PublicKey> connected;
  transport.on_message([&](const PublicKey& peer, std::span<const std::uint8_t> bytes) {
    if (connected.insert(peer).second) broker.on_connect(peer, loop.now());
    (void)broker.on_message(peer, bytes, loop.now());  // drops are counted by the broker
  });
  transport.on_writable([&](const PublicKey& peer) { broker.on_writable(peer, loop.now()); });
  auto gone = [&](const PublicKey& peer) {
    if (connected.erase(peer) > 0) broker.on_disconnect(peer, loop.now());
  };
  // A restarted peer's deliveries go back to the queue; its hello comes again.
  transport.on_peer_reset(gone);
  transport.on_peer_closed(gone);

  runtime::Timer stat_timer(loop);
  auto print_stat = [&] {
    const auto s = broker.stats();
    const auto& l = log->stats();
    io.out << "stat: stored=" << s.stored_messages << " ready=" << s.ready
           << " in_flight=" << s.in_flight << " dead_letters=" << s.dead_letters
           << " answers=" << s.stored_answers << " consumers=" << s.consumers
           << " producers=" << s.producers << " fsyncs=" << l.fsyncs
           << " records_per_fsync=" << l.records_per_fsync() << " segments=" << l.segments
           << " store_memory=" << s.store_memory_bytes << " index_memory=" << s.index_memory_bytes
           << '\n';
    io.out.flush();
  };
  if (flags.get_bool("stat")) {
    stat_timer.start(std::chrono::seconds(5), std::chrono::seconds(5), print_stat);
    stat_timer.unref();
  }

  run_until_done(
      loop, [&] { finished = true; }, [&] { return finished; });
  commit_hook.stop();
  if (log->pending_records() > 0) (void)log->commit(loop.now());
  (void)log->sync();
  if (flags.get_bool("stat")) print_stat();
  node.stop();
  PEERMQ_LOG(info, "broker", "stopped");
  return exit_code;
}

}  // namespace peermq::cli
