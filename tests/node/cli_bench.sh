#!/usr/bin/env bash
# peermq bench against a real broker on 127.0.0.1: the contract of its output lines, its
# exit codes, and its usage errors.
set -u
# shellcheck source=../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
bin=$1
export PEERMQ_RUNTIME_DIR=$LIB_TMP/run  # local discovery of this test only

"$bin" bench -h >"$LIB_TMP/help" 2>&1
lib_check "bench -h exits 0 and lists the flags" \
  grep -qE -- '-producers=P.*' "$LIB_TMP/help"
lib_check "bench -h says -inflight is per producer" grep -q 'per producer' "$LIB_TMP/help"

usage() {  # usage PATTERN ARGS...: exit 2 with PATTERN on stderr
  local pattern=$1
  shift
  "$bin" bench "$@" >"$LIB_TMP/out" 2>"$LIB_TMP/err"
  local got=$?
  if [ "$got" -eq 2 ] && grep -qE -- "$pattern" "$LIB_TMP/err"; then
    lib_ok "peermq bench $* -> 2 ($pattern)"
  else
    lib_fail "peermq bench $*: exit $got, want 2 with /$pattern/"
    cat "$LIB_TMP/err"
  fi
}
usage '-broker=ADDR is required' -count=10
usage 'invalid value "0" for -producers' -producers=0 -broker=x
usage 'use answer or confirm' -wait=never

lib_start_listener broker "$bin" broker -data="$LIB_TMP/data" -sync=none -listen=127.0.0.1:0 ||
  lib_die "the broker starts"
broker=$LIB_ADDRESS
usage 'names a port' -broker="$broker" -producers=2 -listen=127.0.0.1:7999

out=$LIB_TMP/bench.out
"$bin" bench -broker="$broker" -producers=3 -consumers=2 -count=300 -listen=127.0.0.1:0 \
  -timeout=30 >"$out" 2>"$LIB_TMP/bench.err"
lib_check "bench of 300 messages exits 0" [ $? -eq 0 ]
us='[0-9]+us'
lib_check "header line names the parameters" \
  grep -qE '^peermq bench: producers=3 consumers=2 inflight=1 .*count=300' "$out"
lib_check "connected line" grep -qE '^connected: 3 producers, 2 consumers in [0-9]+ ms$' "$out"
lib_check "publish->confirm line" \
  grep -qE "^publish->confirm: [0-9]+ msgs/s p50=$us p90=$us p99=$us max=$us$" "$out"
lib_check "publish->answer line" \
  grep -qE "^publish->answer: [0-9]+ msgs/s p50=$us p90=$us p99=$us max=$us$" "$out"
lib_check "last line: answers: 300/300" [ "$(tail -n 1 "$out")" = "answers: 300/300" ]

"$bin" bench -broker="$broker" -producers=2 -consumers=0 -count=50 -wait=confirm \
  -listen=127.0.0.1:0 -timeout=30 >"$out" 2>"$LIB_TMP/bench.err"
rc=$?
lib_check "-wait=confirm exits 0" [ $rc -eq 0 ]
lib_check "-wait=confirm ends with confirmed: 50/50" [ "$(tail -n 1 "$out")" = "confirmed: 50/50" ]
lib_check "-wait=confirm prints no publish->answer line" lib_not grep -q 'publish->answer' "$out"

# Nobody consumes command "nobody": the timeout ends the run, exit 1, with what arrived.
"$bin" bench -broker="$broker" -producers=1 -consumers=0 -count=5 -command=nobody \
  -listen=127.0.0.1:0 -timeout=1 >"$out" 2>"$LIB_TMP/bench.err"
rc=$?
lib_check "a timeout exits 1" [ $rc -eq 1 ]
lib_check "a timeout ends with answers: 0/5" [ "$(tail -n 1 "$out")" = "answers: 0/5" ]
lib_check "a timeout says so on stderr" grep -q 'timed out after 1 s' "$LIB_TMP/bench.err"

lib_summary
