#!/usr/bin/env bash
# scripts/lib.sh, as the scripts and shell tests use it: waits for printed lines (found,
# ended without it, still running at the bound), stopping processes (TERM, KILL after the
# grace, exit statuses), the cleanup on every way a script ends (its end, set -e, Ctrl-C,
# SIGTERM: every process group gone with its grandchildren, hooks run, scratch removed),
# skipping, and medians. No wait here is a fixed sleep: each waits for its event, bounded.
#
#   lib_test.sh              the whole test
#   lib_test.sh --child MODE DIR   one script run (used by the whole test)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib.sh
source "$here/../../scripts/lib.sh"

# ---------------------------------------------------------------- a child script

# Starts a process whose child (the grandchild) writes its pid; records both pids and
# LIB_TMP in DIR, signals ready, then ends as MODE says.
child() {
  local mode=$1 dir=$2
  lib_on_exit touch "$dir/hook-ran"
  lib_start family sh -c "sleep 300 & echo \$! > '$dir/grandchild'; wait"
  echo "$LIB_PID" >"$dir/child"
  echo "$LIB_TMP" >"$dir/tmp"
  lib_wait_until 10 test -s "$dir/grandchild" || exit 9
  touch "$dir/ready"
  case $mode in
    end) ;;
    errexit) set -e; false; echo "not reached" ;;
    wait) lib_wait_until 60 test -e "$dir/never" ;;  # until a signal ends the script
  esac
}

# ---------------------------------------------------------------- the checks

# Gone: no such process, or a zombie (ended; its new parent may be slow to reap it).
gone() { ! lib_running "$1"; }

# MODE SIGNAL EXPECTED_STATUS: runs a child script, ends it, checks what is left.
cleanup_case() {
  local mode=$1 sig=$2 want=$3 dir pid rc
  dir=$(mktemp -d "$LIB_TMP/case.XXXXXX")
  set -m  # the child script in a group of its own, as a terminal's foreground job
  bash "$0" --child "$mode" "$dir" >"$dir/out" 2>&1 &
  pid=$!
  set +m
  if [ "$sig" != none ]; then
    lib_wait_until 20 test -e "$dir/ready" || lib_fail "$mode: the child script got ready"
    kill -"$sig" -- "-$pid"  # the whole group, as Ctrl-C does
  fi
  wait "$pid"
  rc=$?
  local what="a script ending by ${mode/wait/$sig}"
  lib_check "$what exits $want (got $rc)" test "$rc" -eq "$want"
  lib_check "$what: its process is gone" gone "$(cat "$dir/child")"
  lib_check "$what: the grandchild is gone too" gone "$(cat "$dir/grandchild")"
  lib_check "$what: the lib_on_exit hook ran" test -e "$dir/hook-ran"
  lib_check "$what: LIB_TMP is removed" test ! -e "$(cat "$dir/tmp")"
}

wait_line_cases() {
  lib_start speaker sh -c 'echo one; echo "address: abc7"; echo "address: second"; exec sleep 300'
  lib_check "lib_wait_line finds a line" lib_wait_line speaker out '^address: '
  lib_check "... and LIB_LINE is the first that matched" test "$LIB_LINE" = "address: abc7"
  lib_stop "${LIB_PID_OF[speaker]}"

  # A bound far beyond ctest's timeout for this test: only an early return passes.
  lib_start quitter sh -c 'echo "last words" >&2; exit 3'
  lib_wait_line quitter out '^ready$' 3600 2>"$LIB_TMP/quitter.msg"
  lib_check "lib_wait_line fails as soon as the process ended without the line" test $? -eq 1
  lib_check "... naming the process, the stream and the pattern" \
    grep -q 'quitter printed no line matching /^ready$/ on stdout' "$LIB_TMP/quitter.msg"
  lib_check "... saying it is not running" grep -q 'is not running' "$LIB_TMP/quitter.msg"
  lib_check "... with the tail of its output" grep -qx 'last words' "$LIB_TMP/quitter.msg"

  lib_start silent sleep 300
  lib_wait_line silent err 'never' 0.2 2>"$LIB_TMP/silent.msg"
  lib_check "lib_wait_line fails at its bound while the process runs" test $? -eq 1
  lib_check "... saying so" grep -q 'still running after 0.2 s' "$LIB_TMP/silent.msg"
  lib_check "lib_wait_until fails at its bound" lib_not lib_wait_until 0.1 false

  lib_start_listener broker sh -c 'echo "address: k3xq"
    echo "info broker: listening on 127.0.0.1:4242, data in d, -sync=always" >&2; exec sleep 300'
  lib_check "lib_start_listener reads a broker's address and endpoint" \
    test "$LIB_ADDRESS $LIB_LISTEN" = "k3xq 127.0.0.1:4242"
  lib_start_listener relay sh -c 'echo "address: r7"
    echo "relay: listening on 203.0.113.10:7070: nodes use -relay=r7@HOST:7070" >&2; exec sleep 300'
  lib_check "... and a relay's" test "$LIB_ADDRESS $LIB_LISTEN" = "r7 203.0.113.10:7070"
}

stop_cases() {
  lib_start polite sleep 300
  lib_check "lib_stop ends a process within the grace" lib_stop "$LIB_PID" 5
  lib_check "... and LIB_STATUS says TERM ended it (143)" test "$LIB_STATUS" -eq 143
  lib_start stubborn sh -c 'trap "" TERM; echo ready; exec sleep 300'
  lib_wait_line stubborn out '^ready$'
  local pid=$LIB_PID
  lib_check "lib_stop reports a process that ignores TERM" lib_not lib_stop "$pid" 0.2
  lib_check "... killed it (137)" test "$LIB_STATUS" -eq 137
  lib_check "... and it is gone" gone "$pid"
  lib_start brief sh -c 'exit 7'
  lib_check "lib_wait waits for a process's end" lib_wait "$LIB_PID" 30
  lib_check "... and LIB_STATUS is its exit status" test "$LIB_STATUS" -eq 7
  lib_start long sleep 300
  lib_check "lib_wait fails while the process still runs at the bound" lib_not lib_wait "$LIB_PID" 0.1
  lib_check "... and leaves it running" lib_running "$LIB_PID"
}

skip_cases() {
  (CI= lib_skip_or_fail "no such tool") >/dev/null
  lib_check "lib_skip_or_fail exits 77 (skip)" test $? -eq 77
  (CI=true lib_skip_or_fail "no such tool") >"$LIB_TMP/ci.out"
  lib_check "... but 1 under CI=true" test $? -eq 1
  lib_check "... saying why" grep -q 'FAIL: no such tool (CI=true' "$LIB_TMP/ci.out"
}

median_cases() {
  lib_check "the median of 3 1 2 is 2" test "$(lib_median 3 1 2)" = 2
  lib_check "of 4 1 3 2, 2.5 (the mean of the middle two)" test "$(lib_median 4 1 3 2)" = 2.5
  lib_check "of 1234567 1234568, 1234567.5 (no rounding)" \
    test "$(lib_median 1234567 1234568)" = 1234567.5
  lib_check "of words on stdin (5, 1 9, 0.5e1), 5" test "$(printf '5\n1 9\n0.5e1\n' | lib_median)" = 5
  lib_check "no numbers: a failure" lib_not lib_median </dev/null 2>/dev/null
  lib_check "a word that is no number: a failure" lib_not lib_median 1 x 2 2>/dev/null
  lib_check "lib_median_line picks the line of the median field" \
    test "$(printf 'a 3 x\nb 1 y\nc 2 z\n' | lib_median_line 2)" = "c 2 z"
  lib_check "... the lower middle one for an even count" \
    test "$(printf 'a 30\nb 10\nc 20\nd 40\n' | lib_median_line 2)" = "c 20"
  lib_check "... and fails on a line without the number" \
    lib_not lib_median_line 2 <<<$'a 1\nb\n' 2>/dev/null
}

main() {
  local start=$SECONDS
  wait_line_cases
  stop_cases
  skip_cases
  median_cases
  cleanup_case end none 0
  cleanup_case errexit none 1
  cleanup_case wait INT 130
  cleanup_case wait TERM 143
  echo "took $((SECONDS - start)) s"
  lib_summary
}

case ${1:-} in
  --child) child "$2" "$3" ;;
  "") main ;;
  *) echo "usage: $0 [--child end|errexit|wait DIR]" >&2; exit 2 ;;
esac
