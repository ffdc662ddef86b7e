# FindSodium.cmake -- libsodium, located with pkg-config (module libsodium;
# Debian package libsodium-dev).
#
# Defines Sodium_FOUND, Sodium_VERSION, Sodium_PC_MODULE (the pkg-config
# module that was found, for the Requires.private of a .pc file) and the
# imported target cairn::dep::sodium.

include(FindPackageHandleStandardArgs)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_search_module(PC_Sodium QUIET IMPORTED_TARGET GLOBAL libsodium)
endif()

find_package_handle_standard_args(Sodium
  REQUIRED_VARS PC_Sodium_MODULE_NAME
  VERSION_VAR PC_Sodium_VERSION
  REASON_FAILURE_MESSAGE
    "needs pkg-config and libsodium-dev (on Debian: scripts/install-deps.sh)")

if(Sodium_FOUND)
  set(Sodium_PC_MODULE "${PC_Sodium_MODULE_NAME}")
  if(NOT TARGET cairn::dep::sodium)
    add_library(cairn::dep::sodium INTERFACE IMPORTED)
    target_link_libraries(cairn::dep::sodium INTERFACE PkgConfig::PC_Sodium)
  endif()
endif()
