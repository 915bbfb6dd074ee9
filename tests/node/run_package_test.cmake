# Installs a peermq build tree into a scratch prefix, then configures and builds
# examples/ as an outside project would: with find_package(peermq) and nothing else.
# Then runs the examples to show the installed library works: the identity example, and
# the basic example end to end (its broker, its consumer and its producer, on 127.0.0.1,
# finding each other through a runtime directory of their own).
foreach(var PEERMQ_BUILD_DIR EXAMPLES_SOURCE WORK_DIR CMAKE_GENERATOR CXX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_package_test.cmake: ${var} is not set")
  endif()
endforeach()

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
step(${CMAKE_COMMAND} --install ${PEERMQ_BUILD_DIR} --prefix ${WORK_DIR}/prefix)
step(${CMAKE_COMMAND} -S ${EXAMPLES_SOURCE} -B ${WORK_DIR}/build -G ${CMAKE_GENERATOR}
     -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step(${WORK_DIR}/build/identity/peermq-identity ${WORK_DIR}/example.key)
if(NOT step_output MATCHES "address: [a-z2-7]+")
  message(FATAL_ERROR "the example printed no address:\n${step_output}")
endif()
message(STATUS "find_package(peermq) example built and ran: ${step_output}")

# The basic example end to end. Every wait is bounded, and the trap kills whatever is
# still running when the script ends, however it ends.
set(basic_run [=[
set -u
bin=$1/build/basic
dir=$1/basic-run
mkdir -p "$dir/run"
export PEERMQ_RUNTIME_DIR="$dir/run"
pids=""
cleanup() { for p in $pids; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
show() { for f in "$dir"/*.out "$dir"/*.err; do echo "--- $f"; tail -n 20 "$f"; done; }

"$bin/peermq-basic-broker" -data="$dir/data" -listen=127.0.0.1:0 >"$dir/broker.out" 2>"$dir/broker.err" &
broker=$!
pids="$pids $broker"
address=""
for _ in $(seq 150); do
  address=$(sed -n 's/^address: //p' "$dir/broker.out")
  [ -n "$address" ] && grep -q "listening on" "$dir/broker.err" && break
  sleep 0.1
done
[ -n "$address" ] || { echo "the example broker printed no address in 15 s"; show; exit 1; }

"$bin/peermq-basic-consumer" -broker="$address" -listen=127.0.0.1:0 >"$dir/consumer.out" 2>"$dir/consumer.err" &
consumer=$!
pids="$pids $consumer"

timeout -k 5 60 "$bin/peermq-basic-producer" -broker="$address" -listen=127.0.0.1:0 -count=3 \
  -timeout=30 >"$dir/producer.out" 2>"$dir/producer.err"
rc=$?
[ "$rc" -eq 0 ] || { echo "the example producer exited with $rc"; show; exit 1; }
for i in 1 2 3; do
  grep -qx "answer: Hello $i" "$dir/producer.out" || { echo "no answer to Hello $i"; show; exit 1; }
  grep -q "^message [0-9]*: Hello $i\$" "$dir/consumer.out" || { echo "the consumer did not print Hello $i"; show; exit 1; }
done

# SIGTERM: both stop cleanly, within 10 s, with exit code 0.
kill -TERM "$consumer" "$broker"
for p in "$consumer" "$broker"; do
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && { echo "pid $p did not stop within 10 s of SIGTERM"; show; exit 1; }
  wait "$p"; code=$?
  [ "$code" -eq 0 ] || { echo "pid $p exited with $code after SIGTERM"; show; exit 1; }
done
cat "$dir/producer.out"
]=])
file(WRITE ${WORK_DIR}/basic_run.sh "${basic_run}")
step(bash ${WORK_DIR}/basic_run.sh ${WORK_DIR})
message(STATUS "the basic example ran end to end:\n${step_output}")
