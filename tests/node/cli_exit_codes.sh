#!/usr/bin/env bash
# The real binary, as a shell user meets it: exit codes, and where messages go.
set -u
# shellcheck source=../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
bin=$1
tmp=$LIB_TMP

expect() {  # expect CODE STREAM PATTERN -- ARGS...
  local code=$1 stream=$2 pattern=$3; shift 4
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$code" ]; then
    lib_fail "peermq $*: exit $got, want $code"; cat "$tmp/err"; return
  fi
  if ! grep -qE -- "$pattern" "$tmp/$stream"; then
    lib_fail "peermq $*: $stream lacks /$pattern/:"; cat "$tmp/$stream"; return
  fi
  lib_ok "peermq $* -> $code"
}

expect 2 err 'usage: peermq <role>' --
expect 0 out '^roles:' -- -h
expect 2 err 'unknown role "nosuchrole"' -- nosuchrole
expect 2 err 'unknown flag -nosuchflag' -- keygen -nosuchflag
expect 2 err 'unknown flag --nosuchflag' -- keygen --nosuchflag=1
expect 2 err 'needs a value' -- keygen -key
expect 2 err 'invalid value "loud" for -log: use one of' -- keygen -log=loud
expect 2 err 'unexpected argument "extra"' -- keygen extra
expect 0 out '^usage: peermq keygen' -- keygen -h
expect 0 out '^address: [a-z2-7]{56}$' -- keygen -key="$tmp/k"
expect 0 out '^address: [a-z2-7]{56}$' -- keygen --key "$tmp/k"
chmod 644 "$tmp/k"
expect 1 err "chmod 600 $tmp/k" -- keygen -key="$tmp/k"
PEERMQ_LOG=loud expect 2 err "invalid value \"loud\" for PEERMQ_LOG" -- keygen -key="$tmp/k2"

lib_summary
