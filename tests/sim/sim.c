/*
 * sim.c -- the seeded convergence simulator of the CRDT core.
 *
 * SIM_REPLICAS replicas (a compile definition: one executable per count)
 * make 300 random writes each seed through the public API, chosen against
 * their own local view. Each successful write's delta is encoded and sent
 * to every other replica through a simulated network that drops (10 %),
 * duplicates (10 %), reorders (window of 8) and partitions; receivers
 * decode and join. Replicas sometimes ship their whole state to a peer
 * (anti-entropy). After the writes the network heals, everything in flight
 * is delivered, and full states are exchanged until the replicas agree.
 *
 * Checked throughout, against an independent oracle (oracle.c):
 *   - every refusal (EKIND, EEXIST, ENOTFOUND) is the right one, and a
 *     refused write changes neither the replica nor the delta;
 *   - the touched field's local view, before and after each write, and
 *     every replica's whole view once the in-flight deltas are delivered;
 *   - HLC: one replica's timestamps strictly increase, and each write's is
 *     above every register timestamp the replica has joined;
 *   - a join with a timestamp beyond the skew bound is refused, unchanged;
 *   - decode(encode(delta)) re-encodes to the same bytes.
 * At the end: byte-identical encodings and equal digests on every replica
 * (and the digest is BLAKE2b-256 of the encoding), and every replica's view
 * equals the oracle's.
 *
 * Replay one seed: CAIRN_TEST_SEED=<seed> ./cairn-test-sim_r<N>
 * More seeds:      CAIRN_SIM_SEEDS=<count> ./cairn-test-sim_r<N>
 * More ops a seed: CAIRN_SIM_OPS=<count> ./cairn-test-sim_r<N>
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes_int.h"
#include "cairn/crdt.h"
#include "oracle.h"
#include "rng.h"
#include "sim_util.h"

#ifndef SIM_REPLICAS
#define SIM_REPLICAS 3
#endif
#define R SIM_REPLICAS

#define DEFAULT_SEEDS 2000
#define DEFAULT_OPS 300
#define WINDOW 8 /* reorder window */

static const char *const doc_names[] = {
        "l/0", "l/1", "l/2", "f/0", "f/1", "f/2", "p/0",
        "p/1", "p/2", "m/0", "m/1", "m/2", "z/0",
};
#define NDOCS ((int)(sizeof doc_names / sizeof doc_names[0]))

/* Kept in bytewise order: the expected field listing walks it in order. */
static const char *const field_names[] = {"w", "x", "y", "z"};
#define NFIELDS ((int)(sizeof field_names / sizeof field_names[0]))

/*
 * The declarations, the same on every replica (made in a random order).
 * "m/1" (collection, fww) is a longer prefix than "m/"; ("m/", "y") names
 * the field, so it beats "m/1" for m/1.y. "z/0" falls back to lww.
 */
static const orc_decl decls[] = {
        {"l/", NULL, CAIRN_POLICY_LWW},      {"f/", NULL, CAIRN_POLICY_FWW},
        {"p/", NULL, CAIRN_POLICY_PRIORITY}, {"m/", NULL, CAIRN_POLICY_MULTI},
        {"l/", "x", CAIRN_POLICY_MULTI},     {"m/1", NULL, CAIRN_POLICY_FWW},
        {"m/", "y", CAIRN_POLICY_PRIORITY},
};
#define NDECLS ((int)(sizeof decls / sizeof decls[0]))

/* CAIRN_SIM_TRACE=1: print every write and delivery (for a replayed seed). */
static bool g_trace;

/* The program's name, for the replay line. */
static const char *g_prog = "./cairn-test-sim_rN";

/* ---- state of one seed ------------------------------------------------ */

typedef struct msg {
	int from;
	int op;         /* op id, or -1 for a whole state */
	uint8_t *bytes; /* a state's bytes (owned; an op's are in op_bytes) */
	size_t len;
	uint64_t *recv; /* a state's sender knowledge (owned) */
	uint64_t *killed;
} msg;

typedef struct queue {
	msg *m;
	size_t n, cap;
} queue;

typedef struct replica {
	cairn_replica *r;
	cairn_replica_id id;
	uint8_t prio;
	uint64_t lag; /* how far its wall clock is behind the global one */
	uint64_t last_hlc;
	orc_know k;
	int group; /* partition side */
	queue in;
} replica;

typedef struct stats {
	uint64_t seeds, ops, refused[4], refused_by_rc[16], deliveries, dropped,
	        duplicated, states_shipped, skew_checks, conflicts,
	        multi_fields, live_values, live_members, state_bytes;
	uint64_t rounds_hist[4];
	uint64_t max_queue;
} stats;

typedef struct sim {
	uint64_t seed;
	size_t nops_target;
	size_t step;
	rng g;
	uint64_t T; /* the global time; each replica lags it by its lag */
	replica rep[R];
	orc o;
	uint8_t **op_bytes;
	size_t *op_len;
	cairn_delta *delta;   /* a write's delta */
	cairn_delta *scratch; /* decoding target */
	cairn_buf buf;
	int partitioned_steps; /* > 0 while a partition lasts */
	unsigned deliver_pct;  /* per receiver per step */
	int *obs_tmp;
	bool lossless; /* the final exchange: no drops, no duplicates */
	stats *st;
	jmp_buf fail;
	/* what the harness is doing, for failure messages (formatted lazily:
	 * hot paths only store numbers) */
	struct {
		enum {
			AT_TEXT,
			AT_DELIVER,
			AT_BEFORE,
			AT_WRITE,
			AT_AFTER
		} kind;
		int op, from, to, ri, doc, field, val;
		orc_kind okind;
		char text[96];
	} at;
} sim;

static void fail(sim *s, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4), noreturn));

static const char *where_str(const sim *s, char *buf, size_t n)
{
	char v[128];
	const char *doc = s->at.doc >= 0 ? doc_names[s->at.doc] : "?";
	const char *fn = s->at.field >= 0 ? field_names[s->at.field] : "?";
	const char *val =
	        s->at.okind == ORC_DEL
	                ? ""
	                : orc_value_str(&orc_values[s->at.val], v, sizeof v);
	switch (s->at.kind) {
	case AT_DELIVER:
		if (s->at.op >= 0)
			snprintf(buf, n, "deliver op %d from replica %d to %d",
			         s->at.op, s->at.from, s->at.to);
		else
			snprintf(buf, n,
			         "deliver the state of replica %d to %d",
			         s->at.from, s->at.to);
		break;
	case AT_BEFORE:
		snprintf(buf, n, "before a write by replica %d on %s.%s",
		         s->at.ri, doc, fn);
		break;
	case AT_WRITE:
		snprintf(buf, n, "replica %d: %s %s.%s %s", s->at.ri,
		         orc_kind_names[s->at.okind], doc, fn, val);
		break;
	case AT_AFTER:
		snprintf(buf, n, "after op %d: replica %d %s %s.%s %s",
		         s->at.op, s->at.ri, orc_kind_names[s->at.okind], doc,
		         fn, val);
		break;
	default: snprintf(buf, n, "%s", s->at.text); break;
	}
	return buf;
}

/* A free-form "where" for the rare paths. */
static void at_text(sim *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void at_text(sim *s, const char *fmt, ...)
{
	va_list ap;
	s->at.kind = AT_TEXT;
	va_start(ap, fmt);
	vsnprintf(s->at.text, sizeof s->at.text, fmt, ap);
	va_end(ap);
}

static void fail(sim *s, int line, const char *fmt, ...)
{
	va_list ap;
	char where[256];
	fprintf(stderr, "FAIL sim_r%d seed %llu step %zu (sim.c:%d) [%s]: ", R,
	        (unsigned long long)s->seed, s->step, line,
	        where_str(s, where, sizeof where));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nreplay: CAIRN_TEST_SEED=%llu %s\n",
	        (unsigned long long)s->seed, g_prog);
	longjmp(s->fail, 1);
}

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(s, __LINE__, __VA_ARGS__);                        \
	} while (0)

#define CHECK_RC(call, want)                                                   \
	do {                                                                   \
		int rc_ = (call);                                              \
		if (rc_ != (want))                                             \
			fail(s, __LINE__, "%s returned %s, expected %s",       \
			     #call, cairn_err_name(rc_),                       \
			     cairn_err_name(want));                            \
	} while (0)

static uint64_t now_of(const sim *s, int i)
{
	return s->T - s->rep[i].lag;
}

static const char *vstr(const cairn_value *v, char *buf, size_t n)
{
	return orc_value_str(v, buf, n);
}

/*
 * a (read from a replica) equals b (from the universe). Every NaN reads
 * back as one canonical NaN: the first one read fixes its bits.
 */
static bool value_eq(const cairn_value *a, const cairn_value *b)
{
	static uint64_t nan_bits;
	static bool nan_seen;
	if (a->type != b->type || orc_value_cmp(a, b) != 0)
		return false;
	if (a->type == CAIRN_FLOAT && isnan(a->as.f)) {
		uint64_t bits;
		memcpy(&bits, &a->as.f, sizeof bits);
		if (!nan_seen) {
			nan_bits = bits;
			nan_seen = true;
		}
		return bits == nan_bits;
	}
	return true;
}

/* ---- view checks ------------------------------------------------------ */

static const char *kind_name(cairn_kind k)
{
	return k == CAIRN_KIND_REGISTER ? "register"
	       : k == CAIRN_KIND_SET    ? "set"
	                                : "none";
}

/*
 * Compare every read of (doc, field) on replica ri with the expected view.
 * doc may be NULL when the replica has no such document.
 */
static void check_field(sim *s, int ri, const cairn_doc *doc, int d, int f,
                        const orc_view *e)
{
	const char *fn = field_names[f];
	char b1[128], b2[128];
	if (doc == NULL) {
		CHECK(e->kind == CAIRN_KIND_NONE,
		      "replica %d has no document %s but %s.%s should be a %s",
		      ri, doc_names[d], doc_names[d], fn, kind_name(e->kind));
		return;
	}
	cairn_field_info info;
	memset(&info, 0xa5, sizeof info);
	int rc = cairn_doc_field_info(doc, fn, &info);
	if (e->kind == CAIRN_KIND_NONE) {
		CHECK(rc == CAIRN_ENOTFOUND,
		      "replica %d %s.%s: field_info %s (kind %s, %zu values, "
		      "%zu "
		      "members), expected no live content",
		      ri, doc_names[d], fn, cairn_err_name(rc),
		      rc == 0 ? kind_name(info.kind) : "-",
		      rc == 0 ? info.values : 0, rc == 0 ? info.members : 0);
	} else {
		CHECK(rc == 0, "replica %d %s.%s: field_info %s, expected a %s",
		      ri, doc_names[d], fn, cairn_err_name(rc),
		      kind_name(e->kind));
		CHECK(info.kind == e->kind && info.values == e->nvals &&
		              info.members == e->nmembers &&
		              info.kind_conflict == e->conflict &&
		              info.policy == e->policy,
		      "replica %d %s.%s: field_info kind %s values %zu members "
		      "%zu "
		      "conflict %d policy %s; expected %s %zu %zu %d %s",
		      ri, doc_names[d], fn, kind_name(info.kind), info.values,
		      info.members, (int)info.kind_conflict,
		      cairn_policy_name(info.policy), kind_name(e->kind),
		      e->nvals, e->nmembers, (int)e->conflict,
		      cairn_policy_name(e->policy));
	}

	/* register reads */
	cairn_value v;
	cairn_stamp st;
	rc = cairn_doc_get(doc, fn, &v, &st);
	int want = e->kind == CAIRN_KIND_NONE  ? CAIRN_ENOTFOUND
	           : e->kind == CAIRN_KIND_SET ? CAIRN_EKIND
	                                       : 0;
	CHECK(rc == want, "replica %d %s.%s: get %s, expected %s", ri,
	      doc_names[d], fn, cairn_err_name(rc), cairn_err_name(want));
	cairn_value vals[ORC_MAX_LIVE];
	cairn_stamp stamps[ORC_MAX_LIVE];
	size_t n = 12345;
	if (want == 0) {
		const orc_op *w = &s->o.ops[e->vals[0]];
		CHECK(value_eq(&v, &orc_values[w->val]) && st.hlc == w->hlc &&
		              st.replica == w->rid && st.priority == w->prio,
		      "replica %d %s.%s (%s): get %s @(hlc %llx, replica %llx, "
		      "prio %u), expected %s @(%llx, %llx, %u) of %zu live",
		      ri, doc_names[d], fn, cairn_policy_name(e->policy),
		      vstr(&v, b1, sizeof b1), (unsigned long long)st.hlc,
		      (unsigned long long)st.replica, st.priority,
		      vstr(&orc_values[w->val], b2, sizeof b2),
		      (unsigned long long)w->hlc, (unsigned long long)w->rid,
		      w->prio, e->nvals);
		if (e->nvals > 1) {
			rc = cairn_doc_get_all(doc, fn, vals, stamps,
			                       e->nvals - 1, &n);
			CHECK(rc == CAIRN_ESPACE && n == e->nvals,
			      "replica %d %s.%s: get_all with a short array: "
			      "%s n=%zu, "
			      "expected CAIRN_ESPACE n=%zu",
			      ri, doc_names[d], fn, cairn_err_name(rc), n,
			      e->nvals);
		}
	}
	n = 12345;
	rc = cairn_doc_get_all(doc, fn, vals, stamps, ORC_MAX_LIVE, &n);
	CHECK(rc == want, "replica %d %s.%s: get_all %s, expected %s", ri,
	      doc_names[d], fn, cairn_err_name(rc), cairn_err_name(want));
	if (want == 0) {
		CHECK(n == e->nvals,
		      "replica %d %s.%s: get_all gave %zu values, "
		      "expected %zu",
		      ri, doc_names[d], fn, n, e->nvals);
		for (size_t i = 0; i < n; i++) {
			const orc_op *w = &s->o.ops[e->vals[i]];
			CHECK(value_eq(&vals[i], &orc_values[w->val]) &&
			              stamps[i].hlc == w->hlc &&
			              stamps[i].replica == w->rid &&
			              stamps[i].priority == w->prio,
			      "replica %d %s.%s (%s): get_all[%zu] = %s "
			      "@(%llx, %llx, "
			      "%u), expected %s @(%llx, %llx, %u)",
			      ri, doc_names[d], fn,
			      cairn_policy_name(e->policy), i,
			      vstr(&vals[i], b1, sizeof b1),
			      (unsigned long long)stamps[i].hlc,
			      (unsigned long long)stamps[i].replica,
			      stamps[i].priority,
			      vstr(&orc_values[w->val], b2, sizeof b2),
			      (unsigned long long)w->hlc,
			      (unsigned long long)w->rid, w->prio);
		}
	}

	/* set reads */
	want = e->kind == CAIRN_KIND_REGISTER ? CAIRN_EKIND : 0;
	n = 12345;
	rc = cairn_doc_members(doc, fn, vals, ORC_MAX_LIVE, &n);
	CHECK(rc == want, "replica %d %s.%s: members %s, expected %s", ri,
	      doc_names[d], fn, cairn_err_name(rc), cairn_err_name(want));
	if (want == 0) {
		CHECK(n == e->nmembers,
		      "replica %d %s.%s: %zu members, expected "
		      "%zu",
		      ri, doc_names[d], fn, n, e->nmembers);
		for (size_t i = 0; i < n; i++)
			CHECK(value_eq(&vals[i], &orc_values[e->members[i]]),
			      "replica %d %s.%s: member[%zu] = %s, expected %s",
			      ri, doc_names[d], fn, i,
			      vstr(&vals[i], b1, sizeof b1),
			      vstr(&orc_values[e->members[i]], b2, sizeof b2));
		if (e->nmembers > 0) {
			rc = cairn_doc_members(doc, fn, vals, e->nmembers - 1,
			                       &n);
			CHECK(rc == CAIRN_ESPACE && n == e->nmembers,
			      "replica %d %s.%s: members with a short array: "
			      "%s "
			      "n=%zu",
			      ri, doc_names[d], fn, cairn_err_name(rc), n);
		}
	}
	/* contains: a member (if any) and one more value */
	int probe[2] = {e->nmembers > 0 ? e->members[s->step % e->nmembers] : 0,
	                (int)(s->step % (size_t)orc_nvalues)};
	for (int p = 0; p < 2; p++) {
		int i = probe[p];
		int c = cairn_doc_contains(doc, fn, &orc_values[i]);
		int wc;
		if (e->kind == CAIRN_KIND_REGISTER) {
			wc = CAIRN_EKIND;
		} else {
			wc = 0;
			for (size_t j = 0; j < e->nmembers; j++)
				if (e->members[j] == orc_elem(i))
					wc = 1;
		}
		CHECK(c == wc,
		      "replica %d %s.%s: contains(%s) = %d, expected %d", ri,
		      doc_names[d], fn, vstr(&orc_values[i], b1, sizeof b1), c,
		      wc);
	}
}

/* Every field of every document of replica ri against knowledge *k. */
static void check_replica(sim *s, int ri, const orc_know *k)
{
	cairn_replica *r = s->rep[ri].r;
	size_t expect_docs = 0;
	for (int d = 0; d < NDOCS; d++) {
		bool known = orc_doc_known(&s->o, k, d);
		cairn_doc *doc = NULL;
		int rc = cairn_replica_find(r, doc_names[d], &doc);
		CHECK(rc == (known ? 0 : CAIRN_ENOTFOUND),
		      "replica %d find(%s) = %s, but it %s history there", ri,
		      doc_names[d], cairn_err_name(rc),
		      known ? "has" : "has no");
		if (known)
			expect_docs++;
		const char *want_fields[NFIELDS];
		size_t nf = 0;
		for (int f = 0; f < NFIELDS; f++) {
			orc_view e;
			orc_view_of(&s->o, k, d, f, &e);
			check_field(s, ri, doc, d, f, &e);
			if (e.kind != CAIRN_KIND_NONE)
				want_fields[nf++] = field_names[f];
		}
		if (doc == NULL)
			continue;
		CHECK(cairn_doc_field_count(doc) == nf,
		      "replica %d %s: field_count %zu, expected %zu", ri,
		      doc_names[d], cairn_doc_field_count(doc), nf);
		const char *names[NFIELDS + 4];
		size_t n = 999;
		rc = cairn_doc_fields(doc, names, NFIELDS + 4, &n);
		CHECK(rc == 0 && n == nf,
		      "replica %d %s: fields %s n=%zu, "
		      "expected %zu",
		      ri, doc_names[d], cairn_err_name(rc), n, nf);
		for (size_t i = 0; i < n; i++)
			CHECK(strcmp(names[i], want_fields[i]) == 0,
			      "replica %d %s: fields[%zu] = %s, expected %s",
			      ri, doc_names[d], i, names[i], want_fields[i]);
		CHECK(strcmp(cairn_doc_id(doc), doc_names[d]) == 0,
		      "doc id %s != %s", cairn_doc_id(doc), doc_names[d]);
	}
	CHECK(cairn_replica_doc_count(r) == expect_docs,
	      "replica %d doc_count %zu, expected %zu", ri,
	      cairn_replica_doc_count(r), expect_docs);
	const char *ids[NDOCS + 4];
	size_t n = 999;
	int rc = cairn_replica_docs(r, "", ids, NDOCS + 4, &n);
	CHECK(rc == 0 && n == expect_docs,
	      "replica %d docs(\"\") %s n=%zu, "
	      "expected %zu",
	      ri, cairn_err_name(rc), n, expect_docs);
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(ids[i - 1], ids[i]) < 0,
		      "replica %d docs not sorted: %s, %s", ri, ids[i - 1],
		      ids[i]);
	/* a collection prefix, and a short array */
	static const char *const prefixes[] = {"l/", "f/", "m/1", "p/2", "z/"};
	const char *pre = prefixes[s->step % 5];
	size_t want = 0;
	for (int d = 0; d < NDOCS; d++)
		if (strncmp(doc_names[d], pre, strlen(pre)) == 0 &&
		    orc_doc_known(&s->o, k, d))
			want++;
	n = 999;
	rc = cairn_replica_docs(r, pre, ids, NDOCS + 4, &n);
	CHECK(rc == 0 && n == want,
	      "replica %d docs(\"%s\") %s n=%zu, "
	      "expected %zu",
	      ri, pre, cairn_err_name(rc), n, want);
	for (size_t i = 0; i < n; i++)
		CHECK(strncmp(ids[i], pre, strlen(pre)) == 0,
		      "replica %d docs(\"%s\") listed %s", ri, pre, ids[i]);
	if (want > 0) {
		n = 999;
		rc = cairn_replica_docs(r, pre, ids, want - 1, &n);
		CHECK(rc == CAIRN_ESPACE && n == want,
		      "replica %d docs(\"%s\") "
		      "with a short array: %s n=%zu",
		      ri, pre, cairn_err_name(rc), n);
	}
}

/* ---- network ---------------------------------------------------------- */

static void q_push(queue *q, msg m)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		msg *p = realloc(q->m, cap * sizeof *p);
		if (!p)
			abort();
		q->m = p;
		q->cap = cap;
	}
	q->m[q->n++] = m;
}

static void msg_free(msg *m)
{
	free(m->bytes);
	free(m->recv);
	free(m->killed);
	memset(m, 0, sizeof *m);
}

static msg msg_dup(const sim *s, const msg *m)
{
	msg c = *m;
	if (m->op < 0) {
		size_t wb = s->o.words * sizeof(uint64_t);
		c.bytes = malloc(m->len ? m->len : 1);
		c.recv = malloc(wb);
		c.killed = malloc(wb);
		if (!c.bytes || !c.recv || !c.killed)
			abort();
		memcpy(c.bytes, m->bytes, m->len);
		memcpy(c.recv, m->recv, wb);
		memcpy(c.killed, m->killed, wb);
	}
	return c;
}

static bool linked(const sim *s, int a, int b)
{
	return s->partitioned_steps <= 0 || s->rep[a].group == s->rep[b].group;
}

/* Send: drop 10 %, duplicate 10 %; a partition drops everything across. */
static void net_send(sim *s, int from, int to, msg m)
{
	if (s->lossless) {
		q_push(&s->rep[to].in, m);
		return;
	}
	if (!linked(s, from, to) || rng_pct(&s->g, 10)) {
		s->st->dropped++;
		msg_free(&m);
		return;
	}
	if (rng_pct(&s->g, 10)) {
		s->st->duplicated++;
		q_push(&s->rep[to].in, msg_dup(s, &m));
	}
	q_push(&s->rep[to].in, m);
	if (s->rep[to].in.n > s->st->max_queue)
		s->st->max_queue = s->rep[to].in.n;
}

/*
 * Ship the whole state of replica `from` (cairn_replica_state, encoded) to
 * each replica in to[0..nto): one encoding, one message per receiver.
 */
static void ship_state_to(sim *s, int from, const int *to, int nto)
{
	replica *src = &s->rep[from];
	cairn_delta_clear(s->scratch);
	CHECK_RC(cairn_replica_state(src->r, s->scratch), 0);
	cairn_buf_reset(&s->buf);
	CHECK_RC(cairn_delta_encode(s->scratch, &s->buf), 0);
	if (rng_pct(&s->g, 10)) {
		/* the state's delta encodes exactly like the replica */
		cairn_buf b2;
		cairn_buf_init(&b2, NULL);
		CHECK_RC(cairn_replica_encode(src->r, &b2), 0);
		bool same = b2.len == s->buf.len &&
		            memcmp(b2.data, s->buf.data, b2.len) == 0;
		cairn_buf_free(&b2);
		CHECK(same,
		      "replica %d: cairn_delta_encode(cairn_replica_state) "
		      "differs from cairn_replica_encode",
		      from);
	}
	size_t wb = s->o.words * sizeof(uint64_t);
	for (int i = 0; i < nto; i++) {
		msg m = {.from = from, .op = -1};
		m.len = s->buf.len;
		m.bytes = malloc(m.len ? m.len : 1);
		m.recv = malloc(wb);
		m.killed = malloc(wb);
		if (!m.bytes || !m.recv || !m.killed)
			abort();
		memcpy(m.bytes, s->buf.data, m.len);
		memcpy(m.recv, src->k.received, wb);
		memcpy(m.killed, src->k.killed, wb);
		s->st->states_shipped++;
		s->st->state_bytes += m.len;
		net_send(s, from, to[i], m);
	}
}

static void ship_state(sim *s, int from, int to)
{
	ship_state_to(s, from, &to, 1);
}

/* A join that must be refused for clock skew and change nothing. */
static void check_skew_refusal(sim *s, int to, uint64_t hlc)
{
	replica *dst = &s->rep[to];
	uint8_t before[CAIRN_DIGEST_BYTES], after[CAIRN_DIGEST_BYTES];
	CHECK_RC(cairn_replica_digest(dst->r, before), 0);
	uint64_t last = cairn_replica_hlc_last(dst->r);
	uint64_t early = CAIRN_HLC_MS(hlc) - CAIRN_DEFAULT_MAX_SKEW_MS - 1 -
	                 rng_below(&s->g, 5000);
	int rc = cairn_replica_join(dst->r, s->scratch, early);
	CHECK(rc == CAIRN_ECLOCK_SKEW,
	      "join of a delta with hlc ms %llu at now "
	      "%llu: %s, expected CAIRN_ECLOCK_SKEW",
	      (unsigned long long)CAIRN_HLC_MS(hlc), (unsigned long long)early,
	      cairn_err_name(rc));
	CHECK_RC(cairn_replica_digest(dst->r, after), 0);
	CHECK(memcmp(before, after, sizeof before) == 0 &&
	              cairn_replica_hlc_last(dst->r) == last,
	      "a join refused for clock skew changed replica %d", to);
	s->st->skew_checks++;
}

static void deliver(sim *s, int to, msg *m)
{
	replica *dst = &s->rep[to];
	const uint8_t *bytes = m->op >= 0 ? s->op_bytes[m->op] : m->bytes;
	size_t len = m->op >= 0 ? s->op_len[m->op] : m->len;
	s->at.kind = AT_DELIVER;
	s->at.op = m->op;
	s->at.from = m->from;
	s->at.to = to;
	cairn_delta_clear(s->scratch);
	CHECK_RC(cairn_delta_decode(s->scratch, bytes, len, NULL), 0);
	if (rng_pct(&s->g, 2)) {
		cairn_buf_reset(&s->buf);
		CHECK_RC(cairn_delta_encode(s->scratch, &s->buf), 0);
		CHECK(s->buf.len == len && memcmp(s->buf.data, bytes, len) == 0,
		      "decode then encode changed the bytes (%zu -> %zu)", len,
		      s->buf.len);
	}
	if (m->op >= 0 && s->o.ops[m->op].kind == ORC_SET && rng_pct(&s->g, 1))
		check_skew_refusal(s, to, s->o.ops[m->op].hlc);
	CHECK_RC(cairn_replica_join(dst->r, s->scratch, now_of(s, to)), 0);
	if (g_trace) {
		char w[256];
		printf("step %zu: %s\n", s->step, where_str(s, w, sizeof w));
	}
	if (m->op >= 0)
		orc_deliver(&s->o, &dst->k, m->op);
	else
		orc_join(&s->o, &dst->k, m->recv, m->killed);
	s->st->deliveries++;
}

/* Take one message among the first WINDOW of replica to's queue. */
static void deliver_one(sim *s, int to, bool lossy)
{
	queue *q = &s->rep[to].in;
	size_t w = q->n < WINDOW ? q->n : WINDOW;
	size_t i = (size_t)rng_below(&s->g, w);
	msg m = q->m[i];
	memmove(&q->m[i], &q->m[i + 1], (q->n - i - 1) * sizeof *q->m);
	q->n--;
	if (lossy && !linked(s, m.from, to)) {
		s->st->dropped++;
	} else {
		deliver(s, to, &m);
	}
	msg_free(&m);
}

/* ---- writes ----------------------------------------------------------- */

static int expected_rc(const orc_view *lv, orc_kind kind, int val)
{
	switch (kind) {
	case ORC_SET:
		if (lv->kind == CAIRN_KIND_SET)
			return CAIRN_EKIND;
		if (lv->policy == CAIRN_POLICY_FWW && lv->nvals > 0)
			return CAIRN_EEXIST;
		return 0;
	case ORC_DEL: return lv->kind == CAIRN_KIND_NONE ? CAIRN_ENOTFOUND : 0;
	case ORC_ADD: return lv->kind == CAIRN_KIND_REGISTER ? CAIRN_EKIND : 0;
	case ORC_RM:
		if (lv->kind == CAIRN_KIND_REGISTER)
			return CAIRN_EKIND;
		for (size_t i = 0; i < lv->nmembers; i++)
			if (lv->members[i] == orc_elem(val))
				return 0;
		return CAIRN_ENOTFOUND;
	}
	return 0;
}

static int random_value(sim *s)
{
	if (rng_pct(&s->g, 50))
		return (int)rng_below(&s->g, 6); /* the hot values */
	return (int)rng_below(&s->g, (uint64_t)orc_nvalues);
}

/* Choose a write against the local view (mostly valid, sometimes not). */
static orc_kind choose(sim *s, const orc_view *lv, int *val)
{
	unsigned roll = (unsigned)rng_below(&s->g, 100);
	*val = random_value(s);
	switch (lv->kind) {
	case CAIRN_KIND_NONE:
		return roll < 45   ? ORC_SET
		       : roll < 90 ? ORC_ADD
		       : roll < 95 ? ORC_DEL
		                   : ORC_RM;
	case CAIRN_KIND_REGISTER:
		if (lv->policy == CAIRN_POLICY_FWW)
			return roll < 20   ? ORC_SET
			       : roll < 85 ? ORC_DEL
			       : roll < 95 ? ORC_ADD
			                   : ORC_RM;
		return roll < 62   ? ORC_SET
		       : roll < 87 ? ORC_DEL
		       : roll < 96 ? ORC_ADD
		                   : ORC_RM;
	case CAIRN_KIND_SET:
		if (roll < 35)
			return ORC_ADD;
		if (roll < 50 || (roll >= 55 && roll < 80)) {
			/* re-add or remove an observed member */
			*val = lv->members[rng_below(&s->g, lv->nmembers)];
			return roll < 50 ? ORC_ADD : ORC_RM;
		}
		if (roll < 55)
			return ORC_RM; /* maybe not a member */
		return roll < 91 ? ORC_DEL : ORC_SET;
	}
	return ORC_SET;
}

static void do_write(sim *s)
{
	int ri = (int)rng_below(&s->g, R);
	replica *rep = &s->rep[ri];
	int d = (int)rng_below(&s->g, NDOCS);
	int f = (int)rng_below(&s->g, NFIELDS);
	const char *fn = field_names[f];
	char b2[128];

	cairn_doc *doc = NULL;
	CHECK_RC(cairn_replica_doc(rep->r, doc_names[d], &doc), 0);
	CHECK(doc != NULL, "cairn_replica_doc gave NULL");
	orc_view lv;
	orc_view_of(&s->o, &rep->k, d, f, &lv);
	s->at.kind = AT_BEFORE;
	s->at.ri = ri;
	s->at.doc = d;
	s->at.field = f;
	check_field(s, ri, doc, d, f, &lv);

	int val;
	orc_kind kind = choose(s, &lv, &val);
	int want = expected_rc(&lv, kind, val);
	uint64_t now = now_of(s, ri);
	s->at.kind = AT_WRITE;
	s->at.okind = kind;
	s->at.val = val;

	/* a refusal must change nothing: compare digests for some */
	uint8_t before[CAIRN_DIGEST_BYTES], after[CAIRN_DIGEST_BYTES];
	bool digest_check = want != 0 && rng_pct(&s->g, 10);
	if (digest_check)
		CHECK_RC(cairn_replica_digest(rep->r, before), 0);
	cairn_delta_clear(s->delta);
	uint64_t last_before = cairn_replica_hlc_last(rep->r);
	int rc = 0;
	switch (kind) {
	case ORC_SET:
		rc = cairn_doc_set(doc, fn, &orc_values[val], now, s->delta);
		break;
	case ORC_DEL: rc = cairn_doc_del(doc, fn, s->delta); break;
	case ORC_ADD:
		rc = cairn_doc_add(doc, fn, &orc_values[val], s->delta);
		break;
	case ORC_RM:
		rc = cairn_doc_rm(doc, fn, &orc_values[val], s->delta);
		break;
	}
	CHECK(rc == want,
	      "returned %s, expected %s (local kind %s, %zu values, "
	      "%zu members, policy %s)",
	      cairn_err_name(rc), cairn_err_name(want), kind_name(lv.kind),
	      lv.nvals, lv.nmembers, cairn_policy_name(lv.policy));
	if (rc != 0) {
		s->st->refused[kind]++;
		s->st->refused_by_rc[-rc & 15]++;
		CHECK(cairn_delta_empty(s->delta),
		      "a refused write filled the delta");
		CHECK(cairn_replica_hlc_last(rep->r) == last_before,
		      "a refused write moved the clock");
		if (digest_check) {
			CHECK_RC(cairn_replica_digest(rep->r, after), 0);
			CHECK(memcmp(before, after, sizeof before) == 0,
			      "a refused write changed the replica");
		}
		return;
	}

	orc_op op = {.replica = ri,
	             .doc = d,
	             .field = f,
	             .kind = kind,
	             .val = val,
	             .rid = rep->id,
	             .prio = rep->prio};
	size_t nobs = orc_observed(&s->o, &rep->k, d, f, kind, val, s->obs_tmp);
	if (kind == ORC_SET) {
		cairn_value v;
		cairn_stamp st;
		CHECK_RC(cairn_doc_get(doc, fn, &v, &st), 0);
		CHECK(value_eq(&v, &orc_values[val]) && st.replica == rep->id &&
		              st.priority == rep->prio,
		      "read after write: %s @(%llx, %llx, %u)",
		      vstr(&v, b2, sizeof b2), (unsigned long long)st.hlc,
		      (unsigned long long)st.replica, st.priority);
		CHECK(st.hlc > rep->last_hlc,
		      "hlc %llx not above this replica's "
		      "previous %llx",
		      (unsigned long long)st.hlc,
		      (unsigned long long)rep->last_hlc);
		CHECK(st.hlc > rep->k.max_seen_hlc,
		      "hlc %llx not above %llx, a "
		      "register timestamp this replica had joined",
		      (unsigned long long)st.hlc,
		      (unsigned long long)rep->k.max_seen_hlc);
		for (size_t i = 0; i < nobs; i++) {
			const orc_op *w = &s->o.ops[s->obs_tmp[i]];
			CHECK(w->kind != ORC_SET || st.hlc > w->hlc,
			      "hlc %llx not above the observed write %d's %llx",
			      (unsigned long long)st.hlc, s->obs_tmp[i],
			      (unsigned long long)w->hlc);
		}
		CHECK(CAIRN_HLC_MS(st.hlc) >= now, "hlc ms %llu below now %llu",
		      (unsigned long long)CAIRN_HLC_MS(st.hlc),
		      (unsigned long long)now);
		CHECK(cairn_replica_hlc_last(rep->r) == st.hlc,
		      "hlc_last %llx after a write stamped %llx",
		      (unsigned long long)cairn_replica_hlc_last(rep->r),
		      (unsigned long long)st.hlc);
		op.hlc = st.hlc;
		rep->last_hlc = st.hlc;
	} else {
		CHECK(cairn_replica_hlc_last(rep->r) == last_before,
		      "a %s changed hlc_last", orc_kind_names[kind]);
	}
	int id = orc_record(&s->o, &op, s->obs_tmp, nobs);
	if (g_trace) {
		char w[256];
		printf("step %zu: op %d: %s hlc %llx observes", s->step, id,
		       where_str(s, w, sizeof w), (unsigned long long)op.hlc);
		for (size_t i = 0; i < nobs; i++)
			printf(" %d", s->obs_tmp[i]);
		printf("\n");
	}
	orc_deliver(&s->o, &rep->k, id);
	s->st->ops++;

	CHECK(!cairn_delta_empty(s->delta), "a write left its delta empty");
	CHECK(cairn_delta_doc_count(s->delta) == 1,
	      "a write's delta touches "
	      "%zu documents",
	      cairn_delta_doc_count(s->delta));
	cairn_buf_reset(&s->buf);
	CHECK_RC(cairn_delta_encode(s->delta, &s->buf), 0);
	s->op_bytes[id] = malloc(s->buf.len ? s->buf.len : 1);
	if (!s->op_bytes[id])
		abort();
	memcpy(s->op_bytes[id], s->buf.data, s->buf.len);
	s->op_len[id] = s->buf.len;

	orc_view_of(&s->o, &rep->k, d, f, &lv);
	s->at.kind = AT_AFTER;
	s->at.op = id;
	check_field(s, ri, doc, d, f, &lv);

	for (int j = 0; j < R; j++)
		if (j != ri)
			net_send(s, ri, j, (msg){.from = ri, .op = id});
}

/* ---- one seed --------------------------------------------------------- */

static void advance_clocks(sim *s)
{
	/* often still (the HLC counter then works), sometimes a jump */
	unsigned roll = (unsigned)rng_below(&s->g, 100);
	if (roll < 40)
		s->T += 0;
	else if (roll < 95)
		s->T += rng_below(&s->g, 4);
	else
		s->T += rng_below(&s->g, 3000);
	for (int i = 0; i < R; i++) {
		if (!rng_pct(&s->g, 10))
			continue;
		/* a small step of the lag: the clock may step back a little */
		int64_t lag = (int64_t)s->rep[i].lag +
		              (int64_t)rng_below(&s->g, 401) - 200;
		s->rep[i].lag = (uint64_t)(lag < 0      ? 0
		                           : lag > 4000 ? 4000
		                                        : lag);
	}
}

static void partitions(sim *s)
{
	if (s->partitioned_steps > 0) {
		s->partitioned_steps--;
		return;
	}
	if (!rng_pct(&s->g, 1))
		return;
	/* a random split into two non-empty groups */
	uint64_t mask;
	do {
		mask = rng_below(&s->g, UINT64_C(1) << R);
	} while (mask == 0 || mask == (UINT64_C(1) << R) - 1);
	for (int i = 0; i < R; i++)
		s->rep[i].group = (int)((mask >> i) & 1u);
	s->partitioned_steps = (int)rng_range(&s->g, 5, 60);
}

static void full_view_check(sim *s, const char *when)
{
	for (int i = 0; i < R; i++) {
		at_text(s, "%s, replica %d", when, i);
		check_replica(s, i, &s->rep[i].k);
	}
}

static bool all_equal(sim *s)
{
	uint8_t d0[CAIRN_DIGEST_BYTES], di[CAIRN_DIGEST_BYTES];
	CHECK_RC(cairn_replica_digest(s->rep[0].r, d0), 0);
	for (int i = 1; i < R; i++) {
		CHECK_RC(cairn_replica_digest(s->rep[i].r, di), 0);
		if (memcmp(d0, di, sizeof d0) != 0)
			return false;
	}
	return true;
}

static void final_exchange(sim *s)
{
	int rounds = 0;
	at_text(s, "final exchange");
	s->partitioned_steps = 0;
	while (!all_equal(s)) {
		CHECK(rounds < 3,
		      "not converged after %d rounds of full-state "
		      "exchange",
		      rounds);
		for (int i = 1; i < R; i++) {
			ship_state(s, i, 0);
			while (s->rep[0].in.n > 0)
				deliver_one(s, 0, false);
		}
		int others[R];
		for (int i = 1; i < R; i++)
			others[i - 1] = i;
		ship_state_to(s, 0, others, R - 1);
		for (int i = 1; i < R; i++)
			while (s->rep[i].in.n > 0)
				deliver_one(s, i, false);
		rounds++;
	}
	s->st->rounds_hist[rounds < 3 ? rounds : 3]++;
}

static void final_checks(sim *s)
{
	/* (a) byte-identical encodings, equal digests = BLAKE2b(encoding) */
	at_text(s, "final: encodings");
	cairn_buf e0, ei;
	cairn_buf_init(&e0, NULL);
	cairn_buf_init(&ei, NULL);
	CHECK_RC(cairn_replica_encode(s->rep[0].r, &e0), 0);
	uint8_t d0[CAIRN_DIGEST_BYTES], dh[CAIRN_DIGEST_BYTES];
	CHECK_RC(cairn_replica_digest(s->rep[0].r, d0), 0);
	cairn__blake2b h;
	cairn__blake2b_init(&h, CAIRN_DIGEST_BYTES);
	cairn__blake2b_update(&h, e0.data, e0.len);
	cairn__blake2b_final(&h, dh);
	bool ok = memcmp(d0, dh, sizeof d0) == 0;
	for (int i = 1; ok && i < R; i++) {
		cairn_buf_reset(&ei);
		uint8_t di[CAIRN_DIGEST_BYTES];
		CHECK_RC(cairn_replica_encode(s->rep[i].r, &ei), 0);
		CHECK_RC(cairn_replica_digest(s->rep[i].r, di), 0);
		if (ei.len != e0.len || memcmp(ei.data, e0.data, e0.len) != 0 ||
		    memcmp(di, d0, sizeof di) != 0) {
			cairn_buf_free(&e0);
			cairn_buf_free(&ei);
			CHECK(0,
			      "replica %d's encoding differs from replica 0's",
			      i);
		}
	}
	cairn_buf_free(&e0);
	cairn_buf_free(&ei);
	CHECK(ok, "the digest is not BLAKE2b-256 of the encoding");

	/* (b) every view equals the oracle's, with everything received */
	orc_know all;
	if (orc_know_init(&s->o, &all) != 0)
		abort();
	for (int i = 0; i < R; i++)
		orc_join(&s->o, &all, s->rep[i].k.received, s->rep[i].k.killed);
	for (int i = 0; i < R; i++) {
		at_text(s, "final view, replica %d", i);
		check_replica(s, i, &all);
	}
	for (int d = 0; d < NDOCS; d++)
		for (int f = 0; f < NFIELDS; f++) {
			orc_view e;
			orc_view_of(&s->o, &all, d, f, &e);
			s->st->conflicts += e.conflict;
			s->st->multi_fields += e.nvals > 1;
			s->st->live_values += e.nvals;
			s->st->live_members += e.nmembers;
		}
	orc_know_free(&all);
}

static void seed_free(sim *s)
{
	for (int i = 0; i < R; i++) {
		cairn_replica_free(s->rep[i].r);
		orc_know_free(&s->rep[i].k);
		for (size_t j = 0; j < s->rep[i].in.n; j++)
			msg_free(&s->rep[i].in.m[j]);
		free(s->rep[i].in.m);
	}
	if (s->op_bytes)
		for (size_t i = 0; i < s->o.nops; i++)
			free(s->op_bytes[i]);
	free(s->op_bytes);
	free(s->op_len);
	free(s->obs_tmp);
	orc_free(&s->o);
	cairn_delta_free(s->delta);
	cairn_delta_free(s->scratch);
	cairn_buf_free(&s->buf);
}

static int run_seed(sim *s, uint64_t seed, size_t nops, stats *st)
{
	memset(s, 0, sizeof *s);
	s->seed = seed;
	s->st = st;
	s->nops_target = nops;
	cairn_buf_init(&s->buf, NULL);
	if (setjmp(s->fail)) {
		seed_free(s);
		return 1;
	}
	at_text(s, "setup");
	rng_seed(&s->g, seed);
	if (orc_init(&s->o, doc_names, NDOCS, field_names, NFIELDS, decls,
	             NDECLS, nops) != 0)
		abort();
	s->op_bytes = calloc(nops + 1, sizeof *s->op_bytes);
	s->op_len = calloc(nops + 1, sizeof *s->op_len);
	s->obs_tmp = calloc(nops + 1, sizeof *s->obs_tmp);
	if (!s->op_bytes || !s->op_len || !s->obs_tmp)
		abort();
	CHECK_RC(cairn_delta_new(NULL, &s->delta), 0);
	CHECK_RC(cairn_delta_new(NULL, &s->scratch), 0);
	s->T = UINT64_C(1700000000000) + rng_below(&s->g, UINT64_C(1) << 36);
	s->deliver_pct = (unsigned)rng_range(&s->g, 35, 85);

	for (int i = 0; i < R; i++) {
		replica *rep = &s->rep[i];
		bool dup;
		do {
			rep->id = rng_u64(&s->g);
			if (rng_pct(&s->g, 30))
				rep->id &= 0xff; /* small ids too */
			dup = rep->id == 0;
			for (int j = 0; j < i; j++)
				dup = dup || s->rep[j].id == rep->id;
		} while (dup);
		rep->prio = (uint8_t)rng_below(&s->g, 3); /* some equal */
		rep->lag = rng_below(&s->g, 4001);
		if (orc_know_init(&s->o, &rep->k) != 0)
			abort();
		cairn_replica_config cfg;
		cairn_replica_config_init(&cfg);
		cfg.id = rep->id;
		cfg.source_priority = rep->prio;
		rng_bytes(&s->g, cfg.hash_key, sizeof cfg.hash_key);
		CHECK_RC(cairn_replica_new(&cfg, &rep->r), 0);
		CHECK(cairn_replica_id_of(rep->r) == rep->id, "replica id");
		/* the same declarations, in a random order */
		int order[NDECLS];
		for (int j = 0; j < NDECLS; j++)
			order[j] = j;
		for (int j = NDECLS - 1; j > 0; j--) {
			int k = (int)rng_below(&s->g, (uint64_t)j + 1);
			int t = order[j];
			order[j] = order[k];
			order[k] = t;
		}
		for (int j = 0; j < NDECLS; j++) {
			const orc_decl *dc = &decls[order[j]];
			CHECK_RC(cairn_replica_declare(rep->r, dc->prefix,
			                               dc->field, dc->policy),
			         0);
		}
		/* a repeat is fine, a contradiction is not */
		const orc_decl *dc = &decls[rng_below(&s->g, NDECLS)];
		CHECK_RC(cairn_replica_declare(rep->r, dc->prefix, dc->field,
		                               dc->policy),
		         0);
		CHECK_RC(cairn_replica_declare(
		                 rep->r, dc->prefix, dc->field,
		                 (cairn_policy)((dc->policy + 1) % 4)),
		         CAIRN_EPOLICY);
		for (int d = 0; d < NDOCS; d++)
			for (int f = 0; f < NFIELDS; f++) {
				cairn_policy p = cairn_replica_policy(
				        rep->r, doc_names[d], field_names[f]);
				CHECK(p == s->o.policy[d * NFIELDS + f],
				      "policy of %s.%s is %s, expected %s",
				      doc_names[d], field_names[f],
				      cairn_policy_name(p),
				      cairn_policy_name(
				              s->o.policy[d * NFIELDS + f]));
			}
	}

	/* the writes, with the network running */
	while (s->o.nops < nops) {
		s->step++;
		advance_clocks(s);
		partitions(s);
		if (rng_pct(&s->g, 60))
			do_write(s);
		if (rng_pct(&s->g, 2)) {
			int from = (int)rng_below(&s->g, R);
			int to = (int)rng_below(&s->g, R - 1);
			if (to >= from)
				to++;
			if (linked(s, from, to))
				ship_state(s, from, to);
		}
		for (int i = 0; i < R; i++)
			if (s->rep[i].in.n > 0 &&
			    rng_pct(&s->g, s->deliver_pct))
				deliver_one(s, i, true);
	}

	/* heal; deliver what is in flight; then full states */
	s->partitioned_steps = 0;
	for (int i = 0; i < R; i++)
		while (s->rep[i].in.n > 0)
			deliver_one(s, i, false);
	full_view_check(s, "after delivering everything in flight");
	s->lossless = true;
	final_exchange(s);
	final_checks(s);
	st->seeds++;
	seed_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t first, count, nops = DEFAULT_OPS;
	if (argc > 0 && argv[0] != NULL)
		g_prog = argv[0];
	uint64_t trace = 0;
	g_trace = sim_env_u64("CAIRN_SIM_TRACE", &trace) && trace != 0;
	bool single;
	sim_seed_range(DEFAULT_SEEDS, &first, &count, &single);
	sim_env_u64("CAIRN_SIM_OPS", &nops);

	/* the oracle's value order must be the library's */
	for (int i = 0; i < orc_nvalues; i++)
		for (int j = 0; j < orc_nvalues; j++) {
			int a = orc_value_cmp(&orc_values[i], &orc_values[j]);
			int b = cairn_value_compare(&orc_values[i],
			                            &orc_values[j]);
			if ((a > 0) != (b > 0) || (a < 0) != (b < 0)) {
				char b1[128], b2[128];
				fprintf(stderr,
				        "FAIL cairn_value_compare(%s, %s) = "
				        "%d, "
				        "expected sign %d\n",
				        orc_value_str(&orc_values[i], b1,
				                      sizeof b1),
				        orc_value_str(&orc_values[j], b2,
				                      sizeof b2),
				        b, a);
				return 1;
			}
		}

	static sim s;
	stats st;
	memset(&st, 0, sizeof st);
	clock_t t0 = clock();
	int failures = 0;
	for (uint64_t i = 0; i < count; i++) {
		if (run_seed(&s, first + i, (size_t)nops, &st) != 0) {
			failures++;
			if (failures >= 3 && !single) {
				fprintf(stderr,
				        "stopping after %d failing seeds\n",
				        failures);
				break;
			}
		}
	}
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	printf("sim_r%d: %llu/%llu seeds passed, %llu ops/seed, %.1f s\n", R,
	       (unsigned long long)st.seeds, (unsigned long long)count,
	       (unsigned long long)nops, secs);
	printf("  ops %llu; refused: set %llu del %llu add %llu rm %llu "
	       "(EKIND %llu EEXIST %llu ENOTFOUND %llu)\n",
	       (unsigned long long)st.ops, (unsigned long long)st.refused[0],
	       (unsigned long long)st.refused[1],
	       (unsigned long long)st.refused[2],
	       (unsigned long long)st.refused[3],
	       (unsigned long long)st.refused_by_rc[-CAIRN_EKIND],
	       (unsigned long long)st.refused_by_rc[-CAIRN_EEXIST & 15],
	       (unsigned long long)st.refused_by_rc[-CAIRN_ENOTFOUND]);
	printf("  network: %llu deliveries, %llu dropped, %llu duplicated, "
	       "%llu states shipped (%.0f B avg), max queue %llu, %llu skew "
	       "refusals checked\n",
	       (unsigned long long)st.deliveries,
	       (unsigned long long)st.dropped,
	       (unsigned long long)st.duplicated,
	       (unsigned long long)st.states_shipped,
	       st.states_shipped
	               ? (double)st.state_bytes / (double)st.states_shipped
	               : 0.0,
	       (unsigned long long)st.max_queue,
	       (unsigned long long)st.skew_checks);
	printf("  final: %llu kind conflicts, %llu multi-value registers, %llu "
	       "live values, %llu live members\n",
	       (unsigned long long)st.conflicts,
	       (unsigned long long)st.multi_fields,
	       (unsigned long long)st.live_values,
	       (unsigned long long)st.live_members);
	printf("  full-state rounds to converge after the in-flight deltas: "
	       "0: %llu, 1: %llu, 2: %llu, more: %llu\n",
	       (unsigned long long)st.rounds_hist[0],
	       (unsigned long long)st.rounds_hist[1],
	       (unsigned long long)st.rounds_hist[2],
	       (unsigned long long)st.rounds_hist[3]);
	return failures ? 1 : 0;
}
