# CairnInstall.cmake -- what `cmake --install` puts where (GNUInstallDirs):
#
#   include/cairn.h, include/cairn/*.h           the public headers
#   lib/libcairn.so.<v>, libcairn.so.<major>,
#   lib/libcairn.so, lib/libcairn.a              the libraries
#   lib/cmake/cairn/cairn-config.cmake, ...      find_package(cairn):
#                                                cairn::cairn, cairn::cairn_static
#   lib/pkgconfig/cairn.pc                       pkg-config cairn
#
# Consumers:
#   find_package(cairn 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE cairn::cairn)
# or
#   cc app.c $(pkg-config --cflags --libs cairn)

include(CMakePackageConfigHelpers)

set(CAIRN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/cairn"
  CACHE STRING "Where cairn-config.cmake is installed, under the prefix")
mark_as_advanced(CAIRN_INSTALL_CMAKEDIR)

install(TARGETS cairn cairn_static
  EXPORT cairnTargets
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(FILES "${PROJECT_SOURCE_DIR}/include/cairn.h"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/cairn/"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/cairn"
  FILES_MATCHING PATTERN "*.h")

install(EXPORT cairnTargets
  NAMESPACE cairn::
  FILE cairn-targets.cmake
  DESTINATION "${CAIRN_INSTALL_CMAKEDIR}")

# cairn-config.cmake finds what cairn::cairn_static links (the shared
# library needs nothing) with the same Find modules the build uses.
set(CAIRN_CONFIG_DEPENDENCIES "")
set(CAIRN_CONFIG_FIND_MODULES "")
set(CAIRN_PC_REQUIRES_PRIVATE "")
set(CAIRN_PC_LIBS_PRIVATE "")
foreach(dep IN LISTS CAIRN_EXTERNAL_DEPS)
  if(dep STREQUAL "cairn::dep::msgpack")
    set(pkg Msgpack)
    list(APPEND CAIRN_PC_REQUIRES_PRIVATE "${Msgpack_PC_MODULE}")
  elseif(dep STREQUAL "cairn::dep::sodium")
    set(pkg Sodium)
    list(APPEND CAIRN_PC_REQUIRES_PRIVATE "${Sodium_PC_MODULE}")
  elseif(dep STREQUAL "cairn::dep::uv")
    set(pkg Libuv)
    list(APPEND CAIRN_PC_REQUIRES_PRIVATE "${Libuv_PC_MODULE}")
  elseif(dep MATCHES "^cairn::dep::mbed")
    set(pkg MbedTLS)
    list(APPEND CAIRN_PC_LIBS_PRIVATE -lmbedtls -lmbedx509 -lmbedcrypto)
  else()
    message(FATAL_ERROR "CairnInstall.cmake: how is ${dep} found by "
      "consumers? Add it here.")
  endif()
  if(NOT pkg IN_LIST CAIRN_CONFIG_FIND_MODULES)
    list(APPEND CAIRN_CONFIG_FIND_MODULES ${pkg})
    string(APPEND CAIRN_CONFIG_DEPENDENCIES
      "find_dependency(${pkg} MODULE)\n")
  endif()
endforeach()
list(REMOVE_DUPLICATES CAIRN_PC_LIBS_PRIVATE)
list(JOIN CAIRN_PC_REQUIRES_PRIVATE ", " CAIRN_PC_REQUIRES_PRIVATE)
list(JOIN CAIRN_PC_LIBS_PRIVATE " " CAIRN_PC_LIBS_PRIVATE)

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/cairn-config.cmake.in"
  "${PROJECT_BINARY_DIR}/cairn-config.cmake"
  INSTALL_DESTINATION "${CAIRN_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cairn-config-version.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
set(find_modules "")
foreach(pkg IN LISTS CAIRN_CONFIG_FIND_MODULES)
  list(APPEND find_modules "${CMAKE_CURRENT_LIST_DIR}/Find${pkg}.cmake")
endforeach()
install(FILES
  "${PROJECT_BINARY_DIR}/cairn-config.cmake"
  "${PROJECT_BINARY_DIR}/cairn-config-version.cmake"
  ${find_modules}
  DESTINATION "${CAIRN_INSTALL_CMAKEDIR}")

# cairn.pc: the prefix is the one given at install time
# (cmake --install --prefix ...), so the file is finished then.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CAIRN_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(CAIRN_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(CAIRN_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(CAIRN_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(CAIRN_PC_PREFIX "@CAIRN_PC_PREFIX@") # kept for the install step
configure_file("${CMAKE_CURRENT_LIST_DIR}/cairn.pc.in"
  "${PROJECT_BINARY_DIR}/cairn.pc.in" @ONLY)
install(CODE "
  file(READ \"${PROJECT_BINARY_DIR}/cairn.pc.in\" pc)
  string(REPLACE \"@CAIRN_PC_PREFIX@\" \"\${CMAKE_INSTALL_PREFIX}\" pc \"\${pc}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/cairn.pc\" \"\${pc}\")
")
install(FILES "${PROJECT_BINARY_DIR}/cairn.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
