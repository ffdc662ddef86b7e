/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of crdt/: the core may not include mbedtls (TLS belongs to net/io/).
 * It must fail to compile on an identifier poisoned by crdt_guard.h.
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
