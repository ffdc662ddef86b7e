/*
 * link.c -- the secure link (link_int.h, "The link"): the cairn handshake
 * on the Noise core, then sealed frames both ways. docs/PROTOCOL.md is
 * the wire format; this file is the state machine behind it.
 *
 * Handshake payloads (inside the Noise AEADs), all integers big-endian:
 *   m1 I->R  version u8 | flags u8 | unix ms u64                  10 bytes
 *   m2 R->I  version u8 | unix ms u64 | R's stream header (24)    33 bytes
 *   m3 I->R  I's stream header (24) | caps u32                    28 bytes
 *
 * After m3, each direction runs crypto_secretstream_xchacha20poly1305
 * under its Split() key and the header its sender chose. The responder
 * must put its header in m2, before Split() can be computed (the last DH
 * is in m3). libsodium's init_push always draws a fresh header, so the
 * sender chooses the header itself and builds its sending state with
 * init_pull on that header: both functions derive exactly the same state
 * from (key, header) -- init_push only adds the random draw -- and a unit
 * test (test_link.c, test_secretstream_push_from_pull) holds libsodium to
 * that. It also lets the golden vectors fix the headers.
 *
 * Why the responder is silent: until the initiator's m1 authenticates
 * under the mesh key, anything the responder sends would tell a prober
 * that a cairn node listens here (and m2 would hand it the responder's
 * identity, encrypted but linkable). So every failure up to then is a
 * DROP, and the cheap checks come first: the rate limit before any
 * cryptography, the AEAD of m1 (no Diffie-Hellman) before the two DH
 * operations of m2, and the replay cache last, so that only messages
 * which passed everything else take a place in it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "crdt_int.h"
#include "link_int.h"

/* feed() steps: the unit (handshake message or frame) needs more bytes. */
#define NEED_MORE 1

static const uint8_t PROLOGUE[] = CAIRN__LINK_PROLOGUE;

/* ---- big-endian fields -------------------------------------------------- */

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- configuration ------------------------------------------------------ */

void cairn__link_config_init(cairn__link_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_clock_skew_ms = CAIRN__LINK_MAX_SKEW_MS;
	cfg->frame_cap = CAIRN__LINK_FRAME_MAX;
	cfg->rekey_frames = CAIRN__LINK_REKEY_FRAMES;
	cfg->rekey_bytes = CAIRN__LINK_REKEY_BYTES;
}

int cairn__link_init(cairn__link *link, cairn__link_role role,
                     const cairn__link_config *cfg, uint64_t now_ms)
{
	if (link == NULL)
		return CAIRN_EINVAL;
	memset(link, 0, sizeof *link);
	if (cfg == NULL || cfg->identity == NULL || cfg->mesh_key == NULL ||
	    (role != CAIRN__LINK_INITIATOR && role != CAIRN__LINK_RESPONDER) ||
	    cfg->frame_cap < crypto_secretstream_xchacha20poly1305_ABYTES ||
	    cfg->frame_cap > CAIRN__LINK_FRAME_MAX || cfg->rekey_frames == 0 ||
	    cfg->rekey_bytes == 0 ||
	    cfg->peer_addr_len > CAIRN__RATELIMIT_KEY_MAX ||
	    (cfg->peer_addr == NULL && cfg->peer_addr_len > 0))
		return CAIRN_EINVAL;

	int rc = cairn__hs_init(&link->hs, role == CAIRN__LINK_INITIATOR, 0,
	                        PROLOGUE, sizeof PROLOGUE - 1,
	                        cfg->mesh_key->bytes, cfg->identity);
	if (rc != 0) {
		memset(link, 0, sizeof *link);
		return rc;
	}
	link->role = role;
	link->state = role == CAIRN__LINK_INITIATOR ? CAIRN__LINK_S_NEW
	                                            : CAIRN__LINK_S_WAIT_M1;
	link->max_skew_ms = cfg->max_clock_skew_ms;
	link->frame_cap = cfg->frame_cap;
	link->rekey_frames = cfg->rekey_frames;
	link->rekey_bytes = cfg->rekey_bytes;
	link->caps = cfg->caps;
	link->replay = cfg->replay;
	link->ratelimit = cfg->ratelimit;
	if (cfg->peer_addr_len > 0)
		memcpy(link->addr, cfg->peer_addr, cfg->peer_addr_len);
	link->addr_len = cfg->peer_addr_len;
	link->alloc = cfg->allocator;
	link->start_ms = now_ms;
	return 0;
}

void cairn__link_set_test_hook(cairn__link *link, cairn__link_test_hook *hook)
{
	link->hook = hook;
	if (hook != NULL)
		cairn__hs_fix_ephemeral(&link->hs, hook->ephemeral_secret);
}

bool cairn__link_established(const cairn__link *link)
{
	return link->state == CAIRN__LINK_S_OPEN ||
	       link->state == CAIRN__LINK_S_PEER_CLOSED;
}

size_t cairn__link_max_message(const cairn__link *link)
{
	return link->frame_cap - crypto_secretstream_xchacha20poly1305_ABYTES;
}

/* ---- sticky errors ------------------------------------------------------ */

/*
 * End the link: keep `err` and the formatted reason, wipe the handshake
 * and both stream states (nothing can be sealed or opened any more), and
 * describe it in *ev (may be NULL). A responder still waiting for m1 has
 * not spoken, so its failure is a DROP; any other is CLOSED.
 */
#if defined(__GNUC__)
static int fail(cairn__link *link, cairn__link_event *ev, int err,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#endif
static int fail(cairn__link *link, cairn__link_event *ev, int err,
                const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(link->reason, sizeof link->reason, fmt, ap);
	va_end(ap);
	link->err = err;
	link->dropped = link->state == CAIRN__LINK_S_WAIT_M1;
	link->state = CAIRN__LINK_S_DEAD;
	cairn__hs_wipe(&link->hs);
	sodium_memzero(&link->tx, sizeof link->tx);
	sodium_memzero(&link->rx, sizeof link->rx);
	if (ev != NULL) {
		ev->type = link->dropped ? CAIRN__LINK_EV_DROP
		                         : CAIRN__LINK_EV_CLOSED;
		ev->err = err;
		ev->reason = link->reason;
	}
	return err;
}

/* Report the sticky error again. */
static int sticky(const cairn__link *link, cairn__link_event *ev)
{
	ev->type = link->dropped ? CAIRN__LINK_EV_DROP : CAIRN__LINK_EV_CLOSED;
	ev->err = link->err;
	ev->reason = link->reason;
	return link->err;
}

/* ---- the handshake ------------------------------------------------------ */

/* This side's stream header: the test hook's, or random. */
static void choose_header(cairn__link *link)
{
	if (link->hook != NULL)
		memcpy(link->my_header, link->hook->stream_header,
		       sizeof link->my_header);
	else
		randombytes_buf(link->my_header, sizeof link->my_header);
}

/* |a - b| */
static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * Everything after Split(): both stream states, the peer's identity, the
 * HANDSHAKE event; the handshake state is wiped.
 */
static int complete(cairn__link *link, const uint8_t peer_header[],
                    cairn__link_event *ev)
{
	uint8_t k1[CAIRN__HS_KEY], k2[CAIRN__HS_KEY];
	if (cairn__hs_split(&link->hs, k1, k2) != 0)
		return fail(link, ev, CAIRN_EDECODE, "handshake incomplete");
	bool init = link->role == CAIRN__LINK_INITIATOR;
	/* init_pull builds a sending state too: see the top of the file. */
	crypto_secretstream_xchacha20poly1305_init_pull(
	        &link->tx, link->my_header, init ? k1 : k2);
	crypto_secretstream_xchacha20poly1305_init_pull(&link->rx, peer_header,
	                                                init ? k2 : k1);
	if (link->hook != NULL) {
		memcpy(link->hook->split_k1, k1, sizeof k1);
		memcpy(link->hook->split_k2, k2, sizeof k2);
	}
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);

	memcpy(link->peer_key, link->hs.rs, sizeof link->peer_key);
	cairn_device_id_from_key(link->peer_key, &link->peer_id);
	memcpy(link->handshake_hash, link->hs.h, sizeof link->handshake_hash);
	cairn__hs_wipe(&link->hs);
	link->state = CAIRN__LINK_S_OPEN;

	ev->type = CAIRN__LINK_EV_HANDSHAKE;
	memcpy(ev->peer_key, link->peer_key, sizeof ev->peer_key);
	ev->peer_id = link->peer_id;
	ev->peer_clock_ms = link->peer_clock_ms;
	ev->peer_caps = link->peer_caps;
	memcpy(ev->handshake_hash, link->handshake_hash,
	       sizeof ev->handshake_hash);
	return 0;
}

/* Write this side's next handshake message, with its u16 prefix, to *out
 * (room reserved by the caller). */
static int send_hs(cairn__link *link, const uint8_t *payload, size_t len,
                   cairn_buf *out)
{
	uint8_t msg[2 + CAIRN__LINK_M2_BYTES];
	size_t mlen = 0;
	int rc = cairn__hs_write(&link->hs, payload, len, msg + 2,
	                         sizeof msg - 2, &mlen);
	if (rc == 0) {
		put_be16(msg, (uint16_t)mlen);
		rc = cairn_buf_append(out, msg, 2 + mlen);
	}
	sodium_memzero(msg, sizeof msg);
	return rc;
}

int cairn__link_start(cairn__link *link, cairn_buf *out)
{
	if (link == NULL || out == NULL || link->state != CAIRN__LINK_S_NEW)
		return CAIRN_EINVAL;
	int rc = cairn_buf_reserve(out, 2 + CAIRN__LINK_M1_BYTES);
	if (rc != 0)
		return rc;
	uint8_t p[CAIRN__LINK_M1_PAYLOAD];
	p[0] = CAIRN__LINK_VERSION;
	p[1] = 0; /* flags: none defined in v1 */
	put_be64(p + 2, link->start_ms);
	rc = send_hs(link, p, sizeof p, out);
	if (rc != 0)
		return fail(link, NULL, rc, "cannot write the first message");
	link->state = CAIRN__LINK_S_WAIT_M2;
	return 0;
}

/* Responder: m1 is in hs_buf. Silence (DROP) on any failure. */
static int on_m1(cairn__link *link, size_t mlen, uint64_t now, cairn_buf *out,
                 cairn__link_event *ev)
{
	/* Room for m2 first, so that running out of memory changes
	 * nothing and the same m1 can be processed again. */
	int rc = cairn_buf_reserve(out, 2 + CAIRN__LINK_M2_BYTES);
	if (rc != 0)
		return rc;
	uint8_t p[CAIRN__LINK_HS_MAX];
	size_t plen = 0;
	if (cairn__hs_read(&link->hs, link->hs_buf + 2, mlen, p, sizeof p,
	                   &plen) != 0)
		return fail(link, ev, CAIRN_EDECODE,
		            "first message does not authenticate: another "
		            "mesh key, or not a cairn peer");
	if (plen < 1 || p[0] != CAIRN__LINK_VERSION)
		return fail(link, ev, CAIRN_EVERSION,
		            "initiator speaks protocol version %u, not %u",
		            plen ? p[0] : 0u, CAIRN__LINK_VERSION);
	if (plen != CAIRN__LINK_M1_PAYLOAD)
		return fail(link, ev, CAIRN_EDECODE,
		            "first message payload of %zu bytes, not %u", plen,
		            CAIRN__LINK_M1_PAYLOAD);
	/* p[1]: flags, none defined in v1; ignored for later versions. */
	uint64_t clock = get_be64(p + 2);
	if (distance(clock, now) > link->max_skew_ms)
		return fail(link, ev, CAIRN_ECLOCK_SKEW,
		            "initiator's clock is %s by %llu ms (allowed %llu)",
		            clock > now ? "ahead" : "behind",
		            (unsigned long long)distance(clock, now),
		            (unsigned long long)link->max_skew_ms);
	if (link->replay != NULL &&
	    cairn__replay_check_and_add(link->replay, link->hs.re))
		return fail(link, ev, CAIRN_EPOLICY,
		            "replayed first message (its ephemeral key was "
		            "seen before)");
	link->peer_clock_ms = clock;

	choose_header(link);
	p[0] = CAIRN__LINK_VERSION;
	put_be64(p + 1, now);
	memcpy(p + 9, link->my_header, sizeof link->my_header);
	rc = send_hs(link, p, CAIRN__LINK_M2_PAYLOAD, out);
	sodium_memzero(p, sizeof p);
	if (rc != 0)
		return fail(link, ev, CAIRN_EDECODE,
		            "first message carries a low-order ephemeral key");
	link->state = CAIRN__LINK_S_WAIT_M3;
	return 0;
}

/* Initiator: m2 is in hs_buf. */
static int on_m2(cairn__link *link, size_t mlen, uint64_t now, cairn_buf *out,
                 cairn__link_event *ev)
{
	int rc = cairn_buf_reserve(out, 2 + CAIRN__LINK_M3_BYTES);
	if (rc != 0)
		return rc;
	uint8_t p[CAIRN__LINK_HS_MAX];
	size_t plen = 0;
	if (cairn__hs_read(&link->hs, link->hs_buf + 2, mlen, p, sizeof p,
	                   &plen) != 0)
		return fail(link, ev, CAIRN_EDECODE,
		            "second message does not authenticate: the "
		            "responder has another mesh key, or the bytes "
		            "are damaged");
	if (plen < 1 || p[0] != CAIRN__LINK_VERSION)
		return fail(link, ev, CAIRN_EVERSION,
		            "responder speaks protocol version %u, not %u",
		            plen ? p[0] : 0u, CAIRN__LINK_VERSION);
	if (plen != CAIRN__LINK_M2_PAYLOAD)
		return fail(link, ev, CAIRN_EDECODE,
		            "second message payload of %zu bytes, not %u", plen,
		            CAIRN__LINK_M2_PAYLOAD);
	uint64_t clock = get_be64(p + 1);
	if (distance(clock, now) > link->max_skew_ms)
		return fail(link, ev, CAIRN_ECLOCK_SKEW,
		            "responder's clock is %s by %llu ms (allowed %llu)",
		            clock > now ? "ahead" : "behind",
		            (unsigned long long)distance(clock, now),
		            (unsigned long long)link->max_skew_ms);
	link->peer_clock_ms = clock;
	uint8_t peer_header[CAIRN__LINK_STREAM_HEADER];
	memcpy(peer_header, p + 9, sizeof peer_header);

	choose_header(link);
	memcpy(p, link->my_header, sizeof link->my_header);
	put_be32(p + sizeof link->my_header, link->caps);
	rc = send_hs(link, p, CAIRN__LINK_M3_PAYLOAD, out);
	sodium_memzero(p, sizeof p);
	if (rc != 0)
		return fail(link, ev, CAIRN_EDECODE,
		            "second message carries a low-order ephemeral key");
	return complete(link, peer_header, ev);
}

/* Responder: m3 is in hs_buf. */
static int on_m3(cairn__link *link, size_t mlen, cairn__link_event *ev)
{
	uint8_t p[CAIRN__LINK_HS_MAX];
	size_t plen = 0;
	if (cairn__hs_read(&link->hs, link->hs_buf + 2, mlen, p, sizeof p,
	                   &plen) != 0)
		return fail(link, ev, CAIRN_EDECODE,
		            "third message does not authenticate: the bytes "
		            "are damaged, or the initiator is not who m1 said");
	if (plen != CAIRN__LINK_M3_PAYLOAD)
		return fail(link, ev, CAIRN_EDECODE,
		            "third message payload of %zu bytes, not %u", plen,
		            CAIRN__LINK_M3_PAYLOAD);
	link->peer_caps = get_be32(p + CAIRN__LINK_STREAM_HEADER);
	int rc = complete(link, p, ev);
	sodium_memzero(p, sizeof p);
	return rc;
}

/*
 * One step of the handshake: gather the next u16be-prefixed message and,
 * once it is whole, process it. The responder charges the rate limiter
 * once per connection, at its first byte, before anything else.
 */
static int hs_step(cairn__link *link, const uint8_t *bytes, size_t len,
                   size_t *off, uint64_t now, cairn_buf *out,
                   cairn__link_event *ev)
{
	int state = link->state;
	if (state == CAIRN__LINK_S_WAIT_M1 && !link->rate_checked &&
	    *off < len) {
		link->rate_checked = true;
		if (link->ratelimit != NULL &&
		    !cairn__ratelimit_allow(link->ratelimit, link->addr,
		                            link->addr_len, now))
			return fail(link, ev, CAIRN_ELIMIT,
			            "handshake rate limit exceeded for this "
			            "address");
	}
	while (link->hs_have < 2 && *off < len)
		link->hs_buf[link->hs_have++] = bytes[(*off)++];
	if (link->hs_have < 2)
		return NEED_MORE;

	unsigned index = state == CAIRN__LINK_S_WAIT_M1   ? 1
	                 : state == CAIRN__LINK_S_WAIT_M2 ? 2
	                                                  : 3;
	size_t mlen = (size_t)link->hs_buf[0] << 8 | link->hs_buf[1];
	if (mlen <= cairn__hs_overhead(index) || mlen > CAIRN__LINK_HS_MAX)
		return fail(link, ev, CAIRN_EDECODE,
		            "handshake message %u of %zu bytes (v1: %u)", index,
		            mlen,
		            index == 1   ? CAIRN__LINK_M1_BYTES
		            : index == 2 ? CAIRN__LINK_M2_BYTES
		                         : CAIRN__LINK_M3_BYTES);
	size_t take = 2 + mlen - link->hs_have;
	if (take > len - *off)
		take = len - *off;
	if (take > 0)
		memcpy(link->hs_buf + link->hs_have, bytes + *off, take);
	link->hs_have += take;
	*off += take;
	if (link->hs_have < 2 + mlen)
		return NEED_MORE;

	int rc = index == 1   ? on_m1(link, mlen, now, out, ev)
	         : index == 2 ? on_m2(link, mlen, now, out, ev)
	                      : on_m3(link, mlen, ev);
	if (rc != CAIRN_ENOMEM) {
		sodium_memzero(link->hs_buf, link->hs_have);
		link->hs_have = 0;
	}
	return rc;
}

/* ---- frames ------------------------------------------------------------- */

/*
 * Make *buf hold at least `need` bytes, growing by doubling from 256 but
 * never past `limit` (>= need), so that a link of small messages keeps
 * small buffers.
 */
static int ensure(cairn__link *link, uint8_t **buf, size_t *cap, size_t need,
                  size_t limit)
{
	if (need <= *cap && *buf != NULL)
		return 0;
	size_t ncap = *cap ? *cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > limit)
		ncap = limit;
	if (ncap < need)
		ncap = need;
	uint8_t *p = cairn__realloc(&link->alloc, *buf, *cap, ncap);
	if (p == NULL)
		return CAIRN_ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

static int frame_step(cairn__link *link, const uint8_t *bytes, size_t len,
                      size_t *off, cairn__link_event *ev)
{
	const size_t abytes = crypto_secretstream_xchacha20poly1305_ABYTES;
	if (link->head_have < 4) {
		while (link->head_have < 4 && *off < len)
			link->frame_head[link->head_have++] = bytes[(*off)++];
		if (link->head_have < 4)
			return NEED_MORE;
		/* The length is judged before a byte is allocated for it. */
		uint32_t n = get_be32(link->frame_head);
		if (n == 0)
			return fail(link, ev, CAIRN_EDECODE,
			            "frame %llu has length 0",
			            (unsigned long long)link->frames_received);
		if (n > link->frame_cap)
			return fail(link, ev, CAIRN_ELIMIT,
			            "frame %llu has length %lu, over the cap "
			            "of %lu",
			            (unsigned long long)link->frames_received,
			            (unsigned long)n,
			            (unsigned long)link->frame_cap);
		if (n < abytes)
			return fail(link, ev, CAIRN_EDECODE,
			            "frame %llu has length %lu, shorter than "
			            "its tag",
			            (unsigned long long)link->frames_received,
			            (unsigned long)n);
		link->frame_len = n;
	}

	/* A frame that is whole in the input is opened where it lies;
	 * only one that arrives in pieces is gathered in ct. */
	size_t n = link->frame_len;
	const uint8_t *c;
	bool direct = link->body_have == 0 && len - *off >= n;
	if (direct) {
		c = bytes + *off;
	} else {
		/* The buffer grows with the bytes that actually arrived, not
		 * with the length the peer announced: a peer that sends four
		 * bytes claiming a megabyte gets four bytes' worth. */
		size_t take = n - link->body_have;
		if (take > len - *off)
			take = len - *off;
		int rc = ensure(link, &link->ct, &link->ct_cap,
		                link->body_have + take, n);
		if (rc != 0)
			return rc;
		if (take > 0)
			memcpy(link->ct + link->body_have, bytes + *off, take);
		link->body_have += take;
		*off += take;
		if (link->body_have < n)
			return NEED_MORE;
		c = link->ct;
	}
	int rc = ensure(link, &link->pt, &link->pt_cap, n - abytes,
	                link->frame_cap);
	if (rc != 0)
		return rc;

	unsigned long long mlen = 0;
	unsigned char tag = 0;
	if (crypto_secretstream_xchacha20poly1305_pull(
	            &link->rx, link->pt, &mlen, &tag, c, n, link->frame_head,
	            sizeof link->frame_head) != 0)
		return fail(link, ev, CAIRN_EDECODE,
		            "frame %llu does not authenticate: tampered, "
		            "replayed, reordered or cut",
		            (unsigned long long)link->frames_received);
	if (direct)
		*off += n;
	link->head_have = 0;
	link->body_have = 0;
	link->frames_received++;

	switch (tag) {
	case crypto_secretstream_xchacha20poly1305_TAG_REKEY:
		/* libsodium has already moved rx to the next key. */
		link->rekeys_received++;
		/* fall through */
	case crypto_secretstream_xchacha20poly1305_TAG_MESSAGE:
		ev->type = CAIRN__LINK_EV_MESSAGE;
		ev->msg = link->pt;
		ev->msg_len = (size_t)mlen;
		return 0;
	case crypto_secretstream_xchacha20poly1305_TAG_FINAL:
		if (mlen != 0)
			return fail(link, ev, CAIRN_EDECODE,
			            "final frame carries %llu bytes", mlen);
		link->state = CAIRN__LINK_S_PEER_CLOSED;
		sodium_memzero(&link->rx, sizeof link->rx);
		snprintf(link->reason, sizeof link->reason,
		         "the peer closed the link");
		ev->type = CAIRN__LINK_EV_CLOSED;
		ev->err = 0;
		ev->reason = link->reason;
		return 0;
	default:
		return fail(link, ev, CAIRN_EDECODE,
		            "frame %llu has unknown tag %u",
		            (unsigned long long)(link->frames_received - 1),
		            (unsigned)tag);
	}
}

int cairn__link_feed(cairn__link *link, const uint8_t *bytes, size_t len,
                     uint64_t now_ms, cairn_buf *out, size_t *consumed,
                     cairn__link_event *ev)
{
	if (link == NULL || out == NULL || consumed == NULL || ev == NULL ||
	    (bytes == NULL && len > 0))
		return CAIRN_EINVAL;
	memset(ev, 0, sizeof *ev);
	*consumed = 0;
	if (link->state == CAIRN__LINK_S_DEAD)
		return sticky(link, ev);
	if (link->state == CAIRN__LINK_S_NEW)
		return CAIRN_EINVAL;
	if (link->state == CAIRN__LINK_S_PEER_CLOSED) {
		if (len == 0)
			return 0;
		return fail(link, ev, CAIRN_EDECODE,
		            "bytes after the final frame");
	}

	size_t off = 0;
	int rc;
	for (;;) {
		if (link->state == CAIRN__LINK_S_OPEN)
			rc = frame_step(link, bytes, len, &off, ev);
		else
			rc = hs_step(link, bytes, len, &off, now_ms, out, ev);
		if (rc != 0 || ev->type != CAIRN__LINK_EV_NONE)
			break;
	}
	*consumed = off;
	return rc == NEED_MORE ? 0 : rc;
}

/* ---- sending ------------------------------------------------------------ */

/* Push one frame of msg[0..len) with `tag` into *out (room reserved). */
static void push(cairn__link *link, const uint8_t *msg, size_t len,
                 unsigned char tag, cairn_buf *out)
{
	size_t n = len + crypto_secretstream_xchacha20poly1305_ABYTES;
	uint8_t *head = out->data + out->len;
	put_be32(head, (uint32_t)n);
	crypto_secretstream_xchacha20poly1305_push(
	        &link->tx, head + 4, NULL, len ? msg : (const uint8_t *)"", len,
	        head, 4, tag);
	out->len += 4 + n;
	link->frames_sent++;
}

int cairn__link_seal(cairn__link *link, const uint8_t *msg, size_t len,
                     cairn_buf *out)
{
	if (link == NULL || out == NULL || (msg == NULL && len > 0))
		return CAIRN_EINVAL;
	if (link->state == CAIRN__LINK_S_DEAD)
		return link->err;
	if (!cairn__link_established(link) || link->sent_final)
		return CAIRN_EINVAL;
	if (len > cairn__link_max_message(link))
		return CAIRN_ETOOBIG;
	size_t frame = len + CAIRN__LINK_FRAME_OVERHEAD;
	int rc = cairn_buf_reserve(out, frame);
	if (rc != 0)
		return rc;

	/* Rekey on the frame that reaches either threshold: the tag rides
	 * on a message, and both sides switch keys right after it. */
	unsigned char tag = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
	link->tx_frames_epoch++;
	link->tx_bytes_epoch += frame;
	if (link->tx_frames_epoch >= link->rekey_frames ||
	    link->tx_bytes_epoch >= link->rekey_bytes) {
		tag = crypto_secretstream_xchacha20poly1305_TAG_REKEY;
		link->tx_frames_epoch = 0;
		link->tx_bytes_epoch = 0;
		link->rekeys_sent++;
	}
	push(link, msg, len, tag, out);
	return 0;
}

int cairn__link_close(cairn__link *link, cairn_buf *out)
{
	if (link == NULL || out == NULL)
		return CAIRN_EINVAL;
	if (link->state == CAIRN__LINK_S_DEAD)
		return link->err;
	if (!cairn__link_established(link) || link->sent_final)
		return CAIRN_EINVAL;
	int rc = cairn_buf_reserve(out, CAIRN__LINK_FRAME_OVERHEAD);
	if (rc != 0)
		return rc;
	push(link, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL,
	     out);
	link->sent_final = true;
	sodium_memzero(&link->tx, sizeof link->tx);
	return 0;
}

int cairn__link_eof(cairn__link *link, cairn__link_event *ev)
{
	if (link == NULL || ev == NULL)
		return CAIRN_EINVAL;
	memset(ev, 0, sizeof *ev);
	switch (link->state) {
	case CAIRN__LINK_S_DEAD: return sticky(link, ev);
	case CAIRN__LINK_S_PEER_CLOSED: return 0;
	case CAIRN__LINK_S_NEW:
	case CAIRN__LINK_S_WAIT_M1:
		return fail(link, ev, CAIRN_EDECODE,
		            "connection ended before the first message");
	case CAIRN__LINK_S_WAIT_M2:
		/* The responder's silence has many causes; name them all,
		 * since it will not. */
		return fail(link, ev, CAIRN_EDECODE,
		            "connection ended during the handshake: the "
		            "responder refused silently (another mesh key, "
		            "clock skew, rate limit) or is not a cairn node");
	case CAIRN__LINK_S_WAIT_M3:
		return fail(link, ev, CAIRN_EDECODE,
		            "connection ended during the handshake");
	default:
		if (link->head_have > 0)
			return fail(link, ev, CAIRN_EDECODE,
			            "connection ended in the middle of frame "
			            "%llu",
			            (unsigned long long)link->frames_received);
		return fail(link, ev, CAIRN_EDECODE,
		            "connection ended without a final frame "
		            "(truncated)");
	}
}

void cairn__link_wipe(cairn__link *link)
{
	if (link == NULL)
		return;
	if (link->ct != NULL) {
		sodium_memzero(link->ct, link->ct_cap);
		cairn__free(&link->alloc, link->ct, link->ct_cap);
	}
	if (link->pt != NULL) {
		sodium_memzero(link->pt, link->pt_cap);
		cairn__free(&link->alloc, link->pt, link->pt_cap);
	}
	sodium_memzero(link, sizeof *link);
}
