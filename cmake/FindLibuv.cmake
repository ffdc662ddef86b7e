# FindLibuv.cmake -- libuv, located with pkg-config (module libuv; Debian
# package libuv1-dev).
#
# Defines Libuv_FOUND, Libuv_VERSION, Libuv_PC_MODULE (the pkg-config module
# that was found, for the Requires.private of a .pc file) and the imported
# target cairn::dep::uv.

include(FindPackageHandleStandardArgs)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_search_module(PC_Libuv QUIET IMPORTED_TARGET GLOBAL libuv)
endif()

find_package_handle_standard_args(Libuv
  REQUIRED_VARS PC_Libuv_MODULE_NAME
  VERSION_VAR PC_Libuv_VERSION
  REASON_FAILURE_MESSAGE
    "needs pkg-config and libuv1-dev (on Debian: scripts/install-deps.sh)")

if(Libuv_FOUND)
  set(Libuv_PC_MODULE "${PC_Libuv_MODULE_NAME}")
  if(NOT TARGET cairn::dep::uv)
    add_library(cairn::dep::uv INTERFACE IMPORTED)
    target_link_libraries(cairn::dep::uv INTERFACE PkgConfig::PC_Libuv)
  endif()
endif()
