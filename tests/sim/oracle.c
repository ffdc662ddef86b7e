/*
 * oracle.c -- the simulator's reference model (see oracle.h). Written from
 * the spec: nothing here calls into the library.
 */
#include "oracle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ----------------------------------------------------------- */

static const uint8_t s_a[] = {'a'};
static const uint8_t s_ab[] = {'a', 'b'};
static const uint8_t s_b[] = {'b'};
static const uint8_t s_eacute[] = {0xc3, 0xa9};
static const uint8_t s_empty[1] = {0};
static const uint8_t b_00ff[] = {0x00, 0xff};

#define V_NIL                                                                  \
	{                                                                      \
		.type = CAIRN_NIL                                              \
	}
#define V_BOOL(x)                                                              \
	{                                                                      \
		.type = CAIRN_BOOL, .as.b = (x)                                \
	}
#define V_INT(x)                                                               \
	{                                                                      \
		.type = CAIRN_INT, .as.i = (x)                                 \
	}
#define V_FLT(x)                                                               \
	{                                                                      \
		.type = CAIRN_FLOAT, .as.f = (x)                               \
	}
#define V_STR(p, n)                                                            \
	{                                                                      \
		.type = CAIRN_STR, .as.bytes = {(p), (n) }                     \
	}
#define V_BIN(p, n)                                                            \
	{                                                                      \
		.type = CAIRN_BIN, .as.bytes = {(p), (n) }                     \
	}

/* NaNs with other payloads are patched in at first use (see orc_elem). */
static cairn_value values[] = {
        V_INT(1),           /* 0  hot */
        V_STR(s_a, 1),      /* 1  hot */
        V_NIL,              /* 2  hot */
        V_FLT(0.0),         /* 3  hot: canonical NaN, patched */
        V_FLT(0.0),         /* 4  hot: negative NaN, patched */
        V_BOOL(true),       /* 5  hot */
        V_BOOL(false),      /* 6 */
        V_INT(0),           /* 7 */
        V_INT(-7),          /* 8 */
        V_INT(INT64_MIN),   /* 9 */
        V_FLT(0.0),         /* 10 */
        V_FLT(-0.0),        /* 11 */
        V_FLT(1.0),         /* 12 (not the element 1) */
        V_FLT(INFINITY),    /* 13 */
        V_FLT(0.0),         /* 14 signalling-payload NaN, patched */
        V_STR(s_empty, 0),  /* 15 */
        V_STR(s_ab, 2),     /* 16 */
        V_STR(s_b, 1),      /* 17 */
        V_STR(s_eacute, 2), /* 18 */
        V_BIN(s_empty, 0),  /* 19 */
        V_BIN(s_a, 1),      /* 20 (not the string "a") */
        V_BIN(b_00ff, 2),   /* 21 */
        V_INT(INT64_MAX),   /* 22 */
};

#define NVALUES ((int)(sizeof values / sizeof values[0]))
const cairn_value *const orc_values = values;
const int orc_nvalues = NVALUES;

static double f64_of_bits(uint64_t bits)
{
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

static int elem_class[NVALUES];
static bool values_ready;

static void values_init(void)
{
	if (values_ready)
		return;
	values[3].as.f = f64_of_bits(UINT64_C(0x7ff8000000000000));
	values[4].as.f = f64_of_bits(UINT64_C(0xfff8000000000000));
	values[14].as.f = f64_of_bits(UINT64_C(0x7ff0000000000001));
	for (int i = 0; i < NVALUES; i++) {
		elem_class[i] = i;
		for (int j = 0; j < i; j++) {
			if (orc_value_cmp(&values[i], &values[j]) == 0) {
				elem_class[i] = elem_class[j];
				break;
			}
		}
	}
	values_ready = true;
}

int orc_elem(int i)
{
	values_init();
	return elem_class[i];
}

static int type_rank(cairn_type t)
{
	switch (t) {
	case CAIRN_NIL: return 0;
	case CAIRN_BOOL: return 1;
	case CAIRN_INT: return 2;
	case CAIRN_FLOAT: return 3;
	case CAIRN_STR: return 4;
	case CAIRN_BIN: return 5;
	}
	return 6;
}

/* IEEE 754 totalOrder key for non-NaN doubles. */
static int64_t float_key(double f)
{
	uint64_t u;
	memcpy(&u, &f, sizeof u);
	if (u >> 63)
		return (int64_t)~u |
		       INT64_MIN; /* negative: reverse magnitude */
	return (int64_t)u;
}

int orc_value_cmp(const cairn_value *a, const cairn_value *b)
{
	int ta = type_rank(a->type), tb = type_rank(b->type);
	if (ta != tb)
		return ta < tb ? -1 : 1;
	switch (a->type) {
	case CAIRN_NIL: return 0;
	case CAIRN_BOOL: return (int)a->as.b - (int)b->as.b;
	case CAIRN_INT: return a->as.i < b->as.i ? -1 : a->as.i > b->as.i;
	case CAIRN_FLOAT: {
		bool na = isnan(a->as.f), nb = isnan(b->as.f);
		if (na || nb)
			return (int)na - (int)nb;
		int64_t ka = float_key(a->as.f), kb = float_key(b->as.f);
		return ka < kb ? -1 : ka > kb;
	}
	case CAIRN_STR:
	case CAIRN_BIN: {
		size_t la = a->as.bytes.len, lb = b->as.bytes.len;
		size_t n = la < lb ? la : lb;
		int c = n ? memcmp(a->as.bytes.ptr, b->as.bytes.ptr, n) : 0;
		if (c != 0)
			return c < 0 ? -1 : 1;
		return la < lb ? -1 : la > lb;
	}
	}
	return 0;
}

const char *orc_value_str(const cairn_value *v, char *buf, size_t n)
{
	switch (v->type) {
	case CAIRN_NIL: snprintf(buf, n, "nil"); break;
	case CAIRN_BOOL: snprintf(buf, n, v->as.b ? "true" : "false"); break;
	case CAIRN_INT: snprintf(buf, n, "%lld", (long long)v->as.i); break;
	case CAIRN_FLOAT: {
		uint64_t u;
		memcpy(&u, &v->as.f, sizeof u);
		snprintf(buf, n, "%g(0x%016llx)", v->as.f,
		         (unsigned long long)u);
		break;
	}
	case CAIRN_STR:
	case CAIRN_BIN: {
		size_t k = (size_t)snprintf(
		        buf, n, "%s\"", v->type == CAIRN_STR ? "str" : "bin");
		for (size_t i = 0; i < v->as.bytes.len && k + 5 < n; i++)
			k += (size_t)snprintf(buf + k, n - k, "\\x%02x",
			                      v->as.bytes.ptr[i]);
		if (k + 2 < n)
			snprintf(buf + k, n - k, "\"");
		break;
	}
	default: snprintf(buf, n, "type%d", (int)v->type); break;
	}
	return buf;
}

const char *const orc_kind_names[4] = {"set", "del", "add", "rm"};

/* ---- bitsets ---------------------------------------------------------- */

static bool bit(const uint64_t *b, int i)
{
	return (b[(size_t)i / 64] >> ((size_t)i % 64)) & 1u;
}

static void bit_set(uint64_t *b, int i)
{
	b[(size_t)i / 64] |= UINT64_C(1) << ((size_t)i % 64);
}

/* ---- history ---------------------------------------------------------- */

int orc_init(orc *o, const char *const *docs, int ndocs,
             const char *const *fields, int nfields, const orc_decl *decls,
             int ndecls, size_t max_ops)
{
	values_init();
	memset(o, 0, sizeof *o);
	o->docs = docs;
	o->ndocs = ndocs;
	o->fields = fields;
	o->nfields = nfields;
	o->decls = decls;
	o->ndecls = ndecls;
	o->max_ops = max_ops;
	o->words = (max_ops + 63) / 64;
	size_t ndf = (size_t)ndocs * (size_t)nfields;
	o->ops = calloc(max_ops ? max_ops : 1, sizeof *o->ops);
	o->df = calloc(ndf, sizeof *o->df);
	o->df_n = calloc(ndf, sizeof *o->df_n);
	o->setmask = calloc(o->words ? o->words : 1, sizeof *o->setmask);
	o->policy = calloc(ndf, sizeof *o->policy);
	if (!o->ops || !o->df || !o->df_n || !o->setmask || !o->policy)
		return -1;
	for (size_t i = 0; i < ndf; i++) {
		o->df[i] = malloc((max_ops ? max_ops : 1) * sizeof(int));
		if (!o->df[i])
			return -1;
	}
	for (int d = 0; d < ndocs; d++)
		for (int f = 0; f < nfields; f++)
			o->policy[d * nfields + f] =
			        orc_policy_of(o, docs[d], fields[f]);
	return 0;
}

void orc_free(orc *o)
{
	if (o->df)
		for (int i = 0; i < o->ndocs * o->nfields; i++)
			free(o->df[i]);
	free(o->df);
	free(o->df_n);
	free(o->ops);
	free(o->obs);
	free(o->setmask);
	free(o->policy);
	memset(o, 0, sizeof *o);
}

cairn_policy orc_policy_of(const orc *o, const char *doc, const char *field)
{
	/* A declaration naming the field beats every collection declaration;
	 * within each group the longest matching prefix wins. */
	int best_field = -1, best_coll = -1;
	size_t len_field = 0, len_coll = 0;
	for (int i = 0; i < o->ndecls; i++) {
		const orc_decl *d = &o->decls[i];
		size_t pl = strlen(d->prefix);
		if (strncmp(doc, d->prefix, pl) != 0)
			continue;
		if (d->field != NULL) {
			if (strcmp(d->field, field) != 0)
				continue;
			if (best_field < 0 || pl > len_field) {
				best_field = i;
				len_field = pl;
			}
		} else if (best_coll < 0 || pl > len_coll) {
			best_coll = i;
			len_coll = pl;
		}
	}
	if (best_field >= 0)
		return o->decls[best_field].policy;
	if (best_coll >= 0)
		return o->decls[best_coll].policy;
	return CAIRN_POLICY_LWW;
}

int orc_know_init(const orc *o, orc_know *k)
{
	size_t w = o->words ? o->words : 1;
	k->received = calloc(w, sizeof(uint64_t));
	k->killed = calloc(w, sizeof(uint64_t));
	k->everlive = calloc(w, sizeof(uint64_t));
	k->max_seen_hlc = 0;
	return (k->received && k->killed && k->everlive) ? 0 : -1;
}

void orc_know_free(orc_know *k)
{
	free(k->received);
	free(k->killed);
	free(k->everlive);
	memset(k, 0, sizeof *k);
}

void orc_know_copy(const orc *o, orc_know *dst, const orc_know *src)
{
	size_t w = o->words ? o->words : 1;
	memcpy(dst->received, src->received, w * sizeof(uint64_t));
	memcpy(dst->killed, src->killed, w * sizeof(uint64_t));
	memcpy(dst->everlive, src->everlive, w * sizeof(uint64_t));
	dst->max_seen_hlc = src->max_seen_hlc;
}

bool orc_live(const orc_know *k, int id)
{
	return bit(k->received, id) && !bit(k->killed, id);
}

size_t orc_observed(const orc *o, const orc_know *k, int doc, int field,
                    orc_kind kind, int val, int *out)
{
	size_t di = (size_t)doc * (size_t)o->nfields + (size_t)field;
	size_t n = 0;
	for (size_t i = 0; i < o->df_n[di]; i++) {
		int id = o->df[di][i];
		const orc_op *e = &o->ops[id];
		if (e->kind != ORC_SET && e->kind != ORC_ADD)
			continue; /* not an entry */
		if (!orc_live(k, id))
			continue;
		if (kind == ORC_ADD || kind == ORC_RM) {
			if (e->kind != ORC_ADD ||
			    orc_elem(e->val) != orc_elem(val))
				continue;
		}
		out[n++] = id;
	}
	return n;
}

int orc_record(orc *o, const orc_op *op, const int *observed, size_t nobs)
{
	if (o->nops >= o->max_ops)
		abort();
	if (o->nobs + nobs > o->cap_obs) {
		size_t cap = o->cap_obs ? o->cap_obs * 2 : 1024;
		while (cap < o->nobs + nobs)
			cap *= 2;
		int *p = realloc(o->obs, cap * sizeof *p);
		if (!p)
			abort();
		o->obs = p;
		o->cap_obs = cap;
	}
	int id = (int)o->nops++;
	orc_op *dst = &o->ops[id];
	*dst = *op;
	dst->obs_off = o->nobs;
	dst->nobs = nobs;
	if (nobs > 0)
		memcpy(o->obs + o->nobs, observed, nobs * sizeof *observed);
	o->nobs += nobs;
	size_t di = (size_t)op->doc * (size_t)o->nfields + (size_t)op->field;
	o->df[di][o->df_n[di]++] = id;
	if (op->kind == ORC_SET)
		bit_set(o->setmask, id);
	return id;
}

/* Register writes that became live: their timestamps were joined. */
static void update_everlive(const orc *o, orc_know *k)
{
	for (size_t w = 0; w < o->words; w++) {
		uint64_t nl = k->received[w] & ~k->killed[w] & o->setmask[w] &
		              ~k->everlive[w];
		k->everlive[w] |= nl;
		while (nl) {
			int b = __builtin_ctzll(nl);
			nl &= nl - 1;
			uint64_t h = o->ops[w * 64 + (size_t)b].hlc;
			if (h > k->max_seen_hlc)
				k->max_seen_hlc = h;
		}
	}
}

void orc_deliver(const orc *o, orc_know *k, int id)
{
	if (bit(k->received, id))
		return;
	bit_set(k->received, id);
	const orc_op *op = &o->ops[id];
	for (size_t i = 0; i < op->nobs; i++)
		bit_set(k->killed, o->obs[op->obs_off + i]);
	update_everlive(o, k);
}

void orc_join(const orc *o, orc_know *k, const uint64_t *src_received,
              const uint64_t *src_killed)
{
	for (size_t w = 0; w < o->words; w++) {
		k->received[w] |= src_received[w];
		k->killed[w] |= src_killed[w];
	}
	update_everlive(o, k);
}

bool orc_doc_known(const orc *o, const orc_know *k, int doc)
{
	for (int f = 0; f < o->nfields; f++) {
		size_t di = (size_t)doc * (size_t)o->nfields + (size_t)f;
		for (size_t i = 0; i < o->df_n[di]; i++)
			if (bit(k->received, o->df[di][i]) ||
			    bit(k->killed, o->df[di][i]))
				return true;
	}
	return false;
}

/* Policy preference: <0 if op a comes before op b (a is preferred). */
static int pref_cmp(const orc *o, cairn_policy pol, int a, int b)
{
	const orc_op *x = &o->ops[a], *y = &o->ops[b];
	int sign = -1; /* descending by default */
	if (pol == CAIRN_POLICY_FWW)
		sign = 1;
	if (pol == CAIRN_POLICY_PRIORITY && x->prio != y->prio)
		return x->prio > y->prio ? -1 : 1;
	if (x->hlc != y->hlc)
		return (x->hlc < y->hlc ? -1 : 1) * sign;
	if (x->rid != y->rid)
		return (x->rid < y->rid ? -1 : 1) * sign;
	return 0;
}

void orc_view_of(const orc *o, const orc_know *k, int doc, int field,
                 orc_view *out)
{
	size_t di = (size_t)doc * (size_t)o->nfields + (size_t)field;
	memset(out, 0, sizeof *out);
	out->policy = o->policy[di];
	for (size_t i = 0; i < o->df_n[di]; i++) {
		int id = o->df[di][i];
		const orc_op *e = &o->ops[id];
		if ((e->kind != ORC_SET && e->kind != ORC_ADD) ||
		    !orc_live(k, id))
			continue;
		if (e->kind == ORC_SET) {
			/* insertion in preference order */
			size_t j = out->nvals++;
			if (j >= ORC_MAX_LIVE)
				abort();
			while (j > 0 && pref_cmp(o, out->policy, id,
			                         out->vals[j - 1]) < 0) {
				out->vals[j] = out->vals[j - 1];
				j--;
			}
			out->vals[j] = id;
		} else {
			int c = orc_elem(e->val);
			size_t j;
			for (j = 0; j < out->nmembers; j++)
				if (out->members[j] == c)
					break;
			if (j < out->nmembers)
				continue;
			j = out->nmembers++;
			if (j >= ORC_MAX_LIVE)
				abort();
			while (j > 0 &&
			       orc_value_cmp(&orc_values[c],
			                     &orc_values[out->members[j - 1]]) <
			               0) {
				out->members[j] = out->members[j - 1];
				j--;
			}
			out->members[j] = c;
		}
	}
	out->conflict = out->nvals > 0 && out->nmembers > 0;
	out->kind = out->nvals > 0      ? CAIRN_KIND_REGISTER
	            : out->nmembers > 0 ? CAIRN_KIND_SET
	                                : CAIRN_KIND_NONE;
}
