/*
 * rng.c -- xoshiro256** (Blackman and Vigna, 2018), seeded through
 * splitmix64 as its authors recommend.
 */
#include "rng.h"

uint64_t rng_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void rng_seed(rng *r, uint64_t seed)
{
	uint64_t st = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix64(&st);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_u64(rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t rng_below(rng *r, uint64_t n)
{
	/* Rejection sampling: drop the top partial range of 2^64 mod n. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do {
		x = rng_u64(r);
	} while (x >= limit);
	return x % n;
}

uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi)
{
	if (hi - lo == UINT64_MAX)
		return rng_u64(r);
	return lo + rng_below(r, hi - lo + 1);
}

bool rng_pct(rng *r, unsigned pct)
{
	return rng_below(r, 100) < pct;
}

void rng_bytes(rng *r, void *p, size_t n)
{
	unsigned char *out = p;
	while (n > 0) {
		uint64_t x = rng_u64(r);
		for (int i = 0; i < 8 && n > 0; i++, n--)
			*out++ = (unsigned char)(x >> (8 * i));
	}
}
