# FindCMocka.cmake -- the cmocka unit testing library, located with pkg-config
# (module cmocka; Debian package libcmocka-dev).
#
# Defines CMocka_FOUND, CMocka_VERSION, CMocka_PC_MODULE (the pkg-config
# module that was found, for the Requires.private of a .pc file) and the
# imported target cairn::dep::cmocka.

include(FindPackageHandleStandardArgs)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_search_module(PC_CMocka QUIET IMPORTED_TARGET GLOBAL cmocka)
endif()

find_package_handle_standard_args(CMocka
  REQUIRED_VARS PC_CMocka_MODULE_NAME
  VERSION_VAR PC_CMocka_VERSION
  REASON_FAILURE_MESSAGE
    "needs pkg-config and libcmocka-dev (on Debian: scripts/install-deps.sh)")

if(CMocka_FOUND)
  set(CMocka_PC_MODULE "${PC_CMocka_MODULE_NAME}")
  if(NOT TARGET cairn::dep::cmocka)
    add_library(cairn::dep::cmocka INTERFACE IMPORTED)
    target_link_libraries(cairn::dep::cmocka INTERFACE PkgConfig::PC_CMocka)
  endif()
endif()
