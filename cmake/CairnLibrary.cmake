# CairnLibrary.cmake -- the libraries, assembled from the module objects.
#
#   cairn          SHARED, alias cairn::cairn; libcairn.so.<major>; only the
#                  CAIRN_API functions are exported (hidden visibility).
#   cairn_static   STATIC, alias cairn::cairn_static; libcairn.a; consumers
#                  get CAIRN_STATIC_DEFINE.
#   cairn_testlib  STATIC, for tests/, fuzz/ and internal benchmarks: also
#                  exposes each module's directory, so *_int.h headers and
#                  cairn__ internals are reachable. Never installed.
#
# Third-party libraries a module uses are private to the shared library and
# link-only for the static one (cairn.pc lists them in Requires.private).

function(cairn_add_libraries)
  get_property(mods GLOBAL PROPERTY CAIRN_MODULES)
  set(objs "")
  set(external "")
  set(private_dirs "")
  foreach(m IN LISTS mods)
    list(APPEND objs "$<TARGET_OBJECTS:cairn_${m}>")
    get_target_property(ext cairn_${m} CAIRN_MODULE_EXTERNAL)
    get_target_property(dir cairn_${m} CAIRN_MODULE_DIR)
    list(APPEND external ${ext})
    list(APPEND private_dirs "${dir}")
  endforeach()
  list(REMOVE_DUPLICATES external)
  set(CAIRN_EXTERNAL_DEPS "${external}" PARENT_SCOPE)

  set(public_include
    "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")

  add_library(cairn SHARED ${objs})
  add_library(cairn::cairn ALIAS cairn)
  target_include_directories(cairn PUBLIC ${public_include})
  target_link_libraries(cairn PRIVATE ${external})
  set_target_properties(cairn PROPERTIES
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}
    C_VISIBILITY_PRESET hidden
    EXPORT_NAME cairn)
  # Every symbol the library needs must resolve at link time. Sanitizer
  # runtimes are linked into executables instead, so not with them.
  if(NOT CAIRN_SANITIZE AND NOT CAIRN_FUZZ_ENGINE
     AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
    target_link_options(cairn PRIVATE "LINKER:-z,defs")
  endif()

  add_library(cairn_static STATIC ${objs})
  add_library(cairn::cairn_static ALIAS cairn_static)
  target_include_directories(cairn_static PUBLIC ${public_include})
  target_compile_definitions(cairn_static PUBLIC CAIRN_STATIC_DEFINE)
  target_link_libraries(cairn_static PRIVATE ${external})
  set_target_properties(cairn_static PROPERTIES
    OUTPUT_NAME cairn
    EXPORT_NAME cairn_static)

  add_library(cairn_testlib STATIC ${objs})
  target_include_directories(cairn_testlib PUBLIC
    "${PROJECT_SOURCE_DIR}/include" ${private_dirs})
  target_compile_definitions(cairn_testlib PUBLIC CAIRN_STATIC_DEFINE)
  target_link_libraries(cairn_testlib PUBLIC ${external})

  # Nothing links before the layering checks pass.
  foreach(lib cairn cairn_static cairn_testlib)
    cairn_layering_gate(${lib})
  endforeach()
endfunction()
