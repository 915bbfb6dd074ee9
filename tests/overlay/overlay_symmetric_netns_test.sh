#!/usr/bin/env bash
# Both nodes behind symmetric NATs (MASQUERADE --random-fully: a new public port for each
# destination), where hole punching cannot work: messages flow through the relay, both
# ways, and the path stays relayed.
#
#   overlay_symmetric_netns_test.sh PATH_TO_PEERMQ   needs root; 77 (skip) without, except CI=true
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/overlay_netns_common.sh"

scenario() {
  ov_topology symmetric symmetric || ov_die "the topology builds"
  ov_relay
  ov_broker a "$OV_RELAY_SPEC"
  ov_consumer b "$OV_RELAY_SPEC" consumer
  lib_ok "relay, broker (site a, symmetric NAT) and consumer (site b, symmetric NAT) are up"

  ov_run b producer 60 producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=500 \
    -inflight=32 -payload=through-the-relay -quiet -timeout=50
  lib_check "the producer in site b gets all 500 answers" \
    grep -qx 'answers: 500/500' "$(lib_log producer out)"
  lib_check "the consumer in site b got all 500 messages" \
    test "$(ov_count "$(lib_log consumer out)" ': through-the-relay$')" -eq 500

  ov_run b ping 40 ping "$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=5 -interval=200
  lib_check "ping from site b gets answers (exit 0)" test $? -eq 0
  cat "$(lib_log ping out)"
  lib_check "every ping answer came through the relay" \
    test "$(ov_count "$(lib_log ping out)" '^reply .* path=relayed endpoint=203\.0\.113\.10:7070')" -eq \
    "$(ov_count "$(lib_log ping out)" '^reply ')"
  lib_check "ping's path is relayed at the end" \
    grep -qE '^pings: 5 sent, [1-5] received, path=relayed endpoint=203\.0\.113\.10:7070' "$(lib_log ping out)"
  lib_check "the consumer's path to the broker never became direct" \
    test "$(ov_count "$(lib_log consumer err)" '-> direct')" -eq 0
  lib_check "the consumer tried punching and stayed relayed" \
    lib_wait_line consumer err 'punch_failed, still relayed' 15
  pmq_kill "$OV_RELAY_PID"
  grep 'stopping:' "$(lib_log relay err)" | sed 's/^.*relay: /relay /'
  lib_check "the relay forwarded hundreds of datagrams" \
    grep -qE 'stopping: .* [0-9]{3,} datagrams forwarded' "$(lib_log relay err)"
}

ov_main "$@"
