/*
 * node_link.c -- one TCP link of a node: the secure link's handshake, then
 * frames in and out of the sync engine, then an orderly end.
 *
 * The pump is the flow control. The engine produces a message only when
 * asked (cairn__sync_next), and it is asked only while less than
 * LINK_WRITE_BOUND bytes sit on the socket's write queue; each completed
 * write asks again. So a peer that reads slowly holds at most that much
 * of our memory, and records written meanwhile leave later in larger
 * batches instead of piling up here. Frames are gathered into writes of
 * LINK_GATHER bytes while there is a backlog; a lone message goes out at
 * once.
 *
 * A link's memory lives until both of its handles are closed, which is
 * always a later turn of the loop than the call that ended it: a callback
 * that ends the link it was called for (an observer closing the node from
 * a change event, say) leaves it valid for the code that returns to it.
 */
#include "node_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct link_write {
	uv_write_t req;
	node_link *l;
	cairn_buf buf;
} link_write;

static void on_handle_closed(uv_handle_t *h);
static void on_timer(uv_timer_t *t);

node_link *node_link_new(cairn_node *n, node_dialer *d)
{
	node_link *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->node = n;
	l->dialer = d;
	cairn_buf_init(&l->out, NULL);
	cairn_buf_init(&l->msg, NULL);
	/* Neither fails on a live loop: they only link the handle in. */
	(void)uv_tcp_init(n->loop, &l->tcp);
	(void)uv_timer_init(n->loop, &l->timer);
	l->tcp.data = l;
	l->timer.data = l;
	l->open_handles = 2;
	l->state = d ? LINK_CONNECTING : LINK_HANDSHAKE;
	l->started_ms = node_now_ms();
	node_list_add(&n->links, &l->entry);
	n->nlinks++;
	/* The deadline counts from the first SYN: a connect that hangs and
	 * a peer that trickles its handshake are cut at the same time. */
	(void)uv_timer_start(&l->timer, on_timer, n->handshake_timeout_ms, 0);
	return l;
}

node_link *node_link_of_peer(cairn_node *n, const cairn__peer *p)
{
	if (n->recv_link && n->recv_link->peer == p)
		return n->recv_link;
	for (node_list *e = n->links.next; e != &n->links; e = e->next) {
		node_link *l = NODE_CONTAINER(e, node_link, entry);
		if (l->peer == p)
			return l;
	}
	return NULL;
}

void node_link_status(const node_link *l, cairn_peer_status *st)
{
	if (l->state == LINK_CLOSED) {
		*st = l->final;
		return;
	}
	memset(st, 0, sizeof *st);
	if (l->named)
		st->device = l->device;
	snprintf(st->address, sizeof st->address, "%s", l->address);
	st->dialled = l->dialer != NULL;
	st->connected = l->up && l->state == LINK_SYNC;
	st->connected_ms = l->up ? l->connected_ms : 0;
	st->bytes_in = l->bytes_in;
	st->bytes_out = l->bytes_out;
	snprintf(st->last_error, sizeof st->last_error, "%s", l->error);
	if (l->peer) {
		cairn__peer_state ps;
		cairn__sync_peer_state(l->peer, &ps);
		st->last_sync_ms = ps.last_sync_ms;
		st->outstanding_out = ps.outstanding_out;
		st->outstanding_in = ps.outstanding_in;
	}
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status)
{
	link_write *w = NODE_CONTAINER(req, link_write, req);
	node_link *l = w->l;
	l->inflight -= w->buf.len;
	cairn_buf_free(&w->buf);
	free(w);
	if (status < 0) {
		if (l->state != LINK_CLOSED)
			node_link_end(l, false, "writing failed: %s",
			              uv_strerror(status));
		return;
	}
	node_link_pump(l);
}

/* Hand what is gathered in l->out to the socket. false if the link
 * ended. */
static bool flush(node_link *l)
{
	if (l->out.len == 0)
		return true;
	link_write *w = malloc(sizeof *w);
	if (!w) {
		node_link_end(l, false, "out of memory");
		return false;
	}
	w->l = l;
	w->buf = l->out; /* the buffer moves to the request */
	cairn_buf_init(&l->out, NULL);
	uv_buf_t b = uv_buf_init((char *)w->buf.data, (unsigned)w->buf.len);
	int rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1, on_write);
	if (rc != 0) {
		cairn_buf_free(&w->buf);
		free(w);
		node_link_end(l, false, "writing failed: %s", uv_strerror(rc));
		return false;
	}
	l->inflight += b.len;
	l->bytes_out += b.len;
	return true;
}

static void arm_deadline(node_link *l)
{
	uint64_t at = cairn__sync_deadline(l->node->sync, l->peer);
	if (at == UINT64_MAX) {
		uv_timer_stop(&l->timer);
		return;
	}
	uint64_t now = node_now_ms();
	uint64_t delay = at > now ? at - now : 0;
	/* A wall clock that steps back must not park the link for long. */
	if (delay > 3600000u)
		delay = 3600000u;
	(void)uv_timer_start(&l->timer, on_timer, delay, 0);
}

void node_link_pump(node_link *l)
{
	if (l->state != LINK_SYNC || l->pumping)
		return;
	cairn_node *n = l->node;
	l->pumping = true;
	uint64_t now = node_now_ms();
	int rc = 0;
	while (l->state == LINK_SYNC &&
	       l->inflight + l->out.len < LINK_WRITE_BOUND) {
		cairn_buf_reset(&l->msg);
		rc = cairn__sync_next(n->sync, l->peer, now, &l->msg);
		if (rc <= 0)
			break;
		rc = cairn__link_seal(&l->sec, l->msg.data, l->msg.len,
		                      &l->out);
		if (rc != 0)
			break;
		if (l->out.len >= LINK_GATHER && !flush(l))
			break;
	}
	l->pumping = false;
	if (l->state != LINK_SYNC)
		return;
	if (!flush(l))
		return;
	/* The engine may have persisted a mark: make it durable. */
	(void)node_note_appended(n);
	if (rc < 0) {
		const char *why = cairn__sync_peer_error(l->peer);
		node_link_end(l, true, "%s", why[0] ? why : cairn_strerror(rc));
		return;
	}
	arm_deadline(l);
}

/* ------------------------------------------------------------------------ */
/* Ending                                                                   */
/* ------------------------------------------------------------------------ */

static void close_now(node_link *l)
{
	cairn_node *n = l->node;
	/* What the DOWN event will say, taken while the engine still has
	 * the peer. */
	node_link_status(l, &l->final);
	l->final.connected = false;
	l->state = LINK_CLOSED;
	if (l->peer) {
		/* The engine persists the peer's mark: a store record. */
		cairn__sync_detach(n->sync, l->peer);
		l->peer = NULL;
		(void)node_note_appended(n);
	}
	uv_read_stop((uv_stream_t *)&l->tcp);
	uv_timer_stop(&l->timer);
	uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&l->timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)req;
	(void)status;
	/* Our side is done; the peer's EOF, or the grace timer, closes. */
}

void node_link_end(node_link *l, bool graceful, const char *fmt, ...)
{
	if (l->state == LINK_CLOSED)
		return;
	if (!l->error[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(l->error, sizeof l->error, fmt, ap);
		va_end(ap);
	}
	if (l->state == LINK_CLOSING) {
		if (!graceful)
			close_now(l);
		return;
	}
	if (!graceful || l->state != LINK_SYNC) {
		/* Before the handshake is done nothing goes out, ever: a
		 * responder that refuses stays silent. */
		close_now(l);
		return;
	}
	cairn_node *n = l->node;
	/* The engine's last words: its BYE (queued by the error that ended
	 * the link, or by us now), then the closing frame. Bounded: after
	 * a BYE the engine returns an error. */
	if (!cairn__sync_peer_error(l->peer)[0])
		cairn__sync_bye(n->sync, l->peer);
	uint64_t now = node_now_ms();
	for (int i = 0; i < 8 && l->out.len < LINK_WRITE_BOUND; i++) {
		cairn_buf_reset(&l->msg);
		if (cairn__sync_next(n->sync, l->peer, now, &l->msg) <= 0 ||
		    cairn__link_seal(&l->sec, l->msg.data, l->msg.len,
		                     &l->out) != 0)
			break;
	}
	/* Without memory for the final frame the peer sees a cut link,
	 * after our BYE: it learns no less. */
	int closing = cairn__link_close(&l->sec, &l->out);
	(void)closing;
	l->state = LINK_CLOSING;
	if (!flush(l))
		return;
	if (uv_shutdown(&l->shutdown, (uv_stream_t *)&l->tcp, on_shutdown) !=
	    0) {
		close_now(l);
		return;
	}
	/* Keep reading (and dropping) until the peer hangs up: closing with
	 * unread bytes would reset the connection and could destroy our
	 * BYE before the peer reads it. */
	(void)uv_timer_start(&l->timer, on_timer, LINK_CLOSE_GRACE_MS, 0);
}

static void link_gone(node_link *l)
{
	cairn_node *n = l->node;
	node_list_del(&l->entry);
	n->nlinks--;
	char id[CAIRN_DEVICE_ID_TEXT];
	cairn_device_id_to_text(&l->device, id);
	if (l->attached) {
		node_log(n, "link down %s %s: %s", id, l->address,
		         l->error[0] ? l->error : "closed");
		if (n->obs.peer) {
			/* The observer may do anything, close the node
			 * included: the link is out of every list. */
			n->obs.peer(n->obs.ud, CAIRN_PEER_DOWN, &l->final);
		}
		node_dialers_uncover(n, &l->device);
	} else if (!l->dialer && l->sec_ready && !n->closing) {
		node_log_refusal(n, "link from %s failed: %s", l->address,
		                 l->error);
	}
	if (l->dialer)
		node_dialer_link_ended(l->dialer, l);
	cairn__link_wipe(&l->sec);
	cairn_buf_free(&l->out);
	cairn_buf_free(&l->msg);
	free(l);
	node_maybe_finish(n);
}

static void on_handle_closed(uv_handle_t *h)
{
	node_link *l = h->data;
	if (--l->open_handles == 0)
		link_gone(l);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * One buffer serves every link: libuv calls alloc, reads, and calls the
 * read callback for one stream before it touches the next, and the bytes
 * are consumed (into the secure link, which keeps a partial frame) before
 * the callback returns.
 */
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)hint;
	node_link *l = h->data;
	*buf = uv_buf_init((char *)l->node->read_buf, NODE_READ_BYTES);
}

static void handshake_done(node_link *l, const cairn__link_event *ev);

/*
 * What the secure link made of the bytes: a handshake, a message for the
 * engine, or an end. false when the link ended (stop feeding it).
 */
static bool on_event(node_link *l, const cairn__link_event *ev, uint64_t now)
{
	cairn_node *n = l->node;
	switch (ev->type) {
	case CAIRN__LINK_EV_NONE: return true;
	case CAIRN__LINK_EV_HANDSHAKE:
		/* The initiator's third message is in l->out. */
		if (!flush(l))
			return false;
		handshake_done(l, ev);
		return l->state == LINK_SYNC;
	case CAIRN__LINK_EV_MESSAGE: {
		if (l->state != LINK_SYNC)
			return false;
		n->recv_link = l;
		int rc = cairn__sync_recv(n->sync, l->peer, ev->msg,
		                          ev->msg_len, now);
		n->recv_link = NULL;
		/* Now that the engine is out of the way, the application may
		 * hear of it (and write, or close, from its observers). */
		node_fire_events(n, l);
		if (rc < 0 && l->state == LINK_SYNC) {
			const char *why = cairn__sync_peer_error(l->peer);
			node_link_end(l, true, "%s",
			              why[0] ? why : cairn_strerror(rc));
		}
		return l->state == LINK_SYNC;
	}
	case CAIRN__LINK_EV_DROP:
		/* A responder that has not spoken stays silent. */
		node_link_end(l, false, "%s", ev->reason);
		return false;
	case CAIRN__LINK_EV_CLOSED:
		if (ev->err == 0) {
			/* The peer's final frame: answer with ours. */
			node_link_end(l, true, "%s", ev->reason);
		} else {
			node_link_end(l, false, "%s", ev->reason);
		}
		return false;
	}
	return false;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	node_link *l = s->data;
	cairn_node *n = l->node;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (l->state == LINK_HANDSHAKE || l->state == LINK_SYNC) {
			cairn__link_event ev;
			if (nread != UV_EOF)
				node_link_end(l, false, "reading failed: %s",
				              uv_strerror((int)nread));
			else if (cairn__link_eof(&l->sec, &ev) != 0)
				node_link_end(l, false, "%s", ev.reason);
			else
				node_link_end(l, false,
				              "the peer closed the "
				              "link");
		} else {
			node_link_end(l, false, "the peer hung up");
		}
		return;
	}
	l->bytes_in += (uint64_t)nread;
	if (l->state != LINK_HANDSHAKE && l->state != LINK_SYNC)
		return; /* closing: dropped */
	uint64_t now = node_now_ms();
	uint64_t before = cairn_store_last_seq(n->store);
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t left = (size_t)nread;
	for (;;) {
		cairn__link_event ev;
		size_t used = 0;
		int rc = cairn__link_feed(&l->sec, p, left, now, &l->out, &used,
		                          &ev);
		p += used;
		left -= used;
		if (rc == CAIRN_ENOMEM) {
			node_link_end(l, false, "out of memory");
			break;
		}
		if (!on_event(l, &ev, now) || ev.type == CAIRN__LINK_EV_NONE)
			break;
	}
	/* A responder's second message. */
	if (l->state == LINK_HANDSHAKE)
		(void)flush(l);
	/* What the peer sent may be news for the other links. */
	if (cairn_store_last_seq(n->store) > before)
		node_want_durable(n);
	node_link_pump(l);
}

/* ------------------------------------------------------------------------ */
/* Starting                                                                 */
/* ------------------------------------------------------------------------ */

/* The device that began link l: us if we dialled. */
static const cairn_device_id *initiator(const node_link *l)
{
	return l->dialer ? &l->node->self : &l->device;
}

/*
 * Two links to one device (both sides dialled each other, or a device
 * reached at two addresses): keep one, the same one on both sides without
 * a word between them: the link begun by the smaller device id, else the
 * older. true if l is the one to keep.
 */
static bool keep_new(const node_link *l, const node_link *old)
{
	int c = memcmp(initiator(l)->bytes, initiator(old)->bytes,
	               CAIRN_DEVICE_ID_BYTES);
	return c < 0;
}

static void handshake_done(node_link *l, const cairn__link_event *ev)
{
	cairn_node *n = l->node;
	l->device = ev->peer_id;
	l->named = true;
	char id[CAIRN_DEVICE_ID_TEXT];
	cairn_device_id_to_text(&l->device, id);
	if (l->dialer) {
		l->dialer->device = l->device;
		l->dialer->named = true;
	}
	if (cairn_device_id_equal(&l->device, &n->self)) {
		node_link_end(l, false, "%s is this device", l->address);
		return;
	}
	for (node_list *e = n->links.next; e != &n->links; e = e->next) {
		node_link *o = NODE_CONTAINER(e, node_link, entry);
		if (o == l || !o->attached || o->state != LINK_SYNC ||
		    !cairn_device_id_equal(&o->device, &l->device))
			continue;
		if (!keep_new(l, o)) {
			/* Its dialler waits for the other link to end. */
			if (l->dialer)
				l->dialer->covered = true;
			node_link_end(l, false, "a link to %.12s is up already",
			              id);
			return;
		}
		if (o->dialer)
			o->dialer->covered = true;
		node_link_end(o, true, "replaced by a link from %s",
		              l->address);
		break;
	}
	int rc = cairn__sync_attach(n->sync, &l->device, node_now_ms(),
	                            &l->peer);
	if (rc != 0) {
		node_link_end(l, false, "%s", cairn_strerror(rc));
		return;
	}
	l->attached = true;
	l->state = LINK_SYNC;
	uv_timer_stop(&l->timer);
}

int node_link_start(node_link *l)
{
	cairn_node *n = l->node;
	/* Small frames must not wait for Nagle; a dead peer behind a quiet
	 * link is found by the heartbeats, keepalive only helps NATs. */
	(void)uv_tcp_nodelay(&l->tcp, 1);
	(void)uv_tcp_keepalive(&l->tcp, 1, 60);
	cairn__link_config lc;
	cairn__link_config_init(&lc);
	lc.identity = &n->identity;
	lc.mesh_key = &n->mesh_key;
	lc.max_clock_skew_ms = n->max_clock_skew_ms;
	if (!l->dialer) {
		lc.replay = &n->replay;
		lc.ratelimit = &n->limiter;
		/* One host usually owns a whole IPv6 /64. */
		lc.peer_addr = l->ip;
		lc.peer_addr_len = l->ip_len == 16 ? 8 : l->ip_len;
	}
	int rc = cairn__link_init(&l->sec,
	                          l->dialer ? CAIRN__LINK_INITIATOR
	                                    : CAIRN__LINK_RESPONDER,
	                          &lc, node_now_ms());
	if (rc != 0)
		return rc;
	l->sec_ready = true;
	l->state = LINK_HANDSHAKE;
	if (uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read) != 0)
		return CAIRN_EIO;
	if (l->dialer) {
		rc = cairn__link_start(&l->sec, &l->out);
		if (rc != 0)
			return rc;
	}
	return flush(l) ? 0 : CAIRN_EIO;
}

static void on_timer(uv_timer_t *t)
{
	node_link *l = t->data;
	switch (l->state) {
	case LINK_CONNECTING:
	case LINK_HANDSHAKE:
		node_link_end(l, false, "no handshake within %u ms",
		              (unsigned)l->node->handshake_timeout_ms);
		break;
	case LINK_SYNC: node_link_pump(l); break;
	case LINK_CLOSING: close_now(l); break;
	case LINK_CLOSED: break;
	}
}
