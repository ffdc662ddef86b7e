/*
 * test_codec.c -- the canonical encoding: round trips of random states,
 * every truncation refused, decoder bombs, and non-canonical inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <msgpack.h>

#include "cairn.h"

#define OK(x) assert_int_equal((x), 0)

static uint64_t rng = 12345;
static uint64_t next(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static cairn_replica *mk(uint64_t id)
{
	cairn_replica_config c;
	cairn_replica_config_init(&c);
	c.id = id;
	c.source_priority = (uint8_t)(id % 3);
	cairn_replica *r;
	OK(cairn_replica_new(&c, &r));
	return r;
}

static cairn_value random_value(char *buf)
{
	switch (next() % 6) {
	case 0: return cairn_value_nil();
	case 1: return cairn_value_bool(next() % 2);
	case 2: return cairn_value_int((int64_t)(next() % 5) - 2);
	case 3: return cairn_value_float((double)(next() % 3) / 2.0);
	case 4:
		snprintf(buf, 40, "value-%u-with-some-length",
		         (unsigned)(next() % 4));
		return cairn_value_str(buf);
	default: return cairn_value_bin("\x00\x01\x02", 1 + next() % 3);
	}
}

/* Random writes on three replicas with random partial exchanges. */
static void random_state(cairn_replica *r[3], int ops)
{
	static const char *docs[] = {"a", "b/1", "b/2"};
	static const char *fields[] = {"x", "y", "tags"};
	char buf[40];
	uint64_t now = 1000;
	for (int i = 0; i < ops; i++) {
		cairn_replica *w = r[next() % 3];
		cairn_doc *d;
		OK(cairn_replica_doc(w, docs[next() % 3], &d));
		const char *f = fields[next() % 3];
		cairn_value v = random_value(buf);
		int rc;
		now += next() % 3;
		switch (next() % 5) {
		case 0:
		case 1: rc = cairn_doc_set(d, f, &v, now, NULL); break;
		case 2: rc = cairn_doc_add(d, f, &v, NULL); break;
		case 3: rc = cairn_doc_rm(d, f, &v, NULL); break;
		default: rc = cairn_doc_del(d, f, NULL); break;
		}
		assert_true(rc == 0 || rc == CAIRN_EKIND ||
		            rc == CAIRN_ENOTFOUND);
		if (next() % 6 == 0) {
			cairn_replica *from = r[next() % 3],
			              *to = r[next() % 3];
			cairn_delta *s;
			OK(cairn_delta_new(NULL, &s));
			OK(cairn_replica_state(from, s));
			OK(cairn_replica_join(to, s, now + 100000));
			cairn_delta_free(s);
		}
	}
}

static void test_round_trip(void **state)
{
	(void)state;
	size_t total = 0;
	for (int round = 0; round < 200; round++) {
		cairn_replica *r[3] = {mk(11), mk(22), mk(33)};
		random_state(r, 40);
		cairn_buf a, b;
		cairn_buf_init(&a, NULL);
		cairn_buf_init(&b, NULL);
		OK(cairn_replica_encode(r[0], &a));
		total += a.len;
		cairn_delta *d;
		OK(cairn_delta_new(NULL, &d));
		OK(cairn_delta_decode(d, a.data, a.len, NULL));
		OK(cairn_delta_encode(d, &b));
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		/* Digests agree with the bytes. */
		uint8_t h1[CAIRN_DIGEST_BYTES], h2[CAIRN_DIGEST_BYTES];
		OK(cairn_replica_digest(r[0], h1));
		OK(cairn_delta_digest(d, h2));
		assert_memory_equal(h1, h2, sizeof h1);
		/* And the decoded state rebuilds the replica exactly. */
		cairn_replica *copy = mk(44);
		OK(cairn_replica_join(copy, d, 1 << 30));
		cairn_buf_reset(&b);
		OK(cairn_replica_encode(copy, &b));
		assert_memory_equal(a.data, b.data, a.len);
		cairn_replica_free(copy);
		cairn_delta_free(d);
		cairn_buf_free(&a);
		cairn_buf_free(&b);
		for (int i = 0; i < 3; i++)
			cairn_replica_free(r[i]);
	}
	/* The states must be worth the name. */
	print_message("mean state size: %zu bytes\n", total / 200);
	assert_true(total / 200 > 100);
}

/* Every proper prefix of a valid encoding is refused, and leaves the
 * output delta as it was. */
static void test_truncation(void **state)
{
	(void)state;
	for (int round = 0; round < 10; round++) {
		cairn_replica *r[3] = {mk(1), mk(2), mk(3)};
		random_state(r, 30);
		cairn_buf a;
		cairn_buf_init(&a, NULL);
		OK(cairn_replica_encode(r[0], &a));
		cairn_delta *d;
		OK(cairn_delta_new(NULL, &d));
		for (size_t cut = 0; cut < a.len; cut++) {
			int rc = cairn_delta_decode(d, a.data, cut, NULL);
			assert_true(rc == CAIRN_EDECODE || rc == CAIRN_ELIMIT);
			assert_true(cairn_delta_empty(d));
		}
		/* One byte too many is refused as well. */
		OK(cairn_buf_append(&a, "\xc0", 1));
		assert_int_equal(cairn_delta_decode(d, a.data, a.len, NULL),
		                 CAIRN_EDECODE);
		cairn_delta_free(d);
		cairn_buf_free(&a);
		for (int i = 0; i < 3; i++)
			cairn_replica_free(r[i]);
	}
}

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Headers that declare huge counts in a few bytes cost nothing. */
static void test_bombs(void **state)
{
	(void)state;
	static const uint8_t bombs[][9] = {
	        {0xdd, 0xff, 0xff, 0xff, 0xff},             /* array32 2^32-1 */
	        {0xdd, 0x04, 0x00, 0x00, 0x00},             /* array32 2^26 */
	        {0xdf, 0xff, 0xff, 0xff, 0xff},             /* map32 */
	        {0xdb, 0xff, 0xff, 0xff, 0xff},             /* str32 */
	        {0xc6, 0xff, 0xff, 0xff, 0xff},             /* bin32 */
	        {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01},       /* ext32 */
	        {0x92, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff}, /* inside a delta */
	};
	static const size_t lens[] = {5, 5, 5, 5, 5, 6, 7};
	cairn_delta *d;
	OK(cairn_delta_new(NULL, &d));
	long before = max_rss_kib();
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		int rc = cairn_delta_decode(d, bombs[i], lens[i], NULL);
		assert_true(rc == CAIRN_EDECODE || rc == CAIRN_ELIMIT);
	}
	long grown = max_rss_kib() - before;
	print_message("max RSS growth over the bombs: %ld KiB\n", grown);
	assert_true(grown < 1024);

	/* Nesting beyond the limit. */
	uint8_t deep[40];
	memset(deep, 0x91, sizeof deep);
	deep[sizeof deep - 1] = 0xc0;
	cairn_limits lim;
	cairn_limits_init(&lim);
	lim.max_depth = 16;
	assert_int_equal(cairn_delta_decode(d, deep, sizeof deep, &lim),
	                 CAIRN_ELIMIT);
	assert_true(cairn_delta_empty(d));
	cairn_delta_free(d);
}

/* ---- hand-made encodings ---------------------------------------------- */

typedef struct craft {
	msgpack_sbuffer sb;
	msgpack_packer pk;
} craft;

static void craft_init(craft *c)
{
	msgpack_sbuffer_init(&c->sb);
	msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
}

static void str(craft *c, const char *s)
{
	msgpack_pack_str(&c->pk, strlen(s));
	msgpack_pack_str_body(&c->pk, s, strlen(s));
}

enum mutation {
	GOOD,
	VERSION2,
	UNSORTED_FIELDS,
	FLOAT32,
	WRITER_RANGE,
	COUNTER_ZERO,
	COUNTER_BIG,
	BAD_UTF8,
	UNUSED_WRITER,
	EMPTY_FIELD,
	POLICY_RANGE,
	BIG_VALUE,
	PRIO_ZERO,
	DUP_DOC,
};

/* [1, [["d", [7, 9], [[0, 1]], fields]]] with one mutation. */
static void build(craft *c, enum mutation m)
{
	craft_init(c);
	msgpack_packer *pk = &c->pk;
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint8(pk, m == VERSION2 ? 2 : 1);
	msgpack_pack_array(pk, m == DUP_DOC ? 2 : 1);
	for (int dup = 0; dup < (m == DUP_DOC ? 2 : 1); dup++) {
		msgpack_pack_array(pk, 4);
		str(c, "d");
		msgpack_pack_array(pk, m == UNUSED_WRITER ? 3 : 2);
		msgpack_pack_uint64(pk, 7);
		msgpack_pack_uint64(pk, 9);
		if (m == UNUSED_WRITER)
			msgpack_pack_uint64(pk, 11);
		msgpack_pack_array(pk, 1); /* ctx: writer 0 saw 1 */
		msgpack_pack_array(pk, 2);
		msgpack_pack_uint8(pk, 0);
		msgpack_pack_uint8(pk, 1);
		msgpack_pack_array(pk, m == EMPTY_FIELD ? 3 : 2);
		const char *names[2] = {"a", "b"};
		if (m == UNSORTED_FIELDS) {
			names[0] = "b";
			names[1] = "a";
		}
		for (int f = 0; f < 2; f++) {
			msgpack_pack_array(pk, 3);
			str(c, names[f]);
			msgpack_pack_uint8(pk, m == POLICY_RANGE ? 4 : 0);
			msgpack_pack_array(pk, 1);
			msgpack_pack_array(pk, m == PRIO_ZERO ? 5 : 4);
			msgpack_pack_uint8(pk,
			                   f == 0 && m == WRITER_RANGE ? 2 : 1);
			if (m == COUNTER_ZERO)
				msgpack_pack_uint64(pk, 0);
			else if (m == COUNTER_BIG)
				msgpack_pack_uint64(pk, UINT64_C(1) << 48);
			else
				msgpack_pack_uint64(pk, (uint64_t)f + 1);
			msgpack_pack_uint64(pk, 1000);
			if (m == FLOAT32)
				msgpack_pack_float(pk, 1.5f);
			else if (m == BAD_UTF8)
				str(c, "\xed\xa0\x80");
			else if (m == BIG_VALUE)
				str(c, "0123456789abcdefg");
			else
				msgpack_pack_int64(pk, f);
			if (m == PRIO_ZERO)
				msgpack_pack_uint8(pk, 0);
		}
		if (m == EMPTY_FIELD) {
			msgpack_pack_array(pk, 3);
			str(c, "c");
			msgpack_pack_uint8(pk, 0);
			msgpack_pack_array(pk, 0);
		}
	}
}

static void test_non_canonical(void **state)
{
	(void)state;
	cairn_limits lim;
	cairn_limits_init(&lim);
	lim.max_value_bytes = 16;
	struct {
		enum mutation m;
		int rc;
	} cases[] = {
	        {GOOD, 0},
	        {VERSION2, CAIRN_EVERSION},
	        {UNSORTED_FIELDS, CAIRN_EDECODE},
	        {FLOAT32, CAIRN_EDECODE},
	        {WRITER_RANGE, CAIRN_EDECODE},
	        {COUNTER_ZERO, CAIRN_EDECODE},
	        {COUNTER_BIG, CAIRN_EDECODE},
	        {BAD_UTF8, CAIRN_EDECODE},
	        {UNUSED_WRITER, CAIRN_EDECODE},
	        {EMPTY_FIELD, CAIRN_EDECODE},
	        {POLICY_RANGE, CAIRN_EDECODE},
	        {BIG_VALUE, CAIRN_ETOOBIG},
	        {PRIO_ZERO, CAIRN_EDECODE},
	        {DUP_DOC, CAIRN_EDECODE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		craft c;
		build(&c, cases[i].m);
		cairn_delta *d;
		OK(cairn_delta_new(NULL, &d));
		int rc = cairn_delta_decode(d, (const uint8_t *)c.sb.data,
		                            c.sb.size, &lim);
		if (rc != cases[i].rc)
			fail_msg("mutation %d: got %s, want %s",
			         (int)cases[i].m, cairn_err_name(rc),
			         cairn_err_name(cases[i].rc));
		if (rc == 0) {
			/* The accepted form is the canonical one. */
			cairn_buf b;
			cairn_buf_init(&b, NULL);
			OK(cairn_delta_encode(d, &b));
			assert_int_equal(b.len, c.sb.size);
			assert_memory_equal(b.data, c.sb.data, b.len);
			cairn_buf_free(&b);
		} else {
			assert_true(cairn_delta_empty(d));
		}
		cairn_delta_free(d);
		msgpack_sbuffer_destroy(&c.sb);
	}
}

/* Decoding into a delta that holds something joins into it. */
static void test_decode_joins(void **state)
{
	(void)state;
	cairn_replica *a = mk(5), *b = mk(6);
	cairn_delta *da, *db, *both;
	OK(cairn_delta_new(NULL, &da));
	OK(cairn_delta_new(NULL, &db));
	OK(cairn_delta_new(NULL, &both));
	cairn_doc *d;
	OK(cairn_replica_doc(a, "x", &d));
	cairn_value v = cairn_value_int(1);
	OK(cairn_doc_set(d, "f", &v, 10, da));
	OK(cairn_replica_doc(b, "x", &d));
	OK(cairn_doc_set(d, "g", &v, 10, db));
	cairn_buf ba, bb;
	cairn_buf_init(&ba, NULL);
	cairn_buf_init(&bb, NULL);
	OK(cairn_delta_encode(da, &ba));
	OK(cairn_delta_encode(db, &bb));
	OK(cairn_delta_decode(both, ba.data, ba.len, NULL));
	OK(cairn_delta_decode(both, bb.data, bb.len, NULL));
	OK(cairn_delta_join(da, db));
	uint8_t h1[32], h2[32];
	OK(cairn_delta_digest(da, h1));
	OK(cairn_delta_digest(both, h2));
	assert_memory_equal(h1, h2, 32);
	cairn_buf_free(&ba);
	cairn_buf_free(&bb);
	cairn_delta_free(da);
	cairn_delta_free(db);
	cairn_delta_free(both);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_truncation),
	        cmocka_unit_test(test_bombs),
	        cmocka_unit_test(test_non_canonical),
	        cmocka_unit_test(test_decode_joins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
