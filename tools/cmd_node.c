/*
 * cmd_node.c -- `cairn node`: the replica as a node on a libuv loop until
 * SIGINT or SIGTERM, the control socket through which the other commands
 * reach it while it runs, and `cairn status` and `cairn peers`, which
 * only it can answer.
 *
 * The node holds the store (and its lock) for as long as it runs, so a
 * `cairn put` cannot open it; instead the command travels through the
 * control socket and runs here, the same implementation against the same
 * store, its output captured and sent back (control.c). Before the answer
 * goes out the node makes the command's writes durable (one group fsync,
 * off the loop) and hands them to the sync engine: when `cairn put`
 * returns, its write is on disk and on its way to every peer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

/* Clients served at once; more are closed at once. */
#define CTL_MAX_CONNS 16
/* A client has this long to send its whole request. */
#define CTL_REQUEST_MS 30000u
/* How long the store gathers writes before an fsync starts. */
#define GROUP_WINDOW_MS 2
/* A replica held by another process: how long to wait for it. */
#define BUSY_WAIT_MS 2000u
#define BUSY_STEP_MS 50u

typedef struct ctl_conn ctl_conn;

struct cli_node {
	cli *c;
	uv_loop_t loop;
	cairn_store *store;
	cairn_node *node;
	cairn_device_id self;
	uv_signal_t sigint, sigterm;
	bool signals;
	uv_pipe_t ctl;
	bool ctl_open;
	char ctl_path[4200];
	ctl_conn *conns;
	int nconns;
	char listening[CLI_MAX_NODE_OPTS][80];
	int nlistening;
	uint64_t started_ms;
	bool stopping;
	int exit_code;
};

struct ctl_conn {
	ctl_conn *next;
	cli_node *nd;
	uv_pipe_t pipe;
	uv_timer_t timer;
	int open_handles;
	bool closing;
	bool waiting; /* for the durability of its command's writes */
	uint8_t head[4];
	size_t head_have;
	uint8_t *body;
	size_t body_len, body_have;
	const char *name; /* the command's, for messages */
	char *out, *err;  /* the command's output */
	size_t out_len, err_len;
	int status;
	uv_write_t write;
	uint8_t frames[3][6];
};

static uint64_t now_ms(void)
{
	uv_timeval64_t tv;
	if (uv_gettimeofday(&tv) != 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

/* One line on standard error, after the time. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char t[64];
	cli_format_time(now_ms(), t);
	fprintf(stderr, "%s ", t);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_node_log(void *ud, const char *line)
{
	(void)ud;
	say("%s", line);
}

/* ------------------------------------------------------------------------ */
/* The control socket: one request, one answer per connection              */
/* ------------------------------------------------------------------------ */

static void conn_closed(uv_handle_t *h)
{
	ctl_conn *k = h->data;
	if (--k->open_handles > 0)
		return;
	free(k->body);
	free(k->out);
	free(k->err);
	free(k);
}

static void conn_close(ctl_conn *k)
{
	if (k->closing || k->waiting)
		return; /* a waiting one closes after its answer */
	k->closing = true;
	cli_node *nd = k->nd;
	for (ctl_conn **pp = &nd->conns; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			nd->nconns--;
			break;
		}
	uv_close((uv_handle_t *)&k->pipe, conn_closed);
	uv_close((uv_handle_t *)&k->timer, conn_closed);
}

static void on_answered(uv_write_t *w, int status)
{
	(void)status; /* a client that left early misses its answer */
	conn_close(w->data);
}

static void frame_head(uint8_t h[6], uint8_t kind, size_t len)
{
	h[0] = kind;
	h[1] = (uint8_t)(len >> 24);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 8);
	h[4] = (uint8_t)len;
}

static void answer(ctl_conn *k)
{
	k->waiting = false;
	if (k->out_len > UINT32_MAX || k->err_len > UINT32_MAX) {
		/* Nothing the commands print comes near; refuse rather than
		 * cut it. */
		k->out_len = k->err_len = 0;
		k->status = CLI_REPLICA;
	}
	uv_buf_t b[5];
	unsigned n = 0;
	if (k->out_len) {
		frame_head(k->frames[0], 'o', k->out_len);
		b[n++] = uv_buf_init((char *)k->frames[0], 5);
		b[n++] = uv_buf_init(k->out, (unsigned)k->out_len);
	}
	if (k->err_len) {
		frame_head(k->frames[1], 'e', k->err_len);
		b[n++] = uv_buf_init((char *)k->frames[1], 5);
		b[n++] = uv_buf_init(k->err, (unsigned)k->err_len);
	}
	frame_head(k->frames[2], 'x', 1);
	k->frames[2][5] = (uint8_t)k->status;
	b[n++] = uv_buf_init((char *)k->frames[2], 6);
	k->write.data = k;
	if (uv_write(&k->write, (uv_stream_t *)&k->pipe, b, n, on_answered) !=
	    0)
		conn_close(k);
}

/* Answer with an error of our own instead of a command's output. */
static void refuse(ctl_conn *k, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void refuse(ctl_conn *k, int status, const char *fmt, ...)
{
	free(k->out);
	free(k->err);
	k->out = k->err = NULL;
	k->out_len = 0;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int n = asprintf(&k->err, "cairn: %s\n", msg);
	k->err_len = n > 0 ? (size_t)n : 0;
	if (n < 0)
		k->err = NULL;
	k->status = status;
	answer(k);
}

static void on_flushed(void *ud, int status)
{
	ctl_conn *k = ud;
	/* CAIRN_EINVAL: the node stopped first; closing the store, which
	 * comes next, makes the writes durable. */
	if (status != 0 && status != CAIRN_EINVAL) {
		char *more = NULL;
		int n = asprintf(&more,
		                 "%.*scairn: %s: the writes are not durable: "
		                 "%s\n",
		                 (int)k->err_len, k->err ? k->err : "", k->name,
		                 cairn_strerror(status));
		if (n > 0) {
			free(k->err);
			k->err = more;
			k->err_len = (size_t)n;
		}
		k->status = CLI_REPLICA;
	}
	answer(k);
}

/* The request is whole: run its command here, against the node's store. */
static void run_request(ctl_conn *k)
{
	cli_node *nd = k->nd;
	cli_ctl_request r;
	const char *bad = cli_ctl_decode(k->body, k->body_len, &r);
	if (bad) {
		cli_ctl_request_free(&r);
		refuse(k, CLI_USAGE, "malformed control request: %s", bad);
		return;
	}
	const cli_command *cmd = cli_find_command(r.argv[0]);
	if (!cmd || (cmd->flags & (CLI_VIA_NODE | CLI_NODE_ONLY)) == 0) {
		refuse(k, CLI_USAGE, "a node does not run `%s`", r.argv[0]);
		cli_ctl_request_free(&r);
		return;
	}
	k->name = cmd->name;
	FILE *out = open_memstream(&k->out, &k->out_len);
	FILE *err = open_memstream(&k->err, &k->err_len);
	if (!out || !err) {
		if (out)
			fclose(out);
		if (err)
			fclose(err);
		cli_ctl_request_free(&r);
		refuse(k, CLI_REPLICA, "%s: out of memory", cmd->name);
		return;
	}
	cli sub;
	memset(&sub, 0, sizeof sub);
	sub.cmd = cmd;
	sub.dir = nd->c->dir;
	sub.out = out;
	sub.err = err;
	sub.node = nd;
	sub.store = nd->store;
	sub.store_borrowed = true;
	if (cmd->flags & CLI_READS_FILE) {
		sub.input = r.input;
		sub.input_len = r.input_len;
		sub.has_input = true;
	}
	const char *dir = NULL; /* the node's, whatever the client said */
	int rc = cli_parse_args(&sub, r.argc - 1, r.argv + 1, &dir);
	if (rc == -1)
		rc = cli_error(&sub, CLI_USAGE, "--help is not for the node");
	if (rc == 0)
		rc = cmd->run(&sub);
	fclose(out);
	fclose(err);
	cli_ctl_request_free(&r);
	k->status = rc;
	/* The writes of the command, durable and handed to the peers
	 * before the answer. */
	k->waiting = nd->node && cairn_node_flush(nd->node, on_flushed, k) == 0;
	if (!k->waiting)
		answer(k);
}

static void ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char b[65536]; /* consumed before the read callback returns */
	(void)h;
	(void)hint;
	*buf = uv_buf_init(b, sizeof b);
}

static void ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	ctl_conn *k = s->data;
	if (nread < 0) {
		conn_close(k);
		return;
	}
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t n = (size_t)nread;
	while (n > 0 && k->head_have < 4) {
		k->head[k->head_have++] = *p++;
		n--;
		if (k->head_have < 4)
			continue;
		k->body_len = cli_ctl_get_u32(k->head);
		if (k->body_len == 0 || k->body_len > CLI_CTL_MAX) {
			uv_read_stop(s);
			refuse(k, CLI_USAGE,
			       "a control request of %zu bytes (%u MiB at "
			       "most)",
			       k->body_len, (unsigned)(CLI_CTL_MAX >> 20));
			return;
		}
		k->body = malloc(k->body_len);
		if (!k->body) {
			uv_read_stop(s);
			refuse(k, CLI_REPLICA, "out of memory");
			return;
		}
	}
	if (k->head_have < 4)
		return;
	size_t take = k->body_len - k->body_have;
	if (take > n)
		take = n;
	memcpy(k->body + k->body_have, p, take);
	k->body_have += take;
	if (k->body_have < k->body_len)
		return;
	uv_read_stop(s);
	uv_timer_stop(&k->timer);
	if (n > take) {
		refuse(k, CLI_USAGE,
		       "malformed control request: bytes after "
		       "it");
		return;
	}
	run_request(k);
}

static void ctl_timeout(uv_timer_t *t)
{
	ctl_conn *k = t->data;
	uv_read_stop((uv_stream_t *)&k->pipe);
	refuse(k, CLI_USAGE, "no whole control request within %u s",
	       CTL_REQUEST_MS / 1000);
}

static void on_ctl_conn(uv_stream_t *server, int status)
{
	cli_node *nd = server->data;
	if (status < 0)
		return;
	ctl_conn *k = calloc(1, sizeof *k);
	if (!k)
		return;
	k->nd = nd;
	(void)uv_pipe_init(&nd->loop, &k->pipe, 0);
	(void)uv_timer_init(&nd->loop, &k->timer);
	k->pipe.data = k->timer.data = k;
	k->open_handles = 2;
	k->next = nd->conns;
	nd->conns = k;
	nd->nconns++;
	if (uv_accept(server, (uv_stream_t *)&k->pipe) != 0 || nd->stopping ||
	    nd->nconns > CTL_MAX_CONNS) {
		conn_close(k);
		return;
	}
	if (uv_read_start((uv_stream_t *)&k->pipe, ctl_alloc, ctl_read) != 0) {
		conn_close(k);
		return;
	}
	(void)uv_timer_start(&k->timer, ctl_timeout, CTL_REQUEST_MS, 0);
}

/* true if something accepts connections on the Unix socket `path`. */
static bool socket_answers(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

/*
 * Serve DIR/control.sock, mode 0600: only this user may drive the node.
 * A socket left by a node that died is removed; one that answers belongs
 * to a live process (a node would have kept us from opening the store).
 */
static int ctl_listen(cli_node *nd)
{
	cli *c = nd->c;
	const char *path = nd->ctl_path;
	if (cli_control_path(c, nd->ctl_path, sizeof nd->ctl_path) != 0)
		return cli_error(c, CLI_REPLICA,
		                 "the path of %s is too long for its control "
		                 "socket (%zu bytes at most with "
		                 "\"/control.sock\")",
		                 c->dir,
		                 sizeof(((struct sockaddr_un *)0)->sun_path) -
		                         1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return cli_error(
			        c, CLI_REPLICA,
			        "%s exists and is not a socket; remove "
			        "it",
			        path);
		if (socket_answers(path))
			return cli_error(c, CLI_REPLICA,
			                 "another process serves %s", path);
		if (unlink(path) != 0 && errno != ENOENT)
			return cli_error(c, CLI_REPLICA,
			                 "cannot remove the stale %s: %s", path,
			                 strerror(errno));
		say("removed the control socket of a node that is gone");
	}
	(void)uv_pipe_init(&nd->loop, &nd->ctl, 0);
	nd->ctl.data = nd;
	/* Created 0600 from the start: no moment where others may
	 * connect. Nothing else creates files meanwhile. */
	mode_t old = umask(0177);
	int rc = uv_pipe_bind(&nd->ctl, path);
	umask(old);
	if (rc == 0 && chmod(path, 0600) != 0)
		rc = uv_translate_sys_error(errno);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&nd->ctl, CTL_MAX_CONNS,
		               on_ctl_conn);
	if (rc != 0) {
		uv_close((uv_handle_t *)&nd->ctl, NULL);
		return cli_error(c, CLI_REPLICA, "cannot serve %s: %s", path,
		                 uv_strerror(rc));
	}
	nd->ctl_open = true;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Running and stopping                                                     */
/* ------------------------------------------------------------------------ */

static void on_node_closed(void *ud)
{
	cli_node *nd = ud;
	nd->node = NULL;
	if (nd->signals) {
		uv_close((uv_handle_t *)&nd->sigint, NULL);
		uv_close((uv_handle_t *)&nd->sigterm, NULL);
	}
	say("stopped");
}

/*
 * Stop serving, say goodbye to every peer, and let the loop run dry.
 * Commands waiting for their writes get their answer first (the node
 * answers every flush before it is closed).
 */
static void stop(cli_node *nd, int code)
{
	if (nd->stopping)
		return;
	nd->stopping = true;
	nd->exit_code = code;
	if (nd->ctl_open) {
		uv_close((uv_handle_t *)&nd->ctl, NULL);
		(void)unlink(nd->ctl_path);
		nd->ctl_open = false;
	}
	for (ctl_conn *k = nd->conns, *next; k; k = next) {
		next = k->next;
		conn_close(k);
	}
	if (nd->node)
		cairn_node_close(nd->node, on_node_closed, nd);
	else
		on_node_closed(nd);
}

static void on_signal(uv_signal_t *s, int signum)
{
	cli_node *nd = s->data;
	if (nd->stopping) {
		say("stopping already");
		return;
	}
	say("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
	stop(nd, CLI_OK);
}

/* Start what the options ask for; 0 or an exit code (message printed). */
static int start(cli_node *nd)
{
	cli *c = nd->c;
	int rc = ctl_listen(nd);
	for (int i = 0; rc == 0 && i < c->nlisten; i++) {
		uint16_t port = 0;
		int err = cairn_node_listen(nd->node, c->listen[i], &port);
		if (err == CAIRN_EINVAL)
			return cli_error(c, CLI_USAGE,
			                 "--listen %s: not a numeric HOST:PORT "
			                 "(127.0.0.1:7000, [::1]:7000)",
			                 c->listen[i]);
		if (err != 0)
			return cli_error(c, CLI_REPLICA, "cannot listen on %s",
			                 c->listen[i]);
		/* As given, with the port the system chose for 0. */
		const char *colon = strrchr(c->listen[i], ':');
		snprintf(nd->listening[nd->nlistening++],
		         sizeof nd->listening[0], "%.*s:%u",
		         (int)(colon - c->listen[i]), c->listen[i],
		         (unsigned)port);
	}
	for (int i = 0; rc == 0 && i < c->npeer; i++)
		if (cairn_node_connect(nd->node, c->peer[i]) != 0)
			return cli_error(c, CLI_USAGE,
			                 "--peer %s: not a HOST:PORT",
			                 c->peer[i]);
	if (rc != 0)
		return rc;
	if (uv_signal_init(&nd->loop, &nd->sigint) != 0 ||
	    uv_signal_init(&nd->loop, &nd->sigterm) != 0)
		return cli_error(c, CLI_REPLICA, "cannot watch for signals");
	nd->signals = true;
	nd->sigint.data = nd->sigterm.data = nd;
	(void)uv_signal_start(&nd->sigint, on_signal, SIGINT);
	(void)uv_signal_start(&nd->sigterm, on_signal, SIGTERM);
	return 0;
}

static int load_keys(cli *c, cairn_identity *id, cairn_mesh_key *key)
{
	int err = cairn_identity_load(c->store, id);
	if (err != 0)
		return cli_error(c, CLI_REPLICA,
		                 "the replica in %s has no usable device "
		                 "identity (%s)",
		                 c->dir, cairn_strerror(err));
	err = cairn_mesh_key_load(c->store, key);
	if (err != 0)
		return cli_error(
		        c, CLI_REPLICA,
		        "the replica in %s has no usable mesh key (%s)", c->dir,
		        cairn_strerror(err));
	return 0;
}

int cli_cmd_node(cli *c)
{
	/* A peer that vanishes mid-write must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	cairn_device_id allow[CLI_MAX_NODE_OPTS];
	for (int i = 0; i < c->nallow; i++)
		if (cairn_device_id_from_text(c->allow[i], &allow[i]) != 0)
			return cli_error(
			        c, CLI_USAGE,
			        "--allow %s: not a device id (52 base32 "
			        "characters, as `cairn id` prints)",
			        c->allow[i]);

	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.replica.id = 0;
	cli_random_hash_key(cfg.replica.hash_key);
	cfg.sync = CAIRN_SYNC_GROUP;
	cfg.group_window_ms = GROUP_WINDOW_MS;
	cfg.create = false;
	/* A command that opened the replica itself (no node answered it)
	 * holds it for milliseconds: wait that out, not a running node. */
	int err;
	for (unsigned waited = 0;; waited += BUSY_STEP_MS) {
		err = cli_store_open(c, &cfg);
		if (err != CAIRN_EBUSY || waited >= BUSY_WAIT_MS)
			break;
		usleep(BUSY_STEP_MS * 1000u);
	}
	if (err != 0)
		return cli_open_error(c, err);

	cli_node *nd = calloc(1, sizeof *nd);
	if (!nd)
		return cli_close(c, cli_fail(c, CAIRN_ENOMEM, "starting"));
	nd->c = c;
	nd->store = c->store;
	nd->started_ms = now_ms();
	cairn_node_config nc;
	cairn_node_config_init(&nc);
	int rc = load_keys(c, &nc.identity, &nc.mesh_key);
	if (rc == 0 && uv_loop_init(&nd->loop) != 0)
		rc = cli_error(c, CLI_REPLICA, "cannot start an event loop");
	if (rc != 0) {
		cairn_identity_wipe(&nc.identity);
		cairn_mesh_key_wipe(&nc.mesh_key);
		free(nd);
		return cli_close(c, rc);
	}
	nc.store = c->store;
	nc.allow = c->nallow ? allow : NULL;
	nc.nallow = (size_t)c->nallow;
	nc.observers.ud = nd;
	nc.observers.log = on_node_log;
	cairn_identity_device_id(&nc.identity, &nd->self);
	err = cairn_node_new(&nd->loop, &nc, &nd->node);
	cairn_identity_wipe(&nc.identity);
	cairn_mesh_key_wipe(&nc.mesh_key);
	if (err != 0)
		rc = cli_fail(c, err, "starting the node");
	if (rc == 0) {
		char id[CAIRN_DEVICE_ID_TEXT];
		cairn_device_id_to_text(&nd->self, id);
		say("node %s on %s (pid %ld)", id, c->dir, (long)getpid());
		rc = start(nd);
	}
	if (rc == 0)
		say("serving the other commands on %s", nd->ctl_path);
	else
		stop(nd, rc);
	(void)uv_run(&nd->loop, UV_RUN_DEFAULT);
	rc = nd->exit_code;
	if (uv_loop_close(&nd->loop) != 0 && rc == 0)
		rc = cli_error(c, CLI_REPLICA, "the loop did not wind down");
	free(nd);
	return cli_close(c, rc);
}

/* ------------------------------------------------------------------------ */
/* status and peers                                                         */
/* ------------------------------------------------------------------------ */

static int not_running(cli *c)
{
	if (c->json)
		fputs("{\"running\": false}\n", c->out);
	return cli_error(c, CLI_NOT_RUNNING,
	                 "no node is running on %s (start one with `cairn "
	                 "--dir %s node`)",
	                 c->dir, c->dir);
}

/* The node's peers in a malloc'd array (free it); NULL on ENOMEM. */
static cairn_peer_status *peers_of(const cli_node *nd, size_t *n)
{
	*n = 0;
	for (;;) {
		size_t cap = *n;
		cairn_peer_status *st = malloc((cap ? cap : 1) * sizeof *st);
		if (!st)
			return NULL;
		if (cairn_node_peers(nd->node, st, cap, n) == 0)
			return st;
		free(st);
	}
}

static bool named(const cairn_device_id *id)
{
	static const cairn_device_id zero;
	return !cairn_device_id_equal(id, &zero);
}

/* Append printf-style text; 0 or an exit code. */
static int addf(cli *c, cairn_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int addf(cli *c, cairn_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return cli_error(c, CLI_REPLICA, "formatting failed");
	return cli_append(c, b, line,
	                  (size_t)n < sizeof line ? (size_t)n
	                                          : sizeof line - 1);
}

static int peer_text(cli *c, const cairn_peer_status *p, cairn_buf *b)
{
	char id[CAIRN_DEVICE_ID_TEXT] = "-";
	if (named(&p->device))
		cairn_device_id_to_text(&p->device, id);
	char sync[64] = "never";
	if (p->last_sync_ms)
		cli_format_time(p->last_sync_ms, sync);
	return addf(c, b,
	            "%s\t%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
	            "\t%" PRIu64 "\t%s\n",
	            id, p->address, p->dialled ? "out" : "in",
	            p->connected ? "up" : "down", sync, p->outstanding_out,
	            p->outstanding_in, p->bytes_in, p->bytes_out,
	            p->last_error[0] ? p->last_error : "-");
}

static int peer_json(cli *c, const cairn_peer_status *p, cairn_buf *b)
{
	int rc = cli_appends(c, b, "{\"device\": ");
	if (rc == 0 && named(&p->device)) {
		char id[CAIRN_DEVICE_ID_TEXT];
		cairn_device_id_to_text(&p->device, id);
		rc = addf(c, b, "\"%s\"", id);
	} else if (rc == 0) {
		rc = cli_appends(c, b, "null");
	}
	if (rc == 0)
		rc = cli_appends(c, b, ", \"address\": ");
	if (rc == 0)
		rc = cli_string_json(c, p->address, strlen(p->address), b);
	if (rc == 0)
		rc = addf(c, b,
		          ", \"direction\": \"%s\", \"up\": %s, "
		          "\"connected_ms\": %" PRIu64 ", \"last_sync_ms\": "
		          "%" PRIu64 ", \"outstanding_out\": %" PRIu64
		          ", \"outstanding_in\": %" PRIu64 ", \"bytes_in\": "
		          "%" PRIu64 ", \"bytes_out\": %" PRIu64
		          ", \"reconnects\": %" PRIu32 ", \"last_error\": ",
		          p->dialled ? "out" : "in",
		          p->connected ? "true" : "false", p->connected_ms,
		          p->last_sync_ms, p->outstanding_out,
		          p->outstanding_in, p->bytes_in, p->bytes_out,
		          p->reconnects);
	if (rc == 0)
		rc = cli_string_json(c, p->last_error, strlen(p->last_error),
		                     b);
	return rc == 0 ? cli_appends(c, b, "}") : rc;
}

static int peers_json(cli *c, const cairn_peer_status *p, size_t n,
                      cairn_buf *b)
{
	int rc = cli_appends(c, b, "[");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i > 0)
			rc = cli_appends(c, b, ", ");
		if (rc == 0)
			rc = peer_json(c, &p[i], b);
	}
	return rc == 0 ? cli_appends(c, b, "]") : rc;
}

int cli_cmd_peers(cli *c)
{
	if (!c->node || !c->node->node)
		return not_running(c);
	size_t n;
	cairn_peer_status *p = peers_of(c->node, &n);
	if (!p)
		return cli_fail(c, CAIRN_ENOMEM, "peers");
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	int rc = 0;
	if (c->json) {
		rc = peers_json(c, p, n, &b);
		if (rc == 0)
			rc = cli_appends(c, &b, "\n");
	}
	for (size_t i = 0; !c->json && rc == 0 && i < n; i++)
		rc = peer_text(c, &p[i], &b);
	if (rc == 0)
		rc = cli_write_out(c, &b);
	cairn_buf_free(&b);
	free(p);
	return rc;
}

int cli_cmd_status(cli *c)
{
	cli_node *nd = c->node;
	if (!nd || !nd->node)
		return not_running(c);
	size_t n;
	cairn_peer_status *p = peers_of(nd, &n);
	if (!p)
		return cli_fail(c, CAIRN_ENOMEM, "status");
	size_t up = 0;
	for (size_t i = 0; i < n; i++)
		up += p[i].connected;
	char id[CAIRN_DEVICE_ID_TEXT], since[64];
	cairn_device_id_to_text(&nd->self, id);
	cli_format_time(nd->started_ms, since);
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	int rc;
	if (c->json) {
		rc = addf(c, &b,
		          "{\"running\": true, \"device\": \"%s\", \"pid\": "
		          "%ld, \"started_ms\": %" PRIu64 ", \"dir\": ",
		          id, (long)getpid(), nd->started_ms);
		if (rc == 0)
			rc = cli_string_json(c, c->dir, strlen(c->dir), &b);
		if (rc == 0)
			rc = cli_appends(c, &b, ", \"control\": ");
		if (rc == 0)
			rc = cli_string_json(c, nd->ctl_path,
			                     strlen(nd->ctl_path), &b);
		if (rc == 0)
			rc = cli_appends(c, &b, ", \"listening\": [");
		for (int i = 0; rc == 0 && i < nd->nlistening; i++) {
			if (i > 0)
				rc = cli_appends(c, &b, ", ");
			if (rc == 0)
				rc = cli_string_json(c, nd->listening[i],
				                     strlen(nd->listening[i]),
				                     &b);
		}
		if (rc == 0)
			rc = cli_appends(c, &b, "], \"peers\": ");
		if (rc == 0)
			rc = peers_json(c, p, n, &b);
		if (rc == 0)
			rc = cli_appends(c, &b, "}\n");
	} else {
		rc = addf(c, &b,
		          "device     %s\nreplica    %s\nnode       running, "
		          "pid %ld, since %s\ncontrol    %s\nlistening ",
		          id, c->dir, (long)getpid(), since, nd->ctl_path);
		for (int i = 0; rc == 0 && i < nd->nlistening; i++)
			rc = addf(c, &b, " %s", nd->listening[i]);
		if (rc == 0 && nd->nlistening == 0)
			rc = cli_appends(c, &b, " -");
		if (rc == 0)
			rc = addf(c, &b, "\npeers      %zu, %zu up\n", n, up);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			rc = cli_appends(c, &b, "  ");
			if (rc == 0)
				rc = peer_text(c, &p[i], &b);
		}
	}
	if (rc == 0)
		rc = cli_write_out(c, &b);
	cairn_buf_free(&b);
	free(p);
	return rc;
}
