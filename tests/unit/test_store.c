/*
 * test_store.c -- the store's API: writes and reads through reopen,
 * snapshots and compaction, history, group commit, the lock, small files,
 * peer marks, a full disk, a failed fsync, export and import. The
 * reliability suites (crashes, truncation, bit flips, every Nth I/O
 * failing) are in tests/prop/test_store_crash.c.
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

#define OK(x) assert_int_equal((x), 0)
#define DIR_ "/s"
#define T0 UINT64_C(1700000000000)

typedef struct fixture {
	fault_vfs *fv;
	cairn_store_config cfg;
	cairn_store *s;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->fv = fault_vfs_new();
	cairn_store_config_init(&f->cfg);
	f->cfg.replica.id = 0x1111;
	f->cfg.vfs = fault_vfs_vfs(f->fv);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	(void)cairn_store_close(f->s);
	assert_int_equal(fault_vfs_open_handles(f->fv), 0);
	fault_vfs_free(f->fv);
	free(f);
	return 0;
}

static void reopen(fixture *f)
{
	OK(cairn_store_close(f->s));
	f->s = NULL;
	cairn_store_report rep;
	int rc = cairn_store_open(DIR_, &f->cfg, &f->s, &rep);
	if (rc)
		fail_msg("reopen: %s: %s", cairn_err_name(rc), rep.message);
}

static void open_store(fixture *f)
{
	cairn_store_report rep;
	int rc = cairn_store_open(DIR_, &f->cfg, &f->s, &rep);
	if (rc)
		fail_msg("open: %s: %s", cairn_err_name(rc), rep.message);
}

static int64_t get_int(const cairn_store *s, const char *doc, const char *field)
{
	cairn_doc *d;
	cairn_value v;
	if (cairn_replica_find(cairn_store_replica(s), doc, &d) ||
	    cairn_doc_get(d, field, &v, NULL) || v.type != CAIRN_INT)
		return -1;
	return v.as.i;
}

static void test_write_reopen(void **state)
{
	fixture *f = *state;
	open_store(f);
	uint64_t seq;
	for (int i = 0; i < 50; i++) {
		cairn_value v = cairn_value_int(i);
		char doc[16];
		snprintf(doc, sizeof doc, "d/%d", i % 5);
		OK(cairn_store_set(f->s, doc, "n", &v, T0 + (uint64_t)i, NULL,
		                   &seq));
		assert_int_equal(seq, (uint64_t)i + 1);
		assert_int_equal(cairn_store_durable_seq(f->s), seq);
	}
	cairn_value e = cairn_value_str("x");
	OK(cairn_store_add(f->s, "d/0", "tags", &e, NULL, NULL));
	OK(cairn_store_del(f->s, "d/4", "n", NULL, NULL));
	uint64_t clock = cairn_replica_hlc_last(cairn_store_replica(f->s));
	uint8_t before[CAIRN_DIGEST_BYTES], after[CAIRN_DIGEST_BYTES];
	OK(cairn_replica_digest(cairn_store_replica(f->s), before));

	reopen(f);
	OK(cairn_replica_digest(cairn_store_replica(f->s), after));
	assert_memory_equal(before, after, sizeof before);
	assert_int_equal(get_int(f->s, "d/3", "n"), 48);
	assert_int_equal(get_int(f->s, "d/4", "n"), -1);
	assert_true(cairn_replica_hlc_last(cairn_store_replica(f->s)) >= clock);
	assert_int_equal(cairn_store_last_seq(f->s), 52);

	/* The next write continues the numbering and the clock. */
	cairn_value v = cairn_value_int(7);
	OK(cairn_store_set(f->s, "d/9", "n", &v, T0, NULL, &seq));
	assert_int_equal(seq, 53);
	cairn_doc *d;
	cairn_stamp st;
	cairn_value got;
	OK(cairn_replica_find(cairn_store_replica(f->s), "d/9", &d));
	OK(cairn_doc_get(d, "n", &got, &st));
	assert_true(st.hlc > clock);
}

static void test_compaction(void **state)
{
	fixture *f = *state;
	f->cfg.compact_log_bytes = 4096;
	f->cfg.retain_log_bytes = 0; /* no old log kept for cursors */
	open_store(f);
	for (int i = 0; i < 400; i++) {
		cairn_value v = cairn_value_int(i);
		char field[16];
		snprintf(field, sizeof field, "f%d", i % 40);
		OK(cairn_store_set(f->s, "doc", field, &v, T0 + (uint64_t)i,
		                   NULL, NULL));
	}
	/* Compaction ran on its own: the log stays below the larger of the
	 * threshold and the snapshot (plus the record that crossed it). */
	uint64_t snap = cairn_store_snapshot_bytes(f->s);
	uint64_t bound = (snap > 4096 ? snap : 4096) + 256;
	assert_true(snap > 0);
	if (cairn_store_log_bytes(f->s) > bound)
		fail_msg("log %llu bytes, snapshot %llu",
		         (unsigned long long)cairn_store_log_bytes(f->s),
		         (unsigned long long)snap);
	uint8_t before[CAIRN_DIGEST_BYTES], after[CAIRN_DIGEST_BYTES];
	OK(cairn_replica_digest(cairn_store_replica(f->s), before));
	OK(cairn_store_compact(f->s));
	assert_int_equal(cairn_store_log_bytes(f->s), 20);
	reopen(f);
	OK(cairn_replica_digest(cairn_store_replica(f->s), after));
	assert_memory_equal(before, after, sizeof before);
	assert_int_equal(get_int(f->s, "doc", "f7"), 367);
	assert_int_equal(cairn_store_last_seq(f->s), 400);
	/* Old log files are gone: only log-<401> remains. */
	assert_true(fault_vfs_exists(f->fv, DIR_ "/log-0000000000000191"));
	assert_false(fault_vfs_exists(f->fv, DIR_ "/log-0000000000000001"));
}

static void test_history(void **state)
{
	fixture *f = *state;
	f->cfg.history_depth = 4;
	f->cfg.compact_log_bytes = 0;
	open_store(f);
	for (int i = 0; i < 6; i++) {
		cairn_value v = cairn_value_int(i);
		OK(cairn_store_set(f->s, "doc", "x", &v, T0 + (uint64_t)i * 10,
		                   NULL, NULL));
	}
	cairn_history_entry h[8];
	size_t n;
	OK(cairn_store_history(f->s, "doc", "x", h, 8, &n));
	assert_int_equal(n, 4);
	assert_true(h[0].live);
	assert_int_equal(h[0].value.as.i, 5);
	for (size_t i = 1; i < 4; i++) {
		assert_false(h[i].live);
		assert_int_equal(h[i].value.as.i, 5 - (int64_t)i);
		assert_int_equal(h[i].stamp.replica, 0x1111);
		assert_true(h[i].stamp.hlc < h[i - 1].stamp.hlc);
	}
	assert_int_equal(cairn_store_history(f->s, "doc", "x", h, 2, &n),
	                 CAIRN_ESPACE);
	assert_int_equal(n, 4);
	/* A delete: nothing live, the past remains. */
	OK(cairn_store_del(f->s, "doc", "x", NULL, NULL));
	OK(cairn_store_history(f->s, "doc", "x", h, 8, &n));
	assert_int_equal(n, 4);
	assert_false(h[0].live);
	assert_int_equal(h[0].value.as.i, 5);
	/* Kept through the log, and through a snapshot. */
	reopen(f);
	OK(cairn_store_history(f->s, "doc", "x", h, 8, &n));
	assert_int_equal(n, 4);
	assert_int_equal(h[0].value.as.i, 5);
	OK(cairn_store_compact(f->s));
	reopen(f);
	OK(cairn_store_history(f->s, "doc", "x", h, 8, &n));
	assert_int_equal(n, 4);
	assert_int_equal(h[3].value.as.i, 2);
	/* A value that lost a concurrent write arrives by a join. */
	cairn_replica_config rc;
	cairn_replica_config_init(&rc);
	rc.id = 0x2222;
	cairn_replica *other;
	OK(cairn_replica_new(&rc, &other));
	cairn_doc *od;
	OK(cairn_replica_doc(other, "doc", &od));
	cairn_delta *dl;
	OK(cairn_delta_new(NULL, &dl));
	cairn_value s = cairn_value_str("old");
	OK(cairn_doc_set(od, "y", &s, T0, dl));
	cairn_value mine = cairn_value_str("new");
	OK(cairn_store_set(f->s, "doc", "y", &mine, T0 + 1000, NULL, NULL));
	bool changed;
	OK(cairn_store_join(f->s, dl, T0 + 2000, &changed, NULL));
	assert_true(changed);
	/* Concurrent values both stay live (the policy picks at read time);
	 * the next local write supersedes both. */
	OK(cairn_store_history(f->s, "doc", "y", h, 8, &n));
	assert_int_equal(n, 2);
	assert_true(h[0].live && h[1].live);
	assert_int_equal(h[1].stamp.replica, 0x2222);
	cairn_value newer = cairn_value_str("newer");
	OK(cairn_store_set(f->s, "doc", "y", &newer, T0 + 3000, NULL, NULL));
	OK(cairn_store_history(f->s, "doc", "y", h, 8, &n));
	assert_int_equal(n, 3);
	assert_true(h[0].live);
	assert_false(h[1].live || h[2].live);
	assert_int_equal(h[2].stamp.replica, 0x2222);
	/* The same delta again changes nothing and is not logged. */
	uint64_t last = cairn_store_last_seq(f->s), seq;
	OK(cairn_store_join(f->s, dl, T0 + 2000, &changed, &seq));
	assert_false(changed);
	assert_int_equal(seq, last);
	assert_int_equal(cairn_store_last_seq(f->s), last);
	cairn_delta_free(dl);
	cairn_replica_free(other);
}

static void test_group_commit(void **state)
{
	fixture *f = *state;
	f->cfg.sync = CAIRN_SYNC_GROUP;
	open_store(f);
	uint64_t syncs0 = fault_vfs_calls(f->fv, FAULT_VFS_SYNC);
	cairn_value v = cairn_value_int(1);
	uint64_t seq;
	OK(cairn_store_set(f->s, "a", "x", &v, T0, NULL, &seq));
	assert_int_equal(cairn_store_durable_seq(f->s), 0);
	cairn_sync_job *job = cairn_store_sync_begin(f->s);
	assert_non_null(job);
	assert_null(cairn_store_sync_begin(f->s)); /* one at a time */
	/* Writes while the job runs are appended and wait for the next. */
	for (int i = 0; i < 10; i++)
		OK(cairn_store_set(f->s, "a", "y", &v, T0, NULL, &seq));
	assert_int_equal(cairn_store_compact(f->s), CAIRN_EINVAL);
	cairn_store_sync_run(job);
	OK(cairn_store_sync_end(f->s, job));
	assert_int_equal(cairn_store_durable_seq(f->s), 1);
	job = cairn_store_sync_begin(f->s);
	cairn_store_sync_run(job);
	OK(cairn_store_sync_end(f->s, job));
	assert_int_equal(cairn_store_durable_seq(f->s), 11);
	assert_null(cairn_store_sync_begin(f->s)); /* nothing to do */
	assert_int_equal(fault_vfs_calls(f->fv, FAULT_VFS_SYNC) - syncs0, 2);
}

static void test_lock(void **state)
{
	fixture *f = *state;
	open_store(f);
	cairn_store *second;
	cairn_store_report rep;
	assert_int_equal(cairn_store_open(DIR_, &f->cfg, &second, &rep),
	                 CAIRN_EBUSY);
	assert_true(rep.holder_pid > 0);
	assert_non_null(strstr(rep.message, "in use by process"));
	OK(cairn_store_close(f->s));
	f->s = NULL;
	open_store(f);
}

static void test_wrong_replica(void **state)
{
	fixture *f = *state;
	open_store(f);
	OK(cairn_store_close(f->s));
	f->s = NULL;
	cairn_store_report rep;
	f->cfg.replica.id = 0x9999;
	assert_int_equal(cairn_store_open(DIR_, &f->cfg, &f->s, &rep),
	                 CAIRN_EINVAL);
	assert_non_null(strstr(rep.message, "belongs to replica"));
	/* 0 means "the recorded one". */
	f->cfg.replica.id = 0;
	open_store(f);
	assert_int_equal(cairn_replica_id_of(cairn_store_replica(f->s)),
	                 0x1111);
	/* No store, and no create: ENOTFOUND, nothing made. */
	cairn_store *none;
	f->cfg.create = false;
	assert_int_equal(cairn_store_open("/nothing", &f->cfg, &none, &rep),
	                 CAIRN_ENOTFOUND);
	assert_false(fault_vfs_exists(f->fv, "/nothing"));
}

static void test_secrets_and_peers(void **state)
{
	fixture *f = *state;
	open_store(f);
	uint8_t key[64];
	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)(i * 7);
	OK(cairn_store_secret_put(f->s, "identity", key, sizeof key));
	unsigned mode = 0;
	OK(fault_vfs_file_mode(f->fv, DIR_ "/secret-identity", &mode));
	assert_int_equal(mode & 0777, 0600);
	assert_int_equal(cairn_store_secret_put(f->s, "Bad/Name", key, 1),
	                 CAIRN_EINVAL);
	uint8_t peer[CAIRN_PEER_ID_BYTES] = {1, 2, 3};
	OK(cairn_store_peer_put(f->s, peer, 42));
	OK(cairn_store_peer_put(f->s, peer, 43));
	reopen(f);
	uint8_t got[64];
	size_t len;
	assert_int_equal(cairn_store_secret_get(f->s, "identity", got, 8, &len),
	                 CAIRN_ESPACE);
	assert_int_equal(len, 64);
	OK(cairn_store_secret_get(f->s, "identity", got, sizeof got, &len));
	assert_memory_equal(got, key, 64);
	assert_int_equal(cairn_store_secret_get(f->s, "none", got, 64, &len),
	                 CAIRN_ENOTFOUND);
	uint64_t mark;
	OK(cairn_store_peer_get(f->s, peer, &mark));
	assert_int_equal(mark, 43);
	OK(cairn_store_compact(f->s));
	reopen(f);
	OK(cairn_store_peer_get(f->s, peer, &mark));
	assert_int_equal(mark, 43);
	/* A flipped bit in a small file is caught. */
	OK(cairn_store_close(f->s));
	f->s = NULL;
	OK(fault_vfs_flip_bit(f->fv, DIR_ "/secret-identity", 100));
	open_store(f);
	assert_int_equal(
	        cairn_store_secret_get(f->s, "identity", got, 64, &len),
	        CAIRN_ECORRUPT);
}

static void test_disk_full(void **state)
{
	fixture *f = *state;
	open_store(f);
	cairn_value v = cairn_value_int(1);
	OK(cairn_store_set(f->s, "a", "x", &v, T0, NULL, NULL));
	/* The disk fills: the write is applied, held, and reported. */
	fault_vfs_fail(f->fv, FAULT_VFS_WRITE, 1, -ENOSPC, true);
	cairn_value w = cairn_value_int(2);
	assert_int_equal(cairn_store_set(f->s, "a", "y", &w, T0, NULL, NULL),
	                 CAIRN_EFULL);
	assert_int_equal(cairn_store_os_error(f->s), ENOSPC);
	assert_int_equal(get_int(f->s, "a", "y"), 2);
	assert_int_equal(cairn_store_last_seq(f->s), 1);
	assert_int_equal(cairn_store_sync(f->s), CAIRN_EFULL);
	/* Space again: the next write carries the held one along. */
	fault_vfs_clear_faults(f->fv);
	cairn_value z = cairn_value_int(3);
	OK(cairn_store_set(f->s, "a", "z", &z, T0, NULL, NULL));
	assert_int_equal(cairn_store_last_seq(f->s), 2);
	reopen(f);
	assert_int_equal(get_int(f->s, "a", "y"), 2);
	assert_int_equal(get_int(f->s, "a", "z"), 3);
}

static void test_fsync_poisons(void **state)
{
	fixture *f = *state;
	open_store(f);
	cairn_value v = cairn_value_int(1);
	fault_vfs_fail(f->fv, FAULT_VFS_SYNC, 1, -EIO, false);
	assert_int_equal(cairn_store_set(f->s, "a", "x", &v, T0, NULL, NULL),
	                 CAIRN_EIO);
	/* Even though the next fsync would succeed: no retry. */
	assert_int_equal(cairn_store_set(f->s, "a", "y", &v, T0, NULL, NULL),
	                 CAIRN_EPOISONED);
	assert_int_equal(cairn_store_sync(f->s), CAIRN_EPOISONED);
	assert_int_equal(cairn_store_compact(f->s), CAIRN_EPOISONED);
	/* Closing says so too: the write of "x" is not durable. */
	assert_int_equal(cairn_store_close(f->s), CAIRN_EPOISONED);
	f->s = NULL;
	/* Reopening recovers what reached the disk. */
	open_store(f);
	OK(cairn_store_set(f->s, "a", "y", &v, T0, NULL, NULL));
}

static void test_export_import(void **state)
{
	fixture *f = *state;
	open_store(f);
	cairn_value v = cairn_value_str("Printer jammed");
	OK(cairn_store_set(f->s, "tickets/1", "subject", &v, T0, NULL, NULL));
	cairn_value n = cairn_value_int(3);
	OK(cairn_store_set(f->s, "tickets/1", "count", &n, T0, NULL, NULL));
	cairn_value t1 = cairn_value_str("urgent"), t2 = cairn_value_str("hw");
	OK(cairn_store_add(f->s, "tickets/1", "tags", &t1, NULL, NULL));
	OK(cairn_store_add(f->s, "tickets/1", "tags", &t2, NULL, NULL));
	uint8_t raw[3] = {0, 1, 255};
	cairn_value b = cairn_value_bin(raw, 3);
	OK(cairn_store_set(f->s, "tickets/2", "photo", &b, T0, NULL, NULL));
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	OK(cairn_store_export(f->s, &out));

	/* Into a second store of another replica: the same export. */
	cairn_store_config c2 = f->cfg;
	c2.replica.id = 0x2222;
	cairn_store *s2;
	OK(cairn_store_open("/t", &c2, &s2, NULL));
	size_t written;
	cairn_store_report rep;
	OK(cairn_store_import(s2, (const char *)out.data, out.len, T0, &written,
	                      &rep));
	assert_int_equal(written, 5);
	cairn_buf out2;
	cairn_buf_init(&out2, NULL);
	OK(cairn_store_export(s2, &out2));
	assert_int_equal(out.len, out2.len);
	assert_memory_equal(out.data, out2.data, out.len);

	/* Bad JSON: an offset, and nothing written. */
	uint64_t last = cairn_store_last_seq(s2);
	const char *bad = "{\"format\": \"cairn-export\", \"version\": 1, "
	                  "\"documents\": {\"a\": {\"x\": 1, \"y\": }}}";
	assert_int_equal(
	        cairn_store_import(s2, bad, strlen(bad), T0, &written, &rep),
	        CAIRN_EDECODE);
	assert_true(rep.offset > 60);
	assert_int_equal(written, 0);
	assert_int_equal(cairn_store_last_seq(s2), last);
	/* A kind clash with what is there: refused before any write. */
	const char *clash = "{\"format\": \"cairn-export\", \"version\": 1, "
	                    "\"documents\": {\"tickets/1\": {\"a\": 1, "
	                    "\"tags\": 5}}}";
	assert_int_equal(cairn_store_import(s2, clash, strlen(clash), T0,
	                                    &written, &rep),
	                 CAIRN_EKIND);
	assert_int_equal(cairn_store_last_seq(s2), last);
	cairn_buf_free(&out);
	cairn_buf_free(&out2);
	OK(cairn_store_close(s2));
}

/* Declarations are kept: the data written under them replays on open. */
static void test_declarations_kept(void **state)
{
	fixture *f = *state;
	open_store(f);
	OK(cairn_store_declare(f->s, "cfg/", NULL, CAIRN_POLICY_FWW));
	OK(cairn_store_declare(f->s, "cfg/", NULL, CAIRN_POLICY_FWW));
	OK(cairn_store_declare(f->s, "t/", "who", CAIRN_POLICY_MULTI));
	assert_int_equal(
	        cairn_store_declare(f->s, "cfg/", NULL, CAIRN_POLICY_LWW),
	        CAIRN_EPOLICY);
	cairn_value v = cairn_value_int(1);
	OK(cairn_store_set(f->s, "cfg/a", "x", &v, T0, NULL, NULL));
	OK(cairn_store_set(f->s, "t/1", "who", &v, T0, NULL, NULL));
	reopen(f);
	assert_int_equal(
	        cairn_replica_policy(cairn_store_replica(f->s), "cfg/b", "y"),
	        CAIRN_POLICY_FWW);
	assert_int_equal(
	        cairn_replica_policy(cairn_store_replica(f->s), "t/9", "who"),
	        CAIRN_POLICY_MULTI);
	assert_int_equal(get_int(f->s, "cfg/a", "x"), 1);
	assert_int_equal(
	        cairn_store_set(f->s, "cfg/a", "x", &v, T0, NULL, NULL),
	        CAIRN_EEXIST);
	OK(cairn_store_compact(f->s));
	reopen(f);
	assert_int_equal(get_int(f->s, "cfg/a", "x"), 1);
	/* A damaged policies file is reported, not ignored. */
	OK(cairn_store_close(f->s));
	f->s = NULL;
	OK(fault_vfs_flip_bit(f->fv, DIR_ "/policies", 100));
	cairn_store_report rep;
	assert_int_equal(cairn_store_open(DIR_, &f->cfg, &f->s, &rep),
	                 CAIRN_ECORRUPT);
	assert_null(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_write_reopen, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_compaction, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_group_commit, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wrong_replica, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_secrets_and_peers, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_disk_full, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_fsync_poisons, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_export_import, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_declarations_kept, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
