/*
 * bench_core.c -- throughput and memory figures of the CRDT core.
 *
 * Prints one JSON object per line on stdout,
 *     {"figure": "<name>", "value": <number>, "unit": "<unit>"}
 * and nothing else there; progress and the comparison with the targets go
 * to stderr. Single-threaded, pinned to the CPU it starts on, timed with
 * CLOCK_MONOTONIC; every timed figure is the best of at least 3 runs (runs
 * that do not need a fresh replica repeat until 0.3 s have passed).
 *
 *   cairn-bench-core [--quick] [--only GROUP]
 *
 * --quick divides every size by 10 and does one run per figure (a smoke
 * test for CI: it checks that the program works, not the figures).
 * --only runs one group: rss, mem, writes, overwrites, sets, join, codec
 * (handy under `perf record`).
 *
 * Time is an input of the core. Writes use a fake clock that advances 1 ms
 * every 1,000 writes (the HLC counter absorbs the rest), shared by every
 * replica of the program so that joins never trip the clock-skew check.
 *
 * Public headers only (DESIGN.md section 9).
 */
#define _GNU_SOURCE
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairn/crdt.h>

/* ------------------------------------------------------------------------ */
/* Sizes, options and small tools                                           */
/* ------------------------------------------------------------------------ */

static struct {
	size_t n;          /* registers / set members in the big figures */
	size_t docs;       /* documents of the spread layout (n / 100 each) */
	size_t ow_keys;    /* keys of the overwrite figure (each written 10x) */
	size_t join_delta; /* entries of the delta joined into the n-state */
	size_t sets;       /* set fields of set_adds_per_s_100_sets */
	int min_runs;      /* runs per timed figure (best time wins) */
	double min_s;      /* cheap figures repeat until this much time */
	const char *only;  /* run only this group (NULL: all) */
} cfg = {1000000, 10000, 100000, 100000, 100, 3, 0.3, NULL};

#define KEY_LEN 9    /* "k0000001" and its NUL */
#define DOCID_LEN 16 /* "doc/00001" and its NUL, padded */

static char *keys;   /* keys[i * KEY_LEN]: the name "k%07zu" of key i */
static char *docids; /* docids[i * DOCID_LEN]: "doc/%05zu" */
#define KEY(i) (keys + (size_t)(i)*KEY_LEN)
#define DOCID(i) (docids + (size_t)(i)*DOCID_LEN)

static uint64_t fake_ms; /* the shared fake wall clock, Unix ms */

/* The clock for the i-th write of a batch that started at fake_ms. */
static inline uint64_t clock_at(size_t i)
{
	return fake_ms + i / 1000;
}

/* Move the clock past a batch of n writes. */
static void clock_advance(size_t n)
{
	fake_ms += n / 1000 + 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(int line, const char *what, int rc)
{
	fprintf(stderr, "bench_core.c:%d: %s: %s (%s)\n", line, what,
	        cairn_strerror(rc), cairn_err_name(rc));
	exit(1);
}

/* Every cairn call goes through CHECK: on error, say which and exit 1. */
#define CHECK(expr)                                                            \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != 0)                                                  \
			die(__LINE__, #expr, rc_);                             \
	} while (0)

/* A wrong result is a bug in the core, not a figure: stop and say so. */
#define EXPECT(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
			        "bench_core.c:%d: check failed: ", __LINE__);  \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

static bool want(const char *group)
{
	return cfg.only == NULL || strcmp(cfg.only, group) == 0;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

#define MAX_FIGURES 64
static struct {
	const char *name;
	double value;
} figures[MAX_FIGURES];
static size_t nfigures;

static void emit(const char *figure, double value, const char *unit)
{
	if (!isfinite(value))
		value = 0; /* JSON has no inf/NaN; a 0 stands out */
	if (fabs(value) >= 1000)
		printf("{\"figure\": \"%s\", \"value\": %.0f, \"unit\": "
		       "\"%s\"}\n",
		       figure, value, unit);
	else
		printf("{\"figure\": \"%s\", \"value\": %.4f, \"unit\": "
		       "\"%s\"}\n",
		       figure, value, unit);
	fflush(stdout);
	if (nfigures < MAX_FIGURES) {
		figures[nfigures].name = figure;
		figures[nfigures].value = value;
		nfigures++;
	}
}

/* ops / seconds, guarded against a zero time. */
static double rate(size_t ops, double s)
{
	return (double)ops / (s > 1e-9 ? s : 1e-9);
}

static double best(double a, double b)
{
	return a < b ? a : b;
}

/* ------------------------------------------------------------------------ */
/* Replicas and a counting allocator                                        */
/* ------------------------------------------------------------------------ */

/* Counts live bytes through the sized free of cairn_allocator. */
typedef struct counter {
	size_t live;
	size_t mismatches; /* frees of more bytes than are live */
} counter;

static void *cnt_alloc(void *ud, size_t size)
{
	counter *c = ud;
	void *p = malloc(size);
	if (p != NULL)
		c->live += size;
	return p;
}

static void *cnt_realloc(void *ud, void *p, size_t old_size, size_t new_size)
{
	counter *c = ud;
	void *q = realloc(p, new_size);
	if (q != NULL) {
		if (old_size > c->live)
			c->mismatches++;
		c->live = c->live - old_size + new_size;
	}
	return q;
}

static void cnt_free(void *ud, void *p, size_t size)
{
	counter *c = ud;
	if (size > c->live)
		c->mismatches++;
	c->live -= size;
	free(p);
}

static cairn_replica *replica_make(cairn_replica_id id, counter *count)
{
	cairn_replica_config c;
	cairn_replica_config_init(&c);
	c.id = id;
	if (count != NULL) {
		c.allocator.alloc = cnt_alloc;
		c.allocator.realloc = cnt_realloc;
		c.allocator.free = cnt_free;
		c.allocator.ud = count;
	}
	cairn_replica *r;
	CHECK(cairn_replica_new(&c, &r));
	return r;
}

static cairn_delta *delta_make(void)
{
	cairn_delta *d;
	CHECK(cairn_delta_new(NULL, &d));
	return d;
}

/*
 * Write registers KEY(0..n) = i into one document ("bench/one"), or spread
 * over cfg.docs documents (document i % docs, field KEY(i / docs)) looked
 * up by id on every write. With a delta, each write's delta is cleared
 * right away, as a store or a link consuming per-write deltas would.
 * Returns the seconds the writes took.
 */
static double write_registers(cairn_replica *r, size_t n, bool spread,
                              cairn_delta *delta)
{
	cairn_doc *d;
	double t0 = now_s();
	if (!spread) {
		CHECK(cairn_replica_doc(r, "bench/one", &d));
		for (size_t i = 0; i < n; i++) {
			cairn_value v = cairn_value_int((int64_t)i);
			CHECK(cairn_doc_set(d, KEY(i), &v, clock_at(i), delta));
			if (delta != NULL)
				cairn_delta_clear(delta);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			cairn_value v = cairn_value_int((int64_t)i);
			CHECK(cairn_replica_doc(r, DOCID(i % cfg.docs), &d));
			CHECK(cairn_doc_set(d, KEY(i / cfg.docs), &v,
			                    clock_at(i), delta));
			if (delta != NULL)
				cairn_delta_clear(delta);
		}
	}
	double t = now_s() - t0;
	clock_advance(n);
	return t;
}

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */

/* VmRSS of this process in bytes, or 0 if /proc is unreadable. */
static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/*
 * RSS growth per register entry, in a fresh process (this group runs
 * first, so no freed memory of another figure is reused). Nothing is
 * subtracted: it is the whole cost of an entry including its key (9 bytes),
 * its value and the C library's malloc overhead.
 */
static void bench_rss(void)
{
	size_t before = rss_bytes();
	cairn_replica *r = replica_make(1, NULL);
	(void)write_registers(r, cfg.n, false, NULL);
	size_t after = rss_bytes();
	EXPECT(before > 0 && after >= before, "VmRSS unreadable");
	emit("rss_bytes_per_register_entry",
	     (double)(after - before) / (double)cfg.n, "bytes");
	cairn_replica_free(r);
}

/*
 * Bytes the core allocates per live entry beyond its key and value,
 * counted through the replica's allocator:
 *   (live after - live of the empty replica
 *    - key bytes: each field name's length + 1 for a NUL, per entry
 *      (and each document id's length + 1, once per document)
 *    - 8 bytes of value per entry: an int64 is stored inline, so its
 *      8 bytes count as the value, not as overhead) / entries.
 * What remains is the price of the data structure: dots, stamps, hash
 * slots, tree nodes, the document's context, allocator slack the core
 * asks for.
 */
static void bench_mem(void)
{
	for (int spread = 0; spread <= 1; spread++) {
		counter c = {0, 0};
		cairn_replica *r = replica_make(1, &c);
		size_t empty = c.live;
		(void)write_registers(r, cfg.n, spread != 0, NULL);
		size_t key_bytes = cfg.n * KEY_LEN;
		if (spread)
			key_bytes += cfg.docs * (strlen(DOCID(0)) + 1);
		else
			key_bytes += strlen("bench/one") + 1;
		double per = ((double)c.live - (double)empty -
		              (double)key_bytes - 8.0 * (double)cfg.n) /
		             (double)cfg.n;
		emit(spread ? "bytes_per_register_entry_10k_docs"
		            : "bytes_per_register_entry",
		     per, "bytes");
		cairn_replica_free(r);
		EXPECT(c.live == 0 && c.mismatches == 0,
		       "allocator: %zu bytes live after free, %zu bad frees",
		       c.live, c.mismatches);
	}

	/* Set members: the same, less 8 bytes of int per member and the
	 * field name "s" and document id once. */
	counter c = {0, 0};
	cairn_replica *r = replica_make(1, &c);
	size_t empty = c.live;
	cairn_doc *d;
	CHECK(cairn_replica_doc(r, "bench/set", &d));
	for (size_t i = 0; i < cfg.n; i++) {
		cairn_value v = cairn_value_int((int64_t)i);
		CHECK(cairn_doc_add(d, "s", &v, NULL));
	}
	size_t key_bytes = strlen("bench/set") + 1 + strlen("s") + 1;
	emit("bytes_per_set_member",
	     ((double)c.live - (double)empty - (double)key_bytes -
	      8.0 * (double)cfg.n) /
	             (double)cfg.n,
	     "bytes");
	cairn_replica_free(r);
	EXPECT(c.live == 0 && c.mismatches == 0,
	       "allocator: %zu bytes live after free, %zu bad frees", c.live,
	       c.mismatches);
}

/* ------------------------------------------------------------------------ */
/* Writes                                                                   */
/* ------------------------------------------------------------------------ */

static void bench_writes(void)
{
	static const struct {
		const char *name;
		bool spread;
		bool delta;
	} kinds[] = {
	        {"register_writes_per_s", false, true},
	        {"register_writes_per_s_10k_docs", true, true},
	        {"register_writes_per_s_nodelta", false, false},
	};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		double t = INFINITY;
		for (int run = 0; run < cfg.min_runs; run++) {
			cairn_replica *r = replica_make(1, NULL);
			cairn_delta *dl = kinds[k].delta ? delta_make() : NULL;
			t = best(t, write_registers(r, cfg.n, kinds[k].spread,
			                            dl));
			if (run == 0) {
				cairn_doc *d;
				CHECK(cairn_replica_find(r,
				                         kinds[k].spread
				                                 ? DOCID(0)
				                                 : "bench/one",
				                         &d));
				size_t want_fields = kinds[k].spread
				                             ? cfg.n / cfg.docs
				                             : cfg.n;
				EXPECT(cairn_doc_field_count(d) == want_fields,
				       "%s: %zu fields, expected %zu",
				       kinds[k].name, cairn_doc_field_count(d),
				       want_fields);
			}
			cairn_delta_free(dl);
			cairn_replica_free(r);
		}
		emit(kinds[k].name, rate(cfg.n, t), "writes/s");
	}
}

/* ow_keys keys written once (untimed), then overwritten 10 times each. */
static void bench_overwrites(void)
{
	const size_t rounds = 10;
	size_t n = cfg.ow_keys * rounds;
	double t = INFINITY;
	for (int run = 0; run < cfg.min_runs; run++) {
		cairn_replica *r = replica_make(1, NULL);
		cairn_delta *dl = delta_make();
		cairn_doc *d;
		(void)write_registers(r, cfg.ow_keys, false, NULL);
		CHECK(cairn_replica_doc(r, "bench/one", &d));
		size_t w = 0;
		double t0 = now_s();
		for (size_t round = 1; round <= rounds; round++) {
			for (size_t k = 0; k < cfg.ow_keys; k++, w++) {
				cairn_value v =
				        cairn_value_int((int64_t)(round * k));
				CHECK(cairn_doc_set(d, KEY(k), &v, clock_at(w),
				                    dl));
				cairn_delta_clear(dl);
			}
		}
		t = best(t, now_s() - t0);
		clock_advance(n);
		cairn_field_info fi;
		CHECK(cairn_doc_field_info(d, KEY(1), &fi));
		EXPECT(fi.values == 1,
		       "an overwritten register holds %zu values", fi.values);
		cairn_delta_free(dl);
		cairn_replica_free(r);
	}
	emit("register_overwrites_per_s", rate(n, t), "writes/s");
}

/* ------------------------------------------------------------------------ */
/* Sets                                                                     */
/* ------------------------------------------------------------------------ */

static const char *set_field(size_t i, size_t nsets)
{
	static char names[100][8];
	if (nsets == 1)
		return "s";
	size_t k = i % nsets;
	if (names[k][0] == '\0')
		snprintf(names[k], sizeof names[k], "s%02u",
		         (unsigned)(k % 100));
	return names[k];
}

static void bench_sets(void)
{
	size_t nsets_of[2] = {1, cfg.sets};
	for (int variant = 0; variant < 2; variant++) {
		size_t nsets = nsets_of[variant];
		double t_add = INFINITY, t_rm = INFINITY;
		for (int run = 0; run < cfg.min_runs; run++) {
			cairn_replica *r = replica_make(1, NULL);
			cairn_delta *dl = delta_make();
			cairn_doc *d;
			CHECK(cairn_replica_doc(r, "bench/set", &d));
			for (size_t i = 0; i < nsets; i++)
				(void)set_field(i, nsets); /* names made */
			double t0 = now_s();
			for (size_t i = 0; i < cfg.n; i++) {
				cairn_value v = cairn_value_int((int64_t)i);
				CHECK(cairn_doc_add(d, set_field(i, nsets), &v,
				                    dl));
				cairn_delta_clear(dl);
			}
			t_add = best(t_add, now_s() - t0);
			cairn_field_info fi;
			CHECK(cairn_doc_field_info(d, set_field(0, nsets),
			                           &fi));
			EXPECT(fi.members == cfg.n / nsets,
			       "set holds %zu members, expected %zu",
			       fi.members, cfg.n / nsets);
			if (nsets == 1) {
				t0 = now_s();
				for (size_t i = 0; i < cfg.n; i++) {
					cairn_value v =
					        cairn_value_int((int64_t)i);
					CHECK(cairn_doc_rm(d, "s", &v, dl));
					cairn_delta_clear(dl);
				}
				t_rm = best(t_rm, now_s() - t0);
				EXPECT(cairn_doc_field_count(d) == 0,
				       "the emptied set still has content");
			}
			cairn_delta_free(dl);
			cairn_replica_free(r);
		}
		if (nsets == 1) {
			emit("set_adds_per_s", rate(cfg.n, t_add), "adds/s");
			emit("set_removes_per_s", rate(cfg.n, t_rm),
			     "removes/s");
		} else {
			emit("set_adds_per_s_100_sets", rate(cfg.n, t_add),
			     "adds/s");
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Joins, encoding, decoding, digest                                        */
/* ------------------------------------------------------------------------ */

/*
 * The n-entry state: replica 1 holds n registers in "bench/one". Replica 2
 * starts from that state and writes join_delta registers, gathered in one
 * delta: half overwrite existing keys (its context covers replica 1's
 * dots for them, so they replace), half are new keys. Replica 3 starts
 * empty, joins the whole state (join_state_entries_per_s), then the delta
 * (join_entries_per_s).
 */
static void bench_join(const cairn_delta *state)
{
	size_t half = cfg.join_delta / 2;
	cairn_replica *b = replica_make(2, NULL);
	cairn_delta *delta = delta_make();
	cairn_doc *d;
	CHECK(cairn_replica_join(b, state, fake_ms));
	CHECK(cairn_replica_doc(b, "bench/one", &d));
	for (size_t i = 0; i < half; i++) {
		/* Overwrites spread over the key space, then new keys. */
		size_t old_key = i * (cfg.n / half);
		cairn_value v = cairn_value_int(-(int64_t)i);
		CHECK(cairn_doc_set(d, KEY(old_key), &v, clock_at(2 * i),
		                    delta));
		CHECK(cairn_doc_set(d, KEY(cfg.n + i), &v, clock_at(2 * i + 1),
		                    delta));
	}
	clock_advance(2 * half);
	cairn_replica_free(b);

	double t_state = INFINITY, t_delta = INFINITY;
	for (int run = 0; run < cfg.min_runs; run++) {
		cairn_replica *r = replica_make(3, NULL);
		double t0 = now_s();
		CHECK(cairn_replica_join(r, state, fake_ms));
		double t1 = now_s();
		CHECK(cairn_replica_join(r, delta, fake_ms));
		double t2 = now_s();
		t_state = best(t_state, t1 - t0);
		t_delta = best(t_delta, t2 - t1);
		CHECK(cairn_replica_find(r, "bench/one", &d));
		EXPECT(cairn_doc_field_count(d) == cfg.n + half,
		       "after the joins: %zu fields, expected %zu",
		       cairn_doc_field_count(d), cfg.n + half);
		cairn_field_info fi;
		CHECK(cairn_doc_field_info(d, KEY(0), &fi));
		EXPECT(fi.values == 1,
		       "an overwritten register holds %zu values after join",
		       fi.values);
		cairn_replica_free(r);
	}
	cairn_delta_free(delta);
	emit("join_entries_per_s", rate(2 * half, t_delta), "entries/s");
	emit("join_state_entries_per_s", rate(cfg.n, t_state), "entries/s");
}

static void bench_codec(cairn_replica *a)
{
	cairn_buf buf;
	cairn_buf_init(&buf, NULL);
	double t = INFINITY, spent = 0;
	for (int run = 0; run < cfg.min_runs || spent < cfg.min_s; run++) {
		cairn_buf_reset(&buf);
		double t0 = now_s();
		CHECK(cairn_replica_encode(a, &buf));
		double dt = now_s() - t0;
		t = best(t, dt);
		spent += dt;
	}
	double mb = (double)buf.len / 1e6;
	emit("encode_mb_per_s", mb / t, "MB/s");
	emit("encode_entries_per_s", rate(cfg.n, t), "entries/s");
	emit("encoded_bytes_per_register_entry",
	     (double)buf.len / (double)cfg.n, "bytes");

	/* Decoding into a fresh delta each run, as bytes from a peer are. */
	t = INFINITY;
	spent = 0;
	for (int run = 0; run < cfg.min_runs || spent < cfg.min_s; run++) {
		cairn_delta *dd = delta_make();
		double t0 = now_s();
		CHECK(cairn_delta_decode(dd, buf.data, buf.len, NULL));
		double dt = now_s() - t0;
		t = best(t, dt);
		spent += dt;
		if (run == 0) {
			/* The decoded state must encode to the same bytes. */
			cairn_buf again;
			cairn_buf_init(&again, NULL);
			CHECK(cairn_delta_encode(dd, &again));
			EXPECT(again.len == buf.len &&
			               memcmp(again.data, buf.data, buf.len) ==
			                       0,
			       "decode(encode(state)) encodes differently");
			cairn_buf_free(&again);
		}
		cairn_delta_free(dd);
	}
	emit("decode_mb_per_s", mb / t, "MB/s");
	emit("decode_entries_per_s", rate(cfg.n, t), "entries/s");

	t = INFINITY;
	for (int run = 0; run < cfg.min_runs; run++) {
		cairn_replica *r = replica_make(3, NULL);
		cairn_delta *dd = delta_make();
		double t0 = now_s();
		CHECK(cairn_delta_decode(dd, buf.data, buf.len, NULL));
		CHECK(cairn_replica_join(r, dd, fake_ms));
		t = best(t, now_s() - t0);
		cairn_delta_free(dd);
		cairn_replica_free(r);
	}
	emit("state_join_from_bytes_s", t, "s");

	uint8_t dig[CAIRN_DIGEST_BYTES];
	t = INFINITY;
	spent = 0;
	for (int run = 0; run < cfg.min_runs || spent < cfg.min_s; run++) {
		double t0 = now_s();
		CHECK(cairn_replica_digest(a, dig));
		double dt = now_s() - t0;
		t = best(t, dt);
		spent += dt;
	}
	emit("digest_mb_per_s", mb / t, "MB/s");
	cairn_buf_free(&buf);
}

/* ------------------------------------------------------------------------ */
/* Targets and main                                                         */
/* ------------------------------------------------------------------------ */

static void report_targets(void)
{
	static const struct {
		const char *name;
		bool at_least; /* true: value >= target; false: <= */
		double target;
	} targets[] = {
	        {"register_writes_per_s", true, 5e6},
	        {"set_adds_per_s", true, 3e6},
	        {"join_entries_per_s", true, 1e7},
	        {"bytes_per_register_entry", false, 64},
	};
	fprintf(stderr, "\ntargets%s:\n",
	        cfg.n < 1000000 ? " (--quick: sizes differ, not binding)" : "");
	for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
		for (size_t f = 0; f < nfigures; f++) {
			if (strcmp(figures[f].name, targets[t].name) != 0)
				continue;
			double v = figures[f].value;
			bool met = targets[t].at_least ? v >= targets[t].target
			                               : v <= targets[t].target;
			fprintf(stderr, "  %-28s %14.1f  %s %-12.0f %s\n",
			        targets[t].name, v,
			        targets[t].at_least ? ">=" : "<=",
			        targets[t].target, met ? "met" : "MISSED");
		}
	}
}

static void pin_to_current_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;
	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET((size_t)cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) == 0)
		fprintf(stderr, "pinned to cpu %d\n", cpu);
}

static void usage(void)
{
	fprintf(stderr, "usage: cairn-bench-core [--quick] [--only "
	                "rss|mem|writes|overwrites|sets|join|codec]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			cfg.n /= 10;
			cfg.docs /= 10;
			cfg.ow_keys /= 10;
			cfg.join_delta /= 10;
			cfg.min_runs = 1;
			cfg.min_s = 0;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			cfg.only = argv[++i];
		} else {
			usage();
		}
	}
	pin_to_current_cpu();

	/* Names are made before any timing: snprintf is not the subject. */
	size_t nkeys = cfg.n + cfg.join_delta;
	keys = malloc(nkeys * KEY_LEN);
	docids = malloc(cfg.docs * DOCID_LEN);
	if (keys == NULL || docids == NULL)
		die(__LINE__, "malloc", CAIRN_ENOMEM);
	for (size_t i = 0; i < nkeys; i++)
		snprintf(KEY(i), KEY_LEN, "k%07u", (unsigned)(i % 10000000));
	for (size_t i = 0; i < cfg.docs; i++)
		snprintf(DOCID(i), DOCID_LEN, "doc/%05u",
		         (unsigned)(i % 100000));

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fake_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;

	fprintf(stderr, "cairn %s, %zu entries%s\n", cairn_version(), cfg.n,
	        cfg.n < 1000000 ? " (quick)" : "");
	if (want("rss")) { /* first: a fresh heap */
		fprintf(stderr, "rss...\n");
		bench_rss();
	}
	if (want("mem")) {
		fprintf(stderr, "mem...\n");
		bench_mem();
	}
	if (want("writes")) {
		fprintf(stderr, "writes...\n");
		bench_writes();
	}
	if (want("overwrites")) {
		fprintf(stderr, "overwrites...\n");
		bench_overwrites();
	}
	if (want("sets")) {
		fprintf(stderr, "sets...\n");
		bench_sets();
	}
	if (want("join") || want("codec")) {
		fprintf(stderr, "building the %zu-entry state...\n", cfg.n);
		cairn_replica *a = replica_make(1, NULL);
		cairn_delta *state = delta_make();
		(void)write_registers(a, cfg.n, false, NULL);
		CHECK(cairn_replica_state(a, state));
		if (want("join")) {
			fprintf(stderr, "join...\n");
			bench_join(state);
		}
		if (want("codec")) {
			fprintf(stderr, "codec...\n");
			bench_codec(a);
		}
		cairn_delta_free(state);
		cairn_replica_free(a);
	}
	report_targets();
	free(keys);
	free(docids);
	return 0;
}
