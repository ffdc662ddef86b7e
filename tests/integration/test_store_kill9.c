/*
 * test_store_kill9.c -- the kill -9 loop (catalog row S5 of
 * ../shared/research/reliability-anchors.md): a writer process
 * (store_writer.c) writes to a store on the real file system and prints
 * each write once it is durable; this test kills it with SIGKILL after a
 * random 5-100 ms, 200 times, alternating CAIRN_SYNC_EVERY and
 * CAIRN_SYNC_GROUP, and after each kill opens the store and checks that
 * every acknowledged write is there: field f<i % 8> holds i or a later
 * value of that field, and nothing that was there before is gone.
 *
 *   cairn-test-store_kill9 PATH-OF-cairn-test-store-writer
 *
 * The kill times come from a seeded generator; the seed is printed and
 * CAIRN_TEST_SEED=<seed> replays it (the timing of the writer itself is
 * not reproducible). The store lives in a fresh directory under $TMPDIR
 * (or /tmp), removed at the end whether the test passes or not.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cairn.h"
#include "rng.h"
#include "sim_util.h"

#define KILLS 200
#define FIELDS 8
#define TIME_LIMIT_S 150 /* the whole loop, well under the ctest timeout */

static const char *writer_path;

typedef struct fixture {
	char tmp[256];
	char dir[300];
	pid_t child;
	int pipe_r;
} fixture;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	const char *base = getenv("TMPDIR");
	snprintf(f->tmp, sizeof f->tmp, "%s/cairn-kill9-XXXXXX",
	         base && *base ? base : "/tmp");
	if (!mkdtemp(f->tmp)) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof f->dir, "%s/store", f->tmp);
	f->child = -1;
	f->pipe_r = -1;
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Runs on failure too: no writer left behind, no directory. */
static int teardown(void **state)
{
	fixture *f = *state;
	if (f->child > 0) {
		kill(f->child, SIGKILL);
		(void)waitpid(f->child, NULL, 0);
	}
	if (f->pipe_r >= 0)
		close(f->pipe_r);
	int rc = nftw(f->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

static pid_t spawn_writer(fixture *f, const char *policy)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execl(writer_path, writer_path, f->dir, policy, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f->pipe_r = p[0];
	f->child = pid;
	return pid;
}

/* Append what the pipe holds to buf; false at end of file. Waits at most
 * timeout_ms for something to arrive. */
static bool drain(int fd, char **buf, size_t *len, size_t *cap, int timeout_ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int n = poll(&pfd, 1, timeout_ms);
	if (n <= 0)
		return true;
	if (*cap - *len < 4096) {
		*cap = *cap * 2 + 4096;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	ssize_t got = read(fd, *buf + *len, *cap - *len);
	if (got < 0 && errno == EINTR)
		return true;
	assert_true(got >= 0);
	*len += (size_t)got;
	return got > 0;
}

static int64_t field_value(const cairn_store *s, int j)
{
	cairn_doc *d;
	cairn_value v;
	char field[8];
	snprintf(field, sizeof field, "f%d", j);
	if (cairn_replica_find(cairn_store_replica(s), "k", &d) ||
	    cairn_doc_get(d, field, &v, NULL))
		return -1;
	assert_int_equal(v.type, CAIRN_INT);
	return v.as.i;
}

static void test_kill9_loop(void **state)
{
	fixture *f = *state;
	if (!writer_path)
		fail_msg("usage: cairn-test-store_kill9 PATH-OF-WRITER");
	uint64_t seed = 0x6b696c6c39;
	(void)sim_env_u64("CAIRN_TEST_SEED", &seed);
	print_message("kill9: seed %llu (replay: CAIRN_TEST_SEED=%llu), "
	              "store in %s\n",
	              (unsigned long long)seed, (unsigned long long)seed,
	              f->dir);
	rng r;
	rng_seed(&r, seed);

	int64_t held[FIELDS]; /* what each field held at the last check */
	for (int j = 0; j < FIELDS; j++)
		held[j] = -1;
	double t0 = now_s();
	uint64_t acks = 0, silent = 0;
	char *buf = NULL;
	size_t cap = 0;
	for (int k = 0; k < KILLS; k++) {
		if (now_s() - t0 > TIME_LIMIT_S)
			fail_msg("kill9: over %d s after %d kills",
			         TIME_LIMIT_S, k);
		const char *policy = k % 2 ? "group" : "every";
		int delay_ms = (int)rng_range(&r, 5, 100);
		size_t len = 0;
		pid_t pid = spawn_writer(f, policy);
		double until = now_s() + delay_ms / 1000.0;
		bool open = true;
		for (double left; open && (left = until - now_s()) > 0;)
			open = drain(f->pipe_r, &buf, &len, &cap,
			             (int)(left * 1000) + 1);
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		f->child = -1;
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("kill9 %d (%s, %d ms): the writer ended by "
			         "itself (status %d)",
			         k, policy, delay_ms, status);
		/* The rest of the pipe, to its end (the writer is dead). */
		double stop = now_s() + 10;
		while (open && now_s() < stop)
			open = drain(f->pipe_r, &buf, &len, &cap, 1000);
		assert_false(open);
		close(f->pipe_r);
		f->pipe_r = -1;

		/* What the writer acknowledged, per field. */
		int64_t acked[FIELDS];
		for (int j = 0; j < FIELDS; j++)
			acked[j] = -1;
		int64_t lowest = INT64_MAX;
		size_t at = 0, n = 0;
		while (at < len) {
			char *nl = memchr(buf + at, '\n', len - at);
			if (!nl)
				fail_msg("kill9 %d: half a line in the pipe",
				         k);
			*nl = 0;
			char *end;
			long long v = strtoll(buf + at, &end, 10);
			assert_true(end == nl && v >= 0);
			if (v < lowest)
				lowest = v;
			acked[v % FIELDS] = v;
			at = (size_t)(nl - buf) + 1;
			n++;
		}
		acks += n;
		silent += n == 0;

		/* Reopen: every acknowledged write, and everything that was
		 * there before, is there. */
		cairn_store_config cfg;
		cairn_store_config_init(&cfg);
		cfg.create = false;
		cairn_store *s;
		cairn_store_report rep;
		int rc = cairn_store_open(f->dir, &cfg, &s, &rep);
		if (rc == CAIRN_ENOTFOUND && acks == 0)
			continue; /* killed before the store was made */
		if (rc)
			fail_msg("kill9 %d (%s, %d ms): open: %s: %s", k,
			         policy, delay_ms, cairn_err_name(rc),
			         rep.message);
		int64_t top = -1;
		for (int j = 0; j < FIELDS; j++)
			if (held[j] > top)
				top = held[j];
		/* The writer went on from what it found. */
		if (n && lowest != top + 1)
			fail_msg("kill9 %d: the writer started at %lld, not "
			         "%lld",
			         k, (long long)lowest, (long long)(top + 1));
		for (int j = 0; j < FIELDS; j++) {
			int64_t v = field_value(s, j);
			int64_t need = acked[j] > held[j] ? acked[j] : held[j];
			if (v < need || (v >= 0 && v % FIELDS != j))
				fail_msg(
				        "kill9 %d (%s, %d ms): field f%d holds "
				        "%lld; %lld was acknowledged "
				        "(%llu acknowledged writes, %zu this "
				        "time)",
				        k, policy, delay_ms, j, (long long)v,
				        (long long)need,
				        (unsigned long long)acks, n);
			held[j] = v;
		}
		assert_int_equal(cairn_store_close(s), 0);
	}
	free(buf);
	int64_t top = -1;
	for (int j = 0; j < FIELDS; j++)
		if (held[j] > top)
			top = held[j];
	print_message("kill9: %d kills in %.1f s, %llu acknowledged writes, "
	              "all present; %llu kills before any; last value %lld\n",
	              KILLS, now_s() - t0, (unsigned long long)acks,
	              (unsigned long long)silent, (long long)top);
	assert_true(acks > 0);
}

int main(int argc, char **argv)
{
	writer_path = argc > 1 ? argv[1] : getenv("CAIRN_STORE_WRITER");
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_kill9_loop, setup,
	                                        teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
