/*
 * msgpack_read.c -- a cursor over msgpack bytes, one typed object at a time.
 *
 * The codec runs it over bytes that passed cairn__msgpack_check(), but it
 * never trusts that: every header and payload is still checked against the
 * bytes that remain, so a bug upstream costs an error, not a read out of
 * bounds. Array and map counts are also held to the bytes that remain (one
 * byte per element at least), so a caller may size an allocation by a count
 * it got from here. Each function works on a local copy of the cursor and
 * stores it back only on success: an error never moves the cursor.
 */
#include <string.h>

#include "bytes_int.h"

_Static_assert(sizeof(float) == 4, "float must be IEEE 754 binary32");
_Static_assert(sizeof(double) == 8, "double must be IEEE 754 binary64");

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Two's complement reinterpretation without implementation-defined casts. */
static int64_t to_i64(uint64_t u)
{
	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(~u) - 1;
}

static size_t remaining(const cairn__rd *r)
{
	return (size_t)(r->end - r->p);
}

/*
 * Any msgpack integer. Stores its size in *used and its value in *v: for
 * a negative integer (*neg set) v holds its 64-bit two's complement.
 */
static int rd_int(const uint8_t *p, size_t rem, size_t *used, uint64_t *v,
                  bool *neg)
{
	if (rem == 0)
		return CAIRN_EDECODE;
	uint8_t b = p[0];
	if (b <= 0x7fu) {
		*used = 1;
		*v = b;
		*neg = false;
		return 0;
	}
	if (b >= 0xe0u) {
		*used = 1;
		*v = (uint64_t)b | ~(uint64_t)0xffu;
		*neg = true;
		return 0;
	}
	/* uint 8/16/32/64 are 0xcc..0xcf, int 8/16/32/64 0xd0..0xd3. */
	if (b < 0xccu || b > 0xd3u)
		return CAIRN_EDECODE;
	size_t width = (size_t)1 << (b & 3u);
	bool is_signed = b >= 0xd0u;
	if (rem - 1 < width)
		return CAIRN_EDECODE;
	uint64_t u = be(p + 1, width);
	bool negative = false;
	if (is_signed) {
		unsigned bits = 8u * (unsigned)width;
		if ((u >> (bits - 1u)) & 1u) {
			negative = true;
			if (bits < 64u)
				u |= ~((UINT64_C(1) << bits) - 1u);
		}
	}
	*used = 1 + width;
	*v = u;
	*neg = negative;
	return 0;
}

int cairn__rd_u64(cairn__rd *r, uint64_t *out)
{
	size_t used;
	uint64_t v;
	bool neg;
	if (rd_int(r->p, remaining(r), &used, &v, &neg) != 0 || neg)
		return CAIRN_EDECODE;
	r->p += used;
	*out = v;
	return 0;
}

int cairn__rd_i64(cairn__rd *r, int64_t *out)
{
	size_t used;
	uint64_t v;
	bool neg;
	if (rd_int(r->p, remaining(r), &used, &v, &neg) != 0)
		return CAIRN_EDECODE;
	if (!neg && v > (uint64_t)INT64_MAX)
		return CAIRN_EDECODE;
	r->p += used;
	*out = to_i64(v);
	return 0;
}

int cairn__rd_f64(cairn__rd *r, double *out)
{
	size_t rem = remaining(r);
	if (rem == 0)
		return CAIRN_EDECODE;
	if (r->p[0] == 0xcau) {
		if (rem < 5)
			return CAIRN_EDECODE;
		uint32_t bits = (uint32_t)be(r->p + 1, 4);
		float f;
		memcpy(&f, &bits, sizeof(f));
		*out = (double)f;
		r->p += 5;
		return 0;
	}
	if (r->p[0] == 0xcbu) {
		if (rem < 9)
			return CAIRN_EDECODE;
		uint64_t bits = be(r->p + 1, 8);
		memcpy(out, &bits, sizeof(*out));
		r->p += 9;
		return 0;
	}
	return CAIRN_EDECODE;
}

int cairn__rd_nil(cairn__rd *r)
{
	if (r->p == r->end || r->p[0] != 0xc0u)
		return CAIRN_EDECODE;
	r->p++;
	return 0;
}

int cairn__rd_bool(cairn__rd *r, bool *out)
{
	if (r->p == r->end || (r->p[0] != 0xc2u && r->p[0] != 0xc3u))
		return CAIRN_EDECODE;
	*out = r->p[0] == 0xc3u;
	r->p++;
	return 0;
}

/*
 * A str (is_str) or bin object. fixstr only for str; the 8/16/32-bit
 * forms are 0xd9..0xdb for str and 0xc4..0xc6 for bin.
 */
static int rd_bytes(cairn__rd *r, bool is_str, const uint8_t **p, uint32_t *len)
{
	size_t rem = remaining(r);
	if (rem == 0)
		return CAIRN_EDECODE;
	uint8_t b = r->p[0];
	size_t hdr;
	uint8_t base = is_str ? 0xd9u : 0xc4u;
	if (is_str && b >= 0xa0u && b <= 0xbfu)
		hdr = 0;
	else if (b == base)
		hdr = 1;
	else if (b == base + 1u)
		hdr = 2;
	else if (b == base + 2u)
		hdr = 4;
	else
		return CAIRN_EDECODE;
	if (rem - 1 < hdr)
		return CAIRN_EDECODE;
	uint32_t n =
	        hdr == 0 ? (uint32_t)(b & 0x1fu) : (uint32_t)be(r->p + 1, hdr);
	if ((uint64_t)n > (uint64_t)(rem - 1 - hdr))
		return CAIRN_EDECODE;
	*p = r->p + 1 + hdr;
	*len = n;
	r->p += 1 + hdr + n;
	return 0;
}

int cairn__rd_str(cairn__rd *r, const uint8_t **p, uint32_t *len)
{
	return rd_bytes(r, true, p, len);
}

int cairn__rd_bin(cairn__rd *r, const uint8_t **p, uint32_t *len)
{
	return rd_bytes(r, false, p, len);
}

/* An array (is_map false) or map header: fix, 16 or 32-bit count. */
static int rd_container(cairn__rd *r, bool is_map, uint32_t *count)
{
	size_t rem = remaining(r);
	if (rem == 0)
		return CAIRN_EDECODE;
	uint8_t b = r->p[0];
	uint8_t fix = is_map ? 0x80u : 0x90u;
	uint8_t wide = is_map ? 0xdeu : 0xdcu;
	size_t hdr;
	if (b >= fix && b <= fix + 0x0fu)
		hdr = 0;
	else if (b == wide)
		hdr = 2;
	else if (b == wide + 1u)
		hdr = 4;
	else
		return CAIRN_EDECODE;
	if (rem - 1 < hdr)
		return CAIRN_EDECODE;
	uint32_t n =
	        hdr == 0 ? (uint32_t)(b & 0x0fu) : (uint32_t)be(r->p + 1, hdr);
	uint64_t need = is_map ? 2u * (uint64_t)n : (uint64_t)n;
	if (need > (uint64_t)(rem - 1 - hdr))
		return CAIRN_EDECODE;
	*count = n;
	r->p += 1 + hdr;
	return 0;
}

int cairn__rd_array(cairn__rd *r, uint32_t *count)
{
	return rd_container(r, false, count);
}

int cairn__rd_map(cairn__rd *r, uint32_t *count)
{
	return rd_container(r, true, count);
}

/*
 * Skip by counting: `pending` is the number of objects still to pass, and a
 * container adds its elements to it. No stack and no recursion, so depth
 * costs nothing. Every object still to pass needs one byte at least, so
 * pending > rem means truncated input (and pending, never above the bytes left,
 * cannot overflow).
 */
int cairn__rd_skip(cairn__rd *r)
{
	const uint8_t *p = r->p;
	size_t rem = remaining(r);
	uint64_t pending = 1;

	while (pending > 0) {
		if (pending > (uint64_t)rem)
			return CAIRN_EDECODE;
		pending--;
		uint8_t b = *p++;
		rem--;

		uint64_t n = 0;        /* bytes to pass, or elements to add */
		size_t hdr = 0;        /* length bytes after the type byte */
		size_t extra = 0;      /* the ext type byte */
		bool elements = false; /* n counts elements, not bytes */
		bool pairs = false;    /* a map: n counts pairs */

		if (b <= 0x7fu || b >= 0xe0u) {
			continue; /* fixint */
		} else if (b >= 0xa0u && b <= 0xbfu) {
			n = (uint64_t)(b & 0x1fu);
		} else if (b <= 0x8fu) {
			n = 2u * (uint64_t)(b & 0x0fu);
			elements = true;
		} else if (b <= 0x9fu) {
			n = (uint64_t)(b & 0x0fu);
			elements = true;
		} else {
			switch (b) {
			case 0xc0:
			case 0xc2:
			case 0xc3: continue;
			case 0xc4:
			case 0xd9: hdr = 1; break;
			case 0xc5:
			case 0xda: hdr = 2; break;
			case 0xc6:
			case 0xdb: hdr = 4; break;
			case 0xc7:
				hdr = 1;
				extra = 1;
				break;
			case 0xc8:
				hdr = 2;
				extra = 1;
				break;
			case 0xc9:
				hdr = 4;
				extra = 1;
				break;
			case 0xcc:
			case 0xd0: n = 1; break;
			case 0xcd:
			case 0xd1: n = 2; break;
			case 0xca:
			case 0xce:
			case 0xd2: n = 4; break;
			case 0xcb:
			case 0xcf:
			case 0xd3: n = 8; break;
			case 0xd4: n = 2; break;
			case 0xd5: n = 3; break;
			case 0xd6: n = 5; break;
			case 0xd7: n = 9; break;
			case 0xd8: n = 17; break;
			case 0xdc:
				hdr = 2;
				elements = true;
				break;
			case 0xdd:
				hdr = 4;
				elements = true;
				break;
			case 0xde:
				hdr = 2;
				elements = pairs = true;
				break;
			case 0xdf:
				hdr = 4;
				elements = pairs = true;
				break;
			default: /* 0xc1 */ return CAIRN_EDECODE;
			}
			if (hdr > 0) {
				if (rem < hdr + extra)
					return CAIRN_EDECODE;
				n = be(p, hdr);
				if (pairs)
					n *= 2u;
				p += hdr + extra;
				rem -= hdr + extra;
			}
		}
		if (elements) {
			if (pending > (uint64_t)rem ||
			    n > (uint64_t)rem - pending)
				return CAIRN_EDECODE;
			pending += n;
		} else {
			if (n > (uint64_t)rem)
				return CAIRN_EDECODE;
			p += (size_t)n;
			rem -= (size_t)n;
		}
	}
	r->p = p;
	return 0;
}

int cairn__rd_peek(const cairn__rd *r)
{
	if (r->p == r->end)
		return -1;
	return r->p[0];
}
