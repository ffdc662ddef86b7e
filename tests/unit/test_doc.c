/*
 * test_doc.c -- documents through the public API: writes, reads, field
 * kinds, register policies, declarations, and the deltas writes produce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cairn.h"

#define OK(x) assert_int_equal((x), 0)

static cairn_replica *mk(uint64_t id, uint8_t prio)
{
	cairn_replica_config c;
	cairn_replica_config_init(&c);
	c.id = id;
	c.source_priority = prio;
	c.hash_key[0] = (uint8_t)(id * 7);
	cairn_replica *r = NULL;
	OK(cairn_replica_new(&c, &r));
	return r;
}

static cairn_doc *doc(cairn_replica *r, const char *id)
{
	cairn_doc *d = NULL;
	OK(cairn_replica_doc(r, id, &d));
	return d;
}

static cairn_delta *delta(void)
{
	cairn_delta *d = NULL;
	OK(cairn_delta_new(NULL, &d));
	return d;
}

/* Move a delta through bytes into a replica, as a peer would. */
static int ship(cairn_replica *to, const cairn_delta *d, uint64_t now)
{
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	OK(cairn_delta_encode(d, &b));
	cairn_delta *x = delta();
	OK(cairn_delta_decode(x, b.data, b.len, NULL));
	int rc = cairn_replica_join(to, x, now);
	cairn_delta_free(x);
	cairn_buf_free(&b);
	return rc;
}

static void sync_both(cairn_replica *a, cairn_replica *b, uint64_t now)
{
	cairn_delta *sa = delta(), *sb = delta();
	OK(cairn_replica_state(a, sa));
	OK(cairn_replica_state(b, sb));
	OK(ship(b, sa, now));
	OK(ship(a, sb, now));
	cairn_delta_free(sa);
	cairn_delta_free(sb);
}

static void assert_same(cairn_replica *a, cairn_replica *b)
{
	cairn_buf x, y;
	cairn_buf_init(&x, NULL);
	cairn_buf_init(&y, NULL);
	OK(cairn_replica_encode(a, &x));
	OK(cairn_replica_encode(b, &y));
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	cairn_buf_free(&x);
	cairn_buf_free(&y);
}

static void set_int(cairn_doc *d, const char *f, int64_t i, uint64_t now,
                    cairn_delta *out)
{
	cairn_value v = cairn_value_int(i);
	OK(cairn_doc_set(d, f, &v, now, out));
}

static int64_t get_int(cairn_doc *d, const char *f)
{
	cairn_value v;
	OK(cairn_doc_get(d, f, &v, NULL));
	assert_int_equal(v.type, CAIRN_INT);
	return v.as.i;
}

static void test_values_round_trip(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	cairn_doc *d = doc(a, "t/1");
	cairn_delta *dl = delta();
	uint8_t bin[3] = {0, 1, 255};
	cairn_value vals[] = {
	        cairn_value_nil(),
	        cairn_value_bool(true),
	        cairn_value_int(INT64_MIN),
	        cairn_value_float(-0.0),
	        cairn_value_str("short"),
	        cairn_value_str("a string longer than eight bytes"),
	        cairn_value_bin(bin, 3),
	        cairn_value_float(0.0 / 0.0),
	};
	const char *names[] = {"n", "b", "i", "f", "s", "l", "x", "nan"};
	for (size_t i = 0; i < 8; i++)
		OK(cairn_doc_set(d, names[i], &vals[i], 1000 + i, dl));
	OK(ship(b, dl, 2000));
	cairn_doc *e;
	OK(cairn_replica_find(b, "t/1", &e));
	for (size_t i = 0; i < 8; i++) {
		cairn_value got;
		OK(cairn_doc_get(e, names[i], &got, NULL));
		assert_int_equal(cairn_value_compare(&got, &vals[i]), 0);
	}
	assert_int_equal(cairn_doc_field_count(e), 8);
	assert_same(a, b);
	cairn_delta_free(dl);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

static void test_bad_names_and_values(void **state)
{
	(void)state;
	cairn_replica_config c;
	cairn_replica_config_init(&c);
	c.id = 9;
	c.limits.max_value_bytes = 16;
	cairn_replica *r;
	OK(cairn_replica_new(&c, &r));
	cairn_doc *d = doc(r, "x");
	cairn_value v = cairn_value_int(1);
	assert_int_equal(cairn_doc_set(d, "", &v, 1, NULL), CAIRN_EINVAL);
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	assert_int_equal(cairn_doc_set(d, big, &v, 1, NULL), CAIRN_ETOOBIG);
	assert_int_equal(cairn_doc_set(d, "\xc0\x80", &v, 1, NULL),
	                 CAIRN_EINVAL);
	cairn_value bad = cairn_value_strn("\xff", 1);
	assert_int_equal(cairn_doc_set(d, "f", &bad, 1, NULL), CAIRN_EINVAL);
	cairn_value large = cairn_value_str("seventeen bytes!!");
	assert_int_equal(cairn_doc_set(d, "f", &large, 1, NULL), CAIRN_ETOOBIG);
	cairn_doc *x;
	assert_int_equal(cairn_replica_doc(r, "", &x), CAIRN_EINVAL);
	assert_int_equal(cairn_replica_doc(r, big, &x), CAIRN_ETOOBIG);
	assert_int_equal(cairn_doc_field_count(d), 0);

	/* A replica with a smaller limit refuses a delta with a bigger value,
	 * whole. */
	cairn_replica *w = mk(10, 0);
	cairn_delta *dl = delta();
	set_int(doc(w, "x"), "ok", 1, 5, dl);
	OK(cairn_doc_set(doc(w, "x"), "f", &large, 5, dl));
	assert_int_equal(cairn_replica_join(r, dl, 10), CAIRN_ETOOBIG);
	assert_int_equal(cairn_replica_doc_count(r), 0);
	cairn_delta_free(dl);
	cairn_replica_free(w);
	cairn_replica_free(r);
}

static void test_kinds(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0);
	cairn_doc *d = doc(a, "k");
	cairn_delta *dl = delta();
	cairn_value e = cairn_value_str("red");
	set_int(d, "reg", 1, 10, NULL);
	assert_int_equal(cairn_doc_add(d, "reg", &e, dl), CAIRN_EKIND);
	OK(cairn_doc_add(d, "set", &e, NULL));
	cairn_value v = cairn_value_int(2);
	assert_int_equal(cairn_doc_set(d, "set", &v, 11, dl), CAIRN_EKIND);
	assert_true(cairn_delta_empty(dl)); /* a refused write adds nothing */
	cairn_value out;
	assert_int_equal(cairn_doc_get(d, "set", &out, NULL), CAIRN_EKIND);
	size_t n;
	assert_int_equal(cairn_doc_members(d, "reg", &out, 1, &n), CAIRN_EKIND);
	assert_int_equal(cairn_doc_contains(d, "set", &e), 1);
	/* After a delete, the name is free for either kind. */
	OK(cairn_doc_del(d, "reg", NULL));
	OK(cairn_doc_add(d, "reg", &e, NULL));
	cairn_field_info fi;
	OK(cairn_doc_field_info(d, "reg", &fi));
	assert_int_equal(fi.kind, CAIRN_KIND_SET);
	assert_int_equal(cairn_doc_del(d, "nothing", NULL), CAIRN_ENOTFOUND);
	cairn_value other = cairn_value_str("blue");
	assert_int_equal(cairn_doc_rm(d, "set", &other, NULL), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_doc_get(d, "nothing", &out, NULL),
	                 CAIRN_ENOTFOUND);
	OK(cairn_doc_members(d, "nothing", &out, 1, &n));
	assert_int_equal(n, 0);
	cairn_delta_free(dl);
	cairn_replica_free(a);
}

/* Two replicas create one field concurrently with different kinds. */
static void test_kind_conflict(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	set_int(doc(a, "k"), "x", 5, 10, NULL);
	cairn_value e = cairn_value_str("tag");
	OK(cairn_doc_add(doc(b, "k"), "x", &e, NULL));
	sync_both(a, b, 20);
	assert_same(a, b);
	cairn_field_info fi;
	OK(cairn_doc_field_info(doc(b, "k"), "x", &fi));
	assert_int_equal(fi.kind, CAIRN_KIND_REGISTER);
	assert_true(fi.kind_conflict);
	assert_int_equal(fi.members, 1);
	assert_int_equal(get_int(doc(b, "k"), "x"), 5);
	/* Set operations are refused while it reads as a register. */
	assert_int_equal(cairn_doc_add(doc(b, "k"), "x", &e, NULL),
	                 CAIRN_EKIND);
	/* A register write supersedes what it saw of both kinds. */
	set_int(doc(b, "k"), "x", 6, 30, NULL);
	OK(cairn_doc_field_info(doc(b, "k"), "x", &fi));
	assert_false(fi.kind_conflict);
	sync_both(a, b, 40);
	OK(cairn_doc_field_info(doc(a, "k"), "x", &fi));
	assert_false(fi.kind_conflict);
	assert_int_equal(get_int(doc(a, "k"), "x"), 6);
	assert_same(a, b);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

static void test_lww_and_ties(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	set_int(doc(a, "d"), "f", 1, 500, NULL);
	set_int(doc(b, "d"), "f", 2, 400, NULL);
	/* Equal HLC: the greater replica id wins. */
	set_int(doc(a, "d"), "g", 1, 700, NULL);
	set_int(doc(b, "d"), "g", 2, 700, NULL);
	sync_both(a, b, 1000);
	assert_int_equal(get_int(doc(b, "d"), "f"), 1);
	assert_int_equal(get_int(doc(a, "d"), "g"), 2);
	cairn_field_info fi;
	OK(cairn_doc_field_info(doc(a, "d"), "f", &fi));
	assert_int_equal(fi.values, 2); /* the loser stays until superseded */
	/* A write that saw both supersedes both. */
	set_int(doc(a, "d"), "f", 3, 1001, NULL);
	OK(cairn_doc_field_info(doc(a, "d"), "f", &fi));
	assert_int_equal(fi.values, 1);
	sync_both(a, b, 2000);
	assert_same(a, b);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

static void declare_all(cairn_replica *r)
{
	OK(cairn_replica_declare(r, "f/", NULL, CAIRN_POLICY_FWW));
	OK(cairn_replica_declare(r, "p/", NULL, CAIRN_POLICY_PRIORITY));
	OK(cairn_replica_declare(r, "m/", NULL, CAIRN_POLICY_MULTI));
	OK(cairn_replica_declare(r, "m/", "one", CAIRN_POLICY_LWW));
}

static void test_policies(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 9);
	declare_all(a);
	declare_all(b);
	/* fww: a local write over a value is refused. */
	set_int(doc(a, "f/1"), "owner", 1, 100, NULL);
	cairn_value v = cairn_value_int(9);
	assert_int_equal(cairn_doc_set(doc(a, "f/1"), "owner", &v, 101, NULL),
	                 CAIRN_EEXIST);
	set_int(doc(b, "f/1"), "owner", 2, 200, NULL); /* concurrent, later */
	/* priority: b (9) beats a (0) although a writes later. */
	set_int(doc(a, "p/1"), "price", 10, 900, NULL);
	set_int(doc(b, "p/1"), "price", 20, 300, NULL);
	/* multi keeps both; a field-level declaration overrides. */
	/* (Each clock has passed 900 and 300 by now: use later times.) */
	set_int(doc(a, "m/1"), "notes", 1, 950, NULL);
	set_int(doc(b, "m/1"), "notes", 2, 960, NULL);
	set_int(doc(a, "m/1"), "one", 1, 950, NULL);
	set_int(doc(b, "m/1"), "one", 2, 960, NULL);
	sync_both(a, b, 1000);
	assert_same(a, b);
	assert_int_equal(get_int(doc(a, "f/1"), "owner"), 1);
	assert_int_equal(get_int(doc(a, "p/1"), "price"), 20);
	assert_int_equal(get_int(doc(a, "m/1"), "one"), 2);
	cairn_value all[4];
	cairn_stamp st[4];
	size_t n;
	assert_int_equal(
	        cairn_doc_get_all(doc(a, "m/1"), "notes", all, st, 1, &n),
	        CAIRN_ESPACE);
	assert_int_equal(n, 2);
	OK(cairn_doc_get_all(doc(a, "m/1"), "notes", all, st, 4, &n));
	assert_int_equal(n, 2);
	assert_int_equal(all[0].as.i, 2); /* latest first */
	assert_int_equal(all[1].as.i, 1);
	assert_int_equal(st[0].replica, 2);
	/* get_all under fww lists the winner first. */
	OK(cairn_doc_get_all(doc(b, "f/1"), "owner", all, st, 4, &n));
	assert_int_equal(all[0].as.i, 1);
	/* priority's stamp carries the priority. */
	OK(cairn_doc_get(doc(a, "p/1"), "price", &all[0], &st[0]));
	assert_int_equal(st[0].priority, 9);
	assert_int_equal(cairn_replica_policy(a, "m/2", "one"),
	                 CAIRN_POLICY_LWW);
	assert_int_equal(cairn_replica_policy(a, "m/2", "two"),
	                 CAIRN_POLICY_MULTI);
	assert_int_equal(cairn_replica_policy(a, "z", "two"), CAIRN_POLICY_LWW);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

static void test_declarations(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	OK(cairn_replica_declare(a, "t/", NULL, CAIRN_POLICY_FWW));
	OK(cairn_replica_declare(a, "t/", NULL, CAIRN_POLICY_FWW));
	assert_int_equal(cairn_replica_declare(a, "t/", NULL, CAIRN_POLICY_LWW),
	                 CAIRN_EPOLICY);
	/* Longer prefixes win. */
	OK(cairn_replica_declare(a, "t/special/", NULL, CAIRN_POLICY_MULTI));
	assert_int_equal(cairn_replica_policy(a, "t/special/1", "x"),
	                 CAIRN_POLICY_MULTI);
	assert_int_equal(cairn_replica_policy(a, "t/1", "x"), CAIRN_POLICY_FWW);
	/* Once a register holds a value its policy cannot change here. */
	set_int(doc(a, "u/1"), "x", 1, 10, NULL);
	assert_int_equal(cairn_replica_declare(a, "u/", NULL, CAIRN_POLICY_FWW),
	                 CAIRN_EPOLICY);
	assert_int_equal(
	        cairn_replica_declare(a, "u/", "x", CAIRN_POLICY_MULTI),
	        CAIRN_EPOLICY);
	OK(cairn_replica_declare(a, "u/", "y", CAIRN_POLICY_MULTI));
	/* A delta whose policies disagree is refused whole, b unchanged. */
	cairn_delta *dl = delta();
	set_int(doc(a, "t/1"), "x", 1, 20, dl);
	assert_int_equal(cairn_replica_join(b, dl, 100), CAIRN_EPOLICY);
	assert_int_equal(cairn_replica_doc_count(b), 0);
	OK(cairn_replica_declare(b, "t/", NULL, CAIRN_POLICY_FWW));
	OK(cairn_replica_join(b, dl, 100));
	assert_int_equal(get_int(doc(b, "t/1"), "x"), 1);
	cairn_delta_free(dl);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

static void test_add_wins(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	cairn_value red = cairn_value_str("red"),
	            blue = cairn_value_str("blue");
	OK(cairn_doc_add(doc(a, "s"), "tags", &red, NULL));
	sync_both(a, b, 10);
	/* b removes red while a re-adds it: the add b did not see wins. */
	OK(cairn_doc_rm(doc(b, "s"), "tags", &red, NULL));
	OK(cairn_doc_add(doc(a, "s"), "tags", &red, NULL));
	OK(cairn_doc_add(doc(b, "s"), "tags", &blue, NULL));
	sync_both(a, b, 20);
	assert_same(a, b);
	cairn_value m[2];
	size_t n;
	OK(cairn_doc_members(doc(b, "s"), "tags", m, 2, &n));
	assert_int_equal(n, 2);
	assert_int_equal(cairn_value_compare(&m[0], &blue), 0);
	assert_int_equal(cairn_value_compare(&m[1], &red), 0);
	assert_int_equal(cairn_doc_members(doc(b, "s"), "tags", m, 1, &n),
	                 CAIRN_ESPACE);
	/* A remove that saw the adds removes them everywhere. */
	OK(cairn_doc_rm(doc(b, "s"), "tags", &red, NULL));
	sync_both(a, b, 30);
	assert_int_equal(cairn_doc_contains(doc(a, "s"), "tags", &red), 0);
	assert_same(a, b);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

/* A delete removes only what its replica saw. */
static void test_delete_concurrent(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	set_int(doc(a, "d"), "f", 1, 10, NULL);
	sync_both(a, b, 20);
	OK(cairn_doc_del(doc(a, "d"), "f", NULL));
	set_int(doc(b, "d"), "f", 2, 30, NULL); /* concurrent with the delete */
	sync_both(a, b, 40);
	assert_int_equal(get_int(doc(a, "d"), "f"), 2);
	OK(cairn_doc_del(doc(a, "d"), "f", NULL));
	sync_both(a, b, 50);
	cairn_value v;
	assert_int_equal(cairn_doc_get(doc(b, "d"), "f", &v, NULL),
	                 CAIRN_ENOTFOUND);
	assert_same(a, b);
	/* The document keeps its history: it still counts. */
	assert_int_equal(cairn_replica_doc_count(b), 1);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

/* The delta a write returns, joined into a copy, gives the written state. */
static void test_delta_equals_mutation(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0);
	cairn_value red = cairn_value_str("red"),
	            blue = cairn_value_str("blue");
	set_int(doc(a, "d"), "f", 1, 10, NULL);
	OK(cairn_doc_add(doc(a, "d"), "s", &red, NULL));
	OK(cairn_doc_add(doc(a, "d"), "s", &blue, NULL));
	for (int op = 0; op < 5; op++) {
		cairn_replica *copy = mk(2, 0);
		cairn_delta *st = delta(), *dl = delta();
		OK(cairn_replica_state(a, st));
		OK(cairn_replica_join(copy, st, 100));
		switch (op) {
		case 0: set_int(doc(a, "d"), "f", 2 + op, 50, dl); break;
		case 1: OK(cairn_doc_del(doc(a, "d"), "f", dl)); break;
		case 2: OK(cairn_doc_add(doc(a, "d"), "s", &red, dl)); break;
		case 3: OK(cairn_doc_rm(doc(a, "d"), "s", &blue, dl)); break;
		case 4: OK(cairn_doc_del(doc(a, "d"), "s", dl)); break;
		}
		OK(cairn_replica_join(copy, dl, 100));
		assert_same(a, copy);
		/* Joining it twice changes nothing. */
		OK(cairn_replica_join(copy, dl, 100));
		assert_same(a, copy);
		cairn_delta_free(st);
		cairn_delta_free(dl);
		cairn_replica_free(copy);
	}
	cairn_replica_free(a);
}

/* Several writes gathered in one delta equal their deltas joined. */
static void test_gathered_delta(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0), *c = mk(3, 0);
	cairn_delta *all = delta(), *one = delta();
	cairn_value red = cairn_value_str("red");
	for (int i = 0; i < 20; i++) {
		cairn_delta_clear(one);
		char f[8] = {'f', (char)('a' + i % 4), 0};
		switch (i % 5) {
		case 0:
		case 1:
			set_int(doc(a, "g"), f, i, 100 + (uint64_t)i, one);
			break;
		case 2: OK(cairn_doc_add(doc(a, "g"), "s", &red, one)); break;
		case 3: {
			int rc = cairn_doc_del(doc(a, "g"), f, one);
			assert_true(rc == 0 || rc == CAIRN_ENOTFOUND);
			break;
		}
		case 4: {
			int rc = cairn_doc_rm(doc(a, "g"), "s", &red, one);
			assert_true(rc == 0 || rc == CAIRN_ENOTFOUND);
			break;
		}
		}
		OK(cairn_delta_join(all, one));
		OK(cairn_replica_join(b, one, 1000));
	}
	OK(cairn_replica_join(c, all, 1000));
	assert_same(a, b);
	assert_same(a, c);
	cairn_delta_free(all);
	cairn_delta_free(one);
	cairn_replica_free(a);
	cairn_replica_free(b);
	cairn_replica_free(c);
}

/*
 * Names of every length up to past the 16 bytes kept in a field record,
 * in documents below and above the size at which they keep an index:
 * each is found again, by its writer and by a replica that hashes names
 * under another key, and names that differ in one byte stay apart.
 */
static void test_name_lengths(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	const char *base = "abcdefghijklmnopqrstuvwx";
	for (int docs = 0; docs < 2; docs++) {
		const char *id = docs ? "wide" : "narrow";
		int n = docs ? 20 : 4;
		for (int len = 1; len <= n; len++) {
			char f[32];
			memcpy(f, base, (size_t)len);
			f[len] = 0;
			set_int(doc(a, id), f, len, 10, NULL);
			/* The same length, the last byte changed. */
			f[len - 1] = 'Z';
			set_int(doc(a, id), f, -len, 10, NULL);
		}
		sync_both(a, b, 50);
		for (int len = 1; len <= n; len++) {
			char f[32];
			memcpy(f, base, (size_t)len);
			f[len] = 0;
			assert_int_equal(get_int(doc(a, id), f), len);
			assert_int_equal(get_int(doc(b, id), f), len);
			f[len - 1] = 'Z';
			assert_int_equal(get_int(doc(a, id), f), -len);
			assert_int_equal(get_int(doc(b, id), f), -len);
		}
		assert_int_equal(cairn_doc_field_count(doc(b, id)),
		                 (size_t)(2 * n));
	}
	assert_same(a, b);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

/*
 * A delta cleared after every write and reused, as a store or a link uses
 * one: each write's delta, shipped, brings a copy to the writer's state.
 * Values longer than 8 bytes, overwrites, set adds and removes, deletes,
 * names of 16 bytes and more, in a document that grows past the size at
 * which it starts to keep an index and shrinks again.
 */
static void test_reused_delta(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	cairn_delta *one = delta();
	const char *text = "a value longer than the 8 bytes kept inline";
	uint64_t now = 100;
	for (int i = 0; i < 400; i++, now++) {
		char f[40];
		int k = (i * 7) % 23;
		if (k % 3 == 0)
			snprintf(f, sizeof f, "a-name-of-at-least-16-bytes-%d",
			         k);
		else
			snprintf(f, sizeof f, "f%d", k);
		cairn_value v = cairn_value_strn(text, 9 + (size_t)(i % 30));
		cairn_value e = cairn_value_int(i % 5);
		int rc = 0;
		switch (i % 7) {
		case 0:
		case 1:
		case 2: rc = cairn_doc_set(doc(a, "d"), f, &v, now, one); break;
		case 3: rc = cairn_doc_add(doc(a, "d"), "s", &e, one); break;
		case 4: rc = cairn_doc_rm(doc(a, "d"), "s", &e, one); break;
		case 5: rc = cairn_doc_del(doc(a, "d"), f, one); break;
		case 6: {
			cairn_value str = cairn_value_strn(text, 20);
			rc = cairn_doc_add(doc(a, "d"), "t", &str, one);
			break;
		}
		}
		assert_true(rc == 0 || rc == CAIRN_ENOTFOUND ||
		            rc == CAIRN_EKIND);
		OK(ship(b, one, now));
		assert_same(a, b);
		cairn_delta_clear(one);
		assert_true(cairn_delta_empty(one));
	}
	cairn_delta_free(one);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

/*
 * A delta gathering the writes of two replicas, interleaved, joined into a
 * third: the dots it collects come in no order (a sort that needs more
 * than one pass), and the result is the two states joined.
 */
static void test_interleaved_writers(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0), *c = mk(3, 0),
	              *d = mk(4, 0);
	cairn_delta *all = delta(), *one = delta(), *sa = delta(),
	            *sb = delta();
	/* Counters past 2^11: the dots differ in more than one digit. */
	for (int i = 0; i < 3000; i++)
		set_int(doc(a, "d"), "warm-up", i, 100, NULL);
	for (int i = 0; i < 300; i++) {
		char f[16];
		snprintf(f, sizeof f, "f%d", i);
		cairn_replica *w = i % 2 ? b : a;
		cairn_delta_clear(one);
		set_int(doc(w, "d"), f, i, 200 + (uint64_t)i, one);
		OK(cairn_delta_join(all, one));
	}
	OK(cairn_replica_join(c, all, 1000));
	OK(cairn_replica_state(a, sa));
	OK(cairn_replica_state(b, sb));
	OK(cairn_replica_join(d, sa, 1000));
	OK(cairn_replica_join(d, sb, 1000));
	OK(cairn_replica_join(c, sa, 1000));
	OK(cairn_replica_join(c, sb, 1000));
	assert_same(c, d);
	cairn_delta_free(all);
	cairn_delta_free(one);
	cairn_delta_free(sa);
	cairn_delta_free(sb);
	cairn_replica_free(a);
	cairn_replica_free(b);
	cairn_replica_free(c);
	cairn_replica_free(d);
}

static void test_listing(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0);
	const char *ids[] = {"t/2", "t/10", "u/1", "t/1"};
	for (int i = 0; i < 4; i++)
		set_int(doc(a, ids[i]), "b", 1, 10, NULL);
	set_int(doc(a, "t/1"), "a", 1, 10, NULL);
	cairn_doc *empty = doc(a, "empty"); /* created, never written */
	(void)empty;
	cairn_doc *x;
	assert_int_equal(cairn_replica_find(a, "empty", &x), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_replica_doc_count(a), 4);
	const char *out[8];
	size_t n;
	OK(cairn_replica_docs(a, "t/", out, 8, &n));
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "t/1");
	assert_string_equal(out[1], "t/10");
	assert_string_equal(out[2], "t/2");
	assert_int_equal(cairn_replica_docs(a, NULL, out, 3, &n), CAIRN_ESPACE);
	assert_int_equal(n, 4);
	const char *names[2];
	OK(cairn_doc_fields(doc(a, "t/1"), names, 2, &n));
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	assert_int_equal(cairn_doc_fields(doc(a, "t/1"), names, 1, &n),
	                 CAIRN_ESPACE);
	cairn_replica_free(a);
}

/* One document's state, alone, brings exactly that document. */
static void test_doc_state(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0), *b = mk(2, 0);
	cairn_value red = cairn_value_str("red");
	set_int(doc(a, "x/1"), "f", 1, 10, NULL);
	OK(cairn_doc_add(doc(a, "x/1"), "s", &red, NULL));
	set_int(doc(a, "x/2"), "f", 2, 10, NULL);
	cairn_delta *d = delta();
	assert_int_equal(cairn_replica_doc_state(a, "nope", d),
	                 CAIRN_ENOTFOUND);
	OK(cairn_replica_doc_state(a, "x/1", d));
	assert_int_equal(cairn_delta_doc_count(d), 1);
	OK(ship(b, d, 100));
	cairn_doc *got;
	assert_int_equal(cairn_replica_find(b, "x/2", &got), CAIRN_ENOTFOUND);
	OK(cairn_replica_find(b, "x/1", &got));
	assert_int_equal(get_int(got, "f"), 1);
	assert_int_equal(cairn_doc_contains(got, "s", &red), 1);
	/* With the other document too, b equals a. */
	cairn_delta_clear(d);
	OK(cairn_replica_doc_state(a, "x/2", d));
	OK(ship(b, d, 100));
	assert_same(a, b);
	cairn_delta_free(d);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

static void test_clock_counter_exhausted(void **state)
{
	(void)state;
	cairn_replica *a = mk(1, 0);
	cairn_doc *d = doc(a, "c");
	cairn_value v = cairn_value_int(1);
	for (int i = 0; i < 65536; i++)
		OK(cairn_doc_set(d, "f", &v, 1000, NULL));
	assert_int_equal(cairn_doc_set(d, "f", &v, 1000, NULL), CAIRN_EAGAIN);
	OK(cairn_doc_set(d, "f", &v, 1001, NULL));
	assert_int_equal(CAIRN_HLC_MS(cairn_replica_hlc_last(a)), 1001);
	cairn_replica_free(a);
}

static void test_config(void **state)
{
	(void)state;
	cairn_replica_config c;
	cairn_replica_config_init(&c);
	cairn_replica *r = NULL;
	assert_int_equal(cairn_replica_new(&c, &r), CAIRN_EINVAL); /* id 0 */
	c.id = 1;
	assert_int_equal(cairn_replica_new_(&c, sizeof c - 1, &r),
	                 CAIRN_EVERSION);
	c.limits.max_value_bytes = CAIRN_MAX_VALUE_LIMIT + 1;
	assert_int_equal(cairn_replica_new(&c, &r), CAIRN_EINVAL);
	cairn_replica_free(NULL);
	cairn_delta_free(NULL);
	assert_string_equal(cairn_err_name(CAIRN_EKIND), "CAIRN_EKIND");
	assert_non_null(cairn_strerror(-999));
	cairn_policy p;
	OK(cairn_policy_parse("priority", &p));
	assert_int_equal(p, CAIRN_POLICY_PRIORITY);
	assert_int_equal(cairn_policy_parse("nope", &p), CAIRN_EINVAL);
	/* A resumed clock never issues at or below its resume point. */
	c.limits.max_value_bytes = 1024;
	c.hlc_resume = CAIRN_HLC_MAKE(5000, 7);
	OK(cairn_replica_new(&c, &r));
	set_int(doc(r, "d"), "f", 1, 10, NULL);
	cairn_stamp st;
	cairn_value v;
	OK(cairn_doc_get(doc(r, "d"), "f", &v, &st));
	assert_true(st.hlc > CAIRN_HLC_MAKE(5000, 7));
	cairn_replica_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_values_round_trip),
	        cmocka_unit_test(test_bad_names_and_values),
	        cmocka_unit_test(test_kinds),
	        cmocka_unit_test(test_kind_conflict),
	        cmocka_unit_test(test_lww_and_ties),
	        cmocka_unit_test(test_policies),
	        cmocka_unit_test(test_declarations),
	        cmocka_unit_test(test_add_wins),
	        cmocka_unit_test(test_delete_concurrent),
	        cmocka_unit_test(test_delta_equals_mutation),
	        cmocka_unit_test(test_gathered_delta),
	        cmocka_unit_test(test_name_lengths),
	        cmocka_unit_test(test_reused_delta),
	        cmocka_unit_test(test_interleaved_writers),
	        cmocka_unit_test(test_listing),
	        cmocka_unit_test(test_doc_state),
	        cmocka_unit_test(test_clock_counter_exhausted),
	        cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
