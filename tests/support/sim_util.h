/*
 * sim_util.h -- helpers shared by the simulator and the property tests:
 * seed selection from the environment and a counting, failing allocator.
 */
#ifndef CAIRN_TEST_SIM_UTIL_H
#define CAIRN_TEST_SIM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/common.h"

/*
 * Read an unsigned integer (decimal, or 0x-prefixed hex) from environment
 * variable `name`. Returns true and stores it if the variable is set and
 * well formed; false otherwise (a malformed value is reported on stderr).
 */
bool sim_env_u64(const char *name, uint64_t *out);

/*
 * The seeds a seeded test runs: by default 1..default_count; with
 * CAIRN_SIM_SEEDS=N, 1..N; with CAIRN_TEST_SEED=S, S alone.
 * *first and *count describe a range; *single is true for one replayed seed.
 */
void sim_seed_range(uint64_t default_count, uint64_t *first, uint64_t *count,
                    bool *single);

/*
 * A counting allocator for cairn_allocator. Every alloc and realloc call is
 * counted; the call numbered fail_at (1-based; 0 = never) fails, and with
 * `persistent` every later call fails too. Blocks carry a hidden header with
 * their size, so a free or realloc with the wrong size is caught (abort),
 * and live_bytes/live_blocks tell whether everything was freed.
 */
typedef struct fail_alloc {
	uint64_t calls;     /* alloc + realloc calls so far */
	uint64_t fail_at;   /* the call that fails (0: none) */
	bool persistent;    /* fail every call from fail_at on */
	uint64_t failures;  /* calls that failed */
	size_t live_bytes;  /* bytes allocated and not freed */
	size_t live_blocks; /* blocks allocated and not freed */
	size_t peak_bytes;
} fail_alloc;

/* Reset counters (not the live totals) and arm failure at call fail_at. */
void fail_alloc_arm(fail_alloc *fa, uint64_t fail_at, bool persistent);

/* Disarm: every later call succeeds. */
void fail_alloc_disarm(fail_alloc *fa);

/* A cairn_allocator that allocates through *fa. */
cairn_allocator fail_alloc_allocator(fail_alloc *fa);

#endif /* CAIRN_TEST_SIM_UTIL_H */
