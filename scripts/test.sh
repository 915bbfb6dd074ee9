#!/usr/bin/env bash
# The test command: installs what is needed, then builds and runs every test in three
# configurations — the libFuzzer targets for a short fixed time, AddressSanitizer+UBSan,
# and Release. Idempotent; build trees live under build/.
#
#   scripts/test.sh            everything
#   PEERMQ_FUZZ_SECONDS=60 scripts/test.sh   fuzz longer
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$LIB_ROOT"

scripts/setup.sh

jobs=$(nproc)
fuzz_seconds=${PEERMQ_FUZZ_SECONDS:-20}

configure_build_test() {
  local name=$1; shift
  echo "=== ${name}: configure and build"
  lib_configure "build/${name}" "$@"
  cmake --build "build/${name}" -j "${jobs}"
  echo "=== ${name}: test"
  ctest --test-dir "build/${name}" --output-on-failure -j "${jobs}" --timeout 900
}

configure_build_test fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DPEERMQ_BUILD_FUZZ=ON -DPEERMQ_BUILD_TESTS=OFF -DPEERMQ_FUZZ_SECONDS="${fuzz_seconds}"
configure_build_test asan -DCMAKE_BUILD_TYPE=Debug -DPEERMQ_SANITIZE=ON
configure_build_test release -DCMAKE_BUILD_TYPE=Release -DPEERMQ_BUILD_EXAMPLES=ON -DPEERMQ_BUILD_WEB=ON
echo "=== all configurations passed"
