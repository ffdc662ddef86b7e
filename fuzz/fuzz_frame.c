/*
 * fuzz_frame.c -- libFuzzer target for the frame receiver of the secure
 * link (net/proto/link.c), after the fixed handshake of link_fixture.h.
 *
 * Input: byte 0 picks the receiving side (bit 7 set: the initiator, so
 * the bytes play R->I frames; clear: the responder, I->R) and a piece
 * size (bits 0-6; 0 means one byte at a time); the rest is fed to that
 * link as received bytes. The seeds (gen_corpus.c) are valid frame
 * sequences sealed by the other side of the same fixture -- messages,
 * empty messages, rekeys, FINAL -- and the classic bad lengths, so
 * mutations start from frames that open.
 *
 * Properties checked on every input:
 *   - feed returns 0, CAIRN_EDECODE or CAIRN_ELIMIT and reports CLOSED,
 *     never DROP (the link has spoken), and sends nothing;
 *   - nothing is delivered after an error, no message exceeds
 *     frame_cap - 17 bytes;
 *   - fed all at once or in pieces, the link reports exactly the same
 *     events, message bytes and final code: the reassembler is invisible;
 *   - memory: the reassembly buffer is at most 256 bytes or twice the
 *     bytes received, both buffers together at most 2 * frame_cap, and
 *     cairn__link_wipe frees everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link_int.h"
#include "sim_util.h"

#include "fuzz.h"
#include "link_fixture.h"

static fx base;
static bool ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		FUZZ_ASSERT(fx_init(&base) == 0 && fx_handshake(&base) == 0);
		ready = true;
	}
	if (size < 1)
		return 0;
	bool to_initiator = (data[0] & 0x80) != 0;
	size_t chunk = data[0] & 0x7f;
	const uint8_t *in = data + 1;
	size_t n = size - 1;

	fx_run runs[2];
	for (int k = 0; k < 2; k++) {
		fail_alloc fa;
		memset(&fa, 0, sizeof fa);
		/* An established link that has not allocated its frame
		 * buffers yet is a plain value: each run gets a copy. */
		cairn__link l = to_initiator ? base.i : base.r;
		FUZZ_ASSERT(l.ct == NULL && l.pt == NULL);
		l.alloc = fail_alloc_allocator(&fa);
		cairn_buf out;
		cairn_buf_init(&out, NULL);
		fx_run *r = &runs[k];
		memset(r, 0, sizeof *r);
		cairn_buf_init(&r->trace, NULL);
		fx_drive(&l, in, n, k == 0 ? 0 : (chunk ? chunk : 1), FX_T0,
		         &out, r);

		FUZZ_ASSERT(r->rc == 0 || r->rc == CAIRN_EDECODE ||
		            r->rc == CAIRN_ELIMIT);
		FUZZ_ASSERT(!r->dropped && !r->message_after_error);
		FUZZ_ASSERT(r->handshakes == 0);
		FUZZ_ASSERT(out.len == 0);
		FUZZ_ASSERT(l.ct_cap <= 256 || l.ct_cap <= 2 * n);
		FUZZ_ASSERT(l.pt_cap <= CAIRN__LINK_FRAME_MAX);
		FUZZ_ASSERT(fa.peak_bytes <= 2 * (size_t)CAIRN__LINK_FRAME_MAX);
		cairn__link_wipe(&l);
		FUZZ_ASSERT(fa.live_blocks == 0 && fa.live_bytes == 0);
		cairn_buf_free(&out);
	}

	/* A message record in the trace carries its length: check the
	 * bound while comparing the runs. */
	FUZZ_ASSERT(runs[0].rc == runs[1].rc);
	FUZZ_ASSERT(runs[0].trace.len == runs[1].trace.len);
	FUZZ_ASSERT(runs[0].trace.len == 0 ||
	            memcmp(runs[0].trace.data, runs[1].trace.data,
	                   runs[0].trace.len) == 0);
	for (size_t at = 0; at < runs[0].trace.len;) {
		const uint8_t *t = runs[0].trace.data + at;
		size_t len = (size_t)t[1] << 24 | (size_t)t[2] << 16 |
		             (size_t)t[3] << 8 | t[4];
		if (t[0] == FX_TR_MESSAGE)
			FUZZ_ASSERT(len <= CAIRN__LINK_FRAME_MAX - 17);
		at += 5 + len;
	}
	cairn_buf_free(&runs[0].trace);
	cairn_buf_free(&runs[1].trace);
	return 0;
}
