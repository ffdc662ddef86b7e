/*
 * fuzz_msgpack_check.c -- libFuzzer target for the msgpack pre-validator
 * and the reader (crdt/msgpack_check.c, crdt/msgpack_read.c).
 *
 * Properties checked on every input:
 *   - cairn__msgpack_check() never reads out of bounds and returns 0,
 *     CAIRN_EDECODE or CAIRN_ELIMIT, with the offset at fault inside the
 *     input;
 *   - when it accepts, cairn__rd_skip() passes exactly all the bytes;
 *   - when it accepts, msgpack-c agrees: msgpack_unpack_next() succeeds and
 *     consumes the same length. msgpack-c is only ever called on accepted
 *     bytes (DESIGN.md §3): on anything else it may allocate gigabytes.
 *   - rd_skip on any input never passes more bytes than there are, and
 *     fails without moving when it fails.
 *
 * Limits are small so that the fuzzer reaches the limit paths; the depth
 * stays below msgpack-c's own nesting limit (MSGPACK_EMBED_STACK_SIZE, 32)
 * so that a difference is a bug, not a configuration.
 */
#include <stdint.h>
#include <stdlib.h>

#include <msgpack.h>

#include "bytes_int.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cairn_limits limits = {
	        .max_value_bytes = 4096,
	        .max_depth = 12,
	        .max_elements = 4096,
	        .max_input_bytes = 1u << 20,
	};
	size_t off = SIZE_MAX;
	int rc = cairn__msgpack_check(data, size, &limits, &off);

	/* The reader alone, on unchecked bytes. */
	cairn__rd r = {data, data + size};
	int skip = cairn__rd_skip(&r);
	FUZZ_ASSERT(skip == 0 || skip == CAIRN_EDECODE);
	FUZZ_ASSERT(r.p >= data && r.p <= data + size);
	if (skip != 0)
		FUZZ_ASSERT(r.p == data);

	if (rc != 0) {
		FUZZ_ASSERT(rc == CAIRN_EDECODE || rc == CAIRN_ELIMIT);
		FUZZ_ASSERT(off <= size);
		/* A well-formed object within no limit is exactly what rd_skip
		 * passes; so if rd_skip passed everything, it must be a limit
		 * that failed. */
		if (skip == 0 && r.p == data + size)
			FUZZ_ASSERT(rc == CAIRN_ELIMIT);
		return 0;
	}

	/* Accepted: one whole object. */
	FUZZ_ASSERT(skip == 0 && r.p == data + size);

	/* Without limits it is still accepted. */
	FUZZ_ASSERT(cairn__msgpack_check(data, size, NULL, NULL) == 0);

	msgpack_unpacked u;
	size_t used = 0;
	msgpack_unpacked_init(&u);
	msgpack_unpack_return ur =
	        msgpack_unpack_next(&u, (const char *)data, size, &used);
	FUZZ_ASSERT(ur == MSGPACK_UNPACK_SUCCESS);
	FUZZ_ASSERT(used == size);
	msgpack_unpacked_destroy(&u);
	return 0;
}
