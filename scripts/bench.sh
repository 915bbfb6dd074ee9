#!/usr/bin/env bash
# Benchmarks: installs what is needed, builds Release, and prints the tables.
#   scripts/bench.sh [RUNS]     each figure is the median of RUNS runs (default 5)
# Traffic goes only to 127.0.0.1; every process started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
runs="${1:-5}"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target peermq_exe core_bench transport_bench log_bench \
  -j "$(nproc)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== core: protocol cores on one core, no sockets"
build/release/tests/bench/core_bench "$runs"
echo
echo "== transport: one channel between two processes"
build/release/tests/bench/transport_bench "$runs"
echo
echo "== storage: the segment log"
build/release/tests/bench/log_bench "$runs"
echo
echo "== queue: broker, consumer and producer processes"
scripts/queue_bench.sh build/release/peermq "$runs"
echo
echo "== overlay: relay, NATs and paths in network namespaces (root)"
if [ "$(id -u)" -eq 0 ]; then
  OV_BENCH_RUNS="$runs" scripts/overlay_bench.sh build/release/peermq
else
  echo "skipped: the namespace benchmark needs root"
fi
