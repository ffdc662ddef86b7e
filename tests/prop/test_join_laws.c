/*
 * test_join_laws.c -- the join is a semilattice join, checked on random
 * states through the public API and canonical bytes.
 *
 * Each seed makes a random history on three replicas (writes of every kind
 * under every policy, deltas delivered to random subsets, sometimes late,
 * sometimes never, and occasional whole-state joins), so the three states
 * a, b, c overlap, hold removals and concurrent entries. Then, comparing
 * canonical encodings (and digests):
 *
 *   a ⊔ b == b ⊔ a                 (as deltas, and joined into replicas)
 *   (a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)
 *   a ⊔ a == a
 *   joining a delta twice == joining it once
 *   a mutation's delta joined into a copy of a == the mutated copy
 *   joining d1 ⊔ d2 == joining d1 then d2 == joining d2 then d1
 *   a replica's encoding == the encoding of its state as a delta
 *
 * Replay one seed: CAIRN_TEST_SEED=<seed> ./cairn-test-join_laws
 * More seeds:      CAIRN_SIM_SEEDS=<count> ./cairn-test-join_laws
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/crdt.h"
#include "rng.h"
#include "sim_util.h"

#define DEFAULT_SEEDS 10000
#define NREP 3
#define MAX_HIST 48

static const char *const docs[] = {"l/a", "f/a", "p/a", "m/a", "l/b"};
#define NDOCS 5
static const char *const fields[] = {"x", "y", "z"};
#define NFIELDS 3

static const struct {
	const char *prefix, *field;
	cairn_policy policy;
} decls[] = {
        {"l/", NULL, CAIRN_POLICY_LWW},      {"f/", NULL, CAIRN_POLICY_FWW},
        {"p/", NULL, CAIRN_POLICY_PRIORITY}, {"m/", NULL, CAIRN_POLICY_MULTI},
        {"l/", "z", CAIRN_POLICY_MULTI},
};
#define NDECLS 5

static const uint8_t bytes_ab[] = {'a', 'b'};

typedef struct law {
	uint64_t seed;
	rng g;
	uint64_t now;
	cairn_replica *rep[NREP];
	cairn_replica_id ids[NREP];
	cairn_delta *hist[MAX_HIST]; /* op deltas of the history */
	int nhist;
	/* scratch, freed at the end of each seed */
	cairn_replica *tmp[16];
	int ntmp;
	cairn_delta *dtmp[32];
	int ndtmp;
	jmp_buf fail;
	const char *what;
} law;

static const char *g_prog = "./cairn-test-join_laws";

/* statistics: bytes of a ⊔ b, how many differ from a, and a's bytes */
static uint64_t g_bytes, g_distinct;
static cairn_buf g_a_bytes;

static void fail(law *L, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4), noreturn));

static void fail(law *L, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr,
	        "FAIL test_join_laws seed %llu (test_join_laws.c:%d) "
	        "[%s]: ",
	        (unsigned long long)L->seed, line, L->what ? L->what : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nreplay: CAIRN_TEST_SEED=%llu %s\n",
	        (unsigned long long)L->seed, g_prog);
	longjmp(L->fail, 1);
}

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(L, __LINE__, __VA_ARGS__);                        \
	} while (0)

#define OK(call)                                                               \
	do {                                                                   \
		int rc_ = (call);                                              \
		if (rc_ != 0)                                                  \
			fail(L, __LINE__, "%s returned %s", #call,             \
			     cairn_err_name(rc_));                             \
	} while (0)

static cairn_value random_value(law *L)
{
	switch (rng_below(&L->g, 6)) {
	case 0: return cairn_value_int((int64_t)rng_below(&L->g, 3));
	case 1: return cairn_value_str(rng_pct(&L->g, 50) ? "a" : "b");
	case 2: return cairn_value_bool(rng_pct(&L->g, 50));
	case 3: return cairn_value_nil();
	case 4: return cairn_value_float(rng_pct(&L->g, 50) ? 1.0 : -0.0);
	default: return cairn_value_bin(bytes_ab, rng_below(&L->g, 3));
	}
}

static cairn_replica *new_replica(law *L, cairn_replica_id id, uint8_t prio)
{
	cairn_replica_config cfg;
	cairn_replica_config_init(&cfg);
	cfg.id = id;
	cfg.source_priority = prio;
	rng_bytes(&L->g, cfg.hash_key, sizeof cfg.hash_key);
	cairn_replica *r = NULL;
	OK(cairn_replica_new(&cfg, &r));
	for (int i = 0; i < NDECLS; i++)
		OK(cairn_replica_declare(r, decls[i].prefix, decls[i].field,
		                         decls[i].policy));
	return r;
}

static cairn_replica *tmp_replica(law *L, cairn_replica_id id, uint8_t prio)
{
	if (L->ntmp == (int)(sizeof L->tmp / sizeof L->tmp[0]))
		abort();
	return L->tmp[L->ntmp++] = new_replica(L, id, prio);
}

static cairn_delta *tmp_delta(law *L)
{
	if (L->ndtmp == (int)(sizeof L->dtmp / sizeof L->dtmp[0]))
		abort();
	cairn_delta *d = NULL;
	OK(cairn_delta_new(NULL, &d));
	return L->dtmp[L->ndtmp++] = d;
}

/* One random write on r (whatever the API accepts); its delta into *d. */
static int random_write(law *L, cairn_replica *r, cairn_delta *d)
{
	for (int tries = 0; tries < 8; tries++) {
		cairn_doc *doc;
		OK(cairn_replica_doc(r, docs[rng_below(&L->g, NDOCS)], &doc));
		const char *f = fields[rng_below(&L->g, NFIELDS)];
		cairn_value v = random_value(L);
		cairn_value mem[64];
		size_t n = 0;
		int rc;
		switch (rng_below(&L->g, 10)) {
		case 0:
		case 1:
		case 2: rc = cairn_doc_set(doc, f, &v, L->now, d); break;
		case 3:
		case 4:
		case 5: rc = cairn_doc_add(doc, f, &v, d); break;
		case 6:
		case 7:
			if (cairn_doc_members(doc, f, mem, 64, &n) == 0 &&
			    n > 0)
				v = mem[rng_below(&L->g, n)];
			rc = cairn_doc_rm(doc, f, &v, d);
			break;
		default: rc = cairn_doc_del(doc, f, d); break;
		}
		if (rc == 0)
			return 0;
		CHECK(rc == CAIRN_EKIND || rc == CAIRN_EEXIST ||
		              rc == CAIRN_ENOTFOUND,
		      "a write returned %s", cairn_err_name(rc));
	}
	return -1;
}

static void enc_delta(law *L, const cairn_delta *d, cairn_buf *b)
{
	cairn_buf_reset(b);
	OK(cairn_delta_encode(d, b));
}

static void enc_rep(law *L, const cairn_replica *r, cairn_buf *b)
{
	cairn_buf_reset(b);
	OK(cairn_replica_encode(r, b));
}

static bool same(const cairn_buf *a, const cairn_buf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* d = x ⊔ y as deltas */
static cairn_delta *djoin(law *L, const cairn_delta *x, const cairn_delta *y)
{
	cairn_delta *d = tmp_delta(L);
	OK(cairn_delta_join(d, x));
	OK(cairn_delta_join(d, y));
	return d;
}

/* A fresh replica holding the state s. */
static cairn_replica *copy_of(law *L, const cairn_delta *s, cairn_replica_id id,
                              uint8_t prio)
{
	cairn_replica *r = tmp_replica(L, id, prio);
	OK(cairn_replica_join(r, s, L->now));
	return r;
}

static void history(law *L)
{
	for (int i = 0; i < NREP; i++) {
		bool dup;
		do {
			L->ids[i] = rng_pct(&L->g, 50) ? rng_range(&L->g, 1, 5)
			                               : rng_u64(&L->g) | 1;
			dup = false;
			for (int j = 0; j < i; j++)
				dup = dup || L->ids[j] == L->ids[i];
		} while (dup);
		L->rep[i] =
		        new_replica(L, L->ids[i], (uint8_t)rng_below(&L->g, 2));
	}
	/* pending deliveries: (delta, target) pairs delivered later or never */
	struct pending {
		int h, to;
	} pend[MAX_HIST * NREP];
	int npend = 0;
	int nops = (int)rng_range(&L->g, 4, MAX_HIST);
	for (int k = 0; k < nops; k++) {
		L->now += rng_below(&L->g, 3);
		int w = (int)rng_below(&L->g, NREP);
		cairn_delta *d = NULL;
		OK(cairn_delta_new(NULL, &d));
		if (random_write(L, L->rep[w], d) != 0) {
			cairn_delta_free(d);
			continue;
		}
		int h = L->nhist++;
		L->hist[h] = d;
		for (int j = 0; j < NREP; j++) {
			if (j == w)
				continue;
			unsigned roll = (unsigned)rng_below(&L->g, 100);
			if (roll < 40)
				OK(cairn_replica_join(L->rep[j], d, L->now));
			else if (roll < 75)
				pend[npend++] = (struct pending){h, j};
			/* else: never delivered */
		}
		/* deliver some pending ones, out of order */
		while (npend > 0 && rng_pct(&L->g, 40)) {
			int i = (int)rng_below(&L->g, (uint64_t)npend);
			OK(cairn_replica_join(L->rep[pend[i].to],
			                      L->hist[pend[i].h], L->now));
			pend[i] = pend[--npend];
		}
		if (rng_pct(&L->g, 8)) {
			int a = (int)rng_below(&L->g, NREP);
			int b = (int)rng_below(&L->g, NREP);
			cairn_delta *s = NULL;
			OK(cairn_delta_new(NULL, &s));
			int rc = cairn_replica_state(L->rep[a], s);
			if (rc == 0)
				rc = cairn_replica_join(L->rep[b], s, L->now);
			cairn_delta_free(s);
			OK(rc);
		}
	}
}

static void laws(law *L, cairn_buf *b1, cairn_buf *b2, cairn_buf *b3)
{
	cairn_delta *st[NREP];
	for (int i = 0; i < NREP; i++) {
		st[i] = tmp_delta(L);
		OK(cairn_replica_state(L->rep[i], st[i]));
		L->what = "replica encoding == state delta encoding";
		enc_rep(L, L->rep[i], b1);
		enc_delta(L, st[i], b2);
		CHECK(same(b1, b2), "replica %d: %zu vs %zu bytes", i, b1->len,
		      b2->len);
		/* decode(encode(a)) == a */
		L->what = "decode(encode(state))";
		cairn_delta *rt = tmp_delta(L);
		OK(cairn_delta_decode(rt, b2->data, b2->len, NULL));
		enc_delta(L, rt, b3);
		CHECK(same(b2, b3), "round trip changed the bytes");
	}
	/* rotate which replica plays a, b, c */
	int ia = (int)rng_below(&L->g, NREP);
	cairn_delta *a = st[ia], *b = st[(ia + 1) % NREP],
	            *c = st[(ia + 2) % NREP];
	uint8_t g1[CAIRN_DIGEST_BYTES], g2[CAIRN_DIGEST_BYTES];

	/* how often a ⊔ b differs from a (the triple is not trivial) */
	enc_delta(L, a, &g_a_bytes);
	L->what = "commutativity (deltas)";
	cairn_delta *ab = djoin(L, a, b), *ba = djoin(L, b, a);
	enc_delta(L, ab, b1);
	enc_delta(L, ba, b2);
	CHECK(same(b1, b2), "a⊔b != b⊔a");
	g_bytes += b1->len;
	g_distinct += !same(b1, &g_a_bytes);
	OK(cairn_delta_digest(ab, g1));
	OK(cairn_delta_digest(ba, g2));
	CHECK(memcmp(g1, g2, sizeof g1) == 0, "digests differ");

	L->what = "commutativity (replicas)";
	cairn_replica *rab = copy_of(L, a, 77, 0);
	OK(cairn_replica_join(rab, b, L->now));
	cairn_replica *rba = copy_of(L, b, 78, 1);
	OK(cairn_replica_join(rba, a, L->now));
	enc_rep(L, rab, b2);
	CHECK(same(b1, b2), "replica a then b != delta a⊔b");
	enc_rep(L, rba, b2);
	CHECK(same(b1, b2), "replica b then a != delta a⊔b");

	L->what = "associativity";
	cairn_delta *ab_c = djoin(L, ab, c);
	cairn_delta *bc = djoin(L, b, c);
	cairn_delta *a_bc = djoin(L, a, bc);
	enc_delta(L, ab_c, b1);
	enc_delta(L, a_bc, b2);
	CHECK(same(b1, b2), "(a⊔b)⊔c != a⊔(b⊔c)");
	cairn_replica *r3 = copy_of(L, c, 79, 0);
	OK(cairn_replica_join(r3, ab, L->now));
	enc_rep(L, r3, b2);
	CHECK(same(b1, b2), "replica c then (a⊔b) != (a⊔b)⊔c");

	L->what = "idempotence";
	cairn_delta *aa = djoin(L, a, a);
	enc_delta(L, aa, b1);
	enc_delta(L, a, b2);
	CHECK(same(b1, b2), "a⊔a != a");
	enc_rep(L, L->rep[ia], b1);
	OK(cairn_replica_join(L->rep[ia], a, L->now));
	enc_rep(L, L->rep[ia], b2);
	CHECK(same(b1, b2), "joining a replica's own state changed it");

	L->what = "a delta twice";
	if (L->nhist > 0) {
		cairn_delta *d = L->hist[rng_below(&L->g, (uint64_t)L->nhist)];
		cairn_replica *r = copy_of(L, b, 80, 0);
		OK(cairn_replica_join(r, d, L->now));
		enc_rep(L, r, b1);
		OK(cairn_replica_join(r, d, L->now));
		enc_rep(L, r, b2);
		CHECK(same(b1, b2), "joining a delta twice != once");
		/* and as deltas */
		cairn_delta *x = djoin(L, c, d);
		OK(cairn_delta_join(x, d));
		cairn_delta *y = djoin(L, c, d);
		enc_delta(L, x, b1);
		enc_delta(L, y, b2);
		CHECK(same(b1, b2), "folding a delta twice != once");
	}

	L->what = "mutation delta";
	cairn_replica_id mid = rng_pct(&L->g, 50) ? L->ids[ia] : 99;
	uint8_t mprio = (uint8_t)rng_below(&L->g, 3);
	cairn_replica *m1 = copy_of(L, a, mid, mprio);
	cairn_delta *d1 = tmp_delta(L), *d2 = tmp_delta(L);
	L->now += rng_below(&L->g, 2);
	int w1 = random_write(L, m1, d1);
	L->now += rng_below(&L->g, 2);
	int w2 = random_write(L, m1, d2);
	if (w1 == 0) {
		cairn_replica *m2 = copy_of(L, a, 100, 0);
		OK(cairn_replica_join(m2, d1, L->now));
		if (w2 == 0)
			OK(cairn_replica_join(m2, d2, L->now));
		enc_rep(L, m1, b1);
		enc_rep(L, m2, b2);
		CHECK(same(b1, b2),
		      "mutated copy != copy joined with the deltas");
	}

	L->what = "folding deltas first";
	cairn_delta *e1 = d1, *e2 = d2;
	if (w1 != 0 || w2 != 0 || rng_pct(&L->g, 50)) {
		if (L->nhist < 2)
			return;
		e1 = L->hist[rng_below(&L->g, (uint64_t)L->nhist)];
		e2 = L->hist[rng_below(&L->g, (uint64_t)L->nhist)];
	}
	cairn_delta *e12 = djoin(L, e1, e2);
	cairn_replica *f1 = copy_of(L, a, 101, 0);
	OK(cairn_replica_join(f1, e12, L->now));
	cairn_replica *f2 = copy_of(L, a, 102, 0);
	OK(cairn_replica_join(f2, e1, L->now));
	OK(cairn_replica_join(f2, e2, L->now));
	cairn_replica *f3 = copy_of(L, a, 103, 0);
	OK(cairn_replica_join(f3, e2, L->now));
	OK(cairn_replica_join(f3, e1, L->now));
	enc_rep(L, f1, b1);
	enc_rep(L, f2, b2);
	CHECK(same(b1, b2), "join(d1⊔d2) != join d1, join d2");
	enc_rep(L, f3, b2);
	CHECK(same(b1, b2), "join(d1⊔d2) != join d2, join d1");
	cairn_delta *e21 = djoin(L, e2, e1);
	enc_delta(L, e12, b1);
	enc_delta(L, e21, b2);
	CHECK(same(b1, b2), "d1⊔d2 != d2⊔d1");
}

static void seed_free(law *L)
{
	for (int i = 0; i < NREP; i++)
		cairn_replica_free(L->rep[i]);
	for (int i = 0; i < L->nhist; i++)
		cairn_delta_free(L->hist[i]);
	for (int i = 0; i < L->ntmp; i++)
		cairn_replica_free(L->tmp[i]);
	for (int i = 0; i < L->ndtmp; i++)
		cairn_delta_free(L->dtmp[i]);
}

static int run_seed(law *L, uint64_t seed, cairn_buf *b1, cairn_buf *b2,
                    cairn_buf *b3)
{
	memset(L, 0, sizeof *L);
	L->seed = seed;
	rng_seed(&L->g, seed);
	L->now = UINT64_C(1700000000000) + rng_below(&L->g, UINT64_C(1) << 30);
	if (setjmp(L->fail)) {
		seed_free(L);
		return 1;
	}
	L->what = "history";
	history(L);
	laws(L, b1, b2, b3);
	seed_free(L);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 0 && argv[0] != NULL)
		g_prog = argv[0];
	uint64_t first, count;
	bool single;
	sim_seed_range(DEFAULT_SEEDS, &first, &count, &single);
	static law L;
	cairn_buf b1, b2, b3;
	cairn_buf_init(&b1, NULL);
	cairn_buf_init(&b2, NULL);
	cairn_buf_init(&b3, NULL);
	cairn_buf_init(&g_a_bytes, NULL);
	clock_t t0 = clock();
	int failures = 0;
	uint64_t passed = 0;
	for (uint64_t i = 0; i < count; i++) {
		if (run_seed(&L, first + i, &b1, &b2, &b3) != 0) {
			if (++failures >= 3 && !single)
				break;
		} else {
			passed++;
		}
	}
	cairn_buf_free(&b1);
	cairn_buf_free(&b2);
	cairn_buf_free(&b3);
	printf("test_join_laws: %llu/%llu triples passed, %.1f s; a⊔b: %.0f "
	       "bytes on average, != a in %llu\n",
	       (unsigned long long)passed, (unsigned long long)count,
	       (double)(clock() - t0) / CLOCKS_PER_SEC,
	       count ? (double)g_bytes / (double)count : 0.0,
	       (unsigned long long)g_distinct);
	cairn_buf_free(&g_a_bytes);
	return failures ? 1 : 0;
}
