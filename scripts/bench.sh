#!/usr/bin/env bash
# Benchmarks: installs what is needed (peermq's packages and the systems it is compared
# with: nats-server, the NATS C client, ZeroMQ), builds Release, and prints the tables.
#   scripts/bench.sh [RUNS]     each figure is the median of RUNS runs (default 5)
# Traffic goes only to 127.0.0.1 (and, as root, to the namespaces the overlay benchmark
# creates); every process started is stopped. About 6 minutes after the build on 2 cores (at most 10).
set -euo pipefail
shopt -s inherit_errexit  # a failing run inside $(...) fails the script
source "$(dirname "$0")/lib.sh"
cd "$LIB_ROOT"
scripts/setup.sh bench
runs="${1:-5}"
build=build/release
lib_configure "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)" --target peermq_exe core_bench transport_bench \
  log_bench idle_producers_bench nats_peer zmq_peer
bench="$build/tests/bench"
started=$SECONDS
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== request -> answer through a broker: peermq, NATS and ZeroMQ side by side"
scripts/compare_bench.sh "$build/peermq" "$bench/nats_peer" "$bench/zmq_peer" "$runs"
echo
echo "== broker memory"
# Each memory figure is one fill: take RUNS fills and show the one with the median figure
# (the Nth number on its "broker memory" line).
median_run() {  # FIELD COMMAND...: runs COMMAND RUNS times, prints the median run's output
  local field=$1 i
  shift
  for i in $(seq 1 "$runs"); do "$@" >"$LIB_TMP/run$i.out"; done
  i=$(for i in $(seq 1 "$runs"); do
    echo "$(grep -m1 'broker memory' "$LIB_TMP/run$i.out" | grep -o '[0-9]\+' | sed -n "${field}p") $i"
  done | lib_median_line 1)
  cat "$LIB_TMP/run${i#* }.out"
  echo "(median of $runs runs)"
}
median_run 3 scripts/idle_bench.sh "$build/peermq" "$bench/idle_producers_bench" 10000 4
median_run 4 env QUEUE_BENCH_ONLY=memory scripts/queue_bench.sh "$build/peermq" 1
echo
echo "== transport: one channel between two processes (bulk next to the crypto ceiling)"
"$bench/transport_bench" "$runs"
echo
echo "== core: protocol cores on one core, no sockets"
"$bench/core_bench" "$runs"
echo
echo "== storage: the segment log"
"$bench/log_bench" "$runs"
echo
echo "== overlay: relay, NATs and paths in network namespaces (root)"
if [ "$(id -u)" -eq 0 ]; then
  OV_BENCH_RUNS="$runs" scripts/overlay_bench.sh "$build/peermq"
else
  echo "skipped: the namespace benchmark needs root"
fi
echo
echo "bench.sh: done in $((SECONDS - started)) s after the build"
