#!/usr/bin/env bash
# examples/users_servers/run.sh with its page in headless Chromium (users_servers_example_test.mjs).
#   users_servers_example_test.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
here=$LIB_ROOT/tests/browser
command -v node >/dev/null || lib_skip_or_fail "node is not installed (scripts/setup.sh installs it)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || lib_skip_or_fail "chromium is not installed (scripts/setup.sh installs it)"
[ -d "$here/node_modules/playwright-core" ] || lib_skip_or_fail "playwright-core is not installed in tests/browser (scripts/setup.sh)"
node "$here/users_servers_example_test.mjs" "$1" "$LIB_TMP"
