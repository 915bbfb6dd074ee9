#!/usr/bin/env bash
# peermq next to NATS and ZeroMQ: request -> answer through a broker, in one run.
#   scripts/compare_bench.sh PEERMQ NATS_PEER ZMQ_PEER [RUNS]
# PEERMQ is the peermq binary; NATS_PEER and ZMQ_PEER are tests/bench/peers/ built (they
# need nats-server, libnats-dev and libzmq3-dev). One requester and one responder per
# system, 100-byte payloads, at 1, 64, 256 and 1,024 requests in flight:
#   peermq -sync=none and -sync=always (broker, consumer, producer; encrypted sessions),
#   NATS core (nats-server, C client: queue-group responder, requests with a reply inbox),
#   ZeroMQ (ROUTER/DEALER zmq_proxy, REP worker, DEALER client).
# Round trips/s is count / wall time of the requester process, timed from outside and
# identically for all (start-up and connection included, as scripts/queue_bench.sh does);
# p50/p99 are the requester's own send-to-answer latencies. Every figure is the median of
# RUNS runs (default 5); the runs of the four systems alternate, so a busy neighbour slows
# them alike. Each (system, in flight) pair first has a warm-up run that also sizes its
# count so a measured run takes about TARGET_SECONDS (0.8). Prints one markdown table.
# Traffic goes only to 127.0.0.1 (every server binds a port the kernel picks, so no port
# is guessed); every process started is stopped on exit, on error and on Ctrl-C.
set -euo pipefail
shopt -s inherit_errexit  # a failing run inside $(...) fails the script
if [ $# -lt 3 ]; then
  echo "usage: $0 PEERMQ NATS_PEER ZMQ_PEER [RUNS]" >&2
  exit 2
fi
peermq="$1"
nats_peer="$2"
zmq_peer="$3"
runs="${4:-5}"
target_seconds="${TARGET_SECONDS:-0.8}"
levels=(1 64 256 1024)
systems=(pm_none pm_always nats zmq)
for program in "$peermq" "$nats_peer" "$zmq_peer"; do
  [ -x "$program" ] || { echo "$0: $program is not an executable" >&2; exit 2; }
done
command -v nats-server >/dev/null || { echo "$0: nats-server not found (apt install nats-server)" >&2; exit 2; }

source "$(dirname "$0")/lib.sh"
work=$LIB_TMP

# peermq: a broker and a consumer per -sync, each pair with a runtime directory of its own.
declare -A pm_addr pm_broker
for sync in none always; do
  export PEERMQ_RUNTIME_DIR="$work/run-$sync"
  lib_start_listener "broker-$sync" "$peermq" broker -data="$work/data-$sync" -sync="$sync" \
    -listen=127.0.0.1:0 -log=info -stat || lib_die "the -sync=$sync broker did not start"
  pm_broker[$sync]=$LIB_PID
  pm_addr[$sync]=$LIB_ADDRESS
  lib_start "consumer-$sync" "$peermq" consumer -broker="${pm_addr[$sync]}" \
    -log=info -listen=127.0.0.1:0
  lib_wait_line "consumer-$sync" err "connected to broker" || lib_die "a consumer did not connect"
done
unset PEERMQ_RUNTIME_DIR

# NATS: nats-server on a port it picks; the responder is started per in-flight level
# (start_nats_responder), as its flush mode depends on it.
lib_start nats-server nats-server -a 127.0.0.1 -p -1
lib_wait_line nats-server err "Listening for client connections on [0-9.]+:[0-9]+" ||
  lib_die "nats-server did not start"
nats_url="nats://$(grep -oE '[0-9.]+:[0-9]+$' <<<"$LIB_LINE")"
nats_responder_pid=""
nats_responder_flush=""
# NATS C client flush mode per side and level (tests/bench/peers/nats_peer.cpp says why):
# SendAsap, which the client's docs recommend for request/reply, or its default buffering
# (a flusher thread writes what accumulated in ~1 ms), which they recommend for throughput.
# Each level gets the faster pair measured on 2 cores (medians of 4 runs of 100,000):
#   1, 64 in flight: asap requester and responder (64: 92k/s; buffered on either side <= 60k);
#   256: buffered requester, asap responder (161k/s; both asap 134k, both buffered 127k);
#   1,024: both buffered (410k/s; buffered requester only 240k, both asap 185k).
nats_requester_flush() { if [ "$1" -lt 256 ]; then echo asap; else echo batched; fi; }
nats_responder_flush() { if [ "$1" -lt 1024 ]; then echo asap; else echo batched; fi; }
start_nats_responder() {  # FLUSH
  [ "$nats_responder_flush" = "$1" ] && return 0
  [ -n "$nats_responder_pid" ] && { lib_stop "$nats_responder_pid" || true; }
  lib_start nats-responder "$nats_peer" responder -url="$nats_url" -flush="$1"
  nats_responder_pid=$LIB_PID
  nats_responder_flush=$1
  lib_wait_line nats-responder out "^ready" || lib_die "the NATS responder did not start"
}

# ZeroMQ: the proxy binds two ports it picks and prints them; the worker connects.
lib_start zmq-broker "$zmq_peer" broker -front='tcp://127.0.0.1:*' -back='tcp://127.0.0.1:*'
lib_wait_line zmq-broker out "^ready" || lib_die "the ZeroMQ proxy did not start"
zmq_front=$(sed -n 's/^front: //p' "$(lib_log zmq-broker out)")
zmq_back=$(sed -n 's/^back: //p' "$(lib_log zmq-broker out)")
lib_start zmq-worker "$zmq_peer" worker -back="$zmq_back"
lib_wait_line zmq-worker out "^ready" || lib_die "the ZeroMQ worker did not start"

requester() {  # SYSTEM COUNT INFLIGHT: runs one requester in the foreground
  case "$1" in
    pm_none | pm_always)
      local sync=${1#pm_}
      PEERMQ_RUNTIME_DIR="$work/run-$sync" "$peermq" producer -broker="${pm_addr[$sync]}" \
        -count="$2" -inflight="$3" -size=100 -timeout=60 -log=warn -listen=127.0.0.1:0 ;;
    nats)
      "$nats_peer" requester -url="$nats_url" -count="$2" -inflight="$3" -size=100 -timeout=60 \
        -flush="$(nats_requester_flush "$3")" ;;
    zmq)
      "$zmq_peer" client -front="$zmq_front" -count="$2" -inflight="$3" -size=100 -timeout=60 ;;
  esac
}

run_once() {  # SYSTEM COUNT INFLIGHT -> "rate p50 p99 seconds"
  local s e out
  s=$(lib_now_us)
  # Into a file, as a user's script would keep it (peermq prints a line per answer; the
  # shell does not have to hold them), then its last lines.
  requester "$1" "$2" "$3" >"$work/requester.out" 2>"$work/requester.err" ||
    lib_die "$1 with $3 in flight failed: $(tail -3 "$work/requester.out") $(cat "$work/requester.err")"
  e=$(lib_now_us)
  out=$(tail -n 3 "$work/requester.out")
  [[ "$out" == *"answers: $2/$2"* ]] || lib_die "$1 with $3 in flight: $out"
  local p50 p99
  p50=$(echo "$out" | sed -n 's/^latency: p50=\([0-9]*\)us.*/\1/p')
  p99=$(echo "$out" | sed -n 's/.* p99=\([0-9]*\)us.*/\1/p')
  awk -v n="$2" -v us=$((e - s)) -v a="$p50" -v b="$p99" \
    'BEGIN { printf "%.1f %s %s %.3f\n", n * 1e6 / us, a, b, us / 1e6 }'
}

# Warm-up, and the count that makes a run last about target_seconds: grow a short run until
# it takes 0.2 s, then scale.
size_count() {  # SYSTEM INFLIGHT -> count
  local n rate seconds result
  n=$([ "$2" = 1 ] && echo 200 || echo 2000)
  for _ in 1 2 3 4 5 6; do
    result=$(run_once "$1" "$n" "$2")
    read -r rate _ _ seconds <<<"$result"
    awk -v t="$seconds" 'BEGIN { exit !(t >= 0.2) }' && break
    n=$((n * 4))
  done
  awk -v r="$rate" -v t="$target_seconds" -v n="$n" \
    'BEGIN { c = int(r * t); if (c < n) c = n; print c }'
}

declare -A rates p50s p99s counts
for inflight in "${levels[@]}"; do
  start_nats_responder "$(nats_responder_flush "$inflight")"
  for system in "${systems[@]}"; do
    counts[$system,$inflight]=$(size_count "$system" "$inflight")
  done
  for _ in $(seq 1 "$runs"); do
    for system in "${systems[@]}"; do
      result=$(run_once "$system" "${counts[$system,$inflight]}" "$inflight")
      read -r rate p50 p99 _ <<<"$result"
      rates[$system,$inflight]+="$rate "
      p50s[$system,$inflight]+="$p50 "
      p99s[$system,$inflight]+="$p99 "
    done
  done
  for system in "${systems[@]}"; do
    key="$system,$inflight"
    rates[$key]=$(lib_median "${rates[$key]}")
    p50s[$key]=$(lib_median "${p50s[$key]}")
    p99s[$key]=$(lib_median "${p99s[$key]}")
  done
done

thousands() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); r = "";
  while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
  print s r }'; }
cell() { echo "$(thousands "${rates[$1,$2]}") ($(thousands "${p50s[$1,$2]}") / $(thousands "${p99s[$1,$2]}"))"; }
ratio() {  # OTHER INFLIGHT: peermq round trips/s over OTHER's; at 1 in flight also p50 over p50
  awk -v a="${rates[pm_none,$2]}" -v b="${rates[$1,$2]}" -v la="${p50s[pm_none,$2]}" \
    -v lb="${p50s[$1,$2]}" -v one="$([ "$2" = 1 ] && echo 1 || echo 0)" 'BEGIN {
      printf "%.2fx", a / b; if (one && lb > 0) printf ", p50 %.2fx", la / lb; printf "\n" }'
}

# Messages made durable per fdatasync: the durable broker's last -stat line (printed at exit).
lib_stop "${pm_broker[always]}" 30 || echo "compare_bench: the durable broker needed SIGKILL" >&2
per_fsync=$(grep "^stat:" "$(lib_log broker-always out)" | tail -1 |
  sed -n 's/.*records_per_fsync=\([0-9.]*\).*/\1/p')

version() { "$@" 2>/dev/null | head -1 || echo "?"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); nats-server $(version nats-server --version |
  sed 's/^nats-server: v//'), NATS C client $(version pkg-config --modversion libnats)," \
  "libzmq $(version pkg-config --modversion libzmq)"
echo
echo "Request -> answer through a broker, 100-byte payloads, one requester and one responder:" \
  "round trips/s (p50 / p99 latency in us), median of $runs runs."
echo
echo "| in flight | peermq rt/s (p50 / p99 us) | peermq durable | NATS | ZeroMQ | peermq / NATS" \
  "| peermq / ZeroMQ |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for inflight in "${levels[@]}"; do
  echo "| $(thousands "$inflight") | $(cell pm_none "$inflight") | $(cell pm_always "$inflight")" \
    "| $(cell nats "$inflight") | $(cell zmq "$inflight") | $(ratio nats "$inflight")" \
    "| $(ratio zmq "$inflight") |"
done
echo
echo "peermq: encrypted sessions, broker -sync=none (stored, fsync left to the OS); peermq" \
  "durable: encrypted, -sync=always (the broker confirms a message once it is fsynced to its" \
  "log; group commit: ${per_fsync:-?} journal records per fdatasync). NATS core and ZeroMQ: not durable, not encrypted. Ratios:" \
  "peermq (-sync=none) round trips/s over the other's; at 1 in flight also p50 over p50." \
  "NATS C client: SendAsap up to 64 in flight, its buffered default from 256 (the faster" \
  "at each level)."
