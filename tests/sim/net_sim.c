/*
 * net_sim.c -- the seeded simulator of the sync protocol: SIM_REPLICAS
 * replicas, each a store (on an in-memory, crashable file system) and a
 * sync engine (net/proto/sync.c), linked in a full mesh through a
 * simulated network. One executable per replica count.
 *
 * Each seed: random writes on random replicas (registers under lww, fww,
 * priority and multi, set adds and removes, deletes); group commits at
 * random moments; a network that drops, duplicates and reorders messages
 * and cuts links (partitions) for a while; replicas that restart, some by
 * a clean close and some by a power loss (the file system keeps a random
 * part of what was not synced). Small logs and compactions, some with no
 * log kept behind the snapshot, make the engines fall back to
 * reconciliation as well as stream their logs.
 * Then the network heals and the replicas run until every digest equals
 * that of a reference: the join of every local write that survived (a
 * write lost in a power loss was never sent: only durable records are).
 * The number of simulated milliseconds that took is reported.
 *
 * Replay one seed: CAIRN_TEST_SEED=<seed> ./cairn-test-net_sim_r<N>
 * More seeds:      CAIRN_SIM_SEEDS=<count> ./cairn-test-net_sim_r<N>
 * Trace:           CAIRN_SIM_TRACE=1 (with a replayed seed)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/net.h"
#include "cairn/store.h"
#include "fault_vfs.h"
#include "rng.h"
#include "sim_util.h"
#include "sync_int.h"

#ifndef SIM_REPLICAS
#define SIM_REPLICAS 3
#endif
#define R SIM_REPLICAS

#define DEFAULT_SEEDS 500
#define DEFAULT_OPS 300
#define STEP_MS 5
#define HEAL_LIMIT_MS (600u * 1000u) /* simulated */
#define MAX_QUEUE 256

static bool g_trace;

static void trace(const char *fmt, ...)
{
	if (!g_trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static const char *const docs[] = {"l/0", "l/1", "f/0", "p/0",
                                   "m/0", "s/0", "s/1", "z/0"};
#define NDOCS ((int)(sizeof docs / sizeof docs[0]))
static const char *const fields[] = {"a", "b", "c"};
#define NFIELDS 3

typedef struct msg {
	uint8_t *p;
	size_t n;
} msg;

typedef struct queue {
	msg m[MAX_QUEUE];
	size_t n;
} queue;

typedef struct replica {
	fault_vfs *fv;
	cairn_store *st;
	cairn__sync *sy;
	cairn_device_id dev;
	cairn_replica_id rid;
	/* surviving local writes: (seq, encoded delta) */
	struct {
		uint64_t seq;
		cairn_buf enc;
	} * writes;
	size_t nwrites, capwrites;
} replica;

typedef struct link {
	bool up;
	uint64_t down_until;
	cairn__peer *p[2]; /* at end a for b, at end b for a */
	queue q[2];        /* q[0]: a -> b, q[1]: b -> a */
} link;

static replica g_r[R];
static link g_l[R][R]; /* i < j */
static uint64_t g_now;
static rng g_rng;
static bool g_faults;
static bool g_small_logs;

static void die(uint64_t seed, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "net_sim_r%d seed %llu: ", R, (unsigned long long)seed);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr,
	        "\nreplay: CAIRN_TEST_SEED=%llu ./cairn-test-net_sim_r%d\n",
	        (unsigned long long)seed, R);
	exit(1);
}

static uint64_t g_seed;
#define CHECK(c, ...)                                                          \
	do {                                                                   \
		if (!(c))                                                      \
			die(g_seed, __VA_ARGS__);                              \
	} while (0)

/* ---- replicas ----------------------------------------------------------- */

static void store_open(int i)
{
	replica *r = &g_r[i];
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.replica.id = r->rid;
	cfg.replica.source_priority = (uint8_t)i;
	cfg.sync = CAIRN_SYNC_GROUP;
	cfg.history_depth = 0;
	cfg.compact_log_bytes = g_small_logs ? 2048 : 0;
	cfg.retain_log_bytes = (i % 2) ? 0 : 4096;
	cfg.vfs = fault_vfs_vfs(r->fv);
	int rc = cairn_store_open("/r", &cfg, &r->st, NULL);
	CHECK(rc == 0, "open replica %d: %s", i, cairn_strerror(rc));
	static const struct {
		const char *prefix;
		cairn_policy pol;
	} decl[] = {{"f/", CAIRN_POLICY_FWW},
	            {"p/", CAIRN_POLICY_PRIORITY},
	            {"m/", CAIRN_POLICY_MULTI}};
	for (size_t k = 0; k < 3; k++) {
		rc = cairn_store_declare(r->st, decl[k].prefix, NULL,
		                         decl[k].pol);
		CHECK(rc == 0, "declare: %s", cairn_strerror(rc));
	}
	cairn__sync_config sc;
	cairn__sync_config_init(&sc);
	sc.store = r->st;
	sc.self = r->dev;
	sc.heartbeat_ms = 1000;
	sc.pull_ms = 300;
	sc.ack_ms = 10;
	sc.mark_persist_ms = 50;
	sc.batch_bytes = 512;  /* many small messages: more to go wrong */
	sc.frame_bytes = 1024; /* and fragments */
	sc.recon_leaf = 2;
	rc = cairn__sync_new(&sc, &r->sy);
	CHECK(rc == 0, "sync_new: %s", cairn_strerror(rc));
}

static void link_down(int a, int b, uint64_t for_ms);

static void store_close(int i, bool crash)
{
	replica *r = &g_r[i];
	for (int j = 0; j < R; j++)
		if (j != i)
			link_down(i < j ? i : j, i < j ? j : i,
			          rng_range(&g_rng, 10, 500));
	cairn__sync_free(r->sy);
	r->sy = NULL;
	if (crash) {
		fault_vfs_crash(r->fv, rng_u64(&g_rng));
		/* the handle's memory still needs freeing: close it after
		 * the crash, which can write nothing any more */
	}
	(void)cairn_store_close(r->st);
	r->st = NULL;
	if (crash)
		fault_vfs_crash(r->fv, rng_u64(&g_rng));
	store_open(i);
	if (crash) {
		/* Local writes after the recovered log's end were lost with
		 * the power; none was ever sent (only durable ones are). */
		uint64_t last = cairn_store_last_seq(r->st);
		size_t k = 0;
		for (size_t w = 0; w < r->nwrites; w++) {
			if (r->writes[w].seq <= last)
				r->writes[k++] = r->writes[w];
			else
				cairn_buf_free(&r->writes[w].enc);
		}
		r->nwrites = k;
	}
	trace("t=%llu replica %d restarted (%s), last seq %llu\n",
	      (unsigned long long)g_now, i, crash ? "power loss" : "clean",
	      (unsigned long long)cairn_store_last_seq(r->st));
}

static void keep_write(int i, uint64_t seq, const cairn_delta *d)
{
	replica *r = &g_r[i];
	if (r->nwrites == r->capwrites) {
		r->capwrites = r->capwrites ? 2 * r->capwrites : 64;
		r->writes =
		        realloc(r->writes, r->capwrites * sizeof *r->writes);
		CHECK(r->writes, "out of memory");
	}
	cairn_buf *b = &r->writes[r->nwrites].enc;
	cairn_buf_init(b, NULL);
	CHECK(cairn_delta_encode(d, b) == 0, "encode");
	r->writes[r->nwrites++].seq = seq;
}

static void random_write(int i)
{
	replica *r = &g_r[i];
	const char *doc = docs[rng_below(&g_rng, NDOCS)];
	const char *field = fields[rng_below(&g_rng, NFIELDS)];
	cairn_value v = {.type = CAIRN_INT,
	                 .as.i = (int64_t)rng_below(&g_rng, 5)};
	cairn_delta *d;
	CHECK(cairn_delta_new(NULL, &d) == 0, "delta");
	uint64_t seq = 0;
	int rc;
	bool set = doc[0] == 's';
	unsigned k = (unsigned)rng_below(&g_rng, 10);
	if (set && k < 6)
		rc = cairn_store_add(r->st, doc, field, &v, d, &seq);
	else if (set && k < 9)
		rc = cairn_store_rm(r->st, doc, field, &v, d, &seq);
	else if (!set && k < 8)
		rc = cairn_store_set(r->st, doc, field, &v, g_now, d, &seq);
	else
		rc = cairn_store_del(r->st, doc, field, d, &seq);
	CHECK(rc == 0 || rc == CAIRN_ENOTFOUND || rc == CAIRN_EEXIST ||
	              rc == CAIRN_EKIND,
	      "write on %d: %s", i, cairn_strerror(rc));
	if (rc == 0) {
		keep_write(i, seq, d);
		trace("t=%llu r%d write %s.%s -> seq %llu\n",
		      (unsigned long long)g_now, i, doc, field,
		      (unsigned long long)seq);
	}
	cairn_delta_free(d);
}

/* ---- links -------------------------------------------------------------- */

static void queue_clear(queue *q)
{
	for (size_t k = 0; k < q->n; k++)
		free(q->m[k].p);
	q->n = 0;
}

static void link_down(int a, int b, uint64_t for_ms)
{
	link *l = &g_l[a][b];
	if (l->up) {
		cairn__sync_detach(g_r[a].sy, l->p[0]);
		cairn__sync_detach(g_r[b].sy, l->p[1]);
		l->p[0] = l->p[1] = NULL;
		l->up = false;
		trace("t=%llu link %d-%d down\n", (unsigned long long)g_now, a,
		      b);
	}
	queue_clear(&l->q[0]);
	queue_clear(&l->q[1]);
	uint64_t until = g_now + for_ms;
	if (until > l->down_until)
		l->down_until = until;
}

static void link_up(int a, int b)
{
	link *l = &g_l[a][b];
	int rc = cairn__sync_attach(g_r[a].sy, &g_r[b].dev, g_now, &l->p[0]);
	CHECK(rc == 0, "attach: %s", cairn_strerror(rc));
	rc = cairn__sync_attach(g_r[b].sy, &g_r[a].dev, g_now, &l->p[1]);
	CHECK(rc == 0, "attach: %s", cairn_strerror(rc));
	l->up = true;
	trace("t=%llu link %d-%d up\n", (unsigned long long)g_now, a, b);
}

static void enqueue(queue *q, const uint8_t *p, size_t n)
{
	if (q->n == MAX_QUEUE) /* a full pipe: the message is lost */
		return;
	msg m = {malloc(n ? n : 1), n};
	CHECK(m.p, "out of memory");
	memcpy(m.p, p, n);
	size_t at = q->n;
	if (g_faults && q->n && rng_pct(&g_rng, 2)) /* reorder */
		at = q->n - 1 - (size_t)rng_below(&g_rng, q->n < 4 ? q->n : 4);
	memmove(&q->m[at + 1], &q->m[at], (q->n - at) * sizeof q->m[0]);
	q->m[at] = m;
	q->n++;
}

/* Move what end `e` of link (a, b) has to say into its queue. */
static bool pump(int a, int b, int e, cairn_buf *buf)
{
	link *l = &g_l[a][b];
	int from = e ? b : a;
	for (int k = 0; k < 8 && l->up; k++) {
		buf->len = 0;
		int rc = cairn__sync_next(g_r[from].sy, l->p[e], g_now, buf);
		if (rc < 0) {
			trace("t=%llu link %d-%d closed by %d: %s\n",
			      (unsigned long long)g_now, a, b, from,
			      cairn__sync_peer_error(l->p[e]));
			link_down(a, b, rng_range(&g_rng, 10, 300));
			return true;
		}
		if (rc == 0)
			return false;
		if (g_faults && rng_pct(&g_rng, 2))
			continue; /* dropped */
		enqueue(&l->q[e], buf->data, buf->len);
		if (g_faults && rng_pct(&g_rng, 2))
			enqueue(&l->q[e], buf->data, buf->len); /* twice */
	}
	return true;
}

/* Deliver up to a few messages of queue e of link (a, b). */
static bool deliver(int a, int b, int e)
{
	link *l = &g_l[a][b];
	int to = e ? a : b;
	bool any = false;
	for (int k = 0; k < 4 && l->up && l->q[e].n; k++) {
		msg m = l->q[e].m[0];
		memmove(&l->q[e].m[0], &l->q[e].m[1],
		        (l->q[e].n - 1) * sizeof m);
		l->q[e].n--;
		int rc = cairn__sync_recv(g_r[to].sy, l->p[1 - e], m.p, m.n,
		                          g_now);
		free(m.p);
		any = true;
		if (rc < 0) {
			/* Flush the BYE, then drop the link. */
			trace("t=%llu link %d-%d: %d refused: %s\n",
			      (unsigned long long)g_now, a, b, to,
			      cairn__sync_peer_error(l->p[1 - e]));
			link_down(a, b, rng_range(&g_rng, 10, 300));
		}
	}
	return any;
}

/* ---- one seed ----------------------------------------------------------- */

static void step(cairn_buf *buf, bool *busy)
{
	g_now += STEP_MS;
	for (int a = 0; a < R; a++)
		for (int b = a + 1; b < R; b++) {
			link *l = &g_l[a][b];
			if (!l->up && g_now >= l->down_until)
				link_up(a, b);
			if (!l->up)
				continue;
			if (pump(a, b, 0, buf))
				*busy = true;
			if (l->up && pump(a, b, 1, buf))
				*busy = true;
			if (deliver(a, b, 0))
				*busy = true;
			if (deliver(a, b, 1))
				*busy = true;
		}
	for (int i = 0; i < R; i++)
		if (rng_pct(&g_rng, 30) && cairn_store_sync(g_r[i].st))
			die(g_seed, "sync of replica %d failed", i);
}

static void reference_digest(uint8_t out[CAIRN_DIGEST_BYTES])
{
	cairn_replica_config rc;
	cairn_replica_config_init(&rc);
	rc.id = 1;
	cairn_replica *ref;
	CHECK(cairn_replica_new(&rc, &ref) == 0, "reference");
	CHECK(cairn_replica_declare(ref, "f/", NULL, CAIRN_POLICY_FWW) == 0 &&
	              cairn_replica_declare(ref, "p/", NULL,
	                                    CAIRN_POLICY_PRIORITY) == 0 &&
	              cairn_replica_declare(ref, "m/", NULL,
	                                    CAIRN_POLICY_MULTI) == 0,
	      "declare");
	cairn_delta *d;
	CHECK(cairn_delta_new(NULL, &d) == 0, "delta");
	for (int i = 0; i < R; i++)
		for (size_t w = 0; w < g_r[i].nwrites; w++) {
			cairn_delta_clear(d);
			const cairn_buf *b = &g_r[i].writes[w].enc;
			CHECK(cairn_delta_decode(d, b->data, b->len, NULL) == 0,
			      "decode");
			CHECK(cairn_replica_join(ref, d, g_now) == 0, "join");
		}
	CHECK(cairn_replica_digest(ref, out) == 0, "digest");
	cairn_delta_free(d);
	cairn_replica_free(ref);
}

static bool all_equal(const uint8_t ref[CAIRN_DIGEST_BYTES])
{
	for (int i = 0; i < R; i++) {
		uint8_t dg[CAIRN_DIGEST_BYTES];
		CHECK(cairn_replica_digest(cairn_store_replica(g_r[i].st),
		                           dg) == 0,
		      "digest");
		if (memcmp(dg, ref, sizeof dg))
			return false;
	}
	return true;
}

/* What each link looks like, for a seed that does not converge. */
static void dump(void)
{
	for (int a = 0; a < R; a++)
		for (int b = a + 1; b < R; b++) {
			link *l = &g_l[a][b];
			if (!l->up) {
				fprintf(stderr, "link %d-%d down\n", a, b);
				continue;
			}
			for (int e = 0; e < 2; e++) {
				cairn__peer_state ps;
				cairn__sync_peer_state(l->p[e], &ps);
				fprintf(stderr,
				        "link %d-%d at %d: hello %d recon %d "
				        "out %llu in %llu msgs %llu/%llu\n",
				        a, b, e ? b : a, ps.hello,
				        ps.reconciling,
				        (unsigned long long)ps.outstanding_out,
				        (unsigned long long)ps.outstanding_in,
				        (unsigned long long)ps.msgs_in,
				        (unsigned long long)ps.msgs_out);
			}
		}
	for (int i = 0; i < R; i++)
		fprintf(stderr, "replica %d: last seq %llu durable %llu\n", i,
		        (unsigned long long)cairn_store_last_seq(g_r[i].st),
		        (unsigned long long)cairn_store_durable_seq(g_r[i].st));
}

static uint64_t run_seed(uint64_t seed, uint64_t ops)
{
	g_seed = seed;
	rng_seed(&g_rng, seed);
	g_now = UINT64_C(1700000000000);
	g_faults = true;
	g_small_logs = rng_pct(&g_rng, 50);
	memset(g_l, 0, sizeof g_l);
	for (int i = 0; i < R; i++) {
		replica *r = &g_r[i];
		memset(r, 0, sizeof *r);
		for (size_t k = 0; k < sizeof r->dev.bytes; k++)
			r->dev.bytes[k] = (uint8_t)rng_u64(&g_rng);
		r->rid = cairn_device_replica_id(&r->dev);
		r->fv = fault_vfs_new();
		CHECK(fault_vfs_mkdir_p(r->fv, "/r") == 0, "mkdir");
		store_open(i);
	}
	cairn_buf buf;
	cairn_buf_init(&buf, NULL);
	bool busy = false;
	for (uint64_t op = 0; op < ops; op++) {
		random_write((int)rng_below(&g_rng, R));
		unsigned steps = (unsigned)rng_range(&g_rng, 0, 4);
		for (unsigned s = 0; s < steps; s++)
			step(&buf, &busy);
		if (rng_pct(&g_rng, 2)) { /* partition a link */
			int a = (int)rng_below(&g_rng, R - 1);
			int b = a + 1 +
			        (int)rng_below(&g_rng, (uint64_t)(R - a - 1));
			link_down(a, b, rng_range(&g_rng, 50, 1000));
		}
		if (rng_pct(&g_rng, 1))
			store_close((int)rng_below(&g_rng, R),
			            rng_pct(&g_rng, 50));
	}

	/* Heal: no more faults; every link comes back. */
	g_faults = false;
	for (int a = 0; a < R; a++)
		for (int b = a + 1; b < R; b++)
			if (g_l[a][b].down_until > g_now)
				g_l[a][b].down_until = g_now;
	uint8_t ref[CAIRN_DIGEST_BYTES];
	reference_digest(ref);
	uint64_t healed = g_now, took = 0;
	for (;;) {
		busy = false;
		step(&buf, &busy);
		if ((g_now - healed) % 100 == 0 && all_equal(ref)) {
			took = g_now - healed;
			break;
		}
		if (g_now - healed >= HEAL_LIMIT_MS)
			dump();
		CHECK(g_now - healed < HEAL_LIMIT_MS,
		      "no convergence %u simulated seconds after healing",
		      HEAL_LIMIT_MS / 1000);
	}
	trace("seed %llu converged %llu ms after healing\n",
	      (unsigned long long)seed, (unsigned long long)took);

	for (int a = 0; a < R; a++)
		for (int b = a + 1; b < R; b++)
			link_down(a, b, 0);
	for (int i = 0; i < R; i++) {
		replica *r = &g_r[i];
		cairn__sync_free(r->sy);
		CHECK(cairn_store_close(r->st) == 0, "close");
		fault_vfs_free(r->fv);
		for (size_t w = 0; w < r->nwrites; w++)
			cairn_buf_free(&r->writes[w].enc);
		free(r->writes);
	}
	cairn_buf_free(&buf);
	return took;
}

int main(void)
{
	g_trace = getenv("CAIRN_SIM_TRACE") != NULL;
	uint64_t first, count, ops = DEFAULT_OPS;
	bool single;
	sim_seed_range(DEFAULT_SEEDS, &first, &count, &single);
	(void)sim_env_u64("CAIRN_SIM_OPS", &ops);
	uint64_t worst = 0, total = 0;
	for (uint64_t s = first; s < first + count; s++) {
		uint64_t took = run_seed(s, ops);
		total += took;
		if (took > worst)
			worst = took;
	}
	printf("net_sim_r%d: %llu seeds x %llu writes converged; after "
	       "healing: mean %.0f ms, worst %llu ms (simulated)\n",
	       R, (unsigned long long)count, (unsigned long long)ops,
	       (double)total / (double)count, (unsigned long long)worst);
	return 0;
}
