/*
 * link_fixture.h -- the fixed handshake of the link fuzz targets
 * (fuzz_frame.c, fuzz_handshake.c) and of their seed generator
 * (gen_corpus.c): two links with fixed static keys, mesh key, ephemerals,
 * stream headers and clocks (the test hook of net/proto/link_int.h), so
 * that every run produces the same m1, m2, m3 and frames, and a seed
 * written once keeps meaning the same thing to the target.
 *
 * Also the driver both targets use: feed bytes to a link in pieces of a
 * given size and write what happened into a trace (event types, message
 * bytes, codes), so that two runs can be compared byte for byte.
 */
#ifndef CAIRN_FUZZ_LINK_FIXTURE_H
#define CAIRN_FUZZ_LINK_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn/net.h"
#include "link_int.h"

#define FX_T0 UINT64_C(1700000000000)

typedef struct fx {
	cairn_identity id_i, id_r;
	cairn_mesh_key mesh;
	cairn__link_test_hook hook_i, hook_r;
	cairn__link i, r;
	cairn_buf m1, m2, m3; /* the handshake, with length prefixes */
} fx;

static inline void fx_fill(uint8_t *p, size_t n, uint8_t first)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(first + k);
}

/*
 * The configuration of the fixture's link in `role` (both sides rekey
 * every 4 frames, so that seeds of a few frames carry TAG_REKEY too).
 */
static inline cairn__link_config fx_config(const fx *f, cairn__link_role role)
{
	cairn__link_config c;
	cairn__link_config_init(&c);
	bool init = role == CAIRN__LINK_INITIATOR;
	c.identity = init ? &f->id_i : &f->id_r;
	c.mesh_key = &f->mesh;
	c.caps = init ? 1 : 0;
	c.rekey_frames = 4;
	return c;
}

/* Set up both links and run nothing yet. Returns 0 or an error. */
static inline int fx_init(fx *f)
{
	memset(f, 0, sizeof *f);
	uint8_t sk[32];
	fx_fill(sk, 32, 0x01);
	int rc = cairn_identity_from_secret(sk, &f->id_i);
	fx_fill(sk, 32, 0x41);
	if (rc == 0)
		rc = cairn_identity_from_secret(sk, &f->id_r);
	if (rc != 0)
		return rc;
	fx_fill(f->mesh.bytes, 32, 0x81);
	fx_fill(f->hook_i.ephemeral_secret, 32, 0x21);
	fx_fill(f->hook_r.ephemeral_secret, 32, 0x61);
	fx_fill(f->hook_i.stream_header, 24, 0xa1);
	fx_fill(f->hook_r.stream_header, 24, 0xc1);
	cairn__link_config ci = fx_config(f, CAIRN__LINK_INITIATOR);
	cairn__link_config cr = fx_config(f, CAIRN__LINK_RESPONDER);
	rc = cairn__link_init(&f->i, CAIRN__LINK_INITIATOR, &ci, FX_T0);
	if (rc == 0)
		rc = cairn__link_init(&f->r, CAIRN__LINK_RESPONDER, &cr, FX_T0);
	if (rc != 0)
		return rc;
	cairn__link_set_test_hook(&f->i, &f->hook_i);
	cairn__link_set_test_hook(&f->r, &f->hook_r);
	cairn_buf_init(&f->m1, NULL);
	cairn_buf_init(&f->m2, NULL);
	cairn_buf_init(&f->m3, NULL);
	return 0;
}

/* Feed all of in[0..n) expecting no error; returns 0 or the error. */
static inline int fx_feed_ok(cairn__link *l, const cairn_buf *in,
                             cairn_buf *out)
{
	size_t off = 0;
	while (off < in->len) {
		cairn__link_event ev;
		size_t used = 0;
		int rc = cairn__link_feed(l, in->data + off, in->len - off,
		                          FX_T0, out, &used, &ev);
		if (rc != 0)
			return rc;
		off += used;
		if (ev.type == CAIRN__LINK_EV_NONE)
			break;
	}
	return 0;
}

/* Run the handshake; both links are then established, with no frame
 * buffers allocated yet. Returns 0 or an error. */
static inline int fx_handshake(fx *f)
{
	int rc = cairn__link_start(&f->i, &f->m1);
	if (rc == 0)
		rc = fx_feed_ok(&f->r, &f->m1, &f->m2);
	if (rc == 0)
		rc = fx_feed_ok(&f->i, &f->m2, &f->m3);
	cairn_buf none;
	cairn_buf_init(&none, NULL);
	if (rc == 0)
		rc = fx_feed_ok(&f->r, &f->m3, &none);
	cairn_buf_free(&none);
	if (rc == 0 &&
	    !(cairn__link_established(&f->i) && cairn__link_established(&f->r)))
		rc = CAIRN_EDECODE;
	return rc;
}

static inline void fx_free(fx *f)
{
	cairn__link_wipe(&f->i);
	cairn__link_wipe(&f->r);
	cairn_buf_free(&f->m1);
	cairn_buf_free(&f->m2);
	cairn_buf_free(&f->m3);
}

/* ---- the driver ------------------------------------------------------- */

/* Trace records: a type byte, then its data. */
enum { FX_TR_HANDSHAKE = 'H', FX_TR_MESSAGE = 'M', FX_TR_END = 'E' };

typedef struct fx_run {
	int rc;     /* the last code feed returned */
	bool ended; /* DROP or CLOSED with an error */
	bool dropped;
	int handshakes, messages, clean_closes;
	bool message_after_error; /* must never happen */
	cairn_buf trace;
} fx_run;

static inline void fx_trace(fx_run *r, uint8_t type, const void *p, size_t n)
{
	uint8_t head[5] = {type, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
	                   (uint8_t)(n >> 8), (uint8_t)n};
	if (cairn_buf_append(&r->trace, head, sizeof head) != 0 ||
	    (n > 0 && cairn_buf_append(&r->trace, p, n) != 0))
		abort();
}

/*
 * Feed data[0..size) to l in pieces of `chunk` bytes (0: all at once),
 * calling again after each event, until the bytes run out or the link
 * ends. Whatever l sends goes to *out.
 */
static inline void fx_drive(cairn__link *l, const uint8_t *data, size_t size,
                            size_t chunk, uint64_t now, cairn_buf *out,
                            fx_run *r)
{
	size_t off = 0;
	do {
		size_t piece =
		        chunk == 0 || size - off < chunk ? size - off : chunk;
		size_t end = off + piece;
		for (;;) {
			cairn__link_event ev;
			size_t used = 0;
			int rc = cairn__link_feed(l, data + off, end - off, now,
			                          out, &used, &ev);
			off += used;
			r->rc = rc;
			switch (ev.type) {
			case CAIRN__LINK_EV_HANDSHAKE:
				r->handshakes++;
				fx_trace(r, FX_TR_HANDSHAKE, ev.peer_key, 32);
				break;
			case CAIRN__LINK_EV_MESSAGE:
				if (r->ended)
					r->message_after_error = true;
				r->messages++;
				fx_trace(r, FX_TR_MESSAGE, ev.msg, ev.msg_len);
				break;
			case CAIRN__LINK_EV_CLOSED:
			case CAIRN__LINK_EV_DROP:
				if (ev.err == 0) {
					r->clean_closes++;
				} else {
					r->ended = true;
					r->dropped =
					        ev.type == CAIRN__LINK_EV_DROP;
				}
				{
					uint8_t code = (uint8_t)-ev.err;
					fx_trace(r, FX_TR_END, &code, 1);
				}
				break;
			default: break;
			}
			if (rc != 0 || ev.type == CAIRN__LINK_EV_NONE)
				break;
			if (ev.type == CAIRN__LINK_EV_CLOSED && off == end)
				break;
		}
		if (r->rc != 0)
			return;
	} while (off < size);
}

#endif /* CAIRN_FUZZ_LINK_FIXTURE_H */
