/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of net/proto/: the control. libsodium is net/proto/'s cryptography, so
 * including it compiles and its calls pass the nm check.
 *
 * EXPECT: clean
 * REQUIRES: cairn::dep::sodium
 */
#include <sodium.h>

int cairn__probe_sodium_allowed(unsigned char out[32]);

int cairn__probe_sodium_allowed(unsigned char out[32])
{
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(out, 32);
	return crypto_generichash(out, 32, out, 32, NULL, 0);
}
