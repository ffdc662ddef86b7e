/*
 * node_net.c -- how links begin: listening and accepting, dialling and
 * redialling.
 *
 * Accepting is where a flood is stopped cheaply. A connection over the
 * global cap or over the cap for its address is closed before a byte is
 * read; one past its address's handshake rate is dropped by the secure
 * link at its first byte, before any cryptography. What passes gets a
 * handshake deadline (node_link_new), so a peer trickling a byte every
 * few seconds holds its slot no longer than an honest handshake may
 * take.
 *
 * Dialling never stops while the node wants the peer: after a failure or
 * a drop the next attempt waits backoff_min_ms, doubling per failure up
 * to backoff_max_ms, each delay drawn at random from its upper half so
 * that devices that lost the same peer at once do not return in step. A
 * link that stayed up DIAL_RESET_MS resets the doubling.
 */
#include "node_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* ------------------------------------------------------------------------ */
/* Listening                                                                */
/* ------------------------------------------------------------------------ */

static void free_listener(uv_handle_t *h)
{
	node_listener *ls = h->data;
	cairn_node *n = ls->node;
	bool listed = !node_list_empty(&ls->entry);
	if (listed)
		node_list_del(&ls->entry);
	free(ls);
	if (listed)
		node_maybe_finish(n);
}

void node_listener_close(node_listener *ls)
{
	uv_close((uv_handle_t *)&ls->tcp, free_listener);
}

/* The peer's IP as bytes (an IPv4-mapped IPv6 address as IPv4), and its
 * address as text. */
static void peer_address(node_link *l)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &len) != 0) {
		snprintf(l->address, sizeof l->address, "?");
		return;
	}
	node_format_address((struct sockaddr *)&ss, l->address,
	                    sizeof l->address);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;
		memcpy(l->ip, &in->sin_addr, 4);
		l->ip_len = 4;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;
		const uint8_t *a = in6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
		                                   0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, 12) == 0) {
			memcpy(l->ip, a + 12, 4);
			l->ip_len = 4;
		} else {
			memcpy(l->ip, a, 16);
			l->ip_len = 16;
		}
	}
}

/* Why an incoming link from l's address is refused now, or NULL. */
static const char *refusal(cairn_node *n, const node_link *l)
{
	if (n->nlinks > n->max_links)
		return "too many links";
	uint32_t same = 0;
	for (node_list *e = n->links.next; e != &n->links; e = e->next) {
		const node_link *o = NODE_CONTAINER(e, node_link, entry);
		if (o != l && !o->dialer && o->state != LINK_CLOSED &&
		    o->ip_len == l->ip_len &&
		    memcmp(o->ip, l->ip, l->ip_len) == 0)
			same++;
	}
	if (same >= n->max_links_per_ip)
		return "too many links from that address";
	/* The handshake rate is the secure link's to check, at the first
	 * byte (node_link_start gives it the limiter). */
	return NULL;
}

static void on_connection(uv_stream_t *server, int status)
{
	node_listener *ls = server->data;
	cairn_node *n = ls->node;
	if (status < 0) {
		node_log_refusal(n, "accepting on %s failed: %s", ls->address,
		                 uv_strerror(status));
		return;
	}
	node_link *l = node_link_new(n, NULL);
	if (!l) {
		/* Without a handle the connection cannot even be refused;
		 * it waits in the backlog for memory. */
		return;
	}
	if (uv_accept(server, (uv_stream_t *)&l->tcp) != 0) {
		node_link_end(l, false, "accept failed");
		return;
	}
	peer_address(l);
	const char *why = n->closing ? "the node is closing" : refusal(n, l);
	if (why) {
		node_log_refusal(n, "refused a link from %s: %s", l->address,
		                 why);
		node_link_end(l, false, "%s", why);
		return;
	}
	int rc = node_link_start(l);
	if (rc != 0)
		node_link_end(l, false, "%s", cairn_strerror(rc));
}

/* A numeric "host:port" as a socket address. 0 or CAIRN_EINVAL. */
static int numeric_address(const char *host, uint16_t port,
                           struct sockaddr_storage *out)
{
	memset(out, 0, sizeof *out);
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0)
		return 0;
	if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0)
		return 0;
	return CAIRN_EINVAL;
}

int cairn_node_listen(cairn_node *n, const char *host_port, uint16_t *port)
{
	char host[64];
	uint16_t p;
	struct sockaddr_storage ss;
	if (!n || n->closing ||
	    node_parse_address(host_port, host, sizeof host, &p) != 0 ||
	    numeric_address(host, p, &ss) != 0)
		return CAIRN_EINVAL;
	node_listener *ls = calloc(1, sizeof *ls);
	if (!ls)
		return CAIRN_ENOMEM;
	ls->node = n;
	node_list_init(&ls->entry);
	(void)uv_tcp_init(n->loop, &ls->tcp);
	ls->tcp.data = ls;
	int rc = uv_tcp_bind(&ls->tcp, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&ls->tcp, 128, on_connection);
	struct sockaddr_storage bound;
	int len = sizeof bound;
	if (rc == 0)
		rc = uv_tcp_getsockname(&ls->tcp, (struct sockaddr *)&bound,
		                        &len);
	if (rc != 0) {
		node_log(n, "cannot listen on %s: %s", host_port,
		         uv_strerror(rc));
		node_listener_close(ls);
		return CAIRN_EIO;
	}
	node_format_address((struct sockaddr *)&bound, ls->address,
	                    sizeof ls->address);
	node_list_add(&n->listeners, &ls->entry);
	if (port)
		*port = ntohs(
		        bound.ss_family == AF_INET6
		                ? ((struct sockaddr_in6 *)&bound)->sin6_port
		                : ((struct sockaddr_in *)&bound)->sin_port);
	node_log(n, "listening on %s", ls->address);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Dialling                                                                 */
/* ------------------------------------------------------------------------ */

static void dial(node_dialer *d);

static void maybe_free_dialer(node_dialer *d)
{
	if (!d->removing || d->open_handles || d->resolving || d->link)
		return;
	cairn_node *n = d->node;
	node_list_del(&d->entry);
	free(d);
	node_maybe_finish(n);
}

static void on_dialer_closed(uv_handle_t *h)
{
	node_dialer *d = h->data;
	d->open_handles--;
	maybe_free_dialer(d);
}

void node_dialer_close(node_dialer *d)
{
	if (d->removing)
		return;
	d->removing = true;
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->timer, on_dialer_closed);
	if (d->resolving)
		(void)uv_cancel((uv_req_t *)&d->gai);
	if (d->link)
		node_link_end(d->link, true, "no longer dialled");
}

static void on_dial_timer(uv_timer_t *t)
{
	dial(t->data);
}

/* The next delay: [base/2, base], base doubling per failure. */
static uint64_t backoff_ms(node_dialer *d)
{
	cairn_node *n = d->node;
	uint64_t base = n->backoff_min_ms;
	for (uint32_t i = 0; i < d->attempts && base < n->backoff_max_ms; i++)
		base *= 2;
	if (base > n->backoff_max_ms)
		base = n->backoff_max_ms;
	if (d->attempts < 32)
		d->attempts++;
	uint64_t half = base / 2;
	return base - half + randombytes_uniform((uint32_t)half + 1);
}

static void schedule(node_dialer *d, bool log)
{
	uint64_t delay = backoff_ms(d);
	d->reconnects++;
	if (log && delay < 1000)
		node_log(d->node, "cannot link to %s: %s (next try in %llu ms)",
		         d->host_port, d->error, (unsigned long long)delay);
	else if (log)
		node_log(d->node, "cannot link to %s: %s (next try in %.1f s)",
		         d->host_port, d->error, (double)delay / 1000.0);
	(void)uv_timer_start(&d->timer, on_dial_timer, delay, 0);
}

void node_dialer_link_ended(node_dialer *d, node_link *l)
{
	d->link = NULL;
	snprintf(d->error, sizeof d->error, "%s", l->error);
	if (d->removing || d->node->closing) {
		maybe_free_dialer(d);
		return;
	}
	if (d->covered)
		return; /* node_dialers_uncover() wakes it */
	if (l->up && node_now_ms() - l->connected_ms >= DIAL_RESET_MS)
		d->attempts = 0;
	/* A link that was up has had its "link down" line. */
	schedule(d, !l->attached);
}

void node_dialers_uncover(cairn_node *n, const cairn_device_id *device)
{
	for (node_list *e = n->links.next; e != &n->links; e = e->next) {
		const node_link *o = NODE_CONTAINER(e, node_link, entry);
		if (o->attached && o->state == LINK_SYNC &&
		    cairn_device_id_equal(&o->device, device))
			return; /* still covered */
	}
	for (node_list *e = n->dialers.next; e != &n->dialers; e = e->next) {
		node_dialer *d = NODE_CONTAINER(e, node_dialer, entry);
		if (!d->covered || !cairn_device_id_equal(&d->device, device))
			continue;
		d->covered = false;
		d->attempts = 0;
		if (!d->link && !d->removing && !n->closing)
			schedule(d, false);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	node_link *l = req->data;
	if (l->state != LINK_CONNECTING)
		return; /* ended meanwhile (cancelled) */
	if (status < 0) {
		node_link_end(l, false, "%s", uv_strerror(status));
		return;
	}
	int rc = node_link_start(l);
	if (rc != 0)
		node_link_end(l, false, "%s", cairn_strerror(rc));
}

static void connect_to(node_dialer *d, const struct sockaddr *addr)
{
	node_link *l = node_link_new(d->node, d);
	if (!l) {
		snprintf(d->error, sizeof d->error, "out of memory");
		schedule(d, true);
		return;
	}
	d->link = l;
	snprintf(l->address, sizeof l->address, "%s", d->host_port);
	l->connect.data = l;
	int rc = uv_tcp_connect(&l->connect, &l->tcp, addr, on_connect);
	if (rc != 0)
		node_link_end(l, false, "%s", uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	node_dialer *d = NODE_CONTAINER(req, node_dialer, gai);
	d->resolving = false;
	if (d->removing || d->node->closing) {
		uv_freeaddrinfo(res);
		maybe_free_dialer(d);
		return;
	}
	if (status < 0 || !res) {
		snprintf(d->error, sizeof d->error, "cannot resolve %s: %s",
		         d->host, uv_strerror(status));
		uv_freeaddrinfo(res);
		schedule(d, true);
		return;
	}
	connect_to(d, res->ai_addr);
	uv_freeaddrinfo(res);
}

static void dial(node_dialer *d)
{
	if (d->removing || d->link || d->resolving || d->covered)
		return;
	if (d->numeric) {
		connect_to(d, (const struct sockaddr *)&d->addr);
		return;
	}
	char port[8];
	snprintf(port, sizeof port, "%u", (unsigned)d->port);
	struct addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int rc = uv_getaddrinfo(d->node->loop, &d->gai, on_resolved, d->host,
	                        port, &hints);
	if (rc != 0) {
		snprintf(d->error, sizeof d->error, "cannot resolve %s: %s",
		         d->host, uv_strerror(rc));
		schedule(d, true);
		return;
	}
	d->resolving = true;
}

static node_dialer *find_dialer(cairn_node *n, const char *host_port)
{
	for (node_list *e = n->dialers.next; e != &n->dialers; e = e->next) {
		node_dialer *d = NODE_CONTAINER(e, node_dialer, entry);
		if (!d->removing && strcmp(d->host_port, host_port) == 0)
			return d;
	}
	return NULL;
}

int cairn_node_connect(cairn_node *n, const char *host_port)
{
	char host[64];
	uint16_t port;
	if (!n || n->closing || !host_port ||
	    strlen(host_port) >= sizeof(((node_dialer *)0)->host_port) ||
	    node_parse_address(host_port, host, sizeof host, &port) != 0 ||
	    port == 0)
		return CAIRN_EINVAL;
	if (find_dialer(n, host_port))
		return 0;
	node_dialer *d = calloc(1, sizeof *d);
	if (!d)
		return CAIRN_ENOMEM;
	d->node = n;
	snprintf(d->host_port, sizeof d->host_port, "%s", host_port);
	snprintf(d->host, sizeof d->host, "%s", host);
	d->port = port;
	d->numeric = numeric_address(host, port, &d->addr) == 0;
	(void)uv_timer_init(n->loop, &d->timer);
	d->timer.data = d;
	d->open_handles = 1;
	node_list_add(&n->dialers, &d->entry);
	/* "Now" is the next turn of the loop: nothing of the attempt, not
	 * even a log line, happens inside this call. */
	(void)uv_timer_start(&d->timer, on_dial_timer, 0, 0);
	return 0;
}

int cairn_node_disconnect(cairn_node *n, const char *host_port)
{
	node_dialer *d = host_port ? find_dialer(n, host_port) : NULL;
	if (!d)
		return CAIRN_ENOTFOUND;
	node_dialer_close(d);
	return 0;
}
