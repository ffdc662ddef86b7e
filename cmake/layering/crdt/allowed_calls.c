/*
 * Layering probe (cmake/layering/run_probe.cmake), compiled with the flags
 * of crdt/: the control. It includes what crdt/ may include (the public
 * header, the C library, msgpack-c) and calls what crdt/ may call, so it
 * must compile and pass the nm check. If it fails, the other probes prove
 * nothing: their failures could have another cause.
 *
 * EXPECT: clean
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "cairn/crdt.h"

size_t cairn__probe_allowed_calls(const char *s, size_t n);

size_t cairn__probe_allowed_calls(const char *s, size_t n)
{
	msgpack_unpacked msg;
	size_t off = 0;
	size_t len = 0;
	char *copy = malloc(n + 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, s, n);
	copy[n] = '\0';
	msgpack_unpacked_init(&msg);
	if (msgpack_unpack_next(&msg, copy, n, &off) == MSGPACK_UNPACK_SUCCESS)
		len = off;
	msgpack_unpacked_destroy(&msg);
	len += strlen(copy);
	free(copy);
	return len + (size_t)CAIRN_MAX_ID_BYTES;
}
