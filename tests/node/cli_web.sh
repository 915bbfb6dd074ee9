#!/usr/bin/env bash
# -web on the real binary: `peermq relay` and `peermq broker` print `web: URL` after their
# address, with the port they bound; curl fetches the page and /peermq.json (whose address
# is the one printed); a self-signed certificate serves https; bad -web flags are usage
# errors, and a port in use is a clear failure.
set -u
# shellcheck source=../../scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
bin=$1
tmp=$LIB_TMP
export PEERMQ_RUNTIME_DIR=$tmp/run
command -v curl >/dev/null || lib_skip_or_fail "curl is not installed (scripts/setup.sh)"
command -v openssl >/dev/null || lib_skip_or_fail "openssl is not installed (scripts/setup.sh)"

# check_web NAME SCHEME: NAME printed address then web; / and /peermq.json answer.
check_web() {
  local name=$1 scheme=$2 url address
  lib_wait_line "$name" out '^address: ' 30 || { lib_fail "$name printed no address"; return; }
  address=${LIB_LINE#address: }
  lib_wait_line "$name" out "^web: $scheme://127\\.0\\.0\\.1:[0-9]+/\$" 30 ||
    { lib_fail "$name printed no web: $scheme:// line"; return; }
  url=${LIB_LINE#web: }
  lib_check "$name: the address line comes first" \
    test "$(head -n1 "$(lib_log "$name" out)")" = "address: $address"
  lib_check "$name: the port is a real one" lib_not grep -q ':0/$' <<<"$url"
  curl -sk --max-time 10 "$url" >"$tmp/$name.index" 2>/dev/null
  lib_check "$name: GET / serves the page" grep -q 'peermq web node' "$tmp/$name.index"
  curl -sk --max-time 10 -D "$tmp/$name.headers" "${url}peermq.json" >"$tmp/$name.json" 2>/dev/null
  lib_check "$name: /peermq.json names this node" \
    test "$(cat "$tmp/$name.json")" = "{\"address\":\"$address\",\"websocket\":\"/peermq\"}"
  lib_check "$name: /peermq.json is application/json" \
    grep -qi '^content-type: application/json' "$tmp/$name.headers"
  lib_check "$name: a missing file is 404" \
    test "$(curl -sk --max-time 10 -o /dev/null -w '%{http_code}' "${url}nope.js")" = 404
  lib_check "$name: .. does not leave the root" \
    test "$(curl -sk --path-as-is --max-time 10 -o /dev/null -w '%{http_code}' "${url}../CMakeCache.txt")" = 404
}

lib_start relay "$bin" relay -listen=127.0.0.1:0 -web=127.0.0.1:0
check_web relay http

lib_start broker "$bin" broker -data="$tmp/data" -listen=127.0.0.1:0 -web=127.0.0.1:0
check_web broker http

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || lib_die "openssl could not make a certificate"
lib_start tls_relay "$bin" relay -listen=127.0.0.1:0 -web=127.0.0.1:0 \
  -web-cert="$tmp/cert.pem" -web-key="$tmp/key.pem"
check_web tls_relay https
lib_start tls_broker "$bin" broker -data="$tmp/data2" -listen=127.0.0.1:0 -web=127.0.0.1:0 \
  -web-cert="$tmp/cert.pem" -web-key="$tmp/key.pem"
check_web tls_broker https

# Mistakes a user makes.
expect() {  # expect CODE PATTERN -- ARGS...
  local code=$1 pattern=$2; shift 3
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$code" ] || ! grep -qE -- "$pattern" "$tmp/err"; then
    lib_fail "peermq $*: exit $got (want $code), stderr:"; cat "$tmp/err"; return
  fi
  lib_ok "peermq $* -> $code: $pattern"
}
expect 2 'go together' -- relay -listen=127.0.0.1:0 -web=127.0.0.1:0 -web-cert="$tmp/cert.pem"
expect 2 'expected IP:PORT' -- relay -listen=127.0.0.1:0 -web=localhost
expect 2 'go together' -- broker -data="$tmp/untouched" -listen=127.0.0.1:0 -web=127.0.0.1:0 \
  -web-key="$tmp/key.pem"
lib_check "a broker with a usage error in its -web flags creates no data directory" \
  test ! -e "$tmp/untouched"
expect 1 "cannot read $tmp/missing.pem" -- relay -listen=127.0.0.1:0 -web=127.0.0.1:0 \
  -web-cert="$tmp/missing.pem" -web-key="$tmp/key.pem"
used=$(sed -n 's|^web: http://127.0.0.1:\([0-9]*\)/$|\1|p' "$(lib_log relay out)")
expect 1 'in use.*choose another -web' -- relay -listen=127.0.0.1:0 -web=127.0.0.1:"$used"

for name in relay broker tls_relay tls_broker; do
  lib_check "$name stops cleanly on TERM" lib_stop "${LIB_PID_OF[$name]}" 10
  lib_check "$name exit status 0" test "$LIB_STATUS" = 0
done
lib_summary
