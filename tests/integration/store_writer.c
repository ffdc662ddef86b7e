/*
 * store_writer.c -- the process test_store_kill9.c kills: it opens the
 * store in DIR on the real file system and writes increasing integers,
 * i to field "f<i % 8>" of document "k", printing each write on standard
 * output once it is durable -- and only then.
 *
 *   cairn-test-store-writer DIR every|group
 *
 * every: CAIRN_SYNC_EVERY, a line after each write call returns 0.
 * group: CAIRN_SYNC_GROUP, cairn_store_sync() after every fourth write,
 *        then a line for each write it covered.
 * It continues from what it finds (the largest value + 1). Each batch of
 * lines goes out in one write(2) of less than PIPE_BUF bytes, so a kill
 * never leaves half a line in the pipe. A small compaction threshold makes
 * compactions (and kills in the middle of them) frequent.
 *
 * It stops on its own after 60 s or when its parent is gone, so that a
 * test that died cannot leave it running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"

#define FIELDS 8

static int emit(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int64_t field_value(const cairn_store *s, int j)
{
	cairn_doc *d;
	cairn_value v;
	char field[8];
	snprintf(field, sizeof field, "f%d", j);
	if (cairn_replica_find(cairn_store_replica(s), "k", &d) ||
	    cairn_doc_get(d, field, &v, NULL) || v.type != CAIRN_INT)
		return -1;
	return v.as.i;
}

int main(int argc, char **argv)
{
	if (argc != 3 ||
	    (strcmp(argv[2], "every") && strcmp(argv[2], "group"))) {
		fprintf(stderr,
		        "usage: cairn-test-store-writer DIR every|group\n");
		return 2;
	}
	bool group = strcmp(argv[2], "group") == 0;
	pid_t parent = getppid();
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.replica.id = 0x6b696c6c;
	cfg.sync = group ? CAIRN_SYNC_GROUP : CAIRN_SYNC_EVERY;
	cfg.compact_log_bytes = 16 << 10;
	cairn_store *s;
	cairn_store_report rep;
	int rc = cairn_store_open(argv[1], &cfg, &s, &rep);
	if (rc) {
		fprintf(stderr, "store-writer: open: %s: %s\n",
		        cairn_err_name(rc), rep.message);
		return 1;
	}
	int64_t next = 0;
	for (int j = 0; j < FIELDS; j++) {
		int64_t v = field_value(s, j);
		if (v >= next)
			next = v + 1;
	}
	time_t start = time(NULL);
	char out[512];
	size_t len = 0;
	for (;;) {
		if (time(NULL) - start > 60 || getppid() != parent)
			break;
		char field[8];
		snprintf(field, sizeof field, "f%d", (int)(next % FIELDS));
		cairn_value v = cairn_value_int(next);
		rc = cairn_store_set(s, "k", field, &v, 0, NULL, NULL);
		if (rc) {
			fprintf(stderr, "store-writer: set %lld: %s\n",
			        (long long)next, cairn_err_name(rc));
			break;
		}
		len += (size_t)snprintf(out + len, sizeof out - len, "%lld\n",
		                        (long long)next);
		next++;
		if (group && next % 4 != 0)
			continue;
		if (group && (rc = cairn_store_sync(s)) != 0) {
			fprintf(stderr, "store-writer: sync: %s\n",
			        cairn_err_name(rc));
			break;
		}
		/* durable: say so */
		if (emit(out, len))
			break;
		len = 0;
	}
	(void)cairn_store_close(s);
	return rc ? 1 : 0;
}
