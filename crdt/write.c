/*
 * write.c -- local writes: register set and delete, set add and remove.
 *
 * Each write makes (at most) one fresh dot and supersedes the entries its
 * replica sees: all of the field's for a register write or a delete, the
 * element's own for a set add or remove. Its delta is exactly that: the new
 * entry, plus the superseded dots as removals scoped to the field or to the
 * element. The delta is joined into the caller's cairn_delta, and the same
 * change is applied to the document in place.
 *
 * This is the hot path, so it does not build a delta and call the general
 * join; it performs the equivalent change directly (tests check that the
 * two agree). Every step that can fail runs first, and leaves nothing a
 * reader could see: an empty field or element record in a delta encodes as
 * nothing. Only then does anything visible change, with no way to fail.
 */
#include <string.h>

#include "crdt_int.h"
#include "index_int.h"

typedef enum op_kind { OP_SET, OP_DEL, OP_ADD, OP_RM } op_kind;

/* The delta's side of a write, as it is prepared and then committed. */
typedef struct delta_prep {
	cairn_doc *dd;
	const cairn__fkey *key; /* the name, hashed under the delta's key: */
	cairn__fkey rekeyed;    /* op->key, or this if the keys differ */
	cairn__slot_hint hint;
	cairn__field *df;
	cairn__elem *dx;
	uint32_t self;        /* our writer index in dd */
	cairn__dots gone;     /* op->gone in dd's writers */
	cairn__payload value; /* SET: the delta's copy of the value */
	bool has_value;
	bool placed; /* SET: the entry sits in df already (see place()) */
	bool new_field, new_elem; /* made here: undone if the write fails */
	cairn__dots live, rm;     /* ADD/RM: the element's new dot lists */
} delta_prep;

/* One write, as it is prepared and then committed. */
typedef struct write_op {
	op_kind kind;
	cairn_replica *r;
	cairn_doc *d;
	cairn__fkey key; /* the field name, hashed under the replica's key */
	cairn__slot_hint hint; /* where a new field goes in d's index */
	const cairn_value *v;  /* the value (SET) or the element (ADD, RM) */
	uint32_t vhash;        /* element hash under the replica's key */
	cairn__field *f;       /* the local field, if it exists */
	cairn__elem *x;        /* the local element, if it exists */
	cairn__entry entry;    /* SET: the new entry */
	cairn__payload local;  /* SET: the document's copy of the value */
	bool has_local;
	int local_rc;     /* SET: storing it, reported in run() */
	cairn_hlc clock;  /* SET: the clock after the tick, kept on commit */
	int tick_rc;      /* SET: the tick's result, reported last */
	uint8_t policy;   /* the field's policy */
	bool counted;     /* counter and counter_rc are known */
	int counter_rc;   /* next_counter()'s result, reported in run() */
	uint64_t counter; /* the fresh dot's counter */
	cairn__field *staged; /* SET: a new field's record, made ahead */
	cairn__dots gone;     /* superseded dots, in the document's writers */
	cairn_delta *delta;   /* where the write is recorded, or NULL */
	delta_prep p;         /* the delta's side */
	int open_rc;          /* delta_open()'s result, reported in run() */
} write_op;

static const cairn_allocator *alloc_of(const write_op *op)
{
	return &op->r->alloc;
}

/* The dots this write supersedes (see the file comment). */
static int collect_superseded(write_op *op)
{
	const cairn_allocator *a = alloc_of(op);
	int rc = 0;
	if (!op->f)
		return 0;
	if (op->kind == OP_ADD || op->kind == OP_RM) {
		if (!op->x)
			return 0;
		const cairn__dot *live, *rm;
		cairn__elem_dots(op->x, &live, &rm);
		for (uint32_t i = 0; i < op->x->ndots && !rc; i++)
			rc = cairn__dots_push(a, &op->gone, live[i]);
		return rc;
	}
	const cairn__entry *reg = cairn__field_reg(op->f);
	uint32_t nreg = cairn__field_nreg(op->f);
	for (uint32_t i = 0; i < nreg && !rc; i++) {
		cairn__dot d = {CAIRN__META_COUNTER(reg[i].meta),
		                reg[i].writer};
		rc = cairn__dots_push(a, &op->gone, d);
	}
	uint32_t ne = cairn__field_nelems(op->f);
	for (uint32_t i = 0; i < ne && !rc; i++) {
		const cairn__elem *e = &op->f->u.ext->set.elems[i];
		const cairn__dot *live, *rm;
		cairn__elem_dots(e, &live, &rm);
		for (uint32_t j = 0; j < e->ndots && !rc; j++)
			rc = cairn__dots_push(a, &op->gone, live[j]);
	}
	return rc;
}

/* The next counter of this replica's dots in the document. */
static int next_counter(cairn_doc *d, uint64_t *out)
{
	uint64_t top = d->ctx.max[d->self];
	/* Our own dots sit above a gap only if a state was restored from a
	 * peer that had not seen them all; never reuse one. */
	for (uint32_t i = d->ctx.ncloud; i-- > 0;) {
		if (d->ctx.cloud[i].writer == d->self) {
			if (d->ctx.cloud[i].counter > top)
				top = d->ctx.cloud[i].counter;
			break;
		}
		if (d->ctx.cloud[i].writer < d->self)
			break;
	}
	if (top >= CAIRN__COUNTER_MAX)
		return CAIRN_ERANGE;
	*out = top + 1;
	return 0;
}

/* ---- the delta side ----------------------------------------------------- */

static void dots_release(const cairn_allocator *a, cairn__dots *l)
{
	if (l->p != l->stack)
		cairn__dots_free(a, l);
}

static void delta_prep_release(const cairn_allocator *a,
                               const cairn_allocator *da, delta_prep *p,
                               const cairn_value *v)
{
	dots_release(a, &p->gone);
	dots_release(a, &p->live);
	dots_release(a, &p->rm);
	if (p->has_value)
		cairn__payload_release(da, &p->value, v->type,
		                       cairn__value_len(v));
	p->has_value = false;
}

/* Inline, since a write mostly has nothing to release here. */
static inline void delta_prep_free(const cairn_allocator *a,
                                   const cairn_allocator *da, delta_prep *p,
                                   const cairn_value *v)
{
	if (p->gone.p != p->gone.stack || p->live.p != p->live.stack ||
	    p->rm.p != p->rm.stack || p->has_value)
		delta_prep_release(a, da, p, v);
}

/*
 * Our writer index in the delta's document. That document remembers the
 * writer it last recorded (its writers, and so the index, outlive a clear),
 * so a run of writes by one replica skips the search.
 */
static int delta_self(const cairn_allocator *da, cairn_doc *dd, uint64_t rid,
                      uint32_t *out)
{
	if (dd->self < dd->ctx.n && dd->ctx.rid[dd->self] == rid) {
		*out = dd->self;
		return 0;
	}
	int rc = cairn__ctx_writer(da, &dd->ctx, rid, out);
	if (!rc)
		dd->self = *out;
	return rc;
}

/*
 * The new entry, written into op->entry once, whole, and copied out
 * member by member. Its members come from the clock's tick and the
 * counter: stored one by one and then copied as a whole, they were read
 * back by wide loads spanning several stores, which the CPU cannot
 * forward, a stall on every write.
 */
static void set_entry(write_op *op, uint64_t hlc, uint64_t meta, uint32_t vlen)
{
	cairn__entry e = {hlc, meta, {0}, vlen, 0};
	op->entry = e;
}

static void entry_put(cairn__entry *dst, const write_op *op,
                      const cairn__payload *v, uint32_t writer)
{
	dst->hlc = op->entry.hlc;
	dst->meta = op->entry.meta;
	dst->v = *v;
	dst->vlen = op->entry.vlen;
	dst->writer = writer;
}

/*
 * Put the new entry into the delta's field ahead of time, while the local
 * field's index slot loads. That is the whole of the delta's change when
 * the write supersedes nothing (a new field: the common case), and it is
 * taken back, with nothing to free or allocate, when it does (unplace()),
 * or when the write fails.
 */
static void place(write_op *op)
{
	delta_prep *p = &op->p;
	entry_put(&p->df->u.one, op, &p->value, p->self);
	p->df->shape = CAIRN__ONE;
	p->has_value = false;
	p->placed = true;
}

static void unplace(delta_prep *p)
{
	if (!p->placed)
		return;
	p->value = p->df->u.one.v;
	p->has_value = true;
	memset(&p->df->u.one, 0, sizeof p->df->u.one);
	p->df->shape = CAIRN__EMPTY;
	p->placed = false;
}

/*
 * The part of the delta's side that needs no local field: the delta's
 * document, its field record, our writer index there and its copy of the
 * value. begin() does it while the local field's index slot loads; what it
 * made is undone if the write goes no further.
 */
static int delta_open(write_op *op)
{
	cairn_delta *delta = op->delta;
	delta_prep *p = &op->p;
	const cairn_allocator *da = &delta->alloc;
	int rc = cairn__delta_doc_for(delta, op->d, &p->dd);
	if (rc)
		return rc;
	p->key = &op->key;
	if (memcmp(delta->key, op->r->cfg.hash_key, 16) != 0) {
		p->rekeyed = op->key;
		p->rekeyed.hash = cairn__fkey_hash(delta->key, &p->rekeyed);
		p->key = &p->rekeyed;
	}
	/* A delta cleared after every write holds no field to look up. */
	p->hint.slots = NULL;
	p->df = p->dd->nfields ? cairn__doc_fieldk(p->dd, p->key, &p->hint)
	                       : NULL;
	if (!p->df) {
		rc = cairn__doc_field_addk(da, p->dd, p->key, &p->hint, &p->df);
		if (rc)
			return rc;
		p->new_field = true;
	}
	rc = delta_self(da, p->dd, op->r->cfg.id, &p->self);
	if (!rc && op->kind == OP_SET) {
		rc = cairn__payload_put(da, op->v, &p->value);
		p->has_value = rc == 0;
	}
	if (!rc && op->kind == OP_SET && op->counted && !op->counter_rc &&
	    !op->tick_rc && p->df->shape == CAIRN__EMPTY)
		place(op);
	return rc;
}

/* The rest, which depends on the local field: policy, superseded dots. */
static int delta_prepare(write_op *op)
{
	cairn_delta *delta = op->delta;
	delta_prep *p = &op->p;
	const cairn_allocator *a = alloc_of(op), *da = &delta->alloc;
	cairn_doc *d = op->d;
	int rc = 0;
	p->df->policy = op->policy;
	if (p->placed && op->gone.n == 0)
		return 0; /* done: see place() */
	unplace(p);
	/* Translate the superseded dots into the delta document's writers. */
	for (uint32_t i = 0; i < op->gone.n && !rc; i++) {
		cairn__dot t = {op->gone.p[i].counter, p->self};
		uint64_t rid = d->ctx.rid[op->gone.p[i].writer];
		/* Mostly our own dots: an overwrite of our last write. */
		if (rid != op->r->cfg.id)
			rc = cairn__ctx_writer(da, &p->dd->ctx, rid, &t.writer);
		if (!rc)
			rc = cairn__dots_push(a, &p->gone, t);
	}
	if (rc)
		return rc;
	if (op->kind == OP_SET || op->kind == OP_DEL) {
		if (p->gone.n || p->df->shape != CAIRN__EMPTY) {
			rc = cairn__field_make_ext_c(da, p->df, &delta->exts);
			if (!rc)
				rc = cairn__rm_reserve(da, p->df->u.ext,
				                       p->gone.n);
			if (!rc && op->kind == OP_SET)
				rc = cairn__reg_reserve(da, p->df->u.ext, 1);
		}
		return rc;
	}
	/* ADD / RM: the element's fragment in the delta. */
	rc = cairn__field_make_ext_c(da, p->df, &delta->exts);
	if (rc)
		return rc;
	uint32_t eh = memcmp(delta->key, op->r->cfg.hash_key, 16) == 0
	                      ? op->vhash
	                      : cairn__value_hash32(delta->key, op->v);
	p->dx = cairn__set_find(&p->df->u.ext->set, op->v, eh);
	if (!p->dx) {
		rc = cairn__set_insert(da, &p->df->u.ext->set, op->v, eh,
		                       &p->dx);
		if (rc)
			return rc;
		p->new_elem = true;
	}
	const cairn__dot *live, *rm;
	cairn__elem_dots(p->dx, &live, &rm);
	for (uint32_t i = 0; i < p->dx->ndots && !rc; i++)
		if (!cairn__dots_has(p->gone.p, p->gone.n, live[i].writer,
		                     live[i].counter))
			rc = cairn__dots_push(a, &p->live, live[i]);
	if (!rc && op->kind == OP_ADD)
		rc = cairn__dots_push(a, &p->live,
		                      (cairn__dot){op->counter, p->self});
	for (uint32_t i = 0; i < p->dx->nrm && !rc; i++)
		rc = cairn__dots_push(a, &p->rm, rm[i]);
	for (uint32_t i = 0; i < p->gone.n && !rc; i++)
		if (!cairn__dots_has(p->rm.p, p->rm.n, p->gone.p[i].writer,
		                     p->gone.p[i].counter))
			rc = cairn__dots_push(a, &p->rm, p->gone.p[i]);
	if (!rc)
		rc = cairn__elem_reserve(da, p->dx, p->live.n + p->rm.n);
	return rc;
}

/*
 * A write that failed leaves nothing in the delta: records it made empty
 * go again (an extension it added to an empty field folds back).
 */
static void delta_undo(cairn_delta *delta, delta_prep *p)
{
	const cairn_allocator *da = &delta->alloc;
	unplace(p);
	if (p->new_elem)
		cairn__set_remove(da, &p->df->u.ext->set, p->dx);
	if (p->df) {
		cairn__field_normalize(da, p->df);
		if (p->new_field && cairn__field_is_empty(p->df))
			cairn__doc_field_drop(da, p->dd, p->df);
	}
}

/* Drop the live dots of an element that `gone` covers, in place. */
static void elem_drop(cairn__elem *e, const cairn__dots *gone)
{
	cairn__dot *base = e->capdots ? e->d.many : &e->d.one;
	uint32_t k = 0;
	for (uint32_t i = 0; i < e->ndots; i++)
		if (!cairn__dots_has(gone->p, gone->n, base[i].writer,
		                     base[i].counter))
			base[k++] = base[i];
	uint32_t dropped = e->ndots - k;
	if (dropped && e->nrm)
		memmove(base + k, base + e->ndots,
		        (size_t)e->nrm * sizeof *base);
	e->ndots = k;
	if (!e->capdots && e->ndots + e->nrm == 0)
		e->d.one = (cairn__dot){0, 0};
}

static void delta_commit(write_op *op, cairn_delta *delta, delta_prep *p)
{
	const cairn_allocator *da = &delta->alloc;
	cairn__field *df = p->df;
	if (p->placed)
		return;
	if (op->kind == OP_ADD || op->kind == OP_RM) {
		cairn__elem_assign(da, p->dx, p->live.p, p->live.n, p->rm.p,
		                   p->rm.n);
		if (p->dx->ndots + p->dx->nrm == 0)
			cairn__set_remove(da, &df->u.ext->set, p->dx);
		return;
	}
	if (df->shape == CAIRN__EXT) {
		cairn__ext *x = df->u.ext;
		cairn__rm_merge(x, p->gone.p, p->gone.n);
		for (uint32_t i = x->nreg; i-- > 0;)
			if (cairn__dots_has(
			            p->gone.p, p->gone.n, x->reg[i].writer,
			            CAIRN__META_COUNTER(x->reg[i].meta)))
				cairn__reg_remove(da, df, i);
		for (uint32_t i = x->set.n; i-- > 0;) {
			cairn__elem *e = &x->set.elems[i];
			elem_drop(e, &p->gone);
			if (e->ndots + e->nrm == 0)
				cairn__set_remove(da, &x->set, e);
		}
	}
	if (op->kind == OP_SET) {
		p->has_value = false;
		if (df->shape == CAIRN__EXT) {
			cairn__ext *x = df->u.ext;
			/* room was reserved */
			entry_put(&x->reg[x->nreg++], op, &p->value, p->self);
		} else {
			entry_put(&df->u.one, op, &p->value, p->self);
			df->shape = CAIRN__ONE;
		}
	}
	if (df->shape == CAIRN__EXT)
		cairn__field_normalize(da, df);
}

/* ---- the document side ------------------------------------------------- */

static void local_release(write_op *op)
{
	if (op->has_local)
		cairn__payload_release(alloc_of(op), &op->local, op->v->type,
		                       cairn__value_len(op->v));
	op->has_local = false;
}

/*
 * A register write to a new field that begin() prepared whole: the record
 * staged, the delta's entry placed, nothing superseded. What is left is
 * what run() would do then: add the field, and commit.
 */
static bool prepared(const write_op *op)
{
	return op->kind == OP_SET && !op->f && op->staged && op->counted &&
	       !op->counter_rc && !op->local_rc &&
	       (!op->delta || (!op->open_rc && op->p.placed));
}

static int run(write_op *op)
{
	cairn_delta *delta = op->delta;
	delta_prep *p = &op->p;
	const cairn_allocator *a = alloc_of(op);
	cairn_doc *d = op->d;
	int rc;
	if (prepared(op)) {
		rc = cairn__doc_field_add_staged(a, d, &op->hint, &op->f);
		if (rc)
			goto fail;
		if (delta)
			p->df->policy = op->policy;
		op->has_local = false; /* the record holds it: see stage() */
		d->ctx.max[d->self] = op->counter;
		op->r->hlc.last = op->clock.last;
		return 0;
	}
	if (d->self == UINT32_MAX) {
		uint32_t w;
		rc = cairn__ctx_writer(a, &d->ctx, op->r->cfg.id, &w);
		if (rc)
			goto fail;
		d->self = w;
	}
	if (op->kind == OP_SET || op->kind == OP_ADD) {
		if (!op->counted)
			op->counter_rc = next_counter(d, &op->counter);
		rc = op->counter_rc;
		if (rc)
			goto fail;
	}
	if (op->kind == OP_SET && !op->counted)
		set_entry(op, op->entry.hlc,
		          CAIRN__META(op->counter, op->r->cfg.source_priority,
		                      op->v->type),
		          op->entry.vlen);
	rc = collect_superseded(op);
	if (rc)
		goto fail;

	if (delta) {
		rc = op->open_rc ? op->open_rc : delta_prepare(op);
		if (rc)
			goto fail;
	}

	/* The document's own preparations, last: a new field is the one
	 * visible thing made here, and it is undone on failure. (The value's
	 * copy was made in begin(), while the index slot loaded; its error
	 * is reported here, in its turn.) */
	bool created = false;
	rc = op->local_rc;
	if (rc)
		goto fail;
	if (!op->f && (op->kind == OP_SET || op->kind == OP_ADD)) {
		/* Nothing added a field to d since begin() looked: the slot
		 * its lookup stopped at is where this one goes. */
		if (op->staged)
			rc = cairn__doc_field_add_staged(a, d, &op->hint,
			                                 &op->f);
		else
			rc = cairn__doc_field_addk(a, d, &op->key, &op->hint,
			                           &op->f);
		if (rc)
			goto fail;
		op->f->policy = op->policy;
		created = true;
	}
	if (op->kind == OP_ADD && !op->x) {
		rc = cairn__field_make_ext(a, op->f);
		if (!rc)
			rc = cairn__set_insert(a, &op->f->u.ext->set, op->v,
			                       op->vhash, &op->x);
		if (rc) {
			if (created)
				cairn__doc_field_drop(a, d, op->f);
			goto fail;
		}
	}

	/* Commit: nothing below can fail. */
	if (delta)
		delta_commit(op, delta, p);
	switch (op->kind) {
	case OP_SET:
		op->has_local = false;
		if (created && op->staged)
			break; /* the record holds the entry: see stage() */
		if (!created)
			cairn__field_release(a, op->f);
		entry_put(&op->f->u.one, op, &op->local, d->self);
		op->f->shape = CAIRN__ONE;
		break;
	case OP_DEL: cairn__doc_field_drop(a, d, op->f); break;
	case OP_ADD: {
		cairn__dot dot = {op->counter, d->self};
		cairn__elem_assign(a, op->x, &dot, 1, NULL, 0);
		break;
	}
	case OP_RM:
		cairn__set_remove(a, &op->f->u.ext->set, op->x);
		cairn__field_normalize(a, op->f);
		if (cairn__field_is_empty(op->f))
			cairn__doc_field_drop(a, d, op->f);
		break;
	}
	if (op->kind == OP_SET || op->kind == OP_ADD)
		d->ctx.max[d->self] = op->counter;
	if (op->kind == OP_SET)
		op->r->hlc.last = op->clock.last;
	if (delta)
		delta_prep_free(a, &delta->alloc, p, op->v);
	dots_release(a, &op->gone);
	return 0;

fail:
	local_release(op);
	if (delta) {
		delta_undo(delta, p);
		delta_prep_free(a, &delta->alloc, p, op->v);
	}
	dots_release(a, &op->gone);
	return rc;
}

/* A write refused before run(): what begin() opened in the delta goes. */
static int refuse(write_op *op, int rc)
{
	local_release(op);
	if (op->delta) {
		delta_undo(op->delta, &op->p);
		delta_prep_free(alloc_of(op), &op->delta->alloc, &op->p, op->v);
	}
	return rc;
}

/*
 * Make the record of the field as if it were new, past the end of the
 * document's fields where nothing reads it, while the index slot loads: a
 * write to a new field then only has to index it and count it. A write to
 * an existing field leaves it there unused. (Not when the array would
 * have to grow, nor for a long name, whose copy would be allocated.)
 */
static void stage(write_op *op)
{
	cairn_doc *d = op->d;
	cairn__field *f = cairn__doc_field_stage(d, &op->key);
	if (!f)
		return;
	f->policy = (uint8_t)cairn__field_policy(op->r, d, op->key.name,
	                                         op->key.len);
	entry_put(&f->u.one, op, &op->local, d->self);
	f->shape = CAIRN__ONE;
	op->staged = f;
}

/* A name not found in the document is checked before it is added; most
 * are short and ASCII, which the padded words show at once. */
static bool name_valid(const cairn__fkey *k)
{
	if (k->len < CAIRN__NAME_INLINE &&
	    ((k->pad.w[0] | k->pad.w[1]) & UINT64_C(0x8080808080808080)) == 0)
		return true;
	return cairn__utf8_valid(k->name, k->len);
}

/*
 * Common checks and lookups of every write.
 *
 * In a large document the index slot of a new name is a cache miss, the
 * largest single cost of a write. So the slot is fetched as soon as the
 * name is hashed, and the work that does not need the field runs while it
 * loads: checking the value, ticking the clock, copying the value, finding
 * the dot's counter, opening the delta's side. Work done there is nearly
 * free (the load takes longer); work before the hash or after the lookup
 * is not. Errors are still reported in the order of the checks: the
 * name's, the value's, the field's, the clock's (op->tick_rc, which
 * cairn_doc_set returns), then in run() the counter's (op->counter_rc),
 * the delta's (op->open_rc) and the copy's (op->local_rc). A write refused
 * after begin() returns through refuse().
 */
static int begin(write_op *op, op_kind kind, cairn_doc *d, const char *field,
                 const cairn_value *v, uint64_t now_ms, cairn_delta *delta)
{
	if (!d || !d->owner)
		return CAIRN_EINVAL;
	op->kind = kind;
	op->d = d;
	op->r = d->owner;
	size_t len;
	int rc = cairn__name_len(field, &len);
	if (rc)
		return rc;
	cairn__fkey_set(&op->key, (const uint8_t *)field, (uint32_t)len);
	op->key.hash = cairn__fkey_hash(op->r->cfg.hash_key, &op->key);
	cairn__index_prefetch(&d->fidx, op->key.hash);

	/* Field by field: the cairn__dots arrays need no clearing. */
	op->v = NULL;
	op->f = NULL;
	op->x = NULL;
	op->vhash = 0;
	op->counter = 0;
	op->counted = false;
	op->staged = NULL;
	op->has_local = false;
	op->tick_rc = op->open_rc = op->local_rc = 0;
	op->delta = NULL;
	memset(&op->entry, 0, sizeof op->entry);
	cairn__dots_init(&op->gone);
	op->p.dd = NULL;
	op->p.df = NULL;
	op->p.dx = NULL;
	op->p.has_value = op->p.new_field = op->p.new_elem = false;
	op->p.placed = false;
	cairn__dots_init(&op->p.gone);
	cairn__dots_init(&op->p.live);
	cairn__dots_init(&op->p.rm);
	if (kind != OP_DEL) {
		rc = cairn__value_check(v, op->r->cfg.limits.max_value_bytes);
		op->v = v;
	}
	if (rc)
		goto lookup;
	uint64_t hlc = 0, meta = 0;
	if (kind == OP_SET) {
		/* Tick a copy: the clock moves only if the write happens. */
		op->clock = op->r->hlc;
		op->tick_rc = cairn_hlc_tick(&op->clock, now_ms, &hlc);
		op->local_rc = cairn__payload_put(alloc_of(op), v, &op->local);
		op->has_local = op->local_rc == 0;
	}
	/* The dot's counter, unless this is the replica's first write in
	 * the document (run() then adds the writer first). */
	if ((kind == OP_SET || kind == OP_ADD) && d->self != UINT32_MAX) {
		op->counter_rc = next_counter(d, &op->counter);
		op->counted = true;
		meta = CAIRN__META(op->counter, op->r->cfg.source_priority,
		                   v->type);
	}
	if (kind == OP_SET)
		set_entry(op, hlc, meta, cairn__value_len(v));
	if (delta) {
		op->delta = delta;
		op->open_rc = delta_open(op);
	}
	if (kind == OP_SET && op->counted && !op->counter_rc && !op->tick_rc &&
	    op->has_local)
		stage(op);
lookup:
	op->f = cairn__doc_fieldk(d, &op->key, &op->hint);
	if (!op->f && !name_valid(&op->key))
		return refuse(op, CAIRN_EINVAL);
	op->policy = op->f        ? op->f->policy
	             : op->staged ? op->staged->policy
	                          : (uint8_t)cairn__field_policy(op->r, d,
	                                                         op->key.name,
	                                                         op->key.len);
	return rc;
}

int cairn_doc_set(cairn_doc *d, const char *field, const cairn_value *v,
                  uint64_t now_ms, cairn_delta *delta)
{
	write_op op;
	int rc = begin(&op, OP_SET, d, field, v, now_ms, delta);
	if (rc)
		return rc;
	cairn_policy policy = (cairn_policy)op.policy;
	if (op.f) {
		uint32_t nreg = cairn__field_nreg(op.f);
		if (nreg == 0 && cairn__field_nelems(op.f))
			return refuse(&op, CAIRN_EKIND);
		if (policy == CAIRN_POLICY_FWW && nreg)
			return refuse(&op, CAIRN_EEXIST);
	}
	if (op.tick_rc)
		return refuse(&op, op.tick_rc);
	return run(&op);
}

int cairn_doc_del(cairn_doc *d, const char *field, cairn_delta *delta)
{
	write_op op;
	int rc = begin(&op, OP_DEL, d, field, NULL, 0, delta);
	if (rc)
		return rc;
	if (!op.f ||
	    (cairn__field_nreg(op.f) == 0 && cairn__field_nelems(op.f) == 0))
		return refuse(&op, CAIRN_ENOTFOUND);
	return run(&op);
}

static int set_op(op_kind kind, cairn_doc *d, const char *field,
                  const cairn_value *elem, cairn_delta *delta)
{
	write_op op;
	int rc = begin(&op, kind, d, field, elem, 0, delta);
	if (rc)
		return rc;
	if (op.f && cairn__field_nreg(op.f))
		return refuse(&op, CAIRN_EKIND);
	op.vhash = cairn__value_hash32(op.r->cfg.hash_key, elem);
	if (op.f && cairn__field_nelems(op.f))
		op.x = cairn__set_find(&op.f->u.ext->set, elem, op.vhash);
	if (kind == OP_RM && !op.x)
		return refuse(&op, CAIRN_ENOTFOUND);
	return run(&op);
}

int cairn_doc_add(cairn_doc *d, const char *field, const cairn_value *elem,
                  cairn_delta *delta)
{
	return set_op(OP_ADD, d, field, elem, delta);
}

int cairn_doc_rm(cairn_doc *d, const char *field, const cairn_value *elem,
                 cairn_delta *delta)
{
	return set_op(OP_RM, d, field, elem, delta);
}
