#!/usr/bin/env bash
# Queue benchmark: a real broker, consumer and producer on 127.0.0.1, timed from outside.
#   scripts/queue_bench.sh PEERMQ_BINARY [RUNS] [STORED]
# QUEUE_BENCH_ONLY=memory skips the round-trip table.
# Prints one table: request->answer round trips per second with 100-byte payloads at 1 and
# 256 in flight, -sync=none and -sync=always (median of RUNS runs, with the producer's own
# p50/p99 latency of the median run), messages per fsync, broker memory with STORED
# (default 1,000,000) queued 100-byte messages, and the broker's restart time with them.
# Every process it starts is stopped on exit; traffic goes only to 127.0.0.1.
set -euo pipefail
peermq="$1"
runs="${2:-5}"
stored="${3:-1000000}"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
export PEERMQ_RUNTIME_DIR="$work/run"

start_broker() {  # DATA SYNC -> sets broker_pid, addr once the broker serves
  rm -f "$work/broker.out" "$work/broker.err"  # never read the previous broker's lines
  "$peermq" broker -data="$1" -sync="$2" -listen=127.0.0.1:0 -stat -log=info \
    >"$work/broker.out" 2>"$work/broker.err" &
  broker_pid=$!
  pids+=("$broker_pid")
  for _ in $(seq 1 6000); do  # at most 60 s: recovery of millions of records included
    if grep -q "listening on" "$work/broker.err" 2>/dev/null; then
      addr=$(sed -n 's/^address: //p' "$work/broker.out")
      return 0
    fi
    sleep 0.01
  done
  echo "broker did not start: $(cat "$work/broker.err")" >&2
  exit 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
now() { date +%s.%N; }

# One timed producer run: COUNT INFLIGHT -> prints "rate p50 p99"
produce() {
  local s e out
  s=$(now)
  out=$("$peermq" producer -broker="$addr" -count="$1" -inflight="$2" -size=100 -quiet \
    -timeout=120 -log=warn -listen=127.0.0.1:0)
  e=$(now)
  echo "$out" | grep -q "^answers: $1/$1" || { echo "producer failed: $out" >&2; exit 1; }
  local p50 p99
  p50=$(echo "$out" | sed -n 's/^latency: p50=\([0-9]*\)us.*/\1/p')
  p99=$(echo "$out" | sed -n 's/.* p99=\([0-9]*\)us.*/\1/p')
  echo "$(echo "$1 / ($e - $s)" | bc -l) $p50 $p99"
}

median_row() {  # prints the median line (by rate) of lines "rate p50 p99"
  sort -g | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

if [ "${QUEUE_BENCH_ONLY:-}" != memory ]; then  # memory only: bench.sh times round trips elsewhere
  printf '| %-44s | %14s | %18s |\n' "request -> answer, 100-byte payloads" "round trips/s" "p50 / p99 latency"
  printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..20})"
  fsync_note=""
  for sync in none always; do
    start_broker "$work/data-$sync" "$sync"
    "$peermq" consumer -broker="$addr" -quiet -prefetch=1024 -log=warn -listen=127.0.0.1:0 \
      >/dev/null 2>"$work/consumer.err" &
    consumer_pid=$!
    pids+=("$consumer_pid")
    produce 200 1 >/dev/null  # warm-up: sessions, first segment
    for inflight in 1 256; do
      if [ "$inflight" = 1 ]; then n=$([ "$sync" = always ] && echo 1000 || echo 10000); else n=100000; fi
      rows=""
      for _ in $(seq 1 "$runs"); do rows+="$(produce "$n" "$inflight")"$'\n'; done
      read -r rate p50 p99 <<<"$(printf '%s' "$rows" | median_row)"
      printf '| %-44s | %14.0f | %8s / %6s us |\n' "-sync=$sync, $inflight in flight" "$rate" "$p50" "$p99"
    done
    stop "$consumer_pid"
    stop "$broker_pid"
    if [ "$sync" = always ]; then
      fsync_note=$(grep "^stat:" "$work/broker.out" | tail -1 | sed -n 's/.*records_per_fsync=\([0-9.]*\).*/\1/p')
    fi
  done
  echo
  echo "messages per fsync with -sync=always over those runs (records per fdatasync): ${fsync_note:-?}"
fi

# Memory and restart time with $stored queued messages (no consumer: they stay queued).
start_broker "$work/data-stored" none
rss_before=$(awk '/VmRSS/ { print $2 }' "/proc/$broker_pid/status")
"$peermq" producer -broker="$addr" -count="$stored" -inflight=4096 -size=100 -wait=confirm \
  -quiet -timeout=600 -log=warn -listen=127.0.0.1:0 >"$work/fill.out"
grep -q "^confirmed: $stored/$stored" "$work/fill.out" || { echo "fill failed: $(cat "$work/fill.out")" >&2; exit 1; }
sleep 0.5
rss_after=$(awk '/VmRSS/ { print $2 }' "/proc/$broker_pid/status")
stop "$broker_pid"
s=$(now)
start_broker "$work/data-stored" none
e=$(now)
recovered=$(grep -o "recovered [0-9]* records in [0-9.]* s" "$work/broker.err" || true)
stop "$broker_pid"
per_message=$(echo "($rss_after - $rss_before) * 1024 / $stored" | bc)
printf '\nbroker memory with %d queued 100-byte messages: %d MiB resident, %d bytes per message: %d beyond its payload (goal: at most 64)\n' \
  "$stored" "$((rss_after / 1024))" "$per_message" "$((per_message - 100))"
printf 'restart with %d stored messages: %.2f s to serve (%s)\n' "$stored" "$(echo "$e - $s" | bc -l)" "$recovered"
