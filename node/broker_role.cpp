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
#include <ostream>

#include "node_role.hpp"
#include "roles.hpp"
#include "runtime/service_node.hpp"
#include "runtime/log.hpp"
#include "storage/segment_log.hpp"
#include "runtime/timer.hpp"

namespace peermq::cli {

namespace {

std::optional<mq::AccessList> read_access_list(const std::string& path, Io& io) {
  std::string detail;
  auto list = service::read_access_list(path, &detail);
  if (!list) {
    io.err << "peermq broker: " << detail;
    if (list.error() == std::errc::no_such_file_or_directory)
      io.err << ": check the path given to -allow";
    io.err << '\n';
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
    if (storage::parse_sync_policy(value)) return std::nullopt;
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

  service::BrokerServiceOptions options;
  options.data_dir = data;
  options.log.sync = *storage::parse_sync_policy(flags.get_string("sync"));
  mq::BrokerConfig& config = options.broker;
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
  runtime::BrokerNode broker(loop, counters, *identity, node_options(flags), std::move(options));
  service::BrokerService& service = broker.service();
  std::string detail;
  if (!broker.start(&detail)) {
    io.err << "peermq broker: " << detail << '\n';
    return kExitFailure;
  }
  PEERMQ_LOG(info, "broker", "listening on %s",
             broker.node().local_endpoint().to_string().c_str());
  bool finished = false;
  int exit_code = kExitOk;
  service.on_failure([&](const std::string& why) {
    io.err << "peermq broker: " << why << '\n';
    exit_code = kExitFailure;
    finished = true;
  });

  runtime::Timer stat_timer(loop);
  auto print_stat = [&] {
    const auto s = service.broker().stats();
    const auto& l = service.log().stats();
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
  broker.stop();  // writes and syncs what is pending
  if (flags.get_bool("stat")) print_stat();
  return exit_code;
}

}  // namespace peermq::cli
