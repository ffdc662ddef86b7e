/*
 * test_alloc_fail.c -- allocation failure in the CRDT core.
 *
 * A counting allocator (tests/support/sim_util.h) fails the Nth allocation
 * for N = 1, 2, ... until the operation succeeds, once failing only call N
 * (transient) and once every call from N on (persistent). Each time the
 * operation must return CAIRN_ENOMEM and keep its contract:
 *   - cairn_delta_decode: the delta is unchanged;
 *   - cairn_replica_join: the replica stays usable, and joining the same
 *     delta again gives exactly the state of a clean join;
 *   - cairn_doc_set/add/rm/del, cairn_replica_doc: nothing changed, neither
 *     the replica (its encoding, its clock) nor the delta;
 *   - cairn_replica_encode / cairn_delta_encode: the buffer is unchanged;
 *   - cairn_replica_state / cairn_delta_join: repeating the call completes;
 *   - cairn_replica_new / cairn_delta_new: nothing is left allocated.
 * The sized free is checked against each block's real size, and after
 * everything is freed no byte is left allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/crdt.h"
#include "rng.h"
#include "sim_util.h"

#define MAX_N 200000
#define NOW UINT64_C(1700000000000)

static fail_alloc fa;
static cairn_allocator FA;

static const struct {
	const char *prefix, *field;
	cairn_policy policy;
} decls[] = {
        {"l/", NULL, CAIRN_POLICY_LWW},
        {"f/", NULL, CAIRN_POLICY_FWW},
        {"m/", NULL, CAIRN_POLICY_MULTI},
};

static cairn_replica *replica_with(const cairn_allocator *a,
                                   cairn_replica_id id)
{
	cairn_replica_config cfg;
	cairn_replica_config_init(&cfg);
	cfg.id = id;
	cfg.source_priority = 1;
	if (a)
		cfg.allocator = *a;
	cairn_replica *r = NULL;
	assert_int_equal(cairn_replica_new(&cfg, &r), 0);
	for (size_t i = 0; i < sizeof decls / sizeof decls[0]; i++)
		assert_int_equal(cairn_replica_declare(r, decls[i].prefix,
		                                       decls[i].field,
		                                       decls[i].policy),
		                 0);
	return r;
}

static void enc_rep(const cairn_replica *r, cairn_buf *b)
{
	cairn_buf_reset(b);
	assert_int_equal(cairn_replica_encode(r, b), 0);
}

static void enc_delta(const cairn_delta *d, cairn_buf *b)
{
	cairn_buf_reset(b);
	assert_int_equal(cairn_delta_encode(d, b), 0);
}

static bool same(const cairn_buf *a, const cairn_buf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/*
 * Fixtures, built with the C library's allocator: `big` is the state of a
 * replica after a few hundred writes by two replicas that saw part of each
 * other's work (many documents; registers, sets, concurrent values, removed
 * entries, so contexts have gaps); `small` is a state that overlaps it.
 */
static cairn_delta *big, *small;
static cairn_buf big_bytes, small_bytes;

static void write_some(cairn_replica *r, rng *g, int n, uint64_t *now,
                       cairn_delta *out)
{
	static const char *const docs[] = {"l/a", "l/b", "l/c", "f/a",
	                                   "m/a", "m/b", "z/a", "z/b"};
	static const char *const fields[] = {"x", "y", "z", "tags", "w"};
	char sbuf[32];
	for (int i = 0; i < n; i++) {
		cairn_doc *d;
		assert_int_equal(
		        cairn_replica_doc(r, docs[rng_below(g, 8)], &d), 0);
		const char *f = fields[rng_below(g, 5)];
		snprintf(sbuf, sizeof sbuf, "v%llu",
		         (unsigned long long)rng_below(g, 40));
		cairn_value v =
		        rng_pct(g, 50)
		                ? cairn_value_str(sbuf)
		                : cairn_value_int((int64_t)rng_below(g, 40));
		cairn_value mem[256];
		size_t m = 0;
		*now += rng_below(g, 3);
		int rc;
		switch (rng_below(g, 8)) {
		case 0:
		case 1: rc = cairn_doc_set(d, f, &v, *now, out); break;
		case 2:
		case 3:
		case 4: rc = cairn_doc_add(d, f, &v, out); break;
		case 5:
		case 6:
			if (cairn_doc_members(d, f, mem, 256, &m) == 0 && m > 0)
				v = mem[rng_below(g, m)];
			rc = cairn_doc_rm(d, f, &v, out);
			break;
		default: rc = cairn_doc_del(d, f, out); break;
		}
		assert_true(rc == 0 || rc == CAIRN_EKIND ||
		            rc == CAIRN_EEXIST || rc == CAIRN_ENOTFOUND);
	}
}

static int setup_fixtures(void **state)
{
	(void)state;
	FA = fail_alloc_allocator(&fa);
	rng g;
	rng_seed(&g, 42);
	uint64_t now = NOW;
	cairn_replica *a = replica_with(NULL, 11), *b = replica_with(NULL, 22);
	cairn_delta *da = NULL, *db = NULL;
	assert_int_equal(cairn_delta_new(NULL, &da), 0);
	assert_int_equal(cairn_delta_new(NULL, &db), 0);
	write_some(a, &g, 150, &now, da);
	write_some(b, &g, 150, &now, db);
	assert_int_equal(cairn_replica_join(a, db, now),
	                 0); /* b's first part */
	cairn_delta_clear(db);
	write_some(b, &g, 120, &now, db);
	write_some(a, &g, 120, &now, NULL);
	assert_int_equal(cairn_delta_new(NULL, &big), 0);
	assert_int_equal(cairn_delta_new(NULL, &small), 0);
	assert_int_equal(cairn_replica_state(a, big), 0);
	assert_int_equal(cairn_replica_state(b, small), 0);
	cairn_buf_init(&big_bytes, NULL);
	cairn_buf_init(&small_bytes, NULL);
	enc_delta(big, &big_bytes);
	enc_delta(small, &small_bytes);
	cairn_replica_free(a);
	cairn_replica_free(b);
	cairn_delta_free(da);
	cairn_delta_free(db);
	return 0;
}

static int teardown_fixtures(void **state)
{
	(void)state;
	cairn_delta_free(big);
	cairn_delta_free(small);
	cairn_buf_free(&big_bytes);
	cairn_buf_free(&small_bytes);
	return 0;
}

/*
 * The leak check: once the test's objects are freed, nothing allocated
 * through the failing allocator may be left. (Each test starts from the
 * count the one before left, so that one leak fails one test.)
 */
static size_t base_bytes, base_blocks;

static int reset_base(void **state)
{
	(void)state;
	fail_alloc_disarm(&fa);
	base_bytes = fa.live_bytes;
	base_blocks = fa.live_blocks;
	return 0;
}

static void assert_no_live_memory(uint64_t n)
{
	if (fa.live_bytes != base_bytes || fa.live_blocks != base_blocks)
		fail_msg("N=%llu: %zu bytes in %zu blocks left allocated",
		         (unsigned long long)n, fa.live_bytes - base_bytes,
		         fa.live_blocks - base_blocks);
}

static void report(const char *what, bool persistent, uint64_t n)
{
	print_message("%-28s %-10s succeeded at N = %llu\n", what,
	              persistent ? "persistent" : "transient",
	              (unsigned long long)n);
}

/* ---- decode ----------------------------------------------------------- */

static void test_decode(void **state)
{
	(void)state;
	cairn_buf before, after, clean;
	cairn_buf_init(&before, NULL);
	cairn_buf_init(&after, NULL);
	cairn_buf_init(&clean, NULL);
	cairn_delta *c = NULL;
	assert_int_equal(cairn_delta_new(NULL, &c), 0);
	assert_int_equal(
	        cairn_delta_decode(c, small_bytes.data, small_bytes.len, NULL),
	        0);
	assert_int_equal(
	        cairn_delta_decode(c, big_bytes.data, big_bytes.len, NULL), 0);
	enc_delta(c, &clean);
	cairn_delta_free(c);

	for (int mode = 0; mode < 2; mode++) {
		cairn_delta *d = NULL;
		assert_int_equal(cairn_delta_new(&FA, &d), 0);
		assert_int_equal(cairn_delta_decode(d, small_bytes.data,
		                                    small_bytes.len, NULL),
		                 0);
		enc_delta(d, &before);
		uint64_t n;
		for (n = 1; n < MAX_N; n++) {
			fail_alloc_arm(&fa, n, mode == 1);
			int rc = cairn_delta_decode(d, big_bytes.data,
			                            big_bytes.len, NULL);
			fail_alloc_disarm(&fa);
			if (rc == 0)
				break;
			if (rc != CAIRN_ENOMEM)
				fail_msg("N=%llu: decode returned %s",
				         (unsigned long long)n,
				         cairn_err_name(rc));
			enc_delta(d, &after);
			if (!same(&before, &after))
				fail_msg("N=%llu: a failed decode changed the "
				         "delta",
				         (unsigned long long)n);
		}
		assert_true(n > 1);
		report("cairn_delta_decode", mode, n);
		enc_delta(d, &after);
		assert_true(same(&after, &clean));
		cairn_delta_free(d);
		assert_no_live_memory(0);
	}
	cairn_buf_free(&before);
	cairn_buf_free(&after);
	cairn_buf_free(&clean);
}

/* ---- join ------------------------------------------------------------- */

static void test_join(void **state)
{
	(void)state;
	cairn_buf clean, got;
	cairn_buf_init(&clean, NULL);
	cairn_buf_init(&got, NULL);
	cairn_replica *c = replica_with(NULL, 33);
	assert_int_equal(cairn_replica_join(c, small, NOW), 0);
	assert_int_equal(cairn_replica_join(c, big, NOW), 0);
	enc_rep(c, &clean);
	cairn_replica_free(c);

	for (int mode = 0; mode < 2; mode++) {
		uint64_t n;
		for (n = 1; n < MAX_N; n++) {
			cairn_replica *x = replica_with(&FA, 33);
			assert_int_equal(cairn_replica_join(x, small, NOW), 0);
			fail_alloc_arm(&fa, n, mode == 1);
			int rc = cairn_replica_join(x, big, NOW);
			fail_alloc_disarm(&fa);
			if (rc != 0 && rc != CAIRN_ENOMEM)
				fail_msg("N=%llu: join returned %s",
				         (unsigned long long)n,
				         cairn_err_name(rc));
			if (rc != 0) {
				/* usable: the same join completes it */
				int rc2 = cairn_replica_join(x, big, NOW);
				if (rc2 != 0)
					fail_msg("N=%llu: the join after "
					         "ENOMEM returned %s",
					         (unsigned long long)n,
					         cairn_err_name(rc2));
			}
			enc_rep(x, &got);
			if (!same(&got, &clean))
				fail_msg("N=%llu (%s): the state differs from "
				         "a clean join",
				         (unsigned long long)n,
				         rc ? "after ENOMEM and a retry"
				            : "success");
			cairn_replica_free(x);
			assert_no_live_memory(n);
			if (rc == 0)
				break;
		}
		assert_true(n > 1);
		report("cairn_replica_join", mode, n);
	}
	cairn_buf_free(&clean);
	cairn_buf_free(&got);
}

/* ---- writes ----------------------------------------------------------- */

typedef enum wkind { W_SET, W_ADD, W_RM, W_DEL } wkind;

typedef struct wop {
	const char *name;
	const char *doc;
	const char *field;
	wkind kind;
	cairn_value v;
} wop;

static int apply(cairn_replica *r, const wop *op, uint64_t now, cairn_delta *d)
{
	cairn_doc *doc = NULL;
	int rc = cairn_replica_doc(r, op->doc, &doc);
	if (rc != 0)
		return rc;
	switch (op->kind) {
	case W_SET: return cairn_doc_set(doc, op->field, &op->v, now, d);
	case W_ADD: return cairn_doc_add(doc, op->field, &op->v, d);
	case W_RM: return cairn_doc_rm(doc, op->field, &op->v, d);
	case W_DEL: return cairn_doc_del(doc, op->field, d);
	}
	return CAIRN_EINVAL;
}

static void test_writes(void **state)
{
	(void)state;
	/* each applies to the state left by the ones before it */
	const wop ops[] = {
	        {"set, new field", "l/a", "fresh", W_SET, cairn_value_int(5)},
	        {"set, supersede", "l/a", "fresh", W_SET,
	         cairn_value_str("six")},
	        {"set, new document", "l/new", "x", W_SET, cairn_value_int(7)},
	        {"set, multi", "m/a", "new", W_SET, cairn_value_int(8)},
	        {"add, new set", "z/a", "s1", W_ADD, cairn_value_str("e1")},
	        {"add, new element", "z/a", "s1", W_ADD, cairn_value_str("e2")},
	        {"add, re-add", "z/a", "s1", W_ADD, cairn_value_str("e1")},
	        {"add, new document", "z/new", "s", W_ADD, cairn_value_int(1)},
	        {"rm", "z/a", "s1", W_RM, cairn_value_str("e1")},
	        {"del, set", "z/a", "s1", W_DEL, cairn_value_nil()},
	        {"del, register", "l/a", "fresh", W_DEL, cairn_value_nil()},
	        {"del, new document", "l/new", "x", W_DEL, cairn_value_nil()},
	};
	cairn_buf rb, ra, db, da, cr, cd;
	cairn_buf_init(&rb, NULL);
	cairn_buf_init(&ra, NULL);
	cairn_buf_init(&db, NULL);
	cairn_buf_init(&da, NULL);
	cairn_buf_init(&cr, NULL);
	cairn_buf_init(&cd, NULL);

	for (int mode = 0; mode < 2; mode++) {
		/* w (failing) and c (clean) make the same writes */
		cairn_replica *w = replica_with(&FA, 44);
		cairn_replica *c = replica_with(NULL, 44);
		assert_int_equal(cairn_replica_join(w, big, NOW), 0);
		assert_int_equal(cairn_replica_join(c, big, NOW), 0);
		cairn_delta *wd = NULL, *cdl = NULL;
		assert_int_equal(cairn_delta_new(&FA, &wd), 0);
		assert_int_equal(cairn_delta_new(NULL, &cdl), 0);
		uint64_t now = NOW + 10;
		for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
			const wop *op = &ops[i];
			now += (i % 3 == 0) ? 1 : 0;
			assert_int_equal(apply(c, op, now, cdl), 0);
			enc_rep(c, &cr);
			enc_delta(cdl, &cd);
			uint64_t n;
			for (n = 1; n < MAX_N; n++) {
				enc_rep(w, &rb);
				enc_delta(wd, &db);
				uint64_t hlc = cairn_replica_hlc_last(w);
				size_t ndocs = cairn_replica_doc_count(w);
				fail_alloc_arm(&fa, n, mode == 1);
				int rc = apply(w, op, now, wd);
				fail_alloc_disarm(&fa);
				if (rc == 0)
					break;
				if (rc != CAIRN_ENOMEM)
					fail_msg("%s, N=%llu: %s", op->name,
					         (unsigned long long)n,
					         cairn_err_name(rc));
				enc_rep(w, &ra);
				enc_delta(wd, &da);
				if (!same(&rb, &ra))
					fail_msg("%s, N=%llu: a failed write "
					         "changed the "
					         "replica",
					         op->name,
					         (unsigned long long)n);
				if (!same(&db, &da))
					fail_msg("%s, N=%llu: a failed write "
					         "changed the "
					         "delta",
					         op->name,
					         (unsigned long long)n);
				if (cairn_replica_hlc_last(w) != hlc)
					fail_msg("%s, N=%llu: a failed write "
					         "moved the clock",
					         op->name,
					         (unsigned long long)n);
				if (cairn_replica_doc_count(w) != ndocs)
					fail_msg("%s, N=%llu: a failed write "
					         "changed the "
					         "document count",
					         op->name,
					         (unsigned long long)n);
			}
			if (n >= MAX_N)
				fail_msg("%s never succeeded", op->name);
			report(op->name, mode, n);
			enc_rep(w, &ra);
			enc_delta(wd, &da);
			if (!same(&ra, &cr))
				fail_msg("%s: the state differs from a clean "
				         "write",
				         op->name);
			if (!same(&da, &cd))
				fail_msg("%s: the delta differs from a clean "
				         "write",
				         op->name);
		}
		cairn_replica_free(w);
		cairn_replica_free(c);
		cairn_delta_free(wd);
		cairn_delta_free(cdl);
		assert_no_live_memory(0);
	}
	cairn_buf_free(&rb);
	cairn_buf_free(&ra);
	cairn_buf_free(&db);
	cairn_buf_free(&da);
	cairn_buf_free(&cr);
	cairn_buf_free(&cd);
}

/* ---- encode, digest, state, delta join -------------------------------- */

static void test_encode(void **state)
{
	(void)state;
	static const char prefix[] = "prefix bytes";
	cairn_buf clean;
	cairn_buf_init(&clean, NULL);
	for (int mode = 0; mode < 2; mode++) {
		cairn_replica *w = replica_with(&FA, 55);
		assert_int_equal(cairn_replica_join(w, big, NOW), 0);
		enc_rep(w, &clean);
		cairn_delta *d = NULL;
		assert_int_equal(cairn_delta_new(&FA, &d), 0);
		assert_int_equal(cairn_delta_join(d, big), 0);
		for (int what = 0; what < 2; what++) {
			uint64_t n;
			for (n = 1; n < MAX_N; n++) {
				cairn_buf b;
				cairn_buf_init(&b, &FA);
				assert_int_equal(
				        cairn_buf_append(&b, prefix,
				                         sizeof prefix),
				        0);
				fail_alloc_arm(&fa, n, mode == 1);
				int rc = what == 0 ? cairn_replica_encode(w, &b)
				                   : cairn_delta_encode(d, &b);
				fail_alloc_disarm(&fa);
				if (rc == 0) {
					assert_int_equal(b.len,
					                 sizeof prefix +
					                         clean.len);
					assert_memory_equal(
					        b.data + sizeof prefix,
					        clean.data, clean.len);
					cairn_buf_free(&b);
					break;
				}
				if (rc != CAIRN_ENOMEM)
					fail_msg("N=%llu: encode returned %s",
					         (unsigned long long)n,
					         cairn_err_name(rc));
				if (b.len != sizeof prefix ||
				    memcmp(b.data, prefix, sizeof prefix) != 0)
					fail_msg("N=%llu: a failed encode "
					         "changed the buffer",
					         (unsigned long long)n);
				cairn_buf_free(&b);
			}
			report(what == 0 ? "cairn_replica_encode"
			                 : "cairn_delta_encode",
			       mode, n);
		}
		/* digests: 0 or ENOMEM, and right when 0 */
		uint8_t want[CAIRN_DIGEST_BYTES], got[CAIRN_DIGEST_BYTES];
		assert_int_equal(cairn_replica_digest(w, want), 0);
		for (int what = 0; what < 2; what++) {
			uint64_t n;
			for (n = 1; n < MAX_N; n++) {
				fail_alloc_arm(&fa, n, mode == 1);
				int rc = what == 0
				                 ? cairn_replica_digest(w, got)
				                 : cairn_delta_digest(d, got);
				fail_alloc_disarm(&fa);
				if (rc == 0) {
					assert_memory_equal(got, want,
					                    sizeof want);
					break;
				}
				assert_int_equal(rc, CAIRN_ENOMEM);
			}
			report(what == 0 ? "cairn_replica_digest"
			                 : "cairn_delta_digest",
			       mode, n);
		}
		cairn_replica_free(w);
		cairn_delta_free(d);
		assert_no_live_memory(0);
	}
	cairn_buf_free(&clean);
}

static void test_state_and_delta_join(void **state)
{
	(void)state;
	cairn_buf clean, got;
	cairn_buf_init(&clean, NULL);
	cairn_buf_init(&got, NULL);
	cairn_delta *c = NULL;
	assert_int_equal(cairn_delta_new(NULL, &c), 0);
	assert_int_equal(cairn_delta_join(c, small), 0);
	assert_int_equal(cairn_delta_join(c, big), 0);
	enc_delta(c, &clean);
	cairn_delta_free(c);

	for (int mode = 0; mode < 2; mode++) {
		cairn_replica *w = replica_with(&FA, 66);
		assert_int_equal(cairn_replica_join(w, big, NOW), 0);
		for (int what = 0; what < 2; what++) {
			uint64_t n;
			for (n = 1; n < MAX_N; n++) {
				cairn_delta *d = NULL;
				assert_int_equal(cairn_delta_new(&FA, &d), 0);
				assert_int_equal(cairn_delta_join(d, small), 0);
				fail_alloc_arm(&fa, n, mode == 1);
				int rc = what == 0 ? cairn_replica_state(w, d)
				                   : cairn_delta_join(d, big);
				fail_alloc_disarm(&fa);
				if (rc != 0 && rc != CAIRN_ENOMEM)
					fail_msg("N=%llu: returned %s",
					         (unsigned long long)n,
					         cairn_err_name(rc));
				if (rc != 0) {
					/* a valid part: encodable, and
					 * repeating completes */
					enc_delta(d, &got);
					int rc2 = what == 0
					                  ? cairn_replica_state(
					                            w, d)
					                  : cairn_delta_join(
					                            d, big);
					if (rc2 != 0)
						fail_msg("N=%llu: the repeat "
						         "returned %s",
						         (unsigned long long)n,
						         cairn_err_name(rc2));
				}
				enc_delta(d, &got);
				if (!same(&got, &clean))
					fail_msg(
					        "N=%llu (%s): differs from a "
					        "clean %s",
					        (unsigned long long)n,
					        rc ? "after ENOMEM and a repeat"
					           : "success",
					        what == 0
					                ? "cairn_replica_state"
					                : "cairn_delta_join");
				cairn_delta_free(d);
				if (rc == 0)
					break;
			}
			report(what == 0 ? "cairn_replica_state"
			                 : "cairn_delta_join",
			       mode, n);
		}
		cairn_replica_free(w);
		assert_no_live_memory(0);
	}
	cairn_buf_free(&clean);
	cairn_buf_free(&got);
}

/* ---- constructors and declarations ------------------------------------ */

static void test_new_and_declare(void **state)
{
	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		uint64_t n;
		for (n = 1; n < MAX_N; n++) {
			cairn_replica_config cfg;
			cairn_replica_config_init(&cfg);
			cfg.id = 7;
			cfg.allocator = FA;
			cairn_replica *r = NULL;
			fail_alloc_arm(&fa, n, mode == 1);
			int rc = cairn_replica_new(&cfg, &r);
			fail_alloc_disarm(&fa);
			if (rc == 0) {
				cairn_replica_free(r);
				assert_no_live_memory(n);
				break;
			}
			assert_int_equal(rc, CAIRN_ENOMEM);
			assert_no_live_memory(n);
		}
		report("cairn_replica_new", mode, n);
		for (n = 1; n < MAX_N; n++) {
			cairn_delta *d = NULL;
			fail_alloc_arm(&fa, n, mode == 1);
			int rc = cairn_delta_new(&FA, &d);
			fail_alloc_disarm(&fa);
			if (rc == 0) {
				cairn_delta_free(d);
				assert_no_live_memory(n);
				break;
			}
			assert_int_equal(rc, CAIRN_ENOMEM);
			assert_no_live_memory(n);
		}
		report("cairn_delta_new", mode, n);

		cairn_replica *r = replica_with(&FA, 8);
		for (n = 1; n < MAX_N; n++) {
			fail_alloc_arm(&fa, n, mode == 1);
			int rc = cairn_replica_declare(r, "tickets/", "status",
			                               CAIRN_POLICY_PRIORITY);
			fail_alloc_disarm(&fa);
			if (rc == 0)
				break;
			assert_int_equal(rc, CAIRN_ENOMEM);
			assert_int_equal(
			        cairn_replica_policy(r, "tickets/1", "status"),
			        CAIRN_POLICY_LWW);
		}
		report("cairn_replica_declare", mode, n);
		assert_int_equal(cairn_replica_policy(r, "tickets/1", "status"),
		                 CAIRN_POLICY_PRIORITY);
		/* a new document alone */
		for (n = 1; n < MAX_N; n++) {
			cairn_doc *d = NULL;
			fail_alloc_arm(&fa, n, mode == 1);
			int rc = cairn_replica_doc(r, "tickets/2", &d);
			fail_alloc_disarm(&fa);
			if (rc == 0)
				break;
			assert_int_equal(rc, CAIRN_ENOMEM);
		}
		report("cairn_replica_doc", mode, n);
		cairn_replica_free(r);
		assert_no_live_memory(0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_new_and_declare, reset_base),
	        cmocka_unit_test_setup(test_decode, reset_base),
	        cmocka_unit_test_setup(test_join, reset_base),
	        cmocka_unit_test_setup(test_writes, reset_base),
	        cmocka_unit_test_setup(test_encode, reset_base),
	        cmocka_unit_test_setup(test_state_and_delta_join, reset_base),
	};
	return cmocka_run_group_tests(tests, setup_fixtures, teardown_fixtures);
}
