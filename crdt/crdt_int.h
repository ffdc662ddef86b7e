/*
 * crdt_int.h -- the layouts behind cairn/crdt.h, shared by the crdt sources.
 *
 * Private to cairn (tests and fuzz targets may include it).
 *
 * One structure, cairn_doc, serves both a replica's documents and the
 * documents of a delta. A document holds a causal context (which dots it
 * covers) and a table of fields; a field holds register entries and set
 * elements. A delta's document may also carry *scoped removals*: dots that
 * its writer saw and superseded, attached to the field (register dots) or
 * to the element (set dots) they belonged to. Because a dot is created once,
 * for one entry of one field, scoping a removal to where the dot lived gives
 * the same join as a document-wide context, while letting a join touch only
 * the fields and elements a delta names. A document-wide context (the whole
 * state's, in a state copy) applies to every field.
 *
 * Memory is the budget here: a field with one live register value (the
 * common case) is 56 bytes with its value and a short name inline; more
 * entries, set elements and removals live in an extension allocated on
 * demand.
 */
#ifndef CAIRN_CRDT_INT_H
#define CAIRN_CRDT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/crdt.h"

/* ---- allocation -------------------------------------------------------- */

void *cairn__alloc(const cairn_allocator *a, size_t n);
void *cairn__realloc(const cairn_allocator *a, void *p, size_t old_n,
                     size_t new_n);
void cairn__free(const cairn_allocator *a, void *p, size_t n);

/*
 * Grow an array of `size`-byte items so that it holds at least `need`
 * items (doubling). *cap is in items. 0 or CAIRN_ENOMEM (array untouched).
 * Inline because nearly every call finds room already, on hot paths.
 */
int cairn__grow_to(const cairn_allocator *a, void **arr, uint32_t *cap,
                   uint32_t need, size_t size);
static inline int cairn__grow(const cairn_allocator *a, void **arr,
                              uint32_t *cap, uint32_t need, size_t size)
{
	return need <= *cap ? 0 : cairn__grow_to(a, arr, cap, need, size);
}

/* qsort, which must not see a NULL array even when it is empty. */
static inline void cairn__sort(void *base, size_t n, size_t size,
                               int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* ---- values ------------------------------------------------------------ */

/* Dot counters and so entry metadata fit in 48 bits. */
#define CAIRN__COUNTER_MAX ((UINT64_C(1) << 48) - 1)

/* A value's payload: the scalar itself, or its bytes (inline up to 8). */
typedef union cairn__payload {
	int64_t i;
	double f;
	uint8_t *p;
	uint8_t in[8];
} cairn__payload;

#define CAIRN__INLINE_BYTES 8u

/* Canonical NaN: every NaN written or decoded is stored as this one. */
#define CAIRN__NAN_BITS UINT64_C(0x7ff8000000000000)

/* The byte length a value stores (str and bin; 0 for the scalars). */
static inline uint32_t cairn__value_len(const cairn_value *v)
{
	return (v->type == CAIRN_STR || v->type == CAIRN_BIN)
	               ? (uint32_t)v->as.bytes.len
	               : 0;
}

/*
 * Check a caller's value (type, UTF-8 of strings, size against max_bytes).
 * 0, CAIRN_EINVAL or CAIRN_ETOOBIG.
 */
int cairn__value_check(const cairn_value *v, uint32_t max_bytes);

/* Store a value: copy its bytes (inline when short). 0 or CAIRN_ENOMEM. */
int cairn__payload_store(const cairn_allocator *a, const cairn_value *v,
                         cairn__payload *out);
/* The same, with the commonest type inline: a write stores its value
 * twice (the document's copy and the delta's). */
static inline int cairn__payload_put(const cairn_allocator *a,
                                     const cairn_value *v, cairn__payload *out)
{
	if (v->type == CAIRN_INT) {
		out->i = v->as.i;
		return 0;
	}
	return cairn__payload_store(a, v, out);
}
/* Release a stored payload (inline: most own nothing but their bytes). */
static inline void cairn__payload_release(const cairn_allocator *a,
                                          cairn__payload *pl, cairn_type type,
                                          uint32_t len)
{
	if ((type == CAIRN_STR || type == CAIRN_BIN) &&
	    len > CAIRN__INLINE_BYTES)
		cairn__free(a, pl->p, len);
	memset(pl, 0, sizeof *pl);
}
/*
 * Copy a stored payload: the same as storing its view, since stored
 * payloads are canonical (zero-padded, one NaN), without the round trip.
 * 0 or CAIRN_ENOMEM.
 */
static inline int cairn__payload_copy(const cairn_allocator *a,
                                      const cairn__payload *src,
                                      cairn_type type, uint32_t len,
                                      cairn__payload *out)
{
	if ((type == CAIRN_STR || type == CAIRN_BIN) &&
	    len > CAIRN__INLINE_BYTES) {
		out->p = cairn__alloc(a, len);
		if (!out->p)
			return CAIRN_ENOMEM;
		memcpy(out->p, src->p, len);
		return 0;
	}
	*out = *src;
	return 0;
}
/* A cairn_value view of a stored payload (pointing into it). */
cairn_value cairn__payload_view(const cairn__payload *pl, cairn_type type,
                                uint32_t len);
uint64_t cairn__value_hash(const uint8_t key[16], const cairn_value *v);

/* ---- dots and causal contexts ------------------------------------------ */

/* A dot, with its replica named by an index into a document's writers. */
typedef struct cairn__dot {
	uint64_t counter;
	uint32_t writer;
} cairn__dot;

/*
 * A growable list of dots that starts in its own small array, so the
 * common short lists cost no allocation. It points into itself: never copy
 * one after cairn__dots_init().
 */
typedef struct cairn__dots {
	cairn__dot *p;
	uint32_t n, cap;
	cairn__dot stack[4];
} cairn__dots;

static inline void cairn__dots_init(cairn__dots *l)
{
	l->p = l->stack;
	l->n = 0;
	l->cap = (uint32_t)(sizeof l->stack / sizeof l->stack[0]);
}

/* Append a dot. 0 or CAIRN_ENOMEM (the list is unchanged). Inline: it
 * rarely needs to grow, and joins push a dot or two per entry. */
int cairn__dots_grow(const cairn_allocator *a, cairn__dots *l);
static inline int cairn__dots_push(const cairn_allocator *a, cairn__dots *l,
                                   cairn__dot d)
{
	if (l->n == l->cap) {
		int rc = cairn__dots_grow(a, l);
		if (rc)
			return rc;
	}
	l->p[l->n++] = d;
	return 0;
}
/* Release what the list allocated; it is empty and usable again. */
static inline void cairn__dots_free(const cairn_allocator *a, cairn__dots *l)
{
	if (l->p != l->stack)
		cairn__free(a, l->p, (size_t)l->cap * sizeof *l->p);
	cairn__dots_init(l);
}

/*
 * A causal context: per writer, the contiguous maximum seen, plus a cloud
 * of dots above a gap. Writers are kept in insertion order (entries refer
 * to them by index) with a permutation sorted by replica id for lookups.
 * A writer may have no dots at all (it is then only a name for an index).
 */
typedef struct cairn__ctx {
	uint64_t *rid;   /* [cap] replica id per writer index */
	uint64_t *max;   /* [cap] contiguous maximum per writer */
	uint32_t *order; /* [cap] writer indices sorted by replica id */
	uint32_t n, cap;
	cairn__dot *cloud; /* sorted by (writer, counter); each > max+1 */
	uint32_t ncloud, capcloud;
} cairn__ctx;

void cairn__ctx_free(const cairn_allocator *a, cairn__ctx *c);
/* Forget every dot; the writers stay (a writer with no dots is only a
 * name for an index, and is never encoded). Inline: a delta cleared after
 * every write clears its document's context each time. */
static inline void cairn__ctx_clear(cairn__ctx *c)
{
	/* Writes leave a delta's context empty: store only what changes. */
	for (uint32_t i = 0; i < c->n; i++)
		if (c->max[i])
			c->max[i] = 0;
	c->ncloud = 0;
}
/* Writer index of a replica id, or UINT32_MAX. */
uint32_t cairn__ctx_find(const cairn__ctx *c, uint64_t rid);
/* Writer index of a replica id, added if missing. 0 or CAIRN_ENOMEM. */
int cairn__ctx_writer(const cairn_allocator *a, cairn__ctx *c, uint64_t rid,
                      uint32_t *out);
bool cairn__ctx_cloud_has(const cairn__ctx *c, uint32_t writer,
                          uint64_t counter);
/* Inline: most dots a join asks about are at or below their maximum. */
static inline bool cairn__ctx_has(const cairn__ctx *c, uint32_t writer,
                                  uint64_t counter)
{
	return counter <= c->max[writer] ||
	       (c->ncloud && cairn__ctx_cloud_has(c, writer, counter));
}
/* The cloud dots of one writer: cloud[*first .. *first + *count). */
void cairn__ctx_cloud_of(const cairn__ctx *c, uint32_t writer, uint32_t *first,
                         uint32_t *count);
/*
 * Add dots sorted by (writer, counter) (duplicates allowed) in one merge.
 * 0 or CAIRN_ENOMEM (context unchanged).
 */
int cairn__ctx_add_sorted(const cairn_allocator *a, cairn__ctx *c,
                          const cairn__dot *dots, uint32_t n);
/*
 * c |= src, where map[i] is c's writer index of src's writer i.
 * 0 or CAIRN_ENOMEM (context unchanged).
 */
int cairn__ctx_join(const cairn_allocator *a, cairn__ctx *c,
                    const cairn__ctx *src, const uint32_t *map);
/* true if the context covers no dot. */
bool cairn__ctx_empty(const cairn__ctx *c);
/* The index of the first dot >= (w, counter) in dots[0..n), sorted by
 * (writer, counter). */
uint32_t cairn__dots_lower(const cairn__dot *dots, uint32_t n, uint32_t w,
                           uint64_t counter);
int cairn__dot_cmp(const void *a, const void *b);

/* ---- open-addressing index over a dense array -------------------------- */

/*
 * Slots hold position+1 (0 is empty); linear probing; at most 3/4 full;
 * deletion shifts back, so there are no tombstones. The records keep their
 * own hash, which the callers pass in.
 */
typedef struct cairn__index {
	uint32_t *slots;
	uint32_t mask; /* capacity - 1, or 0 when there are no slots */
} cairn__index;

/*
 * Where a lookup that found nothing stopped: the empty slot that an insert
 * of the same hash would take, valid while the index is not changed. A
 * table that looks a name up and then adds it (a write to a new field, a
 * join bringing one in) puts it there instead of probing a second time.
 */
typedef struct cairn__slot_hint {
	const uint32_t *slots; /* the slot array it belongs to, or NULL */
	uint32_t slot;
} cairn__slot_hint;

/* ---- fields ------------------------------------------------------------ */

/*
 * A register entry: a value with its dot and HLC. `meta` packs the dot
 * counter (low 48 bits), the writer's source priority (bits 48-55) and the
 * value type (bits 56-59), keeping the entry at 32 bytes.
 */
typedef struct cairn__entry {
	uint64_t hlc;
	uint64_t meta;
	cairn__payload v;
	uint32_t vlen;
	uint32_t writer;
} cairn__entry;

#define CAIRN__META(counter, prio, type)                                       \
	((uint64_t)(counter) | ((uint64_t)(prio) << 48) |                      \
	 ((uint64_t)(type) << 56))
#define CAIRN__META_COUNTER(m) ((m)&CAIRN__COUNTER_MAX)
#define CAIRN__META_PRIO(m) ((uint8_t)(((m) >> 48) & 0xFFu))
#define CAIRN__META_TYPE(m) ((cairn_type)(((m) >> 56) & 0xFu))

/* A set element: a value, its live dots, and (in a delta) removed dots. */
typedef struct cairn__elem {
	cairn__payload v;
	uint32_t vlen;
	uint32_t hash;
	uint8_t type;
	uint32_t ndots;   /* live dots */
	uint32_t nrm;     /* removed dots (deltas only) */
	uint32_t capdots; /* capacity of dots[] when out of line */
	union {
		cairn__dot one;   /* when ndots + nrm == 1 and capdots == 0 */
		cairn__dot *many; /* [capdots]: live dots then removed dots */
	} d;
} cairn__elem;

/* The elements of a set field: a dense array and its index. */
typedef struct cairn__set {
	cairn__elem *elems;
	uint32_t n, cap;
	cairn__index idx;
} cairn__set;

/*
 * What a field holds beyond one inline register entry. The arrays start in
 * the extension itself: a delta's field that overwrites a value (the new
 * entry and the superseded dot) or a register with two concurrent values
 * is then one block, one allocation and one cache miss, not three. They
 * point into the extension: never copy one.
 */
#define CAIRN__EXT_INLINE 2u

typedef struct cairn__ext {
	cairn__entry *reg; /* live register entries */
	uint32_t nreg, capreg;
	cairn__dot *rm; /* removed register dots (deltas only), sorted */
	uint32_t nrm, caprm;
	cairn__set set;
	cairn__entry reg_in[CAIRN__EXT_INLINE]; /* reg, until it grows */
	cairn__dot rm_in[CAIRN__EXT_INLINE];    /* rm, until it grows */
} cairn__ext;

enum cairn__shape {
	CAIRN__EMPTY = 0, /* nothing live, nothing removed */
	CAIRN__ONE = 1,   /* exactly one register entry, inline */
	CAIRN__EXT = 2,   /* everything in *u.ext */
};

/*
 * A field. Names shorter than CAIRN__NAME_INLINE bytes (most are) live in
 * the record itself: a lookup then reads one record, not a record and a
 * name elsewhere, and creating a field allocates nothing for its name.
 */
#define CAIRN__NAME_INLINE 16u

typedef struct cairn__field {
	union {
		uint8_t *ptr;                   /* name_len + 1 bytes */
		uint8_t in[CAIRN__NAME_INLINE]; /* name_len < 16, NUL-ended */
	} nm;
	uint32_t hash;
	uint8_t name_len;
	uint8_t shape;
	uint8_t policy; /* cairn_policy in force for the register */
	uint8_t joined; /* set while a join visits the document (join.c) */
	union {
		cairn__entry one;
		cairn__ext *ext;
	} u;
} cairn__field;

static inline const uint8_t *cairn__fname(const cairn__field *f)
{
	return f->name_len < CAIRN__NAME_INLINE ? f->nm.in : f->nm.ptr;
}

/*
 * A field name as lookups take it. A short name is also kept zero-padded
 * to 16 bytes, as a field record keeps it inline: comparing it with a
 * record is then two word compares, and hashing it needs no tail loop.
 */
typedef struct cairn__fkey {
	const uint8_t *name;
	uint32_t len;
	uint32_t hash; /* under the key of the table it is looked up in */
	union {
		uint8_t b[CAIRN__NAME_INLINE];
		uint64_t w[2];
	} pad; /* name_len < 16: the name, then zeros; else zeros */
} cairn__fkey;

/*
 * Fill in name, len and pad (not hash), never reading outside
 * name[0..len). Where the host is little-endian the two words are built in
 * registers from a few loads that overlap, and stored whole: the lookup
 * and the hash that read them next get their data forwarded from those
 * stores (bytes copied into place at odd offsets could not be, a stall
 * on every write). Elsewhere the bytes are copied into place.
 */
static inline void cairn__fkey_set(cairn__fkey *k, const uint8_t *name,
                                   uint32_t len)
{
	k->name = name;
	k->len = len;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w0 = 0, w1 = 0;
	if (len >= CAIRN__NAME_INLINE) {
		/* a long name has no padded copy */
	} else if (len >= 8) {
		uint64_t tail;
		memcpy(&w0, name, 8);
		memcpy(&tail, name + len - 8, 8);
		w1 = len == 8 ? 0 : tail >> (8 * (16 - len));
	} else if (len >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, name, 4);
		memcpy(&hi, name + len - 4, 4);
		w0 = lo | ((uint64_t)hi << (8 * (len - 4)));
	} else if (len) {
		w0 = name[0] | ((uint64_t)name[len / 2] << (8 * (len / 2))) |
		     ((uint64_t)name[len - 1] << (8 * (len - 1)));
	}
	k->pad.w[0] = w0;
	k->pad.w[1] = w1;
#else
	k->pad.w[0] = k->pad.w[1] = 0;
	uint8_t *b = k->pad.b;
	if (len >= CAIRN__NAME_INLINE) {
		return;
	} else if (len >= 8) {
		memcpy(b, name, 8);
		memcpy(b + len - 8, name + len - 8, 8);
	} else if (len >= 4) {
		memcpy(b, name, 4);
		memcpy(b + len - 4, name + len - 4, 4);
	} else if (len) {
		b[0] = name[0];
		b[len / 2] = name[len / 2];
		b[len - 1] = name[len - 1];
	}
#endif
}

/* The key of an existing field's name (its inline bytes are padded). */
static inline void cairn__fkey_of(cairn__fkey *k, const cairn__field *f)
{
	k->name = cairn__fname(f);
	k->len = f->name_len;
	if (f->name_len < CAIRN__NAME_INLINE)
		memcpy(k->pad.b, f->nm.in, CAIRN__NAME_INLINE);
	else
		k->pad.w[0] = k->pad.w[1] = 0;
}

/* Does the field have this name? */
static inline bool cairn__field_named(const cairn__field *f,
                                      const cairn__fkey *k)
{
	if (f->hash != k->hash || f->name_len != k->len)
		return false;
	if (k->len < CAIRN__NAME_INLINE) {
		uint64_t w[2];
		memcpy(w, f->nm.in, sizeof w);
		return w[0] == k->pad.w[0] && w[1] == k->pad.w[1];
	}
	return memcmp(f->nm.ptr, k->name, k->len) == 0;
}

/*
 * Field extensions a delta kept when it cleared their fields, for the
 * fields of its next writes (see cairn__ext_keep). A few suffice: a delta
 * that is cleared often holds few fields at a time.
 */
#define CAIRN__EXT_CACHE 8u

typedef struct cairn__ext_cache {
	cairn__ext *x[CAIRN__EXT_CACHE];
	uint32_t n;
} cairn__ext_cache;

/* ---- documents --------------------------------------------------------- */

struct cairn_doc {
	cairn_replica *owner; /* NULL for a delta's document */
	const uint8_t *key;   /* key of this document's hash tables */
	char *id;             /* id_len bytes + NUL, in id_cap bytes */
	uint32_t id_len;
	uint32_t id_cap;
	uint32_t hash;
	cairn__ctx ctx;
	cairn__field *fields;
	uint32_t nfields, capfields;
	cairn__index fidx;
	uint32_t self; /* owner's writer index, UINT32_MAX until it writes;
	                  in a delta, the writer it last recorded (write.c) */
	uint8_t coll_policy; /* collection policy (replica docs) */
	bool field_decls;    /* some field-level declaration matches the id */
};

/* A table of documents by id, shared by replicas and deltas. */
typedef struct cairn__docset {
	cairn_doc **docs;
	uint32_t n, cap;
	cairn__index idx;
} cairn__docset;

typedef struct cairn__decl {
	char *prefix;
	uint32_t prefix_len;
	char *field; /* NULL: the whole collection */
	uint32_t field_len;
	cairn_policy policy;
} cairn__decl;

struct cairn_replica {
	cairn_allocator alloc;
	cairn_replica_config cfg;
	cairn_hlc hlc;
	cairn__docset docs;
	cairn__decl *decls;
	uint32_t ndecls, capdecls;
};

struct cairn_delta {
	cairn_allocator alloc;
	uint8_t key[16];
	cairn__docset docs;
	cairn_doc **spare; /* cleared documents kept for reuse */
	uint32_t nspare, capspare;
	cairn__ext_cache exts; /* and extensions of cleared fields */
	/* The document last written through, and the replica document it
	 * mirrors: a writer that gathers one document's writes, or clears
	 * the delta after each, finds it without a lookup. */
	const cairn_doc *last_src;
	cairn_doc *last;
};

/* ---- shared internals -------------------------------------------------- */

/* Check a document id or field name. 0, CAIRN_EINVAL or CAIRN_ETOOBIG. */
int cairn__name_check(const char *s, size_t *len);
/* Only its length (1..255, NUL-terminated): for names looked up before
 * they are trusted; a name already in a table was checked on the way in.
 * Inline: every write starts with it. */
static inline int cairn__name_len(const char *s, size_t *len)
{
	if (!s)
		return CAIRN_EINVAL;
	size_t n = strlen(s);
	if (n == 0)
		return CAIRN_EINVAL;
	if (n > CAIRN_MAX_ID_BYTES)
		return CAIRN_ETOOBIG;
	*len = n;
	return 0;
}

/* The field entries/elements helpers (doc.c). */
static inline cairn__ext *cairn__field_ext(const cairn__field *f)
{
	return f->shape == CAIRN__EXT ? f->u.ext : NULL;
}
static inline uint32_t cairn__field_nreg(const cairn__field *f)
{
	return f->shape == CAIRN__ONE   ? 1
	       : f->shape == CAIRN__EXT ? f->u.ext->nreg
	                                : 0;
}

static inline const cairn__entry *cairn__field_reg(const cairn__field *f)
{
	return f->shape == CAIRN__ONE   ? &f->u.one
	       : f->shape == CAIRN__EXT ? f->u.ext->reg
	                                : NULL;
}

static inline uint32_t cairn__field_nelems(const cairn__field *f)
{
	return f->shape == CAIRN__EXT ? f->u.ext->set.n : 0;
}

static inline bool cairn__field_is_empty(const cairn__field *f)
{
	if (f->shape != CAIRN__EXT)
		return f->shape == CAIRN__EMPTY;
	const cairn__ext *x = f->u.ext;
	return x->nreg == 0 && x->nrm == 0 && x->set.n == 0;
}

void cairn__elem_dots(const cairn__elem *e, const cairn__dot **live,
                      const cairn__dot **rm);

int cairn__doc_new(const cairn_allocator *a, cairn_replica *owner,
                   const uint8_t *key, const char *id, uint32_t id_len,
                   uint32_t hash, cairn_doc **out);
void cairn__doc_free(const cairn_allocator *a, cairn_doc *d);
void cairn__doc_clear(const cairn_allocator *a, cairn_doc *d);
/* The same, keeping the extensions of its fields in c (a delta's). */
void cairn__doc_clear_keep(const cairn_allocator *a, cairn_doc *d,
                           cairn__ext_cache *c);
bool cairn__doc_is_empty(const cairn_doc *d);
cairn__field *cairn__doc_field(const cairn_doc *d, const uint8_t *name,
                               uint32_t len, uint32_t hash);
/* cairn__doc_fieldk(): see index_int.h. */
/* Room for `extra` more fields, so that adding them grows nothing. */
int cairn__doc_reserve(const cairn_allocator *a, cairn_doc *d, uint32_t extra);
/* Add a field named k (absent). hint: from the cairn__doc_fieldk() that
 * did not find it, with no field added or dropped since; or NULL. */
int cairn__doc_field_addk(const cairn_allocator *a, cairn_doc *d,
                          const cairn__fkey *k, const cairn__slot_hint *hint,
                          cairn__field **out);
/*
 * A field added in two steps, so that the first can run before the lookup
 * that says whether it is needed. Stage: write the record of a field named
 * k (short) just past the last, where nothing reads it; NULL if there is
 * no room without growing. Then, if the lookup found nothing and no field
 * was added or dropped since the stage, add it with
 * cairn__doc_field_add_staged() (index_int.h).
 */
cairn__field *cairn__doc_field_stage(cairn_doc *d, const cairn__fkey *k);
/* Make the index (if the document needs one: see CAIRN__SMALL_DOC in
 * index_int.h) ready for `count` fields. 0 or CAIRN_ENOMEM. */
int cairn__doc_index_reserve(const cairn_allocator *a, cairn_doc *d,
                             uint32_t count);
void cairn__doc_field_drop(const cairn_allocator *a, cairn_doc *d,
                           cairn__field *f);
int cairn__field_make_ext(const cairn_allocator *a, cairn__field *f);
/* The same, taking a kept extension from c (may be NULL) if it has one. */
int cairn__field_make_ext_c(const cairn_allocator *a, cairn__field *f,
                            cairn__ext_cache *c);
/* Keep an extension in c (emptied, its arrays kept), or free it when c is
 * NULL or full or the arrays are large. */
void cairn__ext_keep(const cairn_allocator *a, cairn__ext_cache *c,
                     cairn__ext *x);
void cairn__ext_cache_free(const cairn_allocator *a, cairn__ext_cache *c);
void cairn__field_release(const cairn_allocator *a, cairn__field *f);
void cairn__field_normalize(const cairn_allocator *a, cairn__field *f);
int cairn__reg_push(const cairn_allocator *a, cairn__field *f,
                    const cairn__entry *e);
void cairn__reg_remove(const cairn_allocator *a, cairn__field *f, uint32_t i);
cairn__elem *cairn__set_find(const cairn__set *s, const cairn_value *v,
                             uint32_t hash);
int cairn__set_insert(const cairn_allocator *a, cairn__set *s,
                      const cairn_value *v, uint32_t hash, cairn__elem **out);
void cairn__set_remove(const cairn_allocator *a, cairn__set *s, cairn__elem *e);
/*
 * Element dots: reserve room for `total` dots (fallible), then assign
 * (infallible once reserved; the inputs must not point into e).
 */
int cairn__elem_reserve(const cairn_allocator *a, cairn__elem *e,
                        uint32_t total);
void cairn__elem_assign(const cairn_allocator *a, cairn__elem *e,
                        const cairn__dot *live, uint32_t nlive,
                        const cairn__dot *rm, uint32_t nrm);
/* Removed register dots of a delta field: reserve, then merge in. */
int cairn__rm_reserve(const cairn_allocator *a, cairn__ext *x, uint32_t n);
/* Room for n more register entries in an extension. 0 or CAIRN_ENOMEM. */
int cairn__reg_reserve(const cairn_allocator *a, cairn__ext *x, uint32_t n);
void cairn__rm_merge(cairn__ext *x, const cairn__dot *dots, uint32_t n);
/* Is (writer, counter) in dots[0..n)? Inline: the lists are short, and
 * writes and joins ask about every dot they handle. */
static inline bool cairn__dots_has(const cairn__dot *dots, uint32_t n,
                                   uint32_t writer, uint64_t counter)
{
	for (uint32_t i = 0; i < n; i++)
		if (dots[i].writer == writer && dots[i].counter == counter)
			return true;
	return false;
}
cairn_value cairn__elem_value(const cairn__elem *e);
cairn_value cairn__entry_value(const cairn__entry *e);

int cairn__docset_find(const cairn__docset *s, const char *id, uint32_t len,
                       uint32_t hash, cairn_doc **out);
int cairn__docset_insert(const cairn_allocator *a, cairn__docset *s,
                         cairn_doc *d);
void cairn__docset_free(const cairn_allocator *a, cairn__docset *s);

/* Join src into dst (join.c). dst->owner decides state or delta rules.
 * If changed is not NULL (state destinations), it is set to true when the
 * join brought in an entry, a dot or a removal; it is never cleared. */
int cairn__doc_join(const cairn_allocator *a, const uint8_t key[16],
                    cairn_doc *dst, const cairn_doc *src, bool *changed);

/* Get (creating) the delta's document that mirrors a replica's. */
int cairn__delta_doc_for(cairn_delta *d, const cairn_doc *src, cairn_doc **out);
/* Get (creating) a delta's document for an id. */
int cairn__delta_doc(cairn_delta *d, const char *id, uint32_t len,
                     uint32_t hash_in_replica, const uint8_t *replica_key,
                     cairn_doc **out);

/* Policy the declarations give a field of a document id (replica.c). */
cairn_policy cairn__policy_of(const cairn_replica *r, const char *id,
                              uint32_t id_len, const uint8_t *name,
                              uint32_t len);
/* Policy of a field of a replica document (replica.c). */
cairn_policy cairn__field_policy(const cairn_replica *r, const cairn_doc *d,
                                 const uint8_t *name, uint32_t len);

/* Hash for tables under a key. */
static inline uint32_t cairn__hash32(const uint8_t key[16], const void *p,
                                     size_t n);

#include "bytes_int.h"

static inline uint32_t cairn__hash32(const uint8_t key[16], const void *p,
                                     size_t n)
{
	uint64_t h = cairn__siphash13(key, p, n);
	return (uint32_t)(h ^ (h >> 32));
}

/* cairn__hash32() of a field name, the short ones from their padding. */
static inline uint32_t cairn__fkey_hash(const uint8_t key[16],
                                        const cairn__fkey *k)
{
	uint64_t h = k->len < CAIRN__NAME_INLINE
	                     ? cairn__siphash13_pad16(key, k->pad.b, k->len)
	                     : cairn__siphash13(key, k->name, k->len);
	return (uint32_t)(h ^ (h >> 32));
}

static inline uint32_t cairn__value_hash32(const uint8_t key[16],
                                           const cairn_value *v)
{
	uint64_t h = cairn__value_hash(key, v);
	return (uint32_t)(h ^ (h >> 32));
}

#endif /* CAIRN_CRDT_INT_H */
