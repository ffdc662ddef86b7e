/*
 * test_hlc.c -- the hybrid logical clock, and the skew check on joins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cairn.h"

#define OK(x) assert_int_equal((x), 0)

static void test_tick(void **state)
{
	(void)state;
	cairn_hlc c;
	cairn_hlc_init(&c, 0, 0);
	assert_int_equal(c.max_skew_ms, CAIRN_DEFAULT_MAX_SKEW_MS);
	uint64_t a, b;
	OK(cairn_hlc_tick(&c, 1000, &a));
	assert_int_equal(a, CAIRN_HLC_MAKE(1000, 0));
	OK(cairn_hlc_tick(&c, 1000, &b));
	assert_int_equal(b, CAIRN_HLC_MAKE(1000, 1));
	/* The wall clock steps back: the clock does not. */
	OK(cairn_hlc_tick(&c, 10, &b));
	assert_int_equal(b, CAIRN_HLC_MAKE(1000, 2));
	OK(cairn_hlc_tick(&c, 2000, &b));
	assert_int_equal(b, CAIRN_HLC_MAKE(2000, 0));
	assert_int_equal(cairn_hlc_tick(&c, CAIRN_HLC_MAX_MS + 1, &b),
	                 CAIRN_ERANGE);
	assert_int_equal(c.last, CAIRN_HLC_MAKE(2000, 0));
}

static void test_counter_never_wraps(void **state)
{
	(void)state;
	cairn_hlc c;
	cairn_hlc_init(&c, CAIRN_HLC_MAKE(50, 0xFFFE), 0);
	uint64_t t;
	OK(cairn_hlc_tick(&c, 50, &t));
	assert_int_equal(t, CAIRN_HLC_MAKE(50, 0xFFFF));
	assert_int_equal(cairn_hlc_tick(&c, 50, &t), CAIRN_EAGAIN);
	assert_int_equal(c.last, CAIRN_HLC_MAKE(50, 0xFFFF));
	OK(cairn_hlc_tick(&c, 51, &t));
	assert_int_equal(t, CAIRN_HLC_MAKE(51, 0));
}

static void test_skew(void **state)
{
	(void)state;
	cairn_hlc c;
	cairn_hlc_init(&c, 0, 0);
	uint64_t now = 1000000;
	OK(cairn_hlc_check(&c, CAIRN_HLC_MAKE(now + 1000, 0), now));
	OK(cairn_hlc_check(&c, CAIRN_HLC_MAKE(now + 60000, 9), now));
	assert_int_equal(
	        cairn_hlc_check(&c, CAIRN_HLC_MAKE(now + 60001, 0), now),
	        CAIRN_ECLOCK_SKEW);
	uint64_t ten_years = UINT64_C(10) * 365 * 24 * 3600 * 1000;
	assert_int_equal(
	        cairn_hlc_observe(&c, CAIRN_HLC_MAKE(now + ten_years, 0), now),
	        CAIRN_ECLOCK_SKEW);
	assert_int_equal(c.last, 0);
	OK(cairn_hlc_observe(&c, CAIRN_HLC_MAKE(now + 5, 3), now));
	uint64_t t;
	OK(cairn_hlc_tick(&c, now, &t));
	assert_int_equal(t, CAIRN_HLC_MAKE(now + 5, 4));
	/* Past timestamps are always fine. */
	OK(cairn_hlc_observe(&c, 1, now));
}

/* A delta from a clock too far ahead is refused whole; nothing moves. */
static void test_join_refuses_future(void **state)
{
	(void)state;
	uint64_t aheads[] = {1000, 60000, 60001, 86400000};
	for (size_t i = 0; i < 4; i++) {
		cairn_replica_config cfg;
		cairn_replica_config_init(&cfg);
		cfg.id = 1;
		cairn_replica *fast, *slow;
		OK(cairn_replica_new(&cfg, &fast));
		cfg.id = 2;
		OK(cairn_replica_new(&cfg, &slow));
		uint64_t now = 1000000;
		cairn_delta *d;
		OK(cairn_delta_new(NULL, &d));
		cairn_doc *doc;
		OK(cairn_replica_doc(fast, "d", &doc));
		cairn_value v = cairn_value_int(1);
		OK(cairn_doc_set(doc, "a", &v, now, d));
		OK(cairn_doc_set(doc, "b", &v, now + aheads[i], d));
		OK(cairn_replica_doc(slow, "d", &doc));
		OK(cairn_doc_set(doc, "z", &v, now, NULL));
		uint64_t before = cairn_replica_hlc_last(slow);
		int rc = cairn_replica_join(slow, d, now);
		if (aheads[i] <= 60000) {
			OK(rc);
			assert_true(cairn_replica_hlc_last(slow) >
			            CAIRN_HLC_MAKE(now + aheads[i] - 1, 0));
		} else {
			assert_int_equal(rc, CAIRN_ECLOCK_SKEW);
			assert_int_equal(cairn_replica_hlc_last(slow), before);
			assert_int_equal(cairn_doc_field_count(doc), 1);
		}
		cairn_delta_free(d);
		cairn_replica_free(fast);
		cairn_replica_free(slow);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_tick),
	        cmocka_unit_test(test_counter_never_wraps),
	        cmocka_unit_test(test_skew),
	        cmocka_unit_test(test_join_refuses_future),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
