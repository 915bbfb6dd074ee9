#include "sim/sim_seeds.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>

namespace peermq::sim {

namespace {

constexpr std::uint64_t kDefaultSeeds = 20;
constexpr std::size_t kLogTailLines = 60;

std::uint64_t number_from_env(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') {
    throw std::invalid_argument(std::string(name) + " must be a decimal number, not '" + text + "'");
  }
  return v;
}

}  // namespace

std::vector<std::uint64_t> seeds_from_environment() {
  if (std::getenv("PEERMQ_SIM_SEED") != nullptr) return {number_from_env("PEERMQ_SIM_SEED", 0)};
  const std::uint64_t count = number_from_env("PEERMQ_SIM_SEEDS", kDefaultSeeds);
  const std::uint64_t first = number_from_env("PEERMQ_SIM_FIRST_SEED", 1);
  std::vector<std::uint64_t> seeds;
  seeds.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) seeds.push_back(first + i);
  return seeds;
}

std::string replay_command(const std::string& binary, const std::string& scenario,
                           std::uint64_t seed) {
  // doctest's filters treat ',' as a separator; scenario names are written without one.
  std::string quoted;
  for (const char c : scenario) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return "PEERMQ_SIM_SEED=" + std::to_string(seed) + " " + binary + " -tc='" + quoted + "'";
}

Verdict run_seed(std::uint64_t seed, const Scenario& scenario, std::string* report) {
  Verdict v;
  std::string world_text;
  std::string log_text;
  try {
    SimWorld world(seed);
    try {
      scenario(world, v);
    } catch (const std::exception& e) {
      v.fail(std::string("exception: ") + e.what());
    }
    world.judge(v);
    if (!v.ok()) {
      world_text = world.describe();
      log_text = world.log().tail(kLogTailLines);
    }
  } catch (const std::exception& e) {
    v.fail(std::string("exception outside the scenario: ") + e.what());
  }
  if (!v.ok() && report != nullptr) {
    for (std::size_t i = 1; i < v.failures().size(); ++i) *report += "  " + v.failures()[i] + "\n";
    *report += world_text;
    if (!log_text.empty()) *report += "  log (last " + std::to_string(kLogTailLines) + " lines):\n" + log_text;
  }
  return v;
}

std::size_t run_seeds(const std::string& name, const std::string& binary,
                      const Scenario& scenario) {
  const std::vector<std::uint64_t> seeds = seeds_from_environment();
  std::printf("sim: %s: %zu seeds from %llu\n", name.c_str(), seeds.size(),
              static_cast<unsigned long long>(seeds.empty() ? 0 : seeds.front()));
  std::fflush(stdout);
  const auto began = std::chrono::steady_clock::now();
  std::size_t failed = 0;
  for (const std::uint64_t seed : seeds) {
    std::string report;
    const Verdict v = run_seed(seed, scenario, &report);
    if (v.ok()) continue;
    ++failed;
    std::printf("sim: %s: seed %llu FAILED: %s\n%s", name.c_str(),
                static_cast<unsigned long long>(seed), v.failures().front().c_str(),
                report.c_str());
    std::printf("sim: replay: %s\n", replay_command(binary, name, seed).c_str());
    std::fflush(stdout);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf("sim: %s: %zu seeds, %zu failed, %.2f s\n", name.c_str(), seeds.size(), failed,
              seconds);
  std::fflush(stdout);
  return failed;
}

}  // namespace peermq::sim
