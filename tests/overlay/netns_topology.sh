# shellcheck shell=bash
# netns_topology.sh — builds NAT topologies in network namespaces for the overlay tests.
# Source it, call pmq_init, then add hosts and sites; everything goes away on exit. It
# sources scripts/lib.sh, which starts, stops and cleans up after processes.
#
# Contract:
# - Needs root, iproute2, iptables and (for captures) tcpdump. Only the namespaces made
#   here are ever addressed; none of them has a route out, so no packet leaves them.
# - Every namespace is named <prefix><NAME> with prefix pmq<pid>- (the pid of the shell
#   that called pmq_init), so parallel runs never collide and leftovers of a dead run are
#   recognisable (pmq_cleanup_stale). Veths and bridges are created directly inside our
#   namespaces (never in the root namespace), so deleting a namespace deletes them.
# - pmq_init registers pmq_cleanup with lib.sh's exit (lib_on_exit): on any exit, after
#   lib.sh has stopped every process it started, the namespaces go (with whatever still
#   runs in them) and PMQ_TMP too. lib_start writes its logs into PMQ_TMP (LIB_LOGS).
# - Functions return non-zero with a message on stderr; they work with or without set -e.
#   Every wait is bounded in count and in time.
#
# Topology:
#   public         namespace holding bridge br0 (PMQ_PUBLIC_SUBNET, TEST-NET-3)
#   NAME           pmq_add_public_host NAME IP: eth0 on br0
#   NAME-nat       pmq_add_nat_site NAME PUBLIC_IP LAN_SUBNET [symmetric]: router, pub0 on
#                  br0, lan0 = LAN .1; MASQUERADE (--random-fully if symmetric), FORWARD
#                  from outside only ESTABLISHED,RELATED, INPUT from outside drops NEW
#   NAME           the site's host, eth0 = LAN .2, default route via the router
#
# API (NAME is always the short name; pmq_ns NAME prints the real namespace):
#   pmq_init | pmq_cleanup | pmq_cleanup_stale
#   pmq_add_public_host NAME IP          pmq_add_nat_site NAME PUB_IP LAN_SUBNET [symmetric]
#   pmq_ns NAME | pmq_ip NAME            pmq_exec NAME CMD...
#   pmq_spawn NAME CMD... (sets PMQ_LAST_PID) | pmq_kill PID
#   pmq_set_loss SITE P (P=0 removes)    pmq_wait_udp_port NAME PORT [S]
#   pmq_requirements (prints what is missing: root, ip netns, a tool; 1 then)
#   pmq_capture_start FILE [FILTER...] | pmq_capture_stop FILE | pmq_capture_contains FILE PAT
#     (PAT "hex:0a1b..." or raw bytes)
#   PMQ_TMP: this run's scratch directory (a place for captures), removed on cleanup;
#     with PMQ_KEEP=DIR in the environment it is copied into DIR first (logs to read later).
# A leftover is "dead" when no process has the pid in its prefix; a reused pid delays its
# removal until that process ends.

# shellcheck source=../../scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"

PMQ_PUBLIC_SUBNET=${PMQ_PUBLIC_SUBNET:-203.0.113.0/24}
PMQ_PREFIX=""            # pmq<pid>- once pmq_init ran
PMQ_TMP=""               # scratch directory of this run
PMQ_LAST_PID=""          # pid of the last pmq_spawn
PMQ_PORTS=0              # bridge ports made so far (their names are p1, p2, ...)
PMQ_CLEANED=0
PMQ_OWNER=""             # pid of the shell that ran pmq_init (its namespaces' prefix)
declare -gA PMQ_IP=()        # NAME -> its address (host: LAN or public; router: public)
declare -gA PMQ_CAPTURES=()  # capture file -> tcpdump pid

_pmq_err() { echo "netns_topology: $*" >&2; }

# Runs a command; on failure says which one, so a broken step names itself.
_pmq() {
  "$@" && return 0
  local rc=$?
  _pmq_err "failed ($rc): $*"
  return "$rc"
}

_pmq_ip_to_int() {
  local IFS=. a b c d
  read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

_pmq_int_to_ip() {
  local n=$1
  echo "$(((n >> 24) & 255)).$(((n >> 16) & 255)).$(((n >> 8) & 255)).$((n & 255))"
}

_pmq_valid_name() {
  [[ $1 =~ ^[A-Za-z0-9_]{1,32}$ && $1 != public ]] && return 0
  _pmq_err "bad name '$1' (letters, digits, _; not 'public')"
  return 1
}

pmq_ns() { echo "${PMQ_PREFIX}$1"; }

pmq_ip() {
  [ -n "${PMQ_IP[$1]:-}" ] || { _pmq_err "no address for '$1'"; return 1; }
  echo "${PMQ_IP[$1]}"
}

pmq_exec() {
  local name=$1; shift
  ip netns exec "${PMQ_PREFIX}${name}" "$@"
}

_pmq_udp_bound() { [ -n "$(pmq_exec "$1" ss -Hlun "sport = :$2" 2>/dev/null)" ]; }

pmq_wait_udp_port() { lib_wait_until "${3:-5}" _pmq_udp_bound "$1" "$2"; }

# Root, ip netns that works, and the tools the tests use; else says what is missing.
pmq_requirements() {
  local tool
  [ "$(id -u)" -eq 0 ] || { echo "needs root"; return 1; }
  ip netns list >/dev/null 2>&1 || { echo "ip netns is unavailable"; return 1; }
  { ip netns add "pmq$$-probe" && ip netns del "pmq$$-probe"; } 2>/dev/null ||
    { echo "ip netns add does not work here"; return 1; }
  for tool in iptables tcpdump python3 ss timeout; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (run scripts/setup.sh)"; return 1; }
  done
}

# A new namespace with lo up and IPv6 off (no DAD or router solicitations on the wire).
_pmq_add_ns() {
  local ns=${PMQ_PREFIX}$1
  _pmq ip netns add "$ns" || return 1
  _pmq ip -n "$ns" link set lo up || return 1
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
}

# A veth from namespace NAME (interface IF) to a new port of the public bridge.
_pmq_attach_public() {
  local name=$1 ifname=$2 port
  PMQ_PORTS=$((PMQ_PORTS + 1))
  port=p${PMQ_PORTS}
  _pmq ip link add "$ifname" netns "${PMQ_PREFIX}${name}" type veth \
    peer name "$port" netns "${PMQ_PREFIX}public" || return 1
  _pmq ip -n "${PMQ_PREFIX}public" link set "$port" master br0 up || return 1
  _pmq ip -n "${PMQ_PREFIX}${name}" link set "$ifname" up
}

_pmq_public_len() { echo "${PMQ_PUBLIC_SUBNET#*/}"; }

_pmq_add_public_segment() {
  local ns=${PMQ_PREFIX}public
  _pmq_add_ns public || return 1
  _pmq ip -n "$ns" link add br0 type bridge || return 1
  _pmq ip -n "$ns" link set br0 up || return 1
  # Pure layer 2: bridged frames must not meet this namespace's netfilter.
  ip netns exec "$ns" sysctl -qw net.bridge.bridge-nf-call-iptables=0 >/dev/null 2>&1 || true
}

pmq_add_public_host() {
  local name=$1 addr=$2
  _pmq_valid_name "$name" || return 1
  _pmq_add_ns "$name" || return 1
  _pmq_attach_public "$name" eth0 || return 1
  _pmq ip -n "${PMQ_PREFIX}${name}" addr add "$addr/$(_pmq_public_len)" dev eth0 || return 1
  PMQ_IP[$name]=$addr
}

# Home-router rules: outbound is masqueraded; from outside only replies get in.
_pmq_router_rules() {
  local name=$1 symmetric=$2 random=()
  [ "$symmetric" = symmetric ] && random=(--random-fully)
  pmq_exec "$name" sysctl -qw net.ipv4.ip_forward=1 >/dev/null || return 1
  _pmq pmq_exec "$name" iptables -t nat -A POSTROUTING -o pub0 -j MASQUERADE "${random[@]}" || return 1
  _pmq pmq_exec "$name" iptables -P FORWARD DROP || return 1
  _pmq pmq_exec "$name" iptables -A FORWARD -i lan0 -o pub0 -j ACCEPT || return 1
  _pmq pmq_exec "$name" iptables -A FORWARD -i pub0 -m conntrack \
    --ctstate ESTABLISHED,RELATED -j ACCEPT || return 1
  _pmq pmq_exec "$name" iptables -A INPUT -i pub0 -m conntrack \
    --ctstate ESTABLISHED,RELATED -j ACCEPT || return 1
  _pmq pmq_exec "$name" iptables -A INPUT -i pub0 -j DROP
}

pmq_add_nat_site() {
  local name=$1 public_ip=$2 subnet=$3 symmetric=${4:-} base len router host
  _pmq_valid_name "$name" || return 1
  case $symmetric in ""|symmetric) ;; *) _pmq_err "4th argument is 'symmetric' or nothing"; return 1 ;; esac
  base=${subnet%/*} len=${subnet#*/}
  [[ $base =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ && $len =~ ^[0-9]+$ && $len -le 30 ]] ||
    { _pmq_err "bad LAN subnet '$subnet'"; return 1; }
  router=$(_pmq_int_to_ip $(($(_pmq_ip_to_int "$base") + 1)))
  host=$(_pmq_int_to_ip $(($(_pmq_ip_to_int "$base") + 2)))

  _pmq_add_ns "$name-nat" || return 1
  _pmq_add_ns "$name" || return 1
  _pmq_attach_public "$name-nat" pub0 || return 1
  _pmq ip -n "${PMQ_PREFIX}$name-nat" addr add "$public_ip/$(_pmq_public_len)" dev pub0 || return 1
  _pmq ip link add lan0 netns "${PMQ_PREFIX}$name-nat" type veth \
    peer name eth0 netns "${PMQ_PREFIX}$name" || return 1
  _pmq ip -n "${PMQ_PREFIX}$name-nat" addr add "$router/$len" dev lan0 || return 1
  _pmq ip -n "${PMQ_PREFIX}$name-nat" link set lan0 up || return 1
  _pmq ip -n "${PMQ_PREFIX}$name" addr add "$host/$len" dev eth0 || return 1
  _pmq ip -n "${PMQ_PREFIX}$name" link set eth0 up || return 1
  _pmq ip -n "${PMQ_PREFIX}$name" route add default via "$router" || return 1
  _pmq_router_rules "$name-nat" "$symmetric" || return 1
  PMQ_IP[$name-nat]=$public_ip
  PMQ_IP[$name]=$host
}

# pmq_set_loss SITE P: drop each forwarded packet (both directions) with probability P
# in SITE's router; P=0 removes the rule. A second call replaces the first.
pmq_set_loss() {
  local site=$1 p=$2 rule
  [[ $p =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || { _pmq_err "bad probability '$p'"; return 1; }
  while read -r rule; do
    [ -n "$rule" ] || continue
    # shellcheck disable=SC2086 # the rule is iptables -S output: plain words
    _pmq pmq_exec "$site-nat" iptables -D ${rule#-A } || return 1
  done < <(pmq_exec "$site-nat" iptables -S FORWARD | grep -- '--comment pmq-loss')
  [[ $p =~ ^0(\.0*)?$ ]] && return 0
  _pmq pmq_exec "$site-nat" iptables -I FORWARD -m comment --comment pmq-loss \
    -m statistic --mode random --probability "$p" -j DROP
}

# pmq_spawn NAME CMD...: runs CMD in NAME in the background, in its own process group
# (lib_spawn); the pid goes to PMQ_LAST_PID and it is stopped on exit. Redirect its output
# yourself.
pmq_spawn() {
  local name=$1; shift
  lib_spawn ip netns exec "${PMQ_PREFIX}${name}" "$@"
  PMQ_LAST_PID=$LIB_PID
}

# Ends a process group: TERM, up to 2 s, then KILL (lib_stop).
pmq_kill() { lib_stop "$1" || true; }

_pmq_ns_empty() { [ -z "$(ip netns pids "$1" 2>/dev/null)" ]; }

# Kills every process inside namespace NS (all of them are ours), bounded.
_pmq_kill_ns_pids() {
  local ns=$1 pids sig
  for sig in TERM TERM KILL; do
    pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -"$sig" $pids 2>/dev/null || true
    lib_wait_until 1 _pmq_ns_empty "$ns" && return 0
  done
}

_pmq_remove_ns() {
  _pmq_kill_ns_pids "$1"
  ip netns del "$1" 2>/dev/null || true
}

_pmq_our_namespaces() {
  local prefix=$1
  ip netns list 2>/dev/null | awk -v p="$prefix" 'index($1, p) == 1 {print $1}' 
}

# Removes everything this run made. Idempotent; runs at exit (lib_on_exit).
pmq_cleanup() {
  [ -n "$PMQ_PREFIX" ] || return 0
  [ "$PMQ_CLEANED" = 1 ] && return 0
  PMQ_CLEANED=1
  local ns
  for ns in $(_pmq_our_namespaces "$PMQ_PREFIX"); do _pmq_remove_ns "$ns"; done
  if [ -n "$PMQ_TMP" ]; then
    [ -n "${PMQ_KEEP:-}" ] && mkdir -p "$PMQ_KEEP" && cp -r -- "$PMQ_TMP" "$PMQ_KEEP/"
    rm -rf -- "$PMQ_TMP"
  fi
  return 0
}

# Removes namespaces and scratch dirs of runs whose shell (pid in the prefix) is gone.
pmq_cleanup_stale() {
  local ns pid dir
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pmq[0-9]+-' || true); do
    pid=${ns#pmq}; pid=${pid%%-*}
    if [ "$pid" != "${PMQ_OWNER:-}" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "netns_topology: removing leftover namespace $ns" >&2
      _pmq_remove_ns "$ns"
    fi
  done
  for dir in "${TMPDIR:-/tmp}"/pmq[0-9]*-netns.*; do
    [ -d "$dir" ] || continue
    pid=${dir##*/pmq}; pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null || rm -rf -- "$dir"
  done
}

pmq_init() {
  [ -n "$PMQ_PREFIX" ] && return 0
  [ "$(id -u)" -eq 0 ] || { _pmq_err "needs root"; return 1; }
  ip netns list >/dev/null 2>&1 || { _pmq_err "ip netns is unavailable"; return 1; }
  command -v iptables >/dev/null || { _pmq_err "iptables is missing (scripts/setup.sh)"; return 1; }
  PMQ_OWNER=$BASHPID
  PMQ_PREFIX="pmq${PMQ_OWNER}-"
  lib_on_exit pmq_cleanup
  pmq_cleanup_stale
  # Our pid is ours now: namespaces under our prefix are from a dead run with that pid.
  local ns
  for ns in $(_pmq_our_namespaces "$PMQ_PREFIX"); do _pmq_remove_ns "$ns"; done
  PMQ_TMP=$(mktemp -d "${TMPDIR:-/tmp}/${PMQ_PREFIX}netns.XXXXXX") || return 1
  LIB_LOGS=$PMQ_TMP
  _pmq_add_public_segment
}

# pmq_capture_start FILE [FILTER...]: tcpdump on the public bridge (promiscuous, so it
# sees frames forwarded between ports too) into FILE; returns once it is listening.
pmq_capture_start() {
  local file=$1; shift
  command -v tcpdump >/dev/null || { _pmq_err "tcpdump is missing (scripts/setup.sh)"; return 1; }
  local log=$PMQ_TMP/capture.$RANDOM.log
  pmq_spawn public tcpdump -i br0 -n -U --immediate-mode -s 0 -Z root -w "$file" "$@" \
    >"$log" 2>&1 </dev/null
  PMQ_CAPTURES[$file]=$PMQ_LAST_PID
  lib_wait_until 5 grep -q 'listening on' "$log" && return 0
  _pmq_err "tcpdump did not start:"; cat "$log" >&2
  return 1
}

pmq_capture_stop() {
  local file=$1 pid=${PMQ_CAPTURES[$1]:-}
  [ -n "$pid" ] || { _pmq_err "no capture into $file"; return 1; }
  lib_stop "$pid" 2 INT || true   # INT lets tcpdump flush and close the file
  unset "PMQ_CAPTURES[$file]"
}

# pmq_capture_contains FILE PATTERN: PATTERN is "hex:..." or a raw byte string.
pmq_capture_contains() {
  python3 - "$1" "$2" <<'EOF'
import sys
path, pattern = sys.argv[1], sys.argv[2]
needle = bytes.fromhex(pattern[4:]) if pattern.startswith("hex:") else pattern.encode()
with open(path, "rb") as f:
    sys.exit(0 if needle and needle in f.read() else 1)
EOF
}
