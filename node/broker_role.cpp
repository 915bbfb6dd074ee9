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
#include <optional>
#include <ostream>

#include <peermq/broker.hpp>
#include <peermq/timer.hpp>

#include "node_role.hpp"
#include "roles.hpp"

namespace peermq::cli {

namespace {

std::optional<SyncPolicy> parse_sync(std::string_view text) {
  if (text == "always") return SyncPolicy::always;
  if (text == "batch") return SyncPolicy::batch;
  if (text == "none") return SyncPolicy::none;
  return std::nullopt;
}

void print_stat(Io& io, const BrokerStats& s) {
  io.out << "stat: stored=" << s.stored_messages << " ready=" << s.ready
         << " in_flight=" << s.in_flight << " dead_letters=" << s.dead_letters
         << " answers=" << s.stored_answers << " consumers=" << s.consumers
         << " producers=" << s.producers << " fsyncs=" << s.fsyncs
         << " records_per_fsync=" << s.records_per_fsync << " segments=" << s.segments
         << " store_memory=" << s.store_memory_bytes << " index_memory=" << s.index_memory_bytes
         << '\n';
  io.out.flush();
}

}  // namespace

void define_broker_flags(FlagSet& flags) {
  const BrokerOptions defaults;
  flags.add_string("data", "peermq-data", "directory of the message log (created if missing)",
                   "DIR", "PEERMQ_DATA");
  flags.add_string("sync", "always",
                   "when a message counts as stored: always (after fsync), batch (fsync every "
                   "few ms), none (leave it to the OS)",
                   "always|batch|none");
  flags.check("sync", [](std::string_view value) -> std::optional<std::string> {
    if (parse_sync(value)) return std::nullopt;
    return "use always, batch or none";
  });
  flags.add_string("allow", "", "access list: who may produce and consume what (default: open)",
                   "FILE");
  flags.add_integer(
      "visibility-timeout",
      std::chrono::duration_cast<std::chrono::seconds>(defaults.visibility_timeout).count(), 1,
      86400, "seconds a consumer has to answer before the message goes to another", "SECONDS");
  flags.add_integer("max-deliveries", defaults.max_deliveries, 1, 255,
                    "deliveries before a message moves to the dead-letter queue", "N");
  flags.add_integer("max-messages", static_cast<std::int64_t>(defaults.max_messages), 1,
                    1'000'000'000, "stored messages before producers are told to slow down", "N");
  flags.add_bool("stat", false, "print the broker's figures every 5 seconds and on exit");
  add_node_flags(flags, "", "0.0.0.0:0");
  add_web_flags(flags);
  add_common_flags(flags);
}

int run_broker(const FlagSet& flags, Io& io) {
  auto web = web_options(flags, io, "broker");  // a usage error touches no directory
  if (!web) return kExitUsage;
  const std::filesystem::path data = flags.get_string("data");
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) {
    io.err << "peermq broker: cannot create the data directory " << data.string() << ": "
           << ec.message() << " (choose another with -data=DIR)\n";
    return kExitFailure;
  }
  BrokerOptions options;
  options.data_dir = data.string();
  options.key_file = flags.get_string("key");  // empty: <data>/broker.key
  options.sync = *parse_sync(flags.get_string("sync"));
  options.listen = flags.get_string("listen");
  options.relays = relays(flags);
  options.access_list = flags.get_string("allow");
  options.visibility_timeout = std::chrono::seconds(flags.get_integer("visibility-timeout"));
  options.max_deliveries = static_cast<std::uint32_t>(flags.get_integer("max-deliveries"));
  options.max_messages = static_cast<std::uint64_t>(flags.get_integer("max-messages"));
  options.web = std::move(*web);

  EventLoop loop;
  Broker broker(loop, std::move(options));
  std::string detail;
  auto address = broker.load_identity(&detail);
  if (!address) {
    io.err << "peermq broker: " << detail << '\n';
    return kExitFailure;
  }
  print_address(io, *address);

  if (auto started = broker.start(&detail); !started) {
    io.err << "peermq broker: " << detail;
    if (started.error() == std::errc::no_such_file_or_directory &&
        detail.starts_with("cannot read the access list")) {
      io.err << ": check the path given to -allow";
    }
    io.err << '\n';
    return kExitFailure;
  }

  print_web(io, broker.web_url());
  const bool stat = flags.get_bool("stat");
  Timer stat_timer(loop);
  if (stat) {
    stat_timer.start(std::chrono::seconds(5), std::chrono::seconds(5),
                     [&] { print_stat(io, broker.stats()); });
  }
  on_stop_signal(loop, [&] { broker.stop(); });
  int exit_code = kExitOk;
  if (auto ran = broker.run(&detail); !ran) {  // stop() wrote and synced what was pending
    io.err << "peermq broker: " << (detail.empty() ? ran.error().message() : detail) << '\n';
    exit_code = kExitFailure;
  }
  if (stat) print_stat(io, broker.stats());
  return exit_code;
}

}  // namespace peermq::cli
