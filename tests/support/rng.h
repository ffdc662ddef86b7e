/*
 * rng.h -- the tests' seeded pseudo-random generator (xoshiro256**, seeded
 * through splitmix64). Deterministic on every platform: a test that prints
 * its seed can be replayed exactly. Never use rand() in tests.
 */
#ifndef CAIRN_TEST_RNG_H
#define CAIRN_TEST_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rng {
	uint64_t s[4];
} rng;

/* One step of splitmix64: a good 64-bit mix of *state. */
uint64_t rng_splitmix64(uint64_t *state);

/* Seed the generator (any seed, 0 included). */
void rng_seed(rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t rng_u64(rng *r);

/* Uniform in [0, n); n must be > 0 (no modulo bias). */
uint64_t rng_below(rng *r, uint64_t n);

/* Uniform in [lo, hi] (inclusive). */
uint64_t rng_range(rng *r, uint64_t lo, uint64_t hi);

/* true with probability pct/100. */
bool rng_pct(rng *r, unsigned pct);

/* Fill p[0..n) with random bytes. */
void rng_bytes(rng *r, void *p, size_t n);

#endif /* CAIRN_TEST_RNG_H */
