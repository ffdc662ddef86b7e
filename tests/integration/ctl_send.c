/*
 * ctl_send.c -- a helper of node.sh: send one crafted request to the
 * control socket of a running `cairn node` and print what came back, so
 * that the script can check that a malformed request gets an error and
 * leaves the node serving.
 *
 *   cairn-test-ctl-send SOCKET CASE
 *
 * CASE: ok (a well-formed `ls`), garbage, version, argc, arglen, nul,
 * input, trailing, huge, unknown (a command a node does not run), cut
 * (half a request, then the end of the connection).
 * Prints each answer frame as "o <text>", "e <text>" or "x <status>", and
 * "eof" if the connection ended without an exit status.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static size_t put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

/* A request body of version `ver`: argc strings and input. */
static size_t body(uint8_t *b, uint8_t ver, int argc, const char **argv,
                   const char *input)
{
	size_t n = 0;
	b[n++] = ver;
	b[n++] = (uint8_t)argc;
	for (int i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]);
		n += put_u32(b + n, (uint32_t)len);
		memcpy(b + n, argv[i], len);
		n += len;
	}
	size_t ilen = strlen(input);
	n += put_u32(b + n, (uint32_t)ilen);
	memcpy(b + n, input, ilen);
	return n + ilen;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: cairn-test-ctl-send SOCKET CASE\n");
		return 2;
	}
	const char *c = argv[2];
	static uint8_t req[1 << 16];
	uint8_t *b = req + 4;
	size_t n = 0;
	uint32_t declared = 0;
	bool cut = false;
	const char *ls[] = {"ls", "--"};
	if (strcmp(c, "ok") == 0) {
		n = body(b, 1, 2, ls, "");
	} else if (strcmp(c, "garbage") == 0) {
		memcpy(b, "GET / HTTP/1.0\r\n\r\n", 18);
		n = 18;
	} else if (strcmp(c, "version") == 0) {
		n = body(b, 9, 2, ls, "");
	} else if (strcmp(c, "argc") == 0) {
		n = body(b, 1, 2, ls, "");
		b[1] = 200;
	} else if (strcmp(c, "arglen") == 0) {
		n = body(b, 1, 2, ls, "");
		put_u32(b + 2, 0x7fffffff);
	} else if (strcmp(c, "nul") == 0) {
		n = body(b, 1, 2, ls, "");
		b[6] = '\0';
	} else if (strcmp(c, "input") == 0) {
		n = body(b, 1, 2, ls, "");
		put_u32(b + n - 4, 99);
	} else if (strcmp(c, "trailing") == 0) {
		n = body(b, 1, 2, ls, "");
		declared = (uint32_t)n;
		b[n++] = 'x';
	} else if (strcmp(c, "huge") == 0) {
		declared = 0xffffffffu;
	} else if (strcmp(c, "unknown") == 0) {
		const char *node[] = {"node", "--"};
		n = body(b, 1, 2, node, "");
	} else if (strcmp(c, "cut") == 0) {
		n = body(b, 1, 2, ls, "");
		declared = (uint32_t)n;
		n /= 2;
		cut = true;
	} else {
		fprintf(stderr, "unknown case %s\n", c);
		return 2;
	}
	put_u32(req, declared ? declared : (uint32_t)n);

	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		return 2;
	}
	if (send(fd, req, 4 + n, MSG_NOSIGNAL) != (ssize_t)(4 + n)) {
		perror("send");
		return 2;
	}
	if (cut)
		shutdown(fd, SHUT_WR);
	for (;;) {
		uint8_t h[5];
		size_t got = 0;
		while (got < 5) {
			ssize_t k = recv(fd, h + got, 5 - got, 0);
			if (k <= 0) {
				printf("eof\n");
				return 0;
			}
			got += (size_t)k;
		}
		uint32_t len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
		               (uint32_t)h[3] << 8 | h[4];
		char *text = calloc(1, (size_t)len + 1);
		got = 0;
		while (got < len) {
			ssize_t k = recv(fd, text + got, len - got, 0);
			if (k <= 0) {
				printf("eof\n");
				return 0;
			}
			got += (size_t)k;
		}
		if (h[0] == 'x') {
			printf("x %u\n", (unsigned)(uint8_t)text[0]);
			free(text);
			return 0;
		}
		printf("%c %s", h[0], text);
		free(text);
	}
}
