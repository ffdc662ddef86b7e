/*
 * codec.c -- the canonical msgpack encoding of deltas and states
 * (docs/ENCODING.md), and its decoder.
 *
 * Encoding goes through msgpack-c's packer, whose output is minimal for
 * every integer; canonical order (documents by id, fields by name, entries
 * by dot, members by value) is imposed here, so equal states give equal
 * bytes and equal digests.
 *
 * Decoding never hands outside bytes to msgpack-c. The pre-validator
 * (msgpack_check.c) first proves that the input is one well-formed object
 * whose every declared count and length fits in the bytes that remain;
 * then this decoder reads it with the small reader of bytes_int.h straight
 * into a delta. msgpack-c's own unpacker would build a tree of 24-byte
 * objects first: hundreds of megabytes for a large state, and a second
 * pass. The decoder accepts only canonical encodings (strict order, no
 * empty parts, minimal forms where they carry meaning), so a decoded delta
 * re-encodes to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "crdt_int.h"

#define FORMAT_VERSION 1

/* ---- output ---------------------------------------------------------------
 */

/*
 * Where encoded bytes go: a cairn_buf, or a BLAKE2b state. Small writes
 * are staged so the hash sees large updates; an error is sticky and the
 * packer's later writes are refused.
 */
typedef struct sink {
	cairn_buf *buf;
	cairn__blake2b *hash;
	uint8_t stage[4096];
	size_t staged;
	int err;
} sink;

static void sink_flush(sink *s)
{
	if (s->hash && s->staged)
		cairn__blake2b_update(s->hash, s->stage, s->staged);
	s->staged = 0;
}

static int sink_write(void *data, const char *p, size_t n)
{
	sink *s = data;
	if (s->err)
		return -1;
	if (s->buf) {
		int rc = cairn_buf_append(s->buf, p, n);
		if (rc) {
			s->err = rc;
			return -1;
		}
		return 0;
	}
	if (n > sizeof s->stage - s->staged) {
		sink_flush(s);
		if (n > sizeof s->stage) {
			cairn__blake2b_update(s->hash, p, n);
			return 0;
		}
	}
	memcpy(s->stage + s->staged, p, n);
	s->staged += n;
	return 0;
}

/* ---- encoding -------------------------------------------------------------
 */

typedef struct enc {
	msgpack_packer pk;
	sink *out;
	const cairn_allocator *a;
	/* Scratch reused across documents. */
	const cairn__field **fields;
	uint32_t capfields;
	const cairn__elem **elems;
	uint32_t capelems;
	cairn__dot *dots;
	uint32_t capdots;
	uint32_t *wmap; /* writer index -> encoded index (UINT32_MAX: unused) */
	uint32_t capwmap;
	const cairn__ctx *ctx; /* the document being encoded */
} enc;

static int field_name_cmp(const void *a, const void *b)
{
	const cairn__field *x = *(const cairn__field *const *)a;
	const cairn__field *y = *(const cairn__field *const *)b;
	return strcmp((const char *)cairn__fname(x),
	              (const char *)cairn__fname(y));
}

static int elem_cmp(const void *a, const void *b)
{
	cairn_value x = cairn__elem_value(*(const cairn__elem *const *)a);
	cairn_value y = cairn__elem_value(*(const cairn__elem *const *)b);
	return cairn_value_compare(&x, &y);
}

static int doc_id_cmp(const void *a, const void *b)
{
	return strcmp((*(const cairn_doc *const *)a)->id,
	              (*(const cairn_doc *const *)b)->id);
}

static void pack_value(enc *e, const cairn_value *v)
{
	switch (v->type) {
	case CAIRN_NIL: msgpack_pack_nil(&e->pk); break;
	case CAIRN_BOOL:
		if (v->as.b)
			msgpack_pack_true(&e->pk);
		else
			msgpack_pack_false(&e->pk);
		break;
	case CAIRN_INT: msgpack_pack_int64(&e->pk, v->as.i); break;
	case CAIRN_FLOAT: msgpack_pack_double(&e->pk, v->as.f); break;
	case CAIRN_STR:
		msgpack_pack_str(&e->pk, v->as.bytes.len);
		msgpack_pack_str_body(&e->pk, v->as.bytes.ptr, v->as.bytes.len);
		break;
	case CAIRN_BIN:
		msgpack_pack_bin(&e->pk, v->as.bytes.len);
		msgpack_pack_bin_body(&e->pk, v->as.bytes.ptr, v->as.bytes.len);
		break;
	}
}

static int ensure(enc *e, void **arr, uint32_t *cap, uint32_t need, size_t size)
{
	return cairn__grow(e->a, arr, cap, need, size);
}

/* Pack dots as flat (writer, counter) pairs in canonical order. */
static int pack_dots(enc *e, const cairn__dot *dots, uint32_t n)
{
	int rc = ensure(e, (void **)&e->dots, &e->capdots, n ? n : 1,
	                sizeof *e->dots);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		e->dots[i].writer = e->wmap[dots[i].writer];
		e->dots[i].counter = dots[i].counter;
	}
	cairn__sort(e->dots, n, sizeof *e->dots, cairn__dot_cmp);
	msgpack_pack_array(&e->pk, (size_t)n * 2);
	for (uint32_t i = 0; i < n; i++) {
		msgpack_pack_uint32(&e->pk, e->dots[i].writer);
		msgpack_pack_uint64(&e->pk, e->dots[i].counter);
	}
	return 0;
}

static int entry_order(const cairn__entry *x, const cairn__entry *y,
                       const uint32_t *wmap)
{
	if (wmap[x->writer] != wmap[y->writer])
		return wmap[x->writer] < wmap[y->writer] ? -1 : 1;
	uint64_t a = CAIRN__META_COUNTER(x->meta),
	         b = CAIRN__META_COUNTER(y->meta);
	return (a > b) - (a < b);
}

static int pack_field(enc *e, const cairn__field *f)
{
	const cairn__ext *x = cairn__field_ext(f);
	uint32_t nreg = cairn__field_nreg(f), nelems = 0, nrm = x ? x->nrm : 0;
	if (x)
		for (uint32_t i = 0; i < x->set.n; i++)
			nelems +=
			        x->set.elems[i].ndots + x->set.elems[i].nrm > 0;
	size_t parts = nelems ? 5 : nrm ? 4 : 3;
	msgpack_pack_array(&e->pk, parts);
	msgpack_pack_str(&e->pk, f->name_len);
	msgpack_pack_str_body(&e->pk, cairn__fname(f), f->name_len);
	msgpack_pack_uint8(&e->pk, f->policy);

	/* Register entries, by (writer, counter): few, so insertion order. */
	const cairn__entry *reg = cairn__field_reg(f);
	const cairn__entry *sorted[16];
	const cairn__entry **ord = sorted;
	if (nreg > 16) {
		ord = cairn__alloc(e->a, (size_t)nreg * sizeof *ord);
		if (!ord)
			return CAIRN_ENOMEM;
	}
	for (uint32_t i = 0; i < nreg; i++) {
		uint32_t k = i;
		while (k > 0 && entry_order(ord[k - 1], &reg[i], e->wmap) > 0) {
			ord[k] = ord[k - 1];
			k--;
		}
		ord[k] = &reg[i];
	}
	msgpack_pack_array(&e->pk, nreg);
	for (uint32_t i = 0; i < nreg; i++) {
		const cairn__entry *en = ord[i];
		uint8_t prio = CAIRN__META_PRIO(en->meta);
		msgpack_pack_array(&e->pk, prio ? 5 : 4);
		msgpack_pack_uint32(&e->pk, e->wmap[en->writer]);
		msgpack_pack_uint64(&e->pk, CAIRN__META_COUNTER(en->meta));
		msgpack_pack_uint64(&e->pk, en->hlc);
		cairn_value v = cairn__entry_value(en);
		pack_value(e, &v);
		if (prio)
			msgpack_pack_uint8(&e->pk, prio);
	}
	if (ord != sorted)
		cairn__free(e->a, ord, (size_t)nreg * sizeof *ord);
	if (parts == 3)
		return 0;
	int rc = pack_dots(e, x->rm, nrm);
	if (rc || parts == 4)
		return rc;

	rc = ensure(e, (void **)&e->elems, &e->capelems, nelems,
	            sizeof *e->elems);
	if (rc)
		return rc;
	uint32_t k = 0;
	for (uint32_t i = 0; i < x->set.n; i++)
		if (x->set.elems[i].ndots + x->set.elems[i].nrm)
			e->elems[k++] = &x->set.elems[i];
	cairn__sort(e->elems, k, sizeof *e->elems, elem_cmp);
	msgpack_pack_array(&e->pk, k);
	/* pack_dots reuses e->dots only; e->elems stays put. */
	for (uint32_t i = 0; i < k && !rc; i++) {
		const cairn__elem *el = e->elems[i];
		const cairn__dot *live, *erm;
		cairn__elem_dots(el, &live, &erm);
		msgpack_pack_array(&e->pk, el->nrm ? 3 : 2);
		cairn_value v = cairn__elem_value(el);
		pack_value(e, &v);
		rc = pack_dots(e, live, el->ndots);
		if (!rc && el->nrm)
			rc = pack_dots(e, erm, el->nrm);
	}
	return rc;
}

static void mark(uint32_t *used, uint32_t w)
{
	used[w] = 1;
}

/* Which writers the document references, numbered by replica id. */
static int number_writers(enc *e, const cairn_doc *d, uint32_t *count)
{
	const cairn__ctx *c = &d->ctx;
	int rc = ensure(e, (void **)&e->wmap, &e->capwmap, c->n ? c->n : 1,
	                sizeof *e->wmap);
	if (rc)
		return rc;
	memset(e->wmap, 0, (size_t)c->n * sizeof *e->wmap);
	for (uint32_t w = 0; w < c->n; w++)
		if (c->max[w])
			mark(e->wmap, w);
	for (uint32_t i = 0; i < c->ncloud; i++)
		mark(e->wmap, c->cloud[i].writer);
	for (uint32_t i = 0; i < d->nfields; i++) {
		const cairn__field *f = &d->fields[i];
		const cairn__entry *reg = cairn__field_reg(f);
		for (uint32_t k = 0; k < cairn__field_nreg(f); k++)
			mark(e->wmap, reg[k].writer);
		const cairn__ext *x = cairn__field_ext(f);
		if (!x)
			continue;
		for (uint32_t k = 0; k < x->nrm; k++)
			mark(e->wmap, x->rm[k].writer);
		for (uint32_t k = 0; k < x->set.n; k++) {
			const cairn__elem *el = &x->set.elems[k];
			const cairn__dot *live, *rm;
			cairn__elem_dots(el, &live, &rm);
			for (uint32_t m = 0; m < el->ndots; m++)
				mark(e->wmap, live[m].writer);
			for (uint32_t m = 0; m < el->nrm; m++)
				mark(e->wmap, rm[m].writer);
		}
	}
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t w = c->order[i];
		e->wmap[w] = e->wmap[w] ? n++ : UINT32_MAX;
	}
	*count = n;
	return 0;
}

static int pack_doc(enc *e, const cairn_doc *d)
{
	uint32_t nwriters;
	int rc = number_writers(e, d, &nwriters);
	if (rc)
		return rc;
	const cairn__ctx *c = &d->ctx;
	msgpack_pack_array(&e->pk, 4);
	msgpack_pack_str(&e->pk, d->id_len);
	msgpack_pack_str_body(&e->pk, d->id, d->id_len);
	msgpack_pack_array(&e->pk, nwriters);
	for (uint32_t i = 0; i < c->n; i++)
		if (e->wmap[c->order[i]] != UINT32_MAX)
			msgpack_pack_uint64(&e->pk, c->rid[c->order[i]]);

	/* The context, writer by writer in replica id order. */
	uint32_t nctx = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t w = c->order[i], first, cnt;
		cairn__ctx_cloud_of(c, w, &first, &cnt);
		nctx += c->max[w] || cnt;
	}
	msgpack_pack_array(&e->pk, nctx);
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t w = c->order[i], first, cnt;
		cairn__ctx_cloud_of(c, w, &first, &cnt);
		if (!c->max[w] && !cnt)
			continue;
		msgpack_pack_array(&e->pk, cnt ? 3 : 2);
		msgpack_pack_uint32(&e->pk, e->wmap[w]);
		msgpack_pack_uint64(&e->pk, c->max[w]);
		if (cnt) {
			msgpack_pack_array(&e->pk, cnt);
			for (uint32_t k = first; k < first + cnt; k++)
				msgpack_pack_uint64(&e->pk,
				                    c->cloud[k].counter);
		}
	}

	uint32_t n = 0;
	rc = ensure(e, (void **)&e->fields, &e->capfields,
	            d->nfields ? d->nfields : 1, sizeof *e->fields);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < d->nfields; i++)
		if (!cairn__field_is_empty(&d->fields[i]))
			e->fields[n++] = &d->fields[i];
	cairn__sort(e->fields, n, sizeof *e->fields, field_name_cmp);
	msgpack_pack_array(&e->pk, n);
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = pack_field(e, e->fields[i]);
	return rc;
}

static bool doc_encodes(const cairn_doc *d)
{
	if (!cairn__ctx_empty(&d->ctx))
		return true;
	for (uint32_t i = 0; i < d->nfields; i++)
		if (!cairn__field_is_empty(&d->fields[i]))
			return true;
	return false;
}

static int encode_docs(const cairn_allocator *a, const cairn__docset *docs,
                       sink *out)
{
	enc e;
	memset(&e, 0, sizeof e);
	e.a = a;
	e.out = out;
	msgpack_packer_init(&e.pk, out, sink_write);

	uint32_t n = 0;
	const cairn_doc **order = NULL;
	if (docs->n) {
		order = cairn__alloc(a, (size_t)docs->n * sizeof *order);
		if (!order)
			return CAIRN_ENOMEM;
	}
	for (uint32_t i = 0; i < docs->n; i++)
		if (doc_encodes(docs->docs[i]))
			order[n++] = docs->docs[i];
	cairn__sort(order, n, sizeof *order, doc_id_cmp);

	msgpack_pack_array(&e.pk, 2);
	msgpack_pack_uint8(&e.pk, FORMAT_VERSION);
	msgpack_pack_array(&e.pk, n);
	int rc = 0;
	for (uint32_t i = 0; i < n && !rc && !out->err; i++)
		rc = pack_doc(&e, order[i]);
	cairn__free(a, order, (size_t)docs->n * sizeof *order);
	cairn__free(a, e.fields, (size_t)e.capfields * sizeof *e.fields);
	cairn__free(a, e.elems, (size_t)e.capelems * sizeof *e.elems);
	cairn__free(a, e.dots, (size_t)e.capdots * sizeof *e.dots);
	cairn__free(a, e.wmap, (size_t)e.capwmap * sizeof *e.wmap);
	return rc ? rc : out->err;
}

static int encode_to_buf(const cairn_allocator *a, const cairn__docset *docs,
                         cairn_buf *out)
{
	if (!out)
		return CAIRN_EINVAL;
	size_t start = out->len;
	sink s;
	memset(&s, 0, sizeof s);
	s.buf = out;
	int rc = encode_docs(a, docs, &s);
	if (rc)
		out->len = start;
	return rc;
}

static int digest_of(const cairn_allocator *a, const cairn__docset *docs,
                     uint8_t out[CAIRN_DIGEST_BYTES])
{
	cairn__blake2b h;
	cairn__blake2b_init(&h, CAIRN_DIGEST_BYTES);
	sink *s = cairn__alloc(a, sizeof *s);
	if (!s)
		return CAIRN_ENOMEM;
	memset(s, 0, sizeof *s);
	s->hash = &h;
	int rc = encode_docs(a, docs, s);
	sink_flush(s);
	cairn__free(a, s, sizeof *s);
	if (rc)
		return rc;
	cairn__blake2b_final(&h, out);
	return 0;
}

int cairn_delta_encode(const cairn_delta *d, cairn_buf *out)
{
	return encode_to_buf(&d->alloc, &d->docs, out);
}

int cairn_replica_encode(const cairn_replica *r, cairn_buf *out)
{
	return encode_to_buf(&r->alloc, &r->docs, out);
}

int cairn_delta_digest(const cairn_delta *d, uint8_t out[CAIRN_DIGEST_BYTES])
{
	return digest_of(&d->alloc, &d->docs, out);
}

int cairn_replica_digest(const cairn_replica *r,
                         uint8_t out[CAIRN_DIGEST_BYTES])
{
	return digest_of(&r->alloc, &r->docs, out);
}

int cairn_doc_digest(const cairn_doc *d, uint8_t out[CAIRN_DIGEST_BYTES])
{
	if (!d || !out)
		return CAIRN_EINVAL;
	/* A set of one: the digest of the document's state as
	 * cairn_replica_doc_state() would encode it. */
	cairn_doc *one = (cairn_doc *)(uintptr_t)d;
	cairn__docset set;
	memset(&set, 0, sizeof set);
	set.docs = &one;
	set.n = set.cap = 1;
	return digest_of(d->owner ? &d->owner->alloc : NULL, &set, out);
}

/* ---- decoding -------------------------------------------------------------
 */

typedef struct dec {
	cairn__rd rd;
	const cairn_limits *lim;
	cairn_delta *out;
	cairn_doc *doc;
	uint32_t nwriters;
	uint8_t *used; /* [nwriters] writer referenced */
	uint32_t capused;
	cairn__dot *live, *rm; /* scratch for element dots */
	uint32_t caplive, caprm;
} dec;

#define TRY(expr)                                                              \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_)                                                       \
			return rc_;                                            \
	} while (0)

static int need(bool ok)
{
	return ok ? 0 : CAIRN_EDECODE;
}

static int rd_value(dec *dc, cairn_value *v)
{
	int t = cairn__rd_peek(&dc->rd);
	const uint8_t *p;
	uint32_t len;
	if (t < 0)
		return CAIRN_EDECODE;
	if (t == 0xc0) {
		*v = cairn_value_nil();
		return cairn__rd_nil(&dc->rd);
	}
	if (t == 0xc2 || t == 0xc3) {
		bool b;
		TRY(cairn__rd_bool(&dc->rd, &b));
		*v = cairn_value_bool(b);
		return 0;
	}
	if (t == 0xcb) {
		double f;
		TRY(cairn__rd_f64(&dc->rd, &f));
		/* The canonical form has one NaN. */
		if (f != f) {
			uint64_t bits;
			memcpy(&bits, &f, sizeof bits);
			TRY(need(bits == CAIRN__NAN_BITS));
		}
		*v = cairn_value_float(f);
		return 0;
	}
	if (t == 0xca)
		return CAIRN_EDECODE; /* floats are always 64-bit here */
	if ((t >= 0xa0 && t <= 0xbf) || t == 0xd9 || t == 0xda || t == 0xdb) {
		TRY(cairn__rd_str(&dc->rd, &p, &len));
		if (len > dc->lim->max_value_bytes)
			return CAIRN_ETOOBIG;
		TRY(need(cairn__utf8_valid(p, len)));
		*v = cairn_value_strn(p, len);
		return 0;
	}
	if (t == 0xc4 || t == 0xc5 || t == 0xc6) {
		TRY(cairn__rd_bin(&dc->rd, &p, &len));
		if (len > dc->lim->max_value_bytes)
			return CAIRN_ETOOBIG;
		*v = cairn_value_bin(p, len);
		return 0;
	}
	int64_t i;
	TRY(cairn__rd_i64(&dc->rd, &i));
	*v = cairn_value_int(i);
	return 0;
}

static int rd_name(dec *dc, const uint8_t **p, uint32_t *len)
{
	TRY(cairn__rd_str(&dc->rd, p, len));
	TRY(need(*len >= 1 && *len <= CAIRN_MAX_ID_BYTES));
	TRY(need(memchr(*p, 0, *len) == NULL));
	return need(cairn__utf8_valid(*p, *len));
}

/* Bytewise order, a proper prefix first: the order strcmp gives. */
static int bytes_cmp(const uint8_t *a, uint32_t an, const uint8_t *b,
                     uint32_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return (an > bn) - (an < bn);
}

static int rd_writer(dec *dc, uint32_t *w)
{
	uint64_t v;
	TRY(cairn__rd_u64(&dc->rd, &v));
	TRY(need(v < dc->nwriters));
	*w = (uint32_t)v;
	dc->used[*w] = 1;
	return 0;
}

static int rd_counter(dec *dc, uint64_t *c)
{
	TRY(cairn__rd_u64(&dc->rd, c));
	return need(*c >= 1 && *c <= CAIRN__COUNTER_MAX);
}

/* Flat (writer, counter) pairs, strictly ascending, into an array. */
static int rd_dots(dec *dc, cairn__dot **arr, uint32_t *cap, uint32_t *n)
{
	uint32_t cnt;
	TRY(cairn__rd_array(&dc->rd, &cnt));
	TRY(need(cnt % 2 == 0));
	cnt /= 2;
	TRY(cairn__grow(&dc->out->alloc, (void **)arr, cap, cnt ? cnt : 1,
	                sizeof **arr));
	for (uint32_t i = 0; i < cnt; i++) {
		cairn__dot d;
		TRY(rd_writer(dc, &d.writer));
		TRY(rd_counter(dc, &d.counter));
		if (i)
			TRY(need(cairn__dot_cmp(&(*arr)[i - 1], &d) < 0));
		(*arr)[i] = d;
	}
	*n = cnt;
	return 0;
}

static int rd_ctx(dec *dc)
{
	const cairn_allocator *a = &dc->out->alloc;
	cairn__ctx *c = &dc->doc->ctx;
	uint32_t n;
	TRY(cairn__rd_array(&dc->rd, &n));
	int64_t prev = -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t parts, w;
		uint64_t max;
		TRY(cairn__rd_array(&dc->rd, &parts));
		TRY(need(parts == 2 || parts == 3));
		TRY(rd_writer(dc, &w));
		TRY(need((int64_t)w > prev));
		prev = w;
		TRY(cairn__rd_u64(&dc->rd, &max));
		TRY(need(max <= CAIRN__COUNTER_MAX));
		c->max[w] = max;
		if (parts == 2) {
			TRY(need(max > 0));
			continue;
		}
		uint32_t cnt;
		TRY(cairn__rd_array(&dc->rd, &cnt));
		TRY(need(cnt > 0));
		uint64_t last = max + 1;
		for (uint32_t k = 0; k < cnt; k++) {
			uint64_t ctr;
			TRY(rd_counter(dc, &ctr));
			TRY(need(ctr > last));
			last = ctr;
			TRY(cairn__grow(a, (void **)&c->cloud, &c->capcloud,
			                c->ncloud + 1, sizeof *c->cloud));
			c->cloud[c->ncloud].writer = w;
			c->cloud[c->ncloud].counter = ctr;
			c->ncloud++;
		}
	}
	return 0;
}

static int rd_entry(dec *dc, cairn__field *f)
{
	uint32_t parts;
	TRY(cairn__rd_array(&dc->rd, &parts));
	TRY(need(parts == 4 || parts == 5));
	cairn__entry e;
	memset(&e, 0, sizeof e);
	uint64_t counter, prio = 0;
	TRY(rd_writer(dc, &e.writer));
	TRY(rd_counter(dc, &counter));
	TRY(cairn__rd_u64(&dc->rd, &e.hlc));
	cairn_value v;
	TRY(rd_value(dc, &v));
	if (parts == 5) {
		TRY(cairn__rd_u64(&dc->rd, &prio));
		TRY(need(prio >= 1 && prio <= 255));
	}
	/* Entries come in (writer, counter) order. */
	uint32_t n = cairn__field_nreg(f);
	if (n) {
		const cairn__entry *last = &cairn__field_reg(f)[n - 1];
		uint64_t lc = CAIRN__META_COUNTER(last->meta);
		TRY(need(last->writer < e.writer ||
		         (last->writer == e.writer && lc < counter)));
	}
	e.meta = CAIRN__META(counter, prio, v.type);
	e.vlen = cairn__value_len(&v);
	const cairn_allocator *a = &dc->out->alloc;
	TRY(cairn__payload_store(a, &v, &e.v));
	int rc = cairn__reg_push(a, f, &e);
	if (rc)
		cairn__payload_release(a, &e.v, v.type, e.vlen);
	return rc;
}

static int rd_elem(dec *dc, cairn__field *f, cairn__elem **prev)
{
	const cairn_allocator *a = &dc->out->alloc;
	uint32_t parts, nlive, nrm = 0;
	TRY(cairn__rd_array(&dc->rd, &parts));
	TRY(need(parts == 2 || parts == 3));
	cairn_value v;
	TRY(rd_value(dc, &v));
	if (*prev) {
		cairn_value pv = cairn__elem_value(*prev);
		TRY(need(cairn_value_compare(&pv, &v) < 0));
	}
	TRY(rd_dots(dc, &dc->live, &dc->caplive, &nlive));
	if (parts == 3) {
		TRY(rd_dots(dc, &dc->rm, &dc->caprm, &nrm));
		TRY(need(nrm > 0));
	} else {
		TRY(need(nlive > 0));
	}
	cairn__elem *x;
	uint32_t h = cairn__value_hash32(dc->out->key, &v);
	TRY(cairn__set_insert(a, &f->u.ext->set, &v, h, &x));
	int rc = cairn__elem_reserve(a, x, nlive + nrm);
	if (rc) {
		cairn__set_remove(a, &f->u.ext->set, x);
		return rc;
	}
	cairn__elem_assign(a, x, dc->live, nlive, dc->rm, nrm);
	*prev = x;
	return 0;
}

static int rd_field(dec *dc, const uint8_t **prev, uint32_t *prev_len)
{
	const cairn_allocator *a = &dc->out->alloc;
	uint32_t parts, len, n;
	const uint8_t *name;
	TRY(cairn__rd_array(&dc->rd, &parts));
	TRY(need(parts >= 3 && parts <= 5));
	TRY(rd_name(dc, &name, &len));
	if (*prev)
		TRY(need(bytes_cmp(*prev, *prev_len, name, len) < 0));
	*prev = name;
	*prev_len = len;
	uint64_t policy;
	TRY(cairn__rd_u64(&dc->rd, &policy));
	TRY(need(policy <= CAIRN_POLICY_MULTI));

	cairn__field *f;
	cairn__fkey k;
	cairn__fkey_set(&k, name, len);
	k.hash = cairn__fkey_hash(dc->out->key, &k);
	TRY(cairn__doc_field_addk(a, dc->doc, &k, NULL, &f));
	f->policy = (uint8_t)policy;
	TRY(cairn__rd_array(&dc->rd, &n));
	for (uint32_t i = 0; i < n; i++)
		TRY(rd_entry(dc, f));
	if (parts >= 4) {
		uint32_t nrm;
		TRY(rd_dots(dc, &dc->rm, &dc->caprm, &nrm));
		TRY(need(nrm > 0 || parts == 5));
		TRY(cairn__field_make_ext(a, f));
		TRY(cairn__rm_reserve(a, f->u.ext, nrm));
		cairn__rm_merge(f->u.ext, dc->rm, nrm);
	}
	if (parts == 5) {
		uint32_t ne;
		TRY(cairn__rd_array(&dc->rd, &ne));
		TRY(need(ne > 0));
		TRY(cairn__field_make_ext(a, f));
		cairn__elem *prev_elem = NULL;
		for (uint32_t i = 0; i < ne; i++)
			TRY(rd_elem(dc, f, &prev_elem));
	}
	cairn__field_normalize(a, f);
	return need(!cairn__field_is_empty(f));
}

static int rd_doc(dec *dc, const uint8_t **prev, uint32_t *prev_len)
{
	const cairn_allocator *a = &dc->out->alloc;
	uint32_t parts, len, n;
	const uint8_t *id;
	TRY(cairn__rd_array(&dc->rd, &parts));
	TRY(need(parts == 4));
	TRY(rd_name(dc, &id, &len));
	if (*prev)
		TRY(need(bytes_cmp(*prev, *prev_len, id, len) < 0));
	*prev = id;
	*prev_len = len;
	TRY(cairn__delta_doc(dc->out, (const char *)id, len, 0, NULL,
	                     &dc->doc));

	/* Writers, ascending by replica id: their index is their position. */
	TRY(cairn__rd_array(&dc->rd, &n));
	TRY(cairn__grow(a, (void **)&dc->used, &dc->capused, n ? n : 1, 1));
	memset(dc->used, 0, n);
	dc->nwriters = n;
	uint64_t last = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t rid;
		uint32_t w;
		TRY(cairn__rd_u64(&dc->rd, &rid));
		TRY(need(rid > last));
		last = rid;
		TRY(cairn__ctx_writer(a, &dc->doc->ctx, rid, &w));
	}
	TRY(rd_ctx(dc));
	TRY(cairn__rd_array(&dc->rd, &n));
	const uint8_t *prev_name = NULL;
	uint32_t prev_name_len = 0;
	for (uint32_t i = 0; i < n; i++)
		TRY(rd_field(dc, &prev_name, &prev_name_len));
	for (uint32_t i = 0; i < dc->nwriters; i++)
		TRY(need(dc->used[i]));
	return need(!cairn__doc_is_empty(dc->doc));
}

static int decode_into(dec *dc)
{
	uint32_t parts, n;
	uint64_t version;
	TRY(cairn__rd_array(&dc->rd, &parts));
	TRY(need(parts >= 1));
	TRY(cairn__rd_u64(&dc->rd, &version));
	if (version != FORMAT_VERSION)
		return CAIRN_EVERSION;
	TRY(need(parts == 2));
	TRY(cairn__rd_array(&dc->rd, &n));
	const uint8_t *prev = NULL;
	uint32_t prev_len = 0;
	for (uint32_t i = 0; i < n; i++)
		TRY(rd_doc(dc, &prev, &prev_len));
	return need(dc->rd.p == dc->rd.end);
}

static void rekey(cairn_delta *d)
{
	for (uint32_t i = 0; i < d->docs.n; i++)
		d->docs.docs[i]->key = d->key;
	for (uint32_t i = 0; i < d->nspare; i++)
		d->spare[i]->key = d->key;
}

/* Exchange the contents of two deltas that share an allocator. */
static void delta_swap(cairn_delta *a, cairn_delta *b)
{
	cairn_delta t = *a;
	*a = *b;
	*b = t;
	rekey(a);
	rekey(b);
	a->last = b->last = NULL;
	a->last_src = b->last_src = NULL;
}

int cairn_delta_decode(cairn_delta *out, const uint8_t *bytes, size_t len,
                       const cairn_limits *limits)
{
	if (!out || (!bytes && len))
		return CAIRN_EINVAL;
	cairn_limits lim;
	if (limits)
		lim = *limits;
	else
		cairn_limits_init(&lim);
	int rc = cairn__msgpack_check(bytes, len, &lim, NULL);
	if (rc)
		return rc;
	cairn_delta *tmp;
	rc = cairn_delta_new(&out->alloc, &tmp);
	if (rc)
		return rc;
	dec dc;
	memset(&dc, 0, sizeof dc);
	dc.rd.p = bytes;
	dc.rd.end = bytes + len;
	dc.lim = &lim;
	dc.out = tmp;
	rc = decode_into(&dc);
	const cairn_allocator *a = &out->alloc;
	cairn__free(a, dc.used, dc.capused);
	cairn__free(a, dc.live, (size_t)dc.caplive * sizeof *dc.live);
	cairn__free(a, dc.rm, (size_t)dc.caprm * sizeof *dc.rm);
	/* Only a complete result replaces *out: when it already holds
	 * something, fold it into the decoded delta first. */
	if (!rc && !cairn_delta_empty(out))
		rc = cairn_delta_join(tmp, out);
	if (!rc)
		delta_swap(out, tmp);
	cairn_delta_free(tmp);
	return rc;
}
