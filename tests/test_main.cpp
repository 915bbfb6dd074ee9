// The main of every test program: doctest's, except that a run in which a test case was
// skipped (support/test_skip.hpp) and none failed exits with 77, ctest's SKIP_RETURN_CODE.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "support/test_skip.hpp"

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int failed = context.run();
  if (failed != 0 || context.shouldExit()) return failed;
  return peermq::test::skipped_test_cases() > 0 ? 77 : 0;
}
