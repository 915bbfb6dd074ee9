#!/usr/bin/env bash
# Self-test of netns_topology.sh: NAT, filtering, mapping behaviour, loss, capture and
# cleanup (normal exit, failure, Ctrl-C, leftovers of dead runs). Needs root; exits 77
# (skip) without it or without `ip netns`, except under CI=true where that is a failure.
# Every wait is bounded; the whole test takes under 15 s (the budget is 60 s).
#
#   netns_topology_selftest.sh            the whole test
#   ... --checks|--failing|--interrupted STATE_DIR   one child run (used by the whole test)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check DESCRIPTION CMD...
  local what=$1; shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

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
  pmq_wait_udp_port "$name" "$port" 5 || { fail "receiver in $name on $port did not bind"; return 1; }
}

# Waits (bounded by the receiver's own timeout) for a spawned receiver to finish.
udp_wait() { wait "$1" 2>/dev/null || true; }

capture_lacks() { ! pmq_capture_contains "$@"; }

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
  build_topology || { fail "topology builds"; return; }
  ok "topology builds (public bridge, relay, witness, cone site a, symmetric site b)"
  echo "$PMQ_PREFIX" >"$dir/prefix"
  check "lo is up in every namespace" lo_up_everywhere
  check "the veths and the bridge live in our namespaces" \
    test "$(pmq_exec public ip -o link show type veth | wc -l)" -eq 4 -a \
    "$(pmq_exec public ip -o link show type bridge | wc -l)" -eq 1

  pmq_spawn a sleep 300 </dev/null
  echo "$PMQ_LAST_PID" >"$dir/spawned"

  # NAT: host a reaches the relay, which sees the router's public address, and the
  # relay's reply comes back through the mapping.
  marker="pmq-marker-$RANDOM$RANDOM"
  pmq_capture_start "$dir/public.pcap" udp || fail "capture starts"
  udp_listen relay 4000 "$dir/relay" 1 10 10 echo || return
  n=$PMQ_LAST_PID
  reply=$(udp_send a 40000 1 "$marker-" 5 "$(pmq_ip relay):4000")
  check "host a gets the relay's reply through its NAT ($reply)" \
    test "$(awk '{print $3}' <<<"$reply")" = "echo:$marker-0"
  udp_wait "$n"
  read -r ip port _ <"$dir/relay" || true
  echo "relay saw the datagram from $ip:$port"
  check "the relay sees the router's public ip, not 10.0.1.2" test "${ip:-}" = "$(pmq_ip a-nat)"

  pmq_capture_stop "$dir/public.pcap"
  check "the capture holds the marker (raw)" pmq_capture_contains "$dir/public.pcap" "$marker"
  check "the capture holds the marker (hex)" pmq_capture_contains "$dir/public.pcap" \
    "hex:$(printf %s "$marker" | od -An -tx1 | tr -d ' \n')"
  check "the capture lacks bytes never sent" \
    capture_lacks "$dir/public.pcap" "pmq-never-sent-$RANDOM"
  check "the LAN address 10.0.1.2 never appears on the public segment" \
    capture_lacks "$dir/public.pcap" hex:0a000102

  # Filtering, both in one 2 s window: unsolicited datagrams to the router's public ip
  # stop at its INPUT; a neighbour on the public segment that routes the LAN via the
  # router is stopped by its FORWARD policy.
  local unsolicited forwarded
  udp_listen a 5000 "$dir/unsolicited" 1 2 2 || return
  unsolicited=$PMQ_LAST_PID
  udp_listen a 5001 "$dir/forwarded" 1 2 2 || return
  forwarded=$PMQ_LAST_PID
  pmq_exec relay ip route add 10.0.1.0/24 via "$(pmq_ip a-nat)"
  udp_send relay 5000 3 "unsolicited-" 0 "$(pmq_ip a-nat):5000"
  udp_send relay 5001 3 "forwarded-" 0 "$(pmq_ip a):5001"
  udp_wait "$unsolicited"; udp_wait "$forwarded"
  pmq_exec relay ip route del 10.0.1.0/24
  check "an unsolicited datagram from the relay does not reach host a" \
    test "$(lines "$dir/unsolicited")" -eq 0
  n=$(pmq_exec a-nat iptables -L INPUT -v -x -n | awk '$3 == "DROP" {print $1}')
  check "the router dropped them on INPUT (counter $n >= 3)" test "${n:-0}" -ge 3
  check "a datagram routed to host a's LAN address from outside does not reach it" \
    test "$(lines "$dir/forwarded")" -eq 0
  n=$(pmq_exec a-nat iptables -L FORWARD -v -x -n | awk 'NR == 1 {print $5}')
  check "the router dropped them by its FORWARD policy (counter $n >= 3)" test "${n:-0}" -ge 3

  # Mapping: a cone NAT keeps one public port per socket; a symmetric one does not.
  mapped_ports a 4001 "$dir"
  echo "site a (cone): source port 41000 maps to $map_relay towards the relay, $map_witness towards the witness"
  check "cone NAT maps one socket to the same port for two destinations" \
    test -n "$map_relay" -a "$map_relay" = "$map_witness"
  mapped_ports b 4002 "$dir"
  echo "site b (symmetric, --random-fully): source port 41000 maps to $map_relay towards the relay, $map_witness towards the witness"
  check "symmetric NAT maps one socket to different ports for two destinations" \
    test -n "$map_relay" -a -n "$map_witness" -a "$map_relay" != "$map_witness"

  # Loss: about half of 200 datagrams get through at P=0.5 (mean 100, sd 7.1).
  pmq_set_loss a 0.5 && pmq_set_loss a 0.5
  check "setting loss twice leaves one rule" \
    test "$(pmq_exec a-nat iptables -S FORWARD | grep -c pmq-loss)" -eq 1
  udp_listen relay 4003 "$dir/loss" 200 10 1 || return
  n=$PMQ_LAST_PID
  udp_send a 40002 200 "loss-" 0 "$(pmq_ip relay):4003"
  udp_wait "$n"
  n=$(lines "$dir/loss")
  echo "loss 0.5: $n of 200 datagrams arrived"
  check "loss 0.5 lets roughly half of 200 through (60..140)" test "$n" -ge 60 -a "$n" -le 140
  pmq_set_loss a 0
  check "loss 0 removes the rule" test "$(pmq_exec a-nat iptables -S FORWARD | grep -c pmq-loss)" -eq 0
  udp_listen relay 4004 "$dir/noloss" 50 10 1.5 || return
  n=$PMQ_LAST_PID
  udp_send a 40003 50 "noloss-" 0 "$(pmq_ip relay):4004"
  udp_wait "$n"
  check "without loss all 50 datagrams arrive" test "$(lines "$dir/noloss")" -eq 50
}

child() {
  local mode=$1 dir=$2
  # shellcheck source=netns_topology.sh
  source "$here/netns_topology.sh"
  case $mode in
    --checks)
      run_checks "$dir"
      echo "$passed $failed" >"$dir/counts"
      [ "$failed" -eq 0 ] ;;
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
      sleep 30 & wait $!   # the trap runs as soon as the signal comes
      echo "not interrupted" ;;
  esac
}

# ---------------------------------------------------------------- the whole test

skip_or_fail() {
  if [ "${CI:-}" = true ]; then echo "FAIL: $1 (CI=true: this test may not skip)"; exit 1; fi
  echo "SKIP: $1"; exit 77
}

root_links() { ip -o link show | awk -F': ' '{print $2}' | sort; }

# No namespace with the child's prefix, its spawned process gone, root links unchanged.
no_leftovers() {
  local what=$1 dir=$2 prefix pid
  prefix=$(cat "$dir/prefix" 2>/dev/null) || { fail "$what: the child recorded no prefix"; return; }
  check "$what: no namespace ${prefix}* is left" \
    test -z "$(ip netns list | awk -v p="$prefix" 'index($1, p) == 1')"
  pid=$(cat "$dir/spawned" 2>/dev/null)
  check "$what: the spawned process ${pid:-?} is gone" \
    test -n "$pid" -a ! -e "/proc/${pid:-0}"
  check "$what: the root namespace's links are unchanged" test "$(root_links)" = "$links_before"
}

stale_cleanup() {
  local dead ns
  dead=$(($(cat /proc/sys/kernel/pid_max) + $$))   # above pid_max: never a live pid
  ns="pmq$dead-stale"
  ip netns add "$ns" && ip -n "$ns" link add x0 type veth peer name x1 &&
    ip -n "$ns" link add brx type bridge || { fail "a fake leftover namespace is made"; return; }
  ip netns exec "$ns" sleep 300 </dev/null >/dev/null 2>&1 &
  local sleeper=$!
  ( source "$here/netns_topology.sh"; pmq_cleanup_stale )
  wait "$sleeper" 2>/dev/null
  check "pmq_cleanup_stale removes a dead run's namespace ($ns)" \
    test -z "$(ip netns list | awk -v n="$ns" '$1 == n')"
  check "pmq_cleanup_stale kills the process left in it" test ! -e "/proc/$sleeper"
}

main() {
  local start=$SECONDS dir rc pid i
  [ "$(id -u)" -eq 0 ] || skip_or_fail "needs root"
  ip netns list >/dev/null 2>&1 || skip_or_fail "ip netns is unavailable"
  ip netns add "pmq$$-probe" 2>/dev/null && ip netns del "pmq$$-probe" ||
    skip_or_fail "ip netns add does not work here"
  for tool in iptables tcpdump python3 ss timeout setsid; do
    command -v "$tool" >/dev/null || skip_or_fail "$tool is missing (run scripts/setup.sh)"
  done

  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  links_before=$(root_links)
  echo "before: $(ip netns list | wc -l) namespaces, $(wc -l <<<"$links_before") root links"

  dir=$tmp/checks; mkdir "$dir"
  timeout --foreground 45 bash "$0" --checks "$dir"
  rc=$?
  read -r i pid <"$dir/counts" 2>/dev/null || { i=0 pid=1; }
  passed=$((passed + i)) failed=$((failed + pid))
  [ "$rc" -eq 0 ] || [ "$pid" -gt 0 ] || fail "the checks run exited $rc"
  no_leftovers "after the checks" "$dir"

  dir=$tmp/failing; mkdir "$dir"
  timeout --foreground 30 bash "$0" --failing "$dir" >"$dir/out" 2>&1
  rc=$?
  check "a failing run exits 1 (got $rc)" test "$rc" -eq 1
  no_leftovers "after a failing run" "$dir"

  dir=$tmp/interrupted; mkdir "$dir"
  set -m   # own process group: the child does not inherit an ignored SIGINT
  bash "$0" --interrupted "$dir" >"$dir/out" 2>&1 &
  pid=$!
  set +m
  if pmq_wait_ready "$dir/ready"; then
    kill -INT -- "-$pid"   # the whole group, as a terminal's Ctrl-C does
  else
    fail "the interrupted run got ready"; kill -KILL "$pid"
  fi
  wait "$pid"
  rc=$?
  check "Ctrl-C ends a run with 130 (got $rc)" test "$rc" -eq 130
  no_leftovers "after Ctrl-C" "$dir"

  stale_cleanup

  echo "after: $(ip netns list | wc -l) namespaces, $(root_links | wc -l) root links"
  echo "took $((SECONDS - start)) s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# Bounded wait for a file: 30 s, in 0.05 s steps.
pmq_wait_ready() {
  local i
  for ((i = 0; i < 600; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done
  return 1
}

case ${1:-} in
  --checks|--failing|--interrupted) child "$1" "$2" ;;
  "") main ;;
  *) echo "usage: $0 [--checks|--failing|--interrupted STATE_DIR]" >&2; exit 2 ;;
esac
