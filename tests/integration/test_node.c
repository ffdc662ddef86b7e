/*
 * test_node.c -- nodes on one libuv loop, over real TCP on 127.0.0.1
 * (include/cairn/net.h, "The node"): edits converge between two and three
 * nodes; a link dropped and restored catches up; a dialler comes back
 * after its peer's node restarts; allow-lists refuse on either side with
 * a reason; the per-address cap and the handshake deadline cut floods and
 * trickles without hurting an honest peer; posts from another thread; and
 * closing with nothing left behind (ASan/LSan check the leaks, and
 * uv_loop_close() the handles).
 *
 * Every wait is bounded (run_until); timings are short through the
 * config (handshake deadline, backoff).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cairn.h"

#define OK(x) assert_int_equal((x), 0)
#define MAX_NODES 4
#define WAIT_MS 10000

typedef struct tnode tnode;
typedef struct world world;

struct tnode {
	world *w;
	int index;
	char dir[256];
	cairn_store *store;
	cairn_node *node;
	cairn_identity id;
	cairn_device_id device;
	uint16_t port;
	char addr[64];
	int ups, downs, changes;
	char last_down_error[160];
	bool closed;
	bool after_close;     /* an observer ran after `closed` */
	bool close_on_up;     /* close the node from its UP event */
	bool write_on_change; /* answer each change with a write */
};

struct world {
	uv_loop_t loop;
	uv_timer_t tick;
	cairn_mesh_key mesh;
	tnode nodes[MAX_NODES];
	bool verbose;
};

/* ------------------------------------------------------------------------ */
/* Harness                                                                  */
/* ------------------------------------------------------------------------ */

static void on_log(void *ud, const char *line)
{
	tnode *t = ud;
	if (t->closed)
		t->after_close = true;
	if (t->w->verbose)
		printf("# node %d: %s\n", t->index, line);
}

static void on_closed(void *ud);

static void on_peer(void *ud, cairn_peer_event ev, const cairn_peer_status *st)
{
	tnode *t = ud;
	if (t->closed)
		t->after_close = true;
	if (ev == CAIRN_PEER_UP) {
		t->ups++;
		assert_true(st->connected);
		if (t->close_on_up)
			cairn_node_close(t->node, on_closed, t);
	} else {
		t->downs++;
		assert_false(st->connected);
		snprintf(t->last_down_error, sizeof t->last_down_error, "%s",
		         st->last_error);
	}
}

static void on_change(void *ud, const char *doc, const char *field)
{
	tnode *t = ud;
	if (t->closed)
		t->after_close = true;
	t->changes++;
	if (t->write_on_change && strcmp(field, "ack") != 0) {
		char v[300];
		snprintf(v, sizeof v, "seen %s", field);
		cairn_value val = cairn_value_str(v);
		OK(cairn_node_set(t->node, doc, "ack", &val));
	}
}

static void on_tick(uv_timer_t *t)
{
	(void)t; /* wakes uv_run(UV_RUN_ONCE) so that waits can time out */
}

static int setup(void **state)
{
	world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	w->verbose = getenv("CAIRN_TEST_VERBOSE") != NULL;
	OK(uv_loop_init(&w->loop));
	OK(uv_timer_init(&w->loop, &w->tick));
	OK(uv_timer_start(&w->tick, on_tick, 5, 5));
	OK(cairn_mesh_key_generate(&w->mesh));
	*state = w;
	return 0;
}

static void open_store(tnode *t)
{
	cairn_store_config sc;
	cairn_store_config_init(&sc);
	sc.replica.id = cairn_device_replica_id(&t->device);
	sc.sync = CAIRN_SYNC_GROUP;
	sc.group_window_ms = 1;
	OK(cairn_store_open(t->dir, &sc, &t->store, NULL));
}

/* A store in a fresh directory and an identity; no node yet. */
static tnode *make(world *w, int i)
{
	tnode *t = &w->nodes[i];
	memset(t, 0, sizeof *t);
	t->w = w;
	t->index = i;
	snprintf(t->dir, sizeof t->dir, "%s/cairn-node-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	OK(cairn_identity_generate(&t->id));
	cairn_identity_device_id(&t->id, &t->device);
	strcat(t->dir, "/replica");
	open_store(t);
	return t;
}

static void node_config(tnode *t, cairn_node_config *c)
{
	cairn_node_config_init(c);
	c->store = t->store;
	c->identity = t->id;
	c->mesh_key = t->w->mesh;
	c->observers.ud = t;
	c->observers.log = on_log;
	c->observers.peer = on_peer;
	c->observers.change = on_change;
	c->backoff_min_ms = 20;
	c->backoff_max_ms = 200;
	c->handshake_timeout_ms = 2000;
}

static void start_with(tnode *t, const cairn_node_config *c, bool listen)
{
	t->closed = false;
	OK(cairn_node_new(&t->w->loop, c, &t->node));
	if (listen) {
		char a[64];
		snprintf(a, sizeof a, "127.0.0.1:%u", (unsigned)t->port);
		OK(cairn_node_listen(t->node, a, &t->port));
		snprintf(t->addr, sizeof t->addr, "127.0.0.1:%u",
		         (unsigned)t->port);
	}
}

static void start(tnode *t, bool listen)
{
	cairn_node_config c;
	node_config(t, &c);
	start_with(t, &c, listen);
}

static void on_closed(void *ud)
{
	tnode *t = ud;
	assert_false(t->closed);
	t->closed = true;
	t->node = NULL;
}

static bool run_until(world *w, bool (*pred)(world *w, void *ud), void *ud,
                      uint64_t timeout_ms)
{
	uv_update_time(&w->loop);
	uint64_t end = uv_now(&w->loop) + timeout_ms;
	while (!pred(w, ud)) {
		if (uv_now(&w->loop) >= end)
			return false;
		uv_run(&w->loop, UV_RUN_ONCE);
	}
	return true;
}

static bool is_closed(world *w, void *ud)
{
	(void)w;
	return ((tnode *)ud)->closed;
}

static void stop(tnode *t)
{
	if (!t->node)
		return;
	cairn_node_close(t->node, on_closed, t);
	assert_false(t->closed); /* never inside the call */
	assert_true(run_until(t->w, is_closed, t, WAIT_MS));
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static int teardown(void **state)
{
	world *w = *state;
	for (int i = 0; i < MAX_NODES; i++)
		stop(&w->nodes[i]);
	uv_close((uv_handle_t *)&w->tick, NULL);
	OK(uv_run(&w->loop, UV_RUN_DEFAULT));
	OK(uv_loop_close(&w->loop)); /* every handle closed */
	for (int i = 0; i < MAX_NODES; i++) {
		tnode *t = &w->nodes[i];
		assert_false(t->after_close);
		if (t->store)
			OK(cairn_store_close(t->store));
		if (t->dir[0]) {
			char *slash = strrchr(t->dir, '/');
			*slash = '\0';
			nftw(t->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		}
		cairn_identity_wipe(&t->id);
	}
	cairn_mesh_key_wipe(&w->mesh);
	free(w);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Predicates                                                               */
/* ------------------------------------------------------------------------ */

static void digest(tnode *t, uint8_t out[CAIRN_DIGEST_BYTES])
{
	OK(cairn_replica_digest(cairn_store_replica(t->store), out));
}

/* Every node given in the NULL-terminated list has the same state. */
typedef struct group {
	tnode *n[MAX_NODES + 1];
} group;

static bool converged(world *w, void *ud)
{
	(void)w;
	group *g = ud;
	uint8_t a[CAIRN_DIGEST_BYTES], b[CAIRN_DIGEST_BYTES];
	digest(g->n[0], a);
	for (int i = 1; g->n[i]; i++) {
		digest(g->n[i], b);
		if (memcmp(a, b, sizeof a) != 0)
			return false;
	}
	return true;
}

/* The register (doc, field) holds the string `want` on node t. */
static bool has_value(tnode *t, const char *doc, const char *field,
                      const char *want)
{
	cairn_doc *d;
	cairn_value v;
	if (cairn_replica_find(cairn_store_replica(t->store), doc, &d) != 0 ||
	    cairn_doc_get(d, field, &v, NULL) != 0)
		return false;
	return v.type == CAIRN_STR && v.as.bytes.len == strlen(want) &&
	       memcmp(v.as.bytes.ptr, want, v.as.bytes.len) == 0;
}

typedef struct expect {
	tnode *t;
	const char *doc, *field, *value;
} expect;

static bool value_arrived(world *w, void *ud)
{
	(void)w;
	expect *e = ud;
	return has_value(e->t, e->doc, e->field, e->value);
}

static void put(tnode *t, const char *doc, const char *field, const char *s)
{
	cairn_value v = cairn_value_str(s);
	OK(cairn_node_set(t->node, doc, field, &v));
}

static void wait_value(tnode *t, const char *doc, const char *field,
                       const char *s)
{
	expect e = {t, doc, field, s};
	if (!run_until(t->w, value_arrived, &e, WAIT_MS))
		fail_msg("node %d never got %s %s = %s", t->index, doc, field,
		         s);
}

static bool ups_at_least(world *w, void *ud)
{
	(void)w;
	int *want = ud;
	for (int i = 0; i < MAX_NODES; i++)
		if (w->nodes[i].node && want[i] > w->nodes[i].ups)
			return false;
	return true;
}

static void wait_ups(world *w, int a, int b, int c, int d)
{
	int want[MAX_NODES] = {a, b, c, d};
	if (!run_until(w, ups_at_least, want, WAIT_MS))
		fail_msg("links did not come up: ups %d %d %d %d",
		         w->nodes[0].ups, w->nodes[1].ups, w->nodes[2].ups,
		         w->nodes[3].ups);
}

static bool downs_at_least(world *w, void *ud)
{
	int *want = ud;
	for (int i = 0; i < MAX_NODES; i++)
		if (want[i] > w->nodes[i].downs)
			return false;
	return true;
}

static void wait_downs(world *w, int a, int b)
{
	int want[MAX_NODES] = {a, b, 0, 0};
	if (!run_until(w, downs_at_least, want, WAIT_MS))
		fail_msg("links did not go down: downs %d %d",
		         w->nodes[0].downs, w->nodes[1].downs);
}

static void pause_ms(world *w, uint64_t ms)
{
	uv_update_time(&w->loop);
	uint64_t end = uv_now(&w->loop) + ms;
	while (uv_now(&w->loop) < end)
		uv_run(&w->loop, UV_RUN_ONCE);
}

/* ------------------------------------------------------------------------ */
/* Convergence                                                              */
/* ------------------------------------------------------------------------ */

static void test_two_nodes_converge(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	start(a, true);
	start(b, false);
	/* Writes before the link: they go out on connect. */
	put(a, "t/1", "subject", "printer jams");
	put(b, "t/2", "subject", "no toner");
	OK(cairn_node_connect(b->node, a->addr));
	wait_ups(w, 1, 1, 0, 0);
	group g = {{a, b, NULL}};
	assert_true(run_until(w, converged, &g, WAIT_MS));
	assert_true(has_value(a, "t/2", "subject", "no toner"));
	assert_true(has_value(b, "t/1", "subject", "printer jams"));
	assert_true(a->changes > 0 && b->changes > 0);

	/* Live edits, both ways, sets too. */
	put(a, "t/1", "status", "open");
	cairn_value tag = cairn_value_str("urgent");
	OK(cairn_node_add(b->node, "t/1", "tags", &tag));
	wait_value(b, "t/1", "status", "open");
	assert_true(run_until(w, converged, &g, WAIT_MS));

	/* A write made on the store directly goes out after a kick. */
	cairn_value direct = cairn_value_str("direct");
	OK(cairn_store_set(a->store, "t/3", "via", &direct, 0, NULL, NULL));
	cairn_node_kick(a->node);
	wait_value(b, "t/3", "via", "direct");

	/* What each side says about the other. */
	cairn_peer_status st[4];
	size_t n = 0;
	OK(cairn_node_peers(b->node, st, 4, &n));
	assert_int_equal(n, 1);
	assert_true(st[0].dialled);
	assert_true(st[0].connected);
	assert_true(cairn_device_id_equal(&st[0].device, &a->device));
	assert_string_equal(st[0].address, a->addr);
	assert_true(st[0].bytes_in > 0 && st[0].bytes_out > 0);
	OK(cairn_node_peers(a->node, st, 4, &n));
	assert_int_equal(n, 1);
	assert_false(st[0].dialled);
	assert_true(cairn_device_id_equal(&st[0].device, &b->device));
	assert_int_equal(cairn_node_peers(a->node, st, 0, &n), CAIRN_ESPACE);
	assert_int_equal(n, 1);

	/* Closing says goodbye: the other side sees the link go down. */
	stop(a);
	wait_downs(w, 1, 1);
	assert_int_equal(a->downs, 1);
}

static void test_three_nodes_converge(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1), *c = make(w, 2);
	start(a, true);
	start(b, true);
	start(c, false);
	/* A line: c - a - b. What c writes reaches b through a. */
	OK(cairn_node_connect(c->node, a->addr));
	OK(cairn_node_connect(a->node, b->addr));
	wait_ups(w, 2, 1, 1, 0);
	put(c, "doc", "from", "c");
	put(b, "doc", "to", "b");
	put(a, "other", "x", "a");
	wait_value(b, "doc", "from", "c");
	wait_value(c, "doc", "to", "b");
	group g = {{a, b, c, NULL}};
	assert_true(run_until(w, converged, &g, WAIT_MS));
	/* Concurrent writes of one register settle the same everywhere. */
	put(b, "doc", "winner", "b");
	put(c, "doc", "winner", "c");
	assert_true(run_until(w, converged, &g, WAIT_MS));
}

/* ------------------------------------------------------------------------ */
/* Links that end                                                           */
/* ------------------------------------------------------------------------ */

static void test_link_dropped_and_restored(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	start(a, true);
	start(b, false);
	OK(cairn_node_connect(b->node, a->addr));
	put(a, "d", "v", "1");
	wait_value(b, "d", "v", "1");

	OK(cairn_node_disconnect(b->node, a->addr));
	assert_int_equal(cairn_node_disconnect(b->node, a->addr),
	                 CAIRN_ENOTFOUND);
	wait_downs(w, 1, 1);
	size_t n = 9;
	OK(cairn_node_peers(b->node, NULL, 0, &n));
	assert_int_equal(n, 0);

	/* Edits on both sides while apart. */
	put(a, "d", "v", "2");
	put(a, "e", "w", "while away");
	put(b, "f", "x", "b was alone");
	pause_ms(w, 50);
	assert_false(has_value(b, "d", "v", "2"));

	OK(cairn_node_connect(b->node, a->addr));
	wait_value(b, "d", "v", "2");
	wait_value(a, "f", "x", "b was alone");
	group g = {{a, b, NULL}};
	assert_true(run_until(w, converged, &g, WAIT_MS));
	assert_int_equal(a->ups, 2);
	assert_int_equal(b->ups, 2);
}

static void test_redial_after_restart(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	start(a, true);
	start(b, false);
	OK(cairn_node_connect(b->node, a->addr));
	put(a, "d", "v", "before");
	wait_value(b, "d", "v", "before");

	/* a's node goes away for a while (its store stays open) ... */
	stop(a);
	wait_downs(w, 1, 1);
	put(b, "d", "mine", "written while a was down");
	pause_ms(w, 300); /* a few failed attempts: backoff grows */
	cairn_peer_status st;
	size_t n;
	OK(cairn_node_peers(b->node, &st, 1, &n));
	assert_int_equal(n, 1);
	assert_false(st.connected);
	assert_true(st.reconnects >= 1);
	assert_true(st.last_error[0] != '\0');

	/* ... and comes back on the same port: b finds it again. */
	start(a, true);
	wait_value(a, "d", "mine", "written while a was down");
	put(a, "d", "v", "after");
	wait_value(b, "d", "v", "after");
	OK(cairn_node_peers(b->node, &st, 1, &n));
	assert_true(st.connected);
	assert_int_equal(st.reconnects, 0);
}

/*
 * Idle links live on heartbeats, which only the engine's deadline timer
 * sends: with a 50 ms heartbeat (a link silent for 150 ms closes), a
 * second of silence must not bring a link down.
 */
static void test_idle_link_stays_up(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	cairn_node_config ca, cb;
	node_config(a, &ca);
	node_config(b, &cb);
	ca.heartbeat_ms = cb.heartbeat_ms = 50;
	start_with(a, &ca, true);
	start_with(b, &cb, false);
	OK(cairn_node_connect(b->node, a->addr));
	wait_ups(w, 1, 1, 0, 0);
	cairn_peer_status before, after;
	size_t n;
	pause_ms(w, 100);
	OK(cairn_node_peers(b->node, &before, 1, &n));
	pause_ms(w, 1000);
	OK(cairn_node_peers(b->node, &after, 1, &n));
	assert_int_equal(a->downs + b->downs, 0);
	/* About 20 heartbeats each way went by. */
	assert_true(after.bytes_out > before.bytes_out + 5 * 20);
	assert_true(after.bytes_in > before.bytes_in + 5 * 20);
	put(a, "d", "v", "still there");
	wait_value(b, "d", "v", "still there");
}

static void test_both_dial(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	start(a, true);
	start(b, true);
	OK(cairn_node_connect(a->node, b->addr));
	OK(cairn_node_connect(b->node, a->addr));
	put(a, "d", "a", "1");
	put(b, "d", "b", "2");
	group g = {{a, b, NULL}};
	wait_value(a, "d", "b", "2");
	wait_value(b, "d", "a", "1");
	assert_true(run_until(w, converged, &g, WAIT_MS));
	pause_ms(w, 500);
	/* One link stays, the same on both sides; no endless redialling. */
	int links = 0;
	cairn_peer_status st[4];
	size_t n;
	OK(cairn_node_peers(a->node, st, 4, &n));
	for (size_t i = 0; i < n; i++)
		links += st[i].connected;
	assert_int_equal(links, 1);
	int ups = a->ups;
	pause_ms(w, 500);
	assert_int_equal(a->ups, ups);
}

/* ------------------------------------------------------------------------ */
/* Refusals                                                                 */
/* ------------------------------------------------------------------------ */

static bool contains_ci(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

static void refused(world *w, bool by_listener)
{
	tnode *a = make(w, 0), *b = make(w, 1);
	cairn_device_id someone_else;
	memset(&someone_else, 7, sizeof someone_else);
	cairn_node_config ca, cb;
	node_config(a, &ca);
	node_config(b, &cb);
	if (by_listener) {
		ca.allow = &someone_else;
		ca.nallow = 1;
	} else {
		cb.allow = &someone_else;
		cb.nallow = 1;
	}
	start_with(a, &ca, true);
	start_with(b, &cb, false);
	put(a, "secret", "v", "x");
	OK(cairn_node_connect(b->node, a->addr));
	wait_downs(w, 1, 1);
	assert_int_equal(a->ups, 0);
	assert_int_equal(b->ups, 0);
	printf("# refused by the %s: %s / %s\n",
	       by_listener ? "listener" : "dialler", a->last_down_error,
	       b->last_down_error);
	assert_true(contains_ci(a->last_down_error, "allow"));
	assert_true(contains_ci(b->last_down_error, "allow"));
	assert_false(has_value(b, "secret", "v", "x"));
	/* The dialler keeps trying, and keeps being refused. */
	cairn_peer_status st;
	size_t n;
	OK(cairn_node_peers(b->node, &st, 1, &n));
	assert_true(contains_ci(st.last_error, "allow"));
}

static void test_refused_by_listener(void **state)
{
	refused(*state, true);
}

static void test_refused_by_dialler(void **state)
{
	refused(*state, false);
}

static void test_other_mesh_gets_nothing(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	start(a, true);
	cairn_node_config cb;
	node_config(b, &cb);
	OK(cairn_mesh_key_generate(&cb.mesh_key));
	start_with(b, &cb, false);
	OK(cairn_node_connect(b->node, a->addr));
	pause_ms(w, 300);
	assert_int_equal(a->ups + a->downs + b->ups + b->downs, 0);
	cairn_peer_status st;
	size_t n;
	OK(cairn_node_peers(b->node, &st, 1, &n));
	assert_false(st.connected);
	assert_true(st.last_error[0] != '\0');
	assert_true(st.bytes_in == 0); /* a said nothing at all */
}

/* ------------------------------------------------------------------------ */
/* Caps and deadlines, against raw TCP clients                              */
/* ------------------------------------------------------------------------ */

typedef struct raw {
	world *w;
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_timer_t drip;
	bool connected, eof;
	bool speak; /* send one byte once connected */
	int closed_handles;
	uint64_t connected_at, eof_at;
	int drips;
} raw;

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char b[4096];
	(void)h;
	(void)hint;
	*buf = uv_buf_init(b, sizeof b);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	raw *r = s->data;
	(void)buf;
	if (n < 0 && !r->eof) {
		r->eof = true;
		r->eof_at = uv_now(r->tcp.loop);
	}
}

static void on_drip(uv_timer_t *t);

static void raw_connected(uv_connect_t *c, int status)
{
	raw *r = c->data;
	if (status != 0) {
		r->eof = true;
		return;
	}
	r->connected = true;
	r->connected_at = uv_now(r->tcp.loop);
	OK(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read));
	if (r->speak)
		on_drip(&r->drip);
}

static void raw_open(world *w, raw *r, uint16_t port)
{
	memset(r, 0, sizeof *r);
	r->w = w;
	OK(uv_tcp_init(&w->loop, &r->tcp));
	OK(uv_timer_init(&w->loop, &r->drip));
	r->tcp.data = r->drip.data = r->conn.data = r;
	struct sockaddr_in sin;
	OK(uv_ip4_addr("127.0.0.1", port, &sin));
	OK(uv_tcp_connect(&r->conn, &r->tcp, (struct sockaddr *)&sin,
	                  raw_connected));
}

static void on_drip_written(uv_write_t *req, int status)
{
	(void)status;
	free(req);
}

/*
 * One byte per tick of what could be the start of a first handshake
 * message (u16be 58 || ...), so that only the deadline can end it.
 */
static void on_drip(uv_timer_t *t)
{
	raw *r = t->data;
	if (!r->connected || r->eof)
		return;
	static char prefix[] = {0, 58, 'C', 'S', 'I', '1', 0, 0, 0, 0, 0, 0};
	uv_write_t *req = malloc(sizeof *req);
	uv_buf_t b = uv_buf_init(&prefix[(size_t)r->drips % sizeof prefix], 1);
	if (uv_write(req, (uv_stream_t *)&r->tcp, &b, 1, on_drip_written))
		free(req);
	r->drips++;
}

static void raw_closed(uv_handle_t *h)
{
	raw *r = h->data;
	r->closed_handles++;
}

static bool raw_is_closed(world *w, void *ud)
{
	(void)w;
	return ((raw *)ud)->closed_handles == 2;
}

/* Close and wait: the handles live on the test's stack. */
static void raw_close(raw *r)
{
	uv_close((uv_handle_t *)&r->tcp, raw_closed);
	uv_close((uv_handle_t *)&r->drip, raw_closed);
	assert_true(run_until(r->w, raw_is_closed, r, WAIT_MS));
}

typedef struct raws {
	raw *r;
	int n;
	int want_eof;
} raws;

static bool settled(world *w, void *ud)
{
	(void)w;
	raws *s = ud;
	int eofs = 0, connected = 0;
	for (int i = 0; i < s->n; i++) {
		eofs += s->r[i].eof;
		connected += s->r[i].connected;
	}
	return connected == s->n && eofs >= s->want_eof;
}

static void test_per_address_cap(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	cairn_node_config ca;
	node_config(a, &ca);
	ca.max_links_per_ip = 3;
	ca.handshakes_per_s = 1000;
	start_with(a, &ca, true);
	/* Connections that never speak: three are held (until the
	 * handshake deadline), the rest closed at once. */
	raw r[5];
	for (int i = 0; i < 5; i++) {
		raw_open(w, &r[i], a->port);
		pause_ms(w, 20); /* in order */
	}
	raws s = {r, 5, 2};
	assert_true(run_until(w, settled, &s, WAIT_MS));
	pause_ms(w, 100);
	int eofs = 0;
	for (int i = 0; i < 5; i++)
		eofs += r[i].eof;
	assert_int_equal(eofs, 2);
	assert_false(r[0].eof || r[1].eof || r[2].eof);
	/* The cap is per address and counts incoming links: a's own dial
	 * out is not refused, and once the squatters go, b gets in. */
	for (int i = 0; i < 5; i++)
		raw_close(&r[i]);
	start(b, false);
	OK(cairn_node_connect(b->node, a->addr));
	wait_ups(w, 1, 1, 0, 0);
}

static void test_global_cap(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0);
	cairn_node_config ca;
	node_config(a, &ca);
	ca.max_links = 2;
	start_with(a, &ca, true);
	raw r[3];
	for (int i = 0; i < 3; i++) {
		raw_open(w, &r[i], a->port);
		pause_ms(w, 20);
	}
	raws s = {r, 3, 1};
	assert_true(run_until(w, settled, &s, WAIT_MS));
	pause_ms(w, 100);
	assert_false(r[0].eof || r[1].eof);
	assert_true(r[2].eof);
	for (int i = 0; i < 3; i++)
		raw_close(&r[i]);
}

static void test_handshake_deadline(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	cairn_node_config ca;
	node_config(a, &ca);
	ca.handshake_timeout_ms = 400;
	start_with(a, &ca, true);
	raw slow;
	raw_open(w, &slow, a->port);
	OK(uv_timer_start(&slow.drip, on_drip, 100, 100));
	/* An honest peer meanwhile is not held up. */
	start(b, false);
	OK(cairn_node_connect(b->node, a->addr));
	put(a, "d", "v", "honest");
	wait_value(b, "d", "v", "honest");
	raws s = {&slow, 1, 1};
	assert_true(run_until(w, settled, &s, WAIT_MS));
	uint64_t held = slow.eof_at - slow.connected_at;
	printf("# the slow peer was closed after %llu ms, %d bytes\n",
	       (unsigned long long)held, slow.drips);
	assert_true(held >= 350 && held < 2000);
	assert_true(slow.drips >= 2);
	raw_close(&slow);
	assert_int_equal(b->ups, 1);
	assert_int_equal(b->downs, 0);
}

static void test_handshake_rate(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0);
	cairn_node_config ca;
	node_config(a, &ca);
	ca.handshakes_per_s = 1; /* burst 5 */
	start_with(a, &ca, true);
	/* The rate is charged at a connection's first byte. */
	raw r[8];
	for (int i = 0; i < 8; i++) {
		raw_open(w, &r[i], a->port);
		r[i].speak = true;
	}
	raws s = {r, 8, 3};
	assert_true(run_until(w, settled, &s, WAIT_MS));
	int eofs = 0;
	for (int i = 0; i < 8; i++)
		eofs += r[i].eof;
	assert_true(eofs >= 3 && eofs <= 4);
	for (int i = 0; i < 8; i++)
		raw_close(&r[i]);
}

/* ------------------------------------------------------------------------ */
/* Posts, flushes, closing                                                  */
/* ------------------------------------------------------------------------ */

typedef struct post_ctx {
	tnode *t;
	int ran;
	int flushed;
	int flush_status;
} post_ctx;

static void posted(cairn_node *n, void *ud)
{
	post_ctx *p = ud;
	assert_ptr_equal(n, p->t->node);
	cairn_value v = cairn_value_int(p->ran);
	OK(cairn_node_set(n, "posted", "n", &v));
	p->ran++;
}

static void poster(void *ud)
{
	post_ctx *p = ud;
	for (int i = 0; i < 100; i++)
		OK(cairn_node_post(p->t->node, posted, p));
}

static bool posts_ran(world *w, void *ud)
{
	(void)w;
	return ((post_ctx *)ud)->ran == 100;
}

static void on_flushed(void *ud, int status)
{
	post_ctx *p = ud;
	p->flushed++;
	p->flush_status = status;
}

static bool flushed(world *w, void *ud)
{
	(void)w;
	return ((post_ctx *)ud)->flushed > 0;
}

static void test_post_and_flush(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0);
	start(a, false);
	post_ctx p = {a, 0, 0, 0};
	uv_thread_t th;
	OK(uv_thread_create(&th, poster, &p));
	assert_true(run_until(w, posts_ran, &p, WAIT_MS));
	OK(uv_thread_join(&th));

	OK(cairn_node_flush(a->node, on_flushed, &p));
	assert_int_equal(p.flushed, 0); /* never inside the call */
	assert_true(run_until(w, flushed, &p, WAIT_MS));
	OK(p.flush_status);
	assert_int_equal(cairn_store_durable_seq(a->store),
	                 cairn_store_last_seq(a->store));

	/* Posted while closing: runs before `closed`, then posts fail. */
	OK(cairn_node_post(a->node, posted, &p));
	OK(cairn_node_flush(a->node, on_flushed, &p));
	cairn_node_close(a->node, on_closed, a);
	assert_int_equal(p.ran, 100);
	assert_true(run_until(w, is_closed, a, WAIT_MS));
	assert_int_equal(p.ran, 101);
	assert_int_equal(p.flushed, 2);
}

static void test_close_with_links_in_every_state(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1), *c = make(w, 2);
	start(a, true);
	start(b, false);
	start(c, false);
	OK(cairn_node_connect(b->node, a->addr));
	wait_ups(w, 1, 1, 0, 0);
	/* c dials a port where nobody listens: a pending redial. */
	OK(cairn_node_connect(c->node, "127.0.0.1:1"));
	OK(cairn_node_connect(c->node, "localhost:1"));
	raw r;
	raw_open(w, &r, a->port); /* a link in its handshake */
	pause_ms(w, 50);
	put(b, "d", "v", "x");
	stop(a);
	stop(b);
	stop(c);
	raw_close(&r);
	assert_int_equal(cairn_node_connect(NULL, "127.0.0.1:1"), CAIRN_EINVAL);
}

/* Observers may write and close: they never run inside the engine. */
static void test_observers_write_and_close(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1), *c = make(w, 2);
	start(a, true);
	start(b, false);
	a->write_on_change = true;
	OK(cairn_node_connect(b->node, a->addr));
	put(b, "d", "question", "anyone?");
	wait_value(b, "d", "ack", "seen question");

	start(c, false);
	c->close_on_up = true;
	OK(cairn_node_connect(c->node, a->addr));
	assert_true(run_until(w, is_closed, c, WAIT_MS));
	assert_int_equal(c->ups, 1);
	assert_int_equal(c->downs, 1); /* before `closed` */
}

static void test_bad_arguments(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0);
	start(a, false);
	const char *bad[] = {"",
	                     "127.0.0.1",
	                     ":80",
	                     "127.0.0.1:",
	                     "1:2:3",
	                     "[::1:80",
	                     "127.0.0.1:65536",
	                     "127.0.0.1:8x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(cairn_node_connect(a->node, bad[i]),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_node_listen(a->node, bad[i], NULL),
		                 CAIRN_EINVAL);
	}
	assert_int_equal(cairn_node_listen(a->node, "localhost:0", NULL),
	                 CAIRN_EINVAL); /* numeric only */
	uint16_t port = 0;
	OK(cairn_node_listen(a->node, "[::1]:0", &port));
	assert_true(port != 0);
	/* The port is taken now. */
	char taken[32];
	snprintf(taken, sizeof taken, "[::1]:%u", (unsigned)port);
	assert_int_equal(cairn_node_listen(a->node, taken, NULL), CAIRN_EIO);
	cairn_node_config c;
	node_config(a, &c);
	cairn_node *n;
	assert_int_equal(cairn_node_new_(&w->loop, &c, sizeof c - 1, &n),
	                 CAIRN_EVERSION);
	c.store = NULL;
	assert_int_equal(cairn_node_new(&w->loop, &c, &n), CAIRN_EINVAL);
}

static void test_ipv6(void **state)
{
	world *w = *state;
	tnode *a = make(w, 0), *b = make(w, 1);
	start(a, false);
	uint16_t port;
	OK(cairn_node_listen(a->node, "[::1]:0", &port));
	start(b, false);
	char addr[64];
	snprintf(addr, sizeof addr, "[::1]:%u", (unsigned)port);
	OK(cairn_node_connect(b->node, addr));
	put(a, "six", "v", "ok");
	wait_value(b, "six", "v", "ok");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_two_nodes_converge, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_three_nodes_converge,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_link_dropped_and_restored,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_redial_after_restart,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_idle_link_stays_up, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_both_dial, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_refused_by_listener, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_refused_by_dialler, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_other_mesh_gets_nothing,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_per_address_cap, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_global_cap, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_handshake_deadline, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_handshake_rate, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_post_and_flush, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(
	                test_close_with_links_in_every_state, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_observers_write_and_close,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
