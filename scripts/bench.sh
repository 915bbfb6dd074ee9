#!/usr/bin/env bash
# Benchmarks: installs what is needed, builds Release, and prints the tables.
#   scripts/bench.sh [RUNS]     each figure is the median of RUNS runs (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
runs="${1:-5}"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target core_bench transport_bench -j "$(nproc)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
build/release/tests/bench/core_bench "$runs"
echo
build/release/tests/bench/transport_bench "$runs"
