/*
 * fuzz_sync.c -- libFuzzer target for the sync engine (net/proto/sync.c):
 * arbitrary message sequences from a peer, handed to an engine serving a
 * fixed store (sync_fixture.h gives the layout of an input).
 *
 * Checks: no crash, no leak, no unbounded output (the engine is drained
 * after each message, and a few hundred messages must say all it has);
 * once the engine says the link must close it stays closed; the store
 * stays usable (a write, a digest and a reopen work afterwards).
 */
#include "fuzz.h"
#include "sync_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	sfx f;
	FUZZ_ASSERT(sfx_open(&f, data[0], 1, 2) == 0);
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	uint64_t now = SFX_T0;
	bool closed = false;
	size_t off = 1;
	while (off + 2 <= size && !closed) {
		size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (n > size - off)
			n = size - off;
		now += 7;
		int rc = cairn__sync_recv(f.sy, f.p, data + off, n, now);
		off += n;
		for (int k = 0; k < 512; k++) {
			out.len = 0;
			int r = cairn__sync_next(f.sy, f.p, now, &out);
			if (r < 0) {
				closed = true;
				break;
			}
			FUZZ_ASSERT(r == 0 || r == 1);
			if (r == 0)
				break;
		}
		if (rc < 0)
			closed = true;
	}
	if (closed) {
		/* Closed stays closed. */
		out.len = 0;
		FUZZ_ASSERT(cairn__sync_next(f.sy, f.p, now, &out) < 0);
	}
	cairn_buf_free(&out);
	uint8_t dg[CAIRN_DIGEST_BYTES];
	FUZZ_ASSERT(cairn_replica_digest(cairn_store_replica(f.st), dg) == 0);
	cairn_value v = {.type = CAIRN_INT, .as.i = 1};
	int rc = cairn_store_set(f.st, "after", "x", &v, now, NULL, NULL);
	FUZZ_ASSERT(rc == 0 || rc == CAIRN_EAGAIN);
	sfx_close(&f);
	return 0;
}
