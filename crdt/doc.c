/*
 * doc.c -- documents, their fields, register entries and set elements, and
 * the read API.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt_int.h"
#include "index_int.h"

/* ---- field contents ---------------------------------------------------- */

cairn_value cairn__entry_value(const cairn__entry *e)
{
	return cairn__payload_view(&e->v, CAIRN__META_TYPE(e->meta), e->vlen);
}

cairn_value cairn__elem_value(const cairn__elem *e)
{
	return cairn__payload_view(&e->v, (cairn_type)e->type, e->vlen);
}

void cairn__elem_dots(const cairn__elem *e, const cairn__dot **live,
                      const cairn__dot **rm)
{
	const cairn__dot *base = e->capdots ? e->d.many : &e->d.one;
	*live = base;
	*rm = base + (e->capdots ? e->ndots : 0);
}

static void elem_release(const cairn_allocator *a, cairn__elem *e)
{
	cairn__payload_release(a, &e->v, (cairn_type)e->type, e->vlen);
	if (e->capdots)
		cairn__free(a, e->d.many,
		            (size_t)e->capdots * sizeof(cairn__dot));
	e->capdots = e->ndots = e->nrm = 0;
}

int cairn__elem_reserve(const cairn_allocator *a, cairn__elem *e,
                        uint32_t total)
{
	if (total <= 1 || total <= e->capdots)
		return 0;
	cairn__dot *many = cairn__alloc(a, (size_t)total * sizeof *many);
	if (!many)
		return CAIRN_ENOMEM;
	const cairn__dot *live, *rm;
	cairn__elem_dots(e, &live, &rm);
	uint32_t have = e->ndots + e->nrm;
	if (have)
		memcpy(many, live, (size_t)have * sizeof *many);
	if (e->capdots)
		cairn__free(a, e->d.many, (size_t)e->capdots * sizeof *many);
	e->d.many = many;
	e->capdots = total;
	return 0;
}

void cairn__elem_assign(const cairn_allocator *a, cairn__elem *e,
                        const cairn__dot *live, uint32_t nlive,
                        const cairn__dot *rm, uint32_t nrm)
{
	uint32_t total = nlive + nrm;
	if (total <= 1) {
		cairn__dot one = nlive ? live[0]
		                 : nrm ? rm[0]
		                       : (cairn__dot){0, 0};
		if (e->capdots)
			cairn__free(a, e->d.many,
			            (size_t)e->capdots * sizeof(cairn__dot));
		e->capdots = 0;
		e->d.one = one;
	} else {
		if (nlive)
			memcpy(e->d.many, live,
			       (size_t)nlive * sizeof(cairn__dot));
		if (nrm)
			memcpy(e->d.many + nlive, rm,
			       (size_t)nrm * sizeof(cairn__dot));
	}
	e->ndots = nlive;
	e->nrm = nrm;
}

/* ---- sets --------------------------------------------------------------- */

static uint32_t elem_hash_at(const void *tab, uint32_t pos)
{
	return ((const cairn__elem *)tab)[pos].hash;
}

typedef struct elem_key {
	const cairn_value *v;
	uint32_t hash;
} elem_key;

static bool elem_match(const void *tab, uint32_t pos, const void *key)
{
	const cairn__elem *e = &((const cairn__elem *)tab)[pos];
	const elem_key *k = key;
	if (e->hash != k->hash || e->type != (uint8_t)k->v->type)
		return false;
	cairn_value ev = cairn__elem_value(e);
	return cairn_value_compare(&ev, k->v) == 0;
}

cairn__elem *cairn__set_find(const cairn__set *s, const cairn_value *v,
                             uint32_t hash)
{
	elem_key k = {v, hash};
	uint32_t pos =
	        cairn__index_find(&s->idx, hash, s->elems, elem_match, &k);
	return pos == CAIRN__NOPOS ? NULL : &s->elems[pos];
}

int cairn__set_insert(const cairn_allocator *a, cairn__set *s,
                      const cairn_value *v, uint32_t hash, cairn__elem **out)
{
	int rc = cairn__grow(a, (void **)&s->elems, &s->cap, s->n + 1,
	                     sizeof *s->elems);
	if (rc)
		return rc;
	rc = cairn__index_reserve(a, &s->idx, s->n + 1, s->elems, elem_hash_at,
	                          s->n);
	if (rc)
		return rc;
	cairn__elem *e = &s->elems[s->n];
	memset(e, 0, sizeof *e);
	rc = cairn__payload_store(a, v, &e->v);
	if (rc)
		return rc;
	e->vlen = cairn__value_len(v);
	e->type = (uint8_t)v->type;
	e->hash = hash;
	cairn__index_put(&s->idx, hash, s->n);
	s->n++;
	*out = e;
	return 0;
}

void cairn__set_remove(const cairn_allocator *a, cairn__set *s, cairn__elem *e)
{
	uint32_t pos = (uint32_t)(e - s->elems), last = s->n - 1;
	elem_release(a, e);
	cairn__index_del(&s->idx, e->hash, pos, s->elems, elem_hash_at);
	if (pos != last) {
		cairn__index_move(&s->idx, s->elems[last].hash, last, pos);
		s->elems[pos] = s->elems[last];
	}
	s->n--;
}

static void set_free(const cairn_allocator *a, cairn__set *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		elem_release(a, &s->elems[i]);
	cairn__free(a, s->elems, (size_t)s->cap * sizeof *s->elems);
	cairn__index_free(a, &s->idx);
	memset(s, 0, sizeof *s);
}

/* ---- register entries and the extension -------------------------------- */

static void entry_release(const cairn_allocator *a, cairn__entry *e)
{
	cairn__payload_release(a, &e->v, CAIRN__META_TYPE(e->meta), e->vlen);
}

/*
 * Grow an array that starts in place (in the extension) to `need` items:
 * out of place, copied, the first time; by realloc after. The array is
 * untouched on failure.
 */
static int grow_inline(const cairn_allocator *a, void **arr, uint32_t *cap,
                       uint32_t need, size_t size, void *in)
{
	if (need <= *cap)
		return 0;
	if (*arr != in)
		return cairn__grow_to(a, arr, cap, need, size);
	void *p = NULL;
	uint32_t ncap = 0;
	int rc = cairn__grow_to(a, &p, &ncap, need, size);
	if (rc)
		return rc;
	memcpy(p, in, (size_t)*cap * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

int cairn__field_make_ext_c(const cairn_allocator *a, cairn__field *f,
                            cairn__ext_cache *c)
{
	if (f->shape == CAIRN__EXT)
		return 0;
	cairn__ext *x;
	if (c && c->n) {
		x = c->x[--c->n];
	} else {
		x = cairn__alloc(a, sizeof *x);
		if (!x)
			return CAIRN_ENOMEM;
		memset(x, 0, sizeof *x);
		x->reg = x->reg_in;
		x->capreg = CAIRN__EXT_INLINE;
		x->rm = x->rm_in;
		x->caprm = CAIRN__EXT_INLINE;
	}
	if (f->shape == CAIRN__ONE) {
		x->reg[0] = f->u.one;
		x->nreg = 1;
	}
	f->u.ext = x;
	f->shape = CAIRN__EXT;
	return 0;
}

int cairn__field_make_ext(const cairn_allocator *a, cairn__field *f)
{
	return cairn__field_make_ext_c(a, f, NULL);
}

int cairn__reg_push(const cairn_allocator *a, cairn__field *f,
                    const cairn__entry *e)
{
	if (f->shape == CAIRN__EMPTY) {
		f->u.one = *e;
		f->shape = CAIRN__ONE;
		return 0;
	}
	int rc = cairn__field_make_ext(a, f);
	if (rc)
		return rc;
	cairn__ext *x = f->u.ext;
	rc = cairn__reg_reserve(a, x, 1);
	if (rc)
		return rc;
	x->reg[x->nreg++] = *e;
	return 0;
}

int cairn__reg_reserve(const cairn_allocator *a, cairn__ext *x, uint32_t n)
{
	uint64_t total = (uint64_t)x->nreg + n;
	if (total > UINT32_MAX)
		return CAIRN_ENOMEM;
	return grow_inline(a, (void **)&x->reg, &x->capreg, (uint32_t)total,
	                   sizeof *x->reg, x->reg_in);
}

void cairn__reg_remove(const cairn_allocator *a, cairn__field *f, uint32_t i)
{
	if (f->shape == CAIRN__ONE) {
		entry_release(a, &f->u.one);
		f->shape = CAIRN__EMPTY;
		return;
	}
	cairn__ext *x = f->u.ext;
	entry_release(a, &x->reg[i]);
	x->reg[i] = x->reg[--x->nreg];
}

int cairn__rm_reserve(const cairn_allocator *a, cairn__ext *x, uint32_t n)
{
	uint64_t total = (uint64_t)x->nrm + n;
	if (total > UINT32_MAX)
		return CAIRN_ENOMEM;
	return grow_inline(a, (void **)&x->rm, &x->caprm, (uint32_t)total,
	                   sizeof *x->rm, x->rm_in);
}

/* Merge dots into the sorted, duplicate-free list of removed dots. */
void cairn__rm_merge(cairn__ext *x, const cairn__dot *dots, uint32_t n)
{
	if (n == 0)
		return;
	if (n == 1 && x->nrm == 0) {
		x->rm[x->nrm++] = dots[0]; /* an overwrite's one dot */
		return;
	}
	memcpy(x->rm + x->nrm, dots, (size_t)n * sizeof *dots);
	x->nrm += n;
	cairn__sort(x->rm, x->nrm, sizeof *x->rm, cairn__dot_cmp);
	uint32_t k = 0;
	for (uint32_t i = 0; i < x->nrm; i++)
		if (k == 0 || cairn__dot_cmp(&x->rm[k - 1], &x->rm[i]) != 0)
			x->rm[k++] = x->rm[i];
	x->nrm = k;
}

static void ext_free(const cairn_allocator *a, cairn__ext *x)
{
	for (uint32_t i = 0; i < x->nreg; i++)
		entry_release(a, &x->reg[i]);
	if (x->reg != x->reg_in)
		cairn__free(a, x->reg, (size_t)x->capreg * sizeof *x->reg);
	if (x->rm != x->rm_in)
		cairn__free(a, x->rm, (size_t)x->caprm * sizeof *x->rm);
	set_free(a, &x->set);
	cairn__free(a, x, sizeof *x);
}

/*
 * An extension a delta may keep when it clears the field: its arrays are
 * small, so keeping them costs little, and the next write's delta reuses
 * them instead of allocating (an overwrite's delta field is an extension:
 * the new entry and the superseded dot).
 */
static bool ext_reusable(const cairn__ext *x)
{
	return x->capreg <= 16 && x->caprm <= 16 && x->set.cap <= 16 &&
	       cairn__index_cap(&x->set.idx) <= 32;
}

void cairn__ext_keep(const cairn_allocator *a, cairn__ext_cache *c,
                     cairn__ext *x)
{
	if (!c || c->n == CAIRN__EXT_CACHE || !ext_reusable(x)) {
		ext_free(a, x);
		return;
	}
	for (uint32_t i = 0; i < x->nreg; i++)
		entry_release(a, &x->reg[i]);
	x->nreg = x->nrm = 0;
	for (uint32_t i = 0; i < x->set.n; i++)
		elem_release(a, &x->set.elems[i]);
	x->set.n = 0;
	if (x->set.idx.slots)
		memset(x->set.idx.slots, 0,
		       (size_t)cairn__index_cap(&x->set.idx) *
		               sizeof(uint32_t));
	c->x[c->n++] = x;
}

void cairn__ext_cache_free(const cairn_allocator *a, cairn__ext_cache *c)
{
	while (c->n)
		ext_free(a, c->x[--c->n]);
}

void cairn__field_release(const cairn_allocator *a, cairn__field *f)
{
	if (f->shape == CAIRN__ONE)
		entry_release(a, &f->u.one);
	else if (f->shape == CAIRN__EXT)
		ext_free(a, f->u.ext);
	f->shape = CAIRN__EMPTY;
}

/* Fold an extension that holds one entry or nothing back into the field. */
void cairn__field_normalize(const cairn_allocator *a, cairn__field *f)
{
	if (f->shape != CAIRN__EXT)
		return;
	cairn__ext *x = f->u.ext;
	if (x->set.n || x->nrm || x->nreg > 1)
		return;
	cairn__entry one;
	bool has = x->nreg == 1;
	if (has)
		one = x->reg[0];
	x->nreg = 0;
	ext_free(a, x);
	if (has) {
		f->u.one = one;
		f->shape = CAIRN__ONE;
	} else {
		f->shape = CAIRN__EMPTY;
	}
}

/* ---- documents ---------------------------------------------------------- */

static uint32_t field_hash_at(const void *tab, uint32_t pos)
{
	return ((const cairn__field *)tab)[pos].hash;
}

typedef struct name_key {
	const uint8_t *name;
	uint32_t len;
	uint32_t hash;
} name_key;

cairn__field *cairn__doc_field(const cairn_doc *d, const uint8_t *name,
                               uint32_t len, uint32_t hash)
{
	cairn__fkey k;
	cairn__slot_hint hint;
	cairn__fkey_set(&k, name, len);
	k.hash = hash;
	return cairn__doc_fieldk(d, &k, &hint);
}

int cairn__doc_index_reserve(const cairn_allocator *a, cairn_doc *d,
                             uint32_t count)
{
	if (!d->fidx.slots && count <= CAIRN__SMALL_DOC)
		return 0;
	return cairn__index_reserve(a, &d->fidx, count, d->fields,
	                            field_hash_at, d->nfields);
}

int cairn__doc_reserve(const cairn_allocator *a, cairn_doc *d, uint32_t extra)
{
	if (extra > UINT32_MAX - d->nfields)
		return CAIRN_ENOMEM;
	int rc = cairn__grow_to(a, (void **)&d->fields, &d->capfields,
	                        d->nfields + extra, sizeof *d->fields);
	if (!rc)
		rc = cairn__doc_index_reserve(a, d, d->nfields + extra);
	return rc;
}

int cairn__doc_field_addk(const cairn_allocator *a, cairn_doc *d,
                          const cairn__fkey *k, const cairn__slot_hint *hint,
                          cairn__field **out)
{
	int rc = cairn__grow(a, (void **)&d->fields, &d->capfields,
	                     d->nfields + 1, sizeof *d->fields);
	if (rc)
		return rc;
	rc = cairn__doc_index_reserve(a, d, d->nfields + 1);
	if (rc)
		return rc;
	cairn__field *f = &d->fields[d->nfields];
	memset(f, 0, sizeof *f);
	if (k->len < CAIRN__NAME_INLINE) {
		memcpy(f->nm.in, k->pad.b, CAIRN__NAME_INLINE);
	} else {
		uint8_t *copy = cairn__alloc(a, (size_t)k->len + 1);
		if (!copy)
			return CAIRN_ENOMEM;
		memcpy(copy, k->name, k->len);
		copy[k->len] = 0;
		f->nm.ptr = copy;
	}
	f->name_len = (uint8_t)k->len;
	f->hash = k->hash;
	if (d->fidx.slots)
		cairn__index_put_hint(&d->fidx, k->hash, d->nfields, hint);
	d->nfields++;
	*out = f;
	return 0;
}

cairn__field *cairn__doc_field_stage(cairn_doc *d, const cairn__fkey *k)
{
	if (d->nfields >= d->capfields || k->len >= CAIRN__NAME_INLINE)
		return NULL;
	cairn__field *f = &d->fields[d->nfields];
	memset(f, 0, sizeof *f);
	memcpy(f->nm.in, k->pad.b, CAIRN__NAME_INLINE);
	f->name_len = (uint8_t)k->len;
	f->hash = k->hash;
	return f;
}

void cairn__doc_field_drop(const cairn_allocator *a, cairn_doc *d,
                           cairn__field *f)
{
	uint32_t pos = (uint32_t)(f - d->fields), last = d->nfields - 1;
	cairn__field_release(a, f);
	if (f->name_len >= CAIRN__NAME_INLINE)
		cairn__free(a, f->nm.ptr, (size_t)f->name_len + 1);
	if (d->fidx.slots)
		cairn__index_del(&d->fidx, f->hash, pos, d->fields,
		                 field_hash_at);
	if (pos != last) {
		if (d->fidx.slots)
			cairn__index_move(&d->fidx, d->fields[last].hash, last,
			                  pos);
		d->fields[pos] = d->fields[last];
	}
	d->nfields--;
}

#define ID_CAP_DELTA (CAIRN_MAX_ID_BYTES + 1)

int cairn__doc_new(const cairn_allocator *a, cairn_replica *owner,
                   const uint8_t *key, const char *id, uint32_t id_len,
                   uint32_t hash, cairn_doc **out)
{
	cairn_doc *d = cairn__alloc(a, sizeof *d);
	if (!d)
		return CAIRN_ENOMEM;
	memset(d, 0, sizeof *d);
	/* A delta's documents are recycled under new ids, so they get room
	 * for the longest id once. */
	d->id_cap = owner ? id_len + 1 : ID_CAP_DELTA;
	d->id = cairn__alloc(a, d->id_cap);
	if (!d->id) {
		cairn__free(a, d, sizeof *d);
		return CAIRN_ENOMEM;
	}
	memcpy(d->id, id, id_len);
	d->id[id_len] = 0;
	d->id_len = id_len;
	d->hash = hash;
	d->owner = owner;
	d->key = key;
	d->self = UINT32_MAX;
	*out = d;
	return 0;
}

/* What a field owns beyond its record, released (or kept, in c). */
static void field_clear(const cairn_allocator *a, cairn__ext_cache *c,
                        cairn__field *f)
{
	if (f->shape == CAIRN__EXT)
		cairn__ext_keep(a, c, f->u.ext);
	else if (f->shape == CAIRN__ONE)
		cairn__field_release(a, f);
	if (f->name_len >= CAIRN__NAME_INLINE)
		cairn__free(a, f->nm.ptr, (size_t)f->name_len + 1);
}

void cairn__doc_clear_keep(const cairn_allocator *a, cairn_doc *d,
                           cairn__ext_cache *c)
{
	for (uint32_t i = 0; i < d->nfields; i++) {
		cairn__field *f = &d->fields[i];
		/* A register entry without out-of-line bytes and with a short
		 * name owns nothing: the common field of a delta cleared
		 * after each write. */
		if (f->shape == CAIRN__EXT ||
		    (f->shape == CAIRN__ONE &&
		     f->u.one.vlen > CAIRN__INLINE_BYTES) ||
		    f->name_len >= CAIRN__NAME_INLINE)
			field_clear(a, c, f);
	}
	if (d->fidx.slots)
		cairn__index_clear(&d->fidx, d->fields, field_hash_at,
		                   d->nfields);
	d->nfields = 0;
	cairn__ctx_clear(&d->ctx);
	/* The writers stay, and so self stays right. */
}

void cairn__doc_clear(const cairn_allocator *a, cairn_doc *d)
{
	cairn__doc_clear_keep(a, d, NULL);
}

void cairn__doc_free(const cairn_allocator *a, cairn_doc *d)
{
	if (!d)
		return;
	cairn__doc_clear(a, d);
	cairn__free(a, d->fields, (size_t)d->capfields * sizeof *d->fields);
	cairn__index_free(a, &d->fidx);
	cairn__ctx_free(a, &d->ctx);
	cairn__free(a, d->id, d->id_cap);
	cairn__free(a, d, sizeof *d);
}

bool cairn__doc_is_empty(const cairn_doc *d)
{
	return d->nfields == 0 && cairn__ctx_empty(&d->ctx);
}

/* ---- document sets ------------------------------------------------------ */

static uint32_t doc_hash_at(const void *tab, uint32_t pos)
{
	return ((cairn_doc *const *)tab)[pos]->hash;
}

static bool doc_match(const void *tab, uint32_t pos, const void *key)
{
	const cairn_doc *d = ((cairn_doc *const *)tab)[pos];
	const name_key *k = key;
	return d->hash == k->hash && d->id_len == k->len &&
	       memcmp(d->id, k->name, k->len) == 0;
}

int cairn__docset_find(const cairn__docset *s, const char *id, uint32_t len,
                       uint32_t hash, cairn_doc **out)
{
	name_key k = {(const uint8_t *)id, len, hash};
	uint32_t pos = cairn__index_find(&s->idx, hash, s->docs, doc_match, &k);
	*out = pos == CAIRN__NOPOS ? NULL : s->docs[pos];
	return *out ? 0 : CAIRN_ENOTFOUND;
}

int cairn__docset_insert(const cairn_allocator *a, cairn__docset *s,
                         cairn_doc *d)
{
	int rc = cairn__grow(a, (void **)&s->docs, &s->cap, s->n + 1,
	                     sizeof *s->docs);
	if (rc)
		return rc;
	rc = cairn__index_reserve(a, &s->idx, s->n + 1, s->docs, doc_hash_at,
	                          s->n);
	if (rc)
		return rc;
	s->docs[s->n] = d;
	cairn__index_put(&s->idx, d->hash, s->n);
	s->n++;
	return 0;
}

void cairn__docset_free(const cairn_allocator *a, cairn__docset *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		cairn__doc_free(a, s->docs[i]);
	cairn__free(a, s->docs, (size_t)s->cap * sizeof *s->docs);
	cairn__index_free(a, &s->idx);
	memset(s, 0, sizeof *s);
}

/* ---- reads -------------------------------------------------------------- */

const char *cairn_doc_id(const cairn_doc *d)
{
	return d->id;
}

static const cairn__field *find_named(const cairn_doc *d, const char *field)
{
	size_t len;
	if (!d || cairn__name_check(field, &len))
		return NULL;
	cairn__fkey k;
	cairn__slot_hint hint;
	cairn__fkey_set(&k, (const uint8_t *)field, (uint32_t)len);
	k.hash = cairn__fkey_hash(d->key, &k);
	return cairn__doc_fieldk(d, &k, &hint);
}

/*
 * The order of preference among concurrent register values: > 0 when a is
 * preferred over b. Ties cannot happen between distinct dots of one
 * replica (its HLC never repeats), so (hlc, replica) is a total order.
 */
static int prefer(cairn_policy p, const cairn__entry *a, const cairn__entry *b,
                  const cairn__ctx *ctx)
{
	if (p == CAIRN_POLICY_PRIORITY) {
		uint8_t pa = CAIRN__META_PRIO(a->meta);
		uint8_t pb = CAIRN__META_PRIO(b->meta);
		if (pa != pb)
			return pa > pb ? 1 : -1;
	}
	int c;
	if (a->hlc != b->hlc)
		c = a->hlc > b->hlc ? 1 : -1;
	else if (ctx->rid[a->writer] != ctx->rid[b->writer])
		c = ctx->rid[a->writer] > ctx->rid[b->writer] ? 1 : -1;
	else
		c = (CAIRN__META_COUNTER(a->meta) >
		     CAIRN__META_COUNTER(b->meta)) -
		    (CAIRN__META_COUNTER(a->meta) <
		     CAIRN__META_COUNTER(b->meta));
	return p == CAIRN_POLICY_FWW ? -c : c;
}

static void stamp_of(const cairn_doc *d, const cairn__entry *e, cairn_stamp *s)
{
	s->hlc = e->hlc;
	s->replica = d->ctx.rid[e->writer];
	s->priority = CAIRN__META_PRIO(e->meta);
}

int cairn_doc_field_info(const cairn_doc *d, const char *field,
                         cairn_field_info *out)
{
	const cairn__field *f = find_named(d, field);
	if (!f || cairn__field_is_empty(f))
		return CAIRN_ENOTFOUND;
	memset(out, 0, sizeof *out);
	out->values = cairn__field_nreg(f);
	out->members = cairn__field_nelems(f);
	out->kind = out->values    ? CAIRN_KIND_REGISTER
	            : out->members ? CAIRN_KIND_SET
	                           : CAIRN_KIND_NONE;
	if (out->kind == CAIRN_KIND_NONE)
		return CAIRN_ENOTFOUND;
	out->policy = (cairn_policy)f->policy;
	out->kind_conflict = out->values && out->members;
	return 0;
}

static int reg_field(const cairn_doc *d, const char *field,
                     const cairn__field **out)
{
	const cairn__field *f = find_named(d, field);
	if (!f)
		return CAIRN_ENOTFOUND;
	if (cairn__field_nreg(f) == 0)
		return cairn__field_nelems(f) ? CAIRN_EKIND : CAIRN_ENOTFOUND;
	*out = f;
	return 0;
}

int cairn_doc_get(const cairn_doc *d, const char *field, cairn_value *out,
                  cairn_stamp *stamp)
{
	const cairn__field *f;
	int rc = reg_field(d, field, &f);
	if (rc)
		return rc;
	const cairn__entry *reg = cairn__field_reg(f);
	uint32_t n = cairn__field_nreg(f), best = 0;
	/* Under multi, `get` reads the latest of the concurrent values. */
	cairn_policy p = f->policy == CAIRN_POLICY_MULTI
	                         ? CAIRN_POLICY_LWW
	                         : (cairn_policy)f->policy;
	for (uint32_t i = 1; i < n; i++)
		if (prefer(p, &reg[i], &reg[best], &d->ctx) > 0)
			best = i;
	*out = cairn__entry_value(&reg[best]);
	if (stamp)
		stamp_of(d, &reg[best], stamp);
	return 0;
}

int cairn_doc_get_all(const cairn_doc *d, const char *field, cairn_value *out,
                      cairn_stamp *stamps, size_t cap, size_t *n)
{
	const cairn__field *f;
	int rc = reg_field(d, field, &f);
	if (rc)
		return rc;
	const cairn__entry *reg = cairn__field_reg(f);
	uint32_t cnt = cairn__field_nreg(f);
	*n = cnt;
	if (cnt > cap)
		return CAIRN_ESPACE;
	cairn_policy p = (cairn_policy)f->policy;
	if (p == CAIRN_POLICY_MULTI)
		p = CAIRN_POLICY_LWW;
	/* Selection into the caller's arrays: the values are few. */
	const cairn__entry *prev = NULL;
	for (uint32_t k = 0; k < cnt; k++) {
		const cairn__entry *best = NULL;
		for (uint32_t i = 0; i < cnt; i++) {
			if (prev && prefer(p, &reg[i], prev, &d->ctx) >= 0)
				continue;
			if (!best || prefer(p, &reg[i], best, &d->ctx) > 0)
				best = &reg[i];
		}
		out[k] = cairn__entry_value(best);
		if (stamps)
			stamp_of(d, best, &stamps[k]);
		prev = best;
	}
	return 0;
}

static int value_cmp(const void *a, const void *b)
{
	return cairn_value_compare(a, b);
}

int cairn_doc_members(const cairn_doc *d, const char *field, cairn_value *out,
                      size_t cap, size_t *n)
{
	const cairn__field *f = find_named(d, field);
	*n = 0;
	if (!f)
		return 0;
	if (cairn__field_nreg(f))
		return CAIRN_EKIND;
	uint32_t cnt = cairn__field_nelems(f);
	*n = cnt;
	if (cnt > cap)
		return CAIRN_ESPACE;
	for (uint32_t i = 0; i < cnt; i++)
		out[i] = cairn__elem_value(&f->u.ext->set.elems[i]);
	cairn__sort(out, cnt, sizeof *out, value_cmp);
	return 0;
}

int cairn_doc_contains(const cairn_doc *d, const char *field,
                       const cairn_value *elem)
{
	const cairn__field *f = find_named(d, field);
	if (!f || !elem)
		return 0;
	if (cairn__field_nreg(f))
		return CAIRN_EKIND;
	if (!cairn__field_nelems(f))
		return 0;
	uint32_t h = cairn__value_hash32(d->key, elem);
	return cairn__set_find(&f->u.ext->set, elem, h) != NULL;
}

size_t cairn_doc_field_count(const cairn_doc *d)
{
	return d->nfields;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cairn_doc_fields(const cairn_doc *d, const char **names, size_t cap,
                     size_t *n)
{
	*n = d->nfields;
	if (d->nfields > cap)
		return CAIRN_ESPACE;
	for (uint32_t i = 0; i < d->nfields; i++)
		names[i] = (const char *)cairn__fname(&d->fields[i]);
	cairn__sort(names, d->nfields, sizeof *names, name_cmp);
	return 0;
}
