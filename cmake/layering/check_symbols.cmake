# check_symbols.cmake -- fail if objects reference an external symbol their
# layer may not use (DESIGN.md section 9).
#
#   cmake -DNM=<nm> -DALLOW_FILE=<module.allow>
#         (-DOBJECTS_FILE=<list file> | -DOBJECTS=<a.o;b.o>)
#         [-DPROVIDERS_FILE=<list file>] [-DMODULE=<crdt>] [-DSTAMP=<file>]
#         -P check_symbols.cmake
#
# A symbol an object references (nm type U, w or v) is fine if an object in
# OBJECTS or PROVIDERS_FILE defines it (the module itself and the modules it
# may use), or if it matches a line of ALLOW_FILE: one regular expression
# per line, matched against the whole name; `#` starts a comment.
# Each violation is printed as "layering violation: <symbol> in <source>".
# On success, STAMP is touched.
cmake_minimum_required(VERSION 3.25)

foreach(v NM ALLOW_FILE)
  if(NOT ${v})
    message(FATAL_ERROR "check_symbols.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT MODULE)
  set(MODULE "the module")
endif()
if(STAMP)
  file(REMOVE "${STAMP}")
endif()

function(read_list file out)
  set(items "")
  if(file)
    file(STRINGS "${file}" lines)
    foreach(l IN LISTS lines)
      string(STRIP "${l}" l)
      if(NOT l STREQUAL "")
        list(APPEND items "${l}")
      endif()
    endforeach()
  endif()
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

if(OBJECTS_FILE)
  read_list("${OBJECTS_FILE}" OBJECTS)
endif()
read_list("${PROVIDERS_FILE}" providers)
list(APPEND providers ${OBJECTS})
list(REMOVE_DUPLICATES providers)
if(NOT OBJECTS)
  message(FATAL_ERROR "check_symbols.cmake: no objects to check")
endif()

# The allow-list as one alternation, anchored.
file(STRINGS "${ALLOW_FILE}" allow_lines)
set(allow "")
foreach(l IN LISTS allow_lines)
  string(REGEX REPLACE "#.*$" "" l "${l}")
  string(STRIP "${l}" l)
  if(NOT l STREQUAL "")
    list(APPEND allow "${l}")
  endif()
endforeach()
list(JOIN allow "|" allow_re)
set(allow_re "^(${allow_re})$")

# nm -A -P -g: "<object>: <symbol> <type> [<value> <size>]"
function(nm_symbols objects out_prefix)
  execute_process(COMMAND "${NM}" -A -P -g ${objects}
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_symbols.cmake: ${NM} failed (${rc}):\n${err}")
  endif()
  string(REPLACE ";" "\\;" out "${out}")
  string(REPLACE "\n" ";" lines "${out}")
  set(defined "")
  set(refs "")
  foreach(l IN LISTS lines)
    if(l MATCHES "^(.*): ([^ ]+) ([A-Za-z?])( |$)")
      set(obj "${CMAKE_MATCH_1}")
      set(sym "${CMAKE_MATCH_2}")
      if(CMAKE_MATCH_3 MATCHES "^[Uwv]$")
        list(APPEND refs "${sym}|${obj}")
      else()
        list(APPEND defined "${sym}")
      endif()
    endif()
  endforeach()
  set(${out_prefix}_defined "${defined}" PARENT_SCOPE)
  set(${out_prefix}_refs "${refs}" PARENT_SCOPE)
endfunction()

nm_symbols("${providers}" prov)
nm_symbols("${OBJECTS}" mod)

set(bad "")
foreach(ref IN LISTS mod_refs)
  string(REGEX MATCH "^[^|]*" sym "${ref}")
  string(REGEX REPLACE "^[^|]*\\|" "" obj "${ref}")
  if(sym IN_LIST prov_defined OR sym MATCHES "${allow_re}")
    continue()
  endif()
  # build/.../CMakeFiles/cairn_crdt.dir/hlc.c.o -> hlc.c
  set(src "${obj}")
  if(obj MATCHES "\\.dir/(\\./)?(.+)\\.(o|obj)$")
    set(src "${MODULE}/${CMAKE_MATCH_2}")
  endif()
  string(APPEND bad "  layering violation: ${sym} in ${src}\n")
endforeach()

if(bad)
  message(FATAL_ERROR "\n${MODULE}/ references symbols its layer may not "
    "use (DESIGN.md section 9):\n${bad}"
    "Each is neither defined in ${MODULE}/ (or a module it may use) nor "
    "allowed by ${ALLOW_FILE}, whose comments say what the layer may "
    "call and why.\n")
endif()

if(STAMP)
  file(TOUCH "${STAMP}")
endif()
