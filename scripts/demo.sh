#!/usr/bin/env bash
# The main command: installs what is needed, builds peermq, and runs a broker, two
# consumers and two producers on this machine, with no relay and nothing else to set up
# (nodes on one host find each other by address through local discovery files).
# Idempotent; the build lives in build/release, the demo's files in a temporary
# directory removed on exit, and every process it starts is stopped on exit.
#   scripts/demo.sh [MESSAGES]     messages per producer (default 10)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$LIB_ROOT"
count="${1:-10}"

scripts/setup.sh
lib_configure build/release -DCMAKE_BUILD_TYPE=Release
cmake --build build/release --target peermq_exe -j "$(nproc)"
peermq="$PWD/build/release/peermq"
work=$LIB_TMP
export PEERMQ_RUNTIME_DIR="$work/run"   # this demo's nodes only see each other

echo "--- peermq $($peermq -version | cut -d' ' -f2)"
echo "--- starting a broker (data in $work/data, -sync=always)"
lib_start_listener broker "$peermq" broker -data="$work/data" || lib_die "the broker did not start"
addr=$LIB_ADDRESS
echo "broker address: $addr"

echo "--- two consumers: one for num_users, one for num_servers (as in the original's example)"
lib_start users "$peermq" consumer -broker="$addr" -command=num_users -name=users-consumer \
  -exec='echo "users: $(wc -c) bytes asked, 42 users"'
lib_start servers "$peermq" consumer -broker="$addr" -command=num_servers -name=servers-consumer

echo "--- two producers, $count messages each"
"$peermq" producer -broker="$addr" -name=producer-1 -command=num_users -count="$count" \
  -payload="how many users?" -inflight=4 -timeout=60 | sed 's/^/producer-1 | /'
"$peermq" producer -broker="$addr" -name=producer-2 -command=num_servers -count="$count" \
  -payload="how many servers?" -inflight=4 -timeout=60 | sed 's/^/producer-2 | /'

echo "--- what the consumers saw"
sed 's/^/num_users consumer   | /' "$(lib_log users out)"
sed 's/^/num_servers consumer | /' "$(lib_log servers out)"
echo "--- broker log"
sed 's/^/broker | /' "$(lib_log broker err)"
echo "--- done: stopping everything"
