#include "command_line.hpp"

#include <array>
#include <ostream>

#include <peermq/log.hpp>
#include <peermq/version.hpp>

#include "roles.hpp"

namespace peermq::cli {

namespace {

constexpr std::array kRoles{
    Role{"broker", "Store messages durably, hand each to one consumer, route answers back.",
         define_broker_flags, run_broker},
    Role{"consumer", "Take messages of some commands from a broker, print and answer them.",
         define_consumer_flags, run_consumer},
    Role{"producer", "Send messages to a broker and print their answers.", define_producer_flags,
         run_producer},
    Role{"bench", "Load a broker with many producers and consumers; print rates and latencies.",
         define_bench_flags, run_bench},
    Role{"relay", "Register nodes, find them by address, help them punch through NATs, forward.",
         define_relay_flags, run_relay},
    Role{"ping", "Find a node by address and show the path to it (direct or relayed) and its RTT.",
         define_ping_flags, run_ping},
    Role{"keygen", "Create a node identity key file if it is missing and print its address.",
         define_keygen_flags, run_keygen},
};

void print_usage(std::ostream& out) {
  out << "usage: peermq <role> [flags]\n\n"
         "peermq is a peer-to-peer message queue: every node is addressed by its public key,\n"
         "and every byte between nodes is authenticated and encrypted.\n\nroles:\n";
  for (const Role& role : kRoles) {
    std::string left = "  " + std::string(role.name);
    out << left << std::string(left.size() < 12 ? 12 - left.size() : 1, ' ') << role.summary
        << '\n';
  }
  out << "\nRun 'peermq <role> -h' for the flags of a role. Flags are written -name=value,\n"
         "-name value, --name=value or --name value.\n"
         "  -version    print the version\n";
}

const Role* find_role(std::string_view name) {
  for (const Role& role : kRoles)
    if (role.name == name) return &role;
  return nullptr;
}

// Applies the flags every role shares; their values were checked while parsing.
void apply_common_flags(const FlagSet& flags) {
  set_log_level(*parse_log_level(flags.get_string("log")));
}

}  // namespace

std::span<const Role> roles() {
  return kRoles;
}

void add_common_flags(FlagSet& flags, std::string default_log) {
  flags.add_string("log", std::move(default_log), "log level: error, warn, info, debug or trace", "LEVEL",
                   "PEERMQ_LOG");
  flags.check("log", [](std::string_view value) -> std::optional<std::string> {
    if (parse_log_level(value)) return std::nullopt;
    return "use one of error, warn, info, debug, trace";
  });
}

int run(std::span<const std::string> args, Io& io) {
  if (args.empty()) {
    print_usage(io.err);
    return kExitUsage;
  }
  std::string_view first = args[0];
  if (first == "-h" || first == "-help" || first == "--help" || first == "help") {
    print_usage(io.out);
    return kExitOk;
  }
  if (first == "-version" || first == "--version" || first == "version") {
    io.out << "peermq " << version() << '\n';
    return kExitOk;
  }
  const Role* role = find_role(first);
  if (role == nullptr) {
    io.err << "peermq: unknown role \"" << first << "\"; roles are:";
    for (const Role& r : kRoles) io.err << ' ' << r.name;
    io.err << " (see 'peermq -h')\n";
    return kExitUsage;
  }

  std::string program = "peermq " + std::string(role->name);
  FlagSet flags(program);
  role->define_flags(flags);
  if (auto error = flags.parse(args.subspan(1), io.env)) {
    if (error->code == FlagError::help_requested) {
      io.out << flags.usage(role->summary);
      return kExitOk;
    }
    io.err << program << ": " << error->message() << " (see '" << program << " -h')\n";
    return kExitUsage;
  }
  apply_common_flags(flags);
  return role->run(flags, io);
}

}  // namespace peermq::cli
