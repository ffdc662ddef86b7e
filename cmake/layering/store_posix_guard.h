/*
 * store_posix_guard.h -- forced into every store_posix source (-include, see
 * cmake/CairnLayering.cmake).
 *
 * store/posix/ is the POSIX file system behind the VFS seam; it has no
 * business with the event loop, cryptography or TLS either. Each identifier below is declared only by a header
 * this layer must not include; poisoning it makes `#include <uv.h>`,
 * `<sodium.h>` or `<mbedtls/ssl.h>` a compile error, even though those
 * headers sit in the default include path. The probes in
 * cmake/layering/store_posix/ prove that each one still trips.
 */
#ifndef CAIRN_STORE_POSIX_GUARD_H
#define CAIRN_STORE_POSIX_GUARD_H

/* libuv: <uv.h> */
#pragma GCC poison uv_loop_t uv_run

/* libsodium: <sodium.h>, <sodium/core.h>, secretstream */
#pragma GCC poison sodium_init crypto_secretstream_xchacha20poly1305_state

/* mbedtls: <mbedtls/ssl.h> */
#pragma GCC poison mbedtls_ssl_context mbedtls_ssl_init

#endif /* CAIRN_STORE_POSIX_GUARD_H */
