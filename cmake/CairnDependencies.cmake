# CairnDependencies.cmake -- the third-party libraries, each behind a small
# Find module in cmake/ that defines a cairn::dep::<name> target:
#
#   cairn::dep::msgpack     msgpack-c (pkg-config)      crdt/
#   cairn::dep::sodium      libsodium (pkg-config)      net/
#   cairn::dep::uv          libuv (pkg-config)          net/io/
#   cairn::dep::mbedtls     mbedtls + x509 + crypto     net/io/ (TLS)
#   cairn::dep::cmocka      cmocka (pkg-config)         tests/
#
# On Debian 12, scripts/install-deps.sh installs all of them.

find_package(Msgpack 3.0 MODULE REQUIRED)

if(CAIRN_BUILD_TESTS)
  find_package(CMocka 1.1 MODULE REQUIRED)
endif()

# Not used by any layer yet: looked for so that net/ can require them and the
# layering tests can prove crdt/ cannot reach them.
find_package(Libuv 1.40 MODULE)
find_package(Sodium 1.0.18 MODULE)
find_package(MbedTLS 2.28 MODULE)
