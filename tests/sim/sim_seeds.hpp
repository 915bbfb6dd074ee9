// Seeds: how a scenario runs for many seeds, and how a failed seed is replayed.
//
// A scenario is a function of (SimWorld&, Verdict&): it builds its topology on a fresh
// world, runs it, and judges; the runner adds the invariants of every run
// (SimWorld::judge) and catches exceptions (a stuck run, a programmer error) as failures.
//
// Which seeds (environment):
//   PEERMQ_SIM_SEED=S         only seed S (what a replay command sets)
//   PEERMQ_SIM_SEEDS=N        seeds FIRST .. FIRST+N-1 (default 20: what CI runs)
//   PEERMQ_SIM_FIRST_SEED=F   the first seed (default 1), to sweep new ground
//   PEERMQ_SIM_LOG=LEVEL      the log level captured in each run (default info)
//
// Output, one line each (scripts/simulate.sh reads them):
//   sim: <scenario>: 20 seeds from 1
//   sim: <scenario>: seed 7 FAILED: <first failure>        then the other failures, the
//                                                          world, the log's tail, and
//   sim: replay: PEERMQ_SIM_SEED=7 <binary> -tc='<scenario>'
//   sim: <scenario>: 20 seeds, 1 failed, 0.84 s
// In a doctest TEST_CASE: run_seeds(scenario) takes the test's name and binary from doctest
// and fails the test (CHECK) if any seed failed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "sim/sim_world.hpp"
#include "sim/verdict.hpp"

namespace peermq::sim {

using Scenario = std::function<void(SimWorld& world, Verdict& verdict)>;

// The seeds the environment asks for. Throws std::invalid_argument on a malformed value.
std::vector<std::uint64_t> seeds_from_environment();
// The one-line command that runs `scenario` of `binary` for `seed` alone.
std::string replay_command(const std::string& binary, const std::string& scenario,
                           std::uint64_t seed);
// Runs one seed; on failure `report` gets what to print (failures, world, log tail).
Verdict run_seed(std::uint64_t seed, const Scenario& scenario, std::string* report);
// Runs every seed, printing as above; the number of seeds that failed.
std::size_t run_seeds(const std::string& name, const std::string& binary,
                      const Scenario& scenario);

// The doctest glue: the current test's name is the scenario's.
inline void run_seeds(const Scenario& scenario) {
  const doctest::ContextOptions* o = doctest::getContextOptions();
  const std::string name = o->currentTest != nullptr ? o->currentTest->m_name : "?";
  const std::size_t failed = run_seeds(name, o->binary_name.c_str(), scenario);
  CHECK_MESSAGE(failed == 0, failed << " seed(s) failed: see the sim: lines above");
}

}  // namespace peermq::sim
