/*
 * fuzz_handshake.c -- libFuzzer target for the handshake state machines
 * of the secure link (net/proto/link.c, noise.c), around the fixed
 * handshake of link_fixture.h.
 *
 * Input: byte 0, bits 0-1, picks the link under test:
 *   0  a fresh responder (with a replay cache and a rate limiter), fed
 *      the input from its first byte: m1, then m3 and frames;
 *   1  an initiator that has sent the fixture's m1, fed the input: m2...;
 *   2  a responder that has accepted the fixture's m1 and sent its m2,
 *      fed the input: m3, then frames;
 *   3  as 0, with a clock 10 minutes off (every m1 is stale);
 * and bits 2-7 a piece size (0: all at once). The rest is fed as received
 * bytes. The seeds (gen_corpus.c) are the fixture's real messages, alone
 * and followed by frames, cut short, and with bad length prefixes.
 *
 * Properties checked on every input:
 *   - feed returns 0 or a documented code (CAIRN_EDECODE, CAIRN_ELIMIT,
 *     CAIRN_ECLOCK_SKEW, CAIRN_EVERSION, CAIRN_EPOLICY);
 *   - silence: a responder that has not accepted m1 sends nothing, and
 *     one that DROPs has sent nothing at all; a DROP only ever comes
 *     before m2;
 *   - what a link sends is exactly the fixture's next message (m2 from a
 *     responder, m3 from an initiator) or nothing: no input made without
 *     the mesh key gets any other answer;
 *   - a HANDSHAKE names the fixture's peer; no message comes before it,
 *     and nothing after an error;
 *   - fed all at once or in pieces, the same events, codes and output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link_int.h"

#include "fuzz.h"
#include "link_fixture.h"

static fx base;
static bool ready;

static bool same(const cairn_buf *a, const cairn_buf *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* One run of `mode` on in[0..n) in pieces of `chunk`; *out gets what the
 * link under test sent in response to the input. */
static void run(int mode, const uint8_t *in, size_t n, size_t chunk,
                cairn_buf *out, fx_run *r)
{
	bool responder = mode != 1;
	cairn__link_role role =
	        responder ? CAIRN__LINK_RESPONDER : CAIRN__LINK_INITIATOR;
	cairn__link_config cfg = fx_config(&base, role);
	cairn__replay replay;
	cairn__ratelimit limiter;
	cairn__ratelimit_config rlc;
	cairn__ratelimit_config_init(&rlc);
	rlc.capacity = 8;
	static const uint8_t addr[4] = {10, 0, 0, 1};
	if (responder) {
		FUZZ_ASSERT(cairn__replay_init(&replay, 8, NULL) == 0);
		FUZZ_ASSERT(cairn__ratelimit_init(&limiter, &rlc, NULL) == 0);
		cfg.replay = &replay;
		cfg.ratelimit = &limiter;
		cfg.peer_addr = addr;
		cfg.peer_addr_len = sizeof addr;
	}
	uint64_t now = mode == 3 ? FX_T0 + 600000 : FX_T0;
	cairn__link l;
	FUZZ_ASSERT(cairn__link_init(&l, role, &cfg, now) == 0);
	cairn__link_test_hook hook = responder ? base.hook_r : base.hook_i;
	cairn__link_set_test_hook(&l, &hook);

	/* Bring the link to where the input starts. */
	cairn_buf pre;
	cairn_buf_init(&pre, NULL);
	if (mode == 1) {
		FUZZ_ASSERT(cairn__link_start(&l, &pre) == 0);
		FUZZ_ASSERT(same(&pre, &base.m1));
	} else if (mode == 2) {
		FUZZ_ASSERT(fx_feed_ok(&l, &base.m1, &pre) == 0);
		FUZZ_ASSERT(same(&pre, &base.m2));
	}
	cairn_buf_free(&pre);

	fx_drive(&l, in, n, chunk, now, out, r);

	int rc = r->rc;
	FUZZ_ASSERT(rc == 0 || rc == CAIRN_EDECODE || rc == CAIRN_ELIMIT ||
	            rc == CAIRN_ECLOCK_SKEW || rc == CAIRN_EVERSION ||
	            rc == CAIRN_EPOLICY);
	FUZZ_ASSERT(!r->message_after_error);
	FUZZ_ASSERT(r->handshakes <= 1);
	if (r->messages > 0)
		FUZZ_ASSERT(r->handshakes == 1);
	if (r->handshakes == 1)
		FUZZ_ASSERT(memcmp(l.peer_key,
		                   responder ? base.id_i.public_key
		                             : base.id_r.public_key,
		                   32) == 0);
	/* The answer is the fixture's next message, or silence. */
	if (mode == 0 || mode == 3) {
		FUZZ_ASSERT(out->len == 0 || same(out, &base.m2));
		if (r->dropped)
			FUZZ_ASSERT(out->len == 0);
		if (mode == 3)
			FUZZ_ASSERT(out->len == 0 && r->handshakes == 0);
	} else if (mode == 1) {
		FUZZ_ASSERT(out->len == 0 || same(out, &base.m3));
		FUZZ_ASSERT(!r->dropped);
		FUZZ_ASSERT(r->handshakes == (out->len > 0 ? 1 : 0));
	} else {
		FUZZ_ASSERT(out->len == 0 && !r->dropped);
	}
	cairn__link_wipe(&l);
	if (responder) {
		cairn__replay_free(&replay);
		cairn__ratelimit_free(&limiter);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		FUZZ_ASSERT(fx_init(&base) == 0 && fx_handshake(&base) == 0);
		ready = true;
	}
	if (size < 1)
		return 0;
	int mode = data[0] & 3;
	size_t chunk = data[0] >> 2;

	fx_run runs[2];
	cairn_buf outs[2];
	for (int k = 0; k < 2; k++) {
		memset(&runs[k], 0, sizeof runs[k]);
		cairn_buf_init(&runs[k].trace, NULL);
		cairn_buf_init(&outs[k], NULL);
		run(mode, data + 1, size - 1, k == 0 ? 0 : (chunk ? chunk : 1),
		    &outs[k], &runs[k]);
	}
	FUZZ_ASSERT(runs[0].rc == runs[1].rc);
	FUZZ_ASSERT(same(&runs[0].trace, &runs[1].trace));
	FUZZ_ASSERT(same(&outs[0], &outs[1]));
	for (int k = 0; k < 2; k++) {
		cairn_buf_free(&runs[k].trace);
		cairn_buf_free(&outs[k]);
	}
	return 0;
}
