/*
 * ratelimit.c -- the per-address token buckets of a responder's
 * handshakes (link_int.h, "The rate limiter").
 *
 * A fixed array of buckets, an open-addressing index over them (linear
 * probing, at most half full, deletion by backward shift as in
 * replay.c), and a doubly linked recency list through the array, so that
 * finding an address, refreshing it and forgetting the stalest one are
 * all O(1). Nothing is allocated after cairn__ratelimit_init.
 */
#include <string.h>

#include <sodium.h>

#include "bytes_int.h"
#include "crdt_int.h"
#include "link_int.h"

#define NONE UINT32_MAX
#define MILLI 1000u
#define MAX_RATE 1000000u
#define MAX_CAPACITY (1u << 24)

void cairn__ratelimit_config_init(cairn__ratelimit_config *cfg)
{
	cfg->per_second = 20;
	cfg->burst = 5;
	cfg->capacity = 4096;
}

int cairn__ratelimit_init(cairn__ratelimit *rl,
                          const cairn__ratelimit_config *cfg,
                          const cairn_allocator *alloc)
{
	memset(rl, 0, sizeof *rl);
	cairn__ratelimit_config def;
	if (cfg == NULL) {
		cairn__ratelimit_config_init(&def);
		cfg = &def;
	}
	if (cfg->per_second == 0 || cfg->per_second > MAX_RATE ||
	    cfg->burst == 0 || cfg->burst > MAX_RATE || cfg->capacity == 0 ||
	    cfg->capacity > MAX_CAPACITY)
		return CAIRN_EINVAL;
	if (sodium_init() < 0)
		return CAIRN_EIO;
	if (alloc != NULL)
		rl->alloc = *alloc;

	uint32_t slots = 2;
	while (slots < 2 * cfg->capacity)
		slots *= 2;
	rl->entries = cairn__alloc(&rl->alloc,
	                           (size_t)cfg->capacity * sizeof *rl->entries);
	rl->index = cairn__alloc(&rl->alloc, (size_t)slots * sizeof *rl->index);
	if (rl->entries == NULL || rl->index == NULL) {
		cairn__free(&rl->alloc, rl->entries,
		            (size_t)cfg->capacity * sizeof *rl->entries);
		cairn__free(&rl->alloc, rl->index,
		            (size_t)slots * sizeof *rl->index);
		memset(rl, 0, sizeof *rl);
		return CAIRN_ENOMEM;
	}
	memset(rl->index, 0, (size_t)slots * sizeof *rl->index);
	rl->cfg = *cfg;
	rl->mask = slots - 1;
	rl->newest = rl->oldest = NONE;
	randombytes_buf(rl->hash_key, sizeof rl->hash_key);
	return 0;
}

/* ---- the recency list --------------------------------------------------- */

static void unlink_entry(cairn__ratelimit *rl, uint32_t e)
{
	cairn__ratelimit_entry *x = &rl->entries[e];
	if (x->newer != NONE)
		rl->entries[x->newer].older = x->older;
	else
		rl->newest = x->older;
	if (x->older != NONE)
		rl->entries[x->older].newer = x->newer;
	else
		rl->oldest = x->newer;
}

static void push_newest(cairn__ratelimit *rl, uint32_t e)
{
	cairn__ratelimit_entry *x = &rl->entries[e];
	x->newer = NONE;
	x->older = rl->newest;
	if (rl->newest != NONE)
		rl->entries[rl->newest].newer = e;
	rl->newest = e;
	if (rl->oldest == NONE)
		rl->oldest = e;
}

/* ---- the index ---------------------------------------------------------- */

static void index_delete(cairn__ratelimit *rl, uint32_t e)
{
	uint32_t i = rl->entries[e].hash & rl->mask;
	while (rl->index[i] != e + 1)
		i = (i + 1) & rl->mask;
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & rl->mask;
		if (rl->index[j] == 0)
			break;
		uint32_t home = rl->entries[rl->index[j] - 1].hash & rl->mask;
		bool between = i <= j ? (i < home && home <= j)
		                      : (i < home || home <= j);
		if (!between) {
			rl->index[i] = rl->index[j];
			i = j;
		}
	}
	rl->index[i] = 0;
}

/* ---- buckets ------------------------------------------------------------ */

/*
 * Add the tokens earned since the bucket was last seen. A full bucket
 * takes at most burst * 1000 ms to earn at the slowest rate (1 a second),
 * so a longer gap fills it without computing the product, which keeps
 * every number far below 2^64.
 */
static void refill(const cairn__ratelimit *rl, cairn__ratelimit_entry *x,
                   uint64_t now_ms)
{
	uint64_t full = (uint64_t)rl->cfg.burst * MILLI;
	if (now_ms <= x->last_ms)
		return; /* the same millisecond, or a clock that stepped back */
	uint64_t gap = now_ms - x->last_ms;
	x->last_ms = now_ms;
	if (gap >= full) {
		x->tokens = full;
		return;
	}
	/* per_second tokens a second = per_second thousandths a ms. */
	x->tokens += gap * rl->cfg.per_second;
	if (x->tokens > full)
		x->tokens = full;
}

bool cairn__ratelimit_allow(cairn__ratelimit *rl, const uint8_t *key,
                            size_t key_len, uint64_t now_ms)
{
	if (key_len > CAIRN__RATELIMIT_KEY_MAX)
		key_len = CAIRN__RATELIMIT_KEY_MAX;
	uint8_t k[CAIRN__RATELIMIT_KEY_MAX] = {0};
	if (key_len > 0)
		memcpy(k, key, key_len);
	uint32_t h = (uint32_t)cairn__siphash13(rl->hash_key, k, key_len) ^
	             (uint32_t)key_len;

	uint32_t i = h & rl->mask;
	while (rl->index[i] != 0) {
		uint32_t e = rl->index[i] - 1;
		cairn__ratelimit_entry *x = &rl->entries[e];
		if (x->hash == h && x->key_len == key_len &&
		    memcmp(x->key, k, key_len) == 0) {
			refill(rl, x, now_ms);
			unlink_entry(rl, e);
			push_newest(rl, e);
			if (x->tokens < MILLI)
				return false;
			x->tokens -= MILLI;
			return true;
		}
		i = (i + 1) & rl->mask;
	}

	/* A new address: a free entry, or the stalest one's. */
	uint32_t e;
	if (rl->count < rl->cfg.capacity) {
		e = rl->count++;
	} else {
		e = rl->oldest;
		unlink_entry(rl, e);
		index_delete(rl, e);
		i = h & rl->mask;
		while (rl->index[i] != 0)
			i = (i + 1) & rl->mask;
	}
	cairn__ratelimit_entry *x = &rl->entries[e];
	memcpy(x->key, k, sizeof x->key);
	x->key_len = (uint8_t)key_len;
	x->hash = h;
	x->last_ms = now_ms;
	x->tokens = (uint64_t)rl->cfg.burst * MILLI - MILLI;
	rl->index[i] = e + 1;
	push_newest(rl, e);
	return true;
}

void cairn__ratelimit_free(cairn__ratelimit *rl)
{
	if (rl == NULL)
		return;
	if (rl->entries != NULL) {
		cairn__free(&rl->alloc, rl->entries,
		            (size_t)rl->cfg.capacity * sizeof *rl->entries);
		cairn__free(&rl->alloc, rl->index,
		            ((size_t)rl->mask + 1) * sizeof *rl->index);
	}
	memset(rl, 0, sizeof *rl);
}
