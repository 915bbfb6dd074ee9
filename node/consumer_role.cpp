// peermq consumer: takes messages of its commands from a broker, prints each, and answers
// it: with the message itself (an echo, as the original's basic example does), or with the
// standard output of -exec=CMD run by /bin/sh with the payload on its standard input (a
// non-zero exit rejects the message, and the broker delivers it again, up to its limit).
// Commands run one at a time, as child processes the loop watches (peermq::ShellAnswerer,
// on the consumer's deferred reply): each answer leaves as soon as its command is done,
// and the node keeps answering the network (ACKs, keepalives, further deliveries) while a
// command runs, however long.
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <peermq/consumer.hpp>
#include <peermq/shell_answerer.hpp>

#include "node_role.hpp"
#include "roles.hpp"

namespace peermq::cli {

namespace {

std::vector<std::string> split_commands(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream s(list);
  std::string item;
  while (std::getline(s, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void print_message(Io& io, const Message& m) {
  io.out << "message " << m.id;
  if (!m.command.empty()) io.out << " command=" << m.command;
  if (m.delivery > 1) io.out << " delivery=" << m.delivery;
  io.out << ": " << printable(m.payload) << '\n';
}

}  // namespace

void define_consumer_flags(FlagSet& flags) {
  add_broker_flag(flags);
  flags.add_string("command", "",
                   "commands to take, comma-separated (empty: messages without a command)",
                   "NAME[,NAME...]");
  flags.add_string("name", "consumer", "name the broker shows for this consumer", "ID");
  flags.add_integer("prefetch", ConsumerOptions{}.prefetch, 1, kMaxPrefetch,
                    "unanswered messages the broker may hand this consumer at once", "N");
  flags.add_string("exec", "", "answer with the output of CMD (run by /bin/sh, payload on stdin)",
                   "CMD");
  flags.add_bool("quiet", false, "do not print each message");
  add_node_flags(flags, "", "0.0.0.0:0");
  add_common_flags(flags);
}

int run_consumer(const FlagSet& flags, Io& io) {
  const auto broker = broker_address(flags, io, "consumer");
  if (!broker) return kExitUsage;
  ConsumerOptions options;
  options.broker = *broker;
  options.commands = split_commands(flags.get_string("command"));
  options.name = flags.get_string("name");
  options.prefetch = static_cast<std::uint32_t>(flags.get_integer("prefetch"));
  options.key_file = flags.get_string("key");  // empty: a fresh identity
  options.listen = flags.get_string("listen");
  options.relays = relays(flags);
  const std::string exec_command = flags.get_string("exec");
  const bool quiet = flags.get_bool("quiet");

  EventLoop loop;
  Consumer consumer(loop, std::move(options));
  std::string detail;
  auto address = consumer.load_identity(&detail);
  if (!address) {
    io.err << "peermq consumer: " << detail << '\n';
    return kExitFailure;
  }
  print_address(io, *address);

  std::optional<ShellAnswerer> exec;
  if (!exec_command.empty()) exec.emplace(loop, exec_command);
  OutputFlusher flusher(loop, io);
  consumer.on_delivery([&](const Message& m, Delivery delivery) {
    if (!quiet) {
      print_message(io, m);
      flusher.written();
    }
    if (exec) {
      exec->answer(m, std::move(delivery));
    } else if (auto a = delivery.answer(m.payload); !a) {
      PEERMQ_CLI_LOG(warn, "consumer", "cannot answer: %s", a.error().message().c_str());
    }
  });
  if (auto started = consumer.start(&detail); !started) {
    io.err << "peermq consumer: " << detail << '\n';
    return kExitFailure;
  }
  on_stop_signal(loop, [&] { consumer.stop(); });  // the broker requeues what is unanswered
  auto ran = consumer.run(&detail);
  if (exec) exec->stop();  // kills a command still running, and whatever it started
  if (!ran) {
    io.err << "peermq consumer: " << (detail.empty() ? ran.error().message() : detail) << '\n';
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace peermq::cli
