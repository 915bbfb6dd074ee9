# Installs a peermq build tree into a scratch prefix, then configures and builds
# examples/ as an outside project would: with find_package(peermq) and nothing else.
# Finally runs the example to show the installed library works.
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
