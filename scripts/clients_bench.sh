#!/usr/bin/env bash
# Many clients on one broker, and fan-in through a relay, with `peermq bench`.
#   scripts/clients_bench.sh PEERMQ [RUNS]        (CLIENTS_BENCH_QUICK=1: small, < 40 s)
# (a) many clients: one broker on 127.0.0.1 (-sync=none, as compare_bench.sh's peermq
#     row); 1 producer with 1,000 in flight against 1,000 producers with 1 in flight each
#     (the same 1,000 in flight in all), with 1 and with 100 consumers.
# (b) fan-in through a relay: P producers and C consumers of one bench process into one
#     broker, both sides relayed, against the same bench direct on 127.0.0.1. On loopback
#     a relayed path turns direct at once (the peers' probes reach each other), so the
#     relayed side runs in network namespaces (root; tests/overlay/netns_topology.sh): the
#     broker and the bench each behind a symmetric NAT, which no probe crosses, and a relay
#     on the public segment between them. Without root (b) prints why it is left out.
# Every figure is the median of RUNS runs (default 3; 1 in quick mode). Nodes spread over
# 128 loopback source addresses (127.0.x.y): a broker lets one source start 20 handshakes
# a second, so 1,100 nodes from one address would take a minute to connect. Every process
# started is stopped on exit, on error and on Ctrl-C.
set -uo pipefail

# (b)'s relayed half, inside the namespaces: see fanin_relayed below.
if [ "${1:-}" = --netns ] || [ "${1:-}" = --run ]; then
  mode=$1
  shift
  source "$(cd "$(dirname "$0")/.." && pwd)/tests/overlay/overlay_netns_common.sh"
  scenario() {
    ov_topology symmetric symmetric || ov_die "the topology builds"
    ov_relay
    ov_broker a "$OV_RELAY_SPEC" -sync=none
    local i
    for ((i = 1; i <= FANIN_RUNS; i++)); do
      ov_run b "fanin-$i" $((FANIN_TIMEOUT + 10)) bench -broker="$OV_BROKER_ADDR" \
        -relay="$OV_RELAY_SPEC" $FANIN_ARGS -timeout="$FANIN_TIMEOUT" -log=warn
      grep -E '^publish->answer|^answers:' "$(lib_log "fanin-$i" out)" | sed 's/^/result: /'
      grep -q '^answers: \([0-9]*\)/\1$' "$(lib_log "fanin-$i" out)" ||
        tail -n 5 "$(lib_log "fanin-$i" out)" "$(lib_log "fanin-$i" err)"
    done
  }
  if [ "$mode" = --netns ]; then OV_BUDGET=$((FANIN_RUNS * (FANIN_TIMEOUT + 10) + 30)) ov_main "$@"; fi
  ov_main --run "$@"
  exit
fi

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 PEERMQ [RUNS]   (CLIENTS_BENCH_QUICK=1 for a quick run)" >&2
  exit 2
fi
peermq=$(realpath "$1")
quick=${CLIENTS_BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then runs=${2:-1}; else runs=${2:-3}; fi
source "$(dirname "$0")/lib.sh"
export PEERMQ_RUNTIME_DIR=$LIB_TMP/run

listen=$(for ((i = 1; i <= 128; i++)); do printf '127.0.%d.%d:0,' $((i / 250 + 1)) $((i % 250 + 1)); done)
listen=${listen%,}

# bench LABEL ARGS...: one `peermq bench` run; prints "RATE P99" of publish->answer, or
# "0 0" when not every answer came.
bench() {
  local label=$1 out
  shift
  out=$(lib_log "$label" out)
  "$peermq" bench -broker="$broker" -listen="$listen" -log=warn "$@" >"$out" 2>"$(lib_log "$label" err)"
  if [ $? -ne 0 ]; then
    echo "$label: $(tail -n 1 "$out")" >&2
    echo "0 0"
    return
  fi
  sed -nE 's/^publish->answer: ([0-9]+) msgs\/s .*p99=([0-9]+)us.*/\1 \2/p' "$out"
}

# median_of LABEL ARGS...: RUNS runs of bench; "RATE P99" medians.
median_of() {
  local label=$1 i rates=() p99s=() r p
  shift
  for ((i = 1; i <= runs; i++)); do
    read -r r p < <(bench "$label-$i" "$@")
    rates+=("$r")
    p99s+=("$p")
  done
  echo "$(lib_median "${rates[@]}") $(lib_median "${p99s[@]}")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
fmt() { awk -v n="${1%.*}" 'BEGIN { s = ""; while (n >= 1000) { s = sprintf(",%03d", n % 1000) s; n = int(n / 1000) } print n s }'; }

lib_start_listener broker "$peermq" broker -data="$LIB_TMP/data" -sync=none -listen=127.0.0.1:0 ||
  lib_die "the broker starts"
broker=$LIB_ADDRESS

# ---------------------------------------------------------------- (a) many clients
if [ "$quick" = 1 ]; then count_one=30000 count_many=20000; else count_one=200000 count_many=100000; fi
read -r one_rate one_p99 < <(median_of one-1 -producers=1 -consumers=1 -inflight=1000 -count=$count_one -timeout=60)
read -r one100_rate one100_p99 < <(median_of one-100 -producers=1 -consumers=100 -inflight=1000 -count=$count_one -timeout=60)
read -r many_rate many_p99 < <(median_of many -producers=1000 -consumers=100 -inflight=1 -count=$count_many -timeout=90)

echo
echo "Many clients on one broker, 1,000 messages in flight in all, 100 B (median of $runs):"
echo
echo "| producers x in flight | consumers | answers/s | p99 publish->answer | rate vs 1 producer, 1 consumer | vs 1 producer, 100 consumers |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| 1 x 1,000 | 1 | $(fmt "$one_rate") | $(fmt "$one_p99") us | 1.00x | |"
echo "| 1 x 1,000 | 100 | $(fmt "$one100_rate") | $(fmt "$one100_p99") us | $(ratio "$one100_rate" "$one_rate") | 1.00x |"
echo "| 1,000 x 1 | 100 | $(fmt "$many_rate") | $(fmt "$many_p99") us | $(ratio "$many_rate" "$one_rate") | $(ratio "$many_rate" "$one100_rate") |"
echo
echo "Goal: 1,000 producers at least 0.80x one producer at the same total in flight."

# ---------------------------------------------------------------- (b) fan-in via a relay
if [ "$quick" = 1 ]; then fanin_count=1000; else fanin_count=5000; fi
fanin_args="-producers=20 -consumers=2 -inflight=5 -count=$fanin_count"
read -r direct_rate direct_p99 < <(median_of fanin-direct $fanin_args -timeout=60)
relayed_rate="" relayed_p99=""
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null; then
  FANIN_RUNS=$runs FANIN_TIMEOUT=$([ "$quick" = 1 ] && echo 20 || echo 60) FANIN_ARGS=$fanin_args \
    bash "$0" --netns "$peermq" >"$LIB_TMP/fanin-netns.out" 2>&1
  mapfile -t relayed_rates < <(sed -nE 's/^result: publish->answer: ([0-9]+) msgs.*/\1/p' "$LIB_TMP/fanin-netns.out")
  mapfile -t relayed_p99s < <(sed -nE 's/^result: publish->answer: .*p99=([0-9]+)us.*/\1/p' "$LIB_TMP/fanin-netns.out")
  relayed_done=$(grep -c "^result: answers: $fanin_count/$fanin_count" "$LIB_TMP/fanin-netns.out")
  if [ "${#relayed_rates[@]}" -gt 0 ] && [ "$relayed_done" -eq "$runs" ]; then
    relayed_rate=$(lib_median "${relayed_rates[@]}")
    relayed_p99=$(lib_median "${relayed_p99s[@]}")
  else
    echo "fan-in relayed: not every run completed:" >&2
    tail -n 30 "$LIB_TMP/fanin-netns.out" >&2
  fi
fi
echo
echo "Fan-in, one bench process: $fanin_args, 100 B (median of $runs):"
echo
echo "| path | answers/s | p99 publish->answer | relayed / direct |"
echo "|---|---:|---:|---:|"
echo "| direct, 127.0.0.1 | $(fmt "$direct_rate") | $(fmt "$direct_p99") us | |"
if [ -n "$relayed_rate" ]; then
  echo "| both sides relayed (symmetric NATs, namespaces) | $(fmt "$relayed_rate") | $(fmt "$relayed_p99") us | $(ratio "$relayed_rate" "$direct_rate") |"
else
  echo "| both sides relayed | not measured (needs root and ip netns, or a run failed) | | |"
fi
