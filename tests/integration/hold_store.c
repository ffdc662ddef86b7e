/*
 * hold_store.c -- a helper of the cli test: open the replica in DIR, print
 * "held PID" on standard output, and keep it open until standard input
 * reaches end of file: "another process holds the store", without the
 * control socket of a `cairn node` (node.sh tests that case).
 *
 *   cairn-test-hold-store DIR
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: cairn-test-hold-store DIR\n");
		return 1;
	}
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.create = false;
	cairn_store *s = NULL;
	cairn_store_report rep;
	memset(&rep, 0, sizeof(rep));
	int err = cairn_store_open(argv[1], &cfg, &s, &rep);
	if (err != 0) {
		fprintf(stderr, "hold-store: %s: %s\n", cairn_strerror(err),
		        rep.message);
		return 1;
	}
	printf("held %ld\n", (long)getpid());
	fflush(stdout);
	char buf[256];
	while (fread(buf, 1, sizeof(buf), stdin) > 0) {
	}
	return cairn_store_close(s) == 0 ? 0 : 1;
}
