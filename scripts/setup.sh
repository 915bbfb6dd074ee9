#!/usr/bin/env bash
# Installs every Debian package peermq needs to build, test and run. Idempotent: when
# everything is present it changes nothing and does not touch the network.
#   scripts/setup.sh          what the build, the tests and the demo need
#   scripts/setup.sh bench    that, plus the systems scripts/bench.sh compares peermq with
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  # libraries
  libsodium-dev libuv1-dev libmsgpack-cxx-dev
  # tests: doctest runs the unit tests; nlohmann-json reads the Noise test vectors
  doctest-dev nlohmann-json3-dev
  # fuzzing (libFuzzer ships with clang) and sanitizer runtimes
  clang libclang-rt-14-dev
  # the browser build (PEERMQ_BUILD_WEB): emscripten; libsodium's source package is
  # unpacked by dpkg-dev and bootstrapped by the autotools (scripts/build_wasm_sodium.sh)
  emscripten dpkg-dev autoconf automake libtool
  # network tests: namespaces, veth, tc (run as root)
  iproute2 iptables tcpdump python3
)
if [ "${1:-}" = bench ]; then
  # the peers of the comparison: NATS (server and C client) and ZeroMQ
  packages+=(nats-server libnats-dev libzmq3-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
