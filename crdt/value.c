/*
 * value.c -- scalar values: construction, the canonical order, storage.
 */
#include <string.h>

#include "crdt_int.h"

/*
 * Each constructor builds its result with an initializer, which the
 * compiler writes straight into the caller's value: every member defined
 * (the union's unused bytes zero). Built as a zeroed local and then
 * returned, the value went through the stack as small stores read back by
 * wide loads, which the CPU cannot forward: a stall on every value made.
 */
#define VALUE_OF(t)                                                            \
	{                                                                      \
		.type = (t), .as.bytes = { NULL, 0 }                           \
	}

cairn_value cairn_value_nil(void)
{
	cairn_value v = VALUE_OF(CAIRN_NIL);
	return v;
}

cairn_value cairn_value_bool(bool b)
{
	cairn_value v = VALUE_OF(CAIRN_BOOL);
	v.as.b = b;
	return v;
}

cairn_value cairn_value_int(int64_t i)
{
	cairn_value v = VALUE_OF(CAIRN_INT);
	v.as.i = i;
	return v;
}

cairn_value cairn_value_float(double f)
{
	cairn_value v = VALUE_OF(CAIRN_FLOAT);
	v.as.f = f;
	return v;
}

cairn_value cairn_value_strn(const void *p, size_t len)
{
	cairn_value v = VALUE_OF(CAIRN_STR);
	v.as.bytes.ptr = p;
	v.as.bytes.len = len;
	return v;
}

cairn_value cairn_value_str(const char *s)
{
	return cairn_value_strn(s, s ? strlen(s) : 0);
}

cairn_value cairn_value_bin(const void *p, size_t len)
{
	cairn_value v = VALUE_OF(CAIRN_BIN);
	v.as.bytes.ptr = p;
	v.as.bytes.len = len;
	return v;
}

static uint64_t float_bits(double f)
{
	uint64_t u;
	if (f != f)
		return CAIRN__NAN_BITS;
	memcpy(&u, &f, sizeof u);
	return u;
}

/* Map IEEE bits to an unsigned key whose order is the IEEE total order. */
static uint64_t float_key(double f)
{
	uint64_t u = float_bits(f);
	return (u >> 63) ? ~u : (u | (UINT64_C(1) << 63));
}

int cairn_value_compare(const cairn_value *a, const cairn_value *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case CAIRN_NIL: return 0;
	case CAIRN_BOOL: return (int)a->as.b - (int)b->as.b;
	case CAIRN_INT: return (a->as.i > b->as.i) - (a->as.i < b->as.i);
	case CAIRN_FLOAT: {
		uint64_t x = float_key(a->as.f), y = float_key(b->as.f);
		return (x > y) - (x < y);
	}
	case CAIRN_STR:
	case CAIRN_BIN: {
		size_t n = a->as.bytes.len < b->as.bytes.len ? a->as.bytes.len
		                                             : b->as.bytes.len;
		int c = n ? memcmp(a->as.bytes.ptr, b->as.bytes.ptr, n) : 0;
		if (c)
			return c < 0 ? -1 : 1;
		return (a->as.bytes.len > b->as.bytes.len) -
		       (a->as.bytes.len < b->as.bytes.len);
	}
	}
	return 0;
}

int cairn__value_check(const cairn_value *v, uint32_t max_bytes)
{
	if (!v)
		return CAIRN_EINVAL;
	switch (v->type) {
	case CAIRN_NIL:
	case CAIRN_BOOL:
	case CAIRN_INT:
	case CAIRN_FLOAT: return 0;
	case CAIRN_STR:
	case CAIRN_BIN:
		if (v->as.bytes.len && !v->as.bytes.ptr)
			return CAIRN_EINVAL;
		if (v->as.bytes.len > max_bytes)
			return CAIRN_ETOOBIG;
		if (v->type == CAIRN_STR &&
		    !cairn__utf8_valid(v->as.bytes.ptr, v->as.bytes.len))
			return CAIRN_EINVAL;
		return 0;
	}
	return CAIRN_EINVAL;
}

int cairn__payload_store(const cairn_allocator *a, const cairn_value *v,
                         cairn__payload *out)
{
	memset(out, 0, sizeof *out);
	switch (v->type) {
	case CAIRN_NIL: break;
	case CAIRN_BOOL: out->i = v->as.b ? 1 : 0; break;
	case CAIRN_INT: out->i = v->as.i; break;
	case CAIRN_FLOAT: {
		uint64_t u = float_bits(v->as.f);
		memcpy(&out->f, &u, sizeof u);
		break;
	}
	case CAIRN_STR:
	case CAIRN_BIN:
		if (v->as.bytes.len <= CAIRN__INLINE_BYTES) {
			if (v->as.bytes.len)
				memcpy(out->in, v->as.bytes.ptr,
				       v->as.bytes.len);
		} else {
			out->p = cairn__alloc(a, v->as.bytes.len);
			if (!out->p)
				return CAIRN_ENOMEM;
			memcpy(out->p, v->as.bytes.ptr, v->as.bytes.len);
		}
		break;
	}
	return 0;
}

cairn_value cairn__payload_view(const cairn__payload *pl, cairn_type type,
                                uint32_t len)
{
	/* One initializer per type, for the reason given above. */
	switch (type) {
	case CAIRN_BOOL: {
		cairn_value v = VALUE_OF(CAIRN_BOOL);
		v.as.b = pl->i != 0;
		return v;
	}
	case CAIRN_INT: {
		cairn_value v = VALUE_OF(CAIRN_INT);
		v.as.i = pl->i;
		return v;
	}
	case CAIRN_FLOAT: {
		cairn_value v = VALUE_OF(CAIRN_FLOAT);
		v.as.f = pl->f;
		return v;
	}
	case CAIRN_STR:
	case CAIRN_BIN: {
		cairn_value v = VALUE_OF(type);
		v.as.bytes.ptr = len <= CAIRN__INLINE_BYTES ? pl->in : pl->p;
		v.as.bytes.len = len;
		return v;
	}
	case CAIRN_NIL: break;
	}
	cairn_value v = VALUE_OF(type);
	return v;
}

uint64_t cairn__value_hash(const uint8_t key[16], const cairn_value *v)
{
	uint8_t buf[9];
	buf[0] = (uint8_t)v->type;
	switch (v->type) {
	case CAIRN_STR:
	case CAIRN_BIN:
		return cairn__siphash13(key, v->as.bytes.ptr, v->as.bytes.len) ^
		       ((uint64_t)v->type * UINT64_C(0x9E3779B97F4A7C15));
	case CAIRN_NIL: memset(buf + 1, 0, 8); break;
	case CAIRN_BOOL: {
		uint64_t u = v->as.b ? 1 : 0;
		memcpy(buf + 1, &u, 8);
		break;
	}
	case CAIRN_INT: memcpy(buf + 1, &v->as.i, 8); break;
	case CAIRN_FLOAT: {
		uint64_t u = float_bits(v->as.f);
		memcpy(buf + 1, &u, 8);
		break;
	}
	}
	return cairn__siphash13(key, buf, sizeof buf);
}
