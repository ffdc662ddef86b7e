/*
 * test_ctx.c -- causal contexts against a plain bitmap model: single adds
 * in random order, sorted batches, and joins under a writer mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crdt_int.h"

#define OK(x) assert_int_equal((x), 0)

/* One dot, through the batch path every join uses. */
static int add_one(cairn__ctx *c, uint32_t w, uint64_t k)
{
	cairn__dot d = {k, w};
	return cairn__ctx_add_sorted(NULL, c, &d, 1);
}
#define W 4
#define C 200

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t next(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static void check(const cairn__ctx *c, bool model[W][C + 1], const uint32_t *wi)
{
	for (uint32_t w = 0; w < W; w++)
		for (uint64_t k = 1; k <= C; k++)
			assert_int_equal(cairn__ctx_has(c, wi[w], k),
			                 model[w][k]);
	/* Canonical shape: the cloud holds only dots above a gap. */
	for (uint32_t i = 0; i < c->ncloud; i++) {
		assert_true(c->cloud[i].counter >
		            c->max[c->cloud[i].writer] + 1);
		if (i)
			assert_true(cairn__dot_cmp(&c->cloud[i - 1],
			                           &c->cloud[i]) < 0);
	}
}

static void test_random_adds(void **state)
{
	(void)state;
	for (int round = 0; round < 50; round++) {
		cairn__ctx c;
		memset(&c, 0, sizeof c);
		bool model[W][C + 1];
		memset(model, 0, sizeof model);
		uint32_t wi[W];
		for (uint32_t w = 0; w < W; w++)
			OK(cairn__ctx_writer(NULL, &c, 1000 - w * 7, &wi[w]));
		for (int i = 0; i < 400; i++) {
			uint32_t w = (uint32_t)(next() % W);
			uint64_t k = 1 + next() % C;
			OK(add_one(&c, wi[w], k));
			model[w][k] = true;
		}
		check(&c, model, wi);
		/* Fill every gap: the cloud must fold away completely. */
		for (uint32_t w = 0; w < W; w++)
			for (uint64_t k = 1; k <= C; k++) {
				OK(add_one(&c, wi[w], k));
				model[w][k] = true;
			}
		check(&c, model, wi);
		assert_int_equal(c.ncloud, 0);
		cairn__ctx_free(NULL, &c);
	}
}

static void test_sorted_and_join(void **state)
{
	(void)state;
	for (int round = 0; round < 50; round++) {
		cairn__ctx a, b;
		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		bool model[W][C + 1];
		memset(model, 0, sizeof model);
		uint32_t wa[W], wb[W], map[W];
		/* b knows the writers in another order than a. */
		for (uint32_t w = 0; w < W; w++)
			OK(cairn__ctx_writer(NULL, &a, 50 + w, &wa[w]));
		for (uint32_t w = W; w-- > 0;)
			OK(cairn__ctx_writer(NULL, &b, 50 + w, &wb[w]));
		cairn__dot batch[300];
		uint32_t n = 0;
		for (int i = 0; i < 300; i++) {
			uint32_t w = (uint32_t)(next() % W);
			uint64_t k = 1 + next() % C;
			if (next() % 2) {
				batch[n++] = (cairn__dot){k, wa[w]};
			} else {
				OK(add_one(&b, wb[w], k));
			}
			model[w][k] = true;
		}
		qsort(batch, n, sizeof *batch, cairn__dot_cmp);
		OK(cairn__ctx_add_sorted(NULL, &a, batch, n));
		for (uint32_t w = 0; w < W; w++)
			map[wb[w]] = wa[w];
		OK(cairn__ctx_join(NULL, &a, &b, map));
		check(&a, model, wa);
		cairn__ctx_free(NULL, &a);
		cairn__ctx_free(NULL, &b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_random_adds),
	        cmocka_unit_test(test_sorted_and_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
