#!/usr/bin/env bash
# The web consumer in headless Chromium (issue 13): a relay with -web serves the page, a
# broker registers with the relay, and web_consumer_test.mjs drives the tab next to CLI
# producers and consumers. Needs node, Debian's chromium and playwright-core (installed by
# scripts/setup.sh into tests/browser/node_modules); without them it skips, but fails
# under CI=true.
#   web_consumer_test.sh PEERMQ_BINARY
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
peermq=$1
here=$LIB_ROOT/tests/browser

command -v node >/dev/null || lib_skip_or_fail "node is not installed (scripts/setup.sh installs it)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || lib_skip_or_fail "chromium is not installed (scripts/setup.sh installs it)"
[ -d "$here/node_modules/playwright-core" ] ||
  lib_skip_or_fail "playwright-core is not installed in tests/browser (scripts/setup.sh runs npm ci there)"
web_dir=$(dirname "$peermq")/web
[ -f "$web_dir/peermq_web.wasm" ] ||
  lib_skip_or_fail "$web_dir/peermq_web.wasm is missing: configure with -DPEERMQ_BUILD_WEB=ON"

export PEERMQ_RUNTIME_DIR=$LIB_TMP/run  # these nodes see only each other
lib_start_listener relay "$peermq" relay -key="$LIB_TMP/relay.key" -listen=127.0.0.1:0 \
  -web=127.0.0.1:0 || lib_die "the relay did not start"
relay=$LIB_ADDRESS
relay_spec="$relay@$LIB_LISTEN"
lib_wait_line relay out '^web: http://127\.0\.0\.1:[0-9]+/$' || lib_die "the relay printed no web: line"
web_url=${LIB_LINE#web: }
lib_start_listener broker "$peermq" broker -key="$LIB_TMP/broker.key" -listen=127.0.0.1:0 \
  -data="$LIB_TMP/data" -relay="$relay_spec" || lib_die "the broker did not start"
broker=$LIB_ADDRESS
echo "relay $relay_spec, page $web_url, broker $broker"

status=0
PEERMQ=$peermq WEB_URL=$web_url BROKER=$broker RELAY=$relay RELAY_SPEC=$relay_spec WORK=$LIB_TMP \
  node "$here/web_consumer_test.mjs" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- relay"; tail -n 30 "$(lib_log relay err)"
  echo "--- broker"; tail -n 30 "$(lib_log broker err)"
fi
exit "$status"
