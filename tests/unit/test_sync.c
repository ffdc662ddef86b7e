/*
 * test_sync.c -- the sync engine (net/proto/sync.c) between stores in
 * memory, with the messages passed by hand: catch-up costs, the fallback
 * to reconciliation, allow-lists, clocks, malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/net.h"
#include "cairn/store.h"
#include "fault_vfs.h"
#include "sync_int.h"

#define T0 UINT64_C(1750000000000)

typedef struct node {
	fault_vfs *fv;
	cairn_store *st;
	cairn__sync *sy;
	cairn_device_id dev;
	const cairn_device_id *allow;
	size_t nallow;
} node;

static void node_open(node *n, uint8_t tag, uint64_t retain)
{
	if (!n->fv) {
		n->fv = fault_vfs_new();
		assert_int_equal(fault_vfs_mkdir_p(n->fv, "/r"), 0);
		memset(n->dev.bytes, tag, sizeof n->dev.bytes);
	}
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.replica.id = cairn_device_replica_id(&n->dev);
	cfg.sync = CAIRN_SYNC_NONE;
	cfg.history_depth = 0;
	cfg.compact_log_bytes = 0;
	cfg.retain_log_bytes = retain;
	cfg.vfs = fault_vfs_vfs(n->fv);
	assert_int_equal(cairn_store_open("/r", &cfg, &n->st, NULL), 0);
	cairn__sync_config sc;
	cairn__sync_config_init(&sc);
	sc.store = n->st;
	sc.self = n->dev;
	sc.allow = n->allow;
	sc.nallow = n->nallow;
	assert_int_equal(cairn__sync_new(&sc, &n->sy), 0);
}

static void node_close(node *n, bool keep)
{
	cairn__sync_free(n->sy);
	n->sy = NULL;
	assert_int_equal(cairn_store_close(n->st), 0);
	n->st = NULL;
	if (!keep) {
		fault_vfs_free(n->fv);
		n->fv = NULL;
	}
}

typedef struct link {
	node *a, *b;
	cairn__peer *pa, *pb; /* a's peer for b, b's for a */
	uint64_t bytes[2];    /* a->b, b->a: messages + 21 B of framing */
	uint64_t msgs[2];
	int closed_rc;
	char why[200];
} link;

static void link_open(link *l, node *a, node *b, uint64_t now)
{
	memset(l, 0, sizeof *l);
	l->a = a;
	l->b = b;
	assert_int_equal(cairn__sync_attach(a->sy, &b->dev, now, &l->pa), 0);
	assert_int_equal(cairn__sync_attach(b->sy, &a->dev, now, &l->pb), 0);
}

static void link_close(link *l)
{
	cairn__sync_detach(l->a->sy, l->pa);
	cairn__sync_detach(l->b->sy, l->pb);
	l->pa = l->pb = NULL;
}

/*
 * Pass messages both ways until neither side has any (or one side closes).
 * Returns false if the link closed; l->why says why.
 */
static bool link_run(link *l, uint64_t *now)
{
	cairn_buf m;
	cairn_buf_init(&m, NULL);
	bool open = true;
	for (int round = 0; round < 1000000 && open; round++) {
		bool any = false;
		for (int dir = 0; dir < 2 && open; dir++) {
			node *from = dir ? l->b : l->a, *to = dir ? l->a : l->b;
			cairn__peer *pf = dir ? l->pb : l->pa;
			cairn__peer *pt = dir ? l->pa : l->pb;
			m.len = 0;
			int rc = cairn__sync_next(from->sy, pf, *now, &m);
			if (rc < 0) {
				l->closed_rc = rc;
				snprintf(l->why, sizeof l->why, "%s",
				         cairn__sync_peer_error(pf));
				open = false;
				break;
			}
			if (rc == 0)
				continue;
			any = true;
			l->bytes[dir] += m.len + 21;
			l->msgs[dir]++;
			rc = cairn__sync_recv(to->sy, pt, m.data, m.len, *now);
			if (rc < 0) {
				l->closed_rc = rc;
				snprintf(l->why, sizeof l->why, "%s",
				         cairn__sync_peer_error(pt));
				open = false;
			}
		}
		if (!any) {
			/* Quiet: let the ACK timers run once, then stop. */
			*now += 50;
			m.len = 0;
			int ra = cairn__sync_next(l->a->sy, l->pa, *now, &m);
			if (ra > 0) {
				l->bytes[0] += m.len + 21;
				(void)cairn__sync_recv(l->b->sy, l->pb, m.data,
				                       m.len, *now);
				continue;
			}
			m.len = 0;
			int rb = cairn__sync_next(l->b->sy, l->pb, *now, &m);
			if (rb > 0) {
				l->bytes[1] += m.len + 21;
				(void)cairn__sync_recv(l->a->sy, l->pa, m.data,
				                       m.len, *now);
				continue;
			}
			break;
		}
	}
	cairn_buf_free(&m);
	return open;
}

static void digest(const node *n, uint8_t out[CAIRN_DIGEST_BYTES])
{
	assert_int_equal(cairn_replica_digest(cairn_store_replica(n->st), out),
	                 0);
}

static void assert_same(const node *a, const node *b)
{
	uint8_t x[CAIRN_DIGEST_BYTES], y[CAIRN_DIGEST_BYTES];
	digest(a, x);
	digest(b, y);
	assert_memory_equal(x, y, sizeof x);
}

static void put_int(node *n, const char *doc, const char *field, int64_t v,
                    uint64_t now)
{
	cairn_value val = {.type = CAIRN_INT, .as.i = v};
	assert_int_equal(
	        cairn_store_set(n->st, doc, field, &val, now, NULL, NULL), 0);
}

static void fill(node *n, int docs, uint64_t now)
{
	char id[32];
	for (int i = 0; i < docs; i++) {
		snprintf(id, sizeof id, "doc/%06d", i);
		put_int(n, id, "v", i, now + (uint64_t)i / 1000);
	}
}

/* ---- tests -------------------------------------------------------------- */

static void test_two_way(void **state)
{
	(void)state;
	node a = {0}, b = {0};
	node_open(&a, 1, 64u << 20);
	node_open(&b, 2, 64u << 20);
	uint64_t now = T0;
	put_int(&a, "t/1", "x", 1, now);
	put_int(&b, "t/1", "y", 2, now);
	cairn_value e = {.type = CAIRN_INT, .as.i = 7};
	assert_int_equal(cairn_store_add(b.st, "t/2", "tags", &e, NULL, NULL),
	                 0);
	link l;
	link_open(&l, &a, &b, now);
	assert_true(link_run(&l, &now));
	assert_same(&a, &b);

	/* Live: writes on both sides flow at once. */
	put_int(&a, "t/1", "x", 10, now);
	assert_int_equal(cairn_store_rm(a.st, "t/2", "tags", &e, NULL, NULL),
	                 0);
	put_int(&b, "t/3", "z", 3, now);
	assert_true(link_run(&l, &now));
	assert_same(&a, &b);
	cairn__peer_state ps;
	cairn__sync_peer_state(l.pa, &ps);
	assert_true(ps.hello);
	assert_int_equal(ps.outstanding_out, 0);
	assert_int_equal(ps.outstanding_in, 0);
	link_close(&l);
	node_close(&a, false);
	node_close(&b, false);
}

/*
 * The catch-up of the network issue: two replicas share 100,000
 * documents; one goes offline, 10 documents change, it reconnects. Once
 * through the log (the store keeps it), once by reconciliation (the log
 * was compacted away with nothing retained).
 */
static void catchup(bool compact, uint64_t *bytes_out)
{
	node a = {0}, b = {0};
	node_open(&a, 1, compact ? 0 : 64u << 20);
	node_open(&b, 2, 64u << 20);
	uint64_t now = T0;
	fill(&a, 100000, now);
	link l;
	link_open(&l, &a, &b, now);
	assert_true(link_run(&l, &now));
	assert_same(&a, &b);
	link_close(&l);
	/* Offline: restart both (marks persisted), change 10 documents. */
	node_close(&a, true);
	node_close(&b, true);
	node_open(&a, 1, compact ? 0 : 64u << 20);
	node_open(&b, 2, 64u << 20);
	char id[32];
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "doc/%06d", i * 9973);
		put_int(&a, id, "v", -i, now + 1000);
	}
	if (compact)
		assert_int_equal(cairn_store_compact(a.st), 0);
	link_open(&l, &a, &b, now);
	assert_true(link_run(&l, &now));
	assert_same(&a, &b);
	*bytes_out = l.bytes[0] + l.bytes[1];
	printf("catch-up of 10 changed documents out of 100,000 (%s): "
	       "%llu + %llu bytes (%llu + %llu messages)\n",
	       compact ? "reconciliation" : "log",
	       (unsigned long long)l.bytes[0], (unsigned long long)l.bytes[1],
	       (unsigned long long)l.msgs[0], (unsigned long long)l.msgs[1]);
	link_close(&l);
	node_close(&a, false);
	node_close(&b, false);
}

static void test_catchup_log(void **state)
{
	(void)state;
	uint64_t bytes;
	catchup(false, &bytes);
	assert_true(bytes <= 64 * 1024);
}

static void test_catchup_recon(void **state)
{
	(void)state;
	uint64_t bytes;
	catchup(true, &bytes);
	assert_true(bytes <= 64 * 1024);
}

static void test_allow_list(void **state)
{
	(void)state;
	node a = {0}, b = {0};
	cairn_device_id only;
	memset(only.bytes, 9, sizeof only.bytes);
	a.allow = &only;
	a.nallow = 1;
	node_open(&a, 1, 0);
	node_open(&b, 2, 0);
	uint64_t now = T0;
	put_int(&a, "secret", "x", 1, now);
	link l;
	link_open(&l, &a, &b, now);
	assert_false(link_run(&l, &now));
	assert_int_equal(l.closed_rc, CAIRN_EPOLICY);
	assert_non_null(strstr(l.why, "allow-list"));
	assert_string_not_equal(cairn__sync_peer_error(l.pa), "");
	assert_string_not_equal(cairn__sync_peer_error(l.pb), "");
	assert_int_equal(cairn_replica_doc_count(cairn_store_replica(b.st)), 0);
	link_close(&l);
	node_close(&a, false);
	node_close(&b, false);
}

/* A peer whose clock is ahead: 1 s passes, 61 s and 10 years do not, and
 * nothing of it is merged. */
static void skew(uint64_t ahead_ms, bool ok)
{
	node a = {0}, b = {0};
	node_open(&a, 1, 0);
	node_open(&b, 2, 0);
	uint64_t now = T0;
	put_int(&b, "t", "x", 1, now + ahead_ms);
	link l;
	link_open(&l, &a, &b, now);
	bool open = link_run(&l, &now);
	assert_int_equal(open, ok);
	if (ok) {
		assert_same(&a, &b);
	} else {
		assert_int_equal(l.closed_rc, CAIRN_ECLOCK_SKEW);
		assert_non_null(strstr(l.why, "ahead"));
		assert_int_equal(
		        cairn_replica_doc_count(cairn_store_replica(a.st)), 0);
	}
	link_close(&l);
	node_close(&a, false);
	node_close(&b, false);
}

static void test_clock_skew(void **state)
{
	(void)state;
	skew(1000, true);
	skew(61000, false);
	skew(UINT64_C(10) * 365 * 24 * 3600 * 1000, false);
}

/* Garbage in: a BYE PROTOCOL out, then the link closes; no crash. */
static void test_malformed(void **state)
{
	(void)state;
	static const uint8_t bad[][8] = {
	        {0xc1},                   /* never used */
	        {0x91, 0x63},             /* type 99 alone: skipped, but
	                                     before HELLO */
	        {0x92, 0x02, 0x01},       /* DELTAS before HELLO */
	        {0xdd, 0xff, 0xff, 0xff}, /* a huge array */
	        {0x90},                   /* untyped */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		node a = {0};
		node_open(&a, 1, 0);
		cairn_device_id them;
		memset(them.bytes, 3, sizeof them.bytes);
		cairn__peer *p;
		assert_int_equal(cairn__sync_attach(a.sy, &them, T0, &p), 0);
		int rc = cairn__sync_recv(a.sy, p, bad[i], sizeof bad[i], T0);
		assert_true(rc < 0);
		cairn_buf m;
		cairn_buf_init(&m, NULL);
		int n = 0;
		while ((rc = cairn__sync_next(a.sy, p, T0, &m)) > 0)
			n++;
		assert_true(n >= 1); /* HELLO, BYE */
		assert_true(rc < 0);
		cairn_buf_free(&m);
		cairn__sync_detach(a.sy, p);
		node_close(&a, false);
	}
}

/* A mark survives a restart: the second connection streams only what is
 * new. */
static void test_resume(void **state)
{
	(void)state;
	node a = {0}, b = {0};
	node_open(&a, 1, 64u << 20);
	node_open(&b, 2, 64u << 20);
	uint64_t now = T0;
	fill(&a, 1000, now);
	link l;
	link_open(&l, &a, &b, now);
	assert_true(link_run(&l, &now));
	uint64_t first = l.bytes[0];
	link_close(&l);
	node_close(&b, true);
	node_open(&b, 2, 64u << 20);
	put_int(&a, "new", "x", 1, now);
	link_open(&l, &a, &b, now);
	assert_true(link_run(&l, &now));
	assert_same(&a, &b);
	assert_true(l.bytes[0] < first / 10);
	link_close(&l);
	node_close(&a, false);
	node_close(&b, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_two_way),
	        cmocka_unit_test(test_catchup_log),
	        cmocka_unit_test(test_catchup_recon),
	        cmocka_unit_test(test_allow_list),
	        cmocka_unit_test(test_clock_skew),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
