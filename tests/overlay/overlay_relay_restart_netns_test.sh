#!/usr/bin/env bash
# The relay is killed and started again (same key, same endpoint) while two nodes behind
# NATs use it: both register again by themselves, and new dials through it succeed.
#
#   overlay_relay_restart_netns_test.sh PATH_TO_PEERMQ   needs root; 77 (skip) without, except CI=true
set -uo pipefail
OV_BUDGET=150
source "$(cd "$(dirname "$0")" && pwd)/overlay_netns_common.sh"

scenario() {
  ov_topology "" "" || ov_die "the topology builds"
  ov_relay
  ov_broker a "$OV_RELAY_SPEC"
  ov_consumer b "$OV_RELAY_PLAIN" consumer
  lib_ok "relay, broker (site a) and consumer (site b) are up"
  ov_run b producer1 60 producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=20 \
    -payload=before -quiet -timeout=50
  lib_check "before the restart, a producer gets its 20 answers" \
    grep -qx 'answers: 20/20' "$(lib_log producer1 out)"

  pmq_kill "$OV_RELAY_PID"
  lib_ok "the relay is killed"
  sleep 1  # the point: the relay stays down a second, and what the nodes send it is lost
  local restarted=$SECONDS
  ov_spawn relay relay2 relay -listen="203.0.113.10:$OV_RELAY_PORT" -key="$PMQ_TMP/relay.key" -log=debug
  lib_check "the relay comes back with the same address" \
    lib_wait_line relay2 out "^address: $OV_RELAY_ADDR\$" 5
  # Both nodes register again on their own: the keepalive (at most 15 s) finds the relay
  # deaf to the old session, and the next retry handshakes again.
  lib_check "the broker and the consumer register again with the restarted relay" \
    lib_wait_line relay2 err '\(2 in all\)' 40
  echo "re-registered $((SECONDS - restarted)) s after the restart"
  # Either the node saw its register unanswered, or its session timed out first.
  grep -h 'does not answer\|a peer restarted' "$(lib_log broker err)" "$(lib_log consumer err)" |
    sed 's/^/  /'

  ov_run b ping 40 ping "$OV_BROKER_ADDR" -relay="$OV_RELAY_PLAIN" -count=5 -interval=200
  lib_check "a new node dials the broker through the restarted relay (ping answered)" test $? -eq 0
  cat "$(lib_log ping out)"
  ov_run b producer2 60 producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=20 \
    -payload=after -quiet -timeout=50
  lib_check "after the restart, a new producer gets its 20 answers" \
    grep -qx 'answers: 20/20' "$(lib_log producer2 out)"
  lib_check "the consumer answered all 40 messages" \
    test "$(ov_count "$(lib_log consumer out)" ': (before|after)$')" -eq 40
}

ov_main "$@"
