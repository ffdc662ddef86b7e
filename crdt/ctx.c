/*
 * ctx.c -- causal contexts: a version vector plus a cloud of dots.
 *
 * A replica's dots in one document are numbered 1, 2, 3, ... so a context
 * that has seen them in order is just the maximum per writer. Dots that
 * arrive above a gap wait in the cloud, sorted, and fold into the maximum
 * as soon as the gap fills, so the context stays as small as the gaps.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt_int.h"

void cairn__ctx_free(const cairn_allocator *a, cairn__ctx *c)
{
	cairn__free(a, c->rid, (size_t)c->cap * sizeof *c->rid);
	cairn__free(a, c->max, (size_t)c->cap * sizeof *c->max);
	cairn__free(a, c->order, (size_t)c->cap * sizeof *c->order);
	cairn__free(a, c->cloud, (size_t)c->capcloud * sizeof *c->cloud);
	memset(c, 0, sizeof *c);
}

int cairn__dots_grow(const cairn_allocator *a, cairn__dots *l)
{
	uint64_t ncap = (uint64_t)l->cap * 2;
	if (ncap > UINT32_MAX)
		return CAIRN_ENOMEM;
	cairn__dot *p;
	if (l->p == l->stack) {
		p = cairn__alloc(a, (size_t)ncap * sizeof *p);
		if (p)
			memcpy(p, l->p, (size_t)l->n * sizeof *p);
	} else {
		/* A join may collect a dot per entry: a realloc can grow a
		 * long list in place. */
		p = cairn__realloc(a, l->p, (size_t)l->cap * sizeof *p,
		                   (size_t)ncap * sizeof *p);
	}
	if (!p)
		return CAIRN_ENOMEM;
	l->p = p;
	l->cap = (uint32_t)ncap;
	return 0;
}

int cairn__dot_cmp(const void *a, const void *b)
{
	const cairn__dot *x = a, *y = b;
	if (x->writer != y->writer)
		return x->writer < y->writer ? -1 : 1;
	return (x->counter > y->counter) - (x->counter < y->counter);
}

/* Position in `order` of the first writer whose id is >= rid. */
static uint32_t order_lower(const cairn__ctx *c, uint64_t rid)
{
	uint32_t lo = 0, hi = c->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c->rid[c->order[mid]] < rid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t cairn__ctx_find(const cairn__ctx *c, uint64_t rid)
{
	uint32_t pos = order_lower(c, rid);
	if (pos < c->n && c->rid[c->order[pos]] == rid)
		return c->order[pos];
	return UINT32_MAX;
}

/*
 * Grow the three writer arrays together: all of them or none, so that
 * every array always holds c->cap items and the sized frees stay right.
 */
static int ctx_reserve(const cairn_allocator *a, cairn__ctx *c, uint32_t need)
{
	if (need <= c->cap)
		return 0;
	uint64_t ncap = c->cap ? (uint64_t)c->cap * 2 : 4;
	while (ncap < need)
		ncap *= 2;
	if (ncap > UINT32_MAX)
		return CAIRN_ENOMEM;
	uint64_t *rid = cairn__alloc(a, (size_t)ncap * sizeof *rid);
	uint64_t *max = cairn__alloc(a, (size_t)ncap * sizeof *max);
	uint32_t *order = cairn__alloc(a, (size_t)ncap * sizeof *order);
	if (!rid || !max || !order) {
		cairn__free(a, rid, (size_t)ncap * sizeof *rid);
		cairn__free(a, max, (size_t)ncap * sizeof *max);
		cairn__free(a, order, (size_t)ncap * sizeof *order);
		return CAIRN_ENOMEM;
	}
	if (c->n) {
		memcpy(rid, c->rid, (size_t)c->n * sizeof *rid);
		memcpy(max, c->max, (size_t)c->n * sizeof *max);
		memcpy(order, c->order, (size_t)c->n * sizeof *order);
	}
	cairn__free(a, c->rid, (size_t)c->cap * sizeof *rid);
	cairn__free(a, c->max, (size_t)c->cap * sizeof *max);
	cairn__free(a, c->order, (size_t)c->cap * sizeof *order);
	c->rid = rid;
	c->max = max;
	c->order = order;
	c->cap = (uint32_t)ncap;
	return 0;
}

int cairn__ctx_writer(const cairn_allocator *a, cairn__ctx *c, uint64_t rid,
                      uint32_t *out)
{
	uint32_t pos = order_lower(c, rid);
	if (pos < c->n && c->rid[c->order[pos]] == rid) {
		*out = c->order[pos];
		return 0;
	}
	int rc = ctx_reserve(a, c, c->n + 1);
	if (rc)
		return rc;
	uint32_t w = c->n++;
	c->rid[w] = rid;
	c->max[w] = 0;
	memmove(c->order + pos + 1, c->order + pos,
	        (size_t)(w - pos) * sizeof *c->order);
	c->order[pos] = w;
	*out = w;
	return 0;
}

uint32_t cairn__dots_lower(const cairn__dot *dots, uint32_t n, uint32_t w,
                           uint64_t counter)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const cairn__dot *d = &dots[mid];
		if (d->writer < w || (d->writer == w && d->counter < counter))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first cloud dot >= (w, counter). */
static uint32_t cloud_lower(const cairn__ctx *c, uint32_t w, uint64_t counter)
{
	return cairn__dots_lower(c->cloud, c->ncloud, w, counter);
}

void cairn__ctx_cloud_of(const cairn__ctx *c, uint32_t writer, uint32_t *first,
                         uint32_t *count)
{
	*first = cloud_lower(c, writer, 0);
	uint32_t end = cloud_lower(c, writer, UINT64_MAX);
	while (end < c->ncloud && c->cloud[end].writer == writer)
		end++;
	*count = end - *first;
}

bool cairn__ctx_cloud_has(const cairn__ctx *c, uint32_t writer,
                          uint64_t counter)
{
	uint32_t i = cloud_lower(c, writer, counter);
	return i < c->ncloud && c->cloud[i].writer == writer &&
	       c->cloud[i].counter == counter;
}

/*
 * Merge the cloud with `extra` (sorted) into `out`, which has room for
 * both: dots at or below a writer's maximum vanish, a dot just above it
 * raises it, the rest stay in the cloud. Processing each writer's dots in
 * ascending order is what lets one pass absorb every run that closes a gap.
 */
static void merge_cloud(cairn__ctx *c, const cairn__dot *extra, uint32_t n,
                        cairn__dot *out)
{
	uint32_t i = 0, j = 0, k = 0;
	while (i < c->ncloud || j < n) {
		const cairn__dot *d;
		if (j == n || (i < c->ncloud &&
		               cairn__dot_cmp(&c->cloud[i], &extra[j]) <= 0))
			d = &c->cloud[i++];
		else
			d = &extra[j++];
		uint64_t *max = &c->max[d->writer];
		if (d->counter <= *max)
			continue;
		if (d->counter == *max + 1) {
			*max = d->counter;
			continue;
		}
		if (k && out[k - 1].writer == d->writer &&
		    out[k - 1].counter == d->counter)
			continue;
		out[k++] = *d;
	}
	c->ncloud = k;
}

static int merge_sorted(const cairn_allocator *a, cairn__ctx *c,
                        const cairn__dot *dots, uint32_t n)
{
	uint64_t total = (uint64_t)c->ncloud + n;
	if (total == 0)
		return 0;
	if (total > UINT32_MAX)
		return CAIRN_ENOMEM;
	cairn__dot *out = cairn__alloc(a, (size_t)total * sizeof *out);
	if (!out)
		return CAIRN_ENOMEM;
	merge_cloud(c, dots, n, out);
	cairn__free(a, c->cloud, (size_t)c->capcloud * sizeof *c->cloud);
	c->cloud = out;
	c->capcloud = (uint32_t)total;
	return 0;
}

int cairn__ctx_add_sorted(const cairn_allocator *a, cairn__ctx *c,
                          const cairn__dot *dots, uint32_t n)
{
	/* The common case, dots that extend each writer's run with no cloud
	 * about, needs no allocation at all. */
	uint32_t i = 0;
	while (i < n && c->ncloud == 0 &&
	       dots[i].counter <= c->max[dots[i].writer] + 1) {
		if (dots[i].counter > c->max[dots[i].writer])
			c->max[dots[i].writer] = dots[i].counter;
		i++;
	}
	if (i == n)
		return 0;
	return merge_sorted(a, c, dots + i, n - i);
}

int cairn__ctx_join(const cairn_allocator *a, cairn__ctx *c,
                    const cairn__ctx *src, const uint32_t *map)
{
	bool raises = false;
	for (uint32_t i = 0; i < src->n && !raises; i++)
		raises = src->max[i] > c->max[map[i]];
	if (!src->ncloud && !(raises && c->ncloud)) {
		for (uint32_t i = 0; i < src->n; i++)
			if (src->max[i] > c->max[map[i]])
				c->max[map[i]] = src->max[i];
		return 0;
	}
	/* Allocate everything before changing anything. */
	uint64_t total = (uint64_t)c->ncloud + src->ncloud;
	if (total > UINT32_MAX)
		return CAIRN_ENOMEM;
	cairn__dot *extra = NULL;
	if (src->ncloud) {
		extra = cairn__alloc(a, (size_t)src->ncloud * sizeof *extra);
		if (!extra)
			return CAIRN_ENOMEM;
	}
	cairn__dot *out = cairn__alloc(a, (size_t)total * sizeof *out);
	if (!out) {
		cairn__free(a, extra, (size_t)src->ncloud * sizeof *extra);
		return CAIRN_ENOMEM;
	}
	for (uint32_t i = 0; i < src->ncloud; i++) {
		extra[i].writer = map[src->cloud[i].writer];
		extra[i].counter = src->cloud[i].counter;
	}
	if (src->ncloud)
		cairn__sort(extra, src->ncloud, sizeof *extra, cairn__dot_cmp);
	for (uint32_t i = 0; i < src->n; i++)
		if (src->max[i] > c->max[map[i]])
			c->max[map[i]] = src->max[i];
	merge_cloud(c, extra, src->ncloud, out);
	cairn__free(a, c->cloud, (size_t)c->capcloud * sizeof *c->cloud);
	c->cloud = out;
	c->capcloud = (uint32_t)total;
	cairn__free(a, extra, (size_t)src->ncloud * sizeof *extra);
	return 0;
}

bool cairn__ctx_empty(const cairn__ctx *c)
{
	if (c->ncloud)
		return false;
	for (uint32_t i = 0; i < c->n; i++)
		if (c->max[i])
			return false;
	return true;
}
