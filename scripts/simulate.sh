#!/usr/bin/env bash
# simulate.sh SEEDS [FIRST]: runs every simulator scenario (the TEST_CASEs of
# tests/sim/*_sim_test.cpp) for SEEDS seeds each, FIRST .. FIRST+SEEDS-1 (FIRST defaults
# to 1; CI runs seeds 1..20). Builds the Release test program first.
#
# Prints one line per scenario (seeds run, failures) and, for each failed seed, the
# one-line command that replays it; then a total. Exit status 1 if any seed failed (or a
# scenario's program failed without saying which seed), 2 on bad usage or a failed build.
#
# Environment: PEERMQ_BUILD_DIR (default build/release), PEERMQ_SIM_JOBS (scenarios run at
# once, default 2), PEERMQ_SIM_LOG (log level captured per run, printed for failed seeds).
set -uo pipefail

usage() {
  echo "usage: $0 SEEDS [FIRST]   (e.g. $0 1000)" >&2
  exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
seeds=$1
first=${2:-1}
[[ $seeds =~ ^[0-9]+$ && $seeds -gt 0 && $first =~ ^[0-9]+$ ]] || usage

# shellcheck source=lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
build=${PEERMQ_BUILD_DIR:-$LIB_ROOT/build/release}
jobs=${PEERMQ_SIM_JOBS:-2}
if ! lib_configure "$build" -DCMAKE_BUILD_TYPE=Release ||
  ! cmake --build "$build" --target peermq_sim_test -j "$jobs" >/dev/null; then
  echo "simulate: the Release build of peermq_sim_test failed" >&2
  exit 2
fi
bin=$build/tests/peermq_sim_test

# Scenario names: the lines between doctest's two rules.
mapfile -t scenarios < <("$bin" --list-test-cases -sf='*_sim_test.cpp' --no-version |
  awk '/^====/ { rule++; next } rule == 1')
[[ ${#scenarios[@]} -gt 0 ]] || { echo "simulate: no scenarios found in $bin" >&2; exit 2; }

logs=$LIB_TMP  # lib.sh removes it on exit

run_one() {  # index name
  PEERMQ_SIM_SEEDS=$seeds PEERMQ_SIM_FIRST_SEED=$first "$bin" -tc="$2" --no-version \
    >"$logs/$1.log" 2>&1
  echo $? >"$logs/$1.rc"
}

echo "simulate: ${#scenarios[@]} scenarios, seeds $first..$((first + seeds - 1)), $jobs at a time"
for i in "${!scenarios[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n; done
  run_one "$i" "${scenarios[$i]}" &
done
wait

total_seeds=0
total_failed=0
broken=0
for i in "${!scenarios[@]}"; do
  name=${scenarios[$i]}
  log=$logs/$i.log
  rc=$(cat "$logs/$i.rc")
  # "sim: <name>: N seeds, F failed, T s" (absent for a scenario that runs no seeds).
  summary=$(grep -F "sim: $name: " "$log" | grep -E ': [0-9]+ seeds, [0-9]+ failed' | tail -1)
  if [[ -n $summary ]]; then
    n=$(sed -E 's/.*: ([0-9]+) seeds, ([0-9]+) failed.*/\1/' <<<"$summary")
    f=$(sed -E 's/.*: ([0-9]+) seeds, ([0-9]+) failed.*/\2/' <<<"$summary")
  else
    n=1
    f=$((rc != 0))
  fi
  total_seeds=$((total_seeds + n))
  total_failed=$((total_failed + f))
  if [[ $f -eq 0 && $rc -eq 0 ]]; then
    printf 'ok    %s: %s seeds\n' "$name" "$n"
    continue
  fi
  printf 'FAIL  %s: %s seeds, %s failed\n' "$name" "$n" "$f"
  grep -E "^sim: .*: seed [0-9]+ FAILED" "$log" | sed 's/^/      /'
  grep -E "^sim: replay: " "$log" | sed 's/^sim: replay: /      replay: /'
  if [[ $f -eq 0 ]]; then  # the program failed but named no seed
    broken=$((broken + 1))
    tail -20 "$log" | sed 's/^/      | /'
  fi
done
echo "simulate: ${#scenarios[@]} scenarios, $total_seeds seeds run, $total_failed failed"
[[ $total_failed -eq 0 && $broken -eq 0 ]]
