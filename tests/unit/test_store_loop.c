/*
 * test_store_loop.c -- group commit on a libuv loop (include/cairn/loop.h):
 * every request answered once, never inside the call; writers share
 * fsyncs; a failed fsync reaches every waiter and poisons; close answers
 * what is left.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cairn.h"
#include "fault_vfs.h"

#define OK(x) assert_int_equal((x), 0)
#define T0 UINT64_C(1700000000000)

typedef struct fixture {
	fault_vfs *fv;
	cairn_store *s;
	uv_loop_t loop;
	cairn_store_loop *sl;
	bool in_call;    /* set around cairn_store_loop_durable() */
	int answers[64]; /* status per request, 1 = not answered yet */
	int nanswers;
	int rounds_left; /* writers keep writing while > 0 */
	bool closed;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->fv = fault_vfs_new();
	cairn_store_config c;
	cairn_store_config_init(&c);
	c.replica.id = 0x10;
	c.vfs = fault_vfs_vfs(f->fv);
	c.sync = CAIRN_SYNC_GROUP;
	c.group_window_ms = 1;
	OK(cairn_store_open("/l", &c, &f->s, NULL));
	OK(uv_loop_init(&f->loop));
	OK(cairn_store_loop_new(&f->loop, f->s, &f->sl));
	for (int i = 0; i < 64; i++)
		f->answers[i] = 1;
	*state = f;
	return 0;
}

static void on_closed(void *ud)
{
	((fixture *)ud)->closed = true;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->sl)
		cairn_store_loop_close(f->sl, on_closed, f);
	OK(uv_run(&f->loop, UV_RUN_DEFAULT));
	assert_true(f->closed);
	OK(uv_loop_close(&f->loop));
	(void)cairn_store_close(f->s);
	assert_int_equal(fault_vfs_open_handles(f->fv), 0);
	fault_vfs_free(f->fv);
	free(f);
	return 0;
}

typedef struct ticket {
	fixture *f;
	int slot;
} ticket;

static ticket tickets[64];

static void on_durable(void *ud, uint64_t seq, int status);

static int write_and_wait(fixture *f, int slot)
{
	cairn_value v = cairn_value_int(slot);
	uint64_t seq;
	char field[8];
	snprintf(field, sizeof field, "w%d", slot % 8);
	int rc = cairn_store_set(f->s, "doc", field, &v, T0, NULL, &seq);
	if (rc)
		return rc;
	tickets[slot] = (ticket){f, slot};
	f->in_call = true;
	rc = cairn_store_loop_durable(f->sl, seq, on_durable, &tickets[slot]);
	f->in_call = false;
	return rc;
}

static void on_durable(void *ud, uint64_t seq, int status)
{
	ticket *t = ud;
	fixture *f = t->f;
	assert_false(f->in_call);
	assert_true(seq > 0);
	assert_int_equal(f->answers[t->slot], 1); /* once */
	f->answers[t->slot] = status;
	f->nanswers++;
	/* The writer goes on: a new write from inside the callback. */
	if (status == 0 && f->rounds_left > 0) {
		int slot = 8 + (8 * (3 - f->rounds_left)) + t->slot % 8;
		if (slot < 64 && f->answers[slot] == 1) {
			if (t->slot % 8 == 7)
				f->rounds_left--;
			OK(write_and_wait(f, slot));
		}
	}
}

static void test_writers_share_fsyncs(void **state)
{
	fixture *f = *state;
	uint64_t syncs0 = fault_vfs_calls(f->fv, FAULT_VFS_SYNC);
	f->rounds_left = 3;
	for (int i = 0; i < 8; i++)
		OK(write_and_wait(f, i));
	assert_int_equal(f->nanswers, 0);
	OK(uv_run(&f->loop, UV_RUN_DEFAULT));
	assert_int_equal(f->nanswers, 32);
	for (int i = 0; i < 32; i++)
		assert_int_equal(f->answers[i], 0);
	assert_int_equal(cairn_store_durable_seq(f->s),
	                 cairn_store_last_seq(f->s));
	/* 32 writes, at most one fsync per round of 8 writers and one more
	 * for writes that came while one ran. */
	uint64_t syncs = fault_vfs_calls(f->fv, FAULT_VFS_SYNC) - syncs0;
	assert_true(syncs >= 1 && syncs <= 8);
	/* A record that is durable already: answered, but not inside. */
	f->rounds_left = 0;
	f->answers[40] = 1;
	tickets[40] = (ticket){f, 40};
	f->in_call = true;
	OK(cairn_store_loop_durable(f->sl, 1, on_durable, &tickets[40]));
	f->in_call = false;
	assert_int_equal(f->answers[40], 1);
	OK(uv_run(&f->loop, UV_RUN_DEFAULT));
	assert_int_equal(f->answers[40], 0);
	/* Not a record yet. */
	assert_int_equal(
	        cairn_store_loop_durable(f->sl, 1000, on_durable, &tickets[41]),
	        CAIRN_EINVAL);
}

static void test_failed_fsync(void **state)
{
	fixture *f = *state;
	fault_vfs_fail(f->fv, FAULT_VFS_SYNC, 1, -EIO, false);
	for (int i = 0; i < 4; i++)
		OK(write_and_wait(f, i));
	OK(uv_run(&f->loop, UV_RUN_DEFAULT));
	for (int i = 0; i < 4; i++)
		assert_int_equal(f->answers[i], CAIRN_EIO);
	/* Poisoned: no more writes, no more requests. */
	cairn_value v = cairn_value_int(1);
	uint64_t seq = cairn_store_last_seq(f->s);
	assert_int_equal(cairn_store_set(f->s, "doc", "x", &v, T0, NULL, NULL),
	                 CAIRN_EPOISONED);
	assert_int_equal(
	        cairn_store_loop_durable(f->sl, seq, on_durable, &tickets[5]),
	        CAIRN_EPOISONED);
}

static void test_close_answers_pending(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < 3; i++)
		OK(write_and_wait(f, i));
	cairn_store_loop_close(f->sl, on_closed, f);
	f->sl = NULL;
	assert_int_equal(f->nanswers, 0); /* not inside close either */
	OK(uv_run(&f->loop, UV_RUN_DEFAULT));
	assert_int_equal(f->nanswers, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f->answers[i], CAIRN_EINVAL);
	/* The writes are there; closing the store makes them durable. */
	OK(cairn_store_close(f->s));
	f->s = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_writers_share_fsyncs,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_failed_fsync, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_close_answers_pending,
	                                        setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
