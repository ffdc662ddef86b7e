/*
 * test_crc32c.c -- CRC-32C (store/crc32c.c): published check values,
 * chaining, and every length 0..64 at every alignment against a bitwise
 * reference, which also proves the pasted slicing tables right.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "rng.h"
#include "store_int.h"

/* The definition, one bit at a time: reflected polynomial 0x82F63B78,
 * initial value and final xor 0xFFFFFFFF. */
static uint32_t crc32c_bitwise(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t crc = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		crc ^= b[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void test_check_values(void **state)
{
	(void)state;
	assert_int_equal(cairn__crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(cairn__crc32c(0, "", 0), 0);
	assert_int_equal(cairn__crc32c(0, NULL, 0), 0);
	assert_int_equal(cairn__crc32c(0x12345678u, NULL, 0), 0x12345678u);

	/* RFC 3720 (iSCSI), appendix B.4. */
	uint8_t buf[32];
	memset(buf, 0, sizeof buf);
	assert_int_equal(cairn__crc32c(0, buf, sizeof buf), 0x8A9136AAu);
	memset(buf, 0xFF, sizeof buf);
	assert_int_equal(cairn__crc32c(0, buf, sizeof buf), 0x62A8AB43u);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(cairn__crc32c(0, buf, sizeof buf), 0x46DD794Eu);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(cairn__crc32c(0, buf, sizeof buf), 0x113FDB5Cu);
}

/* Every length 0..64 starting at every offset 0..15 of an aligned buffer:
 * covers the byte prologue, the 8-byte loop and the tail in all their
 * combinations. */
static void test_lengths_and_alignments(void **state)
{
	(void)state;
	_Alignas(16) uint8_t buf[16 + 64];
	rng r;
	rng_seed(&r, 32);
	rng_bytes(&r, buf, sizeof buf);
	for (size_t align = 0; align < 16; align++)
		for (size_t len = 0; len <= 64; len++)
			assert_int_equal(cairn__crc32c(0, buf + align, len),
			                 crc32c_bitwise(buf + align, len));
}

/* crc32c(crc32c(0, a), b) == crc32c(0, a || b) at every split. */
static void test_chaining(void **state)
{
	(void)state;
	uint8_t buf[300];
	rng r;
	rng_seed(&r, 7);
	rng_bytes(&r, buf, sizeof buf);
	uint32_t whole = crc32c_bitwise(buf, sizeof buf);
	assert_int_equal(cairn__crc32c(0, buf, sizeof buf), whole);
	for (size_t cut = 0; cut <= sizeof buf; cut++) {
		uint32_t a = cairn__crc32c(0, buf, cut);
		assert_int_equal(cairn__crc32c(a, buf + cut, sizeof buf - cut),
		                 whole);
	}
	/* Three pieces, and many small random ones. */
	uint32_t c = cairn__crc32c(0, buf, 5);
	c = cairn__crc32c(c, buf + 5, 100);
	c = cairn__crc32c(c, buf + 105, sizeof buf - 105);
	assert_int_equal(c, whole);
	c = 0;
	for (size_t off = 0; off < sizeof buf;) {
		size_t n = (size_t)rng_range(&r, 0, 17);
		if (n > sizeof buf - off)
			n = sizeof buf - off;
		c = cairn__crc32c(c, buf + off, n);
		off += n;
	}
	assert_int_equal(c, whole);
}

/* A large random buffer; also prints the throughput (informational: the
 * test does not fail on a slow machine or a sanitizer build). */
static void test_large(void **state)
{
	(void)state;
	enum { N = 4 << 20 };
	static uint8_t buf[N];
	rng r;
	rng_seed(&r, 99);
	rng_bytes(&r, buf, N);
	uint32_t want = crc32c_bitwise(buf, N);
	assert_int_equal(cairn__crc32c(0, buf, N), want);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint32_t c = 0;
	const int rounds = 16;
	for (int i = 0; i < rounds; i++)
		c ^= cairn__crc32c(0, buf, N);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(c, 0); /* an even number of equal values */
	double s = (double)(t1.tv_sec - t0.tv_sec) +
	           (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (s > 0)
		printf("# crc32c: %.0f MB/s\n", (double)N * rounds / s / 1e6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_check_values),
	        cmocka_unit_test(test_lengths_and_alignments),
	        cmocka_unit_test(test_chaining),
	        cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
