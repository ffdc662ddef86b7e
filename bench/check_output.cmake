# check_output.cmake -- run a bench program and check the shape of what it
# prints, not the figures: every stdout line must be exactly
#   {"figure": "<name>", "value": <number>, "unit": "<unit>"}
# and there must be at least one.
#
#   cmake -DPROGRAM=<path> [-DARGS=<a;b>] -P check_output.cmake
cmake_minimum_required(VERSION 3.25)

if(NOT PROGRAM)
  message(FATAL_ERROR "check_output.cmake: set -DPROGRAM=<path>")
endif()
execute_process(COMMAND "${PROGRAM}" ${ARGS}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}:\n${err}")
endif()

string(REGEX REPLACE "\n$" "" out "${out}")
if(out STREQUAL "")
  message(FATAL_ERROR "${PROGRAM} printed nothing on stdout:\n${err}")
endif()
# A list of lines; brackets and semicolons cannot appear in valid lines,
# and a line holding one fails the shape check below anyway.
string(REPLACE ";" "\\;" out "${out}")
string(REPLACE "\n" ";" lines "${out}")

set(seen "")
set(count 0)
foreach(line IN LISTS lines)
  # Exact shape, key order and spacing included.
  if(NOT line MATCHES [[^{"figure": "[a-z0-9_]+", "value": -?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?, "unit": "[A-Za-z/]+"}$]])
    message(FATAL_ERROR "not a figure line: '${line}'")
  endif()
  # And it parses as JSON with exactly these three members.
  string(JSON n ERROR_VARIABLE jerr LENGTH "${line}")
  if(jerr OR NOT n EQUAL 3)
    message(FATAL_ERROR "not a 3-member JSON object: '${line}' ${jerr}")
  endif()
  string(JSON vtype TYPE "${line}" value)
  if(NOT vtype STREQUAL "NUMBER")
    message(FATAL_ERROR "value is not a number: '${line}'")
  endif()
  string(JSON name GET "${line}" figure)
  if(name IN_LIST seen)
    message(FATAL_ERROR "figure '${name}' printed twice")
  endif()
  list(APPEND seen "${name}")
  math(EXPR count "${count} + 1")
endforeach()
message(STATUS "${count} figure lines, all well-formed")
