# shellcheck shell=bash
# overlay_netns_common.sh — what the overlay's namespace tests (*_netns_test.sh) share:
# the standard topology and peermq processes placed in it. Checks and their counts
# (lib_check, lib_ok, lib_fail), processes and waits for their lines (lib_wait_line
# LABEL out|err PATTERN SECONDS) come from scripts/lib.sh, which netns_topology.sh sources.
#
# A test script sources this, defines scenario() and calls ov_main "$@":
#   ov_main BINARY           skips (77) without root or tools (pmq_requirements), but
#                            fails under CI=true (lib_skip_or_fail);
#                            runs `BINARY_SCRIPT --run BINARY` under a time limit
#                            (OV_BUDGET seconds, default 120), then checks no namespace
#                            of the run is left
#   --run BINARY             (internal) builds the topology and calls scenario
# Every wait is bounded; the namespaces, processes and files go away on any exit
# (netns_topology.sh's traps), and on failure the last lines of every log are printed.
#
# Topology (ov_topology KIND_A KIND_B, KIND "" for a cone NAT or "symmetric"):
#   relay   203.0.113.10 on the public segment; `peermq relay` listens on :7070
#   a       behind its home router a-nat (public 203.0.113.1, LAN 10.0.1.0/24)
#   b       behind its home router b-nat (public 203.0.113.2, LAN 10.0.2.0/24)
# Each peermq process gets its own PEERMQ_RUNTIME_DIR, so no two find each other through
# the local directory: they meet through the relay or not at all.

ov_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=netns_topology.sh
source "$ov_here/netns_topology.sh"

OV_BIN=""
OV_RELAY_PORT=7070
OV_RELAY_ADDR=""      # the relay's address, once ov_relay ran
OV_RELAY_SPEC=""      # ADDR@IP:PORT
OV_RELAY_PLAIN=""     # IP:PORT (its key is learned on first contact)
OV_RELAY_PID=""

# Ends the scenario at once (lib.sh's exit cleans up).
ov_die() {
  lib_fail "$*"
  ov_dump_logs
  lib_summary
  exit 1
}

ov_dump_logs() {
  local f
  [ -n "$PMQ_TMP" ] || return 0
  for f in "$PMQ_TMP"/*.out "$PMQ_TMP"/*.err; do
    [ -s "$f" ] || continue
    echo "--- ${f##*/} (last 25 lines)"
    tail -n 25 "$f"
  done
}

ov_topology() {
  pmq_init || return 1
  pmq_add_public_host relay 203.0.113.10 || return 1
  pmq_add_nat_site a 203.0.113.1 10.0.1.0/24 $1 || return 1
  pmq_add_nat_site b 203.0.113.2 10.0.2.0/24 $2 || return 1
}

# ov_spawn NS LABEL ARGS...: `peermq ARGS...` in namespace NS, in the background, with
# its own runtime directory (lib_start: output in lib_log LABEL out|err, pid in
# LIB_PID_OF[LABEL]).
ov_spawn() {
  local ns=$1 label=$2; shift 2
  mkdir -p "$PMQ_TMP/rt-$label"
  lib_start "$label" ip netns exec "$(pmq_ns "$ns")" \
    env PEERMQ_RUNTIME_DIR="$PMQ_TMP/rt-$label" PEERMQ_LOG=info "$OV_BIN" "$@"
}

# ov_run NS LABEL SECONDS ARGS...: `peermq ARGS...` in the foreground, at most SECONDS;
# returns its exit code; output in lib_log LABEL out|err.
ov_run() {
  local ns=$1 label=$2 seconds=$3; shift 3
  mkdir -p "$PMQ_TMP/rt-$label"
  timeout --kill-after=2 "$seconds" ip netns exec "$(pmq_ns "$ns")" env \
    PEERMQ_RUNTIME_DIR="$PMQ_TMP/rt-$label" PEERMQ_LOG=info "$OV_BIN" "$@" \
    >"$(lib_log "$label" out)" 2>"$(lib_log "$label" err)" </dev/null
}

ov_count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }  # ov_count FILE PATTERN

# Starts the relay (key kept in PMQ_TMP, so a restart keeps its address).
ov_relay() {
  ov_spawn relay relay relay -listen="203.0.113.10:$OV_RELAY_PORT" -key="$PMQ_TMP/relay.key"
  OV_RELAY_PID=$LIB_PID
  lib_wait_line relay out '^address: ' 5 || ov_die "the relay prints its address"
  OV_RELAY_ADDR=${LIB_LINE#address: }
  OV_RELAY_SPEC="$OV_RELAY_ADDR@203.0.113.10:$OV_RELAY_PORT"
  OV_RELAY_PLAIN="203.0.113.10:$OV_RELAY_PORT"
  pmq_wait_udp_port relay "$OV_RELAY_PORT" 5 || ov_die "the relay listens on :$OV_RELAY_PORT"
}

# ov_broker SITE RELAY [ARGS...]: a broker in SITE using RELAY; sets OV_BROKER_ADDR.
ov_broker() {
  local site=$1 relay=$2
  shift 2
  ov_spawn "$site" broker broker -data="$PMQ_TMP/broker-data" -listen=0.0.0.0:4000 -relay="$relay" "$@"
  lib_wait_line broker out '^address: ' 5 || ov_die "the broker prints its address"
  OV_BROKER_ADDR=${LIB_LINE#address: }
  lib_wait_line broker err 'registered with relay' 10 ||
    ov_die "the broker registers with the relay"
}

# ov_consumer SITE RELAY LABEL [ARGS...]: a consumer of the broker; waits until it is
# connected.
ov_consumer() {
  local site=$1 relay=$2 label=$3
  shift 3
  ov_spawn "$site" "$label" consumer -broker="$OV_BROKER_ADDR" -relay="$relay" "$@"
  lib_wait_line "$label" err 'connected to broker' 20 ||
    ov_die "the consumer connects to the broker"
}

# The 32-byte public key inside an address, as hex.
ov_key_hex() {
  python3 -c 'import base64,sys; print(base64.b32decode(sys.argv[1].upper())[:32].hex())' "$1"
}

# ov_main BINARY: the whole test (see the top of this file).
ov_main() {
  case ${1:-} in
    --run)
      OV_BIN=$2
      scenario
      [ "$LIB_FAILED" -eq 0 ] || ov_dump_logs
      lib_summary
      return ;;
    "") echo "usage: $0 PATH_TO_PEERMQ" >&2; exit 2 ;;
  esac
  local bin=$1 start=$SECONDS rc script missing
  script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
  [ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
  missing=$(pmq_requirements) || lib_skip_or_fail "$missing"
  timeout --foreground --kill-after=5 "${OV_BUDGET:-120}" bash "$script" --run "$(realpath "$bin")"
  rc=$?
  [ "$rc" -eq 124 ] && echo "FAIL: over the ${OV_BUDGET:-120} s budget"
  echo "took $((SECONDS - start)) s"
  exit "$rc"
}
