/*
 * test_link.c -- the secure link (net/proto/link_int.h; noise.c, link.c,
 * replay.c, ratelimit.c): the handshake in both roles and every way it
 * refuses, the responder's silence, the replay cache and rate limiter,
 * frames and every way they can be damaged, input in arbitrary pieces,
 * rekeying, the final frame, and running out of memory.
 *
 * The published Noise vectors and the golden vectors of the wire format
 * are in tests/vectors/test_handshake_vectors.c.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cairn.h"
#include "link_int.h"
#include "rng.h"
#include "sim_util.h"

#define OK(x) assert_int_equal((x), 0)
#define T0 UINT64_C(1700000000000)

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                 */
/* ------------------------------------------------------------------------ */

static cairn_identity id_i, id_r;
static cairn_mesh_key mesh, other_mesh;

static void fill(uint8_t *p, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i);
}

static int setup(void **state)
{
	(void)state;
	uint8_t sk[32];
	fill(sk, 32, 0x01);
	if (cairn_identity_from_secret(sk, &id_i) != 0)
		return -1;
	fill(sk, 32, 0x41);
	if (cairn_identity_from_secret(sk, &id_r) != 0)
		return -1;
	fill(mesh.bytes, 32, 0x81);
	fill(other_mesh.bytes, 32, 0x82);
	return 0;
}

static cairn__link_config config(const cairn_identity *id,
                                 const cairn_mesh_key *key)
{
	cairn__link_config c;
	cairn__link_config_init(&c);
	c.identity = id;
	c.mesh_key = key;
	return c;
}

/* What feeding produced: the events, and copies of the messages. */
typedef struct got {
	int handshakes, drops, closes, clean_closes;
	int err; /* the last DROP/CLOSED code */
	char reason[160];
	cairn__link_event hs; /* the HANDSHAKE event */
	size_t nmsg;
	size_t lens[4096];
	cairn_buf data; /* the messages, concatenated */
} got;

static void got_init(got *g)
{
	memset(g, 0, sizeof *g);
	cairn_buf_init(&g->data, NULL);
}

static void got_free(got *g)
{
	cairn_buf_free(&g->data);
}

static void record(got *g, const cairn__link_event *ev)
{
	switch (ev->type) {
	case CAIRN__LINK_EV_NONE: break;
	case CAIRN__LINK_EV_HANDSHAKE:
		g->handshakes++;
		g->hs = *ev;
		break;
	case CAIRN__LINK_EV_MESSAGE:
		assert_true(g->nmsg < sizeof g->lens / sizeof g->lens[0]);
		g->lens[g->nmsg++] = ev->msg_len;
		OK(cairn_buf_append(&g->data, ev->msg, ev->msg_len));
		break;
	case CAIRN__LINK_EV_DROP:
	case CAIRN__LINK_EV_CLOSED:
		if (ev->type == CAIRN__LINK_EV_DROP)
			g->drops++;
		else if (ev->err == 0)
			g->clean_closes++;
		else
			g->closes++;
		g->err = ev->err;
		assert_non_null(ev->reason);
		snprintf(g->reason, sizeof g->reason, "%s", ev->reason);
		break;
	}
}

/*
 * Feed bytes[0..n) to the link, in one call and then again with what is
 * left after each event, recording every event, until all is consumed
 * or the link fails. Returns the first error (0 if none).
 */
static int pump(cairn__link *l, const uint8_t *bytes, size_t n, uint64_t now,
                cairn_buf *out, got *g)
{
	size_t off = 0;
	for (;;) {
		cairn__link_event ev;
		size_t used = 0;
		int rc = cairn__link_feed(l, bytes + off, n - off, now, out,
		                          &used, &ev);
		assert_true(used <= n - off);
		off += used;
		record(g, &ev);
		if (rc != 0)
			return rc;
		if (ev.type == CAIRN__LINK_EV_NONE) {
			assert_int_equal(off, n);
			return 0;
		}
		if (off == n && ev.type != CAIRN__LINK_EV_MESSAGE &&
		    ev.type != CAIRN__LINK_EV_HANDSHAKE)
			return 0;
	}
}

/* Pump, then drop what was fed from *in. */
static int pump_buf(cairn__link *l, cairn_buf *in, uint64_t now, cairn_buf *out,
                    got *g)
{
	int rc = pump(l, in->data, in->len, now, out, g);
	cairn_buf_reset(in);
	return rc;
}

/* Two links and what each has to send to the other. */
typedef struct pair {
	cairn__link i, r;
	cairn_buf to_r, to_i; /* bytes in flight */
	cairn__link_test_hook hook_i, hook_r;
} pair;

/* Set up both ends (with fixed ephemerals and headers) from configs. */
static void pair_init_cfg(pair *p, const cairn__link_config *ci,
                          const cairn__link_config *cr)
{
	memset(p, 0, sizeof *p);
	cairn_buf_init(&p->to_r, NULL);
	cairn_buf_init(&p->to_i, NULL);
	fill(p->hook_i.ephemeral_secret, 32, 0x21);
	fill(p->hook_r.ephemeral_secret, 32, 0x61);
	fill(p->hook_i.stream_header, 24, 0xa1);
	fill(p->hook_r.stream_header, 24, 0xc1);
	OK(cairn__link_init(&p->i, CAIRN__LINK_INITIATOR, ci, T0));
	OK(cairn__link_init(&p->r, CAIRN__LINK_RESPONDER, cr, T0));
	cairn__link_set_test_hook(&p->i, &p->hook_i);
	cairn__link_set_test_hook(&p->r, &p->hook_r);
}

static void pair_init(pair *p)
{
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	pair_init_cfg(p, &ci, &cr);
}

static void pair_free(pair *p)
{
	cairn__link_wipe(&p->i);
	cairn__link_wipe(&p->r);
	cairn_buf_free(&p->to_r);
	cairn_buf_free(&p->to_i);
}

/* Run the whole handshake; both sides must report it. */
static void pair_handshake(pair *p)
{
	got gi, gr;
	got_init(&gi);
	got_init(&gr);
	OK(cairn__link_start(&p->i, &p->to_r));
	assert_int_equal(p->to_r.len, 2 + CAIRN__LINK_M1_BYTES);
	OK(pump_buf(&p->r, &p->to_r, T0 + 10, &p->to_i, &gr));
	assert_int_equal(p->to_i.len, 2 + CAIRN__LINK_M2_BYTES);
	OK(pump_buf(&p->i, &p->to_i, T0 + 20, &p->to_r, &gi));
	assert_int_equal(gi.handshakes, 1);
	assert_int_equal(p->to_r.len, 2 + CAIRN__LINK_M3_BYTES);
	OK(pump_buf(&p->r, &p->to_r, T0 + 30, &p->to_i, &gr));
	assert_int_equal(gr.handshakes, 1);
	assert_int_equal(p->to_i.len, 0);
	assert_true(cairn__link_established(&p->i));
	assert_true(cairn__link_established(&p->r));
	got_free(&gi);
	got_free(&gr);
}

/* A deterministic message: byte j of message `seed` of length n. */
static void message(uint8_t *out, size_t n, uint32_t seed)
{
	for (size_t j = 0; j < n; j++)
		out[j] = (uint8_t)(seed * 31u + j * 7u + (j >> 8));
}

/* ------------------------------------------------------------------------ */
/* The handshake                                                            */
/* ------------------------------------------------------------------------ */

static void test_handshake_both_roles(void **state)
{
	(void)state;
	pair p;
	cairn__link_config ci = config(&id_i, &mesh);
	ci.caps = 0xA5u;
	cairn__link_config cr = config(&id_r, &mesh);
	pair_init_cfg(&p, &ci, &cr);
	got gi, gr;
	got_init(&gi);
	got_init(&gr);

	/* Nothing to feed before start; sealing is not possible yet. */
	cairn__link_event ev;
	size_t used;
	assert_int_equal(
	        cairn__link_feed(&p.i, NULL, 0, T0, &p.to_r, &used, &ev),
	        CAIRN_EINVAL);
	assert_int_equal(
	        cairn__link_seal(&p.i, (const uint8_t *)"x", 1, &p.to_r),
	        CAIRN_EINVAL);
	assert_int_equal(cairn__link_start(&p.r, &p.to_i), CAIRN_EINVAL);

	OK(cairn__link_start(&p.i, &p.to_r));
	assert_int_equal(cairn__link_start(&p.i, &p.to_r), CAIRN_EINVAL);
	assert_int_equal(p.to_r.len, 60);
	OK(pump_buf(&p.r, &p.to_r, T0 + 5, &p.to_i, &gr));
	assert_int_equal(p.to_i.len, 131);
	assert_int_equal(gr.handshakes, 0);
	assert_false(cairn__link_established(&p.r));
	OK(pump_buf(&p.i, &p.to_i, T0 + 9, &p.to_r, &gi));
	assert_int_equal(p.to_r.len, 94);
	assert_int_equal(gi.handshakes, 1);
	/* The initiator may seal right away, behind m3. */
	OK(cairn__link_seal(&p.i, (const uint8_t *)"early", 5, &p.to_r));
	OK(pump_buf(&p.r, &p.to_r, T0 + 12, &p.to_i, &gr));
	assert_int_equal(gr.handshakes, 1);
	assert_int_equal(gr.nmsg, 1);
	assert_memory_equal(gr.data.data, "early", 5);

	/* Each side learnt the other's key, id, clock; caps go I -> R. */
	cairn_device_id want_i, want_r;
	cairn_identity_device_id(&id_i, &want_i);
	cairn_identity_device_id(&id_r, &want_r);
	assert_memory_equal(gi.hs.peer_key, id_r.public_key, 32);
	assert_memory_equal(gr.hs.peer_key, id_i.public_key, 32);
	assert_true(cairn_device_id_equal(&gi.hs.peer_id, &want_r));
	assert_true(cairn_device_id_equal(&gr.hs.peer_id, &want_i));
	assert_true(cairn_device_id_equal(&p.r.peer_id, &want_i));
	assert_int_equal(gr.hs.peer_clock_ms, T0);     /* m1: init's now */
	assert_int_equal(gi.hs.peer_clock_ms, T0 + 5); /* m2: feed's now */
	assert_int_equal(gr.hs.peer_caps, 0xA5u);
	assert_int_equal(gi.hs.peer_caps, 0);
	assert_memory_equal(gi.hs.handshake_hash, gr.hs.handshake_hash, 32);
	assert_memory_equal(p.hook_i.split_k1, p.hook_r.split_k1, 32);
	assert_memory_equal(p.hook_i.split_k2, p.hook_r.split_k2, 32);
	/* The handshake state is wiped once done, and no copy of a static
	 * secret key or of the mesh key is left anywhere in either link. */
	static const uint8_t zero[sizeof p.i.hs];
	assert_memory_equal(&p.i.hs, zero, sizeof zero);
	assert_memory_equal(&p.r.hs, zero, sizeof zero);
	const cairn__link *links[2] = {&p.i, &p.r};
	const uint8_t *secrets[3] = {id_i.secret_key, id_r.secret_key,
	                             mesh.bytes};
	for (int li = 0; li < 2; li++)
		for (int k = 0; k < 3; k++)
			assert_null(memmem(links[li], sizeof *links[li],
			                   secrets[k], 32));

	/* Messages both ways. */
	OK(cairn__link_seal(&p.r, (const uint8_t *)"pong", 4, &p.to_i));
	OK(cairn__link_seal(&p.r, NULL, 0, &p.to_i)); /* empty is fine */
	OK(pump_buf(&p.i, &p.to_i, T0 + 20, &p.to_r, &gi));
	assert_int_equal(gi.nmsg, 2);
	assert_int_equal(gi.lens[0], 4);
	assert_int_equal(gi.lens[1], 0);
	assert_memory_equal(gi.data.data, "pong", 4);
	got_free(&gi);
	got_free(&gr);
	pair_free(&p);
}

/* Two real (random) handshakes: no test hook, different keys each time. */
static void test_handshake_random(void **state)
{
	(void)state;
	uint8_t hash[2][32];
	for (int k = 0; k < 2; k++) {
		cairn__link_config ci = config(&id_i, &mesh);
		cairn__link_config cr = config(&id_r, &mesh);
		cairn__link li, lr;
		OK(cairn__link_init(&li, CAIRN__LINK_INITIATOR, &ci, T0));
		OK(cairn__link_init(&lr, CAIRN__LINK_RESPONDER, &cr, T0));
		cairn_buf a, b;
		cairn_buf_init(&a, NULL);
		cairn_buf_init(&b, NULL);
		got gi, gr;
		got_init(&gi);
		got_init(&gr);
		OK(cairn__link_start(&li, &a));
		OK(pump_buf(&lr, &a, T0, &b, &gr));
		OK(pump_buf(&li, &b, T0, &a, &gi));
		OK(cairn__link_seal(&li, (const uint8_t *)"hi", 2, &a));
		OK(pump_buf(&lr, &a, T0, &b, &gr));
		assert_int_equal(gr.handshakes, 1);
		assert_int_equal(gr.nmsg, 1);
		memcpy(hash[k], gr.hs.handshake_hash, 32);
		got_free(&gi);
		got_free(&gr);
		cairn_buf_free(&a);
		cairn_buf_free(&b);
		cairn__link_wipe(&li);
		cairn__link_wipe(&lr);
	}
	assert_memory_not_equal(hash[0], hash[1], 32);
}

/* A responder that fails before m2: DROP, and not one byte out. */
static void expect_drop(cairn__link *r, const uint8_t *bytes, size_t n,
                        uint64_t now, int err)
{
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	got g;
	got_init(&g);
	assert_int_equal(pump(r, bytes, n, now, &out, &g), err);
	assert_int_equal(g.drops, 1);
	assert_int_equal(g.err, err);
	assert_int_equal(out.len, 0);
	/* Sticky: the same answer again, still silent. */
	cairn__link_event ev;
	size_t used = 9;
	assert_int_equal(cairn__link_feed(r, bytes, n, now, &out, &used, &ev),
	                 err);
	assert_int_equal(ev.type, CAIRN__LINK_EV_DROP);
	assert_int_equal(used, 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(cairn__link_eof(r, &ev), err);
	assert_int_equal(ev.type, CAIRN__LINK_EV_DROP);
	got_free(&g);
	cairn_buf_free(&out);
}

static void test_wrong_mesh_key(void **state)
{
	(void)state;
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &other_mesh);
	pair p;
	pair_init_cfg(&p, &ci, &cr);
	OK(cairn__link_start(&p.i, &p.to_r));
	expect_drop(&p.r, p.to_r.data, p.to_r.len, T0, CAIRN_EDECODE);
	assert_non_null(strstr(p.r.reason, "mesh key"));

	/* The initiator hears nothing; at the end of the connection it
	 * says why that may be. */
	cairn__link_event ev;
	assert_int_equal(cairn__link_eof(&p.i, &ev), CAIRN_EDECODE);
	assert_int_equal(ev.type, CAIRN__LINK_EV_CLOSED);
	assert_non_null(strstr(ev.reason, "mesh key"));
	pair_free(&p);

	/* Garbage that is not a handshake at all, and a cut m1. */
	cairn__link_config c = config(&id_r, &mesh);
	cairn__link r;
	OK(cairn__link_init(&r, CAIRN__LINK_RESPONDER, &c, T0));
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	expect_drop(&r, (const uint8_t *)http, strlen(http), T0, CAIRN_EDECODE);
	cairn__link_wipe(&r);
	OK(cairn__link_init(&r, CAIRN__LINK_RESPONDER, &c, T0));
	uint8_t junk[60];
	fill(junk, sizeof junk, 7);
	junk[0] = 0;
	junk[1] = 58;
	expect_drop(&r, junk, sizeof junk, T0, CAIRN_EDECODE);
	cairn__link_wipe(&r);
	OK(cairn__link_init(&r, CAIRN__LINK_RESPONDER, &c, T0));
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	got g;
	got_init(&g);
	OK(pump(&r, junk, 30, T0, &out, &g)); /* half a message: waits */
	assert_int_equal(out.len, 0);
	cairn__link_event ev2;
	assert_int_equal(cairn__link_eof(&r, &ev2), CAIRN_EDECODE);
	assert_int_equal(ev2.type, CAIRN__LINK_EV_DROP);
	got_free(&g);
	cairn_buf_free(&out);
	cairn__link_wipe(&r);
}

static void test_clock_skew(void **state)
{
	(void)state;
	/* Responder side: m1 from an initiator whose clock is T0. */
	const uint64_t skew = CAIRN__LINK_MAX_SKEW_MS;
	const struct {
		uint64_t now;
		bool ok;
	} cases[] = {
	        {T0 + skew, true},      {T0 - skew, true},
	        {T0 + skew + 1, false}, {T0 - skew - 1, false},
	        {T0 + 3600000, false},  {0, false},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		pair p;
		pair_init(&p);
		OK(cairn__link_start(&p.i, &p.to_r));
		if (cases[k].ok) {
			got g;
			got_init(&g);
			OK(pump_buf(&p.r, &p.to_r, cases[k].now, &p.to_i, &g));
			assert_int_equal(p.to_i.len, 131);
			got_free(&g);
		} else {
			expect_drop(&p.r, p.to_r.data, p.to_r.len, cases[k].now,
			            CAIRN_ECLOCK_SKEW);
			assert_non_null(strstr(p.r.reason, "clock"));
		}
		pair_free(&p);
	}

	/* Initiator side: the responder's clock (its feed's now) too far
	 * ahead, then too far behind, of the initiator's now. */
	const uint64_t resp_now[2] = {T0 + skew + 1, T0 - skew - 1};
	for (int k = 0; k < 2; k++) {
		pair p;
		pair_init(&p);
		got gi, gr;
		got_init(&gi);
		got_init(&gr);
		cairn__link_config cr = config(&id_r, &mesh);
		cr.max_clock_skew_ms = UINT64_MAX; /* the responder allows it */
		cairn__link_wipe(&p.r);
		OK(cairn__link_init(&p.r, CAIRN__LINK_RESPONDER, &cr, T0));
		OK(cairn__link_start(&p.i, &p.to_r));
		OK(pump_buf(&p.r, &p.to_r, resp_now[k], &p.to_i, &gr));
		assert_int_equal(pump_buf(&p.i, &p.to_i, T0, &p.to_r, &gi),
		                 CAIRN_ECLOCK_SKEW);
		assert_int_equal(gi.closes, 1);
		assert_int_equal(gi.handshakes, 0);
		assert_int_equal(p.to_r.len, 0); /* no m3 */
		assert_non_null(strstr(gi.reason, k == 0 ? "ahead" : "behind"));
		got_free(&gi);
		got_free(&gr);
		pair_free(&p);
	}

	/* The allowed skew is configurable. */
	pair p;
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	cr.max_clock_skew_ms = 1000;
	pair_init_cfg(&p, &ci, &cr);
	OK(cairn__link_start(&p.i, &p.to_r));
	expect_drop(&p.r, p.to_r.data, p.to_r.len, T0 + 1001,
	            CAIRN_ECLOCK_SKEW);
	pair_free(&p);
}

/*
 * Forge handshake messages with chosen payloads: run a Noise state with
 * the link's prologue and the mesh key next to a real link.
 */
static void forge_init(cairn__hs *hs, bool initiator, const cairn_identity *id,
                       const cairn_mesh_key *key, uint8_t eph)
{
	OK(cairn__hs_init(hs, initiator, 0, CAIRN__LINK_PROLOGUE,
	                  strlen(CAIRN__LINK_PROLOGUE), key->bytes, id));
	uint8_t e[32];
	fill(e, 32, eph);
	cairn__hs_fix_ephemeral(hs, e);
}

static void forge_write(cairn__hs *hs, const uint8_t *payload, size_t n,
                        cairn_buf *out)
{
	uint8_t msg[2 + 512];
	size_t len = 0;
	OK(cairn__hs_write(hs, payload, n, msg + 2, sizeof msg - 2, &len));
	msg[0] = (uint8_t)(len >> 8);
	msg[1] = (uint8_t)len;
	OK(cairn_buf_append(out, msg, 2 + len));
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void test_versions(void **state)
{
	(void)state;
	/* m1 of version 2 (and a longer payload): dropped, EVERSION. */
	cairn__hs f;
	forge_init(&f, true, &id_i, &mesh, 0x33);
	uint8_t p1[16] = {2, 0};
	be64(p1 + 2, T0);
	cairn_buf m;
	cairn_buf_init(&m, NULL);
	forge_write(&f, p1, sizeof p1, &m);
	cairn__link_config cr = config(&id_r, &mesh);
	cairn__link r;
	OK(cairn__link_init(&r, CAIRN__LINK_RESPONDER, &cr, T0));
	expect_drop(&r, m.data, m.len, T0, CAIRN_EVERSION);
	cairn__link_wipe(&r);
	cairn__hs_wipe(&f);

	/* A v1 m1 with a payload of the wrong size: dropped, EDECODE. */
	cairn_buf_reset(&m);
	forge_init(&f, true, &id_i, &mesh, 0x34);
	p1[0] = 1;
	forge_write(&f, p1, 11, &m);
	OK(cairn__link_init(&r, CAIRN__LINK_RESPONDER, &cr, T0));
	expect_drop(&r, m.data, m.len, T0, CAIRN_EDECODE);
	cairn__link_wipe(&r);
	cairn__hs_wipe(&f);

	/* m2 of version 2 to a real initiator: CLOSED, EVERSION. Then m2
	 * of v1 with a short payload, and m2 with a bad version byte but
	 * valid authentication in every other way. */
	const uint8_t versions[3] = {2, 1, 0};
	const size_t sizes[3] = {33, 32, 33};
	const int errs[3] = {CAIRN_EVERSION, CAIRN_EDECODE, CAIRN_EVERSION};
	for (int k = 0; k < 3; k++) {
		cairn__link_config ci = config(&id_i, &mesh);
		cairn__link li;
		OK(cairn__link_init(&li, CAIRN__LINK_INITIATOR, &ci, T0));
		cairn_buf_reset(&m);
		OK(cairn__link_start(&li, &m));
		forge_init(&f, false, &id_r, &mesh, 0x35);
		uint8_t pay[64];
		size_t plen = 0;
		OK(cairn__hs_read(&f, m.data + 2, m.len - 2, pay, sizeof pay,
		                  &plen));
		uint8_t p2[33] = {0};
		p2[0] = versions[k];
		be64(p2 + 1, T0);
		cairn_buf_reset(&m);
		forge_write(&f, p2, sizes[k], &m);
		cairn_buf out;
		cairn_buf_init(&out, NULL);
		got g;
		got_init(&g);
		assert_int_equal(pump_buf(&li, &m, T0, &out, &g), errs[k]);
		assert_int_equal(g.closes, 1);
		assert_int_equal(out.len, 0);
		got_free(&g);
		cairn_buf_free(&out);
		cairn__link_wipe(&li);
		cairn__hs_wipe(&f);
	}
	/* m3 with a payload one byte short, to a real responder: CLOSED
	 * (it has spoken), EDECODE. */
	cairn_buf_reset(&m);
	forge_init(&f, true, &id_i, &mesh, 0x36);
	uint8_t v1[10] = {1, 0};
	be64(v1 + 2, T0);
	forge_write(&f, v1, sizeof v1, &m);
	OK(cairn__link_init(&r, CAIRN__LINK_RESPONDER, &cr, T0));
	cairn_buf m2;
	cairn_buf_init(&m2, NULL);
	got g;
	got_init(&g);
	OK(pump_buf(&r, &m, T0, &m2, &g));
	uint8_t pay[64];
	size_t plen = 0;
	OK(cairn__hs_read(&f, m2.data + 2, m2.len - 2, pay, sizeof pay, &plen));
	assert_int_equal(plen, 33);
	forge_write(&f, pay, 27, &m);
	assert_int_equal(pump_buf(&r, &m, T0, &m2, &g), CAIRN_EDECODE);
	assert_int_equal(g.closes, 1);
	assert_int_equal(g.drops, 0);
	assert_non_null(strstr(g.reason, "third message payload"));
	got_free(&g);
	cairn_buf_free(&m2);
	cairn__link_wipe(&r);
	cairn__hs_wipe(&f);
	cairn_buf_free(&m);
}

/* The Noise core's own refusals: turns, sizes, low-order points. */
static void test_noise_core(void **state)
{
	(void)state;
	cairn__hs hi, hr;
	const uint8_t *psk = mesh.bytes;
	assert_int_equal(cairn__hs_init(&hi, true, 1, "", 0, psk, &id_i),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn__hs_init(&hi, true, 0, NULL, 3, psk, &id_i),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn__hs_init(&hi, true, 0, "", 0, NULL, &id_i),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn__hs_overhead(0), 0);
	assert_int_equal(cairn__hs_overhead(4), 0);
	OK(cairn__hs_init(&hi, true, 0, "p", 1, psk, &id_i));
	OK(cairn__hs_init(&hr, false, 0, "p", 1, psk, &id_r));
	uint8_t msg[256], pay[256];
	size_t n = 0, pn = 0;
	/* Out of turn, too small a buffer, split too early. */
	assert_int_equal(cairn__hs_write(&hr, pay, 0, msg, sizeof msg, &n),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn__hs_read(&hi, msg, 48, pay, sizeof pay, &pn),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn__hs_write(&hi, pay, 10, msg, 57, &n),
	                 CAIRN_EINVAL);
	uint8_t k1[32], k2[32];
	assert_int_equal(cairn__hs_split(&hi, k1, k2), CAIRN_EINVAL);
	OK(cairn__hs_write(&hi, pay, 10, msg, sizeof msg, &n));
	assert_int_equal(n, 58);
	assert_int_equal(cairn__hs_read(&hr, msg, n, pay, 9, &pn),
	                 CAIRN_EINVAL); /* no room: nothing changed */
	cairn__hs copy = hr;
	assert_int_equal(cairn__hs_read(&copy, msg, 47, pay, sizeof pay, &pn),
	                 CAIRN_EDECODE); /* shorter than its overhead */
	OK(cairn__hs_read(&hr, msg, n, pay, sizeof pay, &pn));
	assert_int_equal(pn, 10);

	/* A low-order ephemeral from the initiator: the responder cannot
	 * write m2 (ee is all zeros). */
	copy = hr;
	memset(copy.re, 0, sizeof copy.re);
	assert_int_equal(cairn__hs_write(&copy, pay, 0, msg, sizeof msg, &n),
	                 CAIRN_EDECODE);
	/* A low-order ephemeral in m2: the initiator refuses it. */
	copy = hi;
	memset(msg, 0, 96);
	assert_int_equal(cairn__hs_read(&copy, msg, 96, pay, sizeof pay, &pn),
	                 CAIRN_EDECODE);
	cairn__hs_wipe(&copy);
	cairn__hs_wipe(&hi);
	cairn__hs_wipe(&hr);

	/* The same through a link: an m2 whose e is the zero point. */
	pair p;
	pair_init(&p);
	OK(cairn__link_start(&p.i, &p.to_r));
	uint8_t m2[131] = {0, 129};
	got g;
	got_init(&g);
	assert_int_equal(pump(&p.i, m2, sizeof m2, T0, &p.to_r, &g),
	                 CAIRN_EDECODE);
	assert_int_equal(g.closes, 1);
	got_free(&g);
	pair_free(&p);
}

static void test_bad_m2_m3(void **state)
{
	(void)state;
	/* Every byte of m2 (after the prefix), flipped: the initiator
	 * refuses with a clear error and sends no m3. */
	for (size_t at = 2; at < 131; at += 7) {
		pair p;
		pair_init(&p);
		got gi, gr;
		got_init(&gi);
		got_init(&gr);
		OK(cairn__link_start(&p.i, &p.to_r));
		OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &gr));
		p.to_i.data[at] ^= 0x40;
		assert_int_equal(pump_buf(&p.i, &p.to_i, T0, &p.to_r, &gi),
		                 CAIRN_EDECODE);
		assert_int_equal(gi.closes, 1);
		assert_int_equal(p.to_r.len, 0);
		assert_non_null(strstr(gi.reason, "second message"));
		got_free(&gi);
		got_free(&gr);
		pair_free(&p);
	}
	/* A bad length prefix on m2. */
	pair p;
	pair_init(&p);
	got g;
	got_init(&g);
	OK(cairn__link_start(&p.i, &p.to_r));
	static const uint8_t zero_len[2] = {0, 0};
	assert_int_equal(pump(&p.i, zero_len, 2, T0, &p.to_r, &g),
	                 CAIRN_EDECODE);
	assert_int_equal(g.closes, 1);
	got_free(&g);
	pair_free(&p);

	/* A damaged m3: the responder has spoken already, so it is CLOSED,
	 * not DROP. */
	for (size_t at = 2; at < 94; at += 13) {
		pair_init(&p);
		got gi, gr;
		got_init(&gi);
		got_init(&gr);
		OK(cairn__link_start(&p.i, &p.to_r));
		OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &gr));
		OK(pump_buf(&p.i, &p.to_i, T0, &p.to_r, &gi));
		p.to_r.data[at] ^= 1;
		assert_int_equal(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &gr),
		                 CAIRN_EDECODE);
		assert_int_equal(gr.closes, 1);
		assert_int_equal(gr.drops, 0);
		assert_int_equal(gr.handshakes, 0);
		got_free(&gi);
		got_free(&gr);
		pair_free(&p);
	}
}

static void test_replayed_m1(void **state)
{
	(void)state;
	cairn__replay rc;
	OK(cairn__replay_init(&rc, 16, NULL));
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	cr.replay = &rc;

	/* Garbage and a wrong mesh key take no place in the cache: the
	 * real m1 afterwards is accepted. */
	pair p;
	pair_init_cfg(&p, &ci, &cr);
	OK(cairn__link_start(&p.i, &p.to_r));
	cairn_buf m1;
	cairn_buf_init(&m1, NULL);
	OK(cairn_buf_append(&m1, p.to_r.data, p.to_r.len));
	cairn__link_config bad = cr;
	bad.mesh_key = &other_mesh;
	cairn__link r2;
	OK(cairn__link_init(&r2, CAIRN__LINK_RESPONDER, &bad, T0));
	expect_drop(&r2, m1.data, m1.len, T0, CAIRN_EDECODE);
	cairn__link_wipe(&r2);
	assert_int_equal(rc.count, 0);

	got g;
	got_init(&g);
	OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &g));
	assert_int_equal(p.to_i.len, 131);
	assert_int_equal(rc.count, 1);

	/* The same m1 on another connection: silence. */
	OK(cairn__link_init(&r2, CAIRN__LINK_RESPONDER, &cr, T0 + 1000));
	expect_drop(&r2, m1.data, m1.len, T0 + 1000, CAIRN_EPOLICY);
	assert_non_null(strstr(r2.reason, "replayed"));
	cairn__link_wipe(&r2);

	/* The original handshake still completes. */
	OK(pump_buf(&p.i, &p.to_i, T0, &p.to_r, &g));
	OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &g));
	assert_int_equal(g.handshakes, 2);
	got_free(&g);
	cairn_buf_free(&m1);
	pair_free(&p);
	cairn__replay_free(&rc);
}

static void test_rate_limit(void **state)
{
	(void)state;
	cairn__ratelimit rl;
	OK(cairn__ratelimit_init(&rl, NULL, NULL)); /* 20/s, burst 5 */
	static const uint8_t addr_a[4] = {192, 168, 1, 10};
	static const uint8_t addr_b[4] = {192, 168, 1, 11};
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	cr.ratelimit = &rl;
	cr.peer_addr = addr_a;
	cr.peer_addr_len = sizeof addr_a;

	/* Five handshakes from A at once are answered, the sixth is not;
	 * B is not affected; 50 ms later A has earned one more. */
	const struct {
		const uint8_t *addr;
		uint64_t now;
		bool ok;
	} steps[] = {
	        {addr_a, T0, true},        {addr_a, T0, true},
	        {addr_a, T0, true},        {addr_a, T0, true},
	        {addr_a, T0, true},        {addr_a, T0, false},
	        {addr_b, T0, true},        {addr_a, T0 + 49, false},
	        {addr_a, T0 + 100, true},  {addr_a, T0 + 100, true},
	        {addr_a, T0 + 100, false},
	};
	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		cr.peer_addr = steps[k].addr;
		pair p;
		pair_init_cfg(&p, &ci, &cr);
		OK(cairn__link_start(&p.i, &p.to_r));
		if (steps[k].ok) {
			got g;
			got_init(&g);
			OK(pump_buf(&p.r, &p.to_r, steps[k].now, &p.to_i, &g));
			assert_int_equal(p.to_i.len, 131);
			got_free(&g);
		} else {
			/* Refused at the first byte, before any crypto. */
			expect_drop(&p.r, p.to_r.data, 1, steps[k].now,
			            CAIRN_ELIMIT);
			assert_non_null(strstr(p.r.reason, "rate limit"));
		}
		pair_free(&p);
	}

	/* A connection is charged once, however its bytes arrive. */
	cr.peer_addr = addr_b;
	pair p;
	pair_init_cfg(&p, &ci, &cr);
	OK(cairn__link_start(&p.i, &p.to_r));
	got g;
	got_init(&g);
	for (size_t k = 0; k < p.to_r.len; k++)
		OK(pump(&p.r, p.to_r.data + k, 1, T0, &p.to_i, &g));
	assert_int_equal(p.to_i.len, 131);
	got_free(&g);
	pair_free(&p);
	for (int k = 0; k < 3; k++) /* B used 2 of 5 */
		assert_true(cairn__ratelimit_allow(&rl, addr_b, 4, T0));
	assert_false(cairn__ratelimit_allow(&rl, addr_b, 4, T0));
	cairn__ratelimit_free(&rl);
}

/* ------------------------------------------------------------------------ */
/* The replay cache and the rate limiter on their own                       */
/* ------------------------------------------------------------------------ */

static void key_of(uint32_t n, uint8_t out[32])
{
	memset(out, 0, 32);
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(n >> (8 * i));
	out[31] = 0xEE;
}

static void test_replay_cache(void **state)
{
	(void)state;
	cairn__replay rc;
	assert_int_equal(cairn__replay_init(&rc, 0, NULL), CAIRN_EINVAL);
	assert_int_equal(
	        cairn__replay_init(&rc, CAIRN__REPLAY_MAX_CAPACITY + 1, NULL),
	        CAIRN_EINVAL);
	OK(cairn__replay_init(&rc, 3, NULL));
	uint8_t a[32], b[32], c[32], d[32];
	key_of(1, a);
	key_of(2, b);
	key_of(3, c);
	key_of(4, d);
	assert_false(cairn__replay_check_and_add(&rc, a));
	assert_false(cairn__replay_check_and_add(&rc, b));
	assert_false(cairn__replay_check_and_add(&rc, c));
	assert_true(cairn__replay_check_and_add(&rc, a));
	assert_true(cairn__replay_check_and_add(&rc, c));
	assert_false(cairn__replay_check_and_add(&rc, d)); /* forgets a */
	assert_true(cairn__replay_check_and_add(&rc, b));
	assert_true(cairn__replay_check_and_add(&rc, d));
	assert_false(cairn__replay_check_and_add(&rc, a)); /* forgets b */
	assert_false(cairn__replay_check_and_add(&rc, b)); /* forgets c */
	assert_true(cairn__replay_check_and_add(&rc, d));
	cairn__replay_free(&rc);
	cairn__replay_free(&rc); /* harmless twice */

	/* Against a model (a FIFO array) under many random operations, at
	 * several capacities, with keys drawn from a small set so that
	 * hits, misses and evictions all happen often. */
	const uint32_t caps[] = {1, 2, 7, 64, 100};
	for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
		uint32_t cap = caps[ci];
		OK(cairn__replay_init(&rc, cap, NULL));
		uint32_t model[128];
		uint32_t head = 0, count = 0;
		rng r;
		rng_seed(&r, 1000 + cap);
		for (int op = 0; op < 20000; op++) {
			uint32_t n = (uint32_t)rng_below(&r, 3 * cap + 2);
			bool in = false;
			for (uint32_t k = 0; k < count; k++)
				in |= model[(head + k) % cap] == n;
			uint8_t key[32];
			key_of(n, key);
			assert_int_equal(cairn__replay_check_and_add(&rc, key),
			                 in);
			if (!in) {
				if (count == cap) {
					head = (head + 1) % cap;
					count--;
				}
				model[(head + count) % cap] = n;
				count++;
			}
		}
		cairn__replay_free(&rc);
	}
}

static void test_ratelimit_unit(void **state)
{
	(void)state;
	cairn__ratelimit rl;
	cairn__ratelimit_config cfg;
	cairn__ratelimit_config_init(&cfg);
	assert_int_equal(cfg.per_second, 20);
	assert_int_equal(cfg.burst, 5);
	assert_int_equal(cfg.capacity, 4096);
	cfg.per_second = 0;
	assert_int_equal(cairn__ratelimit_init(&rl, &cfg, NULL), CAIRN_EINVAL);
	cfg.per_second = 1;
	cfg.burst = 0;
	assert_int_equal(cairn__ratelimit_init(&rl, &cfg, NULL), CAIRN_EINVAL);

	/* Burst 2 at 1 a second, 2 addresses remembered. */
	cfg.per_second = 1;
	cfg.burst = 2;
	cfg.capacity = 2;
	OK(cairn__ratelimit_init(&rl, &cfg, NULL));
	const uint8_t a[1] = {1}, b[1] = {2}, c[1] = {3};
	assert_true(cairn__ratelimit_allow(&rl, a, 1, 1000));
	assert_true(cairn__ratelimit_allow(&rl, a, 1, 1000));
	assert_false(cairn__ratelimit_allow(&rl, a, 1, 1999));
	assert_true(cairn__ratelimit_allow(&rl, a, 1, 2000)); /* 1 s: +1 */
	assert_false(cairn__ratelimit_allow(&rl, a, 1, 2000));
	/* A clock that steps back earns nothing (and breaks nothing). */
	assert_false(cairn__ratelimit_allow(&rl, a, 1, 500));
	assert_false(cairn__ratelimit_allow(&rl, a, 1, 2999));
	assert_true(cairn__ratelimit_allow(&rl, a, 1, 3000));
	/* A long gap fills the bucket to burst, not beyond. */
	assert_true(cairn__ratelimit_allow(&rl, a, 1, UINT64_MAX / 2));
	assert_true(cairn__ratelimit_allow(&rl, a, 1, UINT64_MAX / 2));
	assert_false(cairn__ratelimit_allow(&rl, a, 1, UINT64_MAX / 2));
	/* b, then c: the table holds 2, so the stalest (a) is forgotten,
	 * and comes back with a full bucket. */
	assert_true(cairn__ratelimit_allow(&rl, b, 1, 4000));
	assert_true(cairn__ratelimit_allow(&rl, b, 1, 4000));
	assert_false(cairn__ratelimit_allow(&rl, b, 1, 4000));
	assert_true(cairn__ratelimit_allow(&rl, c, 1, 4000));
	assert_true(cairn__ratelimit_allow(&rl, a, 1, 4000)); /* new again */
	assert_true(cairn__ratelimit_allow(&rl, a, 1, 4000)); /* forgot b */
	assert_true(cairn__ratelimit_allow(&rl, b, 1, 4000));
	/* Keys differ by length too; an empty key is a key. */
	const uint8_t a2[2] = {1, 0};
	assert_true(cairn__ratelimit_allow(&rl, a2, 2, 4000));
	assert_true(cairn__ratelimit_allow(&rl, NULL, 0, 4000));
	cairn__ratelimit_free(&rl);

	/* Against a model at a few capacities: random addresses from a
	 * set larger than the table, random clock steps. */
	const uint32_t caps[] = {1, 3, 16, 50};
	for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
		cfg.per_second = 20;
		cfg.burst = 5;
		cfg.capacity = caps[ci];
		OK(cairn__ratelimit_init(&rl, &cfg, NULL));
		struct {
			uint32_t addr;
			uint64_t tokens, last, used;
		} model[64];
		uint32_t n = 0;
		uint64_t now = 5000, tick = 0;
		rng r;
		rng_seed(&r, 77 + caps[ci]);
		for (int op = 0; op < 20000; op++) {
			now += rng_below(&r, 40);
			uint32_t addr =
			        (uint32_t)rng_below(&r, 2 * caps[ci] + 3);
			uint8_t key[4] = {(uint8_t)addr, (uint8_t)(addr >> 8),
			                  9, 9};
			uint32_t k = 0;
			while (k < n && model[k].addr != addr)
				k++;
			bool want;
			if (k < n) {
				uint64_t t = model[k].tokens;
				if (now > model[k].last) {
					t += (now - model[k].last) * 20;
					model[k].last = now;
				}
				if (t > 5000)
					t = 5000;
				want = t >= 1000;
				model[k].tokens = want ? t - 1000 : t;
			} else {
				if (n == caps[ci]) {
					uint32_t old = 0;
					for (uint32_t j = 1; j < n; j++)
						if (model[j].used <
						    model[old].used)
							old = j;
					model[old] = model[--n];
				}
				k = n++;
				model[k].addr = addr;
				model[k].tokens = 4000;
				model[k].last = now;
				want = true;
			}
			model[k].used = ++tick;
			assert_int_equal(
			        cairn__ratelimit_allow(&rl, key, 4, now), want);
		}
		cairn__ratelimit_free(&rl);
	}
}

/* ------------------------------------------------------------------------ */
/* Frames                                                                   */
/* ------------------------------------------------------------------------ */

/* Feed raw bytes to an established responder; expect a sticky error. */
static void expect_frame_error(pair *p, const uint8_t *bytes, size_t n, int err,
                               size_t msgs_before)
{
	got g;
	got_init(&g);
	assert_int_equal(pump(&p->r, bytes, n, T0, &p->to_i, &g), err);
	assert_int_equal(g.nmsg, msgs_before);
	assert_int_equal(g.closes, 1);
	assert_int_equal(g.err, err);
	/* Sticky: nothing more is ever delivered, nothing sealed. */
	cairn_buf more;
	cairn_buf_init(&more, NULL);
	OK(cairn__link_seal(&p->i, (const uint8_t *)"later", 5, &more));
	got g2;
	got_init(&g2);
	assert_int_equal(pump(&p->r, more.data, more.len, T0, &p->to_i, &g2),
	                 err);
	assert_int_equal(g2.nmsg, 0);
	assert_int_equal(
	        cairn__link_seal(&p->r, (const uint8_t *)"x", 1, &more), err);
	assert_int_equal(cairn__link_close(&p->r, &more), err);
	cairn__link_event ev;
	assert_int_equal(cairn__link_eof(&p->r, &ev), err);
	assert_int_equal(ev.type, CAIRN__LINK_EV_CLOSED);
	cairn_buf_free(&more);
	got_free(&g);
	got_free(&g2);
}

static void seal_str(pair *p, const char *s, cairn_buf *out)
{
	OK(cairn__link_seal(&p->i, (const uint8_t *)s, strlen(s), out));
}

static void test_frame_tampered(void **state)
{
	(void)state;
	/* Any single bit of a frame, length field included, flipped. */
	for (size_t at = 0; at < 4 + 17 + 5; at++) {
		for (int bit = 0; bit < 8; bit += 3) {
			pair p;
			pair_init(&p);
			pair_handshake(&p);
			cairn_buf f;
			cairn_buf_init(&f, NULL);
			seal_str(&p, "first", &f);
			seal_str(&p, "hello", &f);
			size_t second = f.len / 2;
			f.data[second + at] ^= (uint8_t)(1u << bit);
			uint32_t len = (uint32_t)f.data[second] << 24 |
			               (uint32_t)f.data[second + 1] << 16 |
			               (uint32_t)f.data[second + 2] << 8 |
			               f.data[second + 3];
			int err = len > CAIRN__LINK_FRAME_MAX ? CAIRN_ELIMIT
			                                      : CAIRN_EDECODE;
			got g;
			got_init(&g);
			int rc = pump(&p.r, f.data, f.len, T0, &p.to_i, &g);
			/* A longer length waits for more bytes: the cut is
			 * found at the end of the connection. */
			if (rc == 0 && len > 22) {
				cairn__link_event ev;
				rc = cairn__link_eof(&p.r, &ev);
			}
			assert_int_equal(rc, err);
			assert_int_equal(g.nmsg, 1);
			got_free(&g);
			cairn_buf_free(&f);
			pair_free(&p);
		}
	}
}

static void test_frame_replayed_reordered(void **state)
{
	(void)state;
	pair p;
	pair_init(&p);
	pair_handshake(&p);
	cairn_buf f1, f2;
	cairn_buf_init(&f1, NULL);
	cairn_buf_init(&f2, NULL);
	seal_str(&p, "one", &f1);
	seal_str(&p, "two", &f2);
	got g;
	got_init(&g);
	OK(pump(&p.r, f1.data, f1.len, T0, &p.to_i, &g));
	assert_int_equal(g.nmsg, 1);
	got_free(&g);
	/* Replayed: the same frame again. */
	expect_frame_error(&p, f1.data, f1.len, CAIRN_EDECODE, 0);
	assert_non_null(strstr(p.r.reason, "replayed"));
	pair_free(&p);

	/* Reordered: the second before the first. */
	pair_init(&p);
	pair_handshake(&p);
	cairn_buf_reset(&f1);
	cairn_buf_reset(&f2);
	seal_str(&p, "one", &f1);
	seal_str(&p, "two", &f2);
	expect_frame_error(&p, f2.data, f2.len, CAIRN_EDECODE, 0);
	pair_free(&p);

	/* A frame of the other direction (its own key) reflected back. */
	pair_init(&p);
	pair_handshake(&p);
	cairn_buf_reset(&f1);
	OK(cairn__link_seal(&p.r, (const uint8_t *)"echo", 4, &f1));
	expect_frame_error(&p, f1.data, f1.len, CAIRN_EDECODE, 0);
	pair_free(&p);
	cairn_buf_free(&f1);
	cairn_buf_free(&f2);
}

static void test_frame_truncated(void **state)
{
	(void)state;
	/* Cut in the middle of a frame: the end of the connection says
	 * so. Cut at a frame boundary without FINAL: also an error. */
	pair p;
	pair_init(&p);
	pair_handshake(&p);
	cairn_buf f;
	cairn_buf_init(&f, NULL);
	seal_str(&p, "whole", &f);
	seal_str(&p, "cut short", &f);
	got g;
	got_init(&g);
	OK(pump(&p.r, f.data, f.len - 1, T0, &p.to_i, &g));
	assert_int_equal(g.nmsg, 1);
	cairn__link_event ev;
	assert_int_equal(cairn__link_eof(&p.r, &ev), CAIRN_EDECODE);
	assert_int_equal(ev.type, CAIRN__LINK_EV_CLOSED);
	assert_non_null(strstr(ev.reason, "middle of frame 1"));
	got_free(&g);
	pair_free(&p);

	pair_init(&p);
	pair_handshake(&p);
	cairn_buf_reset(&f);
	seal_str(&p, "whole", &f);
	got_init(&g);
	OK(pump(&p.r, f.data, f.len, T0, &p.to_i, &g));
	assert_int_equal(cairn__link_eof(&p.r, &ev), CAIRN_EDECODE);
	assert_non_null(strstr(ev.reason, "without a final frame"));
	got_free(&g);
	pair_free(&p);

	/* Cut inside the length field. */
	pair_init(&p);
	pair_handshake(&p);
	got_init(&g);
	OK(pump(&p.r, f.data, 2, T0, &p.to_i, &g));
	assert_int_equal(cairn__link_eof(&p.r, &ev), CAIRN_EDECODE);
	got_free(&g);
	pair_free(&p);

	/* Cut during the handshake, either side. */
	pair_init(&p);
	OK(cairn__link_start(&p.i, &p.to_r));
	got_init(&g);
	OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &g));
	assert_int_equal(cairn__link_eof(&p.r, &ev), CAIRN_EDECODE);
	assert_int_equal(ev.type, CAIRN__LINK_EV_CLOSED); /* it had spoken */
	got_free(&g);
	pair_free(&p);
	cairn_buf_free(&f);
}

/* The lengths no frame may have, and none may make the link allocate. */
static void test_frame_lengths(void **state)
{
	(void)state;
	const struct {
		uint32_t len;
		int err;
	} cases[] = {
	        {0, CAIRN_EDECODE},
	        {1, CAIRN_EDECODE},
	        {16, CAIRN_EDECODE},
	        {0xFFFFFFFFu, CAIRN_ELIMIT},
	        {0x80000000u, CAIRN_ELIMIT},
	        {CAIRN__LINK_FRAME_MAX + 1, CAIRN_ELIMIT},
	        {1000 + 1, CAIRN_ELIMIT}, /* with a cap of 1000 */
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		fail_alloc fa;
		memset(&fa, 0, sizeof fa);
		cairn__link_config ci = config(&id_i, &mesh);
		cairn__link_config cr = config(&id_r, &mesh);
		cr.allocator = fail_alloc_allocator(&fa);
		if (k == sizeof cases / sizeof cases[0] - 1) {
			ci.frame_cap = 1000;
			cr.frame_cap = 1000;
		}
		pair p;
		pair_init_cfg(&p, &ci, &cr);
		pair_handshake(&p);
		uint8_t bytes[4 + 64] = {0};
		bytes[0] = (uint8_t)(cases[k].len >> 24);
		bytes[1] = (uint8_t)(cases[k].len >> 16);
		bytes[2] = (uint8_t)(cases[k].len >> 8);
		bytes[3] = (uint8_t)cases[k].len;
		/* Byte by byte, so that nothing could be opened in place. */
		got g;
		got_init(&g);
		int rc = 0;
		for (size_t b = 0; b < sizeof bytes && rc == 0; b++)
			rc = pump(&p.r, bytes + b, 1, T0, &p.to_i, &g);
		assert_int_equal(rc, cases[k].err);
		assert_int_equal(g.closes, 1);
		assert_int_equal(fa.calls, 0); /* nothing was allocated */
		got_free(&g);
		pair_free(&p);
	}

	/* A frame that announces the largest length but sends little
	 * costs what it sent, not what it announced. */
	{
		fail_alloc fa;
		memset(&fa, 0, sizeof fa);
		cairn__link_config ci = config(&id_i, &mesh);
		cairn__link_config cr = config(&id_r, &mesh);
		cr.allocator = fail_alloc_allocator(&fa);
		pair p;
		pair_init_cfg(&p, &ci, &cr);
		pair_handshake(&p);
		uint8_t bytes[4 + 100] = {0, 0x10, 0, 0}; /* 2^20 */
		got g;
		got_init(&g);
		OK(pump(&p.r, bytes, sizeof bytes, T0, &p.to_i, &g));
		assert_true(fa.peak_bytes <= 256);
		uint8_t more[5000] = {0};
		OK(pump(&p.r, more, sizeof more, T0, &p.to_i, &g));
		assert_true(fa.peak_bytes <= 2 * (100 + 5000));
		assert_true(p.r.ct_cap < 2 * (100 + 5000));
		got_free(&g);
		pair_free(&p);
		assert_int_equal(fa.live_bytes, 0);
	}

	/* The largest message fits exactly; one more byte does not. */
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	ci.frame_cap = cr.frame_cap = 1000;
	pair p;
	pair_init_cfg(&p, &ci, &cr);
	pair_handshake(&p);
	assert_int_equal(cairn__link_max_message(&p.i), 1000 - 17);
	uint8_t big[1000];
	message(big, sizeof big, 3);
	assert_int_equal(cairn__link_seal(&p.i, big, 1000 - 16, &p.to_r),
	                 CAIRN_ETOOBIG);
	assert_int_equal(p.to_r.len, 0);
	OK(cairn__link_seal(&p.i, big, 1000 - 17, &p.to_r));
	got g;
	got_init(&g);
	OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &g));
	assert_int_equal(g.nmsg, 1);
	assert_int_equal(g.lens[0], 1000 - 17);
	assert_memory_equal(g.data.data, big, 1000 - 17);
	got_free(&g);
	pair_free(&p);

	/* A sender with a larger cap than its receiver: refused whole. */
	ci.frame_cap = 2000;
	pair_init_cfg(&p, &ci, &cr);
	pair_handshake(&p);
	uint8_t big2[1500];
	message(big2, sizeof big2, 4);
	OK(cairn__link_seal(&p.i, big2, sizeof big2, &p.to_r));
	expect_frame_error(&p, p.to_r.data, p.to_r.len, CAIRN_ELIMIT, 0);
	pair_free(&p);
}

/* Frames sealed by hand from a copy of the sender's stream state. */
static void test_frame_tags(void **state)
{
	(void)state;
	const unsigned char tags[2] = {
	        crypto_secretstream_xchacha20poly1305_TAG_PUSH,
	        crypto_secretstream_xchacha20poly1305_TAG_FINAL};
	for (int k = 0; k < 2; k++) {
		pair p;
		pair_init(&p);
		pair_handshake(&p);
		crypto_secretstream_xchacha20poly1305_state st = p.i.tx;
		uint8_t frame[4 + 17 + 3];
		frame[0] = frame[1] = frame[2] = 0;
		frame[3] = 17 + 3;
		crypto_secretstream_xchacha20poly1305_push(
		        &st, frame + 4, NULL, (const uint8_t *)"abc", 3, frame,
		        4, tags[k]);
		/* An unknown tag, and a FINAL that carries bytes. */
		expect_frame_error(&p, frame, sizeof frame, CAIRN_EDECODE, 0);
		pair_free(&p);
	}
}

static void test_final(void **state)
{
	(void)state;
	pair p;
	pair_init(&p);
	pair_handshake(&p);
	seal_str(&p, "last words", &p.to_r);
	OK(cairn__link_close(&p.i, &p.to_r));
	assert_int_equal(cairn__link_close(&p.i, &p.to_r), CAIRN_EINVAL);
	assert_int_equal(
	        cairn__link_seal(&p.i, (const uint8_t *)"x", 1, &p.to_r),
	        CAIRN_EINVAL);
	got g;
	got_init(&g);
	OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &g));
	assert_int_equal(g.nmsg, 1);
	assert_int_equal(g.clean_closes, 1);
	assert_int_equal(g.closes, 0);
	cairn__link_event ev;
	OK(cairn__link_eof(&p.r, &ev)); /* a clean end */
	assert_int_equal(ev.type, CAIRN__LINK_EV_NONE);

	/* Half-closed: the responder may still send, and close in turn;
	 * the initiator reads both. */
	OK(cairn__link_seal(&p.r, (const uint8_t *)"bye", 3, &p.to_i));
	OK(cairn__link_close(&p.r, &p.to_i));
	got gi;
	got_init(&gi);
	OK(pump_buf(&p.i, &p.to_i, T0, &p.to_r, &gi));
	assert_int_equal(gi.nmsg, 1);
	assert_int_equal(gi.clean_closes, 1);
	OK(cairn__link_eof(&p.i, &ev));

	/* Anything after FINAL is an error. */
	uint8_t extra[4] = {0, 0, 0, 20};
	size_t used;
	assert_int_equal(
	        cairn__link_feed(&p.r, extra, 4, T0, &p.to_i, &used, &ev),
	        CAIRN_EDECODE);
	assert_int_equal(ev.type, CAIRN__LINK_EV_CLOSED);
	assert_non_null(strstr(ev.reason, "after the final frame"));
	got_free(&g);
	got_free(&gi);
	pair_free(&p);

	/* A frame right behind FINAL in the same buffer: the FINAL is
	 * reported, then the frame is an error and never delivered. */
	pair_init(&p);
	pair_handshake(&p);
	cairn_buf f;
	cairn_buf_init(&f, NULL);
	OK(cairn__link_close(&p.i, &f));
	crypto_secretstream_xchacha20poly1305_state st;
	memset(&st, 0, sizeof st);
	got_init(&g);
	uint8_t junk[4 + 17 + 2] = {0, 0, 0, 19};
	OK(cairn_buf_append(&f, junk, sizeof junk));
	assert_int_equal(pump(&p.r, f.data, f.len, T0, &p.to_i, &g),
	                 CAIRN_EDECODE);
	assert_int_equal(g.clean_closes, 1);
	assert_int_equal(g.nmsg, 0);
	got_free(&g);
	cairn_buf_free(&f);
	pair_free(&p);

	/* Closing is only for an established link. */
	pair_init(&p);
	assert_int_equal(cairn__link_close(&p.i, &p.to_r), CAIRN_EINVAL);
	pair_free(&p);
}

/* ------------------------------------------------------------------------ */
/* Input in pieces                                                          */
/* ------------------------------------------------------------------------ */

static void test_byte_by_byte(void **state)
{
	(void)state;
	pair p;
	pair_init(&p);
	got gi, gr;
	got_init(&gi);
	got_init(&gr);
	/* The handshake one byte at a time... */
	OK(cairn__link_start(&p.i, &p.to_r));
	for (size_t k = 0; k < p.to_r.len; k++)
		OK(pump(&p.r, p.to_r.data + k, 1, T0, &p.to_i, &gr));
	cairn_buf_reset(&p.to_r);
	for (size_t k = 0; k < p.to_i.len; k++)
		OK(pump(&p.i, p.to_i.data + k, 1, T0, &p.to_r, &gi));
	cairn_buf_reset(&p.to_i);
	/* ... m3 and 60 frames behind it, to the responder, too. */
	uint8_t m[3000];
	for (uint32_t k = 0; k < 60; k++) {
		size_t n = (k * 97u) % sizeof m;
		message(m, n, k);
		OK(cairn__link_seal(&p.i, m, n, &p.to_r));
	}
	OK(cairn__link_close(&p.i, &p.to_r));
	for (size_t k = 0; k < p.to_r.len; k++)
		OK(pump(&p.r, p.to_r.data + k, 1, T0, &p.to_i, &gr));
	assert_int_equal(gi.handshakes, 1);
	assert_int_equal(gr.handshakes, 1);
	assert_int_equal(gr.nmsg, 60);
	assert_int_equal(gr.clean_closes, 1);
	size_t at = 0;
	for (uint32_t k = 0; k < 60; k++) {
		size_t n = (k * 97u) % sizeof m;
		message(m, n, k);
		assert_int_equal(gr.lens[k], n);
		assert_memory_equal(gr.data.data + at, m, n);
		at += n;
	}
	/* Buffers never grow past the largest frame. */
	assert_true(p.r.ct_cap <= 4096);
	got_free(&gi);
	got_free(&gr);
	pair_free(&p);
}

/*
 * Every split point: the responder's whole input (m1, then later m3 and
 * frames) delivered in two pieces, cut at every offset, gives the same
 * events and the same m2 as delivering it whole.
 */
static void test_split_everywhere(void **state)
{
	(void)state;
	/* m1 at every offset. */
	pair base;
	pair_init(&base);
	OK(cairn__link_start(&base.i, &base.to_r));
	cairn_buf m1, m2_whole;
	cairn_buf_init(&m1, NULL);
	cairn_buf_init(&m2_whole, NULL);
	OK(cairn_buf_append(&m1, base.to_r.data, base.to_r.len));
	cairn_buf_reset(&base.to_r);
	got g;
	got_init(&g);
	OK(pump(&base.r, m1.data, m1.len, T0, &m2_whole, &g));
	got_free(&g);
	for (size_t cut = 0; cut <= m1.len; cut++) {
		pair p;
		pair_init(&p);
		cairn_buf out;
		cairn_buf_init(&out, NULL);
		got_init(&g);
		OK(pump(&p.r, m1.data, cut, T0, &out, &g));
		OK(pump(&p.r, m1.data + cut, m1.len - cut, T0, &out, &g));
		assert_int_equal(out.len, m2_whole.len);
		assert_memory_equal(out.data, m2_whole.data, out.len);
		got_free(&g);
		cairn_buf_free(&out);
		pair_free(&p);
	}

	/* m3 and frames of several sizes (one empty, one in the FINAL) at
	 * every offset, into a fresh copy of the same responder. */
	OK(pump(&base.i, m2_whole.data, m2_whole.len, T0, &base.to_r, &g));
	static const size_t sizes[] = {5, 0, 300, 1, 40};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		uint8_t m[300];
		message(m, sizes[k], (uint32_t)k);
		OK(cairn__link_seal(&base.i, m, sizes[k], &base.to_r));
	}
	OK(cairn__link_close(&base.i, &base.to_r));
	cairn_buf stream;
	cairn_buf_init(&stream, NULL);
	OK(cairn_buf_append(&stream, base.to_r.data, base.to_r.len));
	for (size_t cut = 0; cut <= stream.len; cut++) {
		for (int three = 0; three < 2; three++) {
			/* base.r has no buffers yet: a copy is independent. */
			cairn__link r = base.r;
			cairn_buf out;
			cairn_buf_init(&out, NULL);
			got_init(&g);
			size_t cut2 =
			        three ? cut + (stream.len - cut) / 2 : cut;
			OK(pump(&r, stream.data, cut, T0, &out, &g));
			OK(pump(&r, stream.data + cut, cut2 - cut, T0, &out,
			        &g));
			OK(pump(&r, stream.data + cut2, stream.len - cut2, T0,
			        &out, &g));
			assert_int_equal(g.handshakes, 1);
			assert_int_equal(g.nmsg, 5);
			assert_int_equal(g.clean_closes, 1);
			size_t at = 0;
			for (size_t k = 0; k < 5; k++) {
				uint8_t m[300];
				message(m, sizes[k], (uint32_t)k);
				assert_int_equal(g.lens[k], sizes[k]);
				if (sizes[k])
					assert_memory_equal(g.data.data + at, m,
					                    sizes[k]);
				at += sizes[k];
			}
			got_free(&g);
			cairn_buf_free(&out);
			cairn__link_wipe(&r);
		}
	}
	cairn_buf_free(&stream);
	cairn_buf_free(&m1);
	cairn_buf_free(&m2_whole);
	pair_free(&base);
}

/* ------------------------------------------------------------------------ */
/* Rekeying                                                                 */
/* ------------------------------------------------------------------------ */

static void rekey_run(uint64_t frames, uint64_t bytes, size_t count,
                      uint64_t want_rekeys)
{
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	ci.rekey_frames = cr.rekey_frames = frames;
	ci.rekey_bytes = cr.rekey_bytes = bytes;
	pair p;
	pair_init_cfg(&p, &ci, &cr);
	pair_handshake(&p);
	got g;
	got_init(&g);
	uint8_t m[200];
	rng r;
	rng_seed(&r, frames ^ bytes);
	for (uint32_t k = 0; k < count; k++) {
		size_t n = (size_t)rng_below(&r, sizeof m);
		message(m, n, k);
		OK(cairn__link_seal(&p.i, m, n, &p.to_r));
		/* Deliver in bursts of a few frames. */
		if (k % 7 == 6 || k + 1 == count)
			OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &g));
	}
	assert_int_equal(g.nmsg, count);
	assert_int_equal(p.i.rekeys_sent, want_rekeys);
	assert_int_equal(p.r.rekeys_received, want_rekeys);
	assert_int_equal(p.r.frames_received, count);
	/* And the other way, after all that. */
	OK(cairn__link_seal(&p.r, (const uint8_t *)"ok", 2, &p.to_i));
	got gi;
	got_init(&gi);
	OK(pump_buf(&p.i, &p.to_i, T0, &p.to_r, &gi));
	assert_int_equal(gi.nmsg, 1);
	got_free(&gi);
	got_free(&g);
	pair_free(&p);
}

static void test_rekey(void **state)
{
	(void)state;
	rekey_run(3, UINT64_MAX, 3000, 1000); /* every 3rd frame */
	rekey_run(1, UINT64_MAX, 50, 50);     /* every frame */
	rekey_run(CAIRN__LINK_REKEY_FRAMES, CAIRN__LINK_REKEY_BYTES, 500, 0);

	/* By bytes: frames of exactly 100 bytes (83 + 17), a threshold of
	 * 1,000 bytes: every 10th frame. */
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	ci.rekey_bytes = 1000;
	pair p;
	pair_init_cfg(&p, &ci, &cr);
	pair_handshake(&p);
	uint8_t m[79];
	message(m, sizeof m, 1);
	got g;
	got_init(&g);
	for (int k = 0; k < 100; k++)
		OK(cairn__link_seal(&p.i, m, sizeof m, &p.to_r));
	OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &g));
	assert_int_equal(g.nmsg, 100);
	assert_int_equal(p.i.rekeys_sent, 10);
	assert_int_equal(p.r.rekeys_received, 10);
	got_free(&g);
	pair_free(&p);
}

/* ------------------------------------------------------------------------ */
/* Allocation failure                                                       */
/* ------------------------------------------------------------------------ */

/*
 * The whole life of a pair of links, with every allocation of the links
 * and of the output buffers going through a failing allocator. Each
 * CAIRN_ENOMEM must leave things so that calling again succeeds; the
 * messages that arrive are exactly the ones sent.
 */
static int retry_feed(cairn__link *l, const uint8_t *bytes, size_t n,
                      cairn_buf *out, got *g, fail_alloc *fa, int *failures)
{
	size_t off = 0;
	for (;;) {
		cairn__link_event ev;
		size_t used = 0;
		int rc = cairn__link_feed(l, bytes + off, n - off, T0, out,
		                          &used, &ev);
		off += used;
		if (rc == CAIRN_ENOMEM) {
			assert_int_equal(ev.type, CAIRN__LINK_EV_NONE);
			(*failures)++;
			fail_alloc_disarm(fa);
			continue;
		}
		record(g, &ev);
		if (rc != 0)
			return rc;
		if (ev.type == CAIRN__LINK_EV_NONE)
			return 0;
		if (off == n && ev.type == CAIRN__LINK_EV_CLOSED)
			return 0;
	}
}

#define RETRY(call, fa, failures)                                              \
	do {                                                                   \
		int rc_;                                                       \
		while ((rc_ = (call)) == CAIRN_ENOMEM) {                       \
			(failures)++;                                          \
			fail_alloc_disarm(fa);                                 \
		}                                                              \
		OK(rc_);                                                       \
	} while (0)

static void alloc_scenario(fail_alloc *fa, uint64_t fail_at, bool persistent,
                           int *failures, uint64_t *calls)
{
	cairn_allocator a = fail_alloc_allocator(fa);
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	ci.allocator = a;
	cr.allocator = a;
	pair p;
	pair_init_cfg(&p, &ci, &cr);
	cairn_buf_free(&p.to_r);
	cairn_buf_free(&p.to_i);
	cairn_buf_init(&p.to_r, &a);
	cairn_buf_init(&p.to_i, &a);
	got g;
	got_init(&g);
	fail_alloc_arm(fa, fail_at, persistent);

	RETRY(cairn__link_start(&p.i, &p.to_r), fa, *failures);
	/* Fresh output buffers each time, so that every reservation of
	 * the links allocates (and may fail). */
	OK(retry_feed(&p.r, p.to_r.data, p.to_r.len, &p.to_i, &g, fa,
	              failures));
	cairn_buf_free(&p.to_r);
	OK(retry_feed(&p.i, p.to_i.data, p.to_i.len, &p.to_r, &g, fa,
	              failures));
	cairn_buf_free(&p.to_i);
	uint8_t m[2000];
	for (uint32_t k = 0; k < 6; k++) {
		message(m, 300u * k, k);
		RETRY(cairn__link_seal(&p.i, m, 300u * k, &p.to_r), fa,
		      *failures);
	}
	cairn_buf fin;
	cairn_buf_init(&fin, &a);
	RETRY(cairn__link_close(&p.i, &fin), fa, *failures);
	RETRY(cairn_buf_append(&p.to_r, fin.data, fin.len), fa, *failures);
	cairn_buf_free(&fin);
	/* In pieces of 250 bytes, so the frames are gathered (ct) as well
	 * as opened in place. */
	for (size_t off = 0; off < p.to_r.len; off += 250) {
		size_t n = p.to_r.len - off < 250 ? p.to_r.len - off : 250;
		OK(retry_feed(&p.r, p.to_r.data + off, n, &p.to_i, &g, fa,
		              failures));
	}
	assert_int_equal(g.handshakes, 2);
	assert_int_equal(g.nmsg, 6);
	assert_int_equal(g.clean_closes, 1);
	size_t at = 0;
	for (uint32_t k = 0; k < 6; k++) {
		message(m, 300u * k, k);
		assert_int_equal(g.lens[k], 300u * k);
		if (k)
			assert_memory_equal(g.data.data + at, m, 300u * k);
		at += 300u * k;
	}
	*calls = fa->calls;
	got_free(&g);
	pair_free(&p);
	assert_int_equal(fa->live_blocks, 0);
	assert_int_equal(fa->live_bytes, 0);
}

static void test_alloc_failure(void **state)
{
	(void)state;
	fail_alloc fa;
	memset(&fa, 0, sizeof fa);
	int failures = 0;
	uint64_t total = 0;
	alloc_scenario(&fa, 0, false, &failures, &total);
	assert_int_equal(failures, 0);
	assert_true(total > 0);
	for (int persistent = 0; persistent < 2; persistent++) {
		for (uint64_t n = 1; n <= total; n++) {
			int f = 0;
			uint64_t calls = 0;
			memset(&fa, 0, sizeof fa);
			alloc_scenario(&fa, n, persistent != 0, &f, &calls);
			assert_int_equal(f, 1);
		}
	}

	/* The shared objects: a failed init leaves nothing allocated. */
	for (uint64_t n = 1; n <= 2; n++) {
		memset(&fa, 0, sizeof fa);
		cairn_allocator a = fail_alloc_allocator(&fa);
		fail_alloc_arm(&fa, n, false);
		cairn__replay rc;
		assert_int_equal(cairn__replay_init(&rc, 100, &a),
		                 CAIRN_ENOMEM);
		assert_int_equal(fa.live_blocks, 0);
		fail_alloc_arm(&fa, n, false);
		cairn__ratelimit rl;
		assert_int_equal(cairn__ratelimit_init(&rl, NULL, &a),
		                 CAIRN_ENOMEM);
		assert_int_equal(fa.live_blocks, 0);
		fail_alloc_disarm(&fa);
		OK(cairn__replay_init(&rc, 100, &a));
		OK(cairn__ratelimit_init(&rl, NULL, &a));
		cairn__replay_free(&rc);
		cairn__ratelimit_free(&rl);
		assert_int_equal(fa.live_blocks, 0);
	}
}

/* ------------------------------------------------------------------------ */
/* Misuse, configuration, and libsodium's secretstream                      */
/* ------------------------------------------------------------------------ */

static void test_config(void **state)
{
	(void)state;
	cairn__link l;
	cairn__link_config c = config(&id_i, &mesh);
	assert_int_equal(cairn__link_init(&l, (cairn__link_role)7, &c, T0),
	                 CAIRN_EINVAL);
	cairn__link_wipe(&l);
	c.identity = NULL;
	assert_int_equal(cairn__link_init(&l, CAIRN__LINK_INITIATOR, &c, T0),
	                 CAIRN_EINVAL);
	c = config(&id_i, NULL);
	assert_int_equal(cairn__link_init(&l, CAIRN__LINK_INITIATOR, &c, T0),
	                 CAIRN_EINVAL);
	c = config(&id_i, &mesh);
	c.frame_cap = 16;
	assert_int_equal(cairn__link_init(&l, CAIRN__LINK_INITIATOR, &c, T0),
	                 CAIRN_EINVAL);
	c.frame_cap = CAIRN__LINK_FRAME_MAX + 1;
	assert_int_equal(cairn__link_init(&l, CAIRN__LINK_INITIATOR, &c, T0),
	                 CAIRN_EINVAL);
	c = config(&id_i, &mesh);
	c.rekey_frames = 0;
	assert_int_equal(cairn__link_init(&l, CAIRN__LINK_INITIATOR, &c, T0),
	                 CAIRN_EINVAL);
	c = config(&id_i, &mesh);
	c.peer_addr_len = CAIRN__RATELIMIT_KEY_MAX + 1;
	assert_int_equal(cairn__link_init(&l, CAIRN__LINK_RESPONDER, &c, T0),
	                 CAIRN_EINVAL);
	cairn__link_wipe(NULL);
	assert_int_equal(cairn__link_init(NULL, CAIRN__LINK_INITIATOR, &c, T0),
	                 CAIRN_EINVAL);
	c = config(&id_i, &mesh);
	OK(cairn__link_init(&l, CAIRN__LINK_INITIATOR, &c, T0));
	cairn__link_event ev;
	size_t used;
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	assert_int_equal(cairn__link_feed(&l, NULL, 1, T0, &out, &used, &ev),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn__link_seal(&l, NULL, 1, &out), CAIRN_EINVAL);
	assert_int_equal(cairn__link_close(NULL, &out), CAIRN_EINVAL);
	assert_int_equal(cairn__link_eof(&l, NULL), CAIRN_EINVAL);
	assert_int_equal(cairn__link_start(&l, NULL), CAIRN_EINVAL);
	cairn__link_wipe(&l);

	/* The smallest cap carries empty messages only. */
	cairn__link_config ci = config(&id_i, &mesh);
	cairn__link_config cr = config(&id_r, &mesh);
	ci.frame_cap = cr.frame_cap = 17;
	pair p;
	pair_init_cfg(&p, &ci, &cr);
	pair_handshake(&p);
	assert_int_equal(
	        cairn__link_seal(&p.i, (const uint8_t *)"x", 1, &p.to_r),
	        CAIRN_ETOOBIG);
	OK(cairn__link_seal(&p.i, NULL, 0, &p.to_r));
	got g;
	got_init(&g);
	OK(pump_buf(&p.r, &p.to_r, T0, &p.to_i, &g));
	assert_int_equal(g.nmsg, 1);
	got_free(&g);
	pair_free(&p);

	/* The wipe leaves no key behind. */
	pair_init(&p);
	pair_handshake(&p);
	cairn__link_wipe(&p.i);
	static const cairn__link zero;
	assert_memory_equal(&p.i, &zero, sizeof zero);
	pair_free(&p);
}

/*
 * link.c builds each sending state with init_pull on the header it
 * chose (so the responder can announce its header in m2, before the key
 * exists). That is sound only while init_push(key) and
 * init_pull(key, header) give the same state for the header init_push
 * drew; if a libsodium release changes that, this fails.
 */
static void test_secretstream_push_from_pull(void **state)
{
	(void)state;
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	for (int k = 0; k < 16; k++) {
		randombytes_buf(key, sizeof key);
		crypto_secretstream_xchacha20poly1305_state a, b;
		memset(&a, 0xAA, sizeof a);
		memset(&b, 0x55, sizeof b);
		OK(crypto_secretstream_xchacha20poly1305_init_push(&a, header,
		                                                   key));
		OK(crypto_secretstream_xchacha20poly1305_init_pull(&b, header,
		                                                   key));
		assert_memory_equal(&a, &b, sizeof a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_handshake_both_roles),
	        cmocka_unit_test(test_handshake_random),
	        cmocka_unit_test(test_wrong_mesh_key),
	        cmocka_unit_test(test_clock_skew),
	        cmocka_unit_test(test_versions),
	        cmocka_unit_test(test_noise_core),
	        cmocka_unit_test(test_bad_m2_m3),
	        cmocka_unit_test(test_replayed_m1),
	        cmocka_unit_test(test_rate_limit),
	        cmocka_unit_test(test_replay_cache),
	        cmocka_unit_test(test_ratelimit_unit),
	        cmocka_unit_test(test_frame_tampered),
	        cmocka_unit_test(test_frame_replayed_reordered),
	        cmocka_unit_test(test_frame_truncated),
	        cmocka_unit_test(test_frame_lengths),
	        cmocka_unit_test(test_frame_tags),
	        cmocka_unit_test(test_final),
	        cmocka_unit_test(test_byte_by_byte),
	        cmocka_unit_test(test_split_everywhere),
	        cmocka_unit_test(test_rekey),
	        cmocka_unit_test(test_alloc_failure),
	        cmocka_unit_test(test_config),
	        cmocka_unit_test(test_secretstream_push_from_pull),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
