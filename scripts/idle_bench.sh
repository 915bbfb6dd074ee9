#!/usr/bin/env bash
# Broker memory with many connected idle producers (issue 6: at most 2 KiB per idle session).
#   scripts/idle_bench.sh PEERMQ_BINARY IDLE_BENCH_BINARY [TOTAL=10000] [PROCESSES=4]
# Starts a broker on 127.0.0.1 (-sync=none), reads its resident memory, connects TOTAL
# producers from PROCESSES idle_producers_bench processes (tests/bench), each producer with
# its own key, socket, session and hello accepted, lets the broker settle, reads its
# resident memory again and prints the difference per producer. Every process it starts is
# stopped on exit. The broker listens on 127.0.0.1 only; the producers bind loopback
# addresses 127.N.x.y (one per producer, standing for distinct hosts, since the broker rate
# limits handshakes per source IP). Takes 15-40 s for 10,000 producers on 2 busy cores.
# Also printed: the broker's CPU time to connect them and its CPU share while they idle
# (keepalives and session timers; IDLE_BENCH_SETTLE_SECONDS, default 3, is that window).
set -euo pipefail
peermq="$1"
bench="$2"
total="${3:-10000}"
processes="${4:-4}"
# New dials per second over all processes: below the broker's cookie threshold
# (limits::under_load_handshakes_per_second = 1000); cookies are handled anyway.
rate_total="${IDLE_BENCH_DIALS_PER_SECOND:-800}"
settle_s="${IDLE_BENCH_SETTLE_SECONDS:-3}"
timeout_s=50

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do  # up to 5 s for a clean exit, then SIGKILL
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export PEERMQ_RUNTIME_DIR="$work/run"

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # utime + stime

"$peermq" broker -data="$work/data" -sync=none -listen=127.0.0.1:0 -log=info \
  >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
pids+=("$broker_pid")
for _ in $(seq 1 1000); do  # at most 10 s
  grep -q "listening on" "$work/broker.err" && break
  kill -0 "$broker_pid" 2>/dev/null || break
  sleep 0.01
done
grep -q "listening on" "$work/broker.err" || { echo "broker did not start: $(cat "$work/broker.err")" >&2; exit 1; }
addr=$(sed -n 's/^address: //p' "$work/broker.out")
hostport=$(grep -o "listening on [0-9.:]*" "$work/broker.err" | head -1 | sed 's/listening on //')
sleep 0.5
rss_before=$(rss_kib "$broker_pid")

started=$(date +%s.%N)
ticks_started=$(cpu_ticks "$broker_pid")
per=$((total / processes))
rate=$(echo "$rate_total / $processes" | bc -l)
for i in $(seq 0 $((processes - 1))); do
  n=$per
  [ "$i" = $((processes - 1)) ] && n=$((total - per * (processes - 1)))
  "$bench" "$addr" "$hostport" "$n" "127.$((10 + i))" "$rate" "$timeout_s" \
    >"$work/bench$i.out" 2>"$work/bench$i.err" &
  pids+=("$!")
done

# Every process prints "connected: K/N" once all N are connected, or at its timeout.
for _ in $(seq 1 $(((timeout_s + 5) * 10))); do
  done_count=$(cat "$work"/bench*.out 2>/dev/null | grep -c "^connected: " || true)
  [ "$done_count" = "$processes" ] && break
  sleep 0.1
done
connected=0
for i in $(seq 0 $((processes - 1))); do
  line=$(grep "^connected: " "$work/bench$i.out" || true)
  if [ -z "$line" ]; then
    echo "producer process $i did not finish connecting: $(tail -3 "$work/bench$i.err")" >&2
    exit 1
  fi
  k=${line#connected: }
  k=${k%/*}
  connected=$((connected + k))
done
elapsed=$(echo "$(date +%s.%N) - $started" | bc -l)
if [ "$connected" != "$total" ]; then
  echo "only $connected/$total producers connected in ${elapsed%.*} s" >&2
  for i in $(seq 0 $((processes - 1))); do sed "s/^/  process $i: /" "$work/bench$i.err" >&2; done
  exit 1
fi
ticks_before=$(cpu_ticks "$broker_pid")
connect_cpu=$(echo "($ticks_before - $ticks_started) / $(getconf CLK_TCK)" | bc -l)
sleep "$settle_s"
kill -0 "$broker_pid" 2>/dev/null || { echo "the broker died: $(tail -3 "$work/broker.err")" >&2; exit 1; }
rss_after=$(rss_kib "$broker_pid")
idle_cpu=$(( ($(cpu_ticks "$broker_pid") - ticks_before) * 100 / $(getconf CLK_TCK) / settle_s ))
per_session=$(((rss_after - rss_before) * 1024 / total))
printf 'connected %d producers in %.1f s (broker: %d KiB resident before, %.1f s of CPU to connect them, %d%% of a core in the %d s after)\n' \
  "$total" "$elapsed" "$rss_before" "$connect_cpu" "$idle_cpu" "$settle_s"
printf 'broker memory with %d idle producers: %d MiB resident, %d bytes per idle session (goal: at most 2048)\n' \
  "$total" "$((rss_after / 1024))" "$per_session"
