# CairnSanitizers.cmake -- sanitizers, coverage and the fuzzing engine.
# All of them apply to everything built here (library, tests, programs), so
# instrumented and uninstrumented code never mix.
#
#   CAIRN_SANITIZE=address,undefined  -fsanitize=... -fno-sanitize-recover=all
#                                     -fno-omit-frame-pointer
#   CAIRN_COVERAGE=ON                 --coverage (gcov; gcovr/lcov read it)
#   CAIRN_BUILD_FUZZ=ON with clang    CAIRN_FUZZ_ENGINE=ON: every object is
#                                     built with -fsanitize=fuzzer-no-link
#                                     and fuzz/ links -fsanitize=fuzzer
#
# Sets CAIRN_SANITIZERS (a list: address, undefined, thread, ...) and the
# test environment CAIRN_SANITIZER_TEST_ENV used by cairn_add_test().

include(CheckCSourceCompiles)

set(CAIRN_SANITIZERS "")
set(CAIRN_SANITIZER_TEST_ENV "")

if(CAIRN_SANITIZE)
  string(REPLACE "," ";" CAIRN_SANITIZERS "${CAIRN_SANITIZE}")
  set(_san_compile -fsanitize=${CAIRN_SANITIZE} -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  set(_san_link -fsanitize=${CAIRN_SANITIZE})

  # Fail here, with a fix, rather than at the first link.
  set(CMAKE_REQUIRED_FLAGS "${_san_compile}")
  string(REPLACE ";" " " CMAKE_REQUIRED_FLAGS "${CMAKE_REQUIRED_FLAGS}")
  set(CMAKE_REQUIRED_LINK_OPTIONS ${_san_link})
  set(CMAKE_REQUIRED_QUIET ON)
  check_c_source_compiles("int main(void) { return 0; }"
    CAIRN_SANITIZE_WORKS_${CAIRN_SANITIZE})
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  unset(CMAKE_REQUIRED_QUIET)
  if(NOT CAIRN_SANITIZE_WORKS_${CAIRN_SANITIZE})
    message(FATAL_ERROR "CAIRN_SANITIZE=${CAIRN_SANITIZE}: "
      "${CMAKE_C_COMPILER} cannot build and link with -fsanitize="
      "${CAIRN_SANITIZE}. With gcc, install the runtime (build-essential "
      "brings libasan/libubsan/libtsan); with clang, install "
      "libclang-rt-14-dev (scripts/install-deps.sh --fuzz).")
  endif()

  add_compile_options(${_san_compile})
  add_link_options(${_san_link})

  if("address" IN_LIST CAIRN_SANITIZERS OR "undefined" IN_LIST CAIRN_SANITIZERS)
    list(APPEND CAIRN_SANITIZER_TEST_ENV
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1"
      "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
  endif()
  if("thread" IN_LIST CAIRN_SANITIZERS)
    list(APPEND CAIRN_SANITIZER_TEST_ENV
      "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1")
  endif()
endif()

if(CAIRN_COVERAGE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "CAIRN_COVERAGE needs gcc or clang")
  endif()
  add_compile_options(--coverage)
  add_link_options(--coverage)
endif()

set(CAIRN_FUZZ_ENGINE OFF)
if(CAIRN_BUILD_FUZZ)
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    set(CAIRN_FUZZ_ENGINE ON)
    # Coverage feedback for libFuzzer in every object; the engine's main()
    # is linked only into the fuzz/ programs.
    add_compile_options(-fsanitize=fuzzer-no-link)
  else()
    message(WARNING "CAIRN_BUILD_FUZZ needs clang (libFuzzer); with "
      "${CMAKE_C_COMPILER_ID} only the corpus replay tests are built. "
      "Use the fuzz preset: cmake --preset fuzz")
  endif()
endif()
