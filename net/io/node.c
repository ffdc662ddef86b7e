/*
 * node.c -- a replica syncing over TCP on the caller's libuv loop
 * (include/cairn/net.h, "The node"): configuration, writes and their
 * durability, posts from other threads, status, and closing. The links
 * are in node_link.c, listening and dialling in node_net.c.
 *
 * Durability drives the pushes. The engine streams only durable records
 * (a peer must never learn a write that a crash here could take back), so
 * every path that appends to the store -- a write through the node, a
 * join of a peer's records, a mark the engine persists -- ends in
 * node_want_durable(): with a GROUP store one fsync request at a time
 * goes to the store loop, for the highest record wanted so far; when it
 * is answered every link is pumped. Writers share fsyncs and the loop
 * never waits for one.
 */
#include "node_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* ------------------------------------------------------------------------ */
/* Small things                                                             */
/* ------------------------------------------------------------------------ */

void node_list_init(node_list *l)
{
	l->prev = l->next = l;
}

void node_list_add(node_list *l, node_list *e)
{
	e->prev = l->prev;
	e->next = l;
	l->prev->next = e;
	l->prev = e;
}

void node_list_del(node_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

bool node_list_empty(const node_list *l)
{
	return l->next == l;
}

uint64_t node_now_ms(void)
{
	uv_timeval64_t tv;
	if (uv_gettimeofday(&tv) != 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

void node_log(cairn_node *n, const char *fmt, ...)
{
	if (!n->obs.log)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	n->obs.log(n->obs.ud, line);
}

int node_parse_address(const char *text, char *host, size_t host_cap,
                       uint16_t *port)
{
	if (!text)
		return CAIRN_EINVAL;
	const char *colon, *h = text;
	size_t hlen;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end || end[1] != ':')
			return CAIRN_EINVAL;
		h = text + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text)))
			return CAIRN_EINVAL; /* v6 needs brackets */
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= host_cap)
		return CAIRN_EINVAL;
	const char *p = colon + 1;
	unsigned long v = 0;
	if (*p == '\0')
		return CAIRN_EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' ||
		    (v = v * 10 + (unsigned)(*p - '0')) > 65535)
			return CAIRN_EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)v;
	return 0;
}

void node_format_address(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[64] = "?";
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		uv_ip4_name(in, ip, sizeof ip);
		snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		uv_ip6_name(in6, ip, sizeof ip);
		snprintf(out, cap, "[%s]:%u", ip,
		         (unsigned)ntohs(in6->sin6_port));
	} else {
		snprintf(out, cap, "?");
	}
}

/* ------------------------------------------------------------------------ */
/* The engine's events                                                      */
/* ------------------------------------------------------------------------ */

/*
 * The engine's events arrive inside cairn__sync_recv(). They are noted
 * here and fired by node_fire_events() once it has returned.
 */
static void on_sync_change(void *ud, cairn__peer *p, const char *doc_id,
                           const char *field)
{
	(void)p;
	cairn_node *n = ud;
	if (!n->obs.change)
		return;
	size_t before = n->changes.len;
	if (cairn_buf_append(&n->changes, doc_id, strlen(doc_id) + 1) != 0 ||
	    cairn_buf_append(&n->changes, field, strlen(field) + 1) != 0) {
		n->changes.len = before;
		n->changes_lost++;
	}
}

static void on_sync_peer_up(void *ud, cairn__peer *p)
{
	cairn_node *n = ud;
	node_link *l = node_link_of_peer(n, p);
	if (!l || l->up)
		return;
	l->up = true;
	l->up_owed = true;
	l->connected_ms = node_now_ms();
	if (l->dialer)
		l->dialer->reconnects = 0;
}

void node_fire_events(cairn_node *n, node_link *l)
{
	if (l->up_owed) {
		l->up_owed = false;
		char id[CAIRN_DEVICE_ID_TEXT];
		cairn_device_id_to_text(&l->device, id);
		node_log(n, "link up %s %s", id, l->address);
		if (n->obs.peer) {
			cairn_peer_status st;
			node_link_status(l, &st);
			n->obs.peer(n->obs.ud, CAIRN_PEER_UP, &st);
		}
	}
	if (n->changes_lost) {
		node_log(n, "out of memory: %llu change events were lost",
		         (unsigned long long)n->changes_lost);
		n->changes_lost = 0;
	}
	if (n->changes.len == 0)
		return;
	/* Take the events: an observer runs no engine, so nothing is
	 * added meanwhile, but keep the buffer out of its reach anyway. */
	cairn_buf ev = n->changes;
	cairn_buf_init(&n->changes, NULL);
	for (size_t off = 0; off < ev.len;) {
		const char *doc = (const char *)ev.data + off;
		const char *field = doc + strlen(doc) + 1;
		off = (size_t)(field + strlen(field) + 1 -
		               (const char *)ev.data);
		n->obs.change(n->obs.ud, doc, field);
	}
	cairn_buf_free(&ev);
}

/* ------------------------------------------------------------------------ */
/* Durability and pushes                                                    */
/* ------------------------------------------------------------------------ */

static void on_kick(uv_timer_t *t);

void node_kick_soon(cairn_node *n)
{
	if (!uv_is_active((uv_handle_t *)&n->kick) && !n->sl_closing)
		(void)uv_timer_start(&n->kick, on_kick, 0, 0);
}

/*
 * Answer the flushes that are settled: with 0 those whose records are
 * durable, with the store's error all of them once an fsync failed, and
 * with `force` (non-zero) whatever is left. Never called from inside a
 * call of the application's; a callback may flush again (its request
 * joins the list and waits for the next answer).
 */
static void answer_flushes(cairn_node *n, int force)
{
	node_flush *f = n->flushes;
	n->flushes = NULL;
	n->flushes_tail = &n->flushes;
	uint64_t durable = cairn_store_durable_seq(n->store);
	while (f) {
		node_flush *next = f->next;
		int status = f->seq <= durable  ? 0
		             : n->durable_error ? n->durable_error
		                                : force;
		if (status == 0 && f->seq > durable) {
			f->next = NULL;
			*n->flushes_tail = f;
			n->flushes_tail = &f->next;
		} else {
			f->cb(f->ud, status);
			free(f);
		}
		f = next;
	}
}

static void request_durable(cairn_node *n, uint64_t seq);

/* The store failed to make records durable: it is poisoned for good. */
static void durable_failed(cairn_node *n, int err)
{
	if (n->durable_error)
		return;
	n->durable_error = err;
	node_log(n,
	         "store: an fsync failed (%s): writes after record %llu are "
	         "not durable and are not sent; restart to recover",
	         cairn_strerror(err),
	         (unsigned long long)cairn_store_durable_seq(n->store));
	node_kick_soon(n); /* answers the flushes */
}

static void on_durable(void *ud, uint64_t seq, int status)
{
	cairn_node *n = ud;
	n->durable_pending = false;
	if (status == CAIRN_EINVAL)
		return; /* the node is closing: on_sl_closed() answers */
	if (status != 0) {
		durable_failed(n, status);
		return;
	}
	node_kick_soon(n);
	if (n->durable_want > seq)
		request_durable(n, n->durable_want);
}

static void request_durable(cairn_node *n, uint64_t seq)
{
	if (seq > n->durable_want)
		n->durable_want = seq;
	if (n->durable_pending || n->sl_closing || n->durable_error)
		return;
	int rc = cairn_store_loop_durable(n->sl, seq, on_durable, n);
	if (rc == 0)
		n->durable_pending = true;
	else
		durable_failed(n, rc);
}

bool node_note_appended(cairn_node *n)
{
	uint64_t last = cairn_store_last_seq(n->store);
	if (!n->sl || last <= cairn_store_durable_seq(n->store))
		return false;
	request_durable(n, last);
	return true;
}

void node_want_durable(cairn_node *n)
{
	if (node_note_appended(n))
		return; /* on_durable() kicks */
	node_kick_soon(n);
}

void node_log_refusal(cairn_node *n, const char *fmt, ...)
{
	uint64_t now = node_now_ms();
	if (now - n->refuse_logged_ms < REFUSE_LOG_MS) {
		n->refused_quiet++;
		return;
	}
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n->refused_quiet)
		node_log(n,
		         "%s (and %llu more refused since the last such line)",
		         line, (unsigned long long)n->refused_quiet);
	else
		node_log(n, "%s", line);
	n->refuse_logged_ms = now;
	n->refused_quiet = 0;
}

static void on_kick(uv_timer_t *t)
{
	cairn_node *n = t->data;
	answer_flushes(n, 0);
	for (node_list *e = n->links.next, *next; e != &n->links; e = next) {
		next = e->next; /* a pump may end the link */
		node_link_pump(NODE_CONTAINER(e, node_link, entry));
	}
	node_maybe_finish(n);
}

/* ------------------------------------------------------------------------ */
/* Posts from other threads                                                 */
/* ------------------------------------------------------------------------ */

static void run_posts(cairn_node *n)
{
	uv_mutex_lock(&n->post_mutex);
	node_post *p = n->posts;
	n->posts = NULL;
	n->posts_tail = &n->posts;
	uv_mutex_unlock(&n->post_mutex);
	while (p) {
		node_post *next = p->next;
		p->fn(n, p->ud);
		free(p);
		p = next;
	}
}

static void on_async(uv_async_t *a)
{
	run_posts(a->data);
}

int cairn_node_post(cairn_node *n, void (*fn)(cairn_node *n, void *ud),
                    void *ud)
{
	if (!n || !fn)
		return CAIRN_EINVAL;
	node_post *p = malloc(sizeof *p);
	if (!p)
		return CAIRN_ENOMEM;
	*p = (node_post){NULL, fn, ud};
	uv_mutex_lock(&n->post_mutex);
	if (n->post_closed) {
		uv_mutex_unlock(&n->post_mutex);
		free(p);
		return CAIRN_EINVAL;
	}
	*n->posts_tail = p;
	n->posts_tail = &p->next;
	/* Under the mutex: the closing thread cannot close the handle
	 * between the check and the send. */
	(void)uv_async_send(&n->async);
	uv_mutex_unlock(&n->post_mutex);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Creating a node                                                          */
/* ------------------------------------------------------------------------ */

void cairn_node_config_init(cairn_node_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->heartbeat_ms = 15000;
	cfg->handshake_timeout_ms = 10000;
	cfg->backoff_min_ms = 250;
	cfg->backoff_max_ms = 30000;
	cfg->max_links = 256;
	cfg->max_links_per_ip = 16;
	cfg->handshakes_per_s = 20;
	cfg->max_clock_skew_ms = 120000;
}

static void free_node(cairn_node *n)
{
	cairn__sync_free(n->sync);
	cairn__ratelimit_free(&n->limiter);
	cairn__replay_free(&n->replay);
	free(n->allow);
	free(n->read_buf);
	cairn_buf_free(&n->changes);
	if (n->mutex_ready)
		uv_mutex_destroy(&n->post_mutex);
	sodium_memzero(&n->identity, sizeof n->identity);
	sodium_memzero(&n->mesh_key, sizeof n->mesh_key);
	free(n);
}

int cairn_node_new_(struct uv_loop_s *loop, const cairn_node_config *cfg,
                    size_t cfg_size, cairn_node **out)
{
	if (cfg_size != sizeof(cairn_node_config))
		return CAIRN_EVERSION;
	if (!loop || !cfg || !cfg->store || !out ||
	    (cfg->nallow && !cfg->allow))
		return CAIRN_EINVAL;
	if (sodium_init() < 0)
		return CAIRN_EIO;
	cairn_node_config d;
	cairn_node_config_init(&d);
	cairn_node *n = calloc(1, sizeof *n);
	if (!n)
		return CAIRN_ENOMEM;
	n->loop = loop;
	n->store = cfg->store;
	n->identity = cfg->identity;
	n->mesh_key = cfg->mesh_key;
	cairn_identity_device_id(&n->identity, &n->self);
	n->obs = cfg->observers;
#define OR_DEFAULT(f) (cfg->f ? cfg->f : d.f)
	n->handshake_timeout_ms = OR_DEFAULT(handshake_timeout_ms);
	n->backoff_min_ms = OR_DEFAULT(backoff_min_ms);
	n->backoff_max_ms = OR_DEFAULT(backoff_max_ms);
	if (n->backoff_max_ms < n->backoff_min_ms)
		n->backoff_max_ms = n->backoff_min_ms;
	n->max_links = OR_DEFAULT(max_links);
	n->max_links_per_ip = OR_DEFAULT(max_links_per_ip);
	n->max_clock_skew_ms = OR_DEFAULT(max_clock_skew_ms);
	cairn_buf_init(&n->changes, NULL);
	node_list_init(&n->links);
	node_list_init(&n->dialers);
	node_list_init(&n->listeners);
	n->flushes_tail = &n->flushes;
	n->posts_tail = &n->posts;

	int rc = CAIRN_ENOMEM;
	n->read_buf = malloc(NODE_READ_BYTES);
	if (cfg->nallow) {
		n->allow = malloc(cfg->nallow * sizeof *n->allow);
		if (!n->allow)
			goto fail;
		memcpy(n->allow, cfg->allow, cfg->nallow * sizeof *n->allow);
		n->nallow = cfg->nallow;
	}
	if (!n->read_buf)
		goto fail;
	cairn__ratelimit_config rl;
	cairn__ratelimit_config_init(&rl); /* burst 5, 4,096 addresses */
	rl.per_second = OR_DEFAULT(handshakes_per_s);
	rc = cairn__ratelimit_init(&n->limiter, &rl, NULL);
	if (rc == 0)
		rc = cairn__replay_init(&n->replay,
		                        CAIRN__REPLAY_DEFAULT_CAPACITY, NULL);
	if (rc != 0)
		goto fail;

	cairn__sync_config sc;
	cairn__sync_config_init(&sc);
	sc.store = n->store;
	sc.self = n->self;
	sc.events.ud = n;
	sc.events.change = on_sync_change;
	sc.events.peer_up = on_sync_peer_up;
	/* An empty list given is "no one", not "anyone". */
	static const cairn_device_id no_one;
	sc.allow = cfg->allow ? (n->allow ? n->allow : &no_one) : NULL;
	sc.nallow = n->nallow;
	sc.heartbeat_ms = OR_DEFAULT(heartbeat_ms);
	sc.send_durable_only = true;
#undef OR_DEFAULT
	rc = cairn__sync_new(&sc, &n->sync);
	if (rc != 0)
		goto fail;
	if (cairn_store_sync_policy(n->store) == CAIRN_SYNC_GROUP) {
		rc = cairn_store_loop_new(loop, n->store, &n->sl);
		if (rc != 0)
			goto fail;
	}
	if (uv_mutex_init(&n->post_mutex) != 0) {
		rc = CAIRN_ENOMEM;
		goto fail_sl;
	}
	n->mutex_ready = true;
	if (uv_async_init(loop, &n->async, on_async) != 0) {
		rc = CAIRN_ENOMEM;
		goto fail_sl;
	}
	n->async.data = n;
	/* Cannot fail on a live loop (it only links the handle in). */
	(void)uv_timer_init(loop, &n->kick);
	n->kick.data = n;
	n->open_handles = 2;
	*out = n;
	return 0;
fail_sl:
	if (n->sl) {
		/* A fresh driver has nothing to answer; its close only waits
		 * for its timer handle, which the caller's loop reaps. */
		cairn_store_loop_close(n->sl, NULL, NULL);
	}
fail:
	free_node(n);
	return rc;
}

void cairn_node_device_id(const cairn_node *n, cairn_device_id *out)
{
	*out = n->self;
}

/* ------------------------------------------------------------------------ */
/* Writes                                                                   */
/* ------------------------------------------------------------------------ */

static int written(cairn_node *n, int rc)
{
	if (rc == 0)
		node_want_durable(n);
	return rc;
}

int cairn_node_set(cairn_node *n, const char *doc_id, const char *field,
                   const cairn_value *v)
{
	return written(
	        n, cairn_store_set(n->store, doc_id, field, v, 0, NULL, NULL));
}

int cairn_node_del(cairn_node *n, const char *doc_id, const char *field)
{
	return written(n, cairn_store_del(n->store, doc_id, field, NULL, NULL));
}

int cairn_node_add(cairn_node *n, const char *doc_id, const char *field,
                   const cairn_value *elem)
{
	return written(
	        n, cairn_store_add(n->store, doc_id, field, elem, NULL, NULL));
}

int cairn_node_rm(cairn_node *n, const char *doc_id, const char *field,
                  const cairn_value *elem)
{
	return written(
	        n, cairn_store_rm(n->store, doc_id, field, elem, NULL, NULL));
}

void cairn_node_kick(cairn_node *n)
{
	node_want_durable(n);
}

int cairn_node_flush(cairn_node *n, void (*done)(void *ud, int status),
                     void *ud)
{
	if (!n || !done || n->sl_closing)
		return CAIRN_EINVAL;
	node_flush *f = malloc(sizeof *f);
	if (!f)
		return CAIRN_ENOMEM;
	*f = (node_flush){NULL, n, cairn_store_last_seq(n->store), done, ud};
	*n->flushes_tail = f;
	n->flushes_tail = &f->next;
	/* Answered from the kick (never inside this call), once durable. */
	node_want_durable(n);
	if (f->seq <= cairn_store_durable_seq(n->store))
		node_kick_soon(n);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Status                                                                   */
/* ------------------------------------------------------------------------ */

int cairn_node_peers(const cairn_node *n, cairn_peer_status *out, size_t cap,
                     size_t *count)
{
	size_t k = 0;
	for (const node_list *e = n->dialers.next; e != &n->dialers;
	     e = e->next)
		k++;
	for (const node_list *e = n->links.next; e != &n->links; e = e->next) {
		const node_link *l = NODE_CONTAINER(e, node_link, entry);
		if (!l->dialer && l->peer && l->state == LINK_SYNC)
			k++;
	}
	*count = k;
	if (k > cap)
		return CAIRN_ESPACE;
	k = 0;
	for (const node_list *e = n->dialers.next; e != &n->dialers;
	     e = e->next) {
		const node_dialer *d = NODE_CONTAINER(e, node_dialer, entry);
		cairn_peer_status *st = &out[k++];
		if (d->link) {
			node_link_status(d->link, st);
		} else {
			memset(st, 0, sizeof *st);
			if (d->named)
				st->device = d->device;
			st->dialled = true;
		}
		snprintf(st->address, sizeof st->address, "%s", d->host_port);
		st->reconnects = d->reconnects;
		if (!st->connected || !st->last_error[0])
			snprintf(st->last_error, sizeof st->last_error, "%s",
			         d->error);
	}
	for (const node_list *e = n->links.next; e != &n->links; e = e->next) {
		const node_link *l = NODE_CONTAINER(e, node_link, entry);
		if (!l->dialer && l->peer && l->state == LINK_SYNC)
			node_link_status(l, &out[k++]);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Closing                                                                  */
/* ------------------------------------------------------------------------ */

static void finish(cairn_node *n)
{
	void (*closed)(void *) = n->closed;
	void *ud = n->closed_ud;
	free_node(n);
	if (closed)
		closed(ud);
}

static void on_sl_closed(void *ud)
{
	cairn_node *n = ud;
	n->sl = NULL;
	/* Flushes still waiting learn that their records may not be
	 * durable yet (they will be once the store closes). */
	answer_flushes(n, CAIRN_EINVAL);
	if (n->open_handles == 0)
		finish(n);
}

static void on_handle_closed(uv_handle_t *h)
{
	cairn_node *n = h->data;
	if (--n->open_handles == 0 && !n->sl)
		finish(n);
}

/*
 * The last steps, once every link, listener and dialer is gone: run what
 * was posted meanwhile, stop taking posts, close the node's own handles
 * and the store driver (which answers durability requests still waiting),
 * then free the node and say so.
 */
void node_maybe_finish(cairn_node *n)
{
	if (!n->closing || n->sl_closing || !node_list_empty(&n->links) ||
	    !node_list_empty(&n->dialers) || !node_list_empty(&n->listeners))
		return;
	run_posts(n);
	uv_mutex_lock(&n->post_mutex);
	n->post_closed = true;
	uv_mutex_unlock(&n->post_mutex);
	run_posts(n); /* posted between the two */
	/* Flushes whose records are durable get their 0 first. */
	answer_flushes(n, 0);
	n->sl_closing = true;
	uv_timer_stop(&n->kick);
	uv_close((uv_handle_t *)&n->kick, on_handle_closed);
	uv_close((uv_handle_t *)&n->async, on_handle_closed);
	if (n->sl)
		cairn_store_loop_close(n->sl, on_sl_closed, n);
	else /* EVERY/NONE: what is not durable yet waits for the store's
	        close, which comes after `closed` */
		answer_flushes(n, CAIRN_EINVAL);
}

void cairn_node_close(cairn_node *n, void (*closed)(void *ud), void *ud)
{
	if (!n || n->closing)
		return;
	n->closing = true;
	n->closed = closed;
	n->closed_ud = ud;
	for (node_list *e = n->listeners.next, *next; e != &n->listeners;
	     e = next) {
		next = e->next;
		node_listener_close(NODE_CONTAINER(e, node_listener, entry));
	}
	for (node_list *e = n->links.next, *next; e != &n->links; e = next) {
		next = e->next;
		node_link_end(NODE_CONTAINER(e, node_link, entry), true,
		              "the node is closing");
	}
	for (node_list *e = n->dialers.next, *next; e != &n->dialers;
	     e = next) {
		next = e->next;
		node_dialer_close(NODE_CONTAINER(e, node_dialer, entry));
	}
	/* Each of those finishes on a later turn; the last one to go calls
	 * node_maybe_finish(). With nothing open, the kick does. */
	node_kick_soon(n);
}
