# FindMbedTLS.cmake -- Mbed TLS 2.x/3.x: the mbedtls, mbedx509 and
# mbedcrypto libraries and their headers (Debian package libmbedtls-dev,
# which ships no pkg-config file).
#
# Defines MbedTLS_FOUND, MbedTLS_VERSION, MbedTLS_INCLUDE_DIR,
# MbedTLS_LIBRARIES and the imported targets
#   cairn::dep::mbedcrypto
#   cairn::dep::mbedx509   (links mbedcrypto)
#   cairn::dep::mbedtls    (links mbedx509; use this one)
# Set MbedTLS_ROOT to search a custom install first.

include(FindPackageHandleStandardArgs)

find_path(MbedTLS_INCLUDE_DIR NAMES mbedtls/ssl.h)
find_library(MbedTLS_mbedtls_LIBRARY NAMES mbedtls)
find_library(MbedTLS_mbedx509_LIBRARY NAMES mbedx509)
find_library(MbedTLS_mbedcrypto_LIBRARY NAMES mbedcrypto)
mark_as_advanced(MbedTLS_INCLUDE_DIR MbedTLS_mbedtls_LIBRARY
  MbedTLS_mbedx509_LIBRARY MbedTLS_mbedcrypto_LIBRARY)

# 3.x moved the version macros to build_info.h.
unset(MbedTLS_VERSION)
foreach(hdr mbedtls/build_info.h mbedtls/version.h)
  if(MbedTLS_INCLUDE_DIR AND EXISTS "${MbedTLS_INCLUDE_DIR}/${hdr}")
    file(STRINGS "${MbedTLS_INCLUDE_DIR}/${hdr}" _mbedtls_ver
      REGEX "^#define[ \t]+MBEDTLS_VERSION_STRING[ \t]+\"[0-9.]+\"")
    if(_mbedtls_ver MATCHES "\"([0-9.]+)\"")
      set(MbedTLS_VERSION "${CMAKE_MATCH_1}")
      break()
    endif()
  endif()
endforeach()

find_package_handle_standard_args(MbedTLS
  REQUIRED_VARS MbedTLS_mbedtls_LIBRARY MbedTLS_mbedx509_LIBRARY
                MbedTLS_mbedcrypto_LIBRARY MbedTLS_INCLUDE_DIR
  VERSION_VAR MbedTLS_VERSION
  REASON_FAILURE_MESSAGE
    "needs libmbedtls-dev (on Debian: scripts/install-deps.sh)")

if(MbedTLS_FOUND)
  set(MbedTLS_LIBRARIES ${MbedTLS_mbedtls_LIBRARY}
    ${MbedTLS_mbedx509_LIBRARY} ${MbedTLS_mbedcrypto_LIBRARY})
  if(NOT TARGET cairn::dep::mbedcrypto)
    add_library(cairn::dep::mbedcrypto UNKNOWN IMPORTED)
    set_target_properties(cairn::dep::mbedcrypto PROPERTIES
      IMPORTED_LOCATION "${MbedTLS_mbedcrypto_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${MbedTLS_INCLUDE_DIR}")
  endif()
  if(NOT TARGET cairn::dep::mbedx509)
    add_library(cairn::dep::mbedx509 UNKNOWN IMPORTED)
    set_target_properties(cairn::dep::mbedx509 PROPERTIES
      IMPORTED_LOCATION "${MbedTLS_mbedx509_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${MbedTLS_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES cairn::dep::mbedcrypto)
  endif()
  if(NOT TARGET cairn::dep::mbedtls)
    add_library(cairn::dep::mbedtls UNKNOWN IMPORTED)
    set_target_properties(cairn::dep::mbedtls PROPERTIES
      IMPORTED_LOCATION "${MbedTLS_mbedtls_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${MbedTLS_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES cairn::dep::mbedx509)
  endif()
endif()
