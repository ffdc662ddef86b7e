/*
 * blake2b.c -- BLAKE2b as specified in RFC 7693, unkeyed.
 *
 * The core digests its canonical encoding with it (cairn_*_digest), so the
 * digest is part of the wire contract: RFC 7693 Appendix A and the
 * published BLAKE2b-256 values pin it in tests/unit/test_bytes.c.
 *
 * The last block must be compressed with the final flag set, and only
 * final() knows which block is the last, so update() always keeps the
 * newest 1..128 bytes in the buffer and compresses a full buffer only when
 * more input arrives.
 */
#include <string.h>

#include "bytes_int.h"

#define BLOCK 128u

static const uint64_t blake2b_iv[8] = {
        UINT64_C(0x6a09e667f3bcc908), UINT64_C(0xbb67ae8584caa73b),
        UINT64_C(0x3c6ef372fe94f82b), UINT64_C(0xa54ff53a5f1d36f1),
        UINT64_C(0x510e527fade682d1), UINT64_C(0x9b05688c2b3e6c1f),
        UINT64_C(0x1f83d9abfb41bd6b), UINT64_C(0x5be0cd19137e2179),
};

static const uint8_t blake2b_sigma[12][16] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
        {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
        {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
        {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
        {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
        {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
        {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
        {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
        {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static uint64_t rotr64(uint64_t x, unsigned n)
{
	return (x >> n) | (x << (64u - n));
}

static uint64_t load64_le(const uint8_t *p)
{
	return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
	       ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) |
	       ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) |
	       ((uint64_t)p[7] << 56);
}

#define G(a, b, c, d, x, y)                                                    \
	do {                                                                   \
		v[a] = v[a] + v[b] + (x);                                      \
		v[d] = rotr64(v[d] ^ v[a], 32);                                \
		v[c] = v[c] + v[d];                                            \
		v[b] = rotr64(v[b] ^ v[c], 24);                                \
		v[a] = v[a] + v[b] + (y);                                      \
		v[d] = rotr64(v[d] ^ v[a], 16);                                \
		v[c] = v[c] + v[d];                                            \
		v[b] = rotr64(v[b] ^ v[c], 63);                                \
	} while (0)

/* RFC 7693 §3.2, function F. The counter in s->t already includes block. */
static void compress(cairn__blake2b *s, const uint8_t block[BLOCK], bool last)
{
	uint64_t m[16];
	uint64_t v[16];

	for (unsigned i = 0; i < 16; i++)
		m[i] = load64_le(block + 8u * i);
	for (unsigned i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2b_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];

	for (unsigned r = 0; r < 12; r++) {
		const uint8_t *sg = blake2b_sigma[r];
		G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
		G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
		G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
		G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
		G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
		G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
		G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
	}

	for (unsigned i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
}

/* Add n to the 128-bit byte counter. */
static void count(cairn__blake2b *s, size_t n)
{
	s->t[0] += (uint64_t)n;
	if (s->t[0] < (uint64_t)n)
		s->t[1]++;
}

void cairn__blake2b_init(cairn__blake2b *s, size_t outlen)
{
	/* The API has no error path: an out-of-range length means 64. */
	if (outlen == 0 || outlen > 64)
		outlen = 64;
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 8; i++)
		s->h[i] = blake2b_iv[i];
	/* Parameter block: digest length, key length 0, fanout 1, depth 1. */
	s->h[0] ^= UINT64_C(0x01010000) ^ (uint64_t)outlen;
	s->outlen = outlen;
}

void cairn__blake2b_update(cairn__blake2b *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (len == 0)
		return;
	/* Fill the buffer; compress it only if more input follows. */
	if (s->buflen > 0) {
		size_t room = BLOCK - s->buflen;
		size_t n = len < room ? len : room;
		memcpy(s->buf + s->buflen, p, n);
		s->buflen += n;
		p += n;
		len -= n;
		if (len == 0)
			return;
		count(s, BLOCK);
		compress(s, s->buf, false);
		s->buflen = 0;
	}
	/* Whole blocks straight from the input, keeping the last one back. */
	while (len > BLOCK) {
		count(s, BLOCK);
		compress(s, p, false);
		p += BLOCK;
		len -= BLOCK;
	}
	memcpy(s->buf, p, len);
	s->buflen = len;
}

void cairn__blake2b_final(cairn__blake2b *s, uint8_t *out)
{
	count(s, s->buflen);
	memset(s->buf + s->buflen, 0, BLOCK - s->buflen);
	compress(s, s->buf, true);
	for (size_t i = 0; i < s->outlen; i++)
		out[i] = (uint8_t)(s->h[i / 8] >> (8u * (unsigned)(i % 8)));
	memset(s, 0, sizeof(*s));
}
