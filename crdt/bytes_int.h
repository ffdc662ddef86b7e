/*
 * bytes_int.h -- byte-level tools of the core: hashing, UTF-8 checks, the
 * msgpack pre-validator and a reader for bytes that passed it.
 *
 * Private to cairn (tests and fuzz targets may include it).
 */
#ifndef CAIRN_BYTES_INT_H
#define CAIRN_BYTES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/crdt.h"

/* SipHash-2-4 of data[0..len) under a 128-bit key. */
uint64_t cairn__siphash(const uint8_t key[16], const void *data, size_t len);
/* SipHash-1-3, for hash tables. */
uint64_t cairn__siphash13(const uint8_t key[16], const void *data, size_t len);
/* The same of data[0..len), len < 16, given as 16 bytes zero-padded past
 * len: no loop over a tail of bytes. */
uint64_t cairn__siphash13_pad16(const uint8_t key[16], const uint8_t data[16],
                                size_t len);

/* BLAKE2b (RFC 7693), unkeyed, digest length 1..64. */
typedef struct cairn__blake2b {
	uint64_t h[8];
	uint64_t t[2];
	uint8_t buf[128];
	size_t buflen;
	size_t outlen;
} cairn__blake2b;

void cairn__blake2b_init(cairn__blake2b *s, size_t outlen);
void cairn__blake2b_update(cairn__blake2b *s, const void *data, size_t len);
void cairn__blake2b_final(cairn__blake2b *s, uint8_t *out);

/*
 * Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
 * NUL bytes are valid UTF-8 (callers that forbid them check separately).
 */
bool cairn__utf8_valid(const uint8_t *p, size_t n);

/*
 * The length of the well-formed UTF-8 sequence at p[0..n) (n >= 1), or 0
 * if there is none (same rules).
 */
size_t cairn__utf8_seq(const uint8_t *p, size_t n);

/*
 * The msgpack pre-validator. Checks that bytes[0..len) is exactly one
 * complete msgpack object (no trailing bytes) within `limits`:
 *   - len <= max_input_bytes;
 *   - nesting depth <= max_depth (a scalar at top level is depth 1);
 *   - every header fits in the bytes that remain;
 *   - every str/bin/ext length <= the bytes that remain;
 *   - every array count <= remaining bytes, every map count <= remaining/2
 *     (each element needs at least one byte), so no count can ask for more
 *     memory than the input could fill;
 *   - the total number of objects <= max_elements;
 *   - byte 0xc1 (never used) is rejected.
 * It never allocates and never recurses (an explicit stack bounded by
 * max_depth, which is capped at CAIRN__MSGPACK_MAX_DEPTH).
 * Returns 0; CAIRN_EDECODE (malformed or truncated) or CAIRN_ELIMIT (a limit
 * exceeded), and then, if bad_offset is not NULL, the offset of the object
 * at fault in *bad_offset.
 */
#define CAIRN__MSGPACK_MAX_DEPTH 64
int cairn__msgpack_check(const uint8_t *bytes, size_t len,
                         const cairn_limits *limits, size_t *bad_offset);

/*
 * A reader over bytes that passed cairn__msgpack_check(). Every function
 * returns 0, or CAIRN_EDECODE if the next object is not of the asked type
 * (or an integer is out of the asked range); on error the cursor does not
 * move. The reader still checks bounds, so it is safe (if not useful) on
 * unchecked bytes too: cairn__rd_array and cairn__rd_map also refuse a
 * count larger than the remaining bytes could hold (n elements, 2n for a
 * map), so a caller may size an allocation from the count.
 */
typedef struct cairn__rd {
	const uint8_t *p;
	const uint8_t *end;
} cairn__rd;

int cairn__rd_array(cairn__rd *r, uint32_t *count);
int cairn__rd_map(cairn__rd *r, uint32_t *count);
int cairn__rd_nil(cairn__rd *r);
int cairn__rd_bool(cairn__rd *r, bool *out);
/* Any msgpack integer that fits in uint64_t (negative ones do not). */
int cairn__rd_u64(cairn__rd *r, uint64_t *out);
/* Any msgpack integer that fits in int64_t. */
int cairn__rd_i64(cairn__rd *r, int64_t *out);
/* float 32 or 64, widened to double. */
int cairn__rd_f64(cairn__rd *r, double *out);
/* str 8/16/32 or fixstr: a pointer into the input and its length. */
int cairn__rd_str(cairn__rd *r, const uint8_t **p, uint32_t *len);
/* bin 8/16/32. */
int cairn__rd_bin(cairn__rd *r, const uint8_t **p, uint32_t *len);
/* Skip one whole object (with everything nested in it). */
int cairn__rd_skip(cairn__rd *r);
/* The msgpack type byte of the next object; -1 at the end. */
int cairn__rd_peek(const cairn__rd *r);

#endif /* CAIRN_BYTES_INT_H */
