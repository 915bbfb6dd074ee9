// Seeds of randomized tests: fixed, printed, and replayable one at a time.
//
// Contract
// - test_seed(fixed) is the seed a test with one random run uses: `fixed` (so every run,
//   CI's too, repeats the same choices), or the value of PEERMQ_TEST_SEED when it is set.
// - test_seeds(first, last) is the sweep of a test that runs several seeds: first..last, or
//   only PEERMQ_TEST_SEED's when it is set.
// - replay_command(seed) is the one line that runs the current test case again with that
//   seed alone: `PEERMQ_TEST_SEED=<seed> <test program> --test-case='<name>'`. Put it in an
//   INFO() inside the seed's scope, so that a failing check prints it.
// A PEERMQ_TEST_SEED that is not a whole number is a programmer error: it throws.
//
// Threads: the test's thread only. Header-only: tests/support is not a test layer.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace peermq::test {

inline std::uint64_t test_seed(std::uint64_t fixed) {
  const char* s = std::getenv("PEERMQ_TEST_SEED");
  if (s == nullptr || *s == '\0') return fixed;
  char* end = nullptr;
  const std::uint64_t seed = std::strtoull(s, &end, 10);
  if (*end != '\0') throw std::invalid_argument(std::string("PEERMQ_TEST_SEED=") + s);
  return seed;
}

inline std::vector<std::uint64_t> test_seeds(std::uint64_t first, std::uint64_t last) {
  if (std::getenv("PEERMQ_TEST_SEED") != nullptr) return {test_seed(first)};
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t s = first; s <= last; ++s) seeds.push_back(s);
  return seeds;
}

inline std::string replay_command(std::uint64_t seed) {
  const doctest::ContextOptions* options = doctest::getContextOptions();
  std::string name = options->currentTest != nullptr ? options->currentTest->m_name : "?";
  std::string filter;  // doctest splits --test-case at commas: escape them, as ctest does
  for (char c : name) {
    if (c == ',') filter += '\\';
    if (c == '\'') {
      filter += "'\\''";  // a quote inside the shell's single quotes
      continue;
    }
    filter += c;
  }
  return "replay: PEERMQ_TEST_SEED=" + std::to_string(seed) + " " +
         options->binary_name.c_str() + " --test-case='" + filter + "'";
}

}  // namespace peermq::test
