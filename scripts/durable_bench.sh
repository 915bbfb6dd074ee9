#!/usr/bin/env bash
# peermq next to the durable brokers: confirm only once a message is stored, in one run.
#   scripts/durable_bench.sh PEERMQ NATS_PEER RABBITMQ_PEER [RUNS]
#   DURABLE_BENCH_QUICK=1 scripts/durable_bench.sh ...   (or RUNS=1): small counts, one
#                                     run, no warm-up; well under 40 s after the build
# PEERMQ is the peermq binary; NATS_PEER and RABBITMQ_PEER are tests/bench/peers/ built
# (they need nats-server, libnats-dev, rabbitmq-server and librabbitmq-dev: scripts/setup.sh
# bench). 100-byte payloads, one client of each kind per system:
#   confirmed publishes at 1 and 256 in flight: peermq producer -wait=confirm on a broker
#     with -sync=always; RabbitMQ publisher confirms on a quorum queue and on a classic
#     durable queue (persistent messages); NATS JetStream async publishes to a file stream;
#   request -> answer at 256 in flight: the same four, and NATS core request-reply.
# peermq runs on its CLI defaults (broker -sync=always is its default; -stat only prints
# its figures; -listen=127.0.0.1:0 keeps it on loopback); its consumer (no -prefetch, no
# -quiet) prints to /dev/null and stays connected through every workload.
# Messages/s is count / wall time of the client process, timed from outside and alike for
# all (start-up and connection included, as scripts/compare_bench.sh does); p50/p99 are the
# client's own publish-to-confirm or publish-to-answer latencies. Each figure is the median
# of RUNS runs (default 3); within a run the systems alternate, so a busy neighbour slows
# them alike. Queues and streams the publishers filled are purged between runs, untimed
# (kept, so no run pays for creating them).
# Traffic stays on 127.0.0.1. rabbitmq-server is a node of this script's own (its
# RABBITMQ_MNESIA_BASE, node name, ports and its own epmd in a temporary directory), never
# the system service; every process started is stopped on exit, on error and on Ctrl-C.
set -euo pipefail
shopt -s inherit_errexit  # a failing run inside $(...) fails the script
if [ $# -lt 3 ]; then
  echo "usage: $0 PEERMQ NATS_PEER RABBITMQ_PEER [RUNS]" >&2
  exit 2
fi
peermq="$1"
nats_peer="$2"
rabbitmq_peer="$3"
runs="${4:-3}"
quick=0
[ "${DURABLE_BENCH_QUICK:-0}" = 1 ] && runs=1
[ "$runs" = 1 ] && quick=1
for program in "$peermq" "$nats_peer" "$rabbitmq_peer"; do
  [ -x "$program" ] || { echo "$0: $program is not an executable" >&2; exit 2; }
done
command -v nats-server >/dev/null || { echo "$0: nats-server not found (scripts/setup.sh bench)" >&2; exit 2; }
rabbit_sbin=$(find /usr/lib/rabbitmq/lib -maxdepth 2 -path "*/rabbitmq_server-*/sbin" 2>/dev/null | sort | tail -1)
[ -x "$rabbit_sbin/rabbitmq-server" ] ||
  { echo "$0: rabbitmq-server not found (scripts/setup.sh bench)" >&2; exit 2; }

source "$(dirname "$0")/lib.sh"
work=$LIB_TMP
# Messages per run: (1 in flight, 256 in flight); quick mode a tenth or less.
if [ "$quick" = 1 ]; then count_1=200; count_256=3000; else count_1=1000; count_256=30000; fi
count_of() { if [ "$1" = 1 ]; then echo "$count_1"; else echo "$count_256"; fi; }

# Free loopback TCP ports the kernel picks (bound, read, released: RabbitMQ and epmd take a
# port number, not port 0).
free_ports() {
  python3 -c 'import socket
ss = [socket.socket() for _ in range(int(__import__("sys").argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# ---------------------------------------------------------------- peermq
export PEERMQ_RUNTIME_DIR="$work/pm-run"
lib_start_listener pm-broker "$peermq" broker -data="$work/pm-data" -sync=always \
  -listen=127.0.0.1:0 -stat || lib_die "the peermq broker did not start"
pm_broker=$LIB_PID
pm_addr=$LIB_ADDRESS
lib_spawn "$peermq" consumer -broker="$pm_addr" -listen=127.0.0.1:0 \
  </dev/null >/dev/null 2>"$(lib_log pm-consumer err)"
LIB_PID_OF["pm-consumer"]=$LIB_PID
lib_wait_line pm-consumer err "connected to broker" || lib_die "the peermq consumer did not connect"

# ---------------------------------------------------------------- NATS (core and JetStream)
lib_start nats-server nats-server -a 127.0.0.1 -p -1 -js -sd "$work/nats-store"
lib_wait_line nats-server err "Listening for client connections on [0-9.]+:[0-9]+" ||
  lib_die "nats-server did not start"
nats_url="nats://$(grep -oE '[0-9.]+:[0-9]+$' <<<"$LIB_LINE")"
# Flush modes as scripts/compare_bench.sh measured them faster on 2 cores: SendAsap below
# 256 in flight, the client's buffered default from 256; responders SendAsap.
nats_flush() { if [ "$1" -lt 256 ]; then echo asap; else echo batched; fi; }
lib_start nats-responder "$nats_peer" responder -url="$nats_url" -flush=asap
lib_wait_line nats-responder out "^ready" || lib_die "the NATS responder did not start"
lib_start js-responder "$nats_peer" js-responder -url="$nats_url" -stream=RR -subject=durable.rr \
  -flush=asap
lib_wait_line js-responder out "^ready" || lib_die "the JetStream responder did not start"

# ---------------------------------------------------------------- RabbitMQ
read -r amqp_port dist_port epmd_port <<<"$(free_ports 3)"
rabbit="$work/rabbit"
mkdir -p "$rabbit/home"
echo '[].' >"$rabbit/enabled_plugins"  # no plugins: no management listener
rabbit_env=(
  HOME="$rabbit/home"  # the Erlang cookie
  RABBITMQ_NODENAME="durable_bench_$$@localhost"
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$amqp_port"
  RABBITMQ_DIST_PORT="$dist_port" ERL_EPMD_PORT="$epmd_port" ERL_EPMD_ADDRESS=127.0.0.1
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  RABBITMQ_MNESIA_BASE="$rabbit/mnesia" RABBITMQ_LOG_BASE="$rabbit/log"
  RABBITMQ_CONFIG_FILE="$rabbit/none" RABBITMQ_ENABLED_PLUGINS_FILE="$rabbit/enabled_plugins"
  RABBITMQ_PID_FILE="$rabbit/pid"
)
# epmd daemonizes out of the server's process group: end it once the node is gone.
lib_on_exit env ERL_EPMD_PORT="$epmd_port" epmd -kill
lib_start rabbitmq env "${rabbit_env[@]}" "$rabbit_sbin/rabbitmq-server"
lib_wait_line rabbitmq out "Starting broker.*completed" 90 || lib_die "rabbitmq-server did not start"
amqp=(-host=127.0.0.1 -port="$amqp_port")
for type in quorum classic; do
  lib_start "rabbit-responder-$type" "$rabbitmq_peer" responder "${amqp[@]}" -queue="rr-$type" \
    -type="$type"
  lib_wait_line "rabbit-responder-$type" out "^ready" || lib_die "the RabbitMQ $type responder did not start"
done

# ---------------------------------------------------------------- one run
client_command() {  # SYSTEM WORKLOAD(confirm|answer) COUNT INFLIGHT: the client, in cmd
  local k=$4 common=(-count="$3" -inflight="$4" -size=100)
  case "$1,$2" in
    peermq,confirm) cmd=("$peermq" producer -broker="$pm_addr" "${common[@]}" -wait=confirm -listen=127.0.0.1:0) ;;
    peermq,answer) cmd=("$peermq" producer -broker="$pm_addr" "${common[@]}" -listen=127.0.0.1:0) ;;
    quorum,confirm | classic,confirm)
      cmd=("$rabbitmq_peer" publisher "${amqp[@]}" -queue="pub-$1" -type="$1" "${common[@]}") ;;
    quorum,answer | classic,answer)
      cmd=("$rabbitmq_peer" requester "${amqp[@]}" -queue="rr-$1" "${common[@]}") ;;
    jetstream,confirm)
      cmd=("$nats_peer" js-publisher -url="$nats_url" -stream=PUB -subject=durable.pub "${common[@]}"
        -flush="$(nats_flush "$k")") ;;
    jetstream,answer)
      cmd=("$nats_peer" js-requester -url="$nats_url" -subject=durable.rr "${common[@]}"
        -flush="$(nats_flush "$k")") ;;
    nats,answer) cmd=("$nats_peer" requester -url="$nats_url" "${common[@]}" -flush="$(nats_flush "$k")") ;;
    *) lib_die "no client for $1 $2" ;;
  esac
}

empty_store() {  # SYSTEM: what the confirm-only publishers stored goes, untimed
  case "$1" in
    quorum | classic) "$rabbitmq_peer" purge "${amqp[@]}" -queue="pub-$1" >/dev/null ;;
    jetstream) "$nats_peer" js-purge -url="$nats_url" -stream=PUB >/dev/null ;;
  esac
}

run_once() {  # SYSTEM WORKLOAD COUNT INFLIGHT -> "rate p50 p99"
  local s e out="$work/client.out" word=answers
  [ "$2" = confirm ] && word=confirmed
  local cmd
  client_command "$@"
  s=$(lib_now_us)
  # No -timeout flag on peermq's producer (its defaults): the bound is timeout(1), for all.
  timeout 300 "${cmd[@]}" >"$out" 2>"$work/client.err" ||
    lib_die "$1 $2 with $4 in flight failed: $(tail -3 "$out") $(tail -5 "$work/client.err")"
  e=$(lib_now_us)
  [ "$2" = confirm ] && empty_store "$1"
  grep -q "^$word: $3/$3\$" "$out" || lib_die "$1 $2 with $4 in flight: $(tail -3 "$out")"
  local p50 p99
  p50=$(sed -n 's/^latency: p50=\([0-9]*\)us.*/\1/p' "$out")
  p99=$(sed -n 's/^latency: .* p99=\([0-9]*\)us.*/\1/p' "$out")
  awk -v n="$3" -v us=$((e - s)) -v a="$p50" -v b="$p99" 'BEGIN { printf "%.1f %s %s\n", n * 1e6 / us, a, b }'
}

# ---------------------------------------------------------------- the runs
confirm_systems=(peermq quorum classic jetstream)
answer_systems=(peermq quorum classic jetstream nats)
cases=("confirm 1" "confirm 256" "answer 256")
systems_of() { if [ "$1" = confirm ]; then echo "${confirm_systems[*]}"; else echo "${answer_systems[*]}"; fi; }
declare -A rates p50s p99s
if [ "$quick" = 0 ]; then
  for c in "${cases[@]}"; do
    read -r workload inflight <<<"$c"
    for system in $(systems_of "$workload"); do run_once "$system" "$workload" "$(count_of "$inflight")" "$inflight" >/dev/null; done
  done
fi
for _ in $(seq 1 "$runs"); do
  for c in "${cases[@]}"; do
    read -r workload inflight <<<"$c"
    for system in $(systems_of "$workload"); do
      read -r rate p50 p99 <<<"$(run_once "$system" "$workload" "$(count_of "$inflight")" "$inflight")"
      key="$system,$workload,$inflight"
      rates[$key]+="$rate "
      p50s[$key]+="$p50 "
      p99s[$key]+="$p99 "
    done
  done
done
for key in "${!rates[@]}"; do
  rates[$key]=$(lib_median "${rates[$key]}")
  p50s[$key]=$(lib_median "${p50s[$key]}")
  p99s[$key]=$(lib_median "${p99s[$key]}")
done

# ---------------------------------------------------------------- the tables
thousands() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); r = "";
  while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
  print s r }'; }
cell() {  # SYSTEM WORKLOAD INFLIGHT
  local k="$1,$2,$3"
  echo "$(thousands "${rates[$k]}") ($(thousands "${p50s[$k]}") / $(thousands "${p99s[$k]}"))"
}
ratio() {  # OTHER WORKLOAD INFLIGHT: peermq's rate over OTHER's, and p99 over p99
  awk -v a="${rates[peermq,$2,$3]}" -v b="${rates[$1,$2,$3]}" -v pa="${p99s[peermq,$2,$3]}" \
    -v pb="${p99s[$1,$2,$3]}" 'BEGIN { printf "%.2fx, p99 %.2fx\n", a / b, pa / pb }'
}

# Journal records per fdatasync: the broker's last -stat line (printed when it stops).
lib_stop "$pm_broker" 30 || echo "durable_bench: the peermq broker needed SIGKILL" >&2
per_fsync=$(grep "^stat:" "$(lib_log pm-broker out)" | tail -1 |
  sed -n 's/.*records_per_fsync=\([0-9.]*\).*/\1/p')

version() { "$@" 2>/dev/null | head -1 || echo "?"; }
deb() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: rabbitmq-server $(deb rabbitmq-server) (Erlang $(deb erlang-base)), librabbitmq" \
  "$(version pkg-config --modversion librabbitmq), nats-server $(version nats-server --version |
  sed 's/^nats-server: v//'), NATS C client $(version pkg-config --modversion libnats)"
echo "median of $runs run(s)$([ "$quick" = 1 ] && echo ' (quick mode: small counts, no warm-up)');" \
  "messages per run: $count_1 at 1 in flight, $count_256 at 256"
echo
echo "Confirmed publishes, 100-byte persistent messages: confirmed messages/s (p50 / p99" \
  "publish -> confirm latency in us)."
echo
echo "| in flight | peermq -sync=always | RabbitMQ quorum | RabbitMQ classic durable |" \
  "NATS JetStream (file) | peermq / quorum | peermq / classic | peermq / JetStream |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for inflight in 1 256; do
  echo "| $inflight | $(cell peermq confirm $inflight) | $(cell quorum confirm $inflight)" \
    "| $(cell classic confirm $inflight) | $(cell jetstream confirm $inflight)" \
    "| $(ratio quorum confirm $inflight) | $(ratio classic confirm $inflight)" \
    "| $(ratio jetstream confirm $inflight) |"
done
echo
echo "Request -> answer through the broker, 100-byte persistent requests, 256 in flight:" \
  "round trips/s (p50 / p99 publish -> answer latency in us)."
echo
echo "| system | round trips/s (p50 / p99 us) | peermq / it |"
echo "|---|---:|---:|"
declare -A names=([peermq]="peermq -sync=always" [quorum]="RabbitMQ quorum queue" [classic]="RabbitMQ classic durable queue"
  [jetstream]="NATS JetStream (file)" [nats]="NATS core (not durable)")
for system in "${answer_systems[@]}"; do
  r=""
  [ "$system" = peermq ] || r=$(ratio "$system" answer 256)
  echo "| ${names[$system]} | $(cell "$system" answer 256) | $r |"
done
echo
goal() { awk "BEGIN { exit !($1) }" && echo "met" || echo "not met"; }
echo "Goals (issue 14): confirmed publishes at 256 in flight >= 10x the quorum queue with p99" \
  "no worse: $(ratio quorum confirm 256) -> $(goal "${rates[peermq,confirm,256]} >= 10 * ${rates[quorum,confirm,256]} && ${p99s[peermq,confirm,256]} <= ${p99s[quorum,confirm,256]}");" \
  "durable request -> answer at 256 >= NATS core's: $(ratio nats answer 256) ->" \
  "$(goal "${rates[peermq,answer,256]} >= ${rates[nats,answer,256]}")."
echo
echo "What a confirm means here:"
echo "- peermq -sync=always: the broker confirms (and delivers) a message once its journal record" \
  "is fdatasync'ed (group commit: ${per_fsync:-?} journal records per fdatasync over the run)." \
  "Its consumer stays connected on its defaults, so in the confirm rows peermq also delivers" \
  "and answers every message, work the others do not do there."
echo "- RabbitMQ quorum queue: the ack is sent once the message's Raft log entry is written and" \
  "fsynced by a quorum of members (here the only one). A consumer sees a message only once" \
  "committed, so each answer implies a stored request."
echo "- RabbitMQ classic durable queue, persistent messages: the ack is sent once the message" \
  "store has written the message to disk; the store fsyncs in batches (every few hundred ms, or" \
  "when the queue goes idle), so confirms wait for that. Deliveries do not wait for the disk: a" \
  "message consumed and acked first may never be written, and the answer rows carry no confirm."
echo "- NATS JetStream, file storage: the publish ack means the server has appended the message" \
  "to its file store, not that it is on disk: nats-server 2.9 fsyncs the store only in the" \
  "background, every 60 s (the filestore's defaultSyncInterval), and 2.9 has no option to change" \
  "that (2.10 added sync_interval, default 2 min, and sync_interval: always). Its figure is not" \
  "a per-message durability guarantee. NATS core keeps nothing."
echo "- Clients: RabbitMQ with librabbitmq (one connection, one channel, publisher confirms," \
  "responder prefetch 256, direct reply-to); NATS with the C client (async JetStream publishes," \
  "a push consumer with explicit acks); SendAsap below 256 in flight, buffered at 256."
