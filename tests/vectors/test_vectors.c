/*
 * test_vectors.c -- golden vectors of the v1 encoding (docs/ENCODING.md).
 *
 * A fixed history on two replicas must encode to exactly these bytes and
 * digest. A change here is a change of format: bump FORMAT_VERSION in
 * crdt/codec.c and say so in docs/ENCODING.md, never just re-pin.
 * Run the executable with --print to see the current bytes.
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

static bool print_mode;

static cairn_replica *mk(uint64_t id, uint8_t prio)
{
	cairn_replica_config c;
	cairn_replica_config_init(&c);
	c.id = id;
	c.source_priority = prio;
	cairn_replica *r;
	OK(cairn_replica_new(&c, &r));
	OK(cairn_replica_declare(r, "p/", NULL, CAIRN_POLICY_PRIORITY));
	return r;
}

/* The history: writes of every value type, a set, concurrent writes, a
 * delete, a removal, and a delta that carries scoped removals. */
static void history(cairn_replica *a, cairn_replica *b, cairn_delta *last)
{
	cairn_doc *d, *e;
	OK(cairn_replica_doc(a, "tickets/1", &d));
	OK(cairn_replica_doc(b, "tickets/1", &e));
	cairn_value v = cairn_value_str("printer jams");
	OK(cairn_doc_set(d, "subject", &v, 1700000000000, NULL));
	v = cairn_value_int(-3);
	OK(cairn_doc_set(d, "n", &v, 1700000000001, NULL));
	v = cairn_value_float(2.5);
	OK(cairn_doc_set(e, "n", &v, 1700000000001, NULL));
	v = cairn_value_bool(true);
	OK(cairn_doc_set(e, "open", &v, 1700000000002, NULL));
	v = cairn_value_nil();
	OK(cairn_doc_set(e, "gone", &v, 1700000000002, NULL));
	OK(cairn_doc_del(e, "gone", NULL));
	v = cairn_value_str("red");
	OK(cairn_doc_add(d, "tags", &v, NULL));
	v = cairn_value_bin("\x01\x02", 2);
	OK(cairn_doc_add(e, "tags", &v, NULL));
	OK(cairn_replica_doc(b, "p/9", &e));
	v = cairn_value_int(100);
	OK(cairn_doc_set(e, "price", &v, 1700000000003, NULL));
	cairn_delta *s;
	OK(cairn_delta_new(NULL, &s));
	OK(cairn_replica_state(a, s));
	OK(cairn_replica_join(b, s, 1700000000010));
	cairn_delta_clear(s);
	OK(cairn_replica_state(b, s));
	OK(cairn_replica_join(a, s, 1700000000010));
	cairn_delta_free(s);
	v = cairn_value_str("red");
	OK(cairn_replica_doc(a, "tickets/1", &d));
	OK(cairn_doc_rm(d, "tags", &v, last));
	v = cairn_value_str("printer jams again");
	OK(cairn_doc_set(d, "subject", &v, 1700000000020, last));
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = 0;
}

static const char STATE_HEX[] =
#include "state_v1.hex"
        ;
static const char DELTA_HEX[] =
#include "delta_v1.hex"
        ;
static const char STATE_DIGEST[] =
#include "state_v1.digest"
        ;

static void check(const char *what, const uint8_t *p, size_t n,
                  const char *want)
{
	char got[8192];
	assert_true(2 * n + 1 <= sizeof got);
	hex(p, n, got);
	if (print_mode) {
		printf("%s:\n\"%s\"\n", what, got);
		return;
	}
	assert_string_equal(got, want);
}

static void test_vectors(void **state)
{
	(void)state;
	cairn_replica *a = mk(0x1111111111111111u, 0);
	cairn_replica *b = mk(0x2222222222222222u, 7);
	cairn_delta *last;
	OK(cairn_delta_new(NULL, &last));
	history(a, b, last);
	cairn_buf buf;
	cairn_buf_init(&buf, NULL);
	OK(cairn_replica_encode(a, &buf));
	check("state", buf.data, buf.len, STATE_HEX);
	uint8_t dg[CAIRN_DIGEST_BYTES];
	OK(cairn_replica_digest(a, dg));
	check("digest", dg, sizeof dg, STATE_DIGEST);
	/* The pinned bytes decode and re-encode to themselves. */
	cairn_delta *d;
	OK(cairn_delta_new(NULL, &d));
	OK(cairn_delta_decode(d, buf.data, buf.len, NULL));
	cairn_buf again;
	cairn_buf_init(&again, NULL);
	OK(cairn_delta_encode(d, &again));
	assert_int_equal(again.len, buf.len);
	assert_memory_equal(again.data, buf.data, buf.len);
	cairn_buf_reset(&buf);
	OK(cairn_delta_encode(last, &buf));
	check("delta", buf.data, buf.len, DELTA_HEX);
	cairn_buf_free(&again);
	cairn_buf_free(&buf);
	cairn_delta_free(d);
	cairn_delta_free(last);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

int main(int argc, char **argv)
{
	print_mode = argc > 1 && strcmp(argv[1], "--print") == 0;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
