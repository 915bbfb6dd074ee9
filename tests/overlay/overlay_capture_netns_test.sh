#!/usr/bin/env bash
# Everything on the public segment, captured while nodes behind NATs register, look each
# other up, punch, and exchange messages (first relayed, then direct): no payload, no
# node's address, no node's public key appears in it. (The relay's own key does: a node
# given only HOST:PORT asks for it in the clear.)
#
#   overlay_capture_netns_test.sh PATH_TO_PEERMQ   needs root; 77 (skip) without, except CI=true
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/overlay_netns_common.sh"

addr_of_key() { "$OV_BIN" keygen -key="$1" | sed -n 's/^address: //p'; }

scenario() {
  ov_topology "" "" || ov_die "the topology builds"
  local pcap=$PMQ_TMP/public.pcap marker="pmq-secret-payload-$RANDOM$RANDOM"
  pmq_capture_start "$pcap" udp || ov_die "the capture starts"
  ov_relay
  ov_broker a "$OV_RELAY_SPEC"
  local consumer_addr producer_addr
  consumer_addr=$(addr_of_key "$PMQ_TMP/consumer.key")
  producer_addr=$(addr_of_key "$PMQ_TMP/producer.key")
  ov_consumer b "$OV_RELAY_PLAIN" consumer -key="$PMQ_TMP/consumer.key"
  ov_run b producer 60 producer -broker="$OV_BROKER_ADDR" -relay="$OV_RELAY_PLAIN" -count=300 \
    -inflight=4 -delay=10 -payload="$marker" -quiet -key="$PMQ_TMP/producer.key" -timeout=50
  lib_check "the producer gets its 300 answers" grep -qx 'answers: 300/300' "$(lib_log producer out)"
  lib_check "the messages went relayed, then direct" \
    grep -qE "path: $OV_BROKER_ADDR: relayed via .* -> direct" "$(lib_log producer err)"
  pmq_capture_stop "$pcap"
  local packets
  packets=$(tcpdump -r "$pcap" -n 2>/dev/null | wc -l)
  echo "captured $packets packets on the public segment"
  lib_check "the capture holds the traffic (over 500 packets)" test "$packets" -gt 500
  lib_check "it holds the relay's key (asked for in the clear)" \
    pmq_capture_contains "$pcap" "hex:$(ov_key_hex "$OV_RELAY_ADDR")"
  lib_check "no payload marker" lib_not pmq_capture_contains "$pcap" "$marker"
  local name addr
  for name in broker consumer producer; do
    case $name in
      broker) addr=$OV_BROKER_ADDR ;; consumer) addr=$consumer_addr ;; producer) addr=$producer_addr ;;
    esac
    lib_check "no $name address (text)" lib_not pmq_capture_contains "$pcap" "$addr"
    lib_check "no $name public key (32 bytes)" lib_not pmq_capture_contains "$pcap" "hex:$(ov_key_hex "$addr")"
  done
  lib_check "no private LAN address (10.0.1.2, 10.0.2.2) in any payload" \
    lib_not pmq_capture_contains "$pcap" hex:0a000102
  lib_check "(nor 10.0.2.2)" lib_not pmq_capture_contains "$pcap" hex:0a000202
}

ov_main "$@"
