/*
 * history.c -- the past values of registers.
 *
 * The history of a register is its live values (read from the replica)
 * and the values it no longer holds: values that were overwritten or
 * deleted, and concurrent values that lost. Only the second kind is kept
 * here, so a field that was written once costs nothing, and a store of a
 * million fresh keys holds no history at all. Each field keeps at most
 * `depth` past values, newest (greatest HLC, then replica id) first; the
 * oldest falls off.
 */
#include <string.h>

#include "crdt_int.h"
#include "store_int.h"

typedef struct hvalue {
	cairn_value v; /* STR/BIN bytes are owned (allocated here) */
	cairn_stamp st;
} hvalue;

struct cairn__hfield {
	char *key; /* doc_id NUL field NUL */
	uint32_t doc_len, field_len;
	uint32_t hash;
	uint32_t n;
	hvalue *vals; /* [depth] */
};
typedef struct cairn__hfield hfield;

struct cairn__history {
	cairn_allocator alloc;
	uint32_t depth;
	hfield **slots; /* open addressing, linear probing, NULL = empty */
	uint32_t cap, n;
};

int cairn__history_new(const cairn_allocator *a, uint32_t depth,
                       cairn__history **out)
{
	cairn__history *h = cairn__alloc(a, sizeof *h);
	if (!h)
		return CAIRN_ENOMEM;
	memset(h, 0, sizeof *h);
	h->alloc = *a;
	h->depth = depth;
	*out = h;
	return 0;
}

static size_t value_bytes(const cairn_value *v)
{
	return (v->type == CAIRN_STR || v->type == CAIRN_BIN) ? v->as.bytes.len
	                                                      : 0;
}

static void hvalue_free(cairn__history *h, hvalue *x)
{
	size_t n = value_bytes(&x->v);
	if (n)
		cairn__free(&h->alloc, (void *)x->v.as.bytes.ptr, n);
}

static void hfield_free(cairn__history *h, hfield *f)
{
	for (uint32_t i = 0; i < f->n; i++)
		hvalue_free(h, &f->vals[i]);
	cairn__free(&h->alloc, f->vals, (size_t)h->depth * sizeof *f->vals);
	cairn__free(&h->alloc, f->key, (size_t)f->doc_len + f->field_len + 2);
	cairn__free(&h->alloc, f, sizeof *f);
}

void cairn__history_free(cairn__history *h)
{
	if (!h)
		return;
	for (uint32_t i = 0; i < h->cap; i++)
		if (h->slots[i])
			hfield_free(h, h->slots[i]);
	cairn__free(&h->alloc, h->slots, (size_t)h->cap * sizeof *h->slots);
	cairn__free(&h->alloc, h, sizeof *h);
}

/* FNV-1a: the keys are the store's own document ids and field names, and
 * a flood of colliding names costs only this table's speed. */
static uint32_t key_hash(const char *doc, size_t dl, const char *field,
                         size_t fl)
{
	uint32_t x = 2166136261u;
	for (size_t i = 0; i < dl; i++)
		x = (x ^ (uint8_t)doc[i]) * 16777619u;
	x = (x ^ 0xFFu) * 16777619u;
	for (size_t i = 0; i < fl; i++)
		x = (x ^ (uint8_t)field[i]) * 16777619u;
	return x;
}

static hfield **find_slot(const cairn__history *h, const char *doc, size_t dl,
                          const char *field, size_t fl, uint32_t hash)
{
	if (!h->cap)
		return NULL;
	for (uint32_t i = hash & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		hfield *f = h->slots[i];
		if (!f || (f->hash == hash && f->doc_len == dl &&
		           f->field_len == fl && memcmp(f->key, doc, dl) == 0 &&
		           memcmp(f->key + dl + 1, field, fl) == 0))
			return &h->slots[i];
	}
}

static int grow(cairn__history *h)
{
	if ((h->n + 1) * 4 <= h->cap * 3)
		return 0;
	uint32_t ncap = h->cap ? h->cap * 2 : 16;
	hfield **ns = cairn__alloc(&h->alloc, (size_t)ncap * sizeof *ns);
	if (!ns)
		return CAIRN_ENOMEM;
	memset(ns, 0, (size_t)ncap * sizeof *ns);
	for (uint32_t i = 0; i < h->cap; i++) {
		hfield *f = h->slots[i];
		if (!f)
			continue;
		uint32_t j = f->hash & (ncap - 1);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = f;
	}
	cairn__free(&h->alloc, h->slots, (size_t)h->cap * sizeof *h->slots);
	h->slots = ns;
	h->cap = ncap;
	return 0;
}

/* Newer first: greater HLC, then greater replica id. */
static bool newer(const cairn_stamp *a, const cairn_stamp *b)
{
	return a->hlc != b->hlc ? a->hlc > b->hlc : a->replica > b->replica;
}

int cairn__history_push(cairn__history *h, const char *doc, const char *field,
                        const cairn_value *v, const cairn_stamp *st)
{
	if (!h->depth)
		return 0;
	size_t dl = strlen(doc), fl = strlen(field);
	uint32_t hash = key_hash(doc, dl, field, fl);
	hfield **slot = find_slot(h, doc, dl, field, fl, hash);
	hfield *f = slot ? *slot : NULL;
	/* Where it goes, and whether it is already there or too old. */
	uint32_t at = 0;
	if (f) {
		while (at < f->n && newer(&f->vals[at].st, st))
			at++;
		if (at < f->n && f->vals[at].st.hlc == st->hlc &&
		    f->vals[at].st.replica == st->replica)
			return 0;
		if (at >= h->depth)
			return 0;
	}
	hvalue x = {*v, *st};
	size_t nb = value_bytes(v);
	if (nb) {
		uint8_t *p = cairn__alloc(&h->alloc, nb);
		if (!p)
			return CAIRN_ENOMEM;
		memcpy(p, v->as.bytes.ptr, nb);
		x.v.as.bytes.ptr = p;
	}
	if (!f) {
		int rc = grow(h);
		if (!rc) {
			f = cairn__alloc(&h->alloc, sizeof *f);
			rc = f ? 0 : CAIRN_ENOMEM;
		}
		if (!rc) {
			memset(f, 0, sizeof *f);
			f->key = cairn__alloc(&h->alloc, dl + fl + 2);
			f->vals = cairn__alloc(
			        &h->alloc, (size_t)h->depth * sizeof *f->vals);
			rc = (f->key && f->vals) ? 0 : CAIRN_ENOMEM;
			if (rc) {
				cairn__free(&h->alloc, f->key, dl + fl + 2);
				cairn__free(&h->alloc, f->vals,
				            (size_t)h->depth * sizeof *f->vals);
				cairn__free(&h->alloc, f, sizeof *f);
			}
		}
		if (rc) {
			hvalue_free(h, &x);
			return rc;
		}
		memcpy(f->key, doc, dl + 1);
		memcpy(f->key + dl + 1, field, fl + 1);
		f->doc_len = (uint32_t)dl;
		f->field_len = (uint32_t)fl;
		f->hash = hash;
		*find_slot(h, doc, dl, field, fl, hash) = f;
		h->n++;
	}
	if (f->n == h->depth)
		hvalue_free(h, &f->vals[--f->n]);
	memmove(&f->vals[at + 1], &f->vals[at],
	        (size_t)(f->n - at) * sizeof *f->vals);
	f->vals[at] = x;
	f->n++;
	return 0;
}

uint32_t cairn__history_depth(const cairn__history *h)
{
	return h->depth;
}

size_t cairn__history_get(const cairn__history *h, const char *doc,
                          const char *field, const cairn__hfield **out)
{
	size_t dl = strlen(doc), fl = strlen(field);
	hfield **slot =
	        find_slot(h, doc, dl, field, fl, key_hash(doc, dl, field, fl));
	if (!slot || !*slot)
		return 0;
	*out = *slot;
	return (*slot)->n;
}

void cairn__history_item(const cairn__hfield *f, size_t i, cairn_value *v,
                         cairn_stamp *st)
{
	*v = f->vals[i].v;
	*st = f->vals[i].st;
}

/* ---- snapshot section ---------------------------------------------------
 *
 * u32 fields, then per field: u16 doc length, doc id, u16 field length,
 * field name, u8 count, then per value: u64 hlc, u64 replica, u8
 * priority, u8 type, and the value: nothing (nil), u8 (bool), u64 (int,
 * float bits), or u32 length and bytes (str, bin). Little-endian.
 */

static int put(cairn_buf *b, const void *p, size_t n)
{
	return cairn_buf_append(b, p, n);
}

static int put_u16(cairn_buf *b, uint32_t v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	return put(b, x, 2);
}

static int put_u64(cairn_buf *b, uint64_t v)
{
	uint8_t x[8];
	cairn__put_u64(x, v);
	return put(b, x, 8);
}

int cairn__history_encode(const cairn__history *h, cairn_buf *out)
{
	uint8_t x[4];
	cairn__put_u32(x, h->n);
	int rc = put(out, x, 4);
	for (uint32_t i = 0; i < h->cap && !rc; i++) {
		const hfield *f = h->slots[i];
		if (!f)
			continue;
		rc = put_u16(out, f->doc_len);
		if (!rc)
			rc = put(out, f->key, f->doc_len);
		if (!rc)
			rc = put_u16(out, f->field_len);
		if (!rc)
			rc = put(out, f->key + f->doc_len + 1, f->field_len);
		uint8_t n = (uint8_t)f->n;
		if (!rc)
			rc = put(out, &n, 1);
		for (uint32_t k = 0; k < f->n && !rc; k++) {
			const hvalue *v = &f->vals[k];
			rc = put_u64(out, v->st.hlc);
			if (!rc)
				rc = put_u64(out, v->st.replica);
			uint8_t pt[2] = {v->st.priority, (uint8_t)v->v.type};
			if (!rc)
				rc = put(out, pt, 2);
			if (rc)
				break;
			switch (v->v.type) {
			case CAIRN_NIL: break;
			case CAIRN_BOOL: {
				uint8_t b = v->v.as.b ? 1 : 0;
				rc = put(out, &b, 1);
				break;
			}
			case CAIRN_INT:
				rc = put_u64(out, (uint64_t)v->v.as.i);
				break;
			case CAIRN_FLOAT: {
				uint64_t bits;
				memcpy(&bits, &v->v.as.f, 8);
				rc = put_u64(out, bits);
				break;
			}
			case CAIRN_STR:
			case CAIRN_BIN:
				cairn__put_u32(x, (uint32_t)v->v.as.bytes.len);
				rc = put(out, x, 4);
				if (!rc)
					rc = put(out, v->v.as.bytes.ptr,
					         v->v.as.bytes.len);
				break;
			}
		}
	}
	return rc;
}

typedef struct cursor {
	const uint8_t *p, *end;
} cursor;

static bool take(cursor *c, size_t n, const uint8_t **out)
{
	if ((size_t)(c->end - c->p) < n)
		return false;
	*out = c->p;
	c->p += n;
	return true;
}

static bool take_name(cursor *c, char *out)
{
	const uint8_t *p;
	if (!take(c, 2, &p))
		return false;
	size_t n = (size_t)p[0] | ((size_t)p[1] << 8);
	if (n == 0 || n > CAIRN_MAX_ID_BYTES || !take(c, n, &p) ||
	    memchr(p, 0, n))
		return false;
	memcpy(out, p, n);
	out[n] = 0;
	return true;
}

int cairn__history_decode(cairn__history *h, const uint8_t *bytes, size_t len)
{
	cursor c = {bytes, bytes + len};
	const uint8_t *p;
	if (!take(&c, 4, &p))
		return CAIRN_ECORRUPT;
	uint32_t nf = cairn__get_u32(p);
	char doc[CAIRN_MAX_ID_BYTES + 1], field[CAIRN_MAX_ID_BYTES + 1];
	for (uint32_t i = 0; i < nf; i++) {
		uint8_t n;
		if (!take_name(&c, doc) || !take_name(&c, field) ||
		    !take(&c, 1, &p))
			return CAIRN_ECORRUPT;
		n = p[0];
		for (uint8_t k = 0; k < n; k++) {
			cairn_stamp st;
			cairn_value v;
			memset(&v, 0, sizeof v);
			if (!take(&c, 18, &p))
				return CAIRN_ECORRUPT;
			st.hlc = cairn__get_u64(p);
			st.replica = cairn__get_u64(p + 8);
			st.priority = p[16];
			uint8_t type = p[17];
			switch (type) {
			case CAIRN_NIL: v = cairn_value_nil(); break;
			case CAIRN_BOOL:
				if (!take(&c, 1, &p) || p[0] > 1)
					return CAIRN_ECORRUPT;
				v = cairn_value_bool(p[0] != 0);
				break;
			case CAIRN_INT:
				if (!take(&c, 8, &p))
					return CAIRN_ECORRUPT;
				v = cairn_value_int((int64_t)cairn__get_u64(p));
				break;
			case CAIRN_FLOAT: {
				if (!take(&c, 8, &p))
					return CAIRN_ECORRUPT;
				uint64_t bits = cairn__get_u64(p);
				double d;
				memcpy(&d, &bits, 8);
				v = cairn_value_float(d);
				break;
			}
			case CAIRN_STR:
			case CAIRN_BIN: {
				if (!take(&c, 4, &p))
					return CAIRN_ECORRUPT;
				uint32_t bl = cairn__get_u32(p);
				if (bl > CAIRN_MAX_VALUE_LIMIT ||
				    !take(&c, bl, &p))
					return CAIRN_ECORRUPT;
				v = type == CAIRN_STR ? cairn_value_strn(p, bl)
				                      : cairn_value_bin(p, bl);
				break;
			}
			default: return CAIRN_ECORRUPT;
			}
			int rc = cairn__history_push(h, doc, field, &v, &st);
			if (rc)
				return rc;
		}
	}
	return c.p == c.end ? 0 : CAIRN_ECORRUPT;
}
