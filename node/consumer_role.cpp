// peermq consumer: takes messages of its commands from a broker, prints each, and answers
// it: with the message itself (an echo, as the original's basic example does), or with the
// standard output of -exec=CMD run by /bin/sh with the payload on its standard input (a
// non-zero exit rejects the message, and the broker delivers it again, up to its limit).
// Commands run one at a time, one per loop iteration, outside the receive callback: each
// answer leaves as soon as its command is done, and the node keeps answering the network
// (ACKs, further deliveries) between commands.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "node_role.hpp"
#include "roles.hpp"
#include "runtime/consumer_client.hpp"
#include "runtime/idle_task.hpp"
#include "runtime/log.hpp"

namespace peermq::cli {

namespace {

struct CommandResult {
  bool ok = false;
  std::vector<std::uint8_t> output;
  std::string why;  // when not ok
};

// Runs `command` with /bin/sh -c, `input` on its stdin; collects stdout (up to `limit`).
// Synchronous: the consumer handles one message at a time while a command runs.
CommandResult run_command(const std::string& command, std::span<const std::uint8_t> input,
                          std::size_t limit) {
  CommandResult r;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return {false, {}, "pipe failed"};
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return {false, {}, "pipe failed"};
  }
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    return {false, {}, "fork failed"};
  }
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  std::size_t written = 0;
  bool in_open = true;
  if (input.empty()) {
    close(in[1]);
    in_open = false;
  }
  std::uint8_t buf[65536];
  for (;;) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {in_open ? in[1] : -1, POLLOUT, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (in_open && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = write(in[1], input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) written = input.size();  // the command stopped reading
      if (written == input.size()) {
        close(in[1]);
        in_open = false;
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      const auto take =
          std::min(static_cast<std::size_t>(n), limit - std::min(limit, r.output.size()));
      r.output.insert(r.output.end(), buf, buf + take);
    }
  }
  if (in_open) close(in[1]);
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    r.ok = true;
  } else if (WIFEXITED(status)) {
    r.why = "command exited with status " + std::to_string(WEXITSTATUS(status));
  } else {
    r.why = "command killed by signal " + std::to_string(WTERMSIG(status));
  }
  return r;
}

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
  runtime::ConsumerClientOptions options;
  options.node = node_options(flags);
  options.broker = *broker;
  options.consumer.name = flags.get_string("name");
  options.consumer.commands = split_commands(flags.get_string("command"));
  options.consumer.prefetch = static_cast<std::uint32_t>(flags.get_integer("prefetch"));
  runtime::ConsumerClient client(loop, counters, *identity, std::move(options));
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
  runtime::IdleTask worker(loop);  // one command per loop iteration, the network served between
  std::function<void()> run_next = [&] {
    if (jobs.empty()) {
      worker.stop();
      return;
    }
    const Job job = std::move(jobs.front());
    jobs.pop_front();
    CommandResult r = run_command(exec, job.payload, limits::max_payload);
    if (r.ok) {
      (void)client.answer(job.tag, r.output);  // void after a reconnect: redelivered
    } else {
      PEERMQ_LOG(info, "consumer", "rejected message %llu: %s",
                 static_cast<unsigned long long>(job.message_id), r.why.c_str());
      (void)client.reject(job.tag, true, r.why);
    }
    client.flush();  // this answer leaves now, not after the next command
    if (jobs.empty()) worker.stop();
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
    if (!worker.active()) worker.start(run_next);
  });
  std::string detail;
  if (!client.start(&detail)) {
    io.err << "peermq consumer: " << detail << '\n';
    return kExitFailure;
  }
  run_until_done(
      loop, [&] { finished = true; }, [&] { return finished; });
  client.stop();
  return exit_code;
}

}  // namespace peermq::cli
