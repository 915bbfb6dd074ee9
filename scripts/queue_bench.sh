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
shopt -s inherit_errexit  # a failing run inside $(...) fails the script
source "$(dirname "$0")/lib.sh"
peermq="$1"
runs="${2:-5}"
stored="${3:-1000000}"
work=$LIB_TMP
export PEERMQ_RUNTIME_DIR="$work/run"
LIB_WAIT_SECONDS=120  # a broker's start includes the recovery of millions of records

start_broker() {  # DATA SYNC -> broker_pid, addr once the broker serves
  lib_start_listener broker "$peermq" broker -data="$1" -sync="$2" -listen=127.0.0.1:0 -stat \
    -log=info || lib_die "the broker did not start"
  broker_pid=$LIB_PID
  addr=$LIB_ADDRESS
}

# A clean stop (its last -stat line is printed at exit); KILL only if it hangs.
stop_broker() { lib_stop "$broker_pid" 30 || echo "queue_bench: the broker needed SIGKILL" >&2; }

# One timed producer run: COUNT INFLIGHT -> prints "rate p50 p99"
produce() {
  local s e out
  s=$(lib_now_us)
  "$peermq" producer -broker="$addr" -count="$1" -inflight="$2" -size=100 \
    -timeout=120 -log=warn -listen=127.0.0.1:0 >"$work/produce.out"
  e=$(lib_now_us)
  out=$(tail -n 3 "$work/produce.out")
  grep -q "^answers: $1/$1" <<<"$out" || lib_die "producer failed: $out"
  local p50 p99
  p50=$(sed -n 's/^latency: p50=\([0-9]*\)us.*/\1/p' <<<"$out")
  p99=$(sed -n 's/.* p99=\([0-9]*\)us.*/\1/p' <<<"$out")
  awk -v n="$1" -v us=$((e - s)) -v a="$p50" -v b="$p99" 'BEGIN { printf "%.1f %s %s\n", n * 1e6 / us, a, b }'
}

if [ "${QUEUE_BENCH_ONLY:-}" != memory ]; then  # memory only: bench.sh times round trips elsewhere
  printf '| %-44s | %14s | %18s |\n' "request -> answer, 100-byte payloads" "round trips/s" "p50 / p99 latency"
  printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..20})"
  fsync_note=""
  for sync in none always; do
    start_broker "$work/data-$sync" "$sync"
    lib_start consumer "$peermq" consumer -broker="$addr" -log=warn \
      -listen=127.0.0.1:0
    consumer_pid=$LIB_PID
    produce 200 1 >/dev/null  # warm-up: sessions, first segment
    for inflight in 1 256; do
      if [ "$inflight" = 1 ]; then n=$([ "$sync" = always ] && echo 1000 || echo 10000); else n=100000; fi
      rows=""
      for _ in $(seq 1 "$runs"); do rows+="$(produce "$n" "$inflight")"$'\n'; done
      read -r rate p50 p99 <<<"$(printf '%s' "$rows" | lib_median_line 1)"
      printf '| %-44s | %14.0f | %8s / %6s us |\n' "-sync=$sync, $inflight in flight" "$rate" "$p50" "$p99"
    done
    lib_stop "$consumer_pid" || true
    stop_broker
    if [ "$sync" = always ]; then
      fsync_note=$(grep "^stat:" "$(lib_log broker out)" | tail -1 | sed -n 's/.*records_per_fsync=\([0-9.]*\).*/\1/p')
    fi
  done
  echo
  echo "messages per fsync with -sync=always over those runs (records per fdatasync): ${fsync_note:-?}"
fi

# Memory and restart time with $stored queued messages (no consumer: they stay queued).
start_broker "$work/data-stored" none
rss_before=$(lib_rss_kib "$broker_pid")
"$peermq" producer -broker="$addr" -count="$stored" -inflight=4096 -size=100 -wait=confirm \
  -timeout=600 -log=warn -listen=127.0.0.1:0 >"$work/fill.out"
grep -q "^confirmed: $stored/$stored" "$work/fill.out" || lib_die "fill failed: $(tail -3 "$work/fill.out")"
sleep 0.5  # the broker settles (frees what the fill's bursts held) before its memory is read
rss_after=$(lib_rss_kib "$broker_pid")
stop_broker
s=$(lib_now_us)
start_broker "$work/data-stored" none
e=$(lib_now_us)
recovered=$(grep -o "recovered [0-9]* records in [0-9.]* s" "$(lib_log broker err)" || true)
stop_broker
per_message=$(( (rss_after - rss_before) * 1024 / stored ))
printf '\nbroker memory with %d queued 100-byte messages: %d MiB resident, %d bytes per message: %d beyond its payload (goal: at most 64)\n' \
  "$stored" "$((rss_after / 1024))" "$per_message" "$((per_message - 100))"
printf 'restart with %d stored messages: %s s to serve (%s)\n' "$stored" \
  "$(awk -v us=$((e - s)) 'BEGIN { printf "%.2f", us / 1e6 }')" "$recovered"
