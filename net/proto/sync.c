/*
 * sync.c -- the sync engine (sync_int.h; docs/PROTOCOL.md "Sync
 * messages"). Sans-I/O: messages and `now` in, messages out.
 *
 * The engine keeps one rule above all: a receiver's mark for a sender
 * only moves past a record once that record is joined (and so logged
 * before the mark itself is), and a join is never skipped for the sake of
 * a mark. Everything else -- batching, reconciliation, heartbeats -- is
 * about cost; that rule is what makes a dropped link, a crash or a
 * restart lose nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes_int.h"
#include "crdt_int.h"
#include "sync_int.h"
#include "wire_int.h"

/* Items a RECON_A list may carry for one tree node. */
#define RECON_LIST_MAX 64u
/* Tree nodes in one RECON_Q message. */
#define RECON_Q_MAX 4096u
/* Depth of the reconciliation tree: 16 levels of 4 bits of a 64-bit key. */
#define RECON_DEPTH 16u
/* Records remembered with the link they came in on (a power of two). */
#define ORIGIN_SLOTS 8192u

/* The key that places a document in the reconciliation tree: a protocol
 * constant (both sides must agree), not a secret. */
static const uint8_t recon_key[16] = "cairn-recon-v1..";

/* ---- small helpers ------------------------------------------------------ */

/* Grow *arr (elements of `size`) to hold at least `need`. */
static int grow(const cairn_allocator *a, void **arr, size_t *cap, size_t need,
                size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *p = cairn__realloc(a, *arr, *cap * size, n * size);
	if (!p)
		return CAIRN_ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- the reconciliation index ------------------------------------------ */

/* A document's place in the tree and a short digest of its state. */
typedef struct ritem {
	uint64_t key; /* siphash of the id under recon_key */
	uint64_t h;   /* first 8 bytes of cairn_doc_digest() */
	const cairn_doc *doc;
} ritem;

typedef struct rindex {
	ritem *v;
	size_t n, cap;
	bool built;
} rindex;

static int ritem_cmp(const void *a, const void *b)
{
	const ritem *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(cairn_doc_id(x->doc), cairn_doc_id(y->doc));
}

static uint64_t doc_key(const char *id)
{
	return cairn__siphash(recon_key, id, strlen(id));
}

/* Every document of the replica, each with its key and short digest. */
static int rindex_build(const cairn_allocator *a, const cairn_replica *r,
                        rindex *ix)
{
	ix->n = 0;
	size_t count = cairn_replica_doc_count(r), n = 0;
	const char **ids = cairn__alloc(a, (count ? count : 1) * sizeof *ids);
	if (!ids)
		return CAIRN_ENOMEM;
	int rc = cairn_replica_docs(r, NULL, ids, count, &n);
	if (!rc)
		rc = grow(a, (void **)&ix->v, &ix->cap, n, sizeof *ix->v);
	for (size_t i = 0; i < n && !rc; i++) {
		cairn_doc *d;
		uint8_t dg[CAIRN_DIGEST_BYTES];
		rc = cairn_replica_find(r, ids[i], &d);
		if (!rc)
			rc = cairn_doc_digest(d, dg);
		if (!rc)
			ix->v[ix->n++] = (ritem){doc_key(ids[i]), le64(dg), d};
	}
	cairn__free(a, ids, (count ? count : 1) * sizeof *ids);
	if (rc)
		return rc;
	if (ix->n) /* qsort must not see the NULL of an empty index */
		qsort(ix->v, ix->n, sizeof *ix->v, ritem_cmp);
	ix->built = true;
	return 0;
}

/* The index range [*lo, *hi) of tree node (depth, prefix). */
static void rindex_range(const rindex *ix, uint32_t depth, uint64_t prefix,
                         size_t *lo, size_t *hi)
{
	if (depth == 0) {
		*lo = 0;
		*hi = ix->n;
		return;
	}
	unsigned shift = 64u - 4u * depth;
	uint64_t first = shift == 64 ? 0 : prefix << shift;
	uint64_t last = first + (shift ? ((UINT64_C(1) << shift) - 1) : 0);
	size_t a = 0, b = ix->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (ix->v[m].key < first)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	b = ix->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (ix->v[m].key <= last)
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

/* Count and XOR of short digests under a node. */
static void rindex_summary(const rindex *ix, uint32_t depth, uint64_t prefix,
                           uint64_t *count, uint64_t *fp)
{
	size_t lo, hi;
	rindex_range(ix, depth, prefix, &lo, &hi);
	uint64_t x = 0;
	for (size_t i = lo; i < hi; i++)
		x ^= ix->v[i].h;
	*count = hi - lo;
	*fp = x;
}

static void rindex_free(const cairn_allocator *a, rindex *ix)
{
	cairn__free(a, ix->v, ix->cap * sizeof *ix->v);
	memset(ix, 0, sizeof *ix);
}

/* ---- the engine's state ------------------------------------------------- */

typedef struct rnode {
	uint32_t depth;
	uint64_t prefix;
} rnode;

typedef struct origin {
	uint64_t seq;
	uint64_t link;
} origin;

struct cairn__sync {
	cairn__sync_config cfg;
	cairn_allocator a;
	cairn_device_id *allow;
	uint64_t next_link;
	origin *origins; /* ORIGIN_SLOTS, by seq */
	cairn_delta *scratch;
	cairn_delta *docbuf;
	cairn_delta *piece; /* one received encoding, before it joins scratch */
	cairn_buf tmp;
	cairn_limits limits;
	uint8_t digest[CAIRN_DIGEST_BYTES];
	uint64_t digest_seq; /* last_seq the digest was taken at, +1; 0: none */
	size_t npeers;
};

enum { OPEN = 0, CLOSING = 1, CLOSED = 2 };

struct cairn__peer {
	cairn__sync *s;
	uint64_t link;
	cairn_device_id dev;
	int state;    /* OPEN, CLOSING (a BYE queued), CLOSED */
	int close_rc; /* what cairn__sync_next() returns once CLOSED */
	char error[200];

	/* control messages waiting: u32 length | bytes, FIFO */
	cairn_buf ctl;
	size_t ctl_off;
	/* a message too big for one frame, going out as FRAG pieces */
	cairn_buf big;
	size_t big_off;
	/* FRAG pieces coming in */
	cairn_buf frag;

	bool hello_recv;
	uint64_t peer_last_seq; /* the peer's last record, as it last said */
	bool peer_idle;         /* it said its stream to me is drained */
	uint64_t peer_doc_count;

	/* my log towards the peer */
	cairn_log_cursor *cur;
	bool streaming;   /* cur is open and feeding DELTAS */
	uint64_t sent_to; /* every record up to here is sent or skipped */
	uint64_t told_to; /* the last `to` of a DELTAS: the peer's mark to be */
	uint64_t acked;   /* the peer's ACK */
	bool held;        /* a record read but not yet durable */
	uint64_t held_seq;
	cairn_buf held_bytes;

	/* the peer's log towards me */
	uint64_t mark;
	uint64_t mark_saved;
	uint64_t mark_saved_at;
	bool ack_due;
	uint64_t ack_at;
	uint64_t pull_from; /* a PULL sent for this seq (0: none) */
	uint64_t pull_at;   /* ... at this time */

	/* reconciliation where I send (my state towards the peer) */
	bool recon;
	uint64_t recon_sess;
	uint64_t recon_upto; /* my last_seq when it began */
	rindex mine;
	rnode *queue; /* nodes to query */
	size_t nqueue, capqueue;
	size_t inflight;        /* nodes asked, not yet answered */
	uint64_t recon_at;      /* last progress of the reconciliation */
	const cairn_doc **send; /* documents to send */
	size_t nsend, capsend, sent_docs;
	/* reconciliation where the peer sends (answering its queries) */
	uint64_t their_sess;
	rindex theirs;

	/* timers */
	uint64_t last_recv, last_send, next_pull;
	uint64_t last_sync;

	uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
};

void cairn__sync_config_init(cairn__sync_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->heartbeat_ms = 15000;
	cfg->heartbeat_miss = 3;
	cfg->pull_ms = 60000;
	cfg->ack_ms = 20;
	cfg->mark_persist_ms = 1000;
	cfg->batch_bytes = 256u << 10;
	cfg->frame_bytes = (1u << 20) - 64;
	cfg->max_message = 60u << 20;
	cfg->recon_leaf = 16;
	cfg->max_skew_ms = CAIRN_DEFAULT_MAX_SKEW_MS;
	cfg->retry_ms = 5000;
	cfg->send_durable_only = true;
}

int cairn__sync_new(const cairn__sync_config *cfg, cairn__sync **out)
{
	if (!cfg || !cfg->store || !out || cfg->frame_bytes < 256 ||
	    cfg->batch_bytes == 0 || cfg->recon_leaf == 0 ||
	    cfg->recon_leaf > RECON_LIST_MAX)
		return CAIRN_EINVAL;
	const cairn_allocator *a = &cfg->alloc;
	cairn__sync *s = cairn__alloc(a, sizeof *s);
	if (!s)
		return CAIRN_ENOMEM;
	memset(s, 0, sizeof *s);
	s->cfg = *cfg;
	s->a = cfg->alloc;
	s->next_link = 1;
	cairn_buf_init(&s->tmp, &s->a);
	cairn_limits_init(&s->limits);
	s->limits.max_input_bytes = cfg->max_message;
	s->origins = cairn__alloc(a, ORIGIN_SLOTS * sizeof *s->origins);
	int rc = s->origins ? 0 : CAIRN_ENOMEM;
	if (!rc && cfg->nallow) {
		s->allow = cairn__alloc(a, cfg->nallow * sizeof *s->allow);
		if (s->allow)
			memcpy(s->allow, cfg->allow,
			       cfg->nallow * sizeof *s->allow);
		else
			rc = CAIRN_ENOMEM;
	}
	s->cfg.allow = s->allow;
	if (!rc)
		rc = cairn_delta_new(&s->a, &s->scratch);
	if (!rc)
		rc = cairn_delta_new(&s->a, &s->docbuf);
	if (!rc)
		rc = cairn_delta_new(&s->a, &s->piece);
	if (rc) {
		cairn__sync_free(s);
		return rc;
	}
	memset(s->origins, 0, ORIGIN_SLOTS * sizeof *s->origins);
	*out = s;
	return 0;
}

void cairn__sync_free(cairn__sync *s)
{
	if (!s)
		return;
	cairn_allocator a = s->a;
	cairn__free(&a, s->origins, ORIGIN_SLOTS * sizeof *s->origins);
	cairn__free(&a, s->allow, s->cfg.nallow * sizeof *s->allow);
	cairn_delta_free(s->scratch);
	cairn_delta_free(s->docbuf);
	cairn_delta_free(s->piece);
	cairn_buf_free(&s->tmp);
	cairn__free(&a, s, sizeof *s);
}

static const cairn_replica *replica(const cairn__sync *s)
{
	return cairn_store_replica(s->cfg.store);
}

/* ---- composing messages ------------------------------------------------- */

/* Queue a finished message (in s->tmp) on p's control queue. */
static int queue_tmp(cairn__peer *p)
{
	cairn__sync *s = p->s;
	uint8_t len[4];
	uint32_t n = (uint32_t)s->tmp.len;
	memcpy(len, &n, 4);
	int rc = cairn_buf_append(&p->ctl, len, 4);
	if (!rc)
		rc = cairn_buf_append(&p->ctl, s->tmp.data, s->tmp.len);
	return rc;
}

/*
 * End the link: queue a BYE with code and text (unless the peer ended it,
 * quiet), and make cairn__sync_next() return rc once the BYE is out.
 */
static int bye(cairn__peer *p, unsigned code, int rc, bool quiet,
               const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 5, 6)))
#endif
        ;

static int bye(cairn__peer *p, unsigned code, int rc, bool quiet,
               const char *fmt, ...)
{
	if (p->state != OPEN)
		return p->close_rc;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof p->error, fmt, ap);
	va_end(ap);
	p->close_rc = rc;
	p->state = quiet ? CLOSED : CLOSING;
	if (quiet)
		return rc;
	cairn__sync *s = p->s;
	s->tmp.len = 0;
	cairn__wr w;
	cairn__wr_init(&w, &s->tmp);
	cairn__wr_array(&w, 3);
	cairn__wr_u64(&w, CAIRN__MSG_BYE);
	cairn__wr_u64(&w, code);
	cairn__wr_str(&w, p->error, strlen(p->error));
	if (w.err || queue_tmp(p))
		p->state = CLOSED; /* nothing to say it with: just close */
	return rc;
}

static void start_msg(cairn__sync *s, cairn__wr *w, unsigned type,
                      uint32_t nfields)
{
	s->tmp.len = 0;
	cairn__wr_init(w, &s->tmp);
	cairn__wr_array(w, nfields + 1);
	cairn__wr_u64(w, type);
}

static int queue_hello(cairn__peer *p, uint64_t now)
{
	cairn__sync *s = p->s;
	const cairn_replica *r = replica(s);
	cairn__wr w;
	start_msg(s, &w, CAIRN__MSG_HELLO, 8);
	cairn__wr_u64(&w, CAIRN__SYNC_VERSION);
	cairn__wr_u64(&w, cairn_replica_id_of(r));
	cairn__wr_u64(&w, now);
	cairn__wr_u64(&w, cairn_replica_hlc_last(r));
	cairn__wr_u64(&w, cairn_store_last_seq(s->cfg.store));
	cairn__wr_u64(&w, cairn_store_log_first(s->cfg.store));
	cairn__wr_u64(&w, p->mark);
	cairn__wr_u64(&w, cairn_replica_doc_count(r));
	return w.err ? w.err : queue_tmp(p);
}

static int queue_u64s(cairn__peer *p, unsigned type, uint32_t n,
                      const uint64_t *v)
{
	cairn__wr w;
	start_msg(p->s, &w, type, n);
	for (uint32_t i = 0; i < n; i++)
		cairn__wr_u64(&w, v[i]);
	return w.err ? w.err : queue_tmp(p);
}

/* ---- attach and detach -------------------------------------------------- */

static bool allowed(const cairn__sync *s, const cairn_device_id *d)
{
	if (!s->cfg.nallow)
		return true;
	for (size_t i = 0; i < s->cfg.nallow; i++)
		if (!memcmp(s->allow[i].bytes, d->bytes, sizeof d->bytes))
			return true;
	return false;
}

int cairn__sync_attach(cairn__sync *s, const cairn_device_id *peer,
                       uint64_t now_ms, cairn__peer **out)
{
	if (!s || !peer || !out)
		return CAIRN_EINVAL;
	cairn__peer *p = cairn__alloc(&s->a, sizeof *p);
	if (!p)
		return CAIRN_ENOMEM;
	memset(p, 0, sizeof *p);
	p->s = s;
	p->link = s->next_link++;
	p->dev = *peer;
	cairn_buf_init(&p->ctl, &s->a);
	cairn_buf_init(&p->big, &s->a);
	cairn_buf_init(&p->frag, &s->a);
	cairn_buf_init(&p->held_bytes, &s->a);
	p->last_recv = p->last_send = now_ms;
	p->next_pull = now_ms + s->cfg.pull_ms;

	uint64_t mark = 0;
	if (cairn_store_peer_get(s->cfg.store, peer->bytes, &mark))
		mark = 0;
	p->mark = p->mark_saved = mark;
	p->mark_saved_at = now_ms;
	s->npeers++;
	*out = p;

	if (!allowed(s, peer)) {
		char them[CAIRN_DEVICE_ID_TEXT], me[CAIRN_DEVICE_ID_TEXT];
		cairn_device_id_to_text(peer, them);
		cairn_device_id_to_text(&s->cfg.self, me);
		bye(p, CAIRN__BYE_NOT_ALLOWED, CAIRN_EPOLICY, false,
		    "device %s is not on the allow-list of device %s", them,
		    me);
		return 0;
	}
	int rc = queue_hello(p, now_ms);
	if (rc) {
		cairn__sync_detach(s, p);
		*out = NULL;
	}
	return rc;
}

static void persist_mark(cairn__peer *p, uint64_t now)
{
	if (p->mark == p->mark_saved)
		return;
	if (!cairn_store_peer_put(p->s->cfg.store, p->dev.bytes, p->mark)) {
		p->mark_saved = p->mark;
		p->mark_saved_at = now;
	}
}

static void recon_reset(cairn__peer *p)
{
	cairn__sync *s = p->s;
	rindex_free(&s->a, &p->mine);
	cairn__free(&s->a, p->queue, p->capqueue * sizeof *p->queue);
	cairn__free(&s->a, p->send, p->capsend * sizeof *p->send);
	p->queue = NULL;
	p->send = NULL;
	p->nqueue = p->capqueue = p->nsend = p->capsend = 0;
	p->sent_docs = p->inflight = 0;
	p->recon = false;
}

void cairn__sync_detach(cairn__sync *s, cairn__peer *p)
{
	if (!s || !p)
		return;
	persist_mark(p, p->mark_saved_at);
	recon_reset(p);
	rindex_free(&s->a, &p->theirs);
	cairn_store_cursor_close(p->cur);
	cairn_buf_free(&p->ctl);
	cairn_buf_free(&p->big);
	cairn_buf_free(&p->frag);
	cairn_buf_free(&p->held_bytes);
	s->npeers--;
	cairn__free(&s->a, p, sizeof *p);
}

/* ---- my log towards the peer -------------------------------------------- */

static void origin_note(cairn__sync *s, uint64_t seq, uint64_t link)
{
	origin *o = &s->origins[seq & (ORIGIN_SLOTS - 1)];
	o->seq = seq;
	o->link = link;
}

static bool came_from(const cairn__sync *s, uint64_t seq, uint64_t link)
{
	const origin *o = &s->origins[seq & (ORIGIN_SLOTS - 1)];
	return o->seq == seq && o->link == link;
}

static int stream_from(cairn__peer *p, uint64_t from);
static int recon_begin(cairn__peer *p, bool everything, uint64_t now);

static int stream_from(cairn__peer *p, uint64_t from)
{
	cairn_store_cursor_close(p->cur);
	p->cur = NULL;
	p->held = false;
	p->streaming = false;
	int rc = cairn_store_cursor_open(p->s->cfg.store, from, &p->cur);
	if (rc)
		return rc;
	p->streaming = true;
	p->sent_to = p->told_to = from - 1;
	return 0;
}

/* The last record the stream may send: durable ones only, if so set. */
static uint64_t send_limit(const cairn__sync *s)
{
	return s->cfg.send_durable_only ? cairn_store_durable_seq(s->cfg.store)
	                                : cairn_store_last_seq(s->cfg.store);
}

/*
 * One DELTAS message from the cursor: records after sent_to, up to
 * batch_bytes, the peer's own records skipped. 1 if a message was made.
 */
static int next_deltas(cairn__peer *p, uint64_t now, cairn_buf *out)
{
	cairn__sync *s = p->s;
	uint64_t limit = send_limit(s);
	if (p->sent_to >= limit)
		return 0;
	cairn_buf *body = &s->tmp;
	body->len = 0;
	cairn__wr w;
	cairn__wr_init(&w, body);
	uint32_t n = 0;
	uint64_t from = p->told_to + 1, to = p->sent_to;
	uint32_t echoes = 0; /* the peer's own records, passed over */
	size_t bytes = 0;
	while (bytes < s->cfg.batch_bytes) {
		uint64_t seq;
		const uint8_t *rec;
		size_t len;
		if (p->held) {
			if (p->held_seq > limit)
				break;
			seq = p->held_seq;
			rec = p->held_bytes.data;
			len = p->held_bytes.len;
			p->held = false;
		} else {
			int rc = cairn_store_cursor_next(p->cur, &seq, &rec,
			                                 &len);
			if (rc == CAIRN_EAGAIN) {
				uint64_t pos = cairn_store_cursor_pos(p->cur);
				if (pos - 1 > to)
					to = pos - 1; /* skipped non-deltas */
				break;
			}
			if (rc == CAIRN_ENOTFOUND || rc == CAIRN_ECORRUPT) {
				/* The log moved on under the cursor, or what
				 * is left of it is damaged: the snapshot
				 * still has it all. */
				body->len = 0;
				rc = recon_begin(p, false, now);
				return rc ? rc : 0;
			}
			if (rc)
				return bye(p, CAIRN__BYE_STORE, rc, false,
				           "reading the log: %s",
				           cairn_strerror(rc));
			if (seq > limit) {
				p->held_bytes.len = 0;
				rc = cairn_buf_append(&p->held_bytes, rec, len);
				if (rc)
					return rc;
				p->held = true;
				p->held_seq = seq;
				to = seq - 1;
				break;
			}
		}
		to = seq;
		if (came_from(s, seq, p->link)) {
			echoes++;
			continue;
		}
		cairn__wr_array(&w, 2);
		cairn__wr_u64(&w, seq);
		cairn__wr_bin(&w, rec, len);
		bytes += len;
		n++;
	}
	if (w.err)
		return w.err;
	p->sent_to = to;
	/* Records that only carry peer marks are passed over silently:
	 * announcing them would make the peer persist a new mark, a record
	 * of its own, which it would announce to us -- two replicas talking
	 * about nothing forever. The next DELTAS covers them (from =
	 * told_to + 1). The peer's own deltas are announced, as an empty
	 * DELTAS if need be: its mark must pass them, or a restart (which
	 * forgets where records came from) would send them all back. */
	if (!n && !echoes)
		return 0;
	cairn__wr h;
	size_t start = out->len;
	cairn__wr_init(&h, out);
	cairn__wr_array(&h, 4);
	cairn__wr_u64(&h, CAIRN__MSG_DELTAS);
	cairn__wr_u64(&h, from);
	cairn__wr_u64(&h, to);
	cairn__wr_array(&h, n);
	cairn__wr_raw(&h, body->data, body->len);
	if (h.err) {
		out->len = start;
		return h.err;
	}
	p->told_to = to;
	return 1;
}

/* ---- reconciliation: my side ------------------------------------------- */

static int queue_node(cairn__peer *p, uint32_t depth, uint64_t prefix)
{
	int rc = grow(&p->s->a, (void **)&p->queue, &p->capqueue, p->nqueue + 1,
	              sizeof *p->queue);
	if (!rc)
		p->queue[p->nqueue++] = (rnode){depth, prefix};
	return rc;
}

static int queue_send(cairn__peer *p, const cairn_doc *d)
{
	int rc = grow(&p->s->a, (void **)&p->send, &p->capsend, p->nsend + 1,
	              sizeof *p->send);
	if (!rc)
		p->send[p->nsend++] = d;
	return rc;
}

/* Queue every document of the replica (for a peer that has none). */
static int queue_all(cairn__peer *p)
{
	cairn__sync *s = p->s;
	const cairn_replica *r = replica(s);
	size_t count = cairn_replica_doc_count(r), n = 0;
	const char **ids =
	        cairn__alloc(&s->a, (count ? count : 1) * sizeof *ids);
	if (!ids)
		return CAIRN_ENOMEM;
	int rc = cairn_replica_docs(r, NULL, ids, count, &n);
	if (!rc)
		rc = grow(&s->a, (void **)&p->send, &p->capsend, n,
		          sizeof *p->send);
	for (size_t i = 0; i < n && !rc; i++) {
		cairn_doc *d;
		rc = cairn_replica_find(r, ids[i], &d);
		if (!rc)
			p->send[p->nsend++] = d;
	}
	cairn__free(&s->a, ids, (count ? count : 1) * sizeof *ids);
	return rc;
}

/*
 * Begin sending my state to the peer by reconciliation: the stream
 * pauses, the peer's mark will jump to recon_upto at RECON_END, and the
 * stream resumes after it. An empty peer skips the tree: it gets every
 * document.
 */
static int recon_begin(cairn__peer *p, bool everything, uint64_t now)
{
	cairn__sync *s = p->s;
	cairn_store_cursor_close(p->cur);
	p->cur = NULL;
	p->streaming = false;
	p->held = false;
	recon_reset(p);
	p->recon = true;
	p->recon_sess++;
	p->recon_at = now;
	p->recon_upto = cairn_store_last_seq(s->cfg.store);
	int rc = 0;
	if (everything) {
		rc = queue_all(p);
	} else {
		rc = rindex_build(&s->a, replica(s), &p->mine);
		if (!rc && p->mine.n)
			rc = queue_node(p, 0, 0);
	}
	if (rc)
		return bye(p, CAIRN__BYE_STORE, rc, false,
		           "cannot start a reconciliation: %s",
		           cairn_strerror(rc));
	return 0;
}

/* RECON_Q with the summaries of the queued nodes. */
static int next_recon_q(cairn__peer *p, cairn_buf *out)
{
	cairn__sync *s = p->s;
	uint32_t n =
	        p->nqueue > RECON_Q_MAX ? RECON_Q_MAX : (uint32_t)p->nqueue;
	size_t start = out->len;
	cairn__wr w;
	cairn__wr_init(&w, out);
	cairn__wr_array(&w, 3);
	cairn__wr_u64(&w, CAIRN__MSG_RECON_Q);
	cairn__wr_u64(&w, p->recon_sess);
	cairn__wr_array(&w, n);
	for (uint32_t i = 0; i < n; i++) {
		const rnode *q = &p->queue[p->nqueue - n + i];
		uint64_t count, fp;
		rindex_summary(&p->mine, q->depth, q->prefix, &count, &fp);
		cairn__wr_array(&w, 4);
		cairn__wr_u64(&w, q->depth);
		cairn__wr_u64(&w, q->prefix);
		cairn__wr_u64(&w, count);
		cairn__wr_u64(&w, fp);
	}
	if (w.err) {
		out->len = start;
		return w.err;
	}
	(void)s;
	p->nqueue -= n;
	p->inflight += n;
	return 1;
}

/* DOCS: the states of queued documents, up to batch_bytes. */
static int next_docs(cairn__peer *p, cairn_buf *out)
{
	cairn__sync *s = p->s;
	const cairn_replica *r = replica(s);
	cairn_buf *body = &s->tmp;
	body->len = 0;
	uint32_t n = 0;
	size_t bytes = 0;
	int rc = 0;
	while (p->sent_docs < p->nsend && bytes < s->cfg.batch_bytes) {
		const cairn_doc *d = p->send[p->sent_docs];
		cairn_delta_clear(s->docbuf);
		rc = cairn_replica_doc_state(r, cairn_doc_id(d), s->docbuf);
		if (rc == CAIRN_ENOTFOUND) { /* emptied meanwhile */
			p->sent_docs++;
			continue;
		}
		size_t at = body->len;
		/* bin32 header, then the encoding; the length is patched. */
		uint8_t hdr[5] = {0xc6, 0, 0, 0, 0};
		if (!rc)
			rc = cairn_buf_append(body, hdr, sizeof hdr);
		if (!rc)
			rc = cairn_delta_encode(s->docbuf, body);
		if (rc)
			break;
		size_t len = body->len - at - 5;
		for (int i = 0; i < 4; i++)
			body->data[at + 1 + (size_t)i] =
			        (uint8_t)(len >> (8 * (3 - i)));
		bytes += len;
		n++;
		p->sent_docs++;
	}
	cairn_delta_clear(s->docbuf);
	if (rc)
		return rc;
	if (!n)
		return 0;
	size_t start = out->len;
	cairn__wr w;
	cairn__wr_init(&w, out);
	cairn__wr_array(&w, 2);
	cairn__wr_u64(&w, CAIRN__MSG_DOCS);
	cairn__wr_array(&w, n);
	cairn__wr_raw(&w, body->data, body->len);
	if (w.err) {
		out->len = start;
		return w.err;
	}
	return 1;
}

/* Everything asked and sent: RECON_END, then the stream resumes. */
static int next_recon_end(cairn__peer *p, uint64_t now, cairn_buf *out)
{
	cairn__sync *s = p->s;
	size_t start = out->len;
	cairn__wr w;
	cairn__wr_init(&w, out);
	cairn__wr_array(&w, 3);
	cairn__wr_u64(&w, CAIRN__MSG_RECON_END);
	cairn__wr_u64(&w, p->recon_sess);
	cairn__wr_u64(&w, p->recon_upto);
	if (w.err) {
		out->len = start;
		return w.err;
	}
	uint64_t upto = p->recon_upto;
	recon_reset(p);
	int rc = stream_from(p, upto + 1);
	if (rc == CAIRN_ENOTFOUND || rc == CAIRN_ECORRUPT) /* again */
		rc = recon_begin(p, false, now);
	if (rc) {
		out->len = start;
		return bye(p, CAIRN__BYE_STORE, rc, false,
		           "cannot resume the log after a reconciliation: %s",
		           cairn_strerror(rc));
	}
	(void)s;
	return 1;
}

/* ---- next --------------------------------------------------------------- */

/* Split the message at out[start..] into FRAG pieces if it is too big. */
static int fragment(cairn__peer *p, cairn_buf *out, size_t start)
{
	cairn__sync *s = p->s;
	size_t len = out->len - start;
	if (len <= s->cfg.frame_bytes)
		return 0;
	p->big.len = 0;
	p->big_off = 0;
	int rc = cairn_buf_append(&p->big, out->data + start, len);
	out->len = start;
	return rc;
}

static int next_frag(cairn__peer *p, cairn_buf *out)
{
	cairn__sync *s = p->s;
	size_t piece = s->cfg.frame_bytes - 16;
	size_t left = p->big.len - p->big_off;
	bool last = left <= piece;
	size_t n = last ? left : piece;
	size_t start = out->len;
	cairn__wr w;
	cairn__wr_init(&w, out);
	cairn__wr_array(&w, 3);
	cairn__wr_u64(&w, CAIRN__MSG_FRAG);
	cairn__wr_bool(&w, last);
	cairn__wr_bin(&w, p->big.data + p->big_off, n);
	if (w.err) {
		out->len = start;
		return w.err;
	}
	p->big_off += n;
	if (last) {
		p->big.len = 0;
		p->big_off = 0;
	}
	return 1;
}

/* My stream to the peer is drained, and all of it acknowledged. */
static bool idle(const cairn__peer *p)
{
	const cairn__sync *s = p->s;
	return p->hello_recv && !p->recon && p->streaming && !p->held &&
	       p->sent_to >= cairn_store_last_seq(s->cfg.store) &&
	       p->acked >= p->told_to;
}

/* ... and the peer says the same of its stream to me. */
static bool caught_up(const cairn__peer *p)
{
	return idle(p) && p->peer_idle;
}

static int produce(cairn__peer *p, uint64_t now, cairn_buf *out)
{
	cairn__sync *s = p->s;
	if (p->state == CLOSED)
		return p->close_rc;
	if (p->big.len)
		return next_frag(p, out);
	if (p->ctl_off < p->ctl.len) {
		uint32_t n;
		memcpy(&n, p->ctl.data + p->ctl_off, 4);
		const uint8_t *m = p->ctl.data + p->ctl_off + 4;
		int rc = cairn_buf_append(out, m, n);
		if (rc)
			return rc;
		p->ctl_off += 4 + (size_t)n;
		if (p->ctl_off == p->ctl.len)
			p->ctl.len = p->ctl_off = 0;
		if (p->state == CLOSING && p->ctl_off == 0)
			p->state = CLOSED;
		return 1;
	}
	if (p->state != OPEN)
		return p->close_rc;

	/* Liveness: the peer must say something every heartbeat_miss
	 * heartbeats; we say something every heartbeat. */
	uint64_t hb = s->cfg.heartbeat_ms;
	if (hb && now - p->last_recv >= hb * (uint64_t)s->cfg.heartbeat_miss) {
		bye(p, CAIRN__BYE_TIMEOUT, CAIRN_EIO, false,
		    "no message for %llu ms",
		    (unsigned long long)(now - p->last_recv));
		return produce(p, now, out);
	}
	if (!p->hello_recv)
		return 0;

	if (p->ack_due && now >= p->ack_at) {
		p->ack_due = false;
		uint64_t v[1] = {p->mark};
		cairn__wr w;
		cairn__wr_init(&w, out);
		cairn__wr_array(&w, 2);
		cairn__wr_u64(&w, CAIRN__MSG_ACK);
		cairn__wr_u64(&w, v[0]);
		return w.err ? w.err : 1;
	}
	if (p->mark != p->mark_saved &&
	    now - p->mark_saved_at >= s->cfg.mark_persist_ms)
		persist_mark(p, now);

	if (p->recon && p->inflight && s->cfg.retry_ms &&
	    now - p->recon_at >= s->cfg.retry_ms) {
		/* Answers went missing (a lossy path, a peer that gave up
		 * its index): start over; late answers name the old
		 * session and are ignored. */
		int rc = recon_begin(p, false, now);
		if (rc)
			return rc;
	}
	if (p->pull_from && s->cfg.retry_ms &&
	    now - p->pull_at >= s->cfg.retry_ms) {
		p->pull_at = now;
		uint64_t v[1] = {p->pull_from};
		int rc = queue_u64s(p, CAIRN__MSG_PULL, 1, v);
		if (rc)
			return rc;
		return produce(p, now, out);
	}
	if (p->recon) {
		if (p->nqueue)
			return next_recon_q(p, out);
		if (p->sent_docs < p->nsend) {
			int rc = next_docs(p, out);
			if (rc)
				return rc;
		}
		if (!p->inflight && p->sent_docs >= p->nsend)
			return next_recon_end(p, now, out);
	} else if (p->streaming) {
		int rc = next_deltas(p, now, out);
		if (rc)
			return rc;
	}

	if (caught_up(p))
		p->last_sync = now;
	if (s->cfg.pull_ms && now >= p->next_pull) {
		p->next_pull = now + s->cfg.pull_ms;
		if (idle(p)) {
			const cairn_replica *r = replica(s);
			uint64_t last = cairn_store_last_seq(s->cfg.store);
			if (s->digest_seq != last + 1) {
				int rc = cairn_replica_digest(r, s->digest);
				if (rc)
					return rc;
				s->digest_seq = last + 1;
			}
			cairn__wr w;
			cairn__wr_init(&w, out);
			cairn__wr_array(&w, 3);
			cairn__wr_u64(&w, CAIRN__MSG_DIGEST);
			cairn__wr_bin(&w, s->digest, sizeof s->digest);
			cairn__wr_bool(&w, true);
			return w.err ? w.err : 1;
		}
	}
	if (hb && now - p->last_send >= hb) {
		cairn__wr w;
		cairn__wr_init(&w, out);
		cairn__wr_array(&w, 3);
		cairn__wr_u64(&w, CAIRN__MSG_PING);
		cairn__wr_u64(&w, now);
		cairn__wr_bool(&w, idle(p));
		return w.err ? w.err : 1;
	}
	return 0;
}

int cairn__sync_next(cairn__sync *s, cairn__peer *p, uint64_t now_ms,
                     cairn_buf *out)
{
	if (!s || !p || !out)
		return CAIRN_EINVAL;
	size_t start = out->len;
	int rc = produce(p, now_ms, out);
	if (rc < 0 && p->state == OPEN)
		/* An error of our own (memory, the store): say so. */
		bye(p, CAIRN__BYE_STORE, rc, false, "local failure: %s",
		    cairn_strerror(rc));
	if (rc < 0 && p->state == CLOSING) {
		out->len = start;
		rc = produce(p, now_ms, out); /* the BYE */
	}
	if (rc == 1) {
		rc = fragment(p, out, start);
		if (!rc && out->len == start)
			rc = next_frag(p, out);
		else if (!rc)
			rc = 1;
		if (rc == 1) {
			p->last_send = now_ms;
			p->msgs_out++;
			p->bytes_out += out->len - start;
		}
	} else if (rc < 0) {
		out->len = start;
	}
	return rc;
}

uint64_t cairn__sync_deadline(const cairn__sync *s, const cairn__peer *p)
{
	if (!s || !p || p->state != OPEN)
		return 0;
	uint64_t t = UINT64_MAX;
	uint64_t hb = s->cfg.heartbeat_ms;
	if (hb) {
		uint64_t a = p->last_send + hb;
		uint64_t b =
		        p->last_recv + hb * (uint64_t)s->cfg.heartbeat_miss;
		t = a < t ? a : t;
		t = b < t ? b : t;
	}
	if (p->ack_due && p->ack_at < t)
		t = p->ack_at;
	if (p->mark != p->mark_saved) {
		uint64_t m = p->mark_saved_at + s->cfg.mark_persist_ms;
		t = m < t ? m : t;
	}
	if (p->hello_recv && s->cfg.pull_ms && p->next_pull < t)
		t = p->next_pull;
	if (s->cfg.retry_ms && p->recon && p->inflight &&
	    p->recon_at + s->cfg.retry_ms < t)
		t = p->recon_at + s->cfg.retry_ms;
	if (s->cfg.retry_ms && p->pull_from && p->pull_at + s->cfg.retry_ms < t)
		t = p->pull_at + s->cfg.retry_ms;
	return t;
}

void cairn__sync_bye(cairn__sync *s, cairn__peer *p)
{
	if (s && p)
		bye(p, CAIRN__BYE_NORMAL, CAIRN_EAGAIN, false, "closing");
}

/* ---- receiving ---------------------------------------------------------- */

typedef struct visit_ctx {
	cairn__sync *s;
	cairn__peer *p;
	uint64_t max_hlc;
} visit_ctx;

static int on_field(void *ud, const char *doc, const char *field,
                    cairn_policy policy)
{
	(void)policy;
	visit_ctx *v = ud;
	v->s->cfg.events.change(v->s->cfg.events.ud, v->p, doc, field);
	return 0;
}

static int on_value(void *ud, const char *doc, const char *field,
                    const cairn_value *value, const cairn_stamp *st)
{
	(void)doc;
	(void)field;
	(void)value;
	visit_ctx *v = ud;
	if (st->hlc > v->max_hlc)
		v->max_hlc = st->hlc;
	return 0;
}

/* Join s->scratch into the store, as received from p. */
static int join_scratch(cairn__peer *p, uint64_t now)
{
	cairn__sync *s = p->s;
	bool changed = false;
	uint64_t seq = 0;
	int rc =
	        cairn_store_join(s->cfg.store, s->scratch, now, &changed, &seq);
	if (rc == CAIRN_ECLOCK_SKEW) {
		visit_ctx v = {s, p, 0};
		cairn_delta_visitor vis = {NULL, on_value, NULL};
		if (cairn_delta_visit(s->scratch, &vis, &v))
			v.max_hlc = 0;
		uint64_t ms = v.max_hlc >> 16;
		return bye(p, CAIRN__BYE_CLOCK_SKEW, rc, false,
		           "a delta stamped at %llu ms is %llu ms ahead of "
		           "the local clock %llu ms (at most %llu allowed); "
		           "refused",
		           (unsigned long long)ms,
		           (unsigned long long)(ms > now ? ms - now : 0),
		           (unsigned long long)now,
		           (unsigned long long)s->cfg.max_skew_ms);
	}
	if (rc == CAIRN_EPOLICY)
		return bye(p, CAIRN__BYE_POLICY, rc, false,
		           "register policies disagree: the peer's delta names "
		           "a policy this replica declares otherwise");
	if (rc)
		return bye(p, CAIRN__BYE_STORE, rc, false,
		           "the local store refused a join: %s",
		           cairn_strerror(rc));
	if (changed) {
		origin_note(s, seq, p->link);
		if (s->cfg.events.change) {
			visit_ctx v = {s, p, 0};
			cairn_delta_visitor vis = {on_field, NULL, NULL};
			if (cairn_delta_visit(s->scratch, &vis, &v))
				return 0; /* only the observers miss out */
		}
	}
	return 0;
}

/*
 * Decode one bin (a delta encoding) and fold it into s->scratch. Decoding
 * into an empty delta and joining that costs the size of the piece;
 * decoding straight into scratch would copy all of scratch each time (a
 * decode replaces its output whole, to leave it unchanged on error).
 */
static int take_delta(cairn__peer *p, cairn__rd *rd)
{
	cairn__sync *s = p->s;
	const uint8_t *b;
	uint32_t n;
	int rc = cairn__rd_bin(rd, &b, &n);
	cairn_delta_clear(s->piece);
	if (!rc)
		rc = cairn_delta_decode(s->piece, b, n, &s->limits);
	if (!rc)
		rc = cairn_delta_join(s->scratch, s->piece);
	cairn_delta_clear(s->piece);
	return rc;
}

static int protocol(cairn__peer *p, const char *what, int rc)
{
	return bye(p, CAIRN__BYE_PROTOCOL, CAIRN_EDECODE, false,
	           "malformed %s message (%s)", what, cairn_strerror(rc));
}

static int recv_hello(cairn__peer *p, cairn__rd *rd, uint32_t n, uint64_t now)
{
	cairn__sync *s = p->s;
	uint64_t f[8];
	if (n < 9)
		return protocol(p, "HELLO", CAIRN_EDECODE);
	for (int i = 0; i < 8; i++)
		if (cairn__rd_u64(rd, &f[i]))
			return protocol(p, "HELLO", CAIRN_EDECODE);
	if (p->hello_recv)
		return protocol(p, "second HELLO", CAIRN_EDECODE);
	if (f[0] != CAIRN__SYNC_VERSION)
		return bye(p, CAIRN__BYE_VERSION, CAIRN_EVERSION, false,
		           "sync protocol %llu is not spoken here (%d is)",
		           (unsigned long long)f[0], CAIRN__SYNC_VERSION);
	uint64_t hlc_ms = f[3] >> 16;
	if (hlc_ms > now && hlc_ms - now > s->cfg.max_skew_ms)
		return bye(p, CAIRN__BYE_CLOCK_SKEW, CAIRN_ECLOCK_SKEW, false,
		           "the peer's clock (HLC %llu ms) is %llu ms ahead of "
		           "the local clock %llu ms (at most %llu allowed)",
		           (unsigned long long)hlc_ms,
		           (unsigned long long)(hlc_ms - now),
		           (unsigned long long)now,
		           (unsigned long long)s->cfg.max_skew_ms);
	p->hello_recv = true;
	p->peer_last_seq = f[4];
	p->peer_doc_count = f[7];
	if (p->mark > f[4]) {
		/* The peer's log is behind what I hold of it: its store was
		 * replaced. Its numbers mean nothing now; start over. */
		p->mark = 0;
	}
	uint64_t have = f[6];
	uint64_t last = cairn_store_last_seq(s->cfg.store);
	uint64_t first = cairn_store_log_first(s->cfg.store);
	/* A peer with nothing gets my documents, not my history; one my
	 * log still reaches gets the log from where it is; any other, a
	 * reconciliation. */
	int rc = CAIRN_ENOTFOUND;
	bool empty = have == 0 && p->peer_doc_count == 0;
	if (!empty && have <= last && have + 1 >= first)
		rc = stream_from(p, have + 1);
	if (rc == 0) {
		p->acked = have;
	} else if (rc == CAIRN_ENOTFOUND || rc == CAIRN_EINVAL ||
	           rc == CAIRN_ECORRUPT) {
		p->acked = 0;
		rc = recon_begin(p, empty, now);
	}
	if (rc)
		return bye(p, CAIRN__BYE_STORE, rc, false,
		           "cannot read the log: %s", cairn_strerror(rc));
	if (s->cfg.events.peer_up)
		s->cfg.events.peer_up(s->cfg.events.ud, p);
	return 0;
}

static int recv_deltas(cairn__peer *p, cairn__rd *rd, uint32_t n, uint64_t now)
{
	cairn__sync *s = p->s;
	uint64_t from, to;
	uint32_t count;
	if (n != 4 || cairn__rd_u64(rd, &from) || cairn__rd_u64(rd, &to) ||
	    from == 0 || to + 1 < from || cairn__rd_array(rd, &count))
		return protocol(p, "DELTAS", CAIRN_EDECODE);
	cairn_delta_clear(s->scratch);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t two;
		uint64_t seq;
		int rc = cairn__rd_array(rd, &two);
		if (!rc && two != 2)
			rc = CAIRN_EDECODE;
		if (!rc)
			rc = cairn__rd_u64(rd, &seq);
		if (!rc && (seq < from || seq > to))
			rc = CAIRN_EDECODE;
		if (!rc)
			rc = take_delta(p, rd);
		if (rc == CAIRN_ENOMEM)
			return bye(p, CAIRN__BYE_STORE, rc, false,
			           "out of memory");
		if (rc)
			return protocol(p, "DELTAS", rc);
	}
	if (count) {
		int rc = join_scratch(p, now);
		if (rc)
			return rc;
	}
	if (to > p->peer_last_seq)
		p->peer_last_seq = to;
	p->peer_idle = false;
	if (from <= p->mark + 1) {
		if (to > p->mark)
			p->mark = to;
		p->pull_from = 0;
	} else if (p->pull_from != p->mark + 1) {
		/* A gap: something between was lost. What came is joined
		 * (any delta may be), but the mark waits for the rest. */
		p->pull_from = p->mark + 1;
		p->pull_at = now;
		uint64_t v[1] = {p->pull_from};
		int rc = queue_u64s(p, CAIRN__MSG_PULL, 1, v);
		if (rc)
			return rc;
	}
	if (!p->ack_due) {
		p->ack_due = true;
		p->ack_at = now + s->cfg.ack_ms;
	}
	return 0;
}

static int recv_docs(cairn__peer *p, cairn__rd *rd, uint32_t n, uint64_t now)
{
	cairn__sync *s = p->s;
	uint32_t count;
	if (n != 2 || cairn__rd_array(rd, &count))
		return protocol(p, "DOCS", CAIRN_EDECODE);
	cairn_delta_clear(s->scratch);
	for (uint32_t i = 0; i < count; i++) {
		int rc = take_delta(p, rd);
		if (rc == CAIRN_ENOMEM)
			return bye(p, CAIRN__BYE_STORE, rc, false,
			           "out of memory");
		if (rc)
			return protocol(p, "DOCS", rc);
	}
	return count ? join_scratch(p, now) : 0;
}

/* A RECON_Q of the peer: answer with lists or requests to split. */
static int recv_recon_q(cairn__peer *p, cairn__rd *rd, uint32_t n)
{
	cairn__sync *s = p->s;
	uint64_t sess;
	uint32_t count;
	if (n != 3 || cairn__rd_u64(rd, &sess) || cairn__rd_array(rd, &count))
		return protocol(p, "RECON_Q", CAIRN_EDECODE);
	if (!p->theirs.built || sess != p->their_sess) {
		int rc = rindex_build(&s->a, replica(s), &p->theirs);
		if (rc)
			return bye(p, CAIRN__BYE_STORE, rc, false,
			           "cannot index documents: %s",
			           cairn_strerror(rc));
		p->their_sess = sess;
	}
	cairn_buf *m = &s->tmp;
	m->len = 0;
	cairn__wr w;
	cairn__wr_init(&w, m);
	cairn__wr_array(&w, 3);
	cairn__wr_u64(&w, CAIRN__MSG_RECON_A);
	cairn__wr_u64(&w, sess);
	cairn__wr_array(&w, count);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t four;
		uint64_t depth, prefix, cnt, fp;
		if (cairn__rd_array(rd, &four) || four != 4 ||
		    cairn__rd_u64(rd, &depth) || cairn__rd_u64(rd, &prefix) ||
		    cairn__rd_u64(rd, &cnt) || cairn__rd_u64(rd, &fp) ||
		    depth > RECON_DEPTH ||
		    (depth < RECON_DEPTH && prefix >> (4 * depth)))
			return protocol(p, "RECON_Q", CAIRN_EDECODE);
		uint64_t mc, mf;
		rindex_summary(&p->theirs, (uint32_t)depth, prefix, &mc, &mf);
		cairn__wr_array(&w, 3);
		cairn__wr_u64(&w, depth);
		cairn__wr_u64(&w, prefix);
		if (mc == cnt && mf == fp) {
			cairn__wr_bool(&w, true); /* equal: nothing to do */
			continue;
		}
		if (mc > s->cfg.recon_leaf && depth < RECON_DEPTH) {
			cairn__wr_nil(&w); /* split it */
			continue;
		}
		size_t lo, hi;
		rindex_range(&p->theirs, (uint32_t)depth, prefix, &lo, &hi);
		if (hi - lo > RECON_LIST_MAX)
			hi = lo + RECON_LIST_MAX;
		cairn__wr_array(&w, (uint32_t)(hi - lo));
		for (size_t k = lo; k < hi; k++) {
			const char *id = cairn_doc_id(p->theirs.v[k].doc);
			cairn__wr_array(&w, 2);
			cairn__wr_str(&w, id, strlen(id));
			cairn__wr_u64(&w, p->theirs.v[k].h);
		}
	}
	return w.err ? w.err : queue_tmp(p);
}

/* The answer to my RECON_Q: queue documents and deeper nodes. */
static int recv_recon_a(cairn__peer *p, cairn__rd *rd, uint32_t n)
{
	uint64_t sess;
	uint32_t count;
	if (n != 3 || cairn__rd_u64(rd, &sess) || cairn__rd_array(rd, &count))
		return protocol(p, "RECON_A", CAIRN_EDECODE);
	if (!p->recon || sess != p->recon_sess)
		return 0; /* an answer to a session given up */
	if (count > p->inflight)
		return protocol(p, "RECON_A (unasked nodes)", CAIRN_EDECODE);
	p->recon_at = p->last_recv;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t three, items;
		uint64_t depth, prefix;
		if (cairn__rd_array(rd, &three) || three != 3 ||
		    cairn__rd_u64(rd, &depth) || cairn__rd_u64(rd, &prefix) ||
		    depth > RECON_DEPTH ||
		    (depth < RECON_DEPTH && prefix >> (4 * depth)))
			return protocol(p, "RECON_A", CAIRN_EDECODE);
		p->inflight--;
		size_t lo, hi;
		rindex_range(&p->mine, (uint32_t)depth, prefix, &lo, &hi);
		int rc = 0;
		if (cairn__rd_peek(rd) == 0xc3) {
			(void)cairn__rd_skip(rd); /* equal */
			continue;
		}
		if (cairn__rd_peek(rd) == 0xc0) {
			(void)cairn__rd_nil(rd);
			if (depth >= RECON_DEPTH)
				return protocol(p, "RECON_A (split a leaf)",
				                CAIRN_EDECODE);
			for (uint64_t c = 0; c < 16 && !rc; c++) {
				uint64_t cp = prefix * 16 + c, cnt, fp;
				rindex_summary(&p->mine, (uint32_t)depth + 1,
				               cp, &cnt, &fp);
				if (cnt)
					rc = queue_node(p, (uint32_t)depth + 1,
					                cp);
			}
			if (rc)
				return rc;
			continue;
		}
		if (cairn__rd_array(rd, &items) || items > RECON_LIST_MAX)
			return protocol(p, "RECON_A", CAIRN_EDECODE);
		const uint8_t *ids[RECON_LIST_MAX];
		uint32_t lens[RECON_LIST_MAX];
		uint64_t hs[RECON_LIST_MAX];
		for (uint32_t k = 0; k < items; k++) {
			uint32_t two;
			if (cairn__rd_array(rd, &two) || two != 2 ||
			    cairn__rd_str(rd, &ids[k], &lens[k]) ||
			    cairn__rd_u64(rd, &hs[k]))
				return protocol(p, "RECON_A", CAIRN_EDECODE);
		}
		for (size_t j = lo; j < hi && !rc; j++) {
			const ritem *it = &p->mine.v[j];
			const char *id = cairn_doc_id(it->doc);
			size_t idlen = strlen(id);
			bool same = false;
			for (uint32_t k = 0; k < items && !same; k++)
				same = lens[k] == idlen &&
				       !memcmp(ids[k], id, idlen) &&
				       hs[k] == it->h;
			if (!same)
				rc = queue_send(p, it->doc);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int recv_one(cairn__peer *p, const uint8_t *msg, size_t len,
                    uint64_t now, bool inner);

static int recv_frag(cairn__peer *p, cairn__rd *rd, uint32_t n, uint64_t now)
{
	cairn__sync *s = p->s;
	bool last;
	const uint8_t *b;
	uint32_t len;
	if (n != 3 || cairn__rd_bool(rd, &last) || cairn__rd_bin(rd, &b, &len))
		return protocol(p, "FRAG", CAIRN_EDECODE);
	if (p->frag.len + len > s->cfg.max_message)
		return bye(p, CAIRN__BYE_LIMIT, CAIRN_ELIMIT, false,
		           "a message over %llu bytes",
		           (unsigned long long)s->cfg.max_message);
	int rc = cairn_buf_append(&p->frag, b, len);
	if (rc)
		return bye(p, CAIRN__BYE_STORE, rc, false, "out of memory");
	if (!last)
		return 0;
	/* Process from a buffer of our own: p->frag is reused below. */
	cairn_buf whole = p->frag;
	cairn_buf_init(&p->frag, &s->a);
	rc = recv_one(p, whole.data, whole.len, now, true);
	cairn_buf_free(&whole);
	return rc;
}

static int bye_err(uint64_t code)
{
	switch (code) {
	case CAIRN__BYE_CLOCK_SKEW: return CAIRN_ECLOCK_SKEW;
	case CAIRN__BYE_NOT_ALLOWED: return CAIRN_EPOLICY;
	case CAIRN__BYE_VERSION: return CAIRN_EVERSION;
	case CAIRN__BYE_NORMAL: return CAIRN_EAGAIN;
	default: return CAIRN_EIO;
	}
}

static int recv_one(cairn__peer *p, const uint8_t *msg, size_t len,
                    uint64_t now, bool inner)
{
	cairn__sync *s = p->s;
	cairn_limits lim = s->limits;
	lim.max_depth = 8;
	int rc = cairn__msgpack_check(msg, len, &lim, NULL);
	if (rc)
		return protocol(p, "undecodable", rc);
	cairn__rd rd = {msg, msg + len};
	uint32_t n;
	uint64_t type;
	if (cairn__rd_array(&rd, &n) || n < 1 || cairn__rd_u64(&rd, &type))
		return protocol(p, "untyped", CAIRN_EDECODE);
	if (!p->hello_recv && type != CAIRN__MSG_HELLO &&
	    type != CAIRN__MSG_BYE)
		return protocol(p, "pre-HELLO", CAIRN_EDECODE);
	switch (type) {
	case CAIRN__MSG_HELLO: return recv_hello(p, &rd, n, now);
	case CAIRN__MSG_DELTAS: return recv_deltas(p, &rd, n, now);
	case CAIRN__MSG_ACK: {
		uint64_t v;
		if (n != 2 || cairn__rd_u64(&rd, &v))
			return protocol(p, "ACK", CAIRN_EDECODE);
		if (v > p->acked && v <= p->told_to)
			p->acked = v;
		return 0;
	}
	case CAIRN__MSG_PULL: {
		uint64_t from;
		if (n != 2 || cairn__rd_u64(&rd, &from) || from == 0)
			return protocol(p, "PULL", CAIRN_EDECODE);
		if (p->recon || !p->streaming || from > p->told_to + 1)
			return 0;
		rc = stream_from(p, from);
		if (rc == CAIRN_ENOTFOUND || rc == CAIRN_ECORRUPT)
			rc = recon_begin(p, false, now);
		return rc ? bye(p, CAIRN__BYE_STORE, rc, false,
		                "cannot rewind the log: %s", cairn_strerror(rc))
		          : 0;
	}
	case CAIRN__MSG_RECON_Q: return recv_recon_q(p, &rd, n);
	case CAIRN__MSG_RECON_A: return recv_recon_a(p, &rd, n);
	case CAIRN__MSG_RECON_END: {
		uint64_t sess, upto;
		if (n != 3 || cairn__rd_u64(&rd, &sess) ||
		    cairn__rd_u64(&rd, &upto))
			return protocol(p, "RECON_END", CAIRN_EDECODE);
		/* Every document state the peer had at `upto` arrived
		 * before this: its log up to there is reflected here. */
		p->mark = upto;
		p->pull_from = 0;
		if (upto > p->peer_last_seq)
			p->peer_last_seq = upto;
		p->ack_due = true;
		p->ack_at = now;
		return 0;
	}
	case CAIRN__MSG_DOCS: return recv_docs(p, &rd, n, now);
	case CAIRN__MSG_PING: {
		uint64_t t;
		bool drained;
		if (n != 3 || cairn__rd_u64(&rd, &t) ||
		    cairn__rd_bool(&rd, &drained))
			return protocol(p, "PING", CAIRN_EDECODE);
		p->peer_idle = drained;
		uint64_t v[1] = {t};
		return queue_u64s(p, CAIRN__MSG_PONG, 1, v);
	}
	case CAIRN__MSG_PONG: return 0;
	case CAIRN__MSG_BYE: {
		uint64_t code;
		const uint8_t *text;
		uint32_t tlen;
		if (n != 3 || cairn__rd_u64(&rd, &code) ||
		    cairn__rd_str(&rd, &text, &tlen))
			return protocol(p, "BYE", CAIRN_EDECODE);
		int e = bye_err(code);
		return bye(p, (unsigned)code, e, true, "the peer closed: %.*s",
		           (int)(tlen > 150 ? 150 : tlen), (const char *)text);
	}
	case CAIRN__MSG_FRAG:
		if (inner)
			return protocol(p, "nested FRAG", CAIRN_EDECODE);
		return recv_frag(p, &rd, n, now);
	case CAIRN__MSG_DIGEST: {
		const uint8_t *dg;
		uint32_t dlen;
		bool drained;
		if (n != 3 || cairn__rd_bin(&rd, &dg, &dlen) ||
		    dlen != CAIRN_DIGEST_BYTES || cairn__rd_bool(&rd, &drained))
			return protocol(p, "DIGEST", CAIRN_EDECODE);
		uint64_t mine = cairn_store_last_seq(s->cfg.store);
		p->peer_idle = drained;
		/* Only when both streams are drained and acknowledged can the
		 * states be compared; then a difference is a gap to repair
		 * (a lost message, a disk that lied). A comparison made in a
		 * race costs one reconciliation that finds little. */
		if (!drained || !idle(p))
			return 0;
		if (s->digest_seq != mine + 1) {
			rc = cairn_replica_digest(replica(s), s->digest);
			if (rc)
				return rc;
			s->digest_seq = mine + 1;
		}
		if (!memcmp(dg, s->digest, CAIRN_DIGEST_BYTES))
			return 0;
		return recon_begin(p, false, now);
	}
	default:
		/* Unknown types from a newer peer are skipped. */
		return 0;
	}
}

int cairn__sync_recv(cairn__sync *s, cairn__peer *p, const uint8_t *msg,
                     size_t len, uint64_t now_ms)
{
	if (!s || !p || (!msg && len))
		return CAIRN_EINVAL;
	if (p->state != OPEN)
		return p->close_rc;
	p->last_recv = now_ms;
	p->msgs_in++;
	p->bytes_in += len;
	return recv_one(p, msg, len, now_ms, false);
}

/* ---- status ------------------------------------------------------------- */

void cairn__sync_peer_state(const cairn__peer *p, cairn__peer_state *out)
{
	memset(out, 0, sizeof *out);
	if (!p)
		return;
	const cairn__sync *s = p->s;
	uint64_t last = cairn_store_last_seq(s->cfg.store);
	out->device = p->dev;
	out->hello = p->hello_recv;
	out->reconciling = p->recon;
	out->last_sync_ms = p->last_sync;
	out->outstanding_out =
	        idle(p) || last <= p->acked ? 0 : last - p->acked;
	out->outstanding_in = p->peer_idle || p->peer_last_seq <= p->mark
	                              ? 0
	                              : p->peer_last_seq - p->mark;
	out->msgs_in = p->msgs_in;
	out->msgs_out = p->msgs_out;
	out->bytes_in = p->bytes_in;
	out->bytes_out = p->bytes_out;
}

const char *cairn__sync_peer_error(const cairn__peer *p)
{
	return p ? p->error : "";
}
