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

# The basic example end to end, with scripts/lib.sh: every wait is bounded, and whatever
# still runs when the script ends, however it ends, is stopped with its process group.
set(basic_run [=[
set -u
source "$2"
bin=$1/build/basic
dir=$1/basic-run
mkdir -p "$dir/run"
export PEERMQ_RUNTIME_DIR="$dir/run"
LIB_LOGS=$dir
show() { for f in "$dir"/*.out "$dir"/*.err; do echo "--- $f"; tail -n 20 "$f"; done; }

lib_start_listener broker "$bin/peermq-basic-broker" -data="$dir/data" -listen=127.0.0.1:0 ||
  { echo "the example broker did not start"; show; exit 1; }
lib_start consumer "$bin/peermq-basic-consumer" -broker="$LIB_ADDRESS" -listen=127.0.0.1:0

timeout -k 5 60 "$bin/peermq-basic-producer" -broker="$LIB_ADDRESS" -listen=127.0.0.1:0 -count=3 \
  -timeout=30 >"$dir/producer.out" 2>"$dir/producer.err"
rc=$?
[ "$rc" -eq 0 ] || { echo "the example producer exited with $rc"; show; exit 1; }
for i in 1 2 3; do
  grep -qx "answer: Hello $i" "$dir/producer.out" || { echo "no answer to Hello $i"; show; exit 1; }
  grep -q "^message [0-9]*: Hello $i\$" "$dir/consumer.out" || { echo "the consumer did not print Hello $i"; show; exit 1; }
done

# SIGTERM: both stop cleanly, within 10 s, with exit code 0.
for name in consumer broker; do
  lib_stop "${LIB_PID_OF[$name]}" 10 || { echo "the $name did not stop within 10 s of SIGTERM"; show; exit 1; }
  [ "$LIB_STATUS" -eq 0 ] || { echo "the $name exited with $LIB_STATUS after SIGTERM"; show; exit 1; }
done
cat "$dir/producer.out"
]=])
file(WRITE ${WORK_DIR}/basic_run.sh "${basic_run}")
step(bash ${WORK_DIR}/basic_run.sh ${WORK_DIR} ${EXAMPLES_SOURCE}/../scripts/lib.sh)
message(STATUS "the basic example ran end to end:\n${step_output}")
