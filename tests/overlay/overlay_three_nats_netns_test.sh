#!/usr/bin/env bash
# Three home routers (two cone NATs, one symmetric), a relay on the public segment and
# four nodes, two of them behind one NAT: every pair behind cone NATs ends on a direct
# path, the node behind the symmetric NAT works through the relay, and `peermq ping`
# names the endpoint each path really sends to.
#
#   site a (cone):       the broker, and consumer-a (the same host: two nodes, one NAT)
#   site b (cone):       the producer, which already holds a session with the relay and
#                        the broker before it pings
#   site c (symmetric):  consumer-c
#
#   overlay_three_nats_netns_test.sh PATH_TO_PEERMQ   needs root; 77 (skip) without, except CI=true
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/overlay_netns_common.sh"

scenario() {
  ov_topology "" "" || ov_die "the topology builds"
  pmq_add_nat_site c 203.0.113.3 10.0.3.0/24 symmetric || ov_die "the symmetric site builds"
  ov_relay
  ov_broker a "$OV_RELAY_SPEC"
  ov_consumer a "$OV_RELAY_SPEC" consumer-a -command=num_users
  ov_consumer c "$OV_RELAY_SPEC" consumer-c -command=num_users
  lib_ok "relay, broker and consumer-a (site a), consumer-c (site c) are up"

  lib_check "consumer-a's path to the broker (behind the same NAT) becomes direct" \
    lib_wait_line consumer-a err "path: $OV_BROKER_ADDR: .* -> direct " 15
  ov_spawn b producer producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" \
    -command=num_users -count=400 -inflight=4 -delay=20 -payload=three-nats -quiet -timeout=80
  lib_check "the producer's path to the broker (cone to cone) becomes direct" \
    lib_wait_line producer err "path: $OV_BROKER_ADDR: .* -> direct 203\.0\.113\.1:" 20
  lib_check "consumer-c tried punching and stayed relayed" \
    lib_wait_line consumer-c err 'punch_failed, still relayed' 20
  lib_check "the producer gets all 400 answers" \
    lib_wait_line producer out '^answers: 400/400$' 80
  local a c
  a=$(ov_count "$(lib_log consumer-a out)" 'command=num_users: three-nats$')
  c=$(ov_count "$(lib_log consumer-c out)" 'command=num_users: three-nats$')
  lib_ok "consumer-a answered $a, consumer-c answered $c"
  lib_check "both consumers took a share of the messages" test "$a" -gt 0 -a "$c" -gt 0
  lib_check "the messages were answered once each" test $((a + c)) -ge 400
  lib_check "consumer-a's direct path never fell back to the relay" \
    test "$(ov_count "$(lib_log consumer-a err)" '\(direct_lost\)')" -eq 0
  lib_check "consumer-c's path to the broker never became direct" \
    test "$(ov_count "$(lib_log consumer-c err)" '-> direct')" -eq 0

  # ping names the endpoint the path sends to: the broker's public mapping when direct,
  # the relay when relayed (never a private or loopback address it does not use).
  ov_run b ping-b 30 ping "$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=5 -interval=300
  cat "$(lib_log ping-b out)"
  lib_check "ping from site b ends direct, to the broker's public endpoint" \
    grep -qE '^pings: 5 sent, [1-5] received, path=direct endpoint=203\.0\.113\.1:' \
    "$(lib_log ping-b out)"
  ov_run c ping-c 30 ping "$OV_BROKER_ADDR" -relay="$OV_RELAY_SPEC" -count=3 -interval=300
  cat "$(lib_log ping-c out)"
  lib_check "ping from the symmetric site is relayed, and names the relay" \
    grep -qE '^pings: 3 sent, [1-3] received, path=relayed endpoint=203\.0\.113\.10:7070$' \
    "$(lib_log ping-c out)"
  lib_check "every role printed its address first" \
    bash -c 'for f in "$@"; do head -n1 "$f" | grep -q "^address: " || exit 1; done' _ \
    "$(lib_log broker out)" "$(lib_log consumer-a out)" "$(lib_log producer out)" \
    "$(lib_log ping-b out)"
}

ov_main "$@"
