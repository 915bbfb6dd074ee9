#!/usr/bin/env bash
# Runs tests/web/wasm_test.mjs on the wasm build in WEB_DIR with node. Without node or
# without the build it skips (exit 77), but fails under CI=true.
#   tests/web/wasm_test.sh WEB_DIR DATA_DIR
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
web=$1 data=$2
command -v node >/dev/null || lib_skip_or_fail "node not found (Node.js 18+ runs the wasm test)"
[ -f "$web/peermq_web.js" ] && [ -f "$web/peermq_web.wasm" ] ||
  lib_skip_or_fail "no wasm build in $web (configure with -DPEERMQ_BUILD_WEB=ON; needs emscripten)"
node "$(dirname "$0")/wasm_test.mjs" "$web" "$data"
