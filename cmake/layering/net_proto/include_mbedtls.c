/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of net/proto/: the sans-I/O engines may not include mbedtls (TLS is an
 * outer layer of net/io/). It must fail to compile on an identifier
 * poisoned by net_proto_guard.h.
 *
 * EXPECT: poisoned
 * REQUIRES: cairn::dep::mbedtls
 */
#include <mbedtls/ssl.h>

int cairn__probe_include_mbedtls(void);

int cairn__probe_include_mbedtls(void)
{
	return 0;
}
