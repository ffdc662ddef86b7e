# CairnModule.cmake -- one OBJECT library per layer of DESIGN.md section 9.
#
#   cairn_module(NAME <name> DIR <dir> [DEPS <dep>...])
#
#   NAME  the module: crdt, store, net_proto, net_io. The target is
#         cairn_<name>.
#   DIR   its source directory; every *.c directly in it is compiled (the
#         list is re-globbed at build time, so new files need no edit).
#   DEPS  what the layer may use, and nothing else is on its include path:
#         cairn modules defined before it, by name (crdt, store, ...; their
#         directories and *_int.h headers become visible, and their objects
#         provide symbols), and external targets (cairn::dep::msgpack, ...).
#
# Every module sees include/ and its own directory, is ISO C11 without
# extensions, position independent, with hidden visibility (CAIRN_API marks
# the exports). The published libraries are assembled from all modules by
# cairn_add_libraries() (CairnLibrary.cmake).
#
# Layering, from cmake/layering/ (see CairnLayering.cmake):
#   <name>_guard.h  forced into every source with -include: #pragma GCC
#                   poison of identifiers only forbidden headers declare;
#   <name>.allow    the external symbols the objects may reference; when it
#                   exists, an nm check after every build enforces it;
#   <name>/*.c      probes, run as ctest tests labelled `layering`, that
#                   prove both checks reject what they should.

function(cairn_module)
  cmake_parse_arguments(PARSE_ARGV 0 M "" "NAME;DIR" "DEPS")
  if(M_UNPARSED_ARGUMENTS OR NOT M_NAME OR NOT M_DIR)
    message(FATAL_ERROR
      "usage: cairn_module(NAME <name> DIR <dir> [DEPS <dep>...])")
  endif()
  if(NOT M_NAME MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "cairn_module: bad module name '${M_NAME}'")
  endif()
  get_property(known GLOBAL PROPERTY CAIRN_MODULES)
  if(M_NAME IN_LIST known)
    message(FATAL_ERROR "cairn_module: '${M_NAME}' is defined twice")
  endif()

  set(tgt cairn_${M_NAME})
  cmake_path(ABSOLUTE_PATH M_DIR BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
    NORMALIZE OUTPUT_VARIABLE dir)
  string(REGEX REPLACE "/$" "" dir "${dir}")

  file(GLOB srcs CONFIGURE_DEPENDS "${dir}/*.c")
  if(NOT srcs)
    # An OBJECT library needs a source; ISO C needs a declaration in it.
    set(placeholder "${CMAKE_CURRENT_BINARY_DIR}/${tgt}_placeholder.c")
    file(CONFIGURE OUTPUT "${placeholder}" CONTENT
      "/* Generated: ${dir} has no C sources yet. */\ntypedef int ${tgt}_placeholder;\n")
    set(srcs "${placeholder}")
  endif()

  add_library(${tgt} OBJECT ${srcs})
  target_include_directories(${tgt}
    PUBLIC "${PROJECT_SOURCE_DIR}/include"
    PRIVATE "${dir}")
  set_target_properties(${tgt} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    C_EXTENSIONS OFF)

  set(mods "")
  set(external "")
  foreach(dep IN LISTS M_DEPS)
    if(dep IN_LIST known)
      list(APPEND mods ${dep})
      get_target_property(dep_dir cairn_${dep} CAIRN_MODULE_DIR)
      target_include_directories(${tgt} PRIVATE "${dep_dir}")
    elseif(TARGET ${dep})
      list(APPEND external ${dep})
      target_link_libraries(${tgt} PRIVATE ${dep})
    else()
      message(FATAL_ERROR "cairn_module(${M_NAME}): DEPS '${dep}' is "
        "neither a cairn module defined before it (${known}) nor a target")
    endif()
  endforeach()

  set_target_properties(${tgt} PROPERTIES
    CAIRN_MODULE_DIR "${dir}"
    CAIRN_MODULE_MODULES "${mods}"
    CAIRN_MODULE_EXTERNAL "${external}")
  set_property(GLOBAL APPEND PROPERTY CAIRN_MODULES ${M_NAME})

  cairn_layering(${M_NAME})
endfunction()
