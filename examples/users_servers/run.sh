#!/usr/bin/env bash
# The seed's users_servers example, end to end on this host: a broker that serves the web
# consumer, a CLI consumer of num_users and num_servers, and two producers, one per
# command, asking every second. Open the URL it prints (the page consumes both commands
# too, competing with the CLI consumer); Ctrl+C stops everything.
#   examples/users_servers/run.sh [BUILD_DIR (build/release)] [WEB (127.0.0.1:8094)]
# BUILD_DIR: a build with -DPEERMQ_BUILD_EXAMPLES=ON -DPEERMQ_BUILD_WEB=ON.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
build=$(cd "${1:-$LIB_ROOT/build/release}" && pwd)
web=${2:-127.0.0.1:8094}
bin=$build/examples/users_servers
[ -x "$bin/peermq-users-servers-broker" ] && [ -f "$build/web/peermq_web.wasm" ] ||
  lib_die "build it first: cmake -S . -B $build -DPEERMQ_BUILD_EXAMPLES=ON -DPEERMQ_BUILD_WEB=ON && cmake --build $build"
export PEERMQ_RUNTIME_DIR=$LIB_TMP/run  # these nodes see only each other

lib_start broker "$bin/peermq-users-servers-broker" -data="$LIB_TMP/data" -web="$web" \
  -web-root="$build/web"
lib_wait_line broker out '^address: ' || lib_die "the broker did not start"
broker=${LIB_LINE#address: }
lib_wait_line broker out '^web: ' || lib_die "the broker serves no web page"
url="${LIB_LINE#web: }?broker=$broker&commands=num_users,num_servers"
echo "broker address: $broker"
echo "open the web consumer: $url"

lib_start consumer "$bin/peermq-users-servers-consumer" -broker="$broker"
lib_start producer-1 "$bin/peermq-users-servers-producer" -broker="$broker" -name=producer-1 \
  -command=num_users
lib_start producer-2 "$bin/peermq-users-servers-producer" -broker="$broker" -name=producer-2 \
  -command=num_servers
echo "--- the producers' answers (Ctrl+C stops everything)"
tail -n +1 -F "$(lib_log producer-1 out)" "$(lib_log producer-2 out)" "$(lib_log consumer out)"
