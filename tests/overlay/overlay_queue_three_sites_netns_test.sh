#!/usr/bin/env bash
# The queue's whole flow with broker, consumer and producer each behind its own home
# router (cone NATs, sites a, b and c) and a relay on the public segment: the producer's
# messages are stored by the broker, answered by the consumer, and every answer comes
# back; both clients end on direct paths to the broker.
#
#   overlay_queue_three_sites_netns_test.sh PATH_TO_PEERMQ   needs root; 77 (skip) without, except CI=true
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/overlay_netns_common.sh"

scenario() {
  ov_topology "" "" || ov_die "the topology builds"
  pmq_add_nat_site c 203.0.113.3 10.0.3.0/24 || ov_die "the third site builds"
  ov_relay
  ov_broker a "$OV_RELAY_SPEC"
  ov_consumer b "$OV_RELAY_SPEC" consumer -command=num_users
  lib_ok "relay, broker (site a) and consumer (site b) are up"
  lib_check "the consumer's path to the broker becomes direct" \
    lib_wait_line consumer err "path: $OV_BROKER_ADDR: .* -> direct 203\.0\.113\.1:" 15

  ov_run c producer 90 producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" \
    -name=producer-1 -command=num_users -count=500 -inflight=4 -delay=10 \
    -payload=how-many-users -quiet -timeout=80
  lib_check "the producer in site c gets all 500 answers" \
    grep -qx 'answers: 500/500' "$(lib_log producer out)"
  lib_check "the consumer in site b got all 500 messages" \
    test "$(ov_count "$(lib_log consumer out)" 'command=num_users: how-many-users$')" -ge 500
  # 500 messages 10 ms apart: the path has seconds to turn direct while they flow.
  lib_check "the producer's path to the broker became direct" \
    grep -qE "path: $OV_BROKER_ADDR: .* -> direct 203\.0\.113\.1:" "$(lib_log producer err)"
}

ov_main "$@"
