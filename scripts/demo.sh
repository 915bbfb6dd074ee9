#!/usr/bin/env bash
# The main command: installs what is needed, builds peermq, and runs it on this machine
# with nothing else to set up. Idempotent; the build lives in build/release, the demo's
# files in a temporary directory removed on exit.
#
# Today peermq has its identity layer: the demo creates node identities and shows that
# an address is derived from, and stays bound to, its key file. The broker, consumer and
# producer roles join this script as the queue lands.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target peermq_exe -j "$(nproc)"
peermq=build/release/peermq

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "--- peermq $($peermq -version | cut -d' ' -f2): roles"
$peermq -h
echo "--- a broker identity, created once and reused"
$peermq keygen -key="$work/broker.key"
$peermq keygen -key="$work/broker.key"
echo "--- another node gets another address"
$peermq keygen -key="$work/consumer.key"
echo "--- a key file others can read is refused, with the fix"
chmod 644 "$work/broker.key"
$peermq keygen -key="$work/broker.key" || echo "(exit code $?)"
