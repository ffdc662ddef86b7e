/*
 * net_proto_guard.h -- forced into every net/proto/ source (-include, see
 * cmake/CairnLayering.cmake).
 *
 * net/proto/ is sans-I/O (DESIGN.md section 5): it may use the C library,
 * crdt/, store/ and libsodium, and it turns bytes and `now` into bytes and
 * events. Moving those bytes is the job of net/io/, so the event loop and
 * TLS are out of bounds here. Each identifier below is declared only by a
 * header this layer must not include; poisoning it makes `#include <uv.h>`
 * or `<mbedtls/ssl.h>` a compile error, even though those headers sit in
 * the default include path. libsodium is allowed: nothing of it is
 * poisoned. The probes in cmake/layering/net_proto/ prove that each one
 * still trips.
 */
#ifndef CAIRN_NET_PROTO_GUARD_H
#define CAIRN_NET_PROTO_GUARD_H

/* libuv: <uv.h> */
#pragma GCC poison uv_loop_t uv_run

/* mbedtls: <mbedtls/ssl.h> */
#pragma GCC poison mbedtls_ssl_context mbedtls_ssl_init

#endif /* CAIRN_NET_PROTO_GUARD_H */
