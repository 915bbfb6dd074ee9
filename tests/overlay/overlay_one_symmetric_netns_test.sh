#!/usr/bin/env bash
# One node behind a cone NAT, the other behind a symmetric NAT: messages flow both ways,
# and the test prints the path they took (with Linux conntrack's address-and-port
# dependent filtering, punching to a symmetric NAT normally fails, and the path stays on
# the relay; either outcome passes, as long as messages flow).
#
#   overlay_one_symmetric_netns_test.sh PATH_TO_PEERMQ   needs root; 77 (skip) without, except CI=true
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/overlay_netns_common.sh"

scenario() {
  ov_topology "" symmetric || ov_die "the topology builds"
  ov_relay
  ov_broker a "$OV_RELAY_SPEC"
  ov_consumer b "$OV_RELAY_SPEC" consumer
  lib_ok "relay, broker (site a, cone NAT) and consumer (site b, symmetric NAT) are up"

  ov_run b producer 60 producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=500 \
    -inflight=32 -payload=one-symmetric -quiet -timeout=50
  lib_check "the producer in site b gets all 500 answers" \
    grep -qx 'answers: 500/500' "$(lib_log producer out)"
  lib_check "the consumer in site b got all 500 messages" \
    test "$(ov_count "$(lib_log consumer out)" ': one-symmetric$')" -eq 500

  ov_run b ping 40 ping "$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=5 -interval=300
  lib_check "ping from site b gets answers (exit 0)" test $? -eq 0
  cat "$(lib_log ping out)"
  echo "path from the symmetric side to the cone side: $(sed -n 's/^pings: .*path=//p' "$(lib_log ping out)")"
  echo "consumer's path changes:"
  grep 'path: ' "$(lib_log consumer err)" | sed 's/^.*path: /  /'
}

ov_main "$@"
