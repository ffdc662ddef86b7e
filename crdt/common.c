/*
 * common.c -- error strings, the byte buffer and allocation helpers.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt_int.h"

static const struct {
	int code;
	const char *name;
	const char *text;
} errors[] = {
        {CAIRN_OK, "CAIRN_OK", "success"},
        {CAIRN_EINVAL, "CAIRN_EINVAL", "invalid argument"},
        {CAIRN_ENOMEM, "CAIRN_ENOMEM", "out of memory"},
        {CAIRN_ENOTFOUND, "CAIRN_ENOTFOUND", "not found"},
        {CAIRN_EKIND, "CAIRN_EKIND", "the field holds another kind"},
        {CAIRN_EPOLICY, "CAIRN_EPOLICY", "policy declarations disagree"},
        {CAIRN_ECLOCK_SKEW, "CAIRN_ECLOCK_SKEW",
         "timestamp too far ahead of local time"},
        {CAIRN_EAGAIN, "CAIRN_EAGAIN",
         "clock counter exhausted for this millisecond; try again"},
        {CAIRN_ETOOBIG, "CAIRN_ETOOBIG", "value, id or name too large"},
        {CAIRN_EDECODE, "CAIRN_EDECODE", "malformed encoding"},
        {CAIRN_ELIMIT, "CAIRN_ELIMIT", "decoder limit exceeded"},
        {CAIRN_EVERSION, "CAIRN_EVERSION", "version mismatch"},
        {CAIRN_EEXIST, "CAIRN_EEXIST", "first-writer-wins field already set"},
        {CAIRN_ESPACE, "CAIRN_ESPACE", "output array too small"},
        {CAIRN_ERANGE, "CAIRN_ERANGE", "value out of range"},
        {CAIRN_EIO, "CAIRN_EIO", "input/output error"},
        {CAIRN_EFULL, "CAIRN_EFULL", "no space left on device"},
        {CAIRN_EBUSY, "CAIRN_EBUSY", "the store is held by another process"},
        {CAIRN_ECORRUPT, "CAIRN_ECORRUPT", "stored data is corrupt"},
        {CAIRN_EPOISONED, "CAIRN_EPOISONED",
         "a sync failed: close and reopen the store"},
};

const char *cairn_strerror(int err)
{
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (errors[i].code == err)
			return errors[i].text;
	return "unknown error";
}

const char *cairn_err_name(int err)
{
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
		if (errors[i].code == err)
			return errors[i].name;
	return "CAIRN_E?";
}

/*
 * An allocator with any member missing is the C library's, as a whole:
 * mixing a caller's alloc with libc's free would be a bug waiting.
 */
static bool custom(const cairn_allocator *a)
{
	return a && a->alloc && a->realloc && a->free;
}

void *cairn__alloc(const cairn_allocator *a, size_t n)
{
	if (n == 0)
		n = 1;
	return custom(a) ? a->alloc(a->ud, n) : malloc(n);
}

void *cairn__realloc(const cairn_allocator *a, void *p, size_t old_n,
                     size_t new_n)
{
	if (!p)
		return cairn__alloc(a, new_n);
	if (new_n == 0)
		new_n = 1;
	return custom(a) ? a->realloc(a->ud, p, old_n ? old_n : 1, new_n)
	                 : realloc(p, new_n);
}

void cairn__free(const cairn_allocator *a, void *p, size_t n)
{
	if (!p)
		return;
	if (custom(a))
		a->free(a->ud, p, n ? n : 1);
	else
		free(p);
}

int cairn__grow_to(const cairn_allocator *a, void **arr, uint32_t *cap,
                   uint32_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	uint64_t ncap = *cap ? *cap : 4;
	while (ncap < need)
		ncap *= 2;
	if (ncap > UINT32_MAX || ncap * size > SIZE_MAX / 2)
		return CAIRN_ENOMEM;
	void *p = cairn__realloc(a, *arr, (size_t)*cap * size,
	                         (size_t)ncap * size);
	if (!p)
		return CAIRN_ENOMEM;
	*arr = p;
	*cap = (uint32_t)ncap;
	return 0;
}

void cairn_buf_init(cairn_buf *b, const cairn_allocator *alloc)
{
	memset(b, 0, sizeof *b);
	if (alloc)
		b->alloc = *alloc;
}

void cairn_buf_reset(cairn_buf *b)
{
	b->len = 0;
}

void cairn_buf_free(cairn_buf *b)
{
	cairn__free(&b->alloc, b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
}

int cairn_buf_reserve(cairn_buf *b, size_t extra)
{
	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return CAIRN_ENOMEM;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap - b->len < extra)
		ncap *= 2;
	uint8_t *p = cairn__realloc(&b->alloc, b->data, b->cap, ncap);
	if (!p)
		return CAIRN_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int cairn_buf_append(cairn_buf *b, const void *p, size_t n)
{
	int rc = cairn_buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

const char *cairn_policy_name(cairn_policy p)
{
	switch (p) {
	case CAIRN_POLICY_LWW: return "lww";
	case CAIRN_POLICY_FWW: return "fww";
	case CAIRN_POLICY_PRIORITY: return "priority";
	case CAIRN_POLICY_MULTI: return "multi";
	}
	return NULL;
}

int cairn_policy_parse(const char *name, cairn_policy *out)
{
	static const cairn_policy all[] = {CAIRN_POLICY_LWW, CAIRN_POLICY_FWW,
	                                   CAIRN_POLICY_PRIORITY,
	                                   CAIRN_POLICY_MULTI};
	if (!name)
		return CAIRN_EINVAL;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (strcmp(name, cairn_policy_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return CAIRN_EINVAL;
}

void cairn_limits_init(cairn_limits *l)
{
	l->max_value_bytes = 64u * 1024u;
	l->max_depth = 16;
	l->max_elements = UINT64_C(64) << 20;
	l->max_input_bytes = UINT64_C(1) << 30;
}

int cairn__name_check(const char *s, size_t *len)
{
	if (!s)
		return CAIRN_EINVAL;
	size_t n = 0;
	while (n <= CAIRN_MAX_ID_BYTES && s[n] != '\0')
		n++;
	if (n == 0)
		return CAIRN_EINVAL;
	if (n > CAIRN_MAX_ID_BYTES)
		return CAIRN_ETOOBIG;
	if (!cairn__utf8_valid((const uint8_t *)s, n))
		return CAIRN_EINVAL;
	*len = n;
	return 0;
}
