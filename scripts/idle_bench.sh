#!/usr/bin/env bash
# Broker memory with many connected idle producers (issue 6: at most 2 KiB per idle session).
#   scripts/idle_bench.sh PEERMQ_BINARY IDLE_BENCH_BINARY [TOTAL=10000] [PROCESSES]
# Starts a broker on 127.0.0.1 (-sync=none), reads its resident memory, connects TOTAL
# producers from PROCESSES idle_producers_bench processes (tests/bench), each producer with
# its own key, socket, session and hello accepted, lets the broker settle, reads its
# resident memory again and prints the difference per producer. Every process it starts is
# stopped on exit. The broker listens on 127.0.0.1 only; the producers bind loopback
# addresses 127.N.x.y (one per producer, standing for distinct hosts, since the broker rate
# limits handshakes per source IP). Takes 15-40 s for 10,000 producers on 2 busy cores,
# about 3 minutes for 100,000 (the dial rate is the same at every TOTAL, so that the connect
# CPU per session can be compared across sizes).
# PROCESSES: default one per 12,500 producers, at least 4 (each producer holds a socket:
# idle_producers_bench raises its RLIMIT_NOFILE to what it needs, which as root may pass
# the hard limit; a process binds at most 64,000 addresses of its own 127.N/16).
# Also printed: the broker's CPU time to connect them (in all and per session) and its CPU
# share while they idle (keepalives and session timers; IDLE_BENCH_SETTLE_SECONDS,
# default 3, is that window).
# IDLE_BENCH_PERF=DIR: also records the broker with `perf record -g` while they connect
# (DIR/connect.data) and while they idle (DIR/idle.data).
set -euo pipefail
peermq="$1"
bench="$2"
total="${3:-10000}"
processes="${4:-$(( (total + 12499) / 12500 > 4 ? (total + 12499) / 12500 : 4 ))}"
# New dials per second over all processes: below the broker's cookie threshold
# (limits::kUnderLoadHandshakesPerSecond = 1000); cookies are handled anyway.
rate_total="${IDLE_BENCH_DIALS_PER_SECOND:-800}"
settle_s="${IDLE_BENCH_SETTLE_SECONDS:-3}"
# Dialing takes TOTAL / rate seconds; retries, cookies and a busy machine get as long
# again and 30 s more.
timeout_s=$(awk -v n="$total" -v r="$rate_total" 'BEGIN { printf "%d", n / r * 2 + 30 }')

source "$(dirname "$0")/lib.sh"
work=$LIB_TMP
LIB_STOP_GRACE=5  # thousands of sessions to close: up to 5 s for a clean exit, then SIGKILL
export PEERMQ_RUNTIME_DIR="$work/run"
# Process i binds 127.(10 + i).x.y, at most 64,000 of them.
[ "$processes" -ge 1 ] && [ "$processes" -le 200 ] && [ $((total / processes)) -le 60000 ] ||
  lib_die "PROCESSES must be 1..200 with at most 60,000 producers each"

lib_start_listener broker "$peermq" broker -data="$work/data" -sync=none -listen=127.0.0.1:0 \
  -log=info || lib_die "the broker did not start"
broker_pid=$LIB_PID
addr=$LIB_ADDRESS
hostport=$LIB_LISTEN
sleep 0.5  # the broker settles after start-up before its baseline memory is read
rss_before=$(lib_rss_kib "$broker_pid")

perf_dir="${IDLE_BENCH_PERF:-}"
if [ -n "$perf_dir" ]; then
  mkdir -p "$perf_dir"
  lib_start perf_connect perf record -g -p "$broker_pid" -o "$perf_dir/connect.data"
  perf_pid=$LIB_PID
fi
started=$(lib_now_us)
cpu_started=$(lib_cpu_ms "$broker_pid")
per=$((total / processes))
rate=$(awk -v r="$rate_total" -v p="$processes" 'BEGIN { print r / p }')
for i in $(seq 0 $((processes - 1))); do
  n=$per
  [ "$i" = $((processes - 1)) ] && n=$((total - per * (processes - 1)))
  lib_start "bench$i" "$bench" "$addr" "$hostport" "$n" "127.$((10 + i))" "$rate" "$timeout_s"
done

# Every process prints "connected: K/N" once all N are connected, or at its timeout.
connected=0
for i in $(seq 0 $((processes - 1))); do
  lib_wait_line "bench$i" out "^connected: " $((timeout_s + 30)) ||
    lib_die "producer process $i did not finish connecting"
  k=${LIB_LINE#connected: }
  k=${k%/*}
  connected=$((connected + k))
done
elapsed=$(awk -v us=$(($(lib_now_us) - started)) 'BEGIN { printf "%.1f", us / 1e6 }')
if [ "$connected" != "$total" ]; then
  for i in $(seq 0 $((processes - 1))); do sed "s/^/  process $i: /" "$(lib_log "bench$i" err)" >&2; done
  lib_die "only $connected/$total producers connected in $elapsed s"
fi
cpu_before=$(lib_cpu_ms "$broker_pid")
[ -n "$perf_dir" ] && { lib_stop "$perf_pid" 10 INT || true; }
connect_ms=$((cpu_before - cpu_started))
connect_cpu=$(awk -v ms=$connect_ms 'BEGIN { printf "%.1f", ms / 1000 }')
connect_each=$(awk -v ms=$connect_ms -v n="$total" 'BEGIN { printf "%.3f", ms / n }')
if [ -n "$perf_dir" ]; then  # the idle window whose CPU share is measured
  perf record -g -p "$broker_pid" -o "$perf_dir/idle.data" -- sleep "$settle_s" 2>/dev/null
else
  sleep "$settle_s"
fi
lib_running "$broker_pid" || lib_die "the broker died: $(tail -3 "$(lib_log broker err)")"
rss_after=$(lib_rss_kib "$broker_pid")
idle_cpu=$(awk -v ms=$(($(lib_cpu_ms "$broker_pid") - cpu_before)) -v s="$settle_s" \
  'BEGIN { printf "%.1f", ms / 10 / s }')
per_session=$(((rss_after - rss_before) * 1024 / total))
printf 'connected %d producers in %s s (broker: %d KiB resident before, %s s of CPU to connect them, %s ms each, %s%% of a core in the %d s after)\n' \
  "$total" "$elapsed" "$rss_before" "$connect_cpu" "$connect_each" "$idle_cpu" "$settle_s"
printf 'broker memory with %d idle producers: %d MiB resident, %d bytes per idle session (goal: at most 2048)\n' \
  "$total" "$((rss_after / 1024))" "$per_session"
