/*
 * replay.c -- the responder's cache of recently accepted ephemeral keys
 * (link_int.h, "The replay cache").
 *
 * A ring holds the keys in the order they arrived, so the oldest is
 * always the one to forget; an open-addressing index (linear probing, at
 * most half full) finds a key in one or two probes. Forgetting deletes
 * from the index by shifting the rest of the probe run back, so there are
 * no tombstones and lookups never slow down however long the cache runs.
 */
#include <string.h>

#include <sodium.h>

#include "bytes_int.h"
#include "crdt_int.h"
#include "link_int.h"

static uint32_t key_hash(const cairn__replay *rc,
                         const uint8_t key[CAIRN__HS_KEY])
{
	return (uint32_t)cairn__siphash13(rc->hash_key, key, CAIRN__HS_KEY);
}

int cairn__replay_init(cairn__replay *rc, uint32_t capacity,
                       const cairn_allocator *alloc)
{
	memset(rc, 0, sizeof *rc);
	if (capacity == 0 || capacity > CAIRN__REPLAY_MAX_CAPACITY)
		return CAIRN_EINVAL;
	if (sodium_init() < 0)
		return CAIRN_EIO;
	if (alloc != NULL)
		rc->alloc = *alloc;

	uint32_t slots = 2;
	while (slots < 2 * capacity)
		slots *= 2;
	rc->ring =
	        cairn__alloc(&rc->alloc, (size_t)capacity * sizeof *rc->ring);
	rc->index = cairn__alloc(&rc->alloc, (size_t)slots * sizeof *rc->index);
	if (rc->ring == NULL || rc->index == NULL) {
		cairn__free(&rc->alloc, rc->ring,
		            (size_t)capacity * sizeof *rc->ring);
		cairn__free(&rc->alloc, rc->index,
		            (size_t)slots * sizeof *rc->index);
		memset(rc, 0, sizeof *rc);
		return CAIRN_ENOMEM;
	}
	memset(rc->index, 0, (size_t)slots * sizeof *rc->index);
	rc->capacity = capacity;
	rc->mask = slots - 1;
	randombytes_buf(rc->hash_key, sizeof rc->hash_key);
	return 0;
}

/*
 * The index slot that holds ring position pos (which is present). For
 * the oldest entry this is its home slot: only older entries could have
 * pushed it along its probe run, and deleting them shifted it back. The
 * loop is there so that nothing depends on that argument.
 */
static uint32_t slot_of(const cairn__replay *rc, uint32_t pos)
{
	uint32_t i = rc->ring[pos].hash & rc->mask;
	while (rc->index[i] != pos + 1)
		i = (i + 1) & rc->mask;
	return i;
}

/*
 * Remove the entry in index slot i, then move back every later entry of
 * the probe run whose home slot does not lie cyclically in (i, j]: such
 * an entry would otherwise be cut off from its home by the new hole.
 */
static void index_delete(cairn__replay *rc, uint32_t i)
{
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & rc->mask;
		if (rc->index[j] == 0)
			break;
		uint32_t home = rc->ring[rc->index[j] - 1].hash & rc->mask;
		bool between = i <= j ? (i < home && home <= j)
		                      : (i < home || home <= j);
		if (!between) {
			rc->index[i] = rc->index[j];
			i = j;
		}
	}
	rc->index[i] = 0;
}

bool cairn__replay_check_and_add(cairn__replay *rc,
                                 const uint8_t key[CAIRN__HS_KEY])
{
	uint32_t h = key_hash(rc, key);
	uint32_t i = h & rc->mask;
	while (rc->index[i] != 0) {
		const cairn__replay_entry *e = &rc->ring[rc->index[i] - 1];
		if (e->hash == h && memcmp(e->key, key, CAIRN__HS_KEY) == 0)
			return true;
		i = (i + 1) & rc->mask;
	}

	uint32_t pos;
	if (rc->count < rc->capacity) {
		pos = (rc->oldest + rc->count) % rc->capacity;
		rc->count++;
	} else {
		/* Full: the oldest key gives up its ring position. Its
		 * removal may shift the run the new key probed, so probe
		 * again afterwards. */
		pos = rc->oldest;
		index_delete(rc, slot_of(rc, pos));
		rc->oldest = (rc->oldest + 1) % rc->capacity;
		i = h & rc->mask;
		while (rc->index[i] != 0)
			i = (i + 1) & rc->mask;
	}
	memcpy(rc->ring[pos].key, key, CAIRN__HS_KEY);
	rc->ring[pos].hash = h;
	rc->index[i] = pos + 1;
	return false;
}

void cairn__replay_free(cairn__replay *rc)
{
	if (rc == NULL)
		return;
	if (rc->ring != NULL) {
		cairn__free(&rc->alloc, rc->ring,
		            (size_t)rc->capacity * sizeof *rc->ring);
		cairn__free(&rc->alloc, rc->index,
		            ((size_t)rc->mask + 1) * sizeof *rc->index);
	}
	memset(rc, 0, sizeof *rc);
}
