#include "platform/child_command.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "platform/timer.hpp"
#include "support/run_until.hpp"

using namespace std::chrono_literals;
using peermq::platform::ChildCommand;
using peermq::platform::Loop;
using peermq::platform::Timer;
using peermq::test::run_until;

namespace {

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<std::uint8_t>& b) { return {b.begin(), b.end()}; }

struct Run {
  std::optional<ChildCommand::Outcome> outcome;
};

// Runs `command` to its end (at most 10 s) and returns what it called back with.
ChildCommand::Outcome run(const std::string& command, const std::vector<std::uint8_t>& input,
                          std::size_t limit = 1 << 20) {
  Loop loop;
  Run r;
  {
    ChildCommand c(loop);
    REQUIRE(c.start(command, input, limit, [&](ChildCommand::Outcome&& o) {
      r.outcome = std::move(o);
    }));
    CHECK(c.running());
    REQUIRE(run_until(loop, [&] { return r.outcome.has_value(); }, 10s));
    CHECK_FALSE(c.running());
  }
  loop.run();
  CHECK(loop.open_handles() == 0);
  return std::move(*r.outcome);
}

}  // namespace

TEST_CASE("a command gets its input on stdin and its stdout comes back") {
  signal(SIGPIPE, SIG_IGN);
  const auto o = run("tr a-z A-Z", bytes("hello, world"));
  CHECK(o.ok);
  CHECK(text(o.output) == "HELLO, WORLD");
  CHECK(o.why.empty());
}

TEST_CASE("a command's exit status and signal are reported, its output kept") {
  const auto failed = run("echo partial; exit 3", {});
  CHECK_FALSE(failed.ok);
  CHECK(failed.why == "command exited with status 3");
  CHECK(text(failed.output) == "partial\n");
  const auto killed = run("kill -TERM $$", {});
  CHECK_FALSE(killed.ok);
  CHECK(killed.why == "command killed by signal " + std::to_string(SIGTERM));
}

TEST_CASE("output beyond the limit is dropped, and input the command never reads is no error") {
  signal(SIGPIPE, SIG_IGN);
  const auto long_output = run("head -c 100000 /dev/zero", {}, 1000);
  CHECK(long_output.ok);
  CHECK(long_output.output.size() == 1000);
  // 4 MiB of input (more than any pipe holds) to a command that exits without reading.
  const auto unread = run("echo done", std::vector<std::uint8_t>(4 << 20, 'x'));
  CHECK(unread.ok);
  CHECK(text(unread.output) == "done\n");
}

TEST_CASE("the loop goes on while a command runs") {
  Loop loop;
  const std::string gate = "/tmp/peermq-child-command-gate-" + std::to_string(getpid());
  std::remove(gate.c_str());
  {
    ChildCommand c(loop);
    std::optional<ChildCommand::Outcome> outcome;
    // The command ends only once the gate file exists (or fails after 20 s), and only a
    // timer of this loop makes the gate: a run that blocked the loop could never end well.
    REQUIRE(c.start("for i in $(seq 2000); do [ -e '" + gate + "' ] && exit 0; sleep 0.01; done; exit 1",
                    {}, 100, [&](ChildCommand::Outcome&& o) { outcome = std::move(o); }));
    int ticks = 0;
    Timer t(loop);
    t.start(20ms, 20ms, [&] {
      if (++ticks == 3) std::ofstream(gate) << "open\n";
    });
    REQUIRE(run_until(loop, [&] { return outcome.has_value(); }, 30s));
    CHECK_MESSAGE(outcome->ok, outcome->why);
    CHECK(ticks >= 3);
    // One at a time: a second start while running is refused; after the end it may start.
    bool second = false;
    REQUIRE(c.start("true", {}, 100, [&](ChildCommand::Outcome&& o) { second = o.ok; }));
    CHECK(c.start("true", {}, 100, [](ChildCommand::Outcome&&) {}).error() ==
          std::errc::device_or_resource_busy);
    REQUIRE(run_until(loop, [&] { return second; }, 10s));
  }
  loop.run();
  std::remove(gate.c_str());
  CHECK(loop.open_handles() == 0);
}

TEST_CASE("stopping a running command kills it and never calls back") {
  Loop loop;
  const std::string pid_file = "/tmp/peermq-child-command-test-" + std::to_string(getpid());
  bool called = false;
  {
    ChildCommand c(loop);
    // Not `exec sleep`: the shell forks sleep and waits, so killing only the shell would
    // leave sleep running; the pid written is sleep's own.
    REQUIRE(c.start("sh -c 'echo $$ > " + pid_file + "; exec sleep 30'; echo never", {}, 100,
                    [&](ChildCommand::Outcome&&) { called = true; }));
    pid_t pid = 0;
    REQUIRE(run_until(
        loop,
        [&] {
          std::ifstream f(pid_file);
          return static_cast<bool>(f >> pid) && pid > 0;
        },
        10s));
    c.stop();
    CHECK_FALSE(c.running());
    // SIGKILL reached sleep, a grandchild: it is gone or a zombie (reaped by init).
    bool dead = false;
    (void)run_until(
        loop,
        [&] {
          std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
          std::string ignored, state;
          dead = !(stat >> ignored >> ignored >> state) || state == "Z";
          return dead;
        },
        5s);
    CHECK(dead);
  }
  loop.run();
  std::remove(pid_file.c_str());
  CHECK_FALSE(called);
  CHECK(loop.open_handles() == 0);
}

TEST_CASE("a command that cannot start fails start() and leaves no handle behind") {
  Loop loop;
  {
    ChildCommand c(loop, "/nonexistent/peermq-test-shell");
    auto started = c.start("true", bytes("input"), 100, [](ChildCommand::Outcome&&) {
      FAIL("no callback for a command that never started");
    });
    REQUIRE_FALSE(started);
    CHECK(started.error() == std::errc::no_such_file_or_directory);
    CHECK_FALSE(c.running());
  }
  loop.run();
  CHECK(loop.open_handles() == 0);
}
