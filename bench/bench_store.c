/*
 * bench_store.c -- figures of the durable store.
 *
 * Prints one JSON object per line on stdout,
 *     {"figure": "<name>", "value": <number>, "unit": "<unit>"}
 * and nothing else there; progress and the comparison with the targets go
 * to stderr.
 *
 *   cairn-bench-store [--quick] [--dir DIR]
 *
 * The store lives in a fresh directory under DIR (default: $TMPDIR or
 * /tmp), removed at the end. --quick divides sizes by 10 and shortens the
 * timed windows: a smoke run for CI.
 *
 * Durable writes: W writers share one libuv loop, each issuing its next
 * write as soon as the previous one is durable. The store runs under the
 * GROUP policy, driven by cairn_store_loop (include/cairn/loop.h): the
 * fsync runs on libuv's thread pool and writes made while it runs share
 * the next one. With W = 1 every write waits for its own fsync, which is
 * the baseline the issue compares against.
 *
 * Opening: a store of N register entries (one document), opened from a
 * snapshot and from a log of N records; the resident memory of the opened
 * store is measured in a child process, so nothing else of this program
 * counts.
 *
 * Reading the log back: the N records of that store's log read through a
 * cursor (cairn_store_cursor_open), as the sync protocol streams a log to
 * a peer: MB of log per second (the file is in the page cache).
 *
 * Public headers only (DESIGN.md section 9), and libuv.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <cairn/loop.h>
#include <cairn/store.h>

static struct {
	size_t n;         /* entries of the open/compaction figures */
	size_t nofsync;   /* writes of the fsync-off figure */
	double window_s;  /* each durable-writes figure runs this long */
	const char *base; /* where the temporary directory goes */
} cfg = {1000000, 200000, 2.0, NULL};

static char root[512]; /* this run's directory */
static const uint64_t t0_ms = UINT64_C(1700000000000);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void emit(const char *figure, double value, const char *unit)
{
	printf("{\"figure\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n",
	       figure, value, unit);
	fflush(stdout);
}

static void die(int line, const char *what, int rc)
{
	fprintf(stderr, "bench_store.c:%d: %s: %s\n", line, what,
	        rc < 0 ? cairn_strerror(rc) : "failed");
	exit(1);
}

#define CHECK(call)                                                            \
	do {                                                                   \
		int rc_ = (call);                                              \
		if (rc_ != 0)                                                  \
			die(__LINE__, #call, rc_);                             \
	} while (0)

/* rm -r of one level of files, then the directory. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[1024];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static cairn_store *open_store(const char *name, cairn_sync_policy sync,
                               uint64_t compact, double *took)
{
	char dir[600];
	snprintf(dir, sizeof dir, "%s/%s", root, name);
	cairn_store_config c;
	cairn_store_config_init(&c);
	c.replica.id = 0xBE7C;
	c.sync = sync;
	c.compact_log_bytes = compact;
	cairn_store *s;
	cairn_store_report rep;
	double t = now_s();
	int rc = cairn_store_open(dir, &c, &s, &rep);
	if (rc) {
		fprintf(stderr, "open %s: %s\n", dir, rep.message);
		die(__LINE__, "cairn_store_open", rc);
	}
	if (took)
		*took = now_s() - t;
	return s;
}

static void write_n(cairn_store *s, size_t n)
{
	char key[32];
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof key, "k%07zu", i);
		cairn_value v = cairn_value_int((int64_t)i);
		CHECK(cairn_store_set(s, "bench/one", key, &v, t0_ms + i / 1000,
		                      NULL, NULL));
	}
}

/* ---- durable writes with group commit ----------------------------------- */

typedef struct group {
	cairn_store *s;
	cairn_store_loop *sl;
	double end_s;
	uint64_t acked;
	uint64_t next_value;
} group;

typedef struct writer {
	group *g;
	size_t id;
} writer;

static void issue(writer *w);

static void on_durable(void *ud, uint64_t seq, int status)
{
	writer *w = ud;
	(void)seq;
	CHECK(status);
	w->g->acked++;
	if (now_s() < w->g->end_s)
		issue(w);
}

static void issue(writer *w)
{
	char key[32];
	snprintf(key, sizeof key, "w%03zu", w->id);
	cairn_value v = cairn_value_int((int64_t)w->g->next_value++);
	uint64_t seq;
	CHECK(cairn_store_set(w->g->s, "bench/group", key, &v, 0, NULL, &seq));
	CHECK(cairn_store_loop_durable(w->g->sl, seq, on_durable, w));
}

static double durable_writes(size_t writers)
{
	char name[32];
	snprintf(name, sizeof name, "group-%zu", writers);
	group g;
	memset(&g, 0, sizeof g);
	uv_loop_t *loop = uv_default_loop();
	g.s = open_store(name, CAIRN_SYNC_GROUP, 0, NULL);
	CHECK(cairn_store_loop_new(loop, g.s, &g.sl));
	writer *w = calloc(writers, sizeof *w);
	double t = now_s();
	g.end_s = t + cfg.window_s;
	for (size_t i = 0; i < writers; i++) {
		w[i].g = &g;
		w[i].id = i;
		issue(&w[i]);
	}
	uv_run(loop, UV_RUN_DEFAULT);
	t = now_s() - t;
	cairn_store_loop_close(g.sl, NULL, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(cairn_store_close(g.s));
	free(w);
	return (double)g.acked / t;
}

/* ---- reading the log back ----------------------------------------------- */

/* Read the whole log of s through a cursor; MB (2^20 bytes) per second. */
static double cursor_read(cairn_store *s, size_t expect)
{
	double t = now_s();
	cairn_log_cursor *c;
	CHECK(cairn_store_cursor_open(s, 1, &c));
	uint64_t seq;
	const uint8_t *delta;
	size_t len, n = 0, bytes = 0;
	int rc;
	while ((rc = cairn_store_cursor_next(c, &seq, &delta, &len)) == 0) {
		n++;
		bytes += len;
	}
	t = now_s() - t;
	if (rc != CAIRN_EAGAIN)
		die(__LINE__, "cairn_store_cursor_next", rc);
	if (n != expect)
		die(__LINE__, "the cursor's record count", -1);
	cairn_store_cursor_close(c);
	fprintf(stderr, "  %zu records, %zu bytes of deltas, %.3f s\n", n,
	        bytes, t);
	return (double)cairn_store_log_bytes(s) / (1 << 20) / t;
}

/* ---- opening a large store ---------------------------------------------- */

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Open in a child; it reports the time and its resident memory. */
static void open_in_child(const char *name, double *took, double *rss_mb)
{
	int fd[2];
	if (pipe(fd) != 0)
		die(__LINE__, "pipe", -1);
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		long before = rss_kb();
		double t;
		cairn_store *s = open_store(name, CAIRN_SYNC_NONE, 0, &t);
		double r[2] = {t, (double)(rss_kb() - before) / 1024.0};
		if (write(fd[1], r, sizeof r) != (ssize_t)sizeof r)
			_exit(1);
		(void)cairn_store_close(s);
		_exit(0);
	}
	close(fd[1]);
	double r[2] = {0, 0};
	ssize_t got = read(fd[0], r, sizeof r);
	close(fd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (got != (ssize_t)sizeof r || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die(__LINE__, "open in a child", -1);
	*took = r[0];
	*rss_mb = r[1];
}

static void bench_open(void)
{
	fprintf(stderr, "a store of %zu entries from a log...\n", cfg.n);
	cairn_store *s = open_store("big", CAIRN_SYNC_NONE, 0, NULL);
	double t = now_s();
	write_n(s, cfg.n);
	t = now_s() - t;
	emit("writes_per_s_nofsync", (double)cfg.n / t, "writes/s");
	fprintf(stderr, "reading its log back through a cursor...\n");
	emit("cursor_read_mb_per_s", cursor_read(s, cfg.n), "MB/s");
	CHECK(cairn_store_close(s));

	double took, rss;
	open_in_child("big", &took, &rss);
	emit("open_1m_log_s", took, "s");

	s = open_store("big", CAIRN_SYNC_NONE, 0, NULL);
	t = now_s();
	CHECK(cairn_store_compact(s));
	emit("compact_1m_s", now_s() - t, "s");
	emit("snapshot_1m_bytes", (double)cairn_store_snapshot_bytes(s),
	     "bytes");
	CHECK(cairn_store_close(s));

	open_in_child("big", &took, &rss);
	emit("open_1m_snapshot_s", took, "s");
	emit("open_1m_rss_mb", rss, "MB");
	fprintf(stderr, "\ntargets:\n  open_1m_snapshot_s  %8.3f  <= 1 s  %s\n",
	        took, took <= 1.0 ? "met" : "MISSED");
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg.n /= 10;
			cfg.nofsync /= 10;
			cfg.window_s = 0.3;
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			cfg.base = argv[++i];
		} else {
			fprintf(stderr, "usage: cairn-bench-store [--quick] "
			                "[--dir DIR]\n");
			return 2;
		}
	}
	if (!cfg.base)
		cfg.base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(root, sizeof root, "%s/cairn-bench-store-XXXXXX", cfg.base);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	fprintf(stderr, "cairn %s, store in %s\n", cairn_version(), root);

	static const size_t writers[] = {1, 4, 64};
	double per[3];
	for (int k = 0; k < 3; k++) {
		per[k] = durable_writes(writers[k]);
		char figure[64];
		snprintf(figure, sizeof figure, "durable_writes_per_s_%zu",
		         writers[k]);
		emit(figure, per[k], "writes/s");
	}
	emit("group_commit_gain_64", per[2] / per[0], "x");

	bench_open();
	fprintf(stderr, "  group commit, 64 writers   %8.1fx  >= 20x   %s\n",
	        per[2] / per[0], per[2] / per[0] >= 20 ? "met" : "MISSED");

	char dir[600];
	const char *names[] = {"group-1", "group-4", "group-64", "big"};
	for (int i = 0; i < 4; i++) {
		snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
		remove_dir(dir);
	}
	rmdir(root);
	return 0;
}
