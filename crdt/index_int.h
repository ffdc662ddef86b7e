/*
 * index_int.h -- the hash index used by every table of the core.
 *
 * A dense array of records (fields, set elements, documents) stays compact
 * and in insertion order; this index maps hashes to positions in it.
 * Probing is linear and the table is kept at most 3/4 full; deletion shifts
 * later entries back instead of leaving tombstones, so lookups never slow
 * down as a table churns.
 *
 * A slot is 32 bits: its low bits (those under the mask) hold position+1,
 * so zero means empty, and its high bits hold the same high bits of the
 * record's hash. A probe compares those before it reads the record: with a
 * million fields the records fill 48 MB, and reading one per probe was a
 * cache miss each time; the tag keeps probing inside the slot array.
 *
 * The functions take the record's hash and a callback that reads a
 * record's hash or matches it against a key; they are static inline so that
 * each caller's callback is inlined.
 */
#ifndef CAIRN_INDEX_INT_H
#define CAIRN_INDEX_INT_H

#include "crdt_int.h"

#define CAIRN__NOPOS UINT32_MAX

typedef uint32_t (*cairn__hash_at_fn)(const void *tab, uint32_t pos);
typedef bool (*cairn__match_fn)(const void *tab, uint32_t pos, const void *key);

static inline uint32_t cairn__index_cap(const cairn__index *ix)
{
	return ix->slots ? ix->mask + 1 : 0;
}

static inline uint32_t cairn__index_find(const cairn__index *ix, uint32_t hash,
                                         const void *tab, cairn__match_fn match,
                                         const void *key)
{
	if (!ix->slots)
		return CAIRN__NOPOS;
	uint32_t tag = hash & ~ix->mask;
	for (uint32_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
		uint32_t s = ix->slots[i];
		if (s == 0)
			return CAIRN__NOPOS;
		if ((s & ~ix->mask) == tag &&
		    match(tab, (s & ix->mask) - 1, key))
			return (s & ix->mask) - 1;
	}
}

/* As cairn__index_find(), and on a miss, where it stopped (hint). */
static inline uint32_t cairn__index_find_hint(const cairn__index *ix,
                                              uint32_t hash, const void *tab,
                                              cairn__match_fn match,
                                              const void *key,
                                              cairn__slot_hint *hint)
{
	hint->slots = NULL;
	if (!ix->slots)
		return CAIRN__NOPOS;
	uint32_t tag = hash & ~ix->mask;
	for (uint32_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
		uint32_t s = ix->slots[i];
		if (s == 0) {
			hint->slots = ix->slots;
			hint->slot = i;
			return CAIRN__NOPOS;
		}
		if ((s & ~ix->mask) == tag &&
		    match(tab, (s & ix->mask) - 1, key))
			return (s & ix->mask) - 1;
	}
}

/*
 * Start loading the slot a lookup of `hash` reads first. In a table far
 * larger than the caches that load is a miss; a caller with other work to
 * do before its lookup lets the two overlap.
 */
static inline void cairn__index_prefetch(const cairn__index *ix, uint32_t hash)
{
#if defined(__GNUC__)
	if (ix->slots)
		__builtin_prefetch(&ix->slots[hash & ix->mask]);
#else
	(void)ix;
	(void)hash;
#endif
}

/* Place position `pos` (absent) with `hash`; the index must have room. */
static inline void cairn__index_put(cairn__index *ix, uint32_t hash,
                                    uint32_t pos)
{
	uint32_t i = hash & ix->mask;
	while (ix->slots[i] != 0)
		i = (i + 1) & ix->mask;
	ix->slots[i] = (hash & ~ix->mask) | (pos + 1);
}

/*
 * As cairn__index_put(), at the slot a lookup of the same hash stopped at
 * when it is still the one an insert would take: the index was not rebuilt
 * since (a rebuild allocates a new slot array before freeing the old, so
 * the pointers differ) and, as the caller guarantees, nothing was added or
 * deleted in between.
 */
static inline void cairn__index_put_hint(cairn__index *ix, uint32_t hash,
                                         uint32_t pos,
                                         const cairn__slot_hint *hint)
{
	if (hint && hint->slots == ix->slots && ix->slots[hint->slot] == 0)
		ix->slots[hint->slot] = (hash & ~ix->mask) | (pos + 1);
	else
		cairn__index_put(ix, hash, pos);
}

/*
 * Make room for `count` records. Rebuilds from the records' hashes when it
 * grows. 0 or CAIRN_ENOMEM (index unchanged).
 */
static inline int cairn__index_reserve(const cairn_allocator *a,
                                       cairn__index *ix, uint32_t count,
                                       const void *tab,
                                       cairn__hash_at_fn hash_at,
                                       uint32_t present)
{
	uint32_t cap = cairn__index_cap(ix);
	if ((uint64_t)count * 4 <= (uint64_t)cap * 3)
		return 0;
	uint64_t ncap = cap ? cap : 8;
	while ((uint64_t)count * 4 > ncap * 3)
		ncap *= 2;
	if (ncap > (UINT64_C(1) << 31))
		return CAIRN_ENOMEM;
	uint32_t *slots = cairn__alloc(a, (size_t)ncap * sizeof(uint32_t));
	if (!slots)
		return CAIRN_ENOMEM;
	memset(slots, 0, (size_t)ncap * sizeof(uint32_t));
	if (ix->slots)
		cairn__free(a, ix->slots, (size_t)cap * sizeof(uint32_t));
	ix->slots = slots;
	ix->mask = (uint32_t)(ncap - 1);
	/* Records land at random slots of an array that may be far larger
	 * than the caches: fetch the slots of records far enough ahead that
	 * a miss (about 170 ns on the project's machine, some 30 puts) has
	 * landed by the time its put comes, and the misses overlap. */
	for (uint32_t p = 0; p < present; p++) {
		if (p + 32 < present)
			cairn__index_prefetch(ix, hash_at(tab, p + 32));
		cairn__index_put(ix, hash_at(tab, p), p);
	}
	return 0;
}

static inline uint32_t cairn__index_slot_of(const cairn__index *ix,
                                            uint32_t hash, uint32_t pos)
{
	uint32_t i = hash & ix->mask;
	while ((ix->slots[i] & ix->mask) != pos + 1)
		i = (i + 1) & ix->mask;
	return i;
}

/* Remove position `pos` (present, with `hash`), shifting back. */
static inline void cairn__index_del(cairn__index *ix, uint32_t hash,
                                    uint32_t pos, const void *tab,
                                    cairn__hash_at_fn hash_at)
{
	uint32_t i = cairn__index_slot_of(ix, hash, pos);
	for (uint32_t j = (i + 1) & ix->mask;; j = (j + 1) & ix->mask) {
		uint32_t s = ix->slots[j];
		if (s == 0)
			break;
		uint32_t home = hash_at(tab, (s & ix->mask) - 1) & ix->mask;
		/* Move s back into the hole at i unless its home lies
		 * cyclically in (i, j]. */
		bool stays = (i <= j) ? (home > i && home <= j)
		                      : (home > i || home <= j);
		if (!stays) {
			ix->slots[i] = s;
			i = j;
		}
	}
	ix->slots[i] = 0;
}

/* The record at `from` (with `hash`) moved to `to`. */
static inline void cairn__index_move(cairn__index *ix, uint32_t hash,
                                     uint32_t from, uint32_t to)
{
	uint32_t i = cairn__index_slot_of(ix, hash, from);
	ix->slots[i] = (ix->slots[i] & ~ix->mask) | (to + 1);
}

static inline void cairn__index_free(const cairn_allocator *a, cairn__index *ix)
{
	if (ix->slots)
		cairn__free(a, ix->slots,
		            (size_t)cairn__index_cap(ix) * sizeof(uint32_t));
	ix->slots = NULL;
	ix->mask = 0;
}

/*
 * Empty the index of a table whose `present` records all go. A table far
 * smaller than its index (a delta's document, cleared after each write,
 * keeps the index of its largest size) zeroes only its records' slots.
 */
static inline void cairn__index_clear(cairn__index *ix, const void *tab,
                                      cairn__hash_at_fn hash_at,
                                      uint32_t present)
{
	if (!ix->slots)
		return;
	if ((uint64_t)present * 8 > cairn__index_cap(ix)) {
		memset(ix->slots, 0,
		       (size_t)cairn__index_cap(ix) * sizeof(uint32_t));
		return;
	}
	/* In any order: slot_of scans past emptied slots to a record's. */
	for (uint32_t p = 0; p < present; p++)
		ix->slots[cairn__index_slot_of(ix, hash_at(tab, p), p)] = 0;
}

/* ---- the fields of a document ------------------------------------------ */

/*
 * A document of at most CAIRN__SMALL_DOC fields has no index: a lookup
 * compares the hashes of its few records instead, which is cheaper than an
 * index probe and costs no memory. That is most documents, and every
 * document of a delta that gathers a write or two before it is cleared.
 * The index is built from the records when the document outgrows that,
 * and kept when it shrinks again.
 *
 * The lookup and the second step of a staged add (crdt_int.h) are here,
 * inline, for the hot paths of writes and joins.
 */
#define CAIRN__SMALL_DOC 8u

static inline bool cairn__field_match(const void *tab, uint32_t pos,
                                      const void *key)
{
	return cairn__field_named(&((const cairn__field *)tab)[pos], key);
}

/* The field named k, or NULL; then *hint says where an add of the same
 * name goes (see cairn__doc_field_addk). */
static inline cairn__field *cairn__doc_fieldk(const cairn_doc *d,
                                              const cairn__fkey *k,
                                              cairn__slot_hint *hint)
{
	if (!d->fidx.slots) {
		hint->slots = NULL;
		for (uint32_t i = 0; i < d->nfields; i++)
			if (cairn__field_named(&d->fields[i], k))
				return &d->fields[i];
		return NULL;
	}
	uint32_t pos = cairn__index_find_hint(&d->fidx, k->hash, d->fields,
	                                      cairn__field_match, k, hint);
	return pos == CAIRN__NOPOS ? NULL : &d->fields[pos];
}

/* Add the field cairn__doc_field_stage() wrote: index it (hint as for
 * cairn__doc_field_addk) and count it. 0 or CAIRN_ENOMEM. */
static inline int cairn__doc_field_add_staged(const cairn_allocator *a,
                                              cairn_doc *d,
                                              const cairn__slot_hint *hint,
                                              cairn__field **out)
{
	uint32_t count = d->nfields + 1;
	if (d->fidx.slots ? (uint64_t)count * 4 >
	                            (uint64_t)cairn__index_cap(&d->fidx) * 3
	                  : count > CAIRN__SMALL_DOC) {
		int rc = cairn__doc_index_reserve(a, d, count);
		if (rc)
			return rc;
	}
	cairn__field *f = &d->fields[d->nfields];
	if (d->fidx.slots)
		cairn__index_put_hint(&d->fidx, f->hash, d->nfields, hint);
	d->nfields++;
	*out = f;
	return 0;
}

#endif /* CAIRN_INDEX_INT_H */
