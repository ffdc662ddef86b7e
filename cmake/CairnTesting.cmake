# CairnTesting.cmake -- one cmocka executable per test source, registered
# with ctest (STYLE.md, "Tests"; after nng's cmake/NNGHelpers.cmake).
#
#   cairn_add_test(NAME <name> SOURCES <file>... LABELS <label>...
#                  [TIMEOUT <seconds>] [ARGS <arg>...]
#                  [LINK_LIBRARIES <target>...] [ENVIRONMENT <VAR=value>...])
#
# Builds executable cairn-test-<name> from SOURCES, linked with
# cairn_testlib (the library's objects; private *_int.h headers reachable),
# cairn_test_support (tests/support/) and cmocka, and registers it as ctest
# test cairn.<name> with the given labels. Unless TIMEOUT is given, the
# timeout is the largest default of its labels:
#
#   unit 60, vectors 60, crdt 120, store 120, net 120, layering 120,
#   examples 120, prop 300, fuzz-replay 300, integration 300, sim 600,
#   slow 1800; any other label 120.
#
# The test environment has CMOCKA_MESSAGE_OUTPUT=stdout, CAIRN_SOURCE_DIR
# and CAIRN_BINARY_DIR (to find data files), and, in sanitizer builds,
# ASAN_OPTIONS / UBSAN_OPTIONS (or TSAN_OPTIONS) that make the first report
# fatal.
#
# Run a subset with labels: ctest --preset asan -L unit, or -LE slow.

set(CAIRN_LABEL_TIMEOUTS
  unit=60 vectors=60 crdt=120 store=120 net=120 layering=120 examples=120
  prop=300 fuzz-replay=300 integration=300 sim=600 slow=1800)
set(CAIRN_DEFAULT_TEST_TIMEOUT 120)

# The default timeout of a set of labels: the largest.
function(cairn_label_timeout out)
  set(best 0)
  foreach(label IN LISTS ARGN)
    set(t ${CAIRN_DEFAULT_TEST_TIMEOUT})
    foreach(pair IN LISTS CAIRN_LABEL_TIMEOUTS)
      if(pair MATCHES "^${label}=([0-9]+)$")
        set(t ${CMAKE_MATCH_1})
      endif()
    endforeach()
    if(t GREATER best)
      set(best ${t})
    endif()
  endforeach()
  if(best EQUAL 0)
    set(best ${CAIRN_DEFAULT_TEST_TIMEOUT})
  endif()
  set(${out} ${best} PARENT_SCOPE)
endfunction()

# The environment every cairn test runs with.
set(CAIRN_TEST_ENV
  "CMOCKA_MESSAGE_OUTPUT=stdout"
  "CAIRN_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
  "CAIRN_BINARY_DIR=${PROJECT_BINARY_DIR}"
  ${CAIRN_SANITIZER_TEST_ENV})

function(cairn_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 T "" "NAME;TIMEOUT"
    "SOURCES;LABELS;ARGS;LINK_LIBRARIES;ENVIRONMENT")
  if(T_UNPARSED_ARGUMENTS OR NOT T_NAME OR NOT T_SOURCES OR NOT T_LABELS)
    message(FATAL_ERROR "usage: cairn_add_test(NAME <name> SOURCES <file>... "
      "LABELS <label>... [TIMEOUT <s>] [ARGS ...] [LINK_LIBRARIES ...] "
      "[ENVIRONMENT ...]) ${T_UNPARSED_ARGUMENTS}")
  endif()
  string(REGEX REPLACE "[^A-Za-z0-9_.-]" "_" exe "cairn-test-${T_NAME}")
  if(TARGET ${exe})
    message(FATAL_ERROR "cairn_add_test: test '${T_NAME}' is defined twice")
  endif()

  add_executable(${exe} ${T_SOURCES})
  target_link_libraries(${exe} PRIVATE
    cairn_test_support cairn_testlib cairn::dep::cmocka ${T_LINK_LIBRARIES})

  if(T_TIMEOUT)
    set(timeout ${T_TIMEOUT})
  else()
    cairn_label_timeout(timeout ${T_LABELS})
  endif()

  set(env ${CAIRN_TEST_ENV} ${T_ENVIRONMENT})
  add_test(NAME cairn.${T_NAME} COMMAND ${exe} ${T_ARGS})
  set_tests_properties(cairn.${T_NAME} PROPERTIES
    LABELS "${T_LABELS}"
    TIMEOUT ${timeout}
    ENVIRONMENT "${env}")
endfunction()
