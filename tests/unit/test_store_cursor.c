/*
 * test_store_cursor.c -- reading the store's log back with cursors
 * (cairn_store_cursor_*), and the retention of log files the snapshot
 * holds (cairn_store_config.retain_log_bytes): reading from the start and
 * from the middle, catching up with writes, across compactions, several
 * cursors, peer marks passed over, reopening, damaged and missing kept
 * files, repair, failing reads and allocations, a closed store, and the
 * sparse index that spares a cursor most of a large file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn.h"
#include "fault_vfs.h"
#include "sim_util.h"

#define OK(x) assert_int_equal((x), 0)
#define DIR_ "/s"
#define T0 UINT64_C(1700000000000)
#define MAXREC 4096

typedef struct fixture {
	fault_vfs *fv;
	cairn_store_config cfg;
	cairn_store *s;
	/* the encoding of each write's delta, by sequence number */
	cairn_buf enc[MAXREC + 1];
	bool is_delta[MAXREC + 1];
	int step;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->fv = fault_vfs_new();
	cairn_store_config_init(&f->cfg);
	f->cfg.replica.id = 0x1111;
	f->cfg.vfs = fault_vfs_vfs(f->fv);
	f->cfg.sync = CAIRN_SYNC_NONE;
	f->cfg.compact_log_bytes = 0;
	for (size_t i = 0; i <= MAXREC; i++)
		cairn_buf_init(&f->enc[i], NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	(void)cairn_store_close(f->s);
	assert_int_equal(fault_vfs_open_handles(f->fv), 0);
	fault_vfs_free(f->fv);
	for (size_t i = 0; i <= MAXREC; i++)
		cairn_buf_free(&f->enc[i]);
	free(f);
	return 0;
}

static void open_store(fixture *f)
{
	cairn_store_report rep;
	int rc = cairn_store_open(DIR_, &f->cfg, &f->s, &rep);
	if (rc)
		fail_msg("open: %s: %s", cairn_err_name(rc), rep.message);
}

static void reopen(fixture *f)
{
	OK(cairn_store_close(f->s));
	f->s = NULL;
	open_store(f);
}

/* One write (registers and sets, several documents); its delta's encoding
 * is kept by sequence number. Returns the sequence number. */
static uint64_t put(fixture *f)
{
	int i = f->step++;
	char doc[16], field[16], str[64];
	snprintf(doc, sizeof doc, "d/%d", i % 7);
	cairn_delta *dl;
	OK(cairn_delta_new(NULL, &dl));
	uint64_t seq = 0;
	if (i % 5 == 4) {
		snprintf(field, sizeof field, "tags");
		snprintf(str, sizeof str, "t%d", i % 11);
		cairn_value e = cairn_value_str(str);
		OK(cairn_store_add(f->s, doc, field, &e, dl, &seq));
	} else {
		snprintf(field, sizeof field, "f%d", i % 13);
		snprintf(str, sizeof str, "value %d of the test, some bytes",
		         i);
		cairn_value v = i % 2 ? cairn_value_str(str)
		                      : cairn_value_int((int64_t)i * 7919);
		OK(cairn_store_set(f->s, doc, field, &v, T0 + (uint64_t)i, dl,
		                   &seq));
	}
	if (seq <= MAXREC) {
		cairn_buf_reset(&f->enc[seq]);
		OK(cairn_delta_encode(dl, &f->enc[seq]));
		f->is_delta[seq] = true;
	}
	cairn_delta_free(dl);
	return seq;
}

static void put_n(fixture *f, int n)
{
	for (int i = 0; i < n; i++)
		(void)put(f);
}

/*
 * Read from the cursor until it stops; check each record against the
 * write that made it (same bytes, and it decodes), in order from `from`.
 * Returns the code that stopped it; *n gets the records delivered.
 */
static int drain(fixture *f, cairn_log_cursor *c, uint64_t from, size_t *n)
{
	uint64_t seq, expect = from;
	const uint8_t *p;
	size_t len;
	int rc;
	*n = 0;
	cairn_delta *d;
	OK(cairn_delta_new(NULL, &d));
	cairn_limits lim;
	cairn_limits_init(&lim);
	lim.max_value_bytes = CAIRN_MAX_VALUE_LIMIT;
	while ((rc = cairn_store_cursor_next(c, &seq, &p, &len)) == 0) {
		while (expect <= MAXREC && !f->is_delta[expect])
			expect++; /* a peer mark, passed over */
		if (seq != expect)
			fail_msg("record %llu, expected %llu",
			         (unsigned long long)seq,
			         (unsigned long long)expect);
		expect++;
		if (seq <= MAXREC && f->is_delta[seq]) {
			const cairn_buf *e = &f->enc[seq];
			assert_int_equal(len, e->len);
			assert_memory_equal(p, e->data, len);
		}
		cairn_delta_clear(d);
		OK(cairn_delta_decode(d, p, len, &lim));
		assert_int_equal(cairn_store_cursor_pos(c), seq + 1);
		(*n)++;
	}
	cairn_delta_free(d);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

static void test_from_one(void **state)
{
	fixture *f = *state;
	open_store(f);
	assert_int_equal(cairn_store_log_first(f->s), 1);
	cairn_log_cursor *c;
	/* An empty log: a cursor at 1 has nothing yet. */
	OK(cairn_store_cursor_open(f->s, 1, &c));
	uint64_t seq;
	const uint8_t *p;
	size_t len, n;
	assert_int_equal(cairn_store_cursor_next(c, &seq, &p, &len),
	                 CAIRN_EAGAIN);
	put_n(f, 600);
	assert_int_equal(drain(f, c, 1, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 600);
	assert_int_equal(cairn_store_cursor_pos(c), 601);
	cairn_store_cursor_close(c);
	cairn_store_cursor_close(NULL);

	/* The bounds. */
	assert_int_equal(cairn_store_cursor_open(f->s, 0, &c), CAIRN_EINVAL);
	assert_int_equal(cairn_store_cursor_open(f->s, 602, &c), CAIRN_EINVAL);
	assert_int_equal(cairn_store_cursor_open(NULL, 1, &c), CAIRN_EINVAL);
	assert_int_equal(cairn_store_cursor_open(f->s, 1, NULL), CAIRN_EINVAL);
	OK(cairn_store_cursor_open(f->s, 601, &c));
	assert_int_equal(cairn_store_cursor_next(c, NULL, &p, &len),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_store_cursor_next(c, &seq, &p, &len),
	                 CAIRN_EAGAIN);
	cairn_store_cursor_close(c);
}

static void test_from_middle(void **state)
{
	fixture *f = *state;
	open_store(f);
	put_n(f, 500);
	uint64_t froms[] = {1, 2, 250, 499, 500, 501};
	for (size_t i = 0; i < sizeof froms / sizeof *froms; i++) {
		cairn_log_cursor *c;
		size_t n;
		OK(cairn_store_cursor_open(f->s, froms[i], &c));
		assert_int_equal(cairn_store_cursor_pos(c), froms[i]);
		assert_int_equal(drain(f, c, froms[i], &n), CAIRN_EAGAIN);
		assert_int_equal(n, 501 - froms[i]);
		cairn_store_cursor_close(c);
	}
}

static void test_catch_up_with_writes(void **state)
{
	fixture *f = *state;
	f->cfg.sync = CAIRN_SYNC_GROUP;
	open_store(f);
	put_n(f, 10);
	cairn_log_cursor *c, *tail;
	size_t n;
	OK(cairn_store_cursor_open(f->s, 3, &c));
	OK(cairn_store_cursor_open(f->s, 11, &tail)); /* at the end */
	assert_int_equal(drain(f, c, 3, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 8);
	/* Not durable yet: delivered all the same. */
	assert_int_equal(cairn_store_durable_seq(f->s), 0);
	for (int round = 0; round < 20; round++) {
		put_n(f, round % 3 + 1);
		uint64_t from = cairn_store_cursor_pos(c);
		assert_int_equal(drain(f, c, from, &n), CAIRN_EAGAIN);
		assert_int_equal(n, (size_t)(round % 3 + 1));
	}
	assert_int_equal(cairn_store_cursor_pos(c),
	                 cairn_store_last_seq(f->s) + 1);
	assert_int_equal(drain(f, tail, 11, &n), CAIRN_EAGAIN);
	assert_int_equal(n, cairn_store_last_seq(f->s) - 10);
	OK(cairn_store_sync(f->s));
	cairn_store_cursor_close(c);
	cairn_store_cursor_close(tail);
}

/* Several cursors, interleaved with each other and with writes. */
static void test_several_cursors(void **state)
{
	fixture *f = *state;
	f->cfg.compact_log_bytes = 8192;
	open_store(f);
	put_n(f, 50);
	cairn_log_cursor *c[4];
	uint64_t next[4] = {1, 20, 50, 51};
	for (int k = 0; k < 4; k++)
		OK(cairn_store_cursor_open(f->s, next[k], &c[k]));
	for (int round = 0; round < 300; round++) {
		if (round % 2 == 0)
			(void)put(f);
		int k = round % 4;
		uint64_t seq;
		const uint8_t *p;
		size_t len;
		int rc = cairn_store_cursor_next(c[k], &seq, &p, &len);
		if (rc == CAIRN_EAGAIN) {
			assert_int_equal(next[k],
			                 cairn_store_last_seq(f->s) + 1);
			continue;
		}
		OK(rc);
		assert_int_equal(seq, next[k]);
		assert_int_equal(len, f->enc[seq].len);
		assert_memory_equal(p, f->enc[seq].data, len);
		next[k]++;
	}
	/* Compaction ran on its own meanwhile; the log kept all of it. */
	assert_true(cairn_store_snapshot_bytes(f->s) > 0);
	assert_int_equal(cairn_store_log_first(f->s), 1);
	for (int k = 0; k < 4; k++) {
		size_t n;
		assert_int_equal(drain(f, c[k], next[k], &n), CAIRN_EAGAIN);
		assert_int_equal(cairn_store_cursor_pos(c[k]),
		                 cairn_store_last_seq(f->s) + 1);
	}
	/* Closed in another order than opened. */
	cairn_store_cursor_close(c[2]);
	cairn_store_cursor_close(c[0]);
	cairn_store_cursor_close(c[3]);
	cairn_store_cursor_close(c[1]);
}

static void test_peer_marks_passed_over(void **state)
{
	fixture *f = *state;
	open_store(f);
	uint8_t peer[CAIRN_PEER_ID_BYTES] = {4, 2};
	put_n(f, 3);
	OK(cairn_store_peer_put(f->s, peer, 1)); /* 4 */
	OK(cairn_store_peer_put(f->s, peer, 2)); /* 5 */
	put_n(f, 2);                             /* 6, 7 */
	OK(cairn_store_peer_put(f->s, peer, 3)); /* 8 */
	cairn_log_cursor *c;
	uint64_t seq;
	const uint8_t *p;
	size_t len;
	OK(cairn_store_cursor_open(f->s, 3, &c));
	OK(cairn_store_cursor_next(c, &seq, &p, &len));
	assert_int_equal(seq, 3);
	assert_int_equal(cairn_store_cursor_pos(c), 4);
	OK(cairn_store_cursor_next(c, &seq, &p, &len));
	assert_int_equal(seq, 6);
	assert_int_equal(cairn_store_cursor_pos(c), 7);
	OK(cairn_store_cursor_next(c, &seq, &p, &len));
	assert_int_equal(seq, 7);
	/* The last record is a peer mark: passed over, and counted. */
	assert_int_equal(cairn_store_cursor_next(c, &seq, &p, &len),
	                 CAIRN_EAGAIN);
	assert_int_equal(cairn_store_cursor_pos(c), 9);
	cairn_store_cursor_close(c);
	/* A cursor opened at a peer mark. */
	OK(cairn_store_cursor_open(f->s, 4, &c));
	OK(cairn_store_cursor_next(c, &seq, &p, &len));
	assert_int_equal(seq, 6);
	cairn_store_cursor_close(c);
}

/* A record larger than the cursor's window. */
static void test_big_record(void **state)
{
	fixture *f = *state;
	f->cfg.replica.limits.max_value_bytes = 1 << 20;
	open_store(f);
	put_n(f, 3);
	size_t big = 300000;
	uint8_t *b = malloc(big);
	for (size_t i = 0; i < big; i++)
		b[i] = (uint8_t)(i * 31);
	cairn_value v = cairn_value_bin(b, big);
	cairn_delta *dl;
	OK(cairn_delta_new(NULL, &dl));
	uint64_t seq;
	OK(cairn_store_set(f->s, "big", "b", &v, T0, dl, &seq));
	OK(cairn_delta_encode(dl, &f->enc[seq]));
	f->is_delta[seq] = true;
	cairn_delta_free(dl);
	free(b);
	put_n(f, 3);
	cairn_log_cursor *c;
	size_t n;
	OK(cairn_store_cursor_open(f->s, 1, &c));
	assert_int_equal(drain(f, c, 1, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 7);
	cairn_store_cursor_close(c);
	OK(cairn_store_cursor_open(f->s, 4, &c)); /* starting at it */
	assert_int_equal(drain(f, c, 4, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 4);
	cairn_store_cursor_close(c);
}

/* A write held in memory (the disk was full) is not in the log yet. */
static void test_pending_write(void **state)
{
	fixture *f = *state;
	open_store(f);
	put_n(f, 2);
	cairn_log_cursor *c;
	size_t n;
	OK(cairn_store_cursor_open(f->s, 1, &c));
	assert_int_equal(drain(f, c, 1, &n), CAIRN_EAGAIN);
	fault_vfs_fail(f->fv, FAULT_VFS_WRITE, 1, -ENOSPC, true);
	cairn_value v = cairn_value_int(5);
	assert_int_equal(cairn_store_set(f->s, "a", "x", &v, T0, NULL, NULL),
	                 CAIRN_EFULL);
	uint64_t seq;
	const uint8_t *p;
	size_t len;
	assert_int_equal(cairn_store_cursor_next(c, &seq, &p, &len),
	                 CAIRN_EAGAIN);
	assert_int_equal(cairn_store_cursor_pos(c), 3);
	fault_vfs_clear_faults(f->fv);
	cairn_value w = cairn_value_int(6);
	OK(cairn_store_set(f->s, "a", "y", &w, T0, NULL, &seq));
	assert_int_equal(seq, 3);
	/* One record: the held write and this one, joined. */
	OK(cairn_store_cursor_next(c, &seq, &p, &len));
	assert_int_equal(seq, 3);
	cairn_delta *d;
	OK(cairn_delta_new(NULL, &d));
	cairn_limits lim;
	cairn_limits_init(&lim);
	OK(cairn_delta_decode(d, p, len, &lim));
	cairn_replica_config rc;
	cairn_replica_config_init(&rc);
	rc.id = 0x2222;
	cairn_replica *r;
	OK(cairn_replica_new(&rc, &r));
	OK(cairn_replica_join(r, d, T0));
	cairn_doc *doc;
	cairn_value got;
	OK(cairn_replica_find(r, "a", &doc));
	OK(cairn_doc_get(doc, "x", &got, NULL));
	assert_int_equal(got.as.i, 5);
	OK(cairn_doc_get(doc, "y", &got, NULL));
	assert_int_equal(got.as.i, 6);
	cairn_replica_free(r);
	cairn_delta_free(d);
	assert_int_equal(cairn_store_cursor_next(c, &seq, &p, &len),
	                 CAIRN_EAGAIN);
	cairn_store_cursor_close(c);
}

/* ---- compaction and retention ------------------------------------------- */

static void test_across_compaction(void **state)
{
	fixture *f = *state;
	f->cfg.compact_log_bytes = 4096;
	open_store(f);
	cairn_log_cursor *slow, *mid;
	OK(cairn_store_cursor_open(f->s, 1, &slow));
	put_n(f, 100);
	/* The slow one reads a little, compactions happen under it. */
	size_t n;
	uint64_t seq;
	const uint8_t *p;
	size_t len;
	for (int i = 0; i < 5; i++)
		OK(cairn_store_cursor_next(slow, &seq, &p, &len));
	OK(cairn_store_cursor_open(f->s, 60, &mid));
	put_n(f, 400);
	assert_true(cairn_store_snapshot_bytes(f->s) > 0);
	OK(cairn_store_compact(f->s));
	/* Everything is still reachable (64 MiB retained by default). */
	assert_int_equal(cairn_store_log_first(f->s), 1);
	assert_int_equal(drain(f, slow, 6, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 495);
	assert_int_equal(drain(f, mid, 60, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 441);
	/* A cursor at the end goes on in the next file. */
	OK(cairn_store_compact(f->s));
	put_n(f, 3);
	assert_int_equal(drain(f, slow, 501, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 3);
	cairn_store_cursor_close(slow);
	cairn_store_cursor_close(mid);
	/* And a new cursor from the start still reads it all. */
	OK(cairn_store_cursor_open(f->s, 1, &slow));
	assert_int_equal(drain(f, slow, 1, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 503);
	cairn_store_cursor_close(slow);
}

static void test_retention_zero(void **state)
{
	fixture *f = *state;
	f->cfg.retain_log_bytes = 0;
	open_store(f);
	put_n(f, 30);
	cairn_log_cursor *behind, *at_end;
	uint64_t seq;
	const uint8_t *p;
	size_t len, n;
	OK(cairn_store_cursor_open(f->s, 1, &behind));
	OK(cairn_store_cursor_next(behind, &seq, &p, &len));
	OK(cairn_store_cursor_open(f->s, 31, &at_end));
	OK(cairn_store_compact(f->s));
	/* Nothing before the snapshot is kept. */
	assert_int_equal(cairn_store_log_first(f->s), 31);
	assert_false(fault_vfs_exists(f->fv, DIR_ "/log-0000000000000001"));
	assert_int_equal(cairn_store_cursor_next(behind, &seq, &p, &len),
	                 CAIRN_ENOTFOUND);
	assert_int_equal(cairn_store_cursor_next(behind, &seq, &p, &len),
	                 CAIRN_ENOTFOUND);
	assert_int_equal(cairn_store_cursor_pos(behind), 2);
	cairn_log_cursor *c;
	assert_int_equal(cairn_store_cursor_open(f->s, 30, &c),
	                 CAIRN_ENOTFOUND);
	/* The one at the end lost nothing. */
	put_n(f, 4);
	assert_int_equal(drain(f, at_end, 31, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 4);
	cairn_store_cursor_close(behind);
	cairn_store_cursor_close(at_end);
}

/* The retention keeps the newest files that fit, and drops the rest
 * under the cursors reading them. */
static void test_retention_bounded(void **state)
{
	fixture *f = *state;
	f->cfg.retain_log_bytes = 10500;
	open_store(f);
	cairn_log_cursor *oldest;
	OK(cairn_store_cursor_open(f->s, 1, &oldest));
	uint64_t firsts[12];
	for (int k = 0; k < 12; k++) {
		firsts[k] = cairn_store_last_seq(f->s) + 1;
		while (cairn_store_log_bytes(f->s) < 3000)
			(void)put(f);
		OK(cairn_store_compact(f->s));
	}
	/* Each file holds 3000 bytes and a little: three fit, four do
	 * not. */
	assert_true(cairn_store_snapshot_bytes(f->s) > 0);
	assert_int_equal(cairn_store_log_first(f->s), firsts[9]);
	assert_false(fault_vfs_exists(f->fv, DIR_ "/log-0000000000000001"));
	uint64_t seq;
	const uint8_t *p;
	size_t len, n;
	assert_int_equal(cairn_store_cursor_next(oldest, &seq, &p, &len),
	                 CAIRN_ENOTFOUND);
	cairn_store_cursor_close(oldest);
	cairn_log_cursor *c;
	assert_int_equal(cairn_store_cursor_open(f->s, firsts[9] - 1, &c),
	                 CAIRN_ENOTFOUND);
	OK(cairn_store_cursor_open(f->s, firsts[9], &c));
	assert_int_equal(drain(f, c, firsts[9], &n), CAIRN_EAGAIN);
	assert_int_equal(n, cairn_store_last_seq(f->s) - firsts[9] + 1);
	cairn_store_cursor_close(c);
	/* The same after a reopen. */
	reopen(f);
	assert_int_equal(cairn_store_log_first(f->s), firsts[9]);
	OK(cairn_store_cursor_open(f->s, firsts[10] + 3, &c));
	assert_int_equal(drain(f, c, firsts[10] + 3, &n), CAIRN_EAGAIN);
	cairn_store_cursor_close(c);
	/* A smaller retention on the next open drops more. */
	OK(cairn_store_close(f->s));
	f->s = NULL;
	f->cfg.retain_log_bytes = 4096;
	open_store(f);
	assert_int_equal(cairn_store_log_first(f->s), firsts[11]);
	assert_false(fault_vfs_exists(f->fv, DIR_ "/log-0000000000000001"));
}

/* ---- reopening ------------------------------------------------------------
 */

/* A store with three kept log files before its snapshot and one after. */
static void make_kept(fixture *f, uint64_t firsts[4])
{
	open_store(f);
	uint8_t peer[CAIRN_PEER_ID_BYTES] = {9};
	for (int k = 0; k < 4; k++) {
		firsts[k] = cairn_store_last_seq(f->s) + 1;
		put_n(f, 20);
		OK(cairn_store_peer_put(f->s, peer, (uint64_t)k));
		put_n(f, 20);
		if (k < 3)
			OK(cairn_store_compact(f->s));
	}
}

static void log_path(uint64_t first, char out[64])
{
	snprintf(out, 64, DIR_ "/log-%016llx", (unsigned long long)first);
}

static void test_reopen_kept(void **state)
{
	fixture *f = *state;
	uint64_t firsts[4];
	make_kept(f, firsts);
	reopen(f);
	assert_int_equal(cairn_store_last_seq(f->s), 164);
	assert_int_equal(cairn_store_log_first(f->s), 1);
	cairn_log_cursor *c;
	size_t n;
	OK(cairn_store_cursor_open(f->s, 7, &c));
	assert_int_equal(drain(f, c, 7, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 160 - 6);
	cairn_store_cursor_close(c);
	/* Killed (kill -9) with cursors open: it opens the same way. */
	OK(cairn_store_cursor_open(f->s, 100, &c));
	fault_vfs_kill(f->fv);
	(void)cairn_store_close(f->s);
	f->s = NULL;
	cairn_store_cursor_close(c);
	open_store(f);
	assert_int_equal(cairn_store_log_first(f->s), 1);
	OK(cairn_store_cursor_open(f->s, 42, &c));
	assert_int_equal(drain(f, c, 42, &n), CAIRN_EAGAIN);
	cairn_store_cursor_close(c);
	/* A write after reopening continues the last file. */
	(void)put(f);
	OK(cairn_store_cursor_open(f->s, 150, &c));
	assert_int_equal(drain(f, c, 150, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 16);
	cairn_store_cursor_close(c);
}

static void test_reopen_missing_kept(void **state)
{
	fixture *f = *state;
	uint64_t firsts[4];
	make_kept(f, firsts);
	OK(cairn_store_close(f->s));
	f->s = NULL;
	/* The oldest kept file is gone: the others remain readable. */
	char path[64];
	log_path(firsts[0], path);
	const cairn_vfs *v = fault_vfs_vfs(f->fv);
	OK(v->unlink(v->ud, path));
	open_store(f);
	assert_int_equal(cairn_store_log_first(f->s), firsts[1]);
	cairn_log_cursor *c;
	size_t n;
	assert_int_equal(cairn_store_cursor_open(f->s, 1, &c), CAIRN_ENOTFOUND);
	OK(cairn_store_cursor_open(f->s, firsts[1], &c));
	assert_int_equal(drain(f, c, firsts[1], &n), CAIRN_EAGAIN);
	cairn_store_cursor_close(c);

	/* One in the middle is gone: the file before it reads to its end,
	 * and there the gap is found: the older files are dropped. */
	OK(cairn_store_close(f->s));
	f->s = NULL;
	log_path(firsts[2], path);
	OK(v->unlink(v->ud, path));
	open_store(f);
	assert_int_equal(cairn_store_log_first(f->s), firsts[1]);
	OK(cairn_store_cursor_open(f->s, firsts[1] + 1, &c));
	assert_int_equal(drain(f, c, firsts[1] + 1, &n), CAIRN_ECORRUPT);
	assert_int_equal(cairn_store_cursor_pos(c), firsts[2]);
	assert_int_equal(n, firsts[2] - firsts[1] - 2); /* a peer mark */
	assert_int_equal(cairn_store_log_first(f->s), firsts[3]);
	assert_int_equal(drain(f, c, firsts[2], &n), CAIRN_ENOTFOUND);
	cairn_store_cursor_close(c);
	log_path(firsts[1], path);
	assert_false(fault_vfs_exists(f->fv, path));
	reopen(f);
	assert_int_equal(cairn_store_log_first(f->s), firsts[3]);

	/* A kept file that goes while the store is open. */
	OK(cairn_store_close(f->s));
	f->s = NULL;
	fault_vfs_free(f->fv);
	f->fv = fault_vfs_new();
	f->cfg.vfs = fault_vfs_vfs(f->fv);
	memset(f->is_delta, 0, sizeof f->is_delta);
	f->step = 0;
	make_kept(f, firsts);
	v = fault_vfs_vfs(f->fv);
	log_path(firsts[1], path);
	OK(v->unlink(v->ud, path));
	OK(cairn_store_cursor_open(f->s, 1, &c));
	assert_int_equal(drain(f, c, 1, &n), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_store_cursor_pos(c), firsts[1]);
	/* It and the ones before it are no longer offered. */
	assert_int_equal(cairn_store_log_first(f->s), firsts[2]);
	log_path(firsts[0], path);
	assert_false(fault_vfs_exists(f->fv, path));
	cairn_store_cursor_close(c);
}

static void test_reopen_damaged_kept(void **state)
{
	fixture *f = *state;
	uint64_t firsts[4];
	make_kept(f, firsts);
	OK(cairn_store_close(f->s));
	f->s = NULL;
	char path[64];
	uint8_t *bytes;
	size_t size;

	/* A bit flipped in a record of a kept file: the store opens as
	 * ever; a cursor delivers the good records before the damage, then
	 * says so, and the file (and older ones) are no longer offered. */
	log_path(firsts[1], path);
	OK(fault_vfs_file_bytes(f->fv, path, &bytes, &size));
	free(bytes);
	OK(fault_vfs_flip_bit(f->fv, path, (uint64_t)(size / 2) * 8 + 3));
	open_store(f);
	assert_int_equal(cairn_store_last_seq(f->s), 164);
	assert_int_equal(cairn_store_log_first(f->s), 1);
	cairn_log_cursor *c;
	size_t n;
	OK(cairn_store_cursor_open(f->s, 3, &c));
	assert_int_equal(drain(f, c, 3, &n), CAIRN_ECORRUPT);
	uint64_t stopped = cairn_store_cursor_pos(c);
	assert_true(stopped > firsts[1] && stopped < firsts[2]);
	/* the peer marks passed over: the 21st record of each round */
	uint64_t marks = 1 + (stopped > firsts[1] + 20);
	assert_int_equal(n, stopped - 3 - marks);
	assert_int_equal(cairn_store_log_first(f->s), firsts[2]);
	assert_int_equal(drain(f, c, stopped, &n), CAIRN_ENOTFOUND);
	cairn_store_cursor_close(c);
	assert_false(fault_vfs_exists(f->fv, path));
	/* The data is intact: it was in the snapshot. */
	OK(cairn_store_cursor_open(f->s, firsts[2], &c));
	assert_int_equal(drain(f, c, firsts[2], &n), CAIRN_EAGAIN);
	cairn_store_cursor_close(c);

	/* A damaged header: the file is dropped when the store opens. */
	OK(cairn_store_close(f->s));
	f->s = NULL;
	log_path(firsts[2], path);
	OK(fault_vfs_flip_bit(f->fv, path, 9 * 8));
	open_store(f);
	assert_int_equal(cairn_store_log_first(f->s), firsts[3]);
	assert_false(fault_vfs_exists(f->fv, path));

	/* A kept file cut short: found when a cursor reaches its end. */
	OK(cairn_store_close(f->s));
	f->s = NULL;
	fault_vfs_free(f->fv);
	f->fv = fault_vfs_new();
	f->cfg.vfs = fault_vfs_vfs(f->fv);
	memset(f->is_delta, 0, sizeof f->is_delta);
	f->step = 0;
	make_kept(f, firsts);
	OK(cairn_store_close(f->s));
	f->s = NULL;
	log_path(firsts[0], path);
	OK(fault_vfs_file_bytes(f->fv, path, &bytes, &size));
	free(bytes);
	OK(fault_vfs_truncate_file(f->fv, path, size - 300));
	open_store(f);
	assert_int_equal(cairn_store_log_first(f->s), 1);
	OK(cairn_store_cursor_open(f->s, 1, &c));
	assert_int_equal(drain(f, c, 1, &n), CAIRN_ECORRUPT);
	assert_true(cairn_store_cursor_pos(c) < firsts[1]);
	assert_int_equal(cairn_store_log_first(f->s), firsts[1]);
	cairn_store_cursor_close(c);
	/* The file is gone for good. */
	reopen(f);
	assert_int_equal(cairn_store_log_first(f->s), firsts[1]);
}

/* Repair cuts the damaged log after the snapshot and leaves the kept files
 * alone. */
static void test_repair_with_kept(void **state)
{
	fixture *f = *state;
	uint64_t firsts[4];
	make_kept(f, firsts);
	OK(cairn_store_close(f->s));
	f->s = NULL;
	char path[64];
	log_path(firsts[3], path);
	uint8_t *bytes;
	size_t size;
	OK(fault_vfs_file_bytes(f->fv, path, &bytes, &size));
	free(bytes);
	OK(fault_vfs_flip_bit(f->fv, path, (uint64_t)(size / 3) * 8));
	cairn_store *s;
	cairn_store_report rep;
	assert_int_equal(cairn_store_open(DIR_, &f->cfg, &s, &rep),
	                 CAIRN_ECORRUPT);
	OK(cairn_store_repair(DIR_, f->cfg.vfs, &rep));
	open_store(f);
	uint64_t last = cairn_store_last_seq(f->s);
	assert_true(last >= firsts[3] - 1 && last < 164);
	assert_int_equal(cairn_store_log_first(f->s), 1);
	cairn_log_cursor *c;
	size_t n;
	OK(cairn_store_cursor_open(f->s, 1, &c));
	assert_int_equal(drain(f, c, 1, &n), CAIRN_EAGAIN);
	assert_int_equal(cairn_store_cursor_pos(c), last + 1);
	cairn_store_cursor_close(c);
	/* Writes go on after the cut, and cursors follow. */
	OK(cairn_store_cursor_open(f->s, last + 1, &c));
	uint64_t seq = put(f);
	assert_int_equal(seq, last + 1);
	assert_int_equal(drain(f, c, last + 1, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 1);
	cairn_store_cursor_close(c);
}

/*
 * Power lost at every sync point of a workload that compacts often: the
 * store always opens, and a cursor from cairn_store_log_first() reads every
 * record there is, each the bytes its write appended (the kept files were
 * synced before the snapshot that covers them; a deletion the crash undid
 * brings back a whole file).
 */
static int crash_workload(fixture *f, int writes)
{
	f->cfg.sync = CAIRN_SYNC_EVERY;
	f->cfg.compact_log_bytes = 1500;
	f->cfg.retain_log_bytes = 4000;
	cairn_store_report rep;
	int rc = cairn_store_open(DIR_, &f->cfg, &f->s, &rep);
	if (rc)
		return rc;
	memset(f->is_delta, 0, sizeof f->is_delta);
	for (int i = 0; i < writes; i++) {
		char field[16];
		snprintf(field, sizeof field, "f%d", i % 9);
		cairn_value v = cairn_value_int(i);
		cairn_delta *dl;
		OK(cairn_delta_new(NULL, &dl));
		uint64_t seq = 0;
		if (cairn_store_set(f->s, "doc", field, &v, T0 + (uint64_t)i,
		                    dl, &seq) == 0) {
			cairn_buf_reset(&f->enc[seq]);
			OK(cairn_delta_encode(dl, &f->enc[seq]));
			f->is_delta[seq] = true;
		}
		cairn_delta_free(dl);
	}
	(void)cairn_store_close(f->s);
	f->s = NULL;
	return 0;
}

static void test_crash_with_kept(void **state)
{
	fixture *f = *state;
	OK(crash_workload(f, 200));
	uint64_t points = fault_vfs_calls(f->fv, FAULT_VFS_SYNC_POINT);
	/* Clean, it compacts several times and keeps part of the old log. */
	open_store(f);
	uint64_t kept = cairn_store_log_first(f->s);
	print_message("crash_with_kept: %llu sync points, log from %llu of "
	              "%llu\n",
	              (unsigned long long)points, (unsigned long long)kept,
	              (unsigned long long)cairn_store_last_seq(f->s));
	assert_true(kept > 1 && kept < 150);
	OK(cairn_store_close(f->s));
	f->s = NULL;
	const fault_vfs_crash_mode modes[] = {FAULT_VFS_CRASH_PREFIX,
	                                      FAULT_VFS_CRASH_DROP};
	for (uint64_t n = 1; n <= points; n++)
		for (size_t m = 0; m < 2; m++) {
			fault_vfs_free(f->fv);
			f->fv = fault_vfs_new();
			f->cfg.vfs = fault_vfs_vfs(f->fv);
			fault_vfs_set_crash_mode(f->fv, modes[m]);
			fault_vfs_crash_at_sync(f->fv, n);
			(void)crash_workload(f, 200);
			fault_vfs_crash(f->fv, n * 2 + m);
			fault_vfs_clear_faults(f->fv);
			cairn_store_report rep;
			int rc = cairn_store_open(DIR_, &f->cfg, &f->s, &rep);
			if (rc)
				fail_msg("crash at sync point %llu: open: %s: "
				         "%s",
				         (unsigned long long)n,
				         cairn_err_name(rc), rep.message);
			uint64_t first = cairn_store_log_first(f->s);
			uint64_t last = cairn_store_last_seq(f->s);
			assert_true(first <= last + 1);
			cairn_log_cursor *c;
			OK(cairn_store_cursor_open(f->s, first, &c));
			uint64_t seq, expect = first;
			const uint8_t *p;
			size_t len;
			while ((rc = cairn_store_cursor_next(c, &seq, &p,
			                                     &len)) == 0) {
				assert_int_equal(seq, expect++);
				if (f->is_delta[seq]) {
					assert_int_equal(len, f->enc[seq].len);
					assert_memory_equal(p, f->enc[seq].data,
					                    len);
				}
			}
			if (rc != CAIRN_EAGAIN)
				fail_msg("crash at sync point %llu: the cursor "
				         "from %llu stopped at %llu: %s",
				         (unsigned long long)n,
				         (unsigned long long)first,
				         (unsigned long long)expect,
				         cairn_err_name(rc));
			assert_int_equal(expect, last + 1);
			cairn_store_cursor_close(c);
			OK(cairn_store_close(f->s));
			f->s = NULL;
		}
}

/* ---- failures ----------------------------------------------------------- */

static void test_read_fails(void **state)
{
	fixture *f = *state;
	open_store(f);
	put_n(f, 2000); /* several windows */
	cairn_log_cursor *c;
	/* Opening: its file cannot be opened, or read. */
	fault_vfs_fail(f->fv, FAULT_VFS_OPEN, 1, -EIO, false);
	assert_int_equal(cairn_store_cursor_open(f->s, 5, &c), CAIRN_EIO);
	assert_int_equal(cairn_store_os_error(f->s), EIO);
	fault_vfs_fail(f->fv, FAULT_VFS_READ, 1, -EIO, false);
	assert_int_equal(cairn_store_cursor_open(f->s, 5, &c), CAIRN_EIO);
	/* Reading: an error, then the same record again. */
	OK(cairn_store_cursor_open(f->s, 1, &c));
	uint64_t seq;
	const uint8_t *p;
	size_t len, n;
	for (int i = 0; i < 3; i++)
		OK(cairn_store_cursor_next(c, &seq, &p, &len));
	/* The window holds what follows: a read happens when it runs out. */
	fault_vfs_fail(f->fv, FAULT_VFS_READ, 1, -EIO, true);
	int rc;
	while ((rc = cairn_store_cursor_next(c, &seq, &p, &len)) == 0)
		;
	assert_int_equal(rc, CAIRN_EIO);
	uint64_t at = cairn_store_cursor_pos(c);
	assert_int_equal(cairn_store_cursor_next(c, &seq, &p, &len), CAIRN_EIO);
	assert_int_equal(cairn_store_cursor_pos(c), at);
	fault_vfs_clear_faults(f->fv);
	assert_int_equal(drain(f, c, at, &n), CAIRN_EAGAIN);
	assert_int_equal(n, 2001 - at);
	cairn_store_cursor_close(c);
	/* Closing a cursor that failed leaks nothing (teardown checks the
	 * handles, the sanitizer the memory). */
	OK(cairn_store_cursor_open(f->s, 100, &c));
	fault_vfs_fail(f->fv, FAULT_VFS_READ, 1, -EIO, true);
	while ((rc = cairn_store_cursor_next(c, &seq, &p, &len)) == 0)
		;
	assert_int_equal(rc, CAIRN_EIO);
	cairn_store_cursor_close(c);
	fault_vfs_clear_faults(f->fv);
}

/* Every allocation failing in turn, once and from then on. */
static void test_alloc_fails(void **state)
{
	fixture *f = *state;
	fail_alloc fa;
	memset(&fa, 0, sizeof fa);
	f->cfg.replica.allocator = fail_alloc_allocator(&fa);
	f->cfg.compact_log_bytes = 2048;
	f->cfg.replica.limits.max_value_bytes = 1 << 20;
	open_store(f);
	put_n(f, 150);
	OK(cairn_store_compact(f->s));
	uint8_t *big = calloc(1, 100000);
	cairn_value v = cairn_value_bin(big, 100000);
	OK(cairn_store_set(f->s, "big", "b", &v, T0, NULL, NULL));
	free(big);
	uint64_t last = cairn_store_last_seq(f->s);
	unsigned failures = 0;
	for (uint64_t at = 1;; at++) {
		bool done = true;
		for (int persistent = 0; persistent < 2; persistent++) {
			fail_alloc_arm(&fa, at, persistent);
			cairn_log_cursor *c = NULL;
			int rc = cairn_store_cursor_open(f->s, 70, &c);
			uint64_t seq;
			const uint8_t *p;
			size_t len;
			while (!rc)
				rc = cairn_store_cursor_next(c, &seq, &p, &len);
			if (rc == CAIRN_ENOMEM) {
				failures++;
				done = false;
				/* Usable after: it goes on where it was (a
				 * failed open made no cursor: again). */
				fail_alloc_disarm(&fa);
				if (!c)
					OK(cairn_store_cursor_open(f->s, 70,
					                           &c));
				while ((rc = cairn_store_cursor_next(
				                c, &seq, &p, &len)) == 0)
					;
			}
			assert_int_equal(rc, CAIRN_EAGAIN);
			assert_int_equal(cairn_store_cursor_pos(c), last + 1);
			cairn_store_cursor_close(c);
			fail_alloc_disarm(&fa);
		}
		if (done)
			break;
	}
	assert_true(failures > 2);
	OK(cairn_store_close(f->s));
	f->s = NULL;
	assert_int_equal(fa.live_bytes, 0);
	assert_int_equal(fa.live_blocks, 0);
}

static void test_store_closed_first(void **state)
{
	fixture *f = *state;
	open_store(f);
	put_n(f, 5);
	cairn_log_cursor *c;
	uint64_t seq;
	const uint8_t *p;
	size_t len;
	OK(cairn_store_cursor_open(f->s, 1, &c));
	OK(cairn_store_cursor_next(c, &seq, &p, &len));
	OK(cairn_store_close(f->s));
	f->s = NULL;
	assert_int_equal(fault_vfs_open_handles(f->fv), 0);
	assert_int_equal(cairn_store_cursor_next(c, &seq, &p, &len),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_store_cursor_pos(c), 2);
	cairn_store_cursor_close(c);
}

/* ---- the sparse index --------------------------------------------------- */

static uint64_t reads_to_open_at(fixture *f, uint64_t from)
{
	uint64_t r0 = fault_vfs_calls(f->fv, FAULT_VFS_READ);
	cairn_log_cursor *c;
	OK(cairn_store_cursor_open(f->s, from, &c));
	uint64_t seq;
	const uint8_t *p;
	size_t len;
	OK(cairn_store_cursor_next(c, &seq, &p, &len));
	assert_int_equal(seq, from);
	cairn_store_cursor_close(c);
	return fault_vfs_calls(f->fv, FAULT_VFS_READ) - r0;
}

static void test_index(void **state)
{
	fixture *f = *state;
	f->cfg.history_depth = 0;
	open_store(f);
	put_n(f, 30000); /* about 2.5 MB, 40 windows */
	assert_true(cairn_store_log_bytes(f->s) > (2u << 20));
	uint64_t near_end = cairn_store_last_seq(f->s) - 10;
	/* Written here: marked as it was appended. */
	assert_true(reads_to_open_at(f, near_end) <= 6);
	/* Reopened: marked by recovery. */
	reopen(f);
	assert_true(reads_to_open_at(f, near_end) <= 6);
	/* Kept from an earlier run, unmarked: the first cursor walks the
	 * file, and marks it for the next ones. */
	OK(cairn_store_compact(f->s));
	reopen(f);
	assert_int_equal(cairn_store_log_first(f->s), 1);
	assert_true(reads_to_open_at(f, near_end) > 30);
	assert_true(reads_to_open_at(f, near_end - 5) <= 6);
	assert_true(reads_to_open_at(f, 15000) <= 6);
}

/* ---- the config of an earlier version ----------------------------------- */

static void test_config_sizes(void **state)
{
	fixture *f = *state;
	cairn_store *s;
	/* Too small, too large: refused. */
	assert_int_equal(
	        cairn_store_open_(DIR_, &f->cfg, sizeof f->cfg - 1, &s, NULL),
	        CAIRN_EVERSION);
	assert_int_equal(
	        cairn_store_open_(DIR_, &f->cfg, sizeof f->cfg + 8, &s, NULL),
	        CAIRN_EVERSION);
	/* The size before retain_log_bytes: only that much is read, and
	 * the retention is the default. */
	size_t old = offsetof(cairn_store_config, retain_log_bytes);
	uint8_t *mem = malloc(old);
	memcpy(mem, &f->cfg, old);
	OK(cairn_store_open_(DIR_, (const cairn_store_config *)(void *)mem, old,
	                     &f->s, NULL));
	free(mem);
	put_n(f, 10);
	OK(cairn_store_compact(f->s));
	assert_int_equal(cairn_store_log_first(f->s), 1);
	assert_true(fault_vfs_exists(f->fv, DIR_ "/log-0000000000000001"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_from_one),
	        T(test_from_middle),
	        T(test_catch_up_with_writes),
	        T(test_several_cursors),
	        T(test_peer_marks_passed_over),
	        T(test_big_record),
	        T(test_pending_write),
	        T(test_across_compaction),
	        T(test_retention_zero),
	        T(test_retention_bounded),
	        T(test_reopen_kept),
	        T(test_reopen_missing_kept),
	        T(test_reopen_damaged_kept),
	        T(test_repair_with_kept),
	        T(test_crash_with_kept),
	        T(test_read_fails),
	        T(test_alloc_fails),
	        T(test_store_closed_first),
	        T(test_index),
	        T(test_config_sizes),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
