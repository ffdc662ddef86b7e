/*
 * control.c -- the control socket of a running `cairn node`: its wire
 * format, and the client side that every data command uses while a node
 * holds the replica (docs/CLI.md, "The control socket").
 *
 * The request is the command line itself: the node runs the very same
 * command implementation against its open store, with the command's
 * standard output and error captured, and sends back both and the exit
 * status. So a command behaves the same with and without a node, and
 * there is no second description of each command to keep in step.
 *
 *   request  = u32be length || body             (length <= CLI_CTL_MAX)
 *   body     = u8 version (1) || u8 argc (1..CLI_CTL_MAX_ARGS)
 *              || argc x (u32be length || bytes, no NUL)
 *              || u32be length || input bytes
 *   argv     = the command's name, its options, "--", its positional
 *              arguments; input = the bytes of a file argument (import)
 *   response = frames, the last one 'x':
 *              u8 kind || u32be length || bytes
 *              'o' standard output, 'e' standard error,
 *              'x' one byte: the exit status
 *
 * One request per connection. Everything is checked against the bytes
 * that remain before it is used, so a malformed request gets an error
 * answer, never a crash.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

/* How long a client waits for the node's answer. */
#define ANSWER_TIMEOUT_S 120

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t cli_ctl_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int cli_control_path(const cli *c, char *out, size_t cap)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int n = snprintf(out, cap, "%s/control.sock", c->dir);
	return n < 0 || (size_t)n >= cap || (size_t)n >= max ? -1 : 0;
}

static int append_u32(cairn_buf *b, uint32_t v)
{
	uint8_t p[4];
	put_u32(p, v);
	return cairn_buf_append(b, p, 4);
}

int cli_ctl_encode(int argc, char *const *argv, const uint8_t *input,
                   size_t input_len, cairn_buf *out)
{
	if (argc < 1 || argc > CLI_CTL_MAX_ARGS)
		return CAIRN_ELIMIT;
	size_t start = out->len;
	uint8_t head[2] = {CLI_CTL_VERSION, (uint8_t)argc};
	int rc = append_u32(out, 0); /* the length, filled in below */
	if (rc == 0)
		rc = cairn_buf_append(out, head, 2);
	for (int i = 0; rc == 0 && i < argc; i++) {
		size_t n = strlen(argv[i]);
		rc = append_u32(out, (uint32_t)n);
		if (rc == 0)
			rc = cairn_buf_append(out, argv[i], n);
	}
	if (rc == 0 && input_len > CLI_CTL_MAX)
		rc = CAIRN_ELIMIT;
	if (rc == 0)
		rc = append_u32(out, (uint32_t)input_len);
	if (rc == 0 && input_len)
		rc = cairn_buf_append(out, input, input_len);
	size_t body = out->len - start - 4;
	if (rc == 0 && body > CLI_CTL_MAX)
		rc = CAIRN_ELIMIT;
	if (rc != 0) {
		out->len = start;
		return rc;
	}
	put_u32(out->data + start, (uint32_t)body);
	return 0;
}

const char *cli_ctl_decode(const uint8_t *body, size_t len, cli_ctl_request *r)
{
	memset(r, 0, sizeof *r);
	if (len < 2 || body[0] != CLI_CTL_VERSION)
		return "not a control request of version 1";
	size_t argc = body[1];
	if (argc < 1 || argc > CLI_CTL_MAX_ARGS)
		return "a bad argument count";
	/* The strings, each with a NUL, fit in the body's size. */
	r->strings = malloc(len);
	if (!r->strings)
		return "out of memory";
	size_t off = 2, put = 0;
	for (size_t i = 0; i < argc; i++) {
		if (len - off < 4)
			return "cut short";
		size_t n = cli_ctl_get_u32(body + off);
		off += 4;
		if (n > len - off || memchr(body + off, '\0', n))
			return "a bad argument";
		r->argv[i] = r->strings + put;
		memcpy(r->strings + put, body + off, n);
		r->strings[put + n] = '\0';
		put += n + 1;
		off += n;
	}
	if (len - off < 4)
		return "cut short";
	size_t n = cli_ctl_get_u32(body + off);
	off += 4;
	if (n != len - off)
		return "a bad input length";
	r->argc = (int)argc;
	r->input = body + off;
	r->input_len = n;
	return NULL;
}

void cli_ctl_request_free(cli_ctl_request *r)
{
	free(r->strings);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------ */
/* The client                                                               */
/* ------------------------------------------------------------------------ */

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? errno : EPIPE;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Read exactly n bytes: 0, -1 at end of stream, or an errno. */
static int recv_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0)
			return -1;
		if (k < 0)
			return errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The command line the node runs: name, options, "--", arguments. */
static int request_argv(const cli *c, char **argv, char *mesh_opt, size_t cap)
{
	int n = 0;
	argv[n++] = (char *)c->cmd->name;
	if (c->replica_flag)
		argv[n++] = "--replica";
	if (c->json)
		argv[n++] = "--json";
	if (c->mesh_key) {
		snprintf(mesh_opt, cap, "--mesh-key=%s", c->mesh_key);
		argv[n++] = mesh_opt;
	}
	argv[n++] = "--";
	for (int i = 0; i < c->nargs && n < CLI_CTL_MAX_ARGS; i++)
		argv[n++] = c->args[i];
	return n;
}

/* Copy one response frame's n bytes from fd to f. */
static int relay(int fd, size_t n, FILE *f)
{
	uint8_t buf[65536];
	while (n > 0) {
		size_t k = n < sizeof buf ? n : sizeof buf;
		int rc = recv_all(fd, buf, k);
		if (rc != 0)
			return rc;
		if (fwrite(buf, 1, k, f) != k)
			return EIO;
		n -= k;
	}
	return fflush(f) == 0 ? 0 : EIO;
}

static int answer(cli *c, int fd, int *status)
{
	for (;;) {
		uint8_t head[5];
		int rc = recv_all(fd, head, sizeof head);
		if (rc == 0) {
			size_t n = cli_ctl_get_u32(head + 1);
			if (head[0] == 'x' && n == 1) {
				uint8_t code;
				rc = recv_all(fd, &code, 1);
				if (rc == 0) {
					*status = code;
					return 0;
				}
			} else if (head[0] == 'o' || head[0] == 'e') {
				rc = relay(fd, n,
				           head[0] == 'o' ? c->out : c->err);
				if (rc == 0)
					continue;
			} else {
				return cli_error(c, CLI_REPLICA,
				                 "the node on %s answered "
				                 "something this cairn does "
				                 "not read",
				                 c->dir);
			}
		}
		if (rc == EAGAIN || rc == EWOULDBLOCK)
			return cli_error(c, CLI_REPLICA,
			                 "the node on %s did not answer within "
			                 "%d s",
			                 c->dir, ANSWER_TIMEOUT_S);
		if (rc == -1)
			return cli_error(c, CLI_REPLICA,
			                 "the node on %s hung up without an "
			                 "answer (is it stopping?)",
			                 c->dir);
		return cli_error(c, CLI_REPLICA,
		                 "reading the node's answer: %s", strerror(rc));
	}
}

int cli_control_call(cli *c, int *status)
{
	char path[4200];
	if (cli_control_path(c, path, sizeof path) != 0)
		return 1; /* no node can listen there */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cli_error(c, CLI_REPLICA, "socket: %s", strerror(errno));
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		/* No socket, or one that a dead node left: no node runs. */
		if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
			return 1;
		return cli_error(c, CLI_REPLICA,
		                 "cannot reach the node on %s through %s: %s",
		                 c->dir, path, strerror(e));
	}
	struct timeval tv = {ANSWER_TIMEOUT_S, 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

	cairn_buf input, req;
	cairn_buf_init(&input, NULL);
	cairn_buf_init(&req, NULL);
	int rc = 0;
	if ((c->cmd->flags & CLI_READS_FILE) != 0 && c->nargs > 0) {
		const char *file = c->args[0];
		int os = cli_read_file(file, &input);
		if (os != 0)
			rc = cli_error(c, CLI_DATA, "%s: %s",
			               strcmp(file, "-") == 0 ? "standard input"
			                                      : file,
			               strerror(os));
	}
	char *argv[CLI_CTL_MAX_ARGS];
	char mesh_opt[128];
	int argc = 0;
	if (rc == 0) {
		argc = request_argv(c, argv, mesh_opt, sizeof mesh_opt);
		int err =
		        cli_ctl_encode(argc, argv, input.data, input.len, &req);
		if (err == CAIRN_ELIMIT)
			rc = cli_error(
			        c, CLI_DATA,
			        "the request is too large for the node's "
			        "control socket (%u MiB at most)",
			        (unsigned)(CLI_CTL_MAX >> 20));
		else if (err != 0)
			rc = cli_fail(c, err, "the request");
	}
	if (rc == 0) {
		int e = send_all(fd, req.data, req.len);
		if (e != 0)
			rc = cli_error(c, CLI_REPLICA,
			               "sending to the node on %s: %s", c->dir,
			               strerror(e));
	}
	if (rc == 0)
		rc = answer(c, fd, status);
	close(fd);
	cairn_buf_free(&input);
	cairn_buf_free(&req);
	return rc;
}
