#include "platform/signal_watcher.hpp"

#include <csignal>
#include <optional>
#include <ostream>  // doctest prints std::error_code through it
#include <string>

#include <doctest/doctest.h>

#include "platform/timer.hpp"

using namespace std::chrono_literals;
using peermq::platform::Loop;
using peermq::platform::SignalWatcher;
using peermq::platform::Timer;

namespace {

// Stops the loop if the expected signal never arrives, without keeping it alive itself.
void guard(Timer& timer, Loop& loop) {
  timer.start(5s, [&loop] { loop.stop(); });
  timer.unref();
}

}  // namespace

TEST_CASE("a signal watcher turns a raised signal into a loop callback") {
  Loop loop;
  Timer timeout(loop);
  guard(timeout, loop);
  int caught = 0;
  SignalWatcher watcher(loop, [&](int signum) {
    caught = signum;
    loop.stop();
  });
  REQUIRE(watcher.watch(SIGUSR1).ok());
  REQUIRE(watcher.watch(SIGTERM).ok());

  REQUIRE(std::raise(SIGTERM) == 0);  // the process survives: the watcher owns SIGTERM now
  loop.run();
  CHECK(caught == SIGTERM);

  caught = 0;
  REQUIRE(std::raise(SIGUSR1) == 0);
  loop.run();
  CHECK(caught == SIGUSR1);
}

TEST_CASE("a signal watcher may destroy itself from its callback") {
  Loop loop;
  Timer timeout(loop);
  guard(timeout, loop);
  int calls = 0;
  std::optional<SignalWatcher> watcher;
  watcher.emplace(loop, [&](int) {
    watcher.reset();
    ++calls;
  });
  REQUIRE(watcher->watch(SIGUSR2).ok());
  REQUIRE(std::raise(SIGUSR2) == 0);
  loop.run();  // returns once the watcher is gone: nothing else keeps the loop alive
  CHECK(calls == 1);
  CHECK_FALSE(watcher);
  CHECK(loop.open_handles() == 1);  // the guard timer
}

TEST_CASE("watching a signal that cannot be caught is an error and not a crash") {
  Loop loop;
  SignalWatcher watcher(loop, [](int) {});
  auto killed = watcher.watch(SIGKILL);
  REQUIRE_FALSE(killed.ok());
  CHECK(std::string(killed.error().category().name()) == "libuv");
  CHECK(killed.error() == std::errc::invalid_argument);
  CHECK_FALSE(watcher.watch(0).ok());
  CHECK(loop.open_handles() == 0);
}
