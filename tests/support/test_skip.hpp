// skip(): what a test does when this machine cannot run it (no IPv6 loopback, no root for
// a private network namespace, a tool missing), instead of returning as if it had passed.
//
// Contract
// - Under CI=true (CI runs as root with every package of scripts/setup.sh, so there every
//   test must run) skip() fails the test with the reason (doctest FAIL: it throws, ending
//   the test case).
// - Elsewhere it prints "skipped: <reason>" and counts the test case as skipped; the caller
//   then returns. A test program in which a test case was skipped and none failed exits
//   with 77 (tests/test_main.cpp), which ctest reports as "Skipped" (SKIP_RETURN_CODE in
//   tests/CMakeLists.txt): each ctest test runs one test case, so the skip is that one's.
//
// Threads: the test's thread only. Header-only: tests/support is not a test layer.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

namespace peermq::test {

// Test cases skipped so far in this run of the test program.
inline int& skipped_test_cases() {
  static int count = 0;
  return count;
}

inline void skip(const std::string& reason) {
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string_view(ci) == "true")
    FAIL("CI=true, where every test must run, but this one cannot: " << reason);
  MESSAGE("skipped: " << reason);
  ++skipped_test_cases();
}

}  // namespace peermq::test
