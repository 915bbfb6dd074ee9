#!/usr/bin/env bash
# Self-test of netns_topology.sh: NAT, filtering, mapping behaviour, loss, capture and
# cleanup (normal exit, failure, Ctrl-C, leftovers of dead runs). Needs root; exits 77
# (skip) without it or without `ip netns`, except under CI=true where that is a failure.
# Every wait is for an event (a datagram, a drop counter, a file), bounded; the whole
# test takes about 10 s (the budget is 60 s).
#
#   netns_topology_selftest.sh            the whole test
#   ... --checks|--failing|--interrupted STATE_DIR   one child run (used by the whole test)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=netns_topology.sh
source "$here/netns_topology.sh"

# recv.py PORT COUNT TOTAL_S IDLE_S [echo]: prints "ip port payload" per datagram, until
# COUNT datagrams, TOTAL_S seconds, or IDLE_S seconds after the last one.
read -r -d '' recv_py <<'EOF'
import socket, sys, time
port, count, total, idle = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
echo = len(sys.argv) > 5 and sys.argv[5] == "echo"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(("0.0.0.0", port))
deadline, last, n = time.monotonic() + total, None, 0
while n < count:
    now = time.monotonic()
    left = deadline - now if last is None else min(deadline - now, last + idle - now)
    if left <= 0:
        break
    s.settimeout(left)
    try:
        data, (ip, sport) = s.recvfrom(2048)
    except socket.timeout:
        break
    last, n = time.monotonic(), n + 1
    print(ip, sport, data.decode(errors="replace"), flush=True)
    if echo:
        s.sendto(b"echo:" + data, (ip, sport))
EOF

# send.py SRC_PORT COUNT PREFIX REPLY_WAIT_S DST... : sends PREFIX0..PREFIX<COUNT-1> to
# each ip:port from one socket; with REPLY_WAIT_S > 0 prints the first reply or exits 3.
read -r -d '' send_py <<'EOF'
import socket, sys, time
src, count, prefix, wait = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", src))
for dst in sys.argv[5:]:
    ip, port = dst.rsplit(":", 1)
    for i in range(count):
        s.sendto(f"{prefix}{i}".encode(), (ip, int(port)))
        if count > 1:
            time.sleep(0.001)
if wait > 0:
    s.settimeout(wait)
    try:
        data, (ip, sport) = s.recvfrom(2048)
    except socket.timeout:
        sys.exit(3)
    print(ip, sport, data.decode(errors="replace"))
EOF

# pmq_exec is a shell function and timeout needs a program, so this calls ip directly.
udp_send() { local name=$1; shift; timeout 15 ip netns exec "$(pmq_ns "$name")" python3 -c "$send_py" "$@"; }

# Starts a receiver in NAME on PORT writing to FILE; returns once the port is bound.
udp_listen() {
  local name=$1 port=$2 file=$3; shift 3
  pmq_spawn "$name" timeout 20 python3 -c "$recv_py" "$port" "$@" >"$file" 2>&1 </dev/null
  pmq_wait_udp_port "$name" "$port" 5 || { lib_fail "receiver in $name on $port did not bind"; return 1; }
}

# Waits (bounded by the receiver's own timeout) for a spawned receiver to finish.
udp_wait() { lib_wait "$1" 30 || true; }

# Drop counters of site a's router: INPUT's DROP rule, FORWARD's policy, the loss rule.
input_drops() { pmq_exec a-nat iptables -L INPUT -v -x -n | awk '$3 == "DROP" {print $1}'; }
forward_policy_drops() { pmq_exec a-nat iptables -L FORWARD -v -x -n | awk 'NR == 1 {print $5}'; }
loss_drops() { pmq_exec a-nat iptables -L FORWARD -v -x -n | awk '/pmq-loss/ {print $1}'; }
at_least() { local n; n=$("${@:2}"); [ "${n:-0}" -ge "$1" ]; }  # at_least N CMD...
accounted_for() { local d; d=$(loss_drops); [ $(( ${d:-0} + $(lines "$2") )) -ge "$1" ]; }  # N FILE

lines() { [ -s "$1" ] && wc -l <"$1" || echo 0; }

# ---------------------------------------------------------------- child runs

build_topology() {
  pmq_init || return 1
  pmq_add_public_host relay 203.0.113.10 || return 1
  pmq_add_public_host witness 203.0.113.20 || return 1
  pmq_add_nat_site a 203.0.113.1 10.0.1.0/24 || return 1
  pmq_add_nat_site b 203.0.113.2 10.0.2.0/24 symmetric || return 1
}

lo_up_everywhere() {
  local name
  for name in public relay witness a a-nat b b-nat; do
    pmq_exec "$name" ip -o link show lo | grep -q 'LOOPBACK,UP' || { echo "lo down in $name"; return 1; }
  done
}

# Sets map_relay and map_witness: the source port each of them sees for one socket of
# SITE's host.
mapped_ports() {
  local site=$1 port=$2 dir=$3 r w
  map_relay="" map_witness=""
  udp_listen relay "$port" "$dir/map-$site-relay" 1 5 5 || return 1; r=$PMQ_LAST_PID
  udp_listen witness "$port" "$dir/map-$site-witness" 1 5 5 || return 1; w=$PMQ_LAST_PID
  udp_send "$site" 41000 1 "map-$site-" 0 "$(pmq_ip relay):$port" "$(pmq_ip witness):$port"
  udp_wait "$r"; udp_wait "$w"
  map_relay=$(awk '{print $2}' "$dir/map-$site-relay")
  map_witness=$(awk '{print $2}' "$dir/map-$site-witness")
}

run_checks() {
  local dir=$1 marker reply ip port n
  build_topology || { lib_fail "topology builds"; return; }
  lib_ok "topology builds (public bridge, relay, witness, cone site a, symmetric site b)"
  echo "$PMQ_PREFIX" >"$dir/prefix"
  lib_check "lo is up in every namespace" lo_up_everywhere
  lib_check "the veths and the bridge live in our namespaces" \
    test "$(pmq_exec public ip -o link show type veth | wc -l)" -eq 4 -a \
    "$(pmq_exec public ip -o link show type bridge | wc -l)" -eq 1

  pmq_spawn a sleep 300 </dev/null
  echo "$PMQ_LAST_PID" >"$dir/spawned"

  # NAT: host a reaches the relay, which sees the router's public address, and the
  # relay's reply comes back through the mapping.
  marker="pmq-marker-$RANDOM$RANDOM"
  pmq_capture_start "$dir/public.pcap" udp || lib_fail "capture starts"
  udp_listen relay 4000 "$dir/relay" 1 10 10 echo || return
  n=$PMQ_LAST_PID
  reply=$(udp_send a 40000 1 "$marker-" 5 "$(pmq_ip relay):4000")
  lib_check "host a gets the relay's reply through its NAT ($reply)" \
    test "$(awk '{print $3}' <<<"$reply")" = "echo:$marker-0"
  udp_wait "$n"
  read -r ip port _ <"$dir/relay" || true
  echo "relay saw the datagram from $ip:$port"
  lib_check "the relay sees the router's public ip, not 10.0.1.2" test "${ip:-}" = "$(pmq_ip a-nat)"

  pmq_capture_stop "$dir/public.pcap"
  lib_check "the capture holds the marker (raw)" pmq_capture_contains "$dir/public.pcap" "$marker"
  lib_check "the capture holds the marker (hex)" pmq_capture_contains "$dir/public.pcap" \
    "hex:$(printf %s "$marker" | od -An -tx1 | tr -d ' \n')"
  lib_check "the capture lacks bytes never sent" \
    lib_not pmq_capture_contains "$dir/public.pcap" "pmq-never-sent-$RANDOM"
  lib_check "the LAN address 10.0.1.2 never appears on the public segment" \
    lib_not pmq_capture_contains "$dir/public.pcap" hex:0a000102

  # Filtering: unsolicited datagrams to the router's public ip stop at its INPUT; a
  # neighbour on the public segment that routes the LAN via the router is stopped by its
  # FORWARD policy. Once the router counted all 3 of each as dropped, none can arrive.
  local unsolicited forwarded
  udp_listen a 5000 "$dir/unsolicited" 1 20 20 || return
  unsolicited=$PMQ_LAST_PID
  udp_listen a 5001 "$dir/forwarded" 1 20 20 || return
  forwarded=$PMQ_LAST_PID
  pmq_exec relay ip route add 10.0.1.0/24 via "$(pmq_ip a-nat)"
  udp_send relay 5000 3 "unsolicited-" 0 "$(pmq_ip a-nat):5000"
  udp_send relay 5001 3 "forwarded-" 0 "$(pmq_ip a):5001"
  lib_check "the router dropped them on INPUT (counter >= 3)" lib_wait_until 10 at_least 3 input_drops
  lib_check "the router dropped them by its FORWARD policy (counter >= 3)" \
    lib_wait_until 10 at_least 3 forward_policy_drops
  pmq_kill "$unsolicited"; pmq_kill "$forwarded"
  pmq_exec relay ip route del 10.0.1.0/24
  lib_check "an unsolicited datagram from the relay does not reach host a" \
    test "$(lines "$dir/unsolicited")" -eq 0
  lib_check "a datagram routed to host a's LAN address from outside does not reach it" \
    test "$(lines "$dir/forwarded")" -eq 0

  # Mapping: a cone NAT keeps one public port per socket; a symmetric one does not.
  mapped_ports a 4001 "$dir"
  echo "site a (cone): source port 41000 maps to $map_relay towards the relay, $map_witness towards the witness"
  lib_check "cone NAT maps one socket to the same port for two destinations" \
    test -n "$map_relay" -a "$map_relay" = "$map_witness"
  mapped_ports b 4002 "$dir"
  echo "site b (symmetric, --random-fully): source port 41000 maps to $map_relay towards the relay, $map_witness towards the witness"
  lib_check "symmetric NAT maps one socket to different ports for two destinations" \
    test -n "$map_relay" -a -n "$map_witness" -a "$map_relay" != "$map_witness"

  # Loss: about half of 200 datagrams get through at P=0.5 (mean 100, sd 7.1).
  pmq_set_loss a 0.5 && pmq_set_loss a 0.5
  lib_check "setting loss twice leaves one rule" \
    test "$(pmq_exec a-nat iptables -S FORWARD | grep -c pmq-loss)" -eq 1
  udp_listen relay 4003 "$dir/loss" 200 20 20 || return
  local receiver=$PMQ_LAST_PID
  udp_send a 40002 200 "loss-" 0 "$(pmq_ip relay):4003"
  # Every datagram is either counted by the loss rule or arrives.
  lib_check "each of the 200 datagrams was dropped by the rule or arrived" \
    lib_wait_until 10 accounted_for 200 "$dir/loss"
  pmq_kill "$receiver"
  n=$(lines "$dir/loss")
  echo "loss 0.5: $n of 200 datagrams arrived"
  lib_check "loss 0.5 lets roughly half of 200 through (60..140)" test "$n" -ge 60 -a "$n" -le 140
  pmq_set_loss a 0
  lib_check "loss 0 removes the rule" test "$(pmq_exec a-nat iptables -S FORWARD | grep -c pmq-loss)" -eq 0
  udp_listen relay 4004 "$dir/noloss" 50 10 1.5 || return
  n=$PMQ_LAST_PID
  udp_send a 40003 50 "noloss-" 0 "$(pmq_ip relay):4004"
  udp_wait "$n"
  lib_check "without loss all 50 datagrams arrive" test "$(lines "$dir/noloss")" -eq 50
}

child() {
  local mode=$1 dir=$2
  case $mode in
    --checks)
      run_checks "$dir"
      echo "$LIB_PASSED $LIB_FAILED" >"$dir/counts"
      [ "$LIB_FAILED" -eq 0 ] ;;
    --failing)
      set -e
      build_topology
      echo "$PMQ_PREFIX" >"$dir/prefix"
      pmq_spawn a sleep 300 </dev/null
      echo "$PMQ_LAST_PID" >"$dir/spawned"
      false
      echo "not reached" ;;
    --interrupted)
      build_topology || exit 1
      echo "$PMQ_PREFIX" >"$dir/prefix"
      pmq_spawn a sleep 300 </dev/null
      echo "$PMQ_LAST_PID" >"$dir/spawned"
      touch "$dir/ready"
      lib_wait_until 30 test -e "$dir/never"   # until the signal comes
      echo "not interrupted" ;;
  esac
}

# ---------------------------------------------------------------- the whole test

root_links() { ip -o link show | awk -F': ' '{print $2}' | sort; }

# No namespace with the child's prefix, its spawned process gone, root links unchanged.
no_leftovers() {
  local what=$1 dir=$2 prefix pid
  prefix=$(cat "$dir/prefix" 2>/dev/null) || { lib_fail "$what: the child recorded no prefix"; return; }
  lib_check "$what: no namespace ${prefix}* is left" \
    test -z "$(ip netns list | awk -v p="$prefix" 'index($1, p) == 1')"
  pid=$(cat "$dir/spawned" 2>/dev/null)
  lib_check "$what: the spawned process ${pid:-?} is gone" \
    test -n "$pid" -a ! -e "/proc/${pid:-0}"
  lib_check "$what: the root namespace's links are unchanged" test "$(root_links)" = "$links_before"
}

stale_cleanup() {
  local dead ns
  dead=$(($(cat /proc/sys/kernel/pid_max) + $$))   # above pid_max: never a live pid
  ns="pmq$dead-stale"
  ip netns add "$ns" && ip -n "$ns" link add x0 type veth peer name x1 &&
    ip -n "$ns" link add brx type bridge || { lib_fail "a fake leftover namespace is made"; return; }
  ip netns exec "$ns" sleep 300 </dev/null >/dev/null 2>&1 &
  local sleeper=$!
  ( pmq_cleanup_stale )
  wait "$sleeper" 2>/dev/null
  lib_check "pmq_cleanup_stale removes a dead run's namespace ($ns)" \
    test -z "$(ip netns list | awk -v n="$ns" '$1 == n')"
  lib_check "pmq_cleanup_stale kills the process left in it" test ! -e "/proc/$sleeper"
}

main() {
  local start=$SECONDS dir rc pid i missing tmp=$LIB_TMP
  missing=$(pmq_requirements) || lib_skip_or_fail "$missing"

  links_before=$(root_links)
  echo "before: $(ip netns list | wc -l) namespaces, $(wc -l <<<"$links_before") root links"

  dir=$tmp/checks; mkdir "$dir"
  timeout --foreground 45 bash "$0" --checks "$dir"
  rc=$?
  read -r i pid <"$dir/counts" 2>/dev/null || { i=0 pid=1; }
  LIB_PASSED=$((LIB_PASSED + i)) LIB_FAILED=$((LIB_FAILED + pid))
  [ "$rc" -eq 0 ] || [ "$pid" -gt 0 ] || lib_fail "the checks run exited $rc"
  no_leftovers "after the checks" "$dir"

  dir=$tmp/failing; mkdir "$dir"
  timeout --foreground 30 bash "$0" --failing "$dir" >"$dir/out" 2>&1
  rc=$?
  lib_check "a failing run exits 1 (got $rc)" test "$rc" -eq 1
  no_leftovers "after a failing run" "$dir"

  dir=$tmp/interrupted; mkdir "$dir"
  set -m   # own process group: the child does not inherit an ignored SIGINT
  bash "$0" --interrupted "$dir" >"$dir/out" 2>&1 &
  pid=$!
  set +m
  if lib_wait_until 30 test -e "$dir/ready"; then
    kill -INT -- "-$pid"   # the whole group, as a terminal's Ctrl-C does
  else
    lib_fail "the interrupted run got ready"; kill -KILL "$pid"
  fi
  wait "$pid"
  rc=$?
  lib_check "Ctrl-C ends a run with 130 (got $rc)" test "$rc" -eq 130
  no_leftovers "after Ctrl-C" "$dir"

  stale_cleanup

  echo "after: $(ip netns list | wc -l) namespaces, $(root_links | wc -l) root links"
  echo "took $((SECONDS - start)) s"
  lib_summary
}

case ${1:-} in
  --checks|--failing|--interrupted) child "$1" "$2" ;;
  "") main ;;
  *) echo "usage: $0 [--checks|--failing|--interrupted STATE_DIR]" >&2; exit 2 ;;
esac
