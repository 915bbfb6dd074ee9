#!/usr/bin/env bash
# Overlay benchmark in network namespaces (root): a relay on a public segment and home
# routers (tests/overlay/netns_topology.sh) around it. Prints, as the median of RUNS:
#   - time from starting a producer to its first answer when the path stays relayed
#     (both sites behind symmetric NATs), and when it can go direct (cone NATs), and the
#     time until the direct path is confirmed;
#   - the relay's forwarding rate: datagrams into the relay per second of the relay's CPU
#     time while 20,000 requests flow between two symmetric-NAT sites.
#   scripts/overlay_bench.sh PEERMQ_BINARY [RUNS]
# Only the script's own namespaces are addressed; everything is removed on exit.
set -uo pipefail
source "$(cd "$(dirname "$0")/.." && pwd)/tests/overlay/overlay_netns_common.sh"
RUNS=${OV_BENCH_RUNS:-3}

ms_of_log_line() {  # the UTC timestamp at the start of a log line, in ms since the epoch
  python3 -c 'import sys,datetime; t=sys.argv[1][:23]; print(int(datetime.datetime.strptime(t,"%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()*1000))' "$1"
}
now_ms() { echo $(( $(lib_now_us) / 1000 )); }
median() { if [ $# -gt 0 ]; then lib_median "$@"; else echo "?"; fi; }  # "?": no run made the figure

# broker SITE LABEL: a broker in SITE; sets BROKER
start_broker() {
  ov_spawn "$1" "$2" broker -data="$PMQ_TMP/$2-data" -listen=0.0.0.0:4000 -relay="$OV_RELAY_SPEC" -log=info
  lib_wait_line "$2" out '^address: ' 5 || ov_die "broker $2 starts"
  BROKER=${LIB_LINE#address: }
  lib_wait_line "$2" err 'registered with relay' 10 || ov_die "broker $2 registers"
}

scenario() {
  ov_topology symmetric symmetric || ov_die "the topology builds"
  pmq_add_nat_site c 203.0.113.3 10.0.3.0/24 || ov_die "site c"
  pmq_add_nat_site d 203.0.113.4 10.0.4.0/24 || ov_die "site d"
  ov_relay
  start_broker a sym-broker; sym_broker=$BROKER
  ov_spawn b sym-consumer consumer -broker="$sym_broker" -relay="$OV_RELAY_SPEC"
  start_broker c cone-broker; cone_broker=$BROKER
  ov_spawn d cone-consumer consumer -broker="$cone_broker" -relay="$OV_RELAY_SPEC"
  lib_wait_line sym-consumer err 'connected to broker' 20 || ov_die "consumer b connects"
  lib_wait_line cone-consumer err 'connected to broker' 20 || ov_die "consumer d connects"

  local relayed=() first_direct=() to_direct=()
  for ((i = 1; i <= RUNS; i++)); do
    local s e
    s=$(now_ms)
    ov_run b "p-sym-$i" 30 producer -broker="$sym_broker" -relay="$OV_RELAY_SPEC" -count=1 -timeout=25
    e=$(now_ms)
    grep -q '^answers: 1/1' "$(lib_log "p-sym-$i" out)" && relayed+=($((e - s)))
    s=$(now_ms)
    ov_run d "p-cone-$i" 30 producer -broker="$cone_broker" -relay="$OV_RELAY_SPEC" -count=100 \
      -delay=20 -timeout=25
    local line
    line=$(grep -m1 -E "path: $cone_broker: .* -> direct" "$(lib_log "p-cone-$i" err)")
    [ -n "$line" ] && to_direct+=($(( $(ms_of_log_line "$line") - s )))
    line=$(grep -m1 -E "connected to broker" "$(lib_log "p-cone-$i" err)")
    [ -n "$line" ] && first_direct+=($(( $(ms_of_log_line "$line") - s )))
  done

  # Forwarding rate: datagrams into the relay per CPU second of the relay.
  pmq_exec relay iptables -I INPUT -p udp --dport "$OV_RELAY_PORT" -j ACCEPT
  local cpu0 cpu1 pk0 pk1
  # ip netns exec and env exec the next program: the pid started is the relay's own.
  [ "$(cat "/proc/$OV_RELAY_PID/comm" 2>/dev/null)" = peermq ] || ov_die "the relay process is found"
  cpu0=$(lib_cpu_ms "$OV_RELAY_PID")
  pk0=$(pmq_exec relay iptables -L INPUT -v -x -n | awk -v p="dpt:$OV_RELAY_PORT" '$0 ~ p { print $1; exit }')
  local s e
  s=$(now_ms)
  ov_run b p-flood 120 producer -broker="$sym_broker" -relay="$OV_RELAY_SPEC" -count=20000 \
    -inflight=256 -size=100 -timeout=110
  e=$(now_ms)
  cpu1=$(lib_cpu_ms "$OV_RELAY_PID")
  pk1=$(pmq_exec relay iptables -L INPUT -v -x -n | awk -v p="dpt:$OV_RELAY_PORT" '$0 ~ p { print $1; exit }')
  local cpu_ms=$((cpu1 - cpu0))
  local packets=$((pk1 - pk0))

  echo
  printf '| %-62s | %12s |\n' "overlay, in namespaces (median of $RUNS)" "measured"
  printf '|%s|%s|\n' "$(printf -- '-%.0s' {1..64})" "$(printf -- '-%.0s' {1..14})"
  printf '| %-62s | %9s ms |\n' "start to first answer, relayed (both symmetric NATs)" "$(median "${relayed[@]}")"
  printf '| %-62s | %9s ms |\n' "start to connected to the broker (cone NATs)" "$(median "${first_direct[@]}")"
  printf '| %-62s | %9s ms |\n' "start to direct path confirmed (cone NATs)" "$(median "${to_direct[@]}")"
  printf '| %-62s | %12s |\n' "20,000 requests relayed: datagrams into the relay" "$packets"
  printf '| %-62s | %9s ms |\n' "  relay CPU time for them (wall $((e - s)) ms)" "$cpu_ms"
  if [ "$cpu_ms" -gt 0 ]; then
    printf '| %-62s | %12s |\n' "relay forwarding rate, datagrams per CPU second" "$((packets * 1000 / cpu_ms))"
  fi
  grep -q '^answers: 20000/20000' "$(lib_log p-flood out)" && lib_ok "all 20,000 relayed requests answered" ||
    lib_fail "the relayed flood was not all answered"
}

OV_BUDGET=${OV_BUDGET:-300} ov_main "$@"
