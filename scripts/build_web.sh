#!/usr/bin/env bash
# Builds the browser's peermq: libsodium for wasm (scripts/build_wasm_sodium.sh), then the
# emscripten build of web/ (the protocol cores of src/ and the driver of web/src/), which
# puts peermq_web.js and peermq_web.wasm into BUILD_DIR/web/, next to the peermq binary.
# Called by the native build's `web` target (CMake option PEERMQ_BUILD_WEB); incremental:
# sodium is built once, the wasm build only recompiles what changed.
#
#   scripts/build_web.sh BUILD_DIR [JOBS]
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [JOBS]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(mkdir -p "$1" && cd "$1" && pwd)
jobs=${2:-2}
command -v emcmake >/dev/null ||
  { echo "$0: emcmake not found: apt-get install emscripten (scripts/setup.sh)" >&2; exit 1; }
# See build_wasm_sodium.sh: Debian's node-acorn for emcc's JS optimizer.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

"$root/scripts/build_wasm_sodium.sh" "$build/wasm-sodium/out" "$build/wasm-sodium"
if [ ! -f "$build/wasm/CMakeCache.txt" ]; then
  emcmake cmake -S "$root/web" -B "$build/wasm" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPEERMQ_SODIUM_DIR="$build/wasm-sodium/out" -DPEERMQ_WEB_OUT="$build/web" >/dev/null
fi
cmake --build "$build/wasm" -j "$jobs"
