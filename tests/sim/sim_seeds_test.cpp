#include "sim/sim_seeds.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <stdexcept>

using namespace std::chrono_literals;
using namespace peermq::sim;

namespace {

// Sets an environment variable for one scope.
struct Env {
  Env(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~Env() { ::unsetenv(name_); }
  const char* name_;
};

}  // namespace

TEST_CASE("seeds come from the environment: twenty by default, a count, a start, or one") {
  CHECK(seeds_from_environment().size() == 20);
  CHECK(seeds_from_environment().front() == 1);
  {
    Env count("PEERMQ_SIM_SEEDS", "3");
    Env first("PEERMQ_SIM_FIRST_SEED", "100");
    CHECK(seeds_from_environment() == std::vector<std::uint64_t>{100, 101, 102});
  }
  {
    Env one("PEERMQ_SIM_SEED", "77");
    CHECK(seeds_from_environment() == std::vector<std::uint64_t>{77});
  }
  Env bad("PEERMQ_SIM_SEEDS", "many");
  CHECK_THROWS_AS(seeds_from_environment(), std::invalid_argument);
}

TEST_CASE("a replay command names the seed, the binary and the scenario, quoted for the shell") {
  CHECK(replay_command("build/release/tests/peermq_sim_test", "nat: it's direct", 9) ==
        "PEERMQ_SIM_SEED=9 build/release/tests/peermq_sim_test -tc='nat: it'\\''s direct'");
}

TEST_CASE("a seed fails on its scenario's verdict, on an exception, and on the world's invariants") {
  std::string report;
  CHECK(run_seed(1, [](SimWorld&, Verdict&) {}, &report).ok());
  CHECK(report.empty());
  const Verdict failed = run_seed(1, [](SimWorld&, Verdict& v) { v.fail("no"); }, &report);
  CHECK_FALSE(failed.ok());
  CHECK(report.find("network:") != std::string::npos);  // the world's state comes with it
  const Verdict thrown =
      run_seed(1, [](SimWorld&, Verdict&) { throw std::runtime_error("boom"); }, nullptr);
  REQUIRE_FALSE(thrown.ok());
  CHECK(thrown.failures().front() == "exception: boom");
  // A message delivered twice breaks the checker's safety, judged after every run.
  const Verdict twice = run_seed(
      1,
      [](SimWorld& w, Verdict&) {
        const peermq::PublicKey a{}, b{};
        auto s = w.checker().open(a, b, "x");
        w.checker().on_sent(s, 0);
        w.checker().on_delivered(b, a, w.checker().message(s, 0, 30));
        w.checker().on_delivered(b, a, w.checker().message(s, 0, 30));
      },
      nullptr);
  CHECK_FALSE(twice.ok());
}
