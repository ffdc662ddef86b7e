/*
 * test_store_crash.c -- the store's reliability suites, on the in-memory
 * fault-injecting VFS (tests/support/fault_vfs.h). Catalog rows S1-S4 and
 * S6 of ../shared/research/reliability-anchors.md; S5, the kill -9 loop,
 * is tests/integration/test_store_kill9.c.
 *
 *   S1 truncate_every_offset  a 200-record log cut at every byte offset
 *                             opens, every time, to exactly the state of
 *                             the records wholly before the cut.
 *   S2 bit_flips              10,000 single-bit flips in the log, the
 *                             snapshot, meta and a secret: a clean
 *                             CAIRN_ECORRUPT (which repair turns into an
 *                             exact prefix, or refuses for snapshot and
 *                             meta) or an exact prefix; never a wrong value.
 *                             A flip in the log file the snapshot holds
 *                             (kept for cursors) never stops the open; a
 *                             cursor over it delivers only good records,
 *                             then stops (CAIRN_ECORRUPT) and the store
 *                             stops offering that file.
 *   S3 crash_every_sync_point a power loss (or kill) at every sync point
 *                             of a 100-operation workload, 3 seeds, each
 *                             crash mode: no acknowledged write lost, no
 *                             store left unopenable.
 *   S4 nth_io_fails           the Nth call of each kind failing, for every
 *                             N, transient and persistent, EIO and ENOSPC:
 *                             clean errors, no leaked handle or memory, a
 *                             poisoned handle after a failed log fsync, and
 *                             every acknowledged write kept.
 *   S6 snapshot_crash         a crash at every step of a compaction leaves
 *                             exactly the state before it (compaction
 *                             changes no state), never a mix.
 *
 * "The state" is compared by cairn_replica_digest(). While a workload runs
 * the test records the digest of the store's replica after every call:
 * the states a recovery may legitimately return. A write is acknowledged
 * when its call returned 0 under CAIRN_SYNC_EVERY (or a sync, compaction
 * or close returned 0 after it); recovery must return one of the recorded
 * states from the last acknowledged one on.
 *
 * Seeds: S2 prints its seed; CAIRN_TEST_SEED=<seed> replays it (and runs
 * S3 with that seed alone). CAIRN_TEST_FILTER=<test name> runs one test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cairn.h"
#include "fault_vfs.h"
#include "rng.h"
#include "sim_util.h"

#define OK(x) assert_int_equal((x), 0)
#define DIR_ "/s"
#define T0 UINT64_C(1700000000000)
#define DIG CAIRN_DIGEST_BYTES

/* ---- helpers ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void base_config(cairn_store_config *cfg, fault_vfs *fv,
                        cairn_sync_policy policy)
{
	cairn_store_config_init(cfg);
	cfg->replica.id = 0x5151;
	cfg->sync = policy;
	cfg->compact_log_bytes = 0; /* compaction only where a test asks */
	cfg->vfs = fault_vfs_vfs(fv);
}

static void digest_of(const cairn_store *s, uint8_t out[DIG])
{
	OK(cairn_replica_digest(cairn_store_replica(s), out));
}

static void open_ok(const cairn_store_config *cfg, cairn_store **s,
                    cairn_store_report *rep)
{
	cairn_store_report local;
	if (!rep)
		rep = &local;
	int rc = cairn_store_open(DIR_, cfg, s, rep);
	if (rc)
		fail_msg("open: %s: %s", cairn_err_name(rc), rep->message);
}

/*
 * One random local write to a handful of documents: registers r0..r4 get
 * ints, strings and bins of 0..max_str (<= 1000) bytes; sets s0..s2 get adds
 * and removes of ten elements; deletes hit registers and sets. The choice
 * depends only on the generator, never on results, so one seed is one sequence
 * of calls. A delete or remove of something absent returns CAIRN_ENOTFOUND and
 * writes nothing.
 */
static int random_write_max(cairn_store *s, rng *r, uint64_t step,
                            size_t max_str, uint64_t *seq)
{
	char doc[8], field[8];
	snprintf(doc, sizeof doc, "d%u", (unsigned)rng_below(r, 4));
	char buf[1024];
	unsigned kind = (unsigned)rng_below(r, 100);
	uint64_t now = T0 + step * 3;
	if (kind < 50) {
		snprintf(field, sizeof field, "r%u", (unsigned)rng_below(r, 5));
		cairn_value v;
		unsigned what = (unsigned)rng_below(r, 3);
		if (what == 0) {
			v = cairn_value_int((int64_t)rng_u64(r));
		} else {
			size_t len = (size_t)rng_below(r, max_str + 1);
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)('a' + rng_below(r, 26));
			v = what == 1 ? cairn_value_strn(buf, len)
			              : cairn_value_bin(buf, len);
		}
		return cairn_store_set(s, doc, field, &v, now, NULL, seq);
	}
	if (kind < 60) {
		snprintf(field, sizeof field, "%c%u",
		         rng_pct(r, 60) ? 'r' : 's', (unsigned)rng_below(r, 5));
		return cairn_store_del(s, doc, field, NULL, seq);
	}
	snprintf(field, sizeof field, "s%u", (unsigned)rng_below(r, 3));
	char elem[8];
	snprintf(elem, sizeof elem, "e%u", (unsigned)rng_below(r, 10));
	cairn_value e = cairn_value_str(elem);
	if (kind < 85)
		return cairn_store_add(s, doc, field, &e, NULL, seq);
	return cairn_store_rm(s, doc, field, &e, NULL, seq);
}

static int random_write(cairn_store *s, rng *r, uint64_t step, uint64_t *seq)
{
	return random_write_max(s, r, step, 1000, seq);
}

/* ---- a copy of a store's files ------------------------------------------ */

typedef struct file_copy {
	char name[64];
	uint8_t *p;
	size_t len;
} file_copy;

typedef struct disk {
	file_copy f[32];
	size_t n;
} disk;

static int list_name(const char *name, void *ud)
{
	disk *dk = ud;
	assert_true(dk->n < 32);
	snprintf(dk->f[dk->n++].name, sizeof dk->f[0].name, "%s", name);
	return 0;
}

/* The current content of every file in DIR_ but LOCK. */
static void disk_take(fault_vfs *fv, disk *dk)
{
	memset(dk, 0, sizeof *dk);
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(v->list(v->ud, DIR_, list_name, dk));
	size_t kept = 0;
	for (size_t i = 0; i < dk->n; i++) {
		if (strcmp(dk->f[i].name, "LOCK") == 0)
			continue;
		dk->f[kept] = dk->f[i];
		char path[128];
		snprintf(path, sizeof path, DIR_ "/%s", dk->f[kept].name);
		OK(fault_vfs_file_bytes(fv, path, &dk->f[kept].p,
		                        &dk->f[kept].len));
		kept++;
	}
	dk->n = kept;
}

static const file_copy *disk_find(const disk *dk, const char *name)
{
	for (size_t i = 0; i < dk->n; i++)
		if (strcmp(dk->f[i].name, name) == 0)
			return &dk->f[i];
	fail_msg("no file %s", name);
	return NULL;
}

/* A fresh file system holding exactly these files. */
static fault_vfs *disk_make(const disk *dk)
{
	fault_vfs *fv = fault_vfs_new();
	OK(fault_vfs_mkdir_p(fv, DIR_));
	for (size_t i = 0; i < dk->n; i++) {
		char path[128];
		snprintf(path, sizeof path, DIR_ "/%s", dk->f[i].name);
		OK(fault_vfs_set_file_bytes(fv, path, dk->f[i].p,
		                            dk->f[i].len));
	}
	return fv;
}

static void disk_free(disk *dk)
{
	for (size_t i = 0; i < dk->n; i++)
		free(dk->f[i].p);
	memset(dk, 0, sizeof *dk);
}

/* ---- recorded states ---------------------------------------------------- */

/*
 * The digests a workload went through, in order, and which of them is the
 * last acknowledged (durable) one.
 */
typedef struct states {
	uint8_t (*d)[DIG];
	size_t n, cap;
	size_t acked;
} states;

static void states_push(states *st, const cairn_store *s)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->d = realloc(st->d, st->cap * sizeof *st->d);
		assert_non_null(st->d);
	}
	if (s) {
		digest_of(s, st->d[st->n]);
	} else {
		/* before the store exists: an empty replica */
		cairn_replica_config rc;
		cairn_replica_config_init(&rc);
		rc.id = 0x5151;
		cairn_replica *r;
		OK(cairn_replica_new(&rc, &r));
		OK(cairn_replica_digest(r, st->d[st->n]));
		cairn_replica_free(r);
	}
	st->n++;
}

static void states_free(states *st)
{
	free(st->d);
	memset(st, 0, sizeof *st);
}

/* The index of the state `dig` equals, at or after st->acked; or -1. */
static long states_find(const states *st, const uint8_t dig[DIG])
{
	for (size_t i = st->acked; i < st->n; i++)
		if (memcmp(st->d[i], dig, DIG) == 0)
			return (long)i;
	return -1;
}

/* ---- S1: truncation at every byte offset ---------------------------------
 */

#define S1_RECORDS 200
#define S1_BIG 16 /* the first records carry large values */

static void test_truncate_every_offset(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	cairn_store_config cfg;
	base_config(&cfg, fv, CAIRN_SYNC_NONE);
	/* The log's framing is under test, not history: without it each of
	 * the ~50,000 opens replays its records three times faster. */
	cfg.history_depth = 0;
	cairn_store *s;
	open_ok(&cfg, &s, NULL);
	static uint8_t dig[S1_RECORDS + 1][DIG];
	uint64_t end[S1_RECORDS + 1];
	digest_of(s, dig[0]);
	end[0] = cairn_store_log_bytes(s);
	rng r;
	rng_seed(&r, 0x51);
	/*
	 * Every cut replays the records before it, so the cost grows with
	 * bytes x records: the large records (2-3 KB values) come first and
	 * the small, varied ones (values of 0-24 bytes, deletes, set adds and
	 * removes: every record layout) after them. ~50 KB in all.
	 */
	for (uint64_t seq = 0, step = 0; seq < S1_RECORDS; step++) {
		uint64_t got = 0;
		int rc;
		if (seq < S1_BIG) {
			char big[3072];
			size_t len = 2048 + (size_t)rng_below(&r, 1024);
			rng_bytes(&r, big, len);
			cairn_value v = cairn_value_bin(big, len);
			char field[8];
			snprintf(field, sizeof field, "b%u",
			         (unsigned)(seq % 4));
			rc = cairn_store_set(s, "big", field, &v, T0 + step,
			                     NULL, &got);
		} else {
			rc = random_write_max(s, &r, step, 24, &got);
		}
		if (rc == CAIRN_ENOTFOUND)
			continue;
		OK(rc);
		assert_int_equal(got, ++seq);
		digest_of(s, dig[seq]);
		end[seq] = cairn_store_log_bytes(s);
	}
	OK(cairn_store_close(s));
	disk dk;
	disk_take(fv, &dk);
	fault_vfs_free(fv);
	const char *log_name = "log-0000000000000001";
	size_t size = disk_find(&dk, log_name)->len;
	assert_int_equal(size, end[S1_RECORDS]);
	print_message("S1: %d records, %zu bytes of log, %zu cuts\n",
	              S1_RECORDS, size, size + 1);

	/* One file system, its log put back, cut, before every open (an open
	 * changes nothing else: no snapshot, the same meta). */
	const uint8_t *whole = disk_find(&dk, log_name)->p;
	fault_vfs *c = disk_make(&dk);
	cfg.vfs = fault_vfs_vfs(c);
	size_t k = 0;
	for (size_t off = 0; off <= size; off++) {
		while (k < S1_RECORDS && end[k + 1] <= off)
			k++;
		OK(fault_vfs_set_file_bytes(c, DIR_ "/log-0000000000000001",
		                            whole, off));
		cairn_store_report rep;
		int rc = cairn_store_open(DIR_, &cfg, &s, &rep);
		if (rc)
			fail_msg("cut at %zu: open: %s: %s", off,
			         cairn_err_name(rc), rep.message);
		uint8_t got[DIG];
		digest_of(s, got);
		if (cairn_store_last_seq(s) != k ||
		    memcmp(got, dig[k], DIG) != 0)
			fail_msg("cut at %zu: recovered seq %llu, expected the "
			         "state after record %zu",
			         off,
			         (unsigned long long)cairn_store_last_seq(s),
			         k);
		assert_int_equal(rep.records, k);
		/* What was cut off: the torn record's bytes (or the torn
		 * header of a log being created). */
		assert_int_equal(rep.torn_bytes,
		                 off - (off < end[0] ? 0 : end[k]));
		/* Now and then: the next record goes where the torn one
		 * started, and everything reopens. */
		if (off % 61 == 0 || off == size) {
			cairn_value v = cairn_value_int((int64_t)off);
			uint64_t seq;
			OK(cairn_store_set(s, "after", "cut", &v, T0 + 100000,
			                   NULL, &seq));
			assert_int_equal(seq, k + 1);
			assert_true(cairn_store_log_bytes(s) > end[k]);
			OK(cairn_store_close(s));
			open_ok(&cfg, &s, &rep);
			assert_int_equal(cairn_store_last_seq(s), k + 1);
			assert_int_equal(rep.torn_bytes, 0);
			cairn_doc *d;
			cairn_value gv;
			OK(cairn_replica_find(cairn_store_replica(s), "after",
			                      &d));
			OK(cairn_doc_get(d, "cut", &gv, NULL));
			assert_int_equal(gv.as.i, (int64_t)off);
		}
		OK(cairn_store_close(s));
		assert_int_equal(fault_vfs_open_handles(c), 0);
	}
	fault_vfs_free(c);
	disk_free(&dk);
}

/* ---- S2: single-bit flips ------------------------------------------------
 */

#define S2_FLIPS 10000
#define S2_BEFORE 60 /* records folded into the snapshot */
#define S2_AFTER 60  /* records in the log after it */

static const uint8_t s2_secret[48] =
        "identity key bytes, forty-eight of them.....!";

/*
 * Read the log back with cursors: from cairn_store_log_first() on, every
 * record must come in order and decode, up to the end or, only while in
 * the retained file (before `after_snap`), a CAIRN_ECORRUPT, after which
 * the store no longer offers that file. From after_snap on, the records
 * after the snapshot, all of them.
 */
static void s2_cursors(cairn_store *s, uint64_t after_snap, const char *what)
{
	uint64_t first = cairn_store_log_first(s),
	         last = cairn_store_last_seq(s);
	cairn_delta *d;
	OK(cairn_delta_new(NULL, &d));
	cairn_limits lim;
	cairn_limits_init(&lim);
	for (int pass = 0; pass < 2; pass++) {
		uint64_t from = pass == 0 ? first : after_snap;
		if (from < cairn_store_log_first(s))
			fail_msg("%s: the log does not reach %llu", what,
			         (unsigned long long)from);
		cairn_log_cursor *c;
		int rc = cairn_store_cursor_open(s, from, &c);
		if (rc == CAIRN_ECORRUPT && from < after_snap) {
			assert_true(cairn_store_log_first(s) >= after_snap);
			continue;
		}
		if (rc)
			fail_msg("%s: cursor from %llu: %s", what,
			         (unsigned long long)from, cairn_err_name(rc));
		uint64_t seq, prev = from - 1;
		const uint8_t *p;
		size_t len;
		while ((rc = cairn_store_cursor_next(c, &seq, &p, &len)) == 0) {
			assert_true(seq > prev);
			prev = seq;
			cairn_delta_clear(d);
			if (cairn_delta_decode(d, p, len, &lim) != 0)
				fail_msg("%s: record %llu does not decode",
				         what, (unsigned long long)seq);
		}
		if (rc == CAIRN_ECORRUPT && pass == 0 &&
		    cairn_store_cursor_pos(c) < after_snap) {
			assert_true(cairn_store_log_first(s) >= after_snap);
		} else if (rc != CAIRN_EAGAIN) {
			fail_msg("%s: cursor from %llu stopped at %llu: %s",
			         what, (unsigned long long)from,
			         (unsigned long long)cairn_store_cursor_pos(c),
			         cairn_err_name(rc));
		} else {
			assert_int_equal(cairn_store_cursor_pos(c), last + 1);
		}
		cairn_store_cursor_close(c);
	}
	cairn_delta_free(d);
}

static void test_bit_flips(void **state)
{
	(void)state;
	uint64_t seed = 0xb17f11b5;
	(void)sim_env_u64("CAIRN_TEST_SEED", &seed);
	print_message("S2: seed %llu (replay: CAIRN_TEST_SEED=%llu)\n",
	              (unsigned long long)seed, (unsigned long long)seed);

	/* A store with a snapshot of S2_BEFORE records, a log of S2_AFTER
	 * more (one of them a peer mark), meta and a secret. */
	fault_vfs *fv = fault_vfs_new();
	cairn_store_config cfg;
	base_config(&cfg, fv, CAIRN_SYNC_EVERY);
	cairn_store *s;
	open_ok(&cfg, &s, NULL);
	enum { TOTAL = S2_BEFORE + S2_AFTER };
	static uint8_t dig[TOTAL + 1][DIG];
	uint64_t end[TOTAL + 1] = {0};
	digest_of(s, dig[0]);
	rng r;
	rng_seed(&r, 0x52);
	const uint8_t peer[CAIRN_PEER_ID_BYTES] = {7, 7, 7};
	for (uint64_t seq = 0, step = 0; seq < TOTAL; step++) {
		uint64_t got = 0;
		int rc;
		if (seq == S2_BEFORE + 20) {
			rc = cairn_store_peer_put(s, peer, 99);
			got = cairn_store_last_seq(s);
		} else {
			rc = random_write(s, &r, step, &got);
		}
		if (rc == CAIRN_ENOTFOUND)
			continue;
		OK(rc);
		assert_int_equal(got, ++seq);
		digest_of(s, dig[seq]);
		end[seq] = cairn_store_log_bytes(s);
		if (seq == S2_BEFORE) {
			OK(cairn_store_compact(s));
			end[seq] = cairn_store_log_bytes(s);
			assert_int_equal(end[seq], 20);
		}
	}
	OK(cairn_store_secret_put(s, "identity", s2_secret, sizeof s2_secret));
	OK(cairn_store_close(s));
	disk dk;
	disk_take(fv, &dk);
	fault_vfs_free(fv);
	char log_name[32];
	snprintf(log_name, sizeof log_name, "log-%016x", S2_BEFORE + 1);
	size_t total_bits = 0;
	for (size_t i = 0; i < dk.n; i++) {
		print_message("S2: %-24s %6zu bytes\n", dk.f[i].name,
		              dk.f[i].len);
		total_bits += dk.f[i].len * 8;
	}
	/* meta, snapshot, the log, the log the snapshot holds (kept for
	 * cursors), the secret */
	assert_int_equal(dk.n, 5);
	assert_int_equal(disk_find(&dk, log_name)->len, end[TOTAL]);
	const char *kept_name = "log-0000000000000001";
	(void)disk_find(&dk, kept_name);

	rng_seed(&r, seed);
	unsigned counts[6] = {0}; /* opened, ECORRUPT repaired, refused */
	for (int t = 0; t < S2_FLIPS; t++) {
		uint64_t bit = rng_below(&r, total_bits);
		size_t fi = 0;
		while (bit >= dk.f[fi].len * 8)
			bit -= dk.f[fi++].len * 8;
		const char *name = dk.f[fi].name;
		size_t byte = (size_t)(bit / 8);
		char path[128];
		snprintf(path, sizeof path, DIR_ "/%s", name);
		fault_vfs *c = disk_make(&dk);
		OK(fault_vfs_flip_bit(c, path, bit));
		cfg.vfs = fault_vfs_vfs(c);

		/* What must happen, exactly. A flipped bit in record j of
		 * the log: j is dropped as a torn tail if it is the last
		 * one, else the open refuses and repair keeps 1..j-1. */
		bool in_log = strcmp(name, log_name) == 0;
		bool in_kept = strcmp(name, kept_name) == 0;
		bool in_secret = strncmp(name, "secret-", 7) == 0;
		uint64_t j = 0; /* the damaged record, 0: the header */
		if (in_log && byte >= 20)
			for (j = S2_BEFORE + 1; end[j] <= byte; j++)
				;
		char what[160];
		snprintf(what, sizeof what,
		         "flip %d (seed %llu): bit %llu of "
		         "%s (byte %zu, record %llu)",
		         t, (unsigned long long)seed,
		         (unsigned long long)(bit % 8), name, byte,
		         (unsigned long long)j);

		cairn_store_report rep;
		int rc = cairn_store_open(DIR_, &cfg, &s, &rep);
		uint64_t expect_seq = TOTAL;
		if (in_log && j == TOTAL) {
			/* the last record: a torn tail */
			if (rc)
				fail_msg("%s: open: %s: %s", what,
				         cairn_err_name(rc), rep.message);
			assert_int_equal(rep.torn_bytes, end[j] - end[j - 1]);
			expect_seq = TOTAL - 1;
			counts[0]++;
		} else if (in_kept) {
			/* the snapshot holds all of it: never refused */
			if (rc)
				fail_msg("%s: open: %s: %s", what,
				         cairn_err_name(rc), rep.message);
			counts[4]++;
		} else if (in_log || !in_secret) {
			if (rc != CAIRN_ECORRUPT)
				fail_msg("%s: open returned %s, not "
				         "CAIRN_ECORRUPT",
				         what, cairn_err_name(rc));
			if (!rep.message[0] || !strstr(rep.path, name))
				fail_msg("%s: the report does not say where: "
				         "path '%s', message '%s'",
				         what, rep.path, rep.message);
			if (in_log)
				assert_int_equal(rep.offset,
				                 j ? end[j - 1] : 0);
			cairn_store_report rrep;
			int rr = cairn_store_repair(DIR_, cfg.vfs, &rrep);
			if (!in_log) {
				/* meta or snapshot: beyond repair */
				if (rr != CAIRN_ECORRUPT)
					fail_msg("%s: repair returned %s, not "
					         "CAIRN_ECORRUPT",
					         what, cairn_err_name(rr));
				assert_int_equal(
				        cairn_store_open(DIR_, &cfg, &s, &rep),
				        CAIRN_ECORRUPT);
				counts[2]++;
				assert_int_equal(fault_vfs_open_handles(c), 0);
				fault_vfs_free(c);
				continue;
			}
			if (rr)
				fail_msg("%s: repair: %s: %s", what,
				         cairn_err_name(rr), rrep.message);
			rc = cairn_store_open(DIR_, &cfg, &s, &rep);
			if (rc)
				fail_msg("%s: open after repair: %s: %s", what,
				         cairn_err_name(rc), rep.message);
			expect_seq = j ? j - 1 : S2_BEFORE;
			counts[1]++;
		} else {
			/* a secret: the data opens, the secret is refused */
			if (rc)
				fail_msg("%s: open: %s: %s", what,
				         cairn_err_name(rc), rep.message);
			counts[3]++;
		}
		uint8_t got[DIG];
		digest_of(s, got);
		if (cairn_store_last_seq(s) != expect_seq ||
		    memcmp(got, dig[expect_seq], DIG) != 0)
			fail_msg("%s: recovered seq %llu, not the state after "
			         "record %llu",
			         what,
			         (unsigned long long)cairn_store_last_seq(s),
			         (unsigned long long)expect_seq);
		uint8_t sec[64];
		size_t len = 0;
		rc = cairn_store_secret_get(s, "identity", sec, sizeof sec,
		                            &len);
		if (in_secret) {
			assert_int_equal(rc, CAIRN_ECORRUPT);
		} else {
			OK(rc);
			assert_int_equal(len, sizeof s2_secret);
			assert_memory_equal(sec, s2_secret, len);
		}
		uint64_t mark = 0;
		rc = cairn_store_peer_get(s, peer, &mark);
		if (expect_seq >= S2_BEFORE + 21) {
			OK(rc);
			assert_int_equal(mark, 99);
		} else {
			assert_int_equal(rc, CAIRN_ENOTFOUND);
		}
		/* Now and then (it reads the whole log): the cursors. */
		if (in_kept || t % 16 == 0)
			s2_cursors(s, S2_BEFORE + 1, what);
		OK(cairn_store_close(s));
		assert_int_equal(fault_vfs_open_handles(c), 0);
		fault_vfs_free(c);
	}
	print_message("S2: %u torn tails, %u repaired, %u refused (meta, "
	              "snapshot), %u secrets caught, %u in the kept log\n",
	              counts[0], counts[1], counts[2], counts[3], counts[4]);
	disk_free(&dk);
}

/* ---- a workload run under faults ---------------------------------------- */

/*
 * A thin VFS over the fault VFS that remembers which path each handle
 * names, to tell a failed fsync of the log (which must poison the handle)
 * from one of a snapshot or small file (which need not).
 */
typedef struct spy {
	const cairn_vfs *in;
	cairn_vfs vfs;
	struct {
		int h;
		bool records; /* a log written past its header */
		char path[128];
	} open[64];
	size_t nopen;
	bool log_sync_failed;
} spy;

static int spy_open(void *ud, const char *path, int flags, unsigned mode,
                    int *out)
{
	spy *sp = ud;
	int e = sp->in->open(sp->in->ud, path, flags, mode, out);
	if (!e) {
		assert_true(sp->nopen < 64);
		sp->open[sp->nopen].h = *out;
		sp->open[sp->nopen].records = false;
		snprintf(sp->open[sp->nopen++].path, 128, "%s", path);
	}
	return e;
}

static int spy_close(void *ud, int file)
{
	spy *sp = ud;
	for (size_t i = 0; i < sp->nopen; i++)
		if (sp->open[i].h == file) {
			sp->open[i] = sp->open[--sp->nopen];
			break;
		}
	return sp->in->close(sp->in->ud, file);
}

static int spy_sync(void *ud, int file, bool data_only)
{
	spy *sp = ud;
	int e = sp->in->sync(sp->in->ud, file, data_only);
	if (e)
		for (size_t i = 0; i < sp->nopen; i++)
			if (sp->open[i].h == file && sp->open[i].records)
				sp->log_sync_failed = true;
	return e;
}

/* A log that records were appended to: its fsync failing loses them. */
static int spy_write(void *ud, int f, uint64_t off, const void *b, size_t n,
                     size_t *p)
{
	spy *sp = ud;
	if (off >= 20)
		for (size_t i = 0; i < sp->nopen; i++)
			if (sp->open[i].h == f &&
			    strstr(sp->open[i].path, "/log-"))
				sp->open[i].records = true;
	return sp->in->write(sp->in->ud, f, off, b, n, p);
}

#define FWD(name, params, args)                                                \
	static int spy_##name params                                           \
	{                                                                      \
		spy *sp = ud;                                                  \
		return sp->in->name args;                                      \
	}
FWD(read, (void *ud, int f, uint64_t off, void *b, size_t n, size_t *g),
    (sp->in->ud, f, off, b, n, g))
FWD(size, (void *ud, int f, uint64_t *out), (sp->in->ud, f, out))
FWD(truncate, (void *ud, int f, uint64_t n), (sp->in->ud, f, n))
FWD(rename, (void *ud, const char *a, const char *b), (sp->in->ud, a, b))
FWD(unlink, (void *ud, const char *p), (sp->in->ud, p))
FWD(mkdir, (void *ud, const char *p, unsigned m), (sp->in->ud, p, m))
FWD(sync_dir, (void *ud, const char *p), (sp->in->ud, p))
FWD(list, (void *ud, const char *d, cairn_vfs_list_fn fn, void *fu),
    (sp->in->ud, d, fn, fu))
FWD(lock, (void *ud, int f), (sp->in->ud, f))

static void spy_init(spy *sp, fault_vfs *fv)
{
	memset(sp, 0, sizeof *sp);
	sp->in = fault_vfs_vfs(fv);
	sp->vfs = (cairn_vfs){sp,         spy_open,   spy_close, spy_read,
	                      spy_write,  spy_sync,   spy_size,  spy_truncate,
	                      spy_rename, spy_unlink, spy_mkdir, spy_sync_dir,
	                      spy_list,   spy_lock};
}

/* What one run of a workload did, for the checks after it. */
typedef struct run {
	fault_vfs *fv;
	spy sp;
	cairn_store_config cfg;
	cairn_store *s;
	states st;
	bool recording;    /* stop recording states once the disk crashed */
	bool poisoned;     /* a log fsync failed: only EPOISONED from here */
	bool secret_acked; /* secret_put returned 0 */
	bool peer_acked;
	const char *where; /* for messages */
} run;

static const uint8_t w_secret[5] = {1, 2, 3, 4, 5};
static const uint8_t w_peer[CAIRN_PEER_ID_BYTES] = {9, 8, 7};

static bool rc_clean(int rc)
{
	return rc == 0 || rc == CAIRN_EIO || rc == CAIRN_EFULL ||
	       rc == CAIRN_EPOISONED;
}

/*
 * After each call: record the state, check the error is one the contract
 * allows, and track acknowledgement and poisoning. `acks` says whether a 0
 * from this call makes everything before it durable.
 */
static void after_call(run *w, const char *call, int rc, bool acks,
                       bool is_write)
{
	if (w->recording) {
		states_push(&w->st, w->s);
		if (fault_vfs_crashed(w->fv))
			w->recording = false;
	}
	if (!rc_clean(rc) && !(is_write && rc == CAIRN_ENOTFOUND))
		fail_msg("%s: %s returned %s", w->where, call,
		         cairn_err_name(rc));
	if (w->poisoned && is_write && rc != CAIRN_EPOISONED)
		fail_msg("%s: %s after a failed log fsync returned %s, not "
		         "CAIRN_EPOISONED",
		         w->where, call, cairn_err_name(rc));
	if (rc == 0 && acks && w->recording) {
		w->st.acked = w->st.n - 1;
	} else if (rc == 0 && acks && !w->recording) {
		/* A call may succeed after the disk crashed only if it had
		 * nothing left to make durable (a compaction whose snapshot
		 * was durable before): the replica must be in the last
		 * recorded state, which is then acknowledged. */
		uint8_t now[DIG];
		digest_of(w->s, now);
		if (memcmp(now, w->st.d[w->st.n - 1], DIG) != 0)
			fail_msg("%s: %s succeeded after the crash", w->where,
			         call);
		w->st.acked = w->st.n - 1;
	}
	if (w->sp.log_sync_failed && !w->poisoned) {
		if (rc == 0)
			fail_msg("%s: %s returned 0 though the log's fsync "
			         "failed",
			         w->where, call);
		w->poisoned = true;
	}
}

typedef enum wl_kind {
	WL_SMALL, /* S4: ~30 calls of every kind */
	WL_100,   /* S3: 100 writes, a compaction at 50 */
} wl_kind;

/*
 * Open (creating), the workload, close. Under CAIRN_SYNC_GROUP a sync
 * after every fifth operation. Every result is checked by after_call();
 * the run stops early only if the open fails.
 */
static void workload(run *w, wl_kind kind, uint64_t seed)
{
	cairn_store_report rep;
	w->recording = true;
	w->st.acked = 0;
	states_push(&w->st, NULL); /* before open: nothing */
	int rc = cairn_store_open(DIR_, &w->cfg, &w->s, &rep);
	if (!rc_clean(rc))
		fail_msg("%s: open returned %s: %s", w->where,
		         cairn_err_name(rc), rep.message);
	if (fault_vfs_crashed(w->fv))
		w->recording = false;
	if (rc) {
		assert_null(w->s);
		return;
	}
	/* An empty replica: the same state as "nothing" for the checks. */
	w->st.n = 0;
	states_push(&w->st, w->s);
	w->st.acked = 0;
	rng r;
	rng_seed(&r, seed);
	int ops = kind == WL_100 ? 100 : 24;
	bool group = w->cfg.sync == CAIRN_SYNC_GROUP;
	for (int i = 0; i < ops; i++) {
		if (kind == WL_100 && i == 50) {
			rc = cairn_store_compact(w->s);
			after_call(w, "compact", rc, true, true);
			continue;
		}
		if (kind == WL_SMALL && i == 10) {
			rc = cairn_store_compact(w->s);
			after_call(w, "compact", rc, true, true);
			continue;
		}
		if (kind == WL_SMALL && i == 6) {
			rc = cairn_store_peer_put(w->s, w_peer, 77);
			after_call(w, "peer_put", rc, !group, true);
			if (rc == 0 && !group)
				w->peer_acked = true;
			continue;
		}
		if (kind == WL_SMALL && i == 16) {
			rc = cairn_store_secret_put(w->s, "k", w_secret,
			                            sizeof w_secret);
			after_call(w, "secret_put", rc, false, false);
			if (rc == 0)
				w->secret_acked = true;
			continue;
		}
		rc = random_write(w->s, &r, (uint64_t)i, NULL);
		after_call(w, "write", rc, !group, true);
		if (group && i % 5 == 4) {
			rc = cairn_store_sync(w->s);
			after_call(w, "sync", rc, true, true);
		}
	}
	rc = cairn_store_close(w->s);
	w->s = NULL;
	/* close's fsync makes everything durable; its state is the last
	 * one recorded. */
	if (rc == 0 && w->recording && !w->poisoned)
		w->st.acked = w->st.n - 1;
	if (!rc_clean(rc))
		fail_msg("%s: close returned %s", w->where, cairn_err_name(rc));
	if (fault_vfs_open_handles(w->fv) != 0)
		fail_msg("%s: %zu handles open after close", w->where,
		         fault_vfs_open_handles(w->fv));
}

/*
 * Reopen after the run (faults cleared): it must open, if need be after a
 * repair when `may_repair`, to one of the states from the acknowledged one
 * on; the acknowledged secret and peer mark must be there. Then one more
 * write must work and survive a reopen.
 */
static void check_recovery(run *w, bool may_repair, bool write_after,
                           const char *how)
{
	cairn_store_config cfg = w->cfg;
	cfg.vfs = fault_vfs_vfs(w->fv);
	cairn_store_report rep;
	cairn_store *s;
	int rc = cairn_store_open(DIR_, &cfg, &s, &rep);
	if (rc == CAIRN_ECORRUPT && may_repair) {
		cairn_store_report rrep;
		int rr = cairn_store_repair(DIR_, cfg.vfs, &rrep);
		if (rr)
			fail_msg("%s, %s: repair: %s: %s", w->where, how,
			         cairn_err_name(rr), rrep.message);
		rc = cairn_store_open(DIR_, &cfg, &s, &rep);
	}
	if (rc)
		fail_msg("%s, %s: reopen: %s: %s", w->where, how,
		         cairn_err_name(rc), rep.message);
	uint8_t got[DIG];
	digest_of(s, got);
	if (states_find(&w->st, got) < 0) {
		long any = -1;
		for (size_t i = 0; i < w->st.n && any < 0; i++)
			if (memcmp(w->st.d[i], got, DIG) == 0)
				any = (long)i;
		fail_msg("%s, %s: recovered state is not one from the last "
		         "acknowledged (%zu of %zu) on; it is state %ld",
		         w->where, how, w->st.acked, w->st.n, any);
	}
	uint8_t sec[16];
	size_t len = 0;
	rc = cairn_store_secret_get(s, "k", sec, sizeof sec, &len);
	if (w->secret_acked)
		OK(rc);
	if (rc == 0)
		assert_memory_equal(sec, w_secret, sizeof w_secret);
	else
		assert_int_equal(rc, CAIRN_ENOTFOUND);
	uint64_t mark = 0;
	rc = cairn_store_peer_get(s, w_peer, &mark);
	if (w->peer_acked)
		OK(rc);
	if (rc == 0)
		assert_int_equal(mark, 77);
	else
		assert_int_equal(rc, CAIRN_ENOTFOUND);
	if (!write_after) {
		OK(cairn_store_close(s));
		assert_int_equal(fault_vfs_open_handles(w->fv), 0);
		return;
	}
	/* Writable, and the write lands after what was recovered. */
	uint64_t last = cairn_store_last_seq(s), seq = 0;
	cairn_value v = cairn_value_int(4242);
	OK(cairn_store_set(s, "z", "after", &v, T0 + 1000000, NULL, &seq));
	assert_int_equal(seq, last + 1);
	digest_of(s, got);
	OK(cairn_store_close(s));
	open_ok(&cfg, &s, &rep);
	uint8_t again[DIG];
	digest_of(s, again);
	assert_memory_equal(got, again, DIG);
	assert_int_equal(cairn_store_last_seq(s), last + 1);
	OK(cairn_store_close(s));
	assert_int_equal(fault_vfs_open_handles(w->fv), 0);
}

static void run_init(run *w, cairn_sync_policy policy, const char *where)
{
	memset(w, 0, sizeof *w);
	w->fv = fault_vfs_new();
	spy_init(&w->sp, w->fv);
	base_config(&w->cfg, w->fv, policy);
	w->cfg.vfs = &w->sp.vfs;
	w->where = where;
}

static void run_free(run *w)
{
	states_free(&w->st);
	fault_vfs_free(w->fv);
}

/* ---- S3: a crash at every sync point -------------------------------------
 */

static const char *mode_name(int mode)
{
	return mode == FAULT_VFS_CRASH_PREFIX   ? "prefix"
	       : mode == FAULT_VFS_CRASH_SUBSET ? "subset"
	       : mode == FAULT_VFS_CRASH_DROP   ? "drop"
	                                        : "kill";
}

#define MODE_KILL 99

static void crash_every_sync_point(cairn_sync_policy policy)
{
	uint64_t first = 1, count = 3;
	bool single = false;
	uint64_t v;
	if (sim_env_u64("CAIRN_TEST_SEED", &v)) {
		first = v;
		count = 1;
		single = true;
	}
	(void)single;
	const int modes[] = {FAULT_VFS_CRASH_PREFIX, FAULT_VFS_CRASH_SUBSET,
	                     MODE_KILL};
	unsigned runs = 0, repaired = 0;
	for (uint64_t seed = first; seed < first + count; seed++) {
		/* Count the sync points of a clean run. */
		run w;
		run_init(&w, policy, "count");
		workload(&w, WL_100, seed);
		uint64_t points = fault_vfs_calls(w.fv, FAULT_VFS_SYNC_POINT);
		run_free(&w);
		print_message("S3 %s: seed %llu: %llu sync points\n",
		              policy == CAIRN_SYNC_EVERY ? "every" : "group",
		              (unsigned long long)seed,
		              (unsigned long long)points);
		for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
			for (uint64_t n = 1; n <= points; n++) {
				for (uint64_t cs = 0;
				     cs < (modes[m] == MODE_KILL ? 1u : 2u);
				     cs++) {
					char where[160];
					snprintf(where, sizeof where,
					         "S3 %s seed %llu, %s crash at "
					         "sync "
					         "point %llu (crash seed %llu)",
					         policy == CAIRN_SYNC_EVERY
					                 ? "every"
					                 : "group",
					         (unsigned long long)seed,
					         mode_name(modes[m]),
					         (unsigned long long)n,
					         (unsigned long long)cs);
					run_init(&w, policy, where);
					if (modes[m] != MODE_KILL)
						fault_vfs_set_crash_mode(
						        w.fv,
						        (fault_vfs_crash_mode)
						                modes[m]);
					fault_vfs_crash_at_sync(w.fv, n);
					workload(&w, WL_100, seed);
					assert_true(fault_vfs_crashed(w.fv));
					if (modes[m] == MODE_KILL)
						fault_vfs_kill(w.fv);
					else
						fault_vfs_crash(w.fv,
						                seed * 1000 +
						                        n * 7 +
						                        cs);
					fault_vfs_clear_faults(w.fv);
					/* Under EVERY at most one write is
					 * unsynced at any time, so no crash
					 * mode can leave a hole: the store
					 * must open as it is. Under GROUP a
					 * disk that reorders may drop an
					 * earlier unsynced record and keep a
					 * later one: the open may refuse
					 * (a hole is not a torn tail) and
					 * repair must then recover. */
					bool may_repair =
					        policy == CAIRN_SYNC_GROUP &&
					        modes[m] ==
					                FAULT_VFS_CRASH_SUBSET;
					cairn_store *probe;
					cairn_store_config pc = w.cfg;
					pc.vfs = fault_vfs_vfs(w.fv);
					if (may_repair &&
					    cairn_store_open(DIR_, &pc, &probe,
					                     NULL) ==
					            CAIRN_ECORRUPT)
						repaired++;
					else if (may_repair)
						OK(cairn_store_close(probe));
					check_recovery(&w, may_repair, true,
					               "after the crash");
					run_free(&w);
					runs++;
				}
			}
		}
	}
	print_message("S3 %s: %u crashes, %u needed a repair\n",
	              policy == CAIRN_SYNC_EVERY ? "every" : "group", runs,
	              repaired);
}

static void test_crash_every_sync_point(void **state)
{
	(void)state;
	crash_every_sync_point(CAIRN_SYNC_EVERY);
}

static void test_crash_every_sync_point_group(void **state)
{
	(void)state;
	crash_every_sync_point(CAIRN_SYNC_GROUP);
}

/* ---- S4: the Nth call failing ----------------------------------------------
 */

static const char *op_name(fault_vfs_op k)
{
	static const char *names[] = {"open",   "close", "read",      "write",
	                              "sync",   "size",  "truncate",  "rename",
	                              "unlink", "mkdir", "sync_dir",  "list",
	                              "lock",   "any",   "sync point"};
	return names[k];
}

static void test_nth_io_fails(void **state)
{
	(void)state;
	const fault_vfs_op kinds[] = {FAULT_VFS_OPEN,     FAULT_VFS_WRITE,
	                              FAULT_VFS_SYNC,     FAULT_VFS_RENAME,
	                              FAULT_VFS_TRUNCATE, FAULT_VFS_SYNC_DIR,
	                              FAULT_VFS_UNLINK,   FAULT_VFS_ANY};
	const int errs[] = {-EIO, -ENOSPC};
	run w;
	run_init(&w, CAIRN_SYNC_EVERY, "count");
	workload(&w, WL_SMALL, 4);
	uint64_t calls[FAULT_VFS_OP_CLASSES];
	for (int k = 0; k < FAULT_VFS_OP_CLASSES; k++)
		calls[k] = fault_vfs_calls(w.fv, (fault_vfs_op)k);
	run_free(&w);
	unsigned runs = 0, poisoned = 0;
	for (size_t ki = 0; ki < sizeof kinds / sizeof *kinds; ki++) {
		fault_vfs_op kind = kinds[ki];
		print_message("S4: %llu %s calls\n",
		              (unsigned long long)calls[kind], op_name(kind));
		for (uint64_t n = 1; n <= calls[kind] + 1; n++)
			for (int persistent = 0; persistent < 2; persistent++)
				for (size_t ei = 0; ei < 2; ei++) {
					char where[160];
					snprintf(where, sizeof where,
					         "S4: %s %llu fails with %s "
					         "(%s)",
					         op_name(kind),
					         (unsigned long long)n,
					         errs[ei] == -EIO ? "EIO"
					                          : "ENOSPC",
					         persistent ? "persistent"
					                    : "transient");
					run_init(&w, CAIRN_SYNC_EVERY, where);
					fault_vfs_fail(w.fv, kind, n, errs[ei],
					               persistent);
					workload(&w, WL_SMALL, 4);
					fault_vfs_clear_faults(w.fv);
					poisoned += w.poisoned;
					/* The process lives on: what the page
					 * cache holds. No write here: after a
					 * failed fsync the page cache may hold
					 * records that never reach the disk
					 * (fault_vfs.h, "A SYNC THAT FAILS"),
					 * and a record appended behind them
					 * would, after a power loss, sit behind
					 * a hole. The store cannot see that
					 * (a known limit, as for every store
					 * on Linux after fsyncgate). */
					check_recovery(&w, false, false,
					               "reopen");
					/* Power loss: only what was synced. */
					fault_vfs_set_crash_mode(
					        w.fv, FAULT_VFS_CRASH_DROP);
					fault_vfs_crash(w.fv, n);
					check_recovery(
					        &w, false, true,
					        "reopen after power loss");
					run_free(&w);
					runs++;
				}
	}
	print_message("S4: %u runs, %u with a poisoned handle\n", runs,
	              poisoned);
}

/* ---- S6: a compaction crashed at each step -------------------------------
 */

/*
 * The store before the compaction: 50 writes with history and a peer
 * mark, and, when `prior`, a first compaction among them, so that the
 * crashed one replaces a snapshot and drops a log. The same every time.
 */
static cairn_store *s6_store(fault_vfs *fv, const cairn_store_config *cfg,
                             bool prior)
{
	cairn_store *s;
	open_ok(cfg, &s, NULL);
	rng r;
	rng_seed(&r, 0x56);
	for (uint64_t i = 0; i < 50; i++) {
		if (i == 30)
			OK(cairn_store_peer_put(s, w_peer, 5));
		if (i == 40 && prior)
			OK(cairn_store_compact(s));
		int rc = random_write(s, &r, i, NULL);
		if (rc != CAIRN_ENOTFOUND)
			OK(rc);
	}
	(void)fv;
	return s;
}

static void test_snapshot_crash(void **state)
{
	(void)state;
	const int modes[] = {MODE_KILL, FAULT_VFS_CRASH_PREFIX,
	                     FAULT_VFS_CRASH_SUBSET, FAULT_VFS_CRASH_DROP};
	unsigned runs = 0;
	for (int prior = 0; prior < 2; prior++) {
		/* The calls a compaction makes, counted on a clean run. */
		fault_vfs *fv = fault_vfs_new();
		cairn_store_config cfg;
		base_config(&cfg, fv, CAIRN_SYNC_EVERY);
		cairn_store *s = s6_store(fv, &cfg, prior);
		uint64_t calls0 = fault_vfs_calls(fv, FAULT_VFS_ANY);
		OK(cairn_store_compact(s));
		uint64_t steps = fault_vfs_calls(fv, FAULT_VFS_ANY) - calls0;
		OK(cairn_store_close(s));
		fault_vfs_free(fv);
		print_message("S6: a compaction (%s) makes %llu calls\n",
		              prior ? "after another" : "the first",
		              (unsigned long long)steps);

		for (uint64_t n = 1; n <= steps; n++)
			for (size_t m = 0; m < sizeof modes / sizeof *modes;
			     m++)
				for (uint64_t cs = 0;
				     cs < (modes[m] == MODE_KILL ? 1u : 3u);
				     cs++) {
					char where[128];
					snprintf(where, sizeof where,
					         "S6: %s compaction, crash at "
					         "its call %llu (%s, "
					         "seed %llu)",
					         prior ? "second" : "first",
					         (unsigned long long)n,
					         mode_name(modes[m]),
					         (unsigned long long)cs);
					fv = fault_vfs_new();
					if (modes[m] != MODE_KILL)
						fault_vfs_set_crash_mode(
						        fv,
						        (fault_vfs_crash_mode)
						                modes[m]);
					base_config(&cfg, fv, CAIRN_SYNC_EVERY);
					s = s6_store(fv, &cfg, prior);
					uint8_t before[DIG];
					digest_of(s, before);
					uint64_t last = cairn_store_last_seq(s);
					cairn_history_entry h[16];
					size_t nh = 0, nb = 0;
					OK(cairn_store_history(s, "d1", "r1", h,
					                       16, &nb));
					cairn_stamp hb[16];
					for (size_t i = 0; i < nb; i++)
						hb[i] = h[i].stamp;

					fault_vfs_crash_at(fv, FAULT_VFS_ANY,
					                   n);
					int rc = cairn_store_compact(s);
					assert_true(fault_vfs_crashed(fv));
					if (rc != 0 && rc != CAIRN_EIO &&
					    rc != CAIRN_EPOISONED)
						fail_msg("%s: compact returned "
						         "%s",
						         where,
						         cairn_err_name(rc));
					(void)cairn_store_close(s);
					assert_int_equal(
					        fault_vfs_open_handles(fv), 0);
					if (modes[m] == MODE_KILL)
						fault_vfs_kill(fv);
					else
						fault_vfs_crash(fv,
						                n * 31 + cs);
					fault_vfs_clear_faults(fv);

					cairn_store_report rep;
					rc = cairn_store_open(DIR_, &cfg, &s,
					                      &rep);
					if (rc)
						fail_msg("%s: open: %s: %s",
						         where,
						         cairn_err_name(rc),
						         rep.message);
					uint8_t got[DIG];
					digest_of(s, got);
					if (memcmp(got, before, DIG) != 0 ||
					    cairn_store_last_seq(s) != last)
						fail_msg(
						        "%s: the state changed "
						        "(seq %llu, was "
						        "%llu)",
						        where,
						        (unsigned long long)
						                cairn_store_last_seq(
						                        s),
						        (unsigned long long)
						                last);
					OK(cairn_store_history(s, "d1", "r1", h,
					                       16, &nh));
					assert_int_equal(nh, nb);
					for (size_t i = 0; i < nh; i++) {
						assert_int_equal(h[i].stamp.hlc,
						                 hb[i].hlc);
						assert_int_equal(
						        h[i].stamp.replica,
						        hb[i].replica);
					}
					uint64_t mark = 0;
					OK(cairn_store_peer_get(s, w_peer,
					                        &mark));
					assert_int_equal(mark, 5);
					/* And it goes on: a write, a
					 * compaction, a reopen. */
					cairn_value v = cairn_value_int(1);
					uint64_t seq;
					OK(cairn_store_set(s, "z", "z", &v,
					                   T0 + 999999, NULL,
					                   &seq));
					assert_int_equal(seq, last + 1);
					digest_of(s, got);
					OK(cairn_store_compact(s));
					OK(cairn_store_close(s));
					open_ok(&cfg, &s, NULL);
					uint8_t again[DIG];
					digest_of(s, again);
					assert_memory_equal(got, again, DIG);
					assert_int_equal(
					        cairn_store_last_seq(s),
					        last + 1);
					OK(cairn_store_close(s));
					assert_int_equal(
					        fault_vfs_open_handles(fv), 0);
					fault_vfs_free(fv);
					runs++;
				}
	}
	print_message("S6: %u crashes\n", runs);
}

/* ---- regressions ----------------------------------------------------------
 */

/*
 * A compaction whose new log file cannot be made (here: its header write
 * finds the disk full) keeps appending to the old log. The file it
 * started must not survive, or the next open takes it for the log that
 * follows the snapshot and skips the old log, records acknowledged after
 * the snapshot included.
 */
static void test_compact_new_log_fails(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	cairn_store_config cfg;
	base_config(&cfg, fv, CAIRN_SYNC_EVERY);
	cairn_store *s;
	open_ok(&cfg, &s, NULL);
	cairn_value v = cairn_value_int(1);
	OK(cairn_store_set(s, "a", "x", &v, T0, NULL, NULL));
	/* the compaction's writes: the snapshot, then the new log's header */
	fault_vfs_fail(fv, FAULT_VFS_WRITE, 2, -ENOSPC, false);
	OK(cairn_store_compact(s));
	cairn_value w = cairn_value_int(2);
	OK(cairn_store_set(s, "a", "y", &w, T0 + 1, NULL, NULL));
	uint8_t before[DIG];
	digest_of(s, before);
	OK(cairn_store_close(s));
	open_ok(&cfg, &s, NULL);
	uint8_t after[DIG];
	digest_of(s, after);
	assert_int_equal(cairn_store_last_seq(s), 2);
	assert_memory_equal(before, after, DIG);
	OK(cairn_store_close(s));
	fault_vfs_free(fv);
}

static double test_start;

static int timer_start(void **state)
{
	(void)state;
	test_start = now_s();
	return 0;
}

static int timer_print(void **state)
{
	(void)state;
	print_message("  (%.1f s)\n", now_s() - test_start);
	return 0;
}

#define TIMED(t) cmocka_unit_test_setup_teardown(t, timer_start, timer_print)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        TIMED(test_compact_new_log_fails),
	        TIMED(test_truncate_every_offset),
	        TIMED(test_bit_flips),
	        TIMED(test_crash_every_sync_point),
	        TIMED(test_crash_every_sync_point_group),
	        TIMED(test_nth_io_fails),
	        TIMED(test_snapshot_crash),
	};
	/* CAIRN_TEST_FILTER=test_bit_flips runs that one alone. */
	const char *only = getenv("CAIRN_TEST_FILTER");
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
