# FindMsgpack.cmake -- msgpack-c, the C msgpack library, located with
# pkg-config (module msgpack-c or msgpack; Debian package libmsgpack-dev).
#
# Defines Msgpack_FOUND, Msgpack_VERSION, Msgpack_PC_MODULE (the pkg-config
# module that was found, for the Requires.private of a .pc file) and the
# imported target cairn::dep::msgpack.

include(FindPackageHandleStandardArgs)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_search_module(PC_Msgpack QUIET IMPORTED_TARGET GLOBAL msgpack-c msgpack)
endif()

find_package_handle_standard_args(Msgpack
  REQUIRED_VARS PC_Msgpack_MODULE_NAME
  VERSION_VAR PC_Msgpack_VERSION
  REASON_FAILURE_MESSAGE
    "needs pkg-config and libmsgpack-dev (on Debian: scripts/install-deps.sh)")

if(Msgpack_FOUND)
  set(Msgpack_PC_MODULE "${PC_Msgpack_MODULE_NAME}")
  if(NOT TARGET cairn::dep::msgpack)
    add_library(cairn::dep::msgpack INTERFACE IMPORTED)
    target_link_libraries(cairn::dep::msgpack INTERFACE PkgConfig::PC_Msgpack)
  endif()
endif()
