// peermq consumer: takes messages of its commands from a broker, prints each, and answers
// it: with the message itself (an echo, as the original's basic example does), or with the
// standard output of -exec=CMD run by /bin/sh with the payload on its standard input (a
// non-zero exit rejects the message, and the broker delivers it again, up to its limit).
// Commands run one at a time, as child processes the loop watches (runtime::ChildCommand):
// each answer leaves as soon as its command is done, and the node keeps answering the
// network (ACKs, keepalives, further deliveries) while a command runs, however long.
#include <signal.h>

#include <chrono>
#include <deque>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "node_role.hpp"
#include "roles.hpp"
#include "runtime/child_command.hpp"
#include "runtime/service_node.hpp"
#include "runtime/log.hpp"

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

}  // namespace

void define_consumer_flags(FlagSet& flags) {
  add_broker_flag(flags);
  flags.add_string("command", "",
                   "commands to take, comma-separated (empty: messages without a command)",
                   "NAME[,NAME...]");
  flags.add_string("name", "consumer", "name the broker shows for this consumer", "ID");
  flags.add_integer("prefetch", limits::broker_prefetch_default, 1, limits::max_prefetch,
                    "unanswered messages the broker may hand this consumer at once", "N");
  flags.add_string("exec", "", "answer with the output of CMD (run by /bin/sh, payload on stdin)",
                   "CMD");
  flags.add_bool("quiet", false, "do not print each message");
  add_node_flags(flags, "", "0.0.0.0:0");
  add_common_flags(flags);
}

int run_consumer(const FlagSet& flags, Io& io) {
  const auto broker = broker_key(flags, io, "consumer");
  if (!broker) return kExitUsage;
  const std::string key_file = flags.get_string("key");
  std::optional<Identity> identity;
  if (key_file.empty()) {
    identity = Identity::generate();
  } else if (!(identity = load_identity(key_file, io, "consumer"))) {
    return kExitFailure;
  }
  const std::string exec = flags.get_string("exec");
  const bool quiet = flags.get_bool("quiet");
  signal(SIGPIPE, SIG_IGN);  // a -exec command that stops reading its input

  runtime::Loop loop;
  Counters counters;
  service::ConsumerClientOptions options;
  runtime::NodeOptions node = node_options(flags);
  options.broker = *broker;
  options.consumer.name = flags.get_string("name");
  options.consumer.commands = split_commands(flags.get_string("command"));
  options.consumer.prefetch = static_cast<std::uint32_t>(flags.get_integer("prefetch"));
  runtime::ConsumerNode consumer(loop, counters, *identity, std::move(node), std::move(options));
  service::ConsumerClient& client = consumer.client();
  bool finished = false;
  int exit_code = kExitOk;

  client.on_refused([&](std::string_view why) {
    io.err << "peermq consumer: the broker refused this consumer: " << why << '\n';
    exit_code = kExitFailure;
    finished = true;
  });
  // -exec: deliveries wait here (copied) for their turn.
  struct Job {
    std::uint64_t tag = 0;
    std::uint64_t message_id = 0;
    std::vector<std::uint8_t> payload;
  };
  std::deque<Job> jobs;
  runtime::ChildCommand command(loop);
  std::function<void()> run_next = [&] {
    while (!jobs.empty() && !command.running()) {
      if (!client.holds(jobs.front().tag)) {
        // Delivered before a reconnect (the broker sends the message again) or already
        // answered under the same tag since: running the command would only run it twice.
        PEERMQ_LOG(info, "consumer", "message %llu: no longer ours to answer, skipped",
                   static_cast<unsigned long long>(jobs.front().message_id));
        jobs.pop_front();
        continue;
      }
      // The job leaves the queue when its command ends: a reconnect meanwhile makes its
      // answer void (the broker delivers the message again), which answer() reports.
      auto started = command.start(exec, jobs.front().payload, limits::max_payload,
                                   [&](runtime::ChildCommand::Outcome&& r) {
        const Job done = std::move(jobs.front());
        jobs.pop_front();
        if (r.ok) {
          (void)client.answer(done.tag, r.output);
        } else {
          PEERMQ_LOG(info, "consumer", "rejected message %llu: %s",
                     static_cast<unsigned long long>(done.message_id), r.why.c_str());
          (void)client.reject(done.tag, true, r.why);
        }
        client.flush();  // this answer leaves now, not after the next command
        run_next();
      });
      if (started) return;
      const Job failed = std::move(jobs.front());
      jobs.pop_front();
      const std::string why = "cannot run the command: " + started.error().message();
      PEERMQ_LOG(warn, "consumer", "message %llu: %s",
                 static_cast<unsigned long long>(failed.message_id), why.c_str());
      (void)client.reject(failed.tag, true, why);
      client.flush();
    }
  };
  client.on_delivery([&](const mq::Deliver& d) {
    if (!quiet) {
      io.out << "message " << d.message_id;
      if (!d.command.empty()) io.out << " command=" << d.command;
      if (d.delivery_count > 1) io.out << " delivery=" << d.delivery_count;
      io.out << ": " << printable(d.payload) << '\n';
      io.out.flush();  // printed before it is answered: whoever reads it may rely on that
    }
    if (exec.empty()) {
      if (auto a = client.answer(d.tag, d.payload); !a) {
        PEERMQ_LOG(warn, "consumer", "cannot answer: %s", a.error().message().c_str());
      }
      return;
    }
    jobs.push_back(Job{d.tag, d.message_id, {d.payload.begin(), d.payload.end()}});
    run_next();
  });
  std::string detail;
  if (!consumer.start(&detail)) {
    io.err << "peermq consumer: " << detail << '\n';
    return kExitFailure;
  }
  run_until_done(
      loop, [&] { finished = true; }, [&] { return finished; });
  command.stop();
  consumer.stop();
  return exit_code;
}

}  // namespace peermq::cli
