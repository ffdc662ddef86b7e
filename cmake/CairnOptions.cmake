# CairnOptions.cmake -- the build's switches. Every preset turns
# CAIRN_WERROR on; the defaults suit someone building cairn by hand.

option(CAIRN_WERROR "Treat compiler warnings as errors" OFF)
set(CAIRN_SANITIZE "" CACHE STRING
  "Sanitizers for all code, tests included (e.g. address,undefined or thread)")
option(CAIRN_BUILD_TESTS "Build the tests and register them with ctest" ON)
option(CAIRN_BUILD_BENCH "Build the benchmark programs in bench/" ON)
option(CAIRN_BUILD_EXAMPLES "Build the example programs in examples/" ON)
option(CAIRN_BUILD_FUZZ "Build libFuzzer targets in fuzz/ (needs clang)" OFF)
option(CAIRN_COVERAGE "Instrument everything for gcov coverage" OFF)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Debug CACHE STRING "Build type" FORCE)
endif()

# The version in the header and in project() must agree.
file(STRINGS "${PROJECT_SOURCE_DIR}/include/cairn/common.h" _cairn_ver
  REGEX "^#define CAIRN_VERSION_STRING ")
if(NOT _cairn_ver MATCHES "\"${PROJECT_VERSION}\"")
  message(FATAL_ERROR "include/cairn/common.h says ${_cairn_ver}, "
    "but CMakeLists.txt says ${PROJECT_VERSION}: bump both together")
endif()

function(cairn_print_summary)
  get_property(mods GLOBAL PROPERTY CAIRN_MODULES)
  message(STATUS "cairn ${PROJECT_VERSION}: ${CMAKE_BUILD_TYPE}, "
    "${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION}, modules: ${mods}")
  message(STATUS "  werror=${CAIRN_WERROR} sanitize='${CAIRN_SANITIZE}' "
    "coverage=${CAIRN_COVERAGE} tests=${CAIRN_BUILD_TESTS} "
    "bench=${CAIRN_BUILD_BENCH} examples=${CAIRN_BUILD_EXAMPLES} "
    "fuzz=${CAIRN_BUILD_FUZZ} (engine: ${CAIRN_FUZZ_ENGINE})")
endfunction()
