#!/usr/bin/env bash
# Benchmarks: installs what is needed (peermq's packages and the systems it is compared
# with: nats-server and the NATS C client, ZeroMQ, RabbitMQ and its C client), builds
# Release, and prints one table per workload, peermq and its peers measured in the same
# run on this machine, ratios included.
#   scripts/bench.sh [RUNS]     each figure is the median of RUNS runs (default 5)
#   scripts/bench.sh quick      every workload once and small, under two minutes after the
#                               build: to check a change by hand (figures are rougher)
# Every peermq process runs on its CLI defaults (the broker's -sync is named where it is
# the point of the row; -listen keeps traffic on loopback). Traffic goes only to loopback
# addresses (and, as root, to the namespaces the overlay benchmarks create); every process
# started is stopped. About 15 minutes after the build on 2 cores.
set -euo pipefail
shopt -s inherit_errexit  # a failing run inside $(...) fails the script
source "$(dirname "$0")/lib.sh"
cd "$LIB_ROOT"
scripts/setup.sh bench
quick=0
runs="${1:-5}"
if [ "$runs" = quick ]; then
  quick=1
  runs=1
fi
build=build/release
lib_configure "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)" --target peermq_exe core_bench transport_bench \
  log_bench idle_producers_bench nats_peer zmq_peer rabbitmq_peer
bench="$build/tests/bench"
peermq="$build/peermq"
started=$SECONDS
version() { "$@" 2>/dev/null | head -1 || echo "?"; }
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo "?")," \
  "command: scripts/bench.sh $([ "$quick" = 1 ] && echo quick || echo "$runs")"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "peers: nats-server $(version nats-server --version | sed 's/^nats-server: v//')," \
  "libnats $(version pkg-config --modversion libnats), libzmq $(version pkg-config --modversion libzmq)," \
  "rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo "?")," \
  "librabbitmq $(version pkg-config --modversion librabbitmq)"
echo

echo "== brokered request -> answer: peermq, NATS and ZeroMQ side by side"
if [ "$quick" = 1 ]; then
  TARGET_SECONDS=0.2 scripts/compare_bench.sh "$peermq" "$bench/nats_peer" "$bench/zmq_peer" 1
else
  scripts/compare_bench.sh "$peermq" "$bench/nats_peer" "$bench/zmq_peer" "$runs"
fi
echo
echo "== durable: confirmed only once on disk (peermq -sync=always, RabbitMQ, NATS JetStream)"
DURABLE_BENCH_QUICK=$quick scripts/durable_bench.sh "$peermq" "$bench/nats_peer" \
  "$bench/rabbitmq_peer" "$([ "$quick" = 1 ] && echo 1 || echo 3)"
echo
echo "== many clients, and fan-in through a relay (peermq bench)"
CLIENTS_BENCH_QUICK=$quick scripts/clients_bench.sh "$peermq" "$([ "$quick" = 1 ] && echo 1 || echo 3)"
echo
echo "== broker memory and idle sessions"
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
if [ "$quick" = 1 ]; then
  scripts/idle_bench.sh "$peermq" "$bench/idle_producers_bench" 1000 2
  QUEUE_BENCH_ONLY=memory scripts/queue_bench.sh "$peermq" 1 100000
else
  median_run 3 scripts/idle_bench.sh "$peermq" "$bench/idle_producers_bench" 10000 4
  median_run 4 env QUEUE_BENCH_ONLY=memory scripts/queue_bench.sh "$peermq" 1
fi
echo
echo "== transport: one channel between two processes (bulk next to the crypto ceiling)"
"$bench/transport_bench" "$runs" $([ "$quick" = 1 ] && echo 64)
echo
echo "== core: protocol cores on one core, no sockets"
"$bench/core_bench" "$runs"
echo
echo "== storage: the segment log"
"$bench/log_bench" "$runs"
echo
echo "== overlay: relay, NATs and paths in network namespaces (root)"
if [ "$quick" = 1 ]; then
  echo "skipped in quick mode (it takes minutes: scripts/overlay_bench.sh)"
elif [ "$(id -u)" -eq 0 ]; then
  OV_BENCH_RUNS="$runs" scripts/overlay_bench.sh "$peermq"
else
  echo "skipped: the namespace benchmark needs root"
fi
echo
echo "bench.sh: done in $((SECONDS - started)) s after the build"
