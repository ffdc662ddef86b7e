/*
 * join.c -- the join of a document fragment into a document.
 *
 * The rule (Almeida et al., delta-state CRDTs): an entry survives if both
 * sides hold it, or if one side holds it and the other side's context does
 * not cover its dot; the contexts unite. A covered dot with no entry is an
 * observed removal, so no tombstone is needed.
 *
 * What "the other side's context" is depends on where a dot lives. The
 * source's document-wide context covers every field; its removals scoped to
 * a field cover that field's entries (register values and set members);
 * removals scoped to an element cover that element's dots; and the source's
 * own entries cover their own dots. A join therefore visits only the fields
 * and elements the source names, unless the source carries a document-wide
 * context (a state copy), in which case every field of the destination is
 * checked against it.
 *
 * A destination that belongs to a replica is a state: its context covers all
 * its entries and removals. A destination that belongs to a delta keeps the
 * removals scoped where they came from, so the delta stays a delta.
 *
 * Order matters for the invariant of DESIGN.md §2: entries are joined first,
 * and the dots they bring enter the destination's context only at the end.
 * If an allocation fails part way, the destination holds a part of the join
 * that is itself a valid state, and joining the same source again finishes.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt_int.h"
#include "index_int.h"

typedef struct join_ctx {
	const cairn_allocator *a;
	const uint8_t *key; /* the destination's hash key */
	bool same_key;      /* source hashes are valid in the destination */
	cairn_doc *dst;
	const cairn_doc *src;
	bool state;    /* the destination is a replica's document */
	bool src_ctx;  /* the source has a document-wide context */
	uint32_t *map; /* source writer -> destination writer */
	uint32_t *inv; /* destination writer -> source writer, or
	                  UINT32_MAX; NULL if it could not be made */
	uint32_t ninv;
	cairn__dots collect; /* dots for the destination's context (state) */
	bool changed;        /* an entry, a dot or a removal came in */
	cairn__dots tmp_live, tmp_rm;
	cairn__fkey fk;        /* the name of the field being joined */
	cairn__slot_hint hint; /* where its lookup stopped in the destination */
} join_ctx;

/* Is (w, c) in a list sorted by (writer, counter)? A binary search, not
 * bsearch: its calls through a comparator cost more than these short
 * lists. */
static inline bool sorted_has(const cairn__dot *dots, uint32_t n, uint32_t w,
                              uint64_t c)
{
	if (n <= 8) /* most: an overwrite removes a dot or two */
		return cairn__dots_has(dots, n, w, c);
	uint32_t i = cairn__dots_lower(dots, n, w, c);
	return i < n && dots[i].writer == w && dots[i].counter == c;
}

/*
 * The source's writer index for a destination writer, or UINT32_MAX. The
 * destination's writers that came from the source are in j->map; the
 * inverse is filled in once (writers added later by this join all come
 * from the source, through j->map, and are found there too).
 */
static uint32_t src_writer(const join_ctx *j, uint32_t dw)
{
	if (j->inv && dw < j->ninv)
		return j->inv[dw];
	return cairn__ctx_find(&j->src->ctx, j->dst->ctx.rid[dw]);
}

/*
 * Does the source cover the destination dot (dw, c) within a field
 * (sf may be NULL) and an element (sx may be NULL)?
 */
static inline bool src_covers(const join_ctx *j, const cairn__field *sf,
                              const cairn__elem *sx, uint32_t dw, uint64_t c)
{
	uint32_t sw = src_writer(j, dw);
	if (sw == UINT32_MAX)
		return false;
	if (j->src_ctx && cairn__ctx_has(&j->src->ctx, sw, c))
		return true;
	const cairn__ext *x = sf ? cairn__field_ext(sf) : NULL;
	if (x && sorted_has(x->rm, x->nrm, sw, c))
		return true;
	if (sx) {
		const cairn__dot *live, *rm;
		cairn__elem_dots(sx, &live, &rm);
		if (cairn__dots_has(live, sx->ndots, sw, c) ||
		    cairn__dots_has(rm, sx->nrm, sw, c))
			return true;
	}
	return false;
}

/* Does the destination cover its own dot (dw, c) in that scope? */
static inline bool dst_covers(const join_ctx *j, const cairn__field *df,
                              const cairn__elem *dx, uint32_t dw, uint64_t c)
{
	if (cairn__ctx_has(&j->dst->ctx, dw, c))
		return true;
	if (j->state)
		return false;
	const cairn__ext *x = df ? cairn__field_ext(df) : NULL;
	if (x && sorted_has(x->rm, x->nrm, dw, c))
		return true;
	if (dx) {
		const cairn__dot *live, *rm;
		cairn__elem_dots(dx, &live, &rm);
		if (cairn__dots_has(rm, dx->nrm, dw, c))
			return true;
	}
	return false;
}

/* Remember a source dot for the destination's context (states only).
 * Inline: a join into a state calls it for every entry. */
static inline int collect(join_ctx *j, uint32_t sw, uint64_t c)
{
	if (!j->state)
		return 0;
	/* A state's own context already holds its entries' dots. */
	if (j->src_ctx && cairn__ctx_has(&j->src->ctx, sw, c))
		return 0;
	/* Dots the destination has already stay out: the list then holds
	 * only new dots, usually already in order, and needs no sort. */
	uint32_t dw = j->map[sw];
	if (cairn__ctx_has(&j->dst->ctx, dw, c))
		return 0;
	return cairn__dots_push(j->a, &j->collect, (cairn__dot){c, dw});
}

static inline bool reg_has(const cairn__field *f, uint32_t w, uint64_t c)
{
	const cairn__entry *reg = cairn__field_reg(f);
	uint32_t n = cairn__field_nreg(f);
	for (uint32_t i = 0; i < n; i++)
		if (reg[i].writer == w && CAIRN__META_COUNTER(reg[i].meta) == c)
			return true;
	return false;
}

static int ensure_field(join_ctx *j, const cairn__field *sf, cairn__field **df)
{
	if (*df)
		return 0;
	/* The first field added since join_field() looked it up. */
	int rc = cairn__doc_field_addk(j->a, j->dst, &j->fk, &j->hint, df);
	if (rc)
		return rc;
	(*df)->policy = j->dst->owner ? (uint8_t)cairn__field_policy(
	                                        j->dst->owner, j->dst,
	                                        cairn__fname(sf), sf->name_len)
	                              : sf->policy;
	return 0;
}

static int join_reg(join_ctx *j, const cairn__field *sf, cairn__field **dfp)
{
	cairn__field *df = *dfp;
	/* Destination entries the source saw removed go. */
	if (df) {
		const cairn__entry *reg = cairn__field_reg(df);
		for (uint32_t i = cairn__field_nreg(df); i-- > 0;) {
			uint32_t dw = reg[i].writer;
			uint64_t c = CAIRN__META_COUNTER(reg[i].meta);
			uint32_t sw = src_writer(j, dw);
			if (sw != UINT32_MAX && reg_has(sf, sw, c))
				continue;
			if (src_covers(j, sf, NULL, dw, c)) {
				cairn__reg_remove(j->a, df, i);
				reg = cairn__field_reg(df);
				j->changed = true;
			}
		}
	}
	/* Source entries the destination has not seen come in. */
	const cairn__entry *sreg = cairn__field_reg(sf);
	uint32_t sn = cairn__field_nreg(sf);
	for (uint32_t i = 0; i < sn; i++) {
		uint32_t dw = j->map[sreg[i].writer];
		uint64_t c = CAIRN__META_COUNTER(sreg[i].meta);
		if (df && reg_has(df, dw, c))
			continue;
		if (dst_covers(j, df, NULL, dw, c))
			continue;
		int rc = ensure_field(j, sf, &df);
		*dfp = df;
		if (rc)
			return rc;
		cairn__entry e = sreg[i];
		e.writer = dw;
		cairn_type type = CAIRN__META_TYPE(e.meta);
		rc = cairn__payload_copy(j->a, &sreg[i].v, type, e.vlen, &e.v);
		if (rc)
			return rc;
		rc = cairn__reg_push(j->a, df, &e);
		if (rc) {
			cairn__payload_release(j->a, &e.v, type, e.vlen);
			return rc;
		}
		j->changed = true;
	}
	for (uint32_t i = 0; i < sn; i++) {
		int rc = collect(j, sreg[i].writer,
		                 CAIRN__META_COUNTER(sreg[i].meta));
		if (rc)
			return rc;
	}
	return 0;
}

/* Join one source element into the destination field. */
static int join_elem(join_ctx *j, const cairn__field *sf, const cairn__elem *sx,
                     cairn__field **dfp)
{
	const cairn_allocator *a = j->a;
	cairn__field *df = *dfp;
	cairn_value v = cairn__elem_value(sx);
	uint32_t eh = j->same_key ? sx->hash : cairn__value_hash32(j->key, &v);
	cairn__elem *dx = NULL;
	if (df && cairn__field_nelems(df))
		dx = cairn__set_find(&df->u.ext->set, &v, eh);

	cairn__dots *live = &j->tmp_live, *rm = &j->tmp_rm;
	live->n = rm->n = 0;
	const cairn__dot *slive, *srm;
	cairn__elem_dots(sx, &slive, &srm);
	int rc = 0;
	if (dx) {
		const cairn__dot *dlive, *drm;
		cairn__elem_dots(dx, &dlive, &drm);
		for (uint32_t i = 0; i < dx->ndots && !rc; i++) {
			uint32_t sw = src_writer(j, dlive[i].writer);
			bool in_src = sw != UINT32_MAX &&
			              cairn__dots_has(slive, sx->ndots, sw,
			                              dlive[i].counter);
			if (in_src || !src_covers(j, sf, sx, dlive[i].writer,
			                          dlive[i].counter))
				rc = cairn__dots_push(a, live, dlive[i]);
			else
				j->changed = true;
		}
		for (uint32_t i = 0; i < dx->nrm && !rc; i++)
			rc = cairn__dots_push(a, rm, drm[i]);
	}
	uint32_t kept = live->n;
	for (uint32_t i = 0; i < sx->ndots && !rc; i++) {
		cairn__dot d = {slive[i].counter, j->map[slive[i].writer]};
		if (cairn__dots_has(live->p, kept, d.writer, d.counter))
			continue;
		if (!dst_covers(j, df, dx, d.writer, d.counter)) {
			rc = cairn__dots_push(a, live, d);
			j->changed = true;
		}
	}
	if (!j->state) {
		for (uint32_t i = 0; i < sx->nrm && !rc; i++) {
			cairn__dot d = {srm[i].counter, j->map[srm[i].writer]};
			if (!cairn__dots_has(rm->p, rm->n, d.writer, d.counter))
				rc = cairn__dots_push(a, rm, d);
		}
	}
	for (uint32_t i = 0; i < sx->ndots && !rc; i++)
		rc = collect(j, slive[i].writer, slive[i].counter);
	for (uint32_t i = 0; i < sx->nrm && !rc; i++)
		rc = collect(j, srm[i].writer, srm[i].counter);
	if (rc)
		return rc;

	if (live->n + rm->n == 0) {
		if (dx)
			cairn__set_remove(a, &df->u.ext->set, dx);
		return 0;
	}
	if (!dx) {
		rc = ensure_field(j, sf, &df);
		*dfp = df;
		if (!rc)
			rc = cairn__field_make_ext(a, df);
		if (!rc)
			rc = cairn__set_insert(a, &df->u.ext->set, &v, eh, &dx);
		if (rc)
			return rc;
	}
	rc = cairn__elem_reserve(a, dx, live->n + rm->n);
	if (rc) {
		if (dx->ndots + dx->nrm == 0)
			cairn__set_remove(a, &df->u.ext->set, dx);
		return rc;
	}
	cairn__elem_assign(a, dx, live->p, live->n, rm->p, rm->n);
	return 0;
}

/*
 * Drop the live dots of destination elements that no source element names
 * but that the source covers field-wide (document context or field
 * removals).
 */
static void sweep_elems(join_ctx *j, const cairn__field *sf, cairn__field *df)
{
	if (!df || !cairn__field_nelems(df))
		return;
	cairn__set *set = &df->u.ext->set;
	const cairn__ext *sx = sf ? cairn__field_ext(sf) : NULL;
	for (uint32_t i = set->n; i-- > 0;) {
		cairn__elem *e = &set->elems[i];
		if (sx && sx->set.n) {
			cairn_value v = cairn__elem_value(e);
			uint32_t h =
			        j->same_key
			                ? e->hash
			                : cairn__value_hash32(j->src->key, &v);
			if (cairn__set_find(&sx->set, &v, h))
				continue;
		}
		cairn__dot *base = e->capdots ? e->d.many : &e->d.one;
		uint32_t k = 0;
		for (uint32_t m = 0; m < e->ndots; m++)
			if (!src_covers(j, sf, NULL, base[m].writer,
			                base[m].counter))
				base[k++] = base[m];
		if (k != e->ndots) {
			j->changed = true;
			if (e->nrm)
				memmove(base + k, base + e->ndots,
				        (size_t)e->nrm * sizeof *base);
			e->ndots = k;
			if (e->ndots + e->nrm == 0)
				cairn__set_remove(j->a, set, e);
		}
	}
}

/*
 * The commonest case, on its own: a source field holding one register
 * entry and nothing else, that the destination does not have (a new key
 * in a delta, every key of a state loaded into an empty replica). It is
 * what join_field() does then, without its general machinery: the entry
 * comes in unless the destination's context covers its dot (no field of
 * the destination holds removals for it), and its dot is collected.
 */
static int join_new_one(join_ctx *j, const cairn__field *sf)
{
	const cairn__entry *se = &sf->u.one;
	uint32_t dw = j->map[se->writer];
	uint64_t c = CAIRN__META_COUNTER(se->meta);
	if (!cairn__ctx_has(&j->dst->ctx, dw, c)) {
		cairn__entry e = *se;
		e.writer = dw;
		cairn_type type = CAIRN__META_TYPE(e.meta);
		int rc = cairn__payload_copy(j->a, &se->v, type, e.vlen, &e.v);
		if (rc)
			return rc;
		cairn__field *df = NULL;
		rc = ensure_field(j, sf, &df);
		if (rc) {
			cairn__payload_release(j->a, &e.v, type, e.vlen);
			return rc;
		}
		df->u.one = e;
		df->shape = CAIRN__ONE;
		if (j->src_ctx)
			df->joined = 1;
		j->changed = true;
	}
	return collect(j, se->writer, c);
}

static int join_field(join_ctx *j, const cairn__field *sf, uint32_t hash)
{
	if (cairn__field_is_empty(sf))
		return 0;
	cairn__fkey_of(&j->fk, sf);
	j->fk.hash = hash;
	cairn__field *df = cairn__doc_fieldk(j->dst, &j->fk, &j->hint);
	if (!df && sf->shape == CAIRN__ONE)
		return join_new_one(j, sf);
	const cairn__ext *sx = cairn__field_ext(sf);
	uint32_t nrm = sx ? sx->nrm : 0;
	cairn__dots rm;
	cairn__dots_init(&rm);
	int rc = 0;

	/* A delta keeps the source's field-scoped removals: translate them
	 * and make room first; they are merged in last. */
	if (nrm && !j->state) {
		for (uint32_t i = 0; i < nrm && !rc; i++)
			rc = cairn__dots_push(
			        j->a, &rm,
			        (cairn__dot){sx->rm[i].counter,
			                     j->map[sx->rm[i].writer]});
		if (!rc)
			rc = ensure_field(j, sf, &df);
		if (!rc)
			rc = cairn__field_make_ext(j->a, df);
		if (!rc)
			rc = cairn__rm_reserve(j->a, df->u.ext, nrm);
		if (rc)
			goto out;
	}
	rc = join_reg(j, sf, &df);
	for (uint32_t i = 0; sx && i < sx->set.n && !rc; i++)
		rc = join_elem(j, sf, &sx->set.elems[i], &df);
	if (rc)
		goto out;
	if (j->src_ctx || nrm)
		sweep_elems(j, sf, df);
	if (nrm && j->state) {
		for (uint32_t i = 0; i < nrm && !rc; i++)
			rc = collect(j, sx->rm[i].writer, sx->rm[i].counter);
	} else if (nrm) {
		cairn__rm_merge(df->u.ext, rm.p, rm.n);
	}
out:
	cairn__dots_free(j->a, &rm);
	if (df) {
		cairn__field_normalize(j->a, df);
		if (cairn__field_is_empty(df))
			cairn__doc_field_drop(j->a, j->dst, df);
		else if (j->src_ctx)
			df->joined = 1;
	}
	return rc;
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/*
 * Join every field of the source. A large destination lives in memory far
 * larger than the caches, and each lookup is three dependent misses: the
 * index slot, the field record, its name. One field at a time, the misses
 * queue; so the loop runs ahead of itself: it hashes a field and fetches
 * its slot LEAD fields early, reads that slot and fetches the record LEAD/2
 * early, and fetches the name LEAD/4 early, letting the misses of several
 * fields overlap.
 */
#define LEAD 16u

static uint32_t field_hash(const join_ctx *j, const cairn__field *sf)
{
	return j->same_key
	               ? sf->hash
	               : cairn__hash32(j->key, cairn__fname(sf), sf->name_len);
}

static void fetch_record(const join_ctx *j, uint32_t hash, bool name)
{
	const cairn__index *ix = &j->dst->fidx;
	if (!ix->slots)
		return;
	uint32_t tag = hash & ~ix->mask;
	for (uint32_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
		uint32_t s = ix->slots[i];
		if (s == 0)
			return;
		if ((s & ~ix->mask) == tag) {
			const cairn__field *f =
			        &j->dst->fields[(s & ix->mask) - 1];
			if (name) {
				PREFETCH(cairn__fname(f));
			} else {
				/* Most 56-byte records straddle two lines. */
				PREFETCH(f);
				PREFETCH((const char *)(f + 1) - 1);
			}
			return;
		}
	}
}

static int join_fields(join_ctx *j)
{
	const cairn_doc *src = j->src;
	uint32_t n = src->nfields;
	uint32_t ring[LEAD];
	for (uint32_t i = 0; i < n + LEAD; i++) {
		if (i < n) {
			uint32_t h = field_hash(j, &src->fields[i]);
			ring[i % LEAD] = h;
			if (j->dst->fidx.slots)
				PREFETCH(
				        &j->dst->fidx
				                 .slots[h & j->dst->fidx.mask]);
		}
		if (i >= LEAD / 2 && i - LEAD / 2 < n)
			fetch_record(j, ring[(i - LEAD / 2) % LEAD], false);
		/* A name under 16 bytes is in the record already. */
		if (i >= 3 * LEAD / 4 && i - 3 * LEAD / 4 < n &&
		    src->fields[i - 3 * LEAD / 4].name_len >=
		            CAIRN__NAME_INLINE)
			fetch_record(j, ring[(i - 3 * LEAD / 4) % LEAD], true);
		if (i >= LEAD - 1 && i - (LEAD - 1) < n) {
			uint32_t k = i - (LEAD - 1);
			int rc = join_field(j, &src->fields[k], ring[k % LEAD]);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/*
 * Apply the source's document-wide context to the fields it does not name.
 * join_field() marked every destination field it visited, so this is one
 * pass over the records, with no lookups, that also clears the marks.
 */
static void sweep_unnamed(join_ctx *j)
{
	for (uint32_t i = j->dst->nfields; i-- > 0;) {
		cairn__field *df = &j->dst->fields[i];
		if (df->joined) {
			df->joined = 0;
			continue;
		}
		const cairn__entry *reg = cairn__field_reg(df);
		for (uint32_t r = cairn__field_nreg(df); r-- > 0;) {
			if (src_covers(j, NULL, NULL, reg[r].writer,
			               CAIRN__META_COUNTER(reg[r].meta))) {
				cairn__reg_remove(j->a, df, r);
				reg = cairn__field_reg(df);
				j->changed = true;
			}
		}
		sweep_elems(j, NULL, df);
		cairn__field_normalize(j->a, df);
		if (cairn__field_is_empty(df))
			cairn__doc_field_drop(j->a, j->dst, df);
	}
}

static bool is_sorted(const cairn__dots *l)
{
	for (uint32_t i = 1; i < l->n; i++) {
		const cairn__dot *a = &l->p[i - 1], *b = &l->p[i];
		if (a->writer > b->writer ||
		    (a->writer == b->writer && a->counter > b->counter))
			return false;
	}
	return true;
}

/*
 * Sort dots by (writer, counter). The dots a join collects come in the
 * order of the source's fields: sorted for one replica's writes, but
 * interleaved when the source gathers the writes of several (deltas folded
 * together), and then too many for qsort, whose comparator call per step
 * costs more than the rest of the join. A radix sort of (writer << 48 |
 * counter) needs a pass only for each 11-bit digit that varies: three for
 * two writers' hundred thousand writes. 0 or CAIRN_ENOMEM.
 */
#define RADIX_BITS 11u
#define RADIX (1u << RADIX_BITS)

static uint64_t dot_key(const cairn__dot *d)
{
	return ((uint64_t)d->writer << 48) | d->counter;
}

static int sort_dots(const cairn_allocator *a, cairn__dot *dots, uint32_t n)
{
	uint32_t max_writer = 0;
	for (uint32_t i = 0; i < n; i++)
		if (dots[i].writer > max_writer)
			max_writer = dots[i].writer;
	if (n < 64 || max_writer > 0xFFFFu) {
		cairn__sort(dots, n, sizeof *dots, cairn__dot_cmp);
		return 0;
	}
	uint64_t first = dot_key(&dots[0]), varies = 0;
	for (uint32_t i = 1; i < n; i++)
		varies |= dot_key(&dots[i]) ^ first;
	cairn__dot *tmp = cairn__alloc(a, (size_t)n * sizeof *tmp);
	if (!tmp)
		return CAIRN_ENOMEM;
	cairn__dot *from = dots, *to = tmp;
	uint32_t count[RADIX];
	for (uint32_t shift = 0; shift < 64; shift += RADIX_BITS) {
		if (((varies >> shift) & (RADIX - 1)) == 0)
			continue;
		memset(count, 0, sizeof count);
		for (uint32_t i = 0; i < n; i++)
			count[(dot_key(&from[i]) >> shift) & (RADIX - 1)]++;
		for (uint32_t b = 0, sum = 0; b < RADIX; b++) {
			uint32_t c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (uint32_t i = 0; i < n; i++)
			to[count[(dot_key(&from[i]) >> shift) &
			         (RADIX - 1)]++] = from[i];
		cairn__dot *t = from;
		from = to;
		to = t;
	}
	if (from != dots)
		memcpy(dots, from, (size_t)n * sizeof *dots);
	cairn__free(a, tmp, (size_t)n * sizeof *tmp);
	return 0;
}

/* Room for n dots in a list that is still on its own small array, so that
 * collecting a dot per entry does not grow it step by step. 0 or
 * CAIRN_ENOMEM (the list unchanged). */
static int dots_reserve(const cairn_allocator *a, cairn__dots *l, uint32_t n)
{
	if (n <= l->cap || l->p != l->stack)
		return 0;
	cairn__dot *p = cairn__alloc(a, (size_t)n * sizeof *p);
	if (!p)
		return CAIRN_ENOMEM;
	memcpy(p, l->p, (size_t)l->n * sizeof *p);
	l->p = p;
	l->cap = n;
	return 0;
}

/* Does the source's context hold a dot the destination's does not? */
static bool ctx_adds(const join_ctx *j)
{
	const cairn__ctx *sc = &j->src->ctx, *dc = &j->dst->ctx;
	for (uint32_t w = 0; w < sc->n; w++) {
		uint32_t dw = j->map[w];
		/* Dots past the destination's contiguous run are new unless
		 * its cloud holds them; the first one it lacks settles it. */
		for (uint64_t c = dc->max[dw] + 1; c <= sc->max[w]; c++)
			if (!cairn__ctx_has(dc, dw, c))
				return true;
	}
	for (uint32_t i = 0; i < sc->ncloud; i++)
		if (!cairn__ctx_has(dc, j->map[sc->cloud[i].writer],
		                    sc->cloud[i].counter))
			return true;
	return false;
}

int cairn__doc_join(const cairn_allocator *a, const uint8_t key[16],
                    cairn_doc *dst, const cairn_doc *src, bool *changed)
{
	join_ctx j;
	memset(&j, 0, sizeof j);
	cairn__dots_init(&j.collect);
	cairn__dots_init(&j.tmp_live);
	cairn__dots_init(&j.tmp_rm);
	j.a = a;
	j.key = key;
	j.dst = dst;
	j.src = src;
	j.state = dst->owner != NULL;
	j.src_ctx = !cairn__ctx_empty(&src->ctx);
	j.same_key = memcmp(src->key, key, 16) == 0;

	uint32_t stack_map[32];
	j.map = src->ctx.n <= 32
	                ? stack_map
	                : cairn__alloc(a, (size_t)src->ctx.n * sizeof *j.map);
	if (!j.map)
		return CAIRN_ENOMEM;
	int rc = 0;
	for (uint32_t i = 0; i < src->ctx.n && !rc; i++)
		rc = cairn__ctx_writer(a, &dst->ctx, src->ctx.rid[i],
		                       &j.map[i]);
	uint32_t stack_inv[32];
	if (!rc) {
		j.ninv = dst->ctx.n;
		j.inv = j.ninv <= 32 ? stack_inv
		                     : cairn__alloc(a, (size_t)j.ninv *
		                                               sizeof *j.inv);
		for (uint32_t i = 0; j.inv && i < j.ninv; i++)
			j.inv[i] = UINT32_MAX;
		for (uint32_t i = 0; j.inv && i < src->ctx.n; i++)
			j.inv[j.map[i]] = i;
	}

	/* Loading a state into an empty document: size its tables once
	 * instead of doubling them all the way up. */
	if (!rc && dst->nfields == 0 && src->nfields > 8)
		rc = cairn__doc_reserve(a, dst, src->nfields);
	/* A state collects about a dot per source field (fewer when its
	 * context covers them): room for them at once. */
	if (!rc && j.state && !j.src_ctx)
		rc = dots_reserve(a, &j.collect, src->nfields);
	rc = rc ? rc : join_fields(&j);
	if (!rc && changed && !j.changed)
		j.changed = ctx_adds(&j);
	if (j.src_ctx && dst->nfields) {
		if (!rc)
			sweep_unnamed(&j);
		else
			for (uint32_t i = 0; i < dst->nfields; i++)
				dst->fields[i].joined = 0;
	}
	if (!rc)
		rc = cairn__ctx_join(a, &dst->ctx, &src->ctx, j.map);
	if (!rc && changed && (j.changed || j.collect.n))
		*changed = true;
	if (!rc && j.collect.n && !is_sorted(&j.collect))
		rc = sort_dots(a, j.collect.p, j.collect.n);
	if (!rc && j.collect.n)
		rc = cairn__ctx_add_sorted(a, &dst->ctx, j.collect.p,
		                           j.collect.n);
	if (j.map != stack_map)
		cairn__free(a, j.map, (size_t)src->ctx.n * sizeof *j.map);
	if (j.inv && j.inv != stack_inv)
		cairn__free(a, j.inv, (size_t)j.ninv * sizeof *j.inv);
	cairn__dots_free(a, &j.collect);
	cairn__dots_free(a, &j.tmp_live);
	cairn__dots_free(a, &j.tmp_rm);
	return rc;
}

/* ---- joining into a replica ---------------------------------------------- */

/*
 * Everything that can refuse a delta is checked before anything changes:
 * clocks, policies and value sizes.
 */
static int check_delta(const cairn_replica *r, const cairn_delta *delta,
                       uint64_t now_ms, uint64_t *max_hlc)
{
	uint32_t limit = r->cfg.limits.max_value_bytes;
	uint64_t skew = r->hlc.max_skew_ms;
	/* A field's policy follows from the declarations alone (a register
	 * with a value never changes policy), so no lookup is needed; with no
	 * field-level declaration it is the document's collection policy. */
	bool field_decls = false;
	for (uint32_t i = 0; i < r->ndecls; i++)
		field_decls |= r->decls[i].field != NULL;
	*max_hlc = 0;
	for (uint32_t i = 0; i < delta->docs.n; i++) {
		const cairn_doc *sd = delta->docs.docs[i];
		if (sd->nfields == 0)
			continue;
		cairn_policy coll =
		        cairn__policy_of(r, sd->id, sd->id_len, NULL, 0);
		for (uint32_t k = 0; k < sd->nfields; k++) {
			const cairn__field *sf = &sd->fields[k];
			/* A large delta is far from the caches by now: read
			 * ahead, both lines of a record. */
			if (k + 8 < sd->nfields) {
				PREFETCH(&sd->fields[k + 8]);
				PREFETCH((const char *)&sd->fields[k + 9] - 1);
			}
			const cairn__entry *reg = cairn__field_reg(sf);
			uint32_t n = cairn__field_nreg(sf);
			for (uint32_t e = 0; e < n; e++) {
				/* cairn_hlc_check(), inline. */
				uint64_t ms = CAIRN_HLC_MS(reg[e].hlc);
				if (ms > now_ms && ms - now_ms > skew)
					return CAIRN_ECLOCK_SKEW;
				if (reg[e].vlen > limit)
					return CAIRN_ETOOBIG;
				if (reg[e].hlc > *max_hlc)
					*max_hlc = reg[e].hlc;
			}
			uint32_t ne = cairn__field_nelems(sf);
			for (uint32_t e = 0; e < ne; e++)
				if (sf->u.ext->set.elems[e].vlen > limit)
					return CAIRN_ETOOBIG;
			if (n == 0)
				continue;
			cairn_policy local =
			        field_decls ? cairn__policy_of(r, sd->id,
			                                       sd->id_len,
			                                       cairn__fname(sf),
			                                       sf->name_len)
			                    : coll;
			if (local != (cairn_policy)sf->policy)
				return CAIRN_EPOLICY;
		}
	}
	return 0;
}

static int replica_join(cairn_replica *r, const cairn_delta *delta,
                        uint64_t now_ms, bool *changed)
{
	if (!r || !delta)
		return CAIRN_EINVAL;
	uint64_t max_hlc;
	int rc = check_delta(r, delta, now_ms, &max_hlc);
	if (rc)
		return rc;
	if (max_hlc)
		rc = cairn_hlc_observe(&r->hlc, max_hlc, now_ms);
	for (uint32_t i = 0; i < delta->docs.n && !rc; i++) {
		const cairn_doc *sd = delta->docs.docs[i];
		if (cairn__doc_is_empty(sd))
			continue;
		cairn_doc *dd;
		rc = cairn_replica_doc(r, sd->id, &dd);
		if (!rc)
			rc = cairn__doc_join(&r->alloc, r->cfg.hash_key, dd, sd,
			                     changed);
	}
	return rc;
}

int cairn_replica_join(cairn_replica *r, const cairn_delta *delta,
                       uint64_t now_ms)
{
	return replica_join(r, delta, now_ms, NULL);
}

int cairn_replica_join_changed(cairn_replica *r, const cairn_delta *delta,
                               uint64_t now_ms, bool *changed)
{
	if (!changed)
		return CAIRN_EINVAL;
	bool did = false;
	int rc = replica_join(r, delta, now_ms, &did);
	if (!rc)
		*changed = did;
	return rc;
}
