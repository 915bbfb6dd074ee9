#!/usr/bin/env bash
# The browser benchmark (issue 13): one browser tab in headless Chromium consuming through a
# local relay next to a CLI consumer, page load to the first answered message, and the size
# of what the page loads. Prints Markdown tables and the command that reproduces them.
#   scripts/web_bench.sh [RUNS] [BUILD_DIR]   RUNS: runs per figure (median; default 3)
#                                             BUILD_DIR: a built tree with web/ (build/release)
# Environment: COUNT messages per measured run (20000), WARMUP messages of the unmeasured
# first run of each row (2000), LEVELS in-flight levels (1,256), PROFILE=1 adds a profiled
# run per level of the tab (CDP Profiler and WebSocket frame counts; not in the medians),
# WEB_ROOT=DIR serves another copy of the page (relay -web-root=; e.g. app.js without its
# message list, to see what the list costs), NODE_MODULES where playwright-core is (tests/browser/node_modules), CHROMIUM (/usr/bin/chromium).
#
# Set-up: `peermq relay -listen=127.0.0.1:0 -web=127.0.0.1:0`, a broker (defaults: -sync=always)
# registered with it by -relay=, and on the same relay either the page, opened as
# WEB_URL?broker=ADDR&commands=bench (WebSocket to the relay, relayed to the broker's UDP), or
# `peermq consumer -broker=ADDR -relay=RELAY@IP:PORT -command=bench`. The producer is
# `peermq producer -broker=ADDR -command=bench -count=N -inflight=K -size=100` (it finds
# the broker on this host through the runtime directory, as `peermq` does without -relay).
# Rate = N / the producer's wall time (start-up and connection included, as in
# scripts/compare_bench.sh); p50/p99 from its latency: line; each a median of RUNS runs after
# one warm-up run. The CLI rows run first, then the tab's (one consumer at a time).
# Non-default flags: -listen=127.0.0.1:0 on the CLI nodes (the default listens on every
# interface; this benchmark stays on loopback), -timeout=300 on producers (every wait is
# bounded), -key/-data in a scratch directory, PEERMQ_RUNTIME_DIR of its own (these nodes see
# only each other). Never fails on a timing; fails if a run does not get all its answers.
set -euo pipefail
shopt -s inherit_errexit
source "$(dirname "$0")/lib.sh"
runs=${1:-3}
build=${2:-$LIB_ROOT/build/release}
count=${COUNT:-20000}
warmup=${WARMUP:-2000}
levels=${LEVELS:-1,256}
node_modules=${NODE_MODULES:-$LIB_ROOT/tests/browser/node_modules}
peermq=$build/peermq
web=${WEB_ROOT:-$build/web}
[ -x "$peermq" ] || lib_die "$peermq is not built (BUILD_DIR: $build)"
[ -f "$web/peermq_web.wasm" ] || lib_die "$web/peermq_web.wasm is missing: configure with -DPEERMQ_BUILD_WEB=ON"
command -v node >/dev/null || lib_die "node is not installed (scripts/setup.sh installs it)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || lib_die "chromium is not installed (scripts/setup.sh installs it)"
[ -d "$node_modules/playwright-core" ] || lib_die "no playwright-core in $node_modules (scripts/setup.sh; or set NODE_MODULES)"
work=$LIB_TMP
[ -z "${KEEP_LOGS:-}" ] || lib_on_exit cp -r "$LIB_TMP" "$KEEP_LOGS"  # to look at afterwards
cmd="scripts/web_bench.sh $runs $build"
[ "$count" = 20000 ] || cmd="COUNT=$count $cmd"
[ "$warmup" = 2000 ] || cmd="WARMUP=$warmup $cmd"
[ "$levels" = 1,256 ] || cmd="LEVELS=$levels $cmd"
[ -z "${PROFILE:-}" ] || cmd="PROFILE=$PROFILE $cmd"
[ -z "${WEB_ROOT:-}" ] || cmd="WEB_ROOT=$WEB_ROOT $cmd"
[ -z "${NODE_MODULES:-}" ] || cmd="NODE_MODULES=$NODE_MODULES $cmd"

export PEERMQ_RUNTIME_DIR=$work/run
lib_start_listener relay "$peermq" relay -key="$work/relay.key" -listen=127.0.0.1:0 \
  -web=127.0.0.1:0 ${WEB_ROOT:+-web-root="$WEB_ROOT"} || lib_die "the relay did not start"
relay=$LIB_ADDRESS
relay_spec="$relay@$LIB_LISTEN"
lib_wait_line relay out '^web: http://127\.0\.0\.1:[0-9]+/$' || lib_die "the relay printed no web: line"
web_url=${LIB_LINE#web: }
lib_start_listener broker "$peermq" broker -key="$work/broker.key" -listen=127.0.0.1:0 \
  -data="$work/data" -relay="$relay_spec" || lib_die "the broker did not start"
broker=$LIB_ADDRESS
lib_wait_line broker err 'registered with relay' || lib_die "the broker did not register with the relay"
producer_flags=(-listen=127.0.0.1:0 -timeout=300)

producer() {  # COUNT INFLIGHT: one producer in the foreground -> "rate p50 p99 seconds"
  local s e out
  s=$(lib_now_us)
  "$peermq" producer -broker="$broker" -command=bench -count="$1" -inflight="$2" -size=100 \
    "${producer_flags[@]}" >"$work/producer.out" 2>"$work/producer.err" ||
    lib_die "the producer ($2 in flight) failed: $(tail -3 "$work/producer.out") $(cat "$work/producer.err")"
  e=$(lib_now_us)
  out=$(tail -n 3 "$work/producer.out")
  [[ "$out" == *"answers: $1/$1"* ]] || lib_die "the producer ($2 in flight): $out"
  awk -v n="$1" -v us=$((e - s)) \
    -v a="$(sed -n 's/^latency: p50=\([0-9]*\)us.*/\1/p' <<<"$out")" \
    -v b="$(sed -n 's/.* p99=\([0-9]*\)us.*/\1/p' <<<"$out")" \
    'BEGIN { printf "%.1f %s %s %.3f\n", n * 1e6 / us, a, b, us / 1e6 }'
}

# ---------------------------------------------------------------- the CLI consumer's rows
lib_start cli "$peermq" consumer -broker="$broker" -relay="$relay_spec" -command=bench \
  -listen=127.0.0.1:0
lib_wait_line cli err "connected to broker" || lib_die "the CLI consumer did not connect"
declare -A rate p50 p99
IFS=, read -ra level_list <<<"$levels"
for k in "${level_list[@]}"; do
  producer "$warmup" "$k" >/dev/null
  for _ in $(seq 1 "$runs"); do
    read -r r a b _ <<<"$(producer "$count" "$k")"
    rate[cli,$k]+="$r "; p50[cli,$k]+="$a "; p99[cli,$k]+="$b "
  done
done
# Its path to the broker, from its log: the last "path: BROKER: ... -> PATH (...)" line.
cli_path=$(grep "path: $broker: " "$(lib_log cli err)" | tail -1 |
  sed -n 's/.* -> \(direct [0-9.:]*\|relayed via [0-9.:]*\) (\([a-z_]*\).*/\1 (\2)/p')
cli_first=$(grep "path: $broker: none -> " "$(lib_log cli err)" | head -1 |
  sed -n 's/.* -> \(direct\|relayed\).*/\1/p')
lib_stop "${LIB_PID_OF[cli]}" 5 || true  # says bye: the broker hands it nothing more

# ---------------------------------------------------------------- the tab's rows and page load
status=0
PEERMQ=$peermq WEB_URL=$web_url BROKER=$broker WORK=$work COMMAND=bench RUNS=$runs \
  COUNT=$count WARMUP=$warmup LEVELS=$levels NODE_MODULES=$node_modules \
  PRODUCER_FLAGS="${producer_flags[*]}" PROFILE=${PROFILE:-0} \
  node "$LIB_ROOT/tests/browser/web_bench.mjs" >"$work/tab.out" 2>"$work/tab.err" || status=$?
if [ "$status" -ne 0 ]; then
  cat "$work/tab.out" "$work/tab.err" >&2
  echo "--- relay"; tail -n 20 "$(lib_log relay err)"
  echo "--- broker"; tail -n 20 "$(lib_log broker err)"
  lib_die "the browser half failed"
fi
for k in "${level_list[@]}"; do
  while read -r _ _ r a b _ _; do
    rate[tab,$k]+="$r "; p50[tab,$k]+="$a "; p99[tab,$k]+="$b "
  done < <(grep "^tab $k " "$work/tab.out")
done
tab_address=$(sed -n 's/^tab-address //p' "$work/tab.out")
tab_path=$(grep "path: $tab_address: " "$(lib_log broker err)" | tail -1 |
  sed -n 's/.* -> \(direct [0-9.:]*\|relayed via [0-9.:]*\) (\([a-z_]*\).*/\1 (\2)/p')

# ---------------------------------------------------------------- tables
thousands() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); r = "";
  while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
  print s r }'; }
med() { lib_median "$1"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(. /etc/os-release && echo "$PRETTY_NAME"), $(/usr/bin/chromium --version 2>/dev/null | head -1)," \
  "node $(node --version); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Messages answered per second by one consumer, 100-byte payloads, one producer on this host" \
  "(median of $runs runs of $(thousands "$count") after a warm-up run of $(thousands "$warmup"))."
echo
echo "| consumer | its path to the broker | in flight | msg/s | p50 us | p99 us | tab / CLI |"
echo "|---|---|---:|---:|---:|---:|---:|"
for k in "${level_list[@]}"; do
  cr=$(med "${rate[cli,$k]}"); tr=$(med "${rate[tab,$k]}")
  echo "| CLI \`peermq consumer\` | ${cli_path:-?}${cli_first:+, first $cli_first} | $k | $(thousands "$cr")" \
    "| $(thousands "$(med "${p50[cli,$k]}")") | $(thousands "$(med "${p99[cli,$k]}")") | |"
  echo "| browser tab (headless Chromium) | WebSocket to the relay, ${tab_path:-relayed (no path line for it in the broker log)} | $k" \
    "| $(thousands "$tr") | $(thousands "$(med "${p50[tab,$k]}")") | $(thousands "$(med "${p99[tab,$k]}")")" \
    "| $(awk -v a="$tr" -v b="$cr" 'BEGIN { printf "%.3f", a / b }') |"
done
echo
echo "Path: the tab always reaches the broker via the relay (WebSocket to it, UDP from it); the CLI" \
  "consumer is given the same -relay= and starts relayed, but on loopback it then goes direct to" \
  "the broker when its log says so (the path column is from its log and the broker's)."
echo
echo "Page load (ms from page.goto() start; one message queued by a waiting producer before the" \
  "page opens; median of $runs):"
echo
echo "| page load | to #address shown | to first answered message (#processed = 1) |"
echo "|---|---:|---:|"
for kind in cold warm; do
  a=$(awk -v k="$kind" '$1 == "load" && $2 == k { print $3 }' "$work/tab.out" | lib_median)
  f=$(awk -v k="$kind" '$1 == "load" && $2 == k { print $4 }' "$work/tab.out" | lib_median)
  what=$([ "$kind" = cold ] && echo "cold: new browser profile (no cache, key generated)" ||
    echo "warm: same profile again (HTTP cache, key from IndexedDB)")
  echo "| $what | $(printf '%.0f' "$a") | $(printf '%.0f' "$f") |"
done
echo
echo "What the page loads (bytes):"
echo
echo "| file | raw | gzip -9 |"
echo "|---|---:|---:|"
total_raw=0 total_gz=0
for f in peermq_web.wasm peermq_web.js peermq.js app.js index.html page.css; do
  raw=$(stat -c %s "$web/$f")
  gz=$(gzip -9 -c "$web/$f" | wc -c)
  total_raw=$((total_raw + raw)) total_gz=$((total_gz + gz))
  echo "| $f | $(thousands "$raw") | $(thousands "$gz") |"
done
echo "| total | $(thousands "$total_raw") | $(thousands "$total_gz") |"
if grep -q '^profile ' "$work/tab.out"; then
  echo
  echo "Profile of the tab (one extra run per level under Chromium's sampling profiler, not in the medians):"
  echo
  sed -n 's/^profile /- /p' "$work/tab.out"
fi
echo
echo "command: $cmd"
