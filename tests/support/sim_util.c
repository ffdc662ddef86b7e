/*
 * sim_util.c -- see sim_util.h.
 */
#include "sim_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sim_env_u64(const char *name, uint64_t *out)
{
	const char *s = getenv(name);
	if (s == NULL || *s == '\0')
		return false;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0') {
		fprintf(stderr, "ignoring malformed %s=%s\n", name, s);
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

void sim_seed_range(uint64_t default_count, uint64_t *first, uint64_t *count,
                    bool *single)
{
	uint64_t v;
	*first = 1;
	*count = default_count;
	*single = false;
	if (sim_env_u64("CAIRN_TEST_SEED", &v)) {
		*first = v;
		*count = 1;
		*single = true;
	} else if (sim_env_u64("CAIRN_SIM_SEEDS", &v)) {
		*count = v;
	}
}

/*
 * Each block is preceded by a header holding its size; the header is 16
 * bytes so the block stays aligned for any scalar type.
 */
#define HDR 16

void fail_alloc_arm(fail_alloc *fa, uint64_t fail_at, bool persistent)
{
	fa->calls = 0;
	fa->failures = 0;
	fa->fail_at = fail_at;
	fa->persistent = persistent;
}

void fail_alloc_disarm(fail_alloc *fa)
{
	fa->fail_at = 0;
	fa->persistent = false;
}

static bool should_fail(fail_alloc *fa)
{
	fa->calls++;
	if (fa->fail_at == 0)
		return false;
	if (fa->calls == fa->fail_at ||
	    (fa->persistent && fa->calls > fa->fail_at)) {
		fa->failures++;
		return true;
	}
	return false;
}

static void *fa_alloc(void *ud, size_t size)
{
	fail_alloc *fa = ud;
	if (should_fail(fa))
		return NULL;
	unsigned char *p = malloc(size + HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &size, sizeof size);
	fa->live_bytes += size;
	fa->live_blocks++;
	if (fa->live_bytes > fa->peak_bytes)
		fa->peak_bytes = fa->live_bytes;
	return p + HDR;
}

static size_t hdr_size(void *p)
{
	size_t s;
	memcpy(&s, (unsigned char *)p - HDR, sizeof s);
	return s;
}

static void fa_free(void *ud, void *p, size_t size)
{
	fail_alloc *fa = ud;
	if (p == NULL) {
		fprintf(stderr,
		        "fail_alloc: free(NULL) (the contract says never)\n");
		abort();
	}
	size_t real = hdr_size(p);
	if (real != size) {
		fprintf(stderr,
		        "fail_alloc: free of a %zu-byte block as %zu bytes\n",
		        real, size);
		abort();
	}
	fa->live_bytes -= size;
	fa->live_blocks--;
	free((unsigned char *)p - HDR);
}

static void *fa_realloc(void *ud, void *p, size_t old_size, size_t new_size)
{
	fail_alloc *fa = ud;
	if (p == NULL)
		return fa_alloc(ud, new_size);
	size_t real = hdr_size(p);
	if (real != old_size) {
		fprintf(stderr,
		        "fail_alloc: realloc of a %zu-byte block as %zu "
		        "bytes\n",
		        real, old_size);
		abort();
	}
	if (should_fail(fa))
		return NULL;
	unsigned char *q = realloc((unsigned char *)p - HDR, new_size + HDR);
	if (q == NULL)
		return NULL;
	memcpy(q, &new_size, sizeof new_size);
	fa->live_bytes = fa->live_bytes - old_size + new_size;
	if (fa->live_bytes > fa->peak_bytes)
		fa->peak_bytes = fa->live_bytes;
	return q + HDR;
}

cairn_allocator fail_alloc_allocator(fail_alloc *fa)
{
	cairn_allocator a;
	a.alloc = fa_alloc;
	a.realloc = fa_realloc;
	a.free = fa_free;
	a.ud = fa;
	return a;
}
