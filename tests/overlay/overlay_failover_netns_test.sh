#!/usr/bin/env bash
# A direct path that stops working mid-stream (site a's router starts dropping everything
# between the two routers, while the relay stays reachable): traffic returns to the relay
# within seconds, and no message of the stream is lost or repeated.
#
#   overlay_failover_netns_test.sh PATH_TO_PEERMQ   needs root; 77 (skip) without, except CI=true
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/overlay_netns_common.sh"

block_direct() {  # block_direct -I|-D: cut (or mend) site a <-> site b, relay untouched
  pmq_exec a-nat iptables "$1" FORWARD -i pub0 -s 203.0.113.2 -j DROP &&
    pmq_exec a-nat iptables "$1" FORWARD -o pub0 -d 203.0.113.2 -j DROP
}

consumer_has() {  # N: the consumer printed at least N messages of the stream
  [ "$(ov_count "$(lib_log consumer out)" ': across-failover$')" -ge "$1" ]
}

scenario() {
  ov_topology "" "" || ov_die "the topology builds"
  ov_relay
  ov_broker a "$OV_RELAY_SPEC"
  ov_consumer b "$OV_RELAY_SPEC" consumer
  lib_check "the consumer's path to the broker becomes direct" \
    lib_wait_line consumer err "path: $OV_BROKER_ADDR: .* -> direct" 15

  # 2,000 messages at one per 3 ms (about 6 s); the direct path is cut after 500.
  ov_spawn b producer producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=2000 \
    -delay=3 -payload=across-failover -quiet -timeout=60
  lib_check "the producer's path goes direct" \
    lib_wait_line producer err "path: $OV_BROKER_ADDR: .* -> direct" 10
  # Cut mid-stream, once a quarter of it went through (over the direct path).
  lib_wait_until 30 consumer_has 500 || ov_die "the consumer gets 500 of the stream"
  block_direct -I || ov_die "the direct path is cut"
  local cut=$SECONDS
  lib_ok "the direct path between the two routers is cut"
  lib_check "the producer falls back to the relay within 5 s" \
    lib_wait_line producer err "direct .* -> relayed via 203\.0\.113\.10:7070 \(direct_lost\)" 5
  echo "fell back $((SECONDS - cut)) s after the cut"
  lib_check "the consumer falls back to the relay too" \
    lib_wait_line consumer err "direct .* -> relayed via 203\.0\.113\.10:7070 \(direct_lost\)" 5
  lib_check "the stream of 2000 is answered in full" \
    lib_wait_line producer out '^answers: 2000/2000$' 60
  local ids=$PMQ_TMP/ids
  sed -n 's/^message \([0-9]*\)\(.*\): across-failover$/\1\2/p' "$(lib_log consumer out)" >"$ids"
  lib_check "the consumer got each of the 2000 exactly once, in order" \
    test "$(wc -l <"$ids")" -eq 2000 -a "$(grep -c 'delivery=' "$ids")" -eq 0
  lib_check "(in order)" sort -n -c -u "$ids"
  block_direct -D
}

ov_main "$@"
