#!/usr/bin/env bash
# Two nodes, each behind its own home router (cone NAT), and a relay on the public
# segment: they find each other through the relay, punch a direct path, and messages flow
# both ways over it (producer and consumer in b, broker in a).
#
#   overlay_direct_netns_test.sh PATH_TO_PEERMQ     needs root; 77 (skip) without, except CI=true
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/overlay_netns_common.sh"

scenario() {
  ov_topology "" "" || ov_die "the topology builds"
  ov_relay
  # The broker names the relay with its key, the consumer by endpoint only.
  ov_broker a "$OV_RELAY_SPEC"
  ov_consumer b "$OV_RELAY_PLAIN" consumer
  lib_ok "relay, broker (site a) and consumer (site b) are up"
  lib_check "the consumer learned the relay's key on first contact" \
    lib_wait_line consumer err "trusting the key.*$OV_RELAY_ADDR" 1
  lib_check "the consumer's path to the broker becomes direct" \
    lib_wait_line consumer err "path: $OV_BROKER_ADDR: .* -> direct 203\.0\.113\.1:" 15
  lib_check "the broker's path to the consumer becomes direct" \
    lib_wait_line broker err "path: .* -> direct 203\.0\.113\.2:" 5

  ov_run b ping 30 ping "$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=10 -interval=200
  lib_check "ping from site b gets answers (exit 0)" test $? -eq 0
  cat "$(lib_log ping out)"
  lib_check "ping's path ends direct, at the router of site a" \
    grep -qE '^pings: 10 sent, [0-9]+ received, path=direct endpoint=203\.0\.113\.1:' "$(lib_log ping out)"
  lib_check "most pings went over the direct path" \
    test "$(ov_count "$(lib_log ping out)" '^reply .* path=direct')" -ge 7

  ov_run b producer 60 producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_PLAIN" -count=200 \
    -inflight=32 -payload=hello-over-nat -quiet -timeout=50
  lib_check "the producer in site b gets all 200 answers" \
    grep -qx 'answers: 200/200' "$(lib_log producer out)"
  lib_check "the consumer in site b got all 200 messages" \
    test "$(ov_count "$(lib_log consumer out)" ': hello-over-nat$')" -eq 200
}

ov_main "$@"
