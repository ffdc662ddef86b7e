/*
 * siphash.c -- SipHash-2-4 and SipHash-1-3 (Aumasson and Bernstein,
 * "SipHash: a fast short-input PRF", 2012): c compression rounds per 8-byte
 * word, d finalisation rounds, a 128-bit key and a 64-bit tag.
 *
 * The core keys its hash tables with it, so that a peer who does not know
 * the key cannot choose element names that collide. Words are read in
 * little-endian order whatever the host's (memcpy, so no unaligned loads).
 */
#include <string.h>

#include "bytes_int.h"

static uint64_t rotl64(uint64_t x, unsigned n)
{
	return (x << n) | (x >> (64u - n));
}

static inline uint64_t load64_le(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* One load where the host agrees (compilers do not always merge the
	 * bytes below into one, and names are hashed on every write). */
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
#else
	return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
	       ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) |
	       ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) |
	       ((uint64_t)p[7] << 56);
#endif
}

#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = rotl64(v1, 13);                                           \
		v1 ^= v0;                                                      \
		v0 = rotl64(v0, 32);                                           \
		v2 += v3;                                                      \
		v3 = rotl64(v3, 16);                                           \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = rotl64(v3, 21);                                           \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = rotl64(v1, 17);                                           \
		v1 ^= v2;                                                      \
		v2 = rotl64(v2, 32);                                           \
	} while (0)

static inline uint64_t siphash_cd(const uint8_t key[16], const void *data,
                                  size_t len, unsigned c, unsigned d)
{
	const uint8_t *p = data;
	uint64_t k0 = load64_le(key);
	uint64_t k1 = load64_le(key + 8);
	/* "somepseudorandomlygeneratedbytes" */
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
	size_t left = len;

	while (left >= 8) {
		uint64_t m = load64_le(p);
		v3 ^= m;
		for (unsigned r = 0; r < c; r++)
			SIPROUND;
		v0 ^= m;
		p += 8;
		left -= 8;
	}

	/* The last word: the remaining 0..7 bytes, and len mod 256 on top. */
	uint64_t b = (uint64_t)(len & 0xffu) << 56;
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8u * (unsigned)i);
	v3 ^= b;
	for (unsigned r = 0; r < c; r++)
		SIPROUND;
	v0 ^= b;

	v2 ^= 0xffu;
	for (unsigned r = 0; r < d; r++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t cairn__siphash(const uint8_t key[16], const void *data, size_t len)
{
	return siphash_cd(key, data, len, 2, 4);
}

/*
 * SipHash-1-3: one compression round, three finalisation rounds. The hash
 * tables use it: it still keeps a peer who does not know the key from
 * choosing colliding names, at about half the cost (it is the variant
 * Rust's HashMap and the Linux kernel use for tables).
 */
uint64_t cairn__siphash13(const uint8_t key[16], const void *data, size_t len)
{
	return siphash_cd(key, data, len, 1, 3);
}

/*
 * SipHash-1-3 of a name shorter than 16 bytes that lies zero-padded in 16
 * bytes (as field records keep them): the tail word is a load, not a loop,
 * since the padding is the zeros the tail word would be built with.
 */
uint64_t cairn__siphash13_pad16(const uint8_t key[16], const uint8_t data[16],
                                size_t len)
{
	uint64_t k0 = load64_le(key);
	uint64_t k1 = load64_le(key + 8);
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
	const uint8_t *p = data;
	if (len >= 8) {
		uint64_t m = load64_le(p);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
		p += 8;
	}
	uint64_t b = load64_le(p) | ((uint64_t)len << 56);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xffu;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
