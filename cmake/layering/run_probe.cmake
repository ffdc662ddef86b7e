# run_probe.cmake -- compile one layering probe with its module's exact
# flags and check that the layering rules treat it as its header says.
#
#   cmake -DPROBE=<probe.c> -DFLAGS_FILE=<build>/layering/<module>-flags.cmake
#         -DWORK_DIR=<dir> [-DEXTRA_INCLUDES=<a|b>] -P run_probe.cmake
#
# The probe's comment carries one line "EXPECT: <what>":
#   EXPECT: poisoned          compilation must fail on a poisoned identifier
#                             (the module's guard header caught an include);
#   EXPECT: violations a b c  it must compile, and the nm check with the
#                             module's allow-list must fail, naming each of
#                             a, b, c;
#   EXPECT: clean             it must compile and pass the nm check (the
#                             control: the flags themselves work).
# and optionally "REQUIRES: <target>..." (read by CairnLayering.cmake).
cmake_minimum_required(VERSION 3.25)

foreach(v PROBE FLAGS_FILE WORK_DIR)
  if(NOT ${v})
    message(FATAL_ERROR "run_probe.cmake: -D${v}=... is required")
  endif()
endforeach()
include("${FLAGS_FILE}")

file(STRINGS "${PROBE}" expect REGEX "EXPECT:")
if(NOT expect MATCHES "EXPECT:[ \t]*([a-z]+)[ \t]*([^*]*)")
  message(FATAL_ERROR "${PROBE}: no 'EXPECT: poisoned|violations ...|clean'")
endif()
set(mode "${CMAKE_MATCH_1}")
string(STRIP "${CMAKE_MATCH_2}" symbols)
separate_arguments(symbols UNIX_COMMAND "${symbols}")

# The module's compile line: flags, standard, PIC, visibility, definitions,
# include directories (the project's with -I, the others as system ones,
# as CMake does for imported targets), and its compile options, which carry
# the guard header, the warnings and the sanitizers.
separate_arguments(args UNIX_COMMAND "${PROBE_C_FLAGS}")
list(APPEND args ${PROBE_STD} ${PROBE_PIC} ${PROBE_VISIBILITY})
foreach(d IN LISTS PROBE_DEFINITIONS)
  list(APPEND args "-D${d}")
endforeach()
foreach(i IN LISTS PROBE_INCLUDES)
  set(flag -isystem)
  foreach(p IN LISTS PROBE_PROJECT_DIRS)
    cmake_path(IS_PREFIX p "${i}" NORMALIZE own)
    if(own)
      set(flag -I)
    endif()
  endforeach()
  list(APPEND args ${flag} "${i}")
endforeach()
string(REPLACE "|" ";" EXTRA_INCLUDES "${EXTRA_INCLUDES}")
foreach(i IN LISTS EXTRA_INCLUDES)
  if(NOT i STREQUAL "")
    list(APPEND args -isystem "${i}")
  endif()
endforeach()
list(APPEND args ${PROBE_OPTIONS})

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(obj "${WORK_DIR}/probe.o")
set(cmd "${PROBE_CC}" ${args} -c "${PROBE}" -o "${obj}")
execute_process(COMMAND ${cmd} OUTPUT_VARIABLE out ERROR_VARIABLE out
  RESULT_VARIABLE rc)
list(JOIN cmd " " shown)
message("probe: ${PROBE} (${PROBE_MODULE}/, expect ${mode} ${symbols})\n"
  "$ ${shown}\n${out}exit: ${rc}")

if(mode STREQUAL "poisoned")
  if(rc EQUAL 0)
    message(FATAL_ERROR "FAIL: ${PROBE} compiled with the flags of "
      "${PROBE_MODULE}/; its guard header no longer rejects this include")
  endif()
  if(NOT out MATCHES "poisoned")
    message(FATAL_ERROR "FAIL: ${PROBE} failed to compile, but not on a "
      "poisoned identifier: it proves nothing (see the output above)")
  endif()
  message("PASS: ${PROBE_MODULE}/ cannot compile it (poisoned identifier)")
  return()
endif()

if(NOT rc EQUAL 0)
  message(FATAL_ERROR "FAIL: ${PROBE} must compile with the flags of "
    "${PROBE_MODULE}/ (see the output above)")
endif()
if(NOT PROBE_ALLOW OR NOT PROBE_NM)
  message(FATAL_ERROR "FAIL: ${PROBE_MODULE}/ has no symbol check "
    "(no allow-list or no nm)")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" "-DNM=${PROBE_NM}" "-DMODULE=${PROBE_MODULE}"
    "-DOBJECTS=${obj}" "-DALLOW_FILE=${PROBE_ALLOW}"
    -P "${PROBE_CHECK_SCRIPT}"
  OUTPUT_VARIABLE check ERROR_VARIABLE check RESULT_VARIABLE check_rc)
message("symbol check: exit ${check_rc}\n${check}")

if(mode STREQUAL "clean")
  if(NOT check_rc EQUAL 0)
    message(FATAL_ERROR "FAIL: the control probe must pass the symbol check")
  endif()
  message("PASS: the control compiles and passes the symbol check")
elseif(mode STREQUAL "violations")
  if(check_rc EQUAL 0)
    message(FATAL_ERROR "FAIL: the symbol check accepted ${PROBE}")
  endif()
  foreach(s IN LISTS symbols)
    if(NOT check MATCHES "layering violation: ${s} in ")
      message(FATAL_ERROR "FAIL: the symbol check did not reject ${s}")
    endif()
  endforeach()
  message("PASS: the symbol check rejects: ${symbols}")
else()
  message(FATAL_ERROR "${PROBE}: unknown EXPECT mode '${mode}'")
endif()
