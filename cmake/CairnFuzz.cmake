# CairnFuzz.cmake -- fuzz targets (STYLE.md: one per decoder/engine; corpora
# and past crashers replay under ctest with any compiler).
#
# fuzz/CMakeLists.txt is added when CAIRN_BUILD_FUZZ or CAIRN_BUILD_TESTS is
# on. CAIRN_FUZZ_ENGINE is true only with CAIRN_BUILD_FUZZ and clang (the
# fuzz preset); guard every -fsanitize=fuzzer program with it, or use:
#
#   cairn_add_fuzzer(NAME <name> SOURCES <file>... [CORPUS <dir>...])
#
# SOURCES define LLVMFuzzerTestOneInput() (declare its prototype first:
# -Wmissing-prototypes). The helper builds
#   - with CAIRN_FUZZ_ENGINE: cairn-fuzz-<name>, linked -fsanitize=fuzzer;
#   - with tests and a fuzz/replay.c (a main() that feeds every file named
#     on its command line, or found in the directories named, to
#     LLVMFuzzerTestOneInput): cairn-fuzz-<name>-replay, registered as ctest
#     test cairn.fuzz.<name> (label fuzz-replay) over the CORPUS directories
#     (default: fuzz/corpus/<name> and fuzz/regressions/<name>, those that
#     exist).
# Both link cairn_testlib, so private headers are allowed (DESIGN.md 9).

function(cairn_add_fuzzer)
  cmake_parse_arguments(PARSE_ARGV 0 F "" "NAME" "SOURCES;CORPUS")
  if(F_UNPARSED_ARGUMENTS OR NOT F_NAME OR NOT F_SOURCES)
    message(FATAL_ERROR
      "usage: cairn_add_fuzzer(NAME <name> SOURCES <file>... [CORPUS <dir>...])")
  endif()
  if(NOT F_CORPUS)
    foreach(d corpus regressions)
      if(IS_DIRECTORY "${PROJECT_SOURCE_DIR}/fuzz/${d}/${F_NAME}")
        list(APPEND F_CORPUS "${PROJECT_SOURCE_DIR}/fuzz/${d}/${F_NAME}")
      endif()
    endforeach()
  endif()

  if(CAIRN_FUZZ_ENGINE)
    add_executable(cairn-fuzz-${F_NAME} ${F_SOURCES})
    target_link_libraries(cairn-fuzz-${F_NAME} PRIVATE cairn_testlib)
    if(TARGET cairn_test_support)
      target_link_libraries(cairn-fuzz-${F_NAME} PRIVATE cairn_test_support)
    endif()
    target_link_options(cairn-fuzz-${F_NAME} PRIVATE -fsanitize=fuzzer)
  endif()

  set(replay "${PROJECT_SOURCE_DIR}/fuzz/replay.c")
  if(CAIRN_BUILD_TESTS AND EXISTS "${replay}")
    add_executable(cairn-fuzz-${F_NAME}-replay ${F_SOURCES} "${replay}")
    target_link_libraries(cairn-fuzz-${F_NAME}-replay PRIVATE
      cairn_testlib cairn_test_support)
    cairn_label_timeout(timeout fuzz-replay)
    add_test(NAME cairn.fuzz.${F_NAME}
      COMMAND cairn-fuzz-${F_NAME}-replay ${F_CORPUS})
    set_tests_properties(cairn.fuzz.${F_NAME} PROPERTIES
      LABELS fuzz-replay
      TIMEOUT ${timeout}
      ENVIRONMENT "${CAIRN_TEST_ENV}")
  endif()
endfunction()
