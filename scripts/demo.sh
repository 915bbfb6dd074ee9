#!/usr/bin/env bash
# The main command: installs what is needed, builds peermq, and runs a broker, two
# consumers and two producers on this machine, with no relay and nothing else to set up
# (nodes on one host find each other by address through local discovery files).
# Idempotent; the build lives in build/release, the demo's files in a temporary
# directory removed on exit, and every process it starts is stopped on exit.
#   scripts/demo.sh [MESSAGES]     messages per producer (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10}"

scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target peermq_exe -j "$(nproc)"
peermq="$PWD/build/release/peermq"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
export PEERMQ_RUNTIME_DIR="$work/run"   # this demo's nodes only see each other

echo "--- peermq $($peermq -version | cut -d' ' -f2)"
echo "--- starting a broker (data in $work/data, -sync=always)"
"$peermq" broker -data="$work/data" >"$work/broker.out" 2>"$work/broker.err" &
pids+=($!)
addr=""
for _ in $(seq 1 100); do
  addr=$(sed -n 's/^address: //p' "$work/broker.out")
  [ -n "$addr" ] && break
  sleep 0.1
done
if [ -z "$addr" ]; then
  echo "the broker did not start:"; cat "$work/broker.err"; exit 1
fi
echo "broker address: $addr"

echo "--- two consumers: one for num_users, one for num_servers (as in the original's example)"
"$peermq" consumer -broker="$addr" -command=num_users -name=users-consumer \
  -exec='echo "users: $(wc -c) bytes asked, 42 users"' >"$work/users.out" 2>"$work/users.err" &
pids+=($!)
"$peermq" consumer -broker="$addr" -command=num_servers -name=servers-consumer \
  >"$work/servers.out" 2>"$work/servers.err" &
pids+=($!)

echo "--- two producers, $count messages each"
"$peermq" producer -broker="$addr" -name=producer-1 -command=num_users -count="$count" \
  -payload="how many users?" -inflight=4 -timeout=60 | sed 's/^/producer-1 | /'
"$peermq" producer -broker="$addr" -name=producer-2 -command=num_servers -count="$count" \
  -payload="how many servers?" -inflight=4 -timeout=60 | sed 's/^/producer-2 | /'

echo "--- what the consumers saw"
sed 's/^/num_users consumer   | /' "$work/users.out"
sed 's/^/num_servers consumer | /' "$work/servers.out"
echo "--- broker log"
sed 's/^/broker | /' "$work/broker.err"
echo "--- done: stopping everything"
