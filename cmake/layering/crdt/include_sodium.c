/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of crdt/: the core may not include libsodium (cryptography belongs to net/).
 * It must fail to compile on an identifier poisoned by crdt_guard.h.
 *
 * EXPECT: poisoned
 * REQUIRES: cairn::dep::sodium
 */
#include <sodium.h>

int cairn__probe_include_sodium(void);

int cairn__probe_include_sodium(void)
{
	return 0;
}
