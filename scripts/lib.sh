# shellcheck shell=bash
# shellcheck disable=SC2034  # LIB_* variables are read by the scripts that source this
# lib.sh — what every script under scripts/ and the shell tests under tests/ share:
# processes started in the background and stopped on exit, bounded waits for a line they
# print, checks and their count, medians, timings, a quiet cmake configure.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"      (from tests/: .../scripts/lib.sh)
#
# Contract
# - Sourcing it (again is a no-op) makes LIB_TMP, a scratch directory, and sets EXIT, INT,
#   TERM and HUP traps in the sourcing shell. On any exit (the end, exit N, set -e, Ctrl-C,
#   a signal) every process started with lib_spawn/lib_start and not yet stopped is stopped
#   with its whole process group (so children of children go too: TERM, then KILL after
#   LIB_STOP_GRACE seconds), then the commands given to lib_on_exit run (last first), then
#   LIB_TMP is removed. The exit status is kept (130 after INT, 143 after TERM, 129 after
#   HUP). Set no trap of your own on these signals afterwards: use lib_on_exit.
# - Only the shell that sourced it (LIB_OWNER) stops processes and cleans up: a subshell
#   or a child not yet exec'd that catches a signal just exits. So call lib_spawn and
#   lib_start in that shell, not inside $(...) or a pipeline.
# - Every wait is bounded in time; a failed lib_wait_line says what it waited for, in what,
#   and shows the tail of the process's output. Functions return non-zero on failure
#   (and work with or without set -e); lib_die and lib_skip_or_fail exit.
#
# Processes (NAME: a label; its output goes to $LIB_LOGS/NAME.out and NAME.err)
#   lib_spawn CMD...          CMD (a program, not a function) in the background in a process
#                             group of its own; pid in LIB_PID; redirect it yourself
#   lib_start NAME CMD...     the same, stdin from /dev/null, output in NAME's files;
#                             LIB_PID_OF[NAME] is its pid (LIB_LOGS: LIB_TMP unless set)
#   lib_start_listener NAME CMD...   lib_start, then waits for a peermq node's
#                             "address: ADDR" (stdout) and "listening on IP:PORT" (stderr)
#                             lines: LIB_ADDRESS, LIB_LISTEN
#   lib_log NAME out|err      the path of NAME's output file
#   lib_running PID           alive and not a zombie
#   lib_stop PID [GRACE [SIG]]   SIG (TERM) to its group, GRACE s for it to end, then KILL;
#                             reaps it (LIB_STATUS: its exit status); 1 if it had to be killed
#   lib_wait PID [SECONDS]    waits for it to end by itself, then kills what is left of its
#                             group and reaps it (LIB_STATUS); 1 if still running at SECONDS
# Waiting (SECONDS: LIB_WAIT_SECONDS, 60, unless given; whole seconds or decimals)
#   lib_wait_line NAME out|err REGEX [SECONDS]   until NAME printed a line matching REGEX
#                             (grep -E): the first such line in LIB_LINE; fails at once
#                             if NAME ended without printing one
#   lib_wait_until SECONDS CMD...   until CMD succeeds (polled, output discarded)
# Checks (tests)
#   lib_ok TEXT | lib_fail TEXT | lib_check TEXT CMD... | lib_not CMD... | lib_summary
#                             "ok: "/"FAIL: " lines, counted in LIB_PASSED/LIB_FAILED;
#                             lib_summary prints the counts, 0 if nothing failed
#   lib_skip_or_fail REASON   exits 77 (ctest's SKIP_RETURN_CODE), or 1 under CI=true
#   lib_die TEXT              "<script>: TEXT" on stderr, exit 1
#   lib_on_exit CMD...        runs CMD on exit (see above)
# Numbers
#   lib_median [N...]         the median of the numbers (arguments, else stdin words);
#                             the mean of the two middle ones for an even count
#   lib_median_line FIELD     of the lines on stdin, the one whose FIELD-th word is the
#                             median (the lower middle one for an even count)
#   lib_now_us                microseconds since the epoch (no fork)
#   lib_rss_kib PID | lib_cpu_ms PID   resident memory; user+system CPU time
# Building
#   lib_configure DIR ARGS... cmake -S LIB_ROOT -B DIR -G Ninja ARGS, quietly, with ccache
#                             when it is installed

[ -n "${LIB_OWNER:-}" ] && return 0

LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB_OWNER=$BASHPID
LIB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX") || exit 1
LIB_LOGS=$LIB_TMP
LIB_WAIT_SECONDS=${LIB_WAIT_SECONDS:-60}
LIB_STOP_GRACE=${LIB_STOP_GRACE:-2}
LIB_PID=""
LIB_PIDS=()
declare -gA LIB_PID_OF=()
LIB_STATUS=""
LIB_LINE=""
LIB_ADDRESS=""
LIB_LISTEN=""
LIB_PASSED=0
LIB_FAILED=0
LIB_ON_EXIT=()

# ---------------------------------------------------------------- processes

lib_spawn() {
  # Job control gives the job a process group of its own, made by the shell before `&`
  # returns (setsid would make it only once the child runs: a kill in between would miss).
  local monitor=1
  [[ $- == *m* ]] || { monitor=0; set -m; }
  "$@" &
  LIB_PID=$!
  [ "$monitor" = 1 ] || set +m
  LIB_PIDS+=("$LIB_PID")
}

lib_start() {
  local name=$1
  shift
  lib_spawn "$@" <"/dev/null" >"$LIB_LOGS/$name.out" 2>"$LIB_LOGS/$name.err"
  LIB_PID_OF[$name]=$LIB_PID
}

lib_start_listener() {
  local name=$1
  lib_start "$@"
  lib_wait_line "$name" out '^address: ' || return 1
  LIB_ADDRESS=${LIB_LINE#address: }
  lib_wait_line "$name" err 'listening on ' || return 1
  [[ $LIB_LINE =~ listening\ on\ ([^ ,]+[0-9]) ]] && LIB_LISTEN=${BASH_REMATCH[1]}
  return 0
}

lib_log() { echo "$LIB_LOGS/$1.$2"; }

lib_running() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat=${stat##*) }
  [ "${stat:0:1}" != Z ]
}

_lib_forget() {
  local pid kept=()
  for pid in "${LIB_PIDS[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  LIB_PIDS=("${kept[@]}")
}

# Kills what is left of PID's group, reaps PID (LIB_STATUS) and forgets it.
_lib_reap() {
  kill -KILL -- "-$1" 2>/dev/null || kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  LIB_STATUS=$?
  _lib_forget "$1"
}

# Seconds (decimals allowed) -> a deadline in microseconds, in the variable named $2.
_lib_deadline() {
  local -n _out=$2
  local whole=${1%.*} frac=000000
  [[ $1 == *.* ]] && frac="${1#*.}000000"
  _out=$(( ${EPOCHREALTIME//[!0-9]/} + 10#${whole:-0} * 1000000 + 10#${frac:0:6} ))
}

_lib_before() { (( ${EPOCHREALTIME//[!0-9]/} < $1 )); }

# A poll step: 10 ms for the first hundred, then 50 ms.
_lib_pause() {
  local -n _polls=$1
  if ((++_polls <= 100)); then sleep 0.01; else sleep 0.05; fi
}

lib_stop() {
  local pid=$1 grace=${2:-$LIB_STOP_GRACE} sig=${3:-TERM} deadline polls=0
  kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null
  _lib_deadline "$grace" deadline
  while lib_running "$pid" && _lib_before "$deadline"; do _lib_pause polls; done
  local ended=0
  lib_running "$pid" || ended=1
  _lib_reap "$pid"
  [ "$ended" = 1 ]
}

lib_wait() {
  local pid=$1 deadline polls=0
  _lib_deadline "${2:-$LIB_WAIT_SECONDS}" deadline
  while lib_running "$pid"; do
    _lib_before "$deadline" || return 1
    _lib_pause polls
  done
  _lib_reap "$pid"
  return 0
}

# Every process still remembered: TERM to all groups at once, one grace period for all.
_lib_stop_all() {
  local pid deadline polls=0 alive
  [ ${#LIB_PIDS[@]} -gt 0 ] || return 0
  for pid in "${LIB_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  done
  _lib_deadline "$LIB_STOP_GRACE" deadline
  while _lib_before "$deadline"; do
    alive=0
    for pid in "${LIB_PIDS[@]}"; do lib_running "$pid" && { alive=1; break; }; done
    [ "$alive" = 1 ] || break
    _lib_pause polls
  done
  for pid in "${LIB_PIDS[@]}"; do _lib_reap "$pid"; done
}

# ---------------------------------------------------------------- waiting

_lib_tails() {
  local f
  for f in "$LIB_LOGS/$1.out" "$LIB_LOGS/$1.err"; do
    [ -s "$f" ] || continue
    echo "--- ${f##*/} (last 10 lines)"
    tail -n 10 "$f"
  done
}

lib_wait_line() {
  local name=$1 stream=$2 re=$3 seconds=${4:-$LIB_WAIT_SECONDS}
  local file=$LIB_LOGS/$1.$2 pid=${LIB_PID_OF[$1]:-} deadline polls=0 alive why
  _lib_deadline "$seconds" deadline
  while :; do
    alive=0
    [ -n "$pid" ] && lib_running "$pid" && alive=1
    # Read after the liveness check: a line printed just before the end is still seen.
    LIB_LINE=$(grep -m1 -E -- "$re" "$file" 2>/dev/null) && return 0
    if [ "$alive" = 0 ]; then
      why="it ${pid:+(pid $pid) }is not running"
      break
    fi
    _lib_before "$deadline" || { why="still running after $seconds s"; break; }
    _lib_pause polls
  done
  LIB_LINE=""
  {
    echo "lib_wait_line: $name printed no line matching /$re/ on std$stream: $why"
    _lib_tails "$name"
  } >&2
  return 1
}

lib_wait_until() {
  local deadline polls=0
  _lib_deadline "$1" deadline
  shift
  until "$@" >/dev/null 2>&1; do
    _lib_before "$deadline" || return 1
    _lib_pause polls
  done
}

# ---------------------------------------------------------------- checks and exits

lib_ok() { echo "ok: $*"; LIB_PASSED=$((LIB_PASSED + 1)); }
lib_fail() { echo "FAIL: $*"; LIB_FAILED=$((LIB_FAILED + 1)); }
lib_check() {
  local what=$1
  shift
  if "$@"; then lib_ok "$what"; else lib_fail "$what"; fi
}
lib_not() { ! "$@"; }
lib_summary() {
  echo "$LIB_PASSED passed, $LIB_FAILED failed"
  [ "$LIB_FAILED" -eq 0 ]
}

lib_skip_or_fail() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1 (CI=true: this test may not skip)"
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}

lib_die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

lib_on_exit() { LIB_ON_EXIT+=("$(printf '%q ' "$@")"); }

_lib_on_exit() {
  local rc=$? i
  [ "$BASHPID" = "$LIB_OWNER" ] || return "$rc"
  set +e
  trap '' INT TERM HUP  # the cleanup is bounded: let it finish
  _lib_stop_all
  for ((i = ${#LIB_ON_EXIT[@]} - 1; i >= 0; i--)); do eval "${LIB_ON_EXIT[i]}"; done
  rm -rf -- "$LIB_TMP"
  return "$rc"
}

_lib_on_signal() {
  [ "$BASHPID" = "$LIB_OWNER" ] || trap - EXIT
  exit "$1"
}

trap _lib_on_exit EXIT
trap '_lib_on_signal 130' INT
trap '_lib_on_signal 143' TERM
trap '_lib_on_signal 129' HUP

# ---------------------------------------------------------------- numbers

_lib_numbers() {  # WHO [N...]: the numbers (else stdin's words) one a line, or a message and 1
  local who=$1
  shift
  { if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi; } | tr -s ' \t' '\n' |
    awk -v who="$who" '
      NF == 0 { next }
      !/^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ { bad = $0; exit }
      { print }
      END { if (bad != "") { print who ": not a number: " bad | "cat 1>&2"; exit 1 } }'
}

lib_median() {
  local numbers
  numbers=$(_lib_numbers lib_median "$@") || return 1
  [ -n "$numbers" ] || { echo "lib_median: no numbers" >&2; return 1; }
  sort -g <<<"$numbers" | awk '{ a[NR] = $1 } END {
    if (NR % 2) print a[(NR + 1) / 2]; else printf "%.15g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

lib_median_line() {
  local field=$1 lines
  lines=$(cat)
  [ -n "$lines" ] || { echo "lib_median_line: no lines" >&2; return 1; }
  awk -v f="$field" '{ print ($f == "" ? "(none)" : $f) }' <<<"$lines" |
    _lib_numbers "lib_median_line: field $field" >/dev/null || return 1
  sort -g -k "$field,$field" <<<"$lines" | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

lib_now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

lib_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

lib_cpu_ms() {
  local stat
  read -r stat <"/proc/$1/stat" || return 1
  stat=${stat##*) }
  # After the name: state is field 3, utime and stime are fields 14 and 15 (proc(5)).
  awk -v hz="$(getconf CLK_TCK)" '{ print int(($12 + $13) * 1000 / hz) }' <<<"$stat"
}

# ---------------------------------------------------------------- building

lib_configure() {
  local dir=$1 launcher=()
  shift
  command -v ccache >/dev/null &&
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$LIB_ROOT" -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
}
