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
  # the -web listener: libwebsockets, and its libuv event loop plugin
  libwebsockets-dev libwebsockets-evlib-uv
  # tests: doctest runs the unit tests; nlohmann-json reads the Noise test vectors
  doctest-dev nlohmann-json3-dev
  # fuzzing (libFuzzer ships with clang) and sanitizer runtimes
  clang libclang-rt-14-dev
  # the browser build (PEERMQ_BUILD_WEB): emscripten; libsodium's source package is
  # unpacked by dpkg-dev and bootstrapped by the autotools (scripts/build_wasm_sodium.sh)
  emscripten dpkg-dev autoconf automake libtool
  # network tests: namespaces, veth, tc (run as root)
  iproute2 iptables tcpdump python3
  # the browser test: Debian's chromium, driven by playwright-core from npm (below)
  chromium
  # web tests: fetch pages and make a self-signed certificate
  curl openssl
)
command -v npm >/dev/null || packages+=(nodejs npm)
if [ "${1:-}" = bench ]; then
  # the peers of the comparisons: NATS (server and C client), ZeroMQ, and RabbitMQ
  # (server and C client) for the durable one (scripts/durable_bench.sh)
  packages+=(nats-server libnats-dev libzmq3-dev rabbitmq-server librabbitmq-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# playwright-core, exactly as tests/browser/package-lock.json locks it (it drives the
# chromium above; it never downloads a browser of its own). Again only when the lock changed.
browser_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
stamp="$browser_tests/node_modules/.installed-lock.json"  # the lock of the last npm ci
if ! cmp -s "$browser_tests/package-lock.json" "$stamp"; then
  echo "setup: npm ci in tests/browser"
  (cd "$browser_tests" && npm ci --no-audit --no-fund && cp package-lock.json "$stamp")
fi
