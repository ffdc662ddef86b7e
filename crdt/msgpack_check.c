/*
 * msgpack_check.c -- the pre-validator that stands between bytes from
 * outside and every msgpack parser in cairn.
 *
 * Why it exists: msgpack-c 4.0 allocates from a declared count before any
 * element has arrived, so a 5-byte array32 header (dd 04 00 00 00) costs it
 * gigabytes. Here every length and count is weighed against the bytes that
 * are actually left: a str/bin/ext payload must fit, and since each element
 * takes at least one byte, an array of n elements needs n more bytes and a
 * map of n pairs 2n. Whatever passes can only ask a later parser for memory
 * in proportion to its own size.
 *
 * Shape of the loop: one object per iteration, no recursion. pending[d] is
 * the number of objects still to read in the open container at level d
 * (level 0 is the top level, which holds exactly one object); it is bounded
 * by the depth limit, itself capped at CAIRN__MSGPACK_MAX_DEPTH. The element
 * budget is reserved when a container header declares its count, so an
 * oversized container fails at its header rather than after a long scan,
 * and reading a scalar needs no budget check at all.
 *
 * All arithmetic is on offsets: `n > len - p` with p <= len, never a pointer
 * past the end, so no length can overflow a pointer. Multi-byte fields are
 * assembled byte by byte in big-endian order (no unaligned loads).
 */
#include "bytes_int.h"

/* The defaults of cairn_limits_init() (include/cairn/crdt.h), for NULL. */
#define DEFAULT_MAX_DEPTH 16u
#define DEFAULT_MAX_ELEMENTS (UINT64_C(64) << 20)
#define DEFAULT_MAX_INPUT_BYTES (UINT64_C(1) << 30)

static uint32_t be16(const uint8_t *p)
{
	return ((uint32_t)p[0] << 8) | (uint32_t)p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

int cairn__msgpack_check(const uint8_t *bytes, size_t len,
                         const cairn_limits *limits, size_t *bad_offset)
{
	size_t pending[CAIRN__MSGPACK_MAX_DEPTH];
	size_t level = 0;
	size_t p = 0;  /* offset of the next byte to read */
	size_t at = 0; /* offset of the object being read */
	int err;

	uint64_t max_input = DEFAULT_MAX_INPUT_BYTES;
	uint64_t budget = DEFAULT_MAX_ELEMENTS; /* elements not yet reserved */
	size_t max_depth = DEFAULT_MAX_DEPTH;
	if (limits != NULL) {
		max_input = limits->max_input_bytes;
		budget = limits->max_elements;
		max_depth = limits->max_depth;
	}
	if (max_depth > CAIRN__MSGPACK_MAX_DEPTH)
		max_depth = CAIRN__MSGPACK_MAX_DEPTH;

	if ((uint64_t)len > max_input || max_depth == 0 || budget == 0) {
		err = CAIRN_ELIMIT;
		goto fail;
	}
	budget--; /* the top-level object */
	pending[0] = 1;

	for (;;) {
		uint64_t
		        n; /* payload length, or element count of a container */

		if (p == len) {
			at = p;
			err = CAIRN_EDECODE; /* an object was due: truncated */
			goto fail;
		}
		pending[level]--;
		at = p;
		uint8_t b = bytes[p++];
		size_t rem = len - p;

		/* The one-byte forms first: they are most of any real input. */
		if (b <= 0x7fu || b >= 0xe0u)
			goto next; /* positive / negative fixint */
		if (b >= 0xa0u && b <= 0xbfu) {
			n = (uint64_t)(b & 0x1fu); /* fixstr */
			goto payload;
		}
		if (b <= 0x8fu) {
			n = 2u * (uint64_t)(b & 0x0fu); /* fixmap */
			goto container;
		}
		if (b <= 0x9fu) {
			n = (uint64_t)(b & 0x0fu); /* fixarray */
			goto container;
		}

		switch (b) {
		case 0xc0: /* nil */
		case 0xc2: /* false */
		case 0xc3: /* true */ goto next;
		case 0xc1: /* never used */ err = CAIRN_EDECODE; goto fail;

		case 0xc4: /* bin 8 */
		case 0xd9: /* str 8 */
			if (rem < 1)
				goto truncated;
			n = bytes[p];
			p += 1;
			goto payload;
		case 0xc5: /* bin 16 */
		case 0xda: /* str 16 */
			if (rem < 2)
				goto truncated;
			n = be16(bytes + p);
			p += 2;
			goto payload;
		case 0xc6: /* bin 32 */
		case 0xdb: /* str 32 */
			if (rem < 4)
				goto truncated;
			n = be32(bytes + p);
			p += 4;
			goto payload;

		case 0xc7: /* ext 8: length, type, data */
			if (rem < 2)
				goto truncated;
			n = bytes[p];
			p += 2;
			goto payload;
		case 0xc8: /* ext 16 */
			if (rem < 3)
				goto truncated;
			n = be16(bytes + p);
			p += 3;
			goto payload;
		case 0xc9: /* ext 32 */
			if (rem < 5)
				goto truncated;
			n = be32(bytes + p);
			p += 5;
			goto payload;

		case 0xcc: /* uint 8 */
		case 0xd0: /* int 8 */ n = 1; goto payload;
		case 0xcd: /* uint 16 */
		case 0xd1: /* int 16 */ n = 2; goto payload;
		case 0xca: /* float 32 */
		case 0xce: /* uint 32 */
		case 0xd2: /* int 32 */ n = 4; goto payload;
		case 0xcb: /* float 64 */
		case 0xcf: /* uint 64 */
		case 0xd3: /* int 64 */ n = 8; goto payload;

		case 0xd4: /* fixext 1: type byte + data */ n = 2; goto payload;
		case 0xd5: /* fixext 2 */ n = 3; goto payload;
		case 0xd6: /* fixext 4 (the 32-bit timestamp) */
			n = 5;
			goto payload;
		case 0xd7: /* fixext 8 */ n = 9; goto payload;
		case 0xd8: /* fixext 16 */ n = 17; goto payload;

		case 0xdc: /* array 16 */
			if (rem < 2)
				goto truncated;
			n = be16(bytes + p);
			p += 2;
			goto container;
		case 0xdd: /* array 32 */
			if (rem < 4)
				goto truncated;
			n = be32(bytes + p);
			p += 4;
			goto container;
		case 0xde: /* map 16 */
			if (rem < 2)
				goto truncated;
			n = 2u * (uint64_t)be16(bytes + p);
			p += 2;
			goto container;
		case 0xdf: /* map 32 */
			if (rem < 4)
				goto truncated;
			n = 2u * (uint64_t)be32(bytes + p);
			p += 4;
			goto container;
		default: /* every byte value is handled above */
			err = CAIRN_EDECODE;
			goto fail;
		}

	payload:
		if (n > (uint64_t)(len - p))
			goto truncated;
		p += (size_t)n;
		goto next;

	container:
		/* Each element needs at least one more byte. */
		if (n > (uint64_t)(len - p))
			goto truncated;
		if (n > 0) {
			if (level + 2 > max_depth || n > budget) {
				err = CAIRN_ELIMIT;
				goto fail;
			}
			budget -= n;
			pending[++level] = (size_t)n;
			continue;
		}

	next:
		while (pending[level] == 0) {
			if (level == 0) {
				if (p != len) {
					at = p;
					err = CAIRN_EDECODE; /* trailing bytes
					                      */
					goto fail;
				}
				return 0;
			}
			level--;
		}
	}

truncated:
	err = CAIRN_EDECODE;
fail:
	if (bad_offset != NULL)
		*bad_offset = at;
	return err;
}
