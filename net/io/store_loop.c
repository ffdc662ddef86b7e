/*
 * store_loop.c -- group commit of a store on a libuv loop.
 *
 * One timer and one fsync job at a time. A durability request arms the
 * timer (for the store's group window) unless an fsync is already running;
 * when the timer fires, an fsync job covering every record appended so
 * far goes to libuv's pool. When it completes, the requests it covers are
 * answered, and if some are still waiting (their writes came while it
 * ran), the timer is armed again. So a burst of writers shares each fsync,
 * and the loop never blocks on one.
 */
/* uv.h needs the POSIX thread types, which ISO C mode hides. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cairn/loop.h"

typedef struct request {
	uint64_t seq;
	cairn_durable_cb cb;
	void *ud;
} request;

struct cairn_store_loop {
	uv_loop_t *loop;
	cairn_store *s;
	uv_timer_t timer;
	uv_work_t work;
	cairn_sync_job *job;
	request *req;
	size_t n, cap;
	int failed; /* the error of the fsync that poisoned the store */
	bool closing;
	void (*closed)(void *ud);
	void *closed_ud;
};

static void arm(cairn_store_loop *sl);

/* Answer the requests that are settled; keep the rest in order. */
static void answer(cairn_store_loop *sl, bool final)
{
	if (sl->n == 0)
		return; /* sl->req may be NULL: no memmove of it */
	uint64_t durable = cairn_store_durable_seq(sl->s);
	size_t k = 0;
	/* Callbacks may add requests: walk a snapshot of the count. */
	size_t n = sl->n;
	for (size_t i = 0; i < n; i++) {
		request r = sl->req[i];
		int status = r.seq <= durable ? 0
		             : sl->failed     ? sl->failed
		             : final          ? CAIRN_EINVAL
		                              : 1;
		if (status == 1) {
			sl->req[k++] = r;
			continue;
		}
		r.cb(r.ud, r.seq, status);
	}
	/* Requests added by callbacks sit after the first n. */
	memmove(sl->req + k, sl->req + n, (sl->n - n) * sizeof *sl->req);
	sl->n = k + (sl->n - n);
}

static void sync_work(uv_work_t *w)
{
	cairn_store_loop *sl = w->data;
	cairn_store_sync_run(sl->job);
}

static void on_closed(uv_handle_t *h)
{
	cairn_store_loop *sl = h->data;
	/* Answered here, on a later turn of the loop than the close call. */
	answer(sl, true);
	void (*closed)(void *) = sl->closed;
	void *ud = sl->closed_ud;
	free(sl->req);
	free(sl);
	if (closed)
		closed(ud);
}

static void finish_close(cairn_store_loop *sl)
{
	uv_close((uv_handle_t *)&sl->timer, on_closed);
}

static void sync_done(uv_work_t *w, int status)
{
	cairn_store_loop *sl = w->data;
	(void)status; /* the job cannot be cancelled once queued here */
	int rc = cairn_store_sync_end(sl->s, sl->job);
	sl->job = NULL;
	/* Any error here leaves the store poisoned: keep the first. */
	if (rc && !sl->failed)
		sl->failed = rc;
	if (sl->closing) {
		finish_close(sl);
		return;
	}
	answer(sl, false);
	if (sl->n)
		arm(sl);
}

static void on_timer(uv_timer_t *t)
{
	cairn_store_loop *sl = t->data;
	answer(sl, false);
	if (!sl->n || sl->job)
		return;
	sl->job = cairn_store_sync_begin(sl->s);
	if (!sl->job) {
		/* Nothing to sync yet everything is not durable: the store is
		 * poisoned (or a record is waiting for space). */
		if (!sl->failed)
			sl->failed = CAIRN_EPOISONED;
		answer(sl, false);
		return;
	}
	sl->work.data = sl;
	if (uv_queue_work(sl->loop, &sl->work, sync_work, sync_done) != 0) {
		/* Without the pool, sync here: late, but correct. */
		cairn_store_sync_run(sl->job);
		sync_done(&sl->work, 0);
	}
}

static void arm(cairn_store_loop *sl)
{
	if (sl->job || uv_is_active((uv_handle_t *)&sl->timer))
		return;
	(void)uv_timer_start(&sl->timer, on_timer,
	                     cairn_store_group_window(sl->s), 0);
}

int cairn_store_loop_new(uv_loop_t *loop, cairn_store *store,
                         cairn_store_loop **out)
{
	if (!loop || !store || !out ||
	    cairn_store_sync_policy(store) != CAIRN_SYNC_GROUP)
		return CAIRN_EINVAL;
	cairn_store_loop *sl = calloc(1, sizeof *sl);
	if (!sl)
		return CAIRN_ENOMEM;
	sl->loop = loop;
	sl->s = store;
	if (uv_timer_init(loop, &sl->timer) != 0) {
		free(sl);
		return CAIRN_ENOMEM;
	}
	sl->timer.data = sl;
	*out = sl;
	return 0;
}

int cairn_store_loop_durable(cairn_store_loop *sl, uint64_t seq,
                             cairn_durable_cb cb, void *ud)
{
	if (!sl || !cb || sl->closing || seq > cairn_store_last_seq(sl->s))
		return CAIRN_EINVAL;
	if (sl->failed)
		return CAIRN_EPOISONED;
	if (sl->n == sl->cap) {
		size_t cap = sl->cap ? sl->cap * 2 : 16;
		request *r = realloc(sl->req, cap * sizeof *r);
		if (!r)
			return CAIRN_ENOMEM;
		sl->req = r;
		sl->cap = cap;
	}
	sl->req[sl->n++] = (request){seq, cb, ud};
	arm(sl);
	return 0;
}

void cairn_store_loop_close(cairn_store_loop *sl, void (*closed)(void *ud),
                            void *ud)
{
	if (!sl || sl->closing)
		return;
	sl->closing = true;
	sl->closed = closed;
	sl->closed_ud = ud;
	uv_timer_stop(&sl->timer);
	if (!sl->job)
		finish_close(sl);
	/* else sync_done() finishes the close */
}
