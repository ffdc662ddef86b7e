/*
 * test_msgpack_check.c -- the msgpack pre-validator and the reader
 * (crdt/msgpack_check.c, crdt/msgpack_read.c).
 *
 * Samples are packed with msgpack-c, so "valid" means what the reference
 * implementation writes, in every width it can write. Each is then fed
 * whole, cut at every offset (in heap copies of exactly that size, so ASan
 * sees any read past the end), with a byte too many, and concatenated with
 * another. The allocation bombs of reliability-anchors §4 are checked for
 * rejection and for memory: the validator must not let them cost anything.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>
#include <msgpack.h>

#include "bytes_int.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static cairn_limits test_limits(void)
{
	/* The documented defaults of cairn_limits_init(). */
	cairn_limits l;
	l.max_value_bytes = 64u * 1024u;
	l.max_depth = 16;
	l.max_elements = UINT64_C(64) << 20;
	l.max_input_bytes = UINT64_C(1) << 30;
	return l;
}

static int check(const void *p, size_t n, const cairn_limits *l, size_t *off)
{
	return cairn__msgpack_check(p, n, l, off);
}

static int check_default(const void *p, size_t n)
{
	cairn_limits l = test_limits();
	size_t off = SIZE_MAX;
	int rc = check(p, n, &l, &off);
	if (rc != 0)
		assert_true(off <= n);
	return rc;
}

/* A heap copy of exactly n bytes (so ASan catches reads past the end). */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n > 0 ? n : 1);
	assert_non_null(c);
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

/* ------------------------------------------------------------------------ */
/* Samples, packed by msgpack-c                                             */
/* ------------------------------------------------------------------------ */

typedef struct sample {
	const char *name;
	uint8_t *data;
	size_t len;
} sample;

#define MAX_SAMPLES 96
static sample samples[MAX_SAMPLES];
static size_t n_samples;

static msgpack_sbuffer sbuf;
static msgpack_packer pk;

static void begin(void)
{
	msgpack_sbuffer_init(&sbuf);
	msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
}

static void end(const char *name)
{
	assert_true(n_samples < MAX_SAMPLES);
	sample *s = &samples[n_samples++];
	s->name = name;
	s->len = sbuf.size;
	s->data = dup_exact((const uint8_t *)sbuf.data, sbuf.size);
	msgpack_sbuffer_destroy(&sbuf);
}

static uint8_t filler[70000];

static void pack_str(size_t n)
{
	msgpack_pack_str(&pk, n);
	msgpack_pack_str_body(&pk, filler, n);
}

static void pack_bin(size_t n)
{
	msgpack_pack_bin(&pk, n);
	msgpack_pack_bin_body(&pk, filler, n);
}

static void pack_ext(size_t n, int8_t type)
{
	msgpack_pack_ext(&pk, n, type);
	msgpack_pack_ext_body(&pk, filler, n);
}

/* A document shaped like a cairn delta: maps of arrays of maps. */
static void pack_document(void)
{
	msgpack_pack_map(&pk, 3);
	pack_str(1);
	msgpack_pack_uint8(&pk, 1); /* a version */
	pack_str(4);
	msgpack_pack_array(&pk, 3);
	for (int i = 0; i < 3; i++) {
		msgpack_pack_map(&pk, 2);
		pack_str(2);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint64(&pk, UINT64_C(0x1234567890abcdef));
		msgpack_pack_uint32(&pk, (uint32_t)i * 70000u);
		pack_str(5);
		msgpack_pack_array(&pk, 4);
		msgpack_pack_nil(&pk);
		msgpack_pack_double(&pk, 2.5);
		pack_bin(3);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_int64(&pk, -5 - i);
		msgpack_pack_array(&pk, 0);
	}
	pack_str(40);
	msgpack_pack_map(&pk, 0);
}

static int make_samples(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(filler); i++)
		filler[i] = (uint8_t)('a' + i % 26);

	/* clang-format off */
	begin(); msgpack_pack_nil(&pk); end("nil");
	begin(); msgpack_pack_true(&pk); end("true");
	begin(); msgpack_pack_false(&pk); end("false");

	/* Integers in every width, at both ends of each. */
	begin(); msgpack_pack_int64(&pk, 0); end("fixint 0");
	begin(); msgpack_pack_int64(&pk, 127); end("fixint 127");
	begin(); msgpack_pack_int64(&pk, -1); end("negative fixint -1");
	begin(); msgpack_pack_int64(&pk, -32); end("negative fixint -32");
	begin(); msgpack_pack_uint64(&pk, 255); end("uint8");
	begin(); msgpack_pack_uint64(&pk, 65535); end("uint16");
	begin(); msgpack_pack_uint64(&pk, UINT32_MAX); end("uint32");
	begin(); msgpack_pack_uint64(&pk, UINT64_MAX); end("uint64");
	begin(); msgpack_pack_int64(&pk, -128); end("int8");
	begin(); msgpack_pack_int64(&pk, -32768); end("int16");
	begin(); msgpack_pack_int64(&pk, INT32_MIN); end("int32");
	begin(); msgpack_pack_int64(&pk, INT64_MIN); end("int64");
	begin(); msgpack_pack_fix_uint8(&pk, 1); end("fix uint8");
	begin(); msgpack_pack_fix_uint16(&pk, 1); end("fix uint16");
	begin(); msgpack_pack_fix_uint32(&pk, 1); end("fix uint32");
	begin(); msgpack_pack_fix_uint64(&pk, 1); end("fix uint64");
	begin(); msgpack_pack_fix_int8(&pk, -1); end("fix int8");
	begin(); msgpack_pack_fix_int16(&pk, -1); end("fix int16");
	begin(); msgpack_pack_fix_int32(&pk, -1); end("fix int32");
	begin(); msgpack_pack_fix_int64(&pk, -1); end("fix int64");

	begin(); msgpack_pack_float(&pk, 3.5f); end("float32");
	begin(); msgpack_pack_double(&pk, -0.1); end("float64");

	begin(); pack_str(0); end("fixstr 0");
	begin(); pack_str(31); end("fixstr 31");
	begin(); pack_str(32); end("str8 32");
	begin(); pack_str(255); end("str8 255");
	begin(); pack_str(256); end("str16 256");
	begin(); pack_str(65535); end("str16 65535");
	begin(); pack_str(65536); end("str32 65536");

	begin(); pack_bin(0); end("bin8 0");
	begin(); pack_bin(255); end("bin8 255");
	begin(); pack_bin(256); end("bin16 256");
	begin(); pack_bin(65536); end("bin32 65536");

	/* ext and fixext: valid msgpack, rejected later by the codec. */
	begin(); pack_ext(1, 5); end("fixext 1");
	begin(); pack_ext(2, 5); end("fixext 2");
	begin(); pack_ext(4, 5); end("fixext 4");
	begin(); pack_ext(8, 5); end("fixext 8");
	begin(); pack_ext(16, 5); end("fixext 16");
	begin(); pack_ext(0, 5); end("ext8 0");
	begin(); pack_ext(3, -7); end("ext8 3");
	begin(); pack_ext(255, 5); end("ext8 255");
	begin(); pack_ext(256, 5); end("ext16 256");
	begin(); pack_ext(65536, 5); end("ext32 65536");
	msgpack_timestamp ts = {1700000000, 0};
	begin(); msgpack_pack_timestamp(&pk, &ts); end("timestamp 32");
	ts.tv_nsec = 123456789;
	begin(); msgpack_pack_timestamp(&pk, &ts); end("timestamp 64");
	ts.tv_sec = -1;
	begin(); msgpack_pack_timestamp(&pk, &ts); end("timestamp 96");

	begin(); msgpack_pack_array(&pk, 0); end("fixarray 0");
	begin();
	msgpack_pack_array(&pk, 15);
	for (int i = 0; i < 15; i++)
		msgpack_pack_int64(&pk, i);
	end("fixarray 15");
	begin();
	msgpack_pack_array(&pk, 16);
	for (int i = 0; i < 16; i++)
		pack_str((size_t)i);
	end("array16 16");
	begin();
	msgpack_pack_array(&pk, 65536);
	for (int i = 0; i < 65536; i++)
		msgpack_pack_nil(&pk);
	end("array32 65536");

	begin(); msgpack_pack_map(&pk, 0); end("fixmap 0");
	begin();
	msgpack_pack_map(&pk, 15);
	for (int i = 0; i < 15; i++) {
		msgpack_pack_int64(&pk, i);
		msgpack_pack_true(&pk);
	}
	end("fixmap 15");
	begin();
	msgpack_pack_map(&pk, 16);
	for (int i = 0; i < 16; i++) {
		pack_str((size_t)i);
		msgpack_pack_double(&pk, i);
	}
	end("map16 16");
	begin();
	msgpack_pack_map(&pk, 65536);
	for (int i = 0; i < 65536; i++) {
		msgpack_pack_int64(&pk, i % 100);
		msgpack_pack_false(&pk);
	}
	end("map32 65536");

	begin(); pack_document(); end("document");
	begin();
	for (int i = 0; i < 15; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_int64(&pk, 1);
	end("depth 16");
	begin();
	for (int i = 0; i < 7; i++) {
		msgpack_pack_map(&pk, 1);
		pack_str(1);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_nil(&pk);
	}
	msgpack_pack_array(&pk, 0);
	end("maps and arrays, depth 15");
	/* clang-format on */
	return 0;
}

static int free_samples(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_samples; i++)
		free(samples[i].data);
	n_samples = 0;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Memory measurement                                                       */
/* ------------------------------------------------------------------------ */

/* A "VmHWM:" style line of /proc/self/status, in KiB; -1 if absent. */
static long proc_status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	char line[256];
	long v = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) == 0) {
			v = strtol(line + klen, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static long maxrss_kib(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss;
}

static double now_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------ */
/* Bombs (reliability-anchors §4): first, so the high-water marks are low   */
/* ------------------------------------------------------------------------ */

typedef struct bomb {
	const char *name;
	uint8_t bytes[8];
	size_t len;
} bomb;

static const bomb bombs[] = {
        {"array32 0xffffffff", {0xdd, 0xff, 0xff, 0xff, 0xff}, 5},
        {"array32 2^26", {0xdd, 0x04, 0x00, 0x00, 0x00}, 5},
        {"map32 0xffffffff", {0xdf, 0xff, 0xff, 0xff, 0xff}, 5},
        {"map32 2^26", {0xdf, 0x04, 0x00, 0x00, 0x00}, 5},
        {"str32 0xffffffff", {0xdb, 0xff, 0xff, 0xff, 0xff}, 5},
        {"str32 2^26", {0xdb, 0x04, 0x00, 0x00, 0x00}, 5},
        {"bin32 0xffffffff", {0xc6, 0xff, 0xff, 0xff, 0xff}, 5},
        {"bin32 2^26", {0xc6, 0x04, 0x00, 0x00, 0x00}, 5},
        {"ext32 0xffffffff", {0xc9, 0xff, 0xff, 0xff, 0xff}, 5},
        {"ext32 2^26", {0xc9, 0x04, 0x00, 0x00, 0x00}, 5},
        {"ext32 0xffffffff typed", {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, 6},
        {"ext32 2^26 typed", {0xc9, 0x04, 0x00, 0x00, 0x00, 0x01}, 6},
        {"array16 0xffff", {0xdc, 0xff, 0xff}, 3},
        {"map16 0xffff", {0xde, 0xff, 0xff}, 3},
        {"array in array", {0x91, 0xdd, 0x04, 0x00, 0x00, 0x00}, 6},
        {"map value", {0x81, 0xc0, 0xdf, 0xff, 0xff, 0xff, 0xff}, 7},
        /* A count that fits the bytes left only if siblings are ignored. */
        {"array32 2 of 1 byte", {0xdd, 0x00, 0x00, 0x00, 0x02, 0xc0}, 6},
        {"map32 1 pair of 1", {0xdf, 0x00, 0x00, 0x00, 0x01, 0xc0}, 6},
};
#define N_BOMBS (sizeof(bombs) / sizeof(bombs[0]))

static void run_reader_on(const uint8_t *p, size_t n)
{
	cairn__rd r = {p, p + n};
	uint32_t count;
	const uint8_t *s;
	uint32_t slen;
	/* Only a fixarray/fixmap header of the outer object can be read. */
	int want_array = p[0] >= 0x90 && p[0] <= 0x9f ? 0 : CAIRN_EDECODE;
	int want_map = p[0] >= 0x80 && p[0] <= 0x8f ? 0 : CAIRN_EDECODE;
	assert_int_equal(cairn__rd_array(&r, &count), want_array);
	r.p = p;
	assert_int_equal(cairn__rd_map(&r, &count), want_map);
	r.p = p;
	assert_int_equal(cairn__rd_str(&r, &s, &slen), CAIRN_EDECODE);
	assert_int_equal(cairn__rd_bin(&r, &s, &slen), CAIRN_EDECODE);
	assert_true(r.p == p);
	/* Skipping the whole object fails: it is not all there. */
	assert_int_equal(cairn__rd_skip(&r), CAIRN_EDECODE);
	assert_true(r.p == p);
}

static void test_bombs_rejected(void **state)
{
	(void)state;
	cairn_limits l = test_limits();
	for (size_t i = 0; i < N_BOMBS; i++) {
		size_t off = SIZE_MAX;
		uint8_t *b = dup_exact(bombs[i].bytes, bombs[i].len);
		int rc = check(b, bombs[i].len, &l, &off);
		if (rc != CAIRN_EDECODE)
			fail_msg("bomb %s: rc %d", bombs[i].name, rc);
		assert_true(off < bombs[i].len);
		run_reader_on(b, bombs[i].len);
		free(b);
	}
}

/*
 * msgpack-c 4.0 raises VmPeak by ~2 GB on "array32 2^26" (§4). Here the
 * validator and the reader run over every bomb 10,000 times and the process
 * high-water marks (resident and virtual) may not grow by 1 MiB. Neither
 * has an allocation call at all, so a bomb is rejected before anything
 * could be allocated for it: the check runs on the header alone.
 */
static void test_bombs_memory(void **state)
{
	(void)state;
	cairn_limits l = test_limits();
	uint8_t *copies[N_BOMBS];
	for (size_t i = 0; i < N_BOMBS; i++)
		copies[i] = dup_exact(bombs[i].bytes, bombs[i].len);

	long hwm0 = proc_status_kib("VmHWM:");
	long peak0 = proc_status_kib("VmPeak:");
	long rss0 = maxrss_kib();
	double t0 = now_seconds();

	for (int round = 0; round < 10000; round++) {
		for (size_t i = 0; i < N_BOMBS; i++) {
			const uint8_t *b = copies[i];
			size_t n = bombs[i].len;
			assert_int_equal(check(b, n, &l, NULL), CAIRN_EDECODE);
			cairn__rd r = {b, b + n};
			uint32_t count;
			const uint8_t *s;
			uint32_t slen;
			(void)cairn__rd_array(&r, &count);
			(void)cairn__rd_map(&r, &count);
			(void)cairn__rd_str(&r, &s, &slen);
			(void)cairn__rd_bin(&r, &s, &slen);
			r.p = b;
			assert_int_equal(cairn__rd_skip(&r), CAIRN_EDECODE);
		}
	}

	double dt = now_seconds() - t0;
	long hwm1 = proc_status_kib("VmHWM:");
	long peak1 = proc_status_kib("VmPeak:");
	long rss1 = maxrss_kib();
	print_message("bombs: %zu x 10000 rejected in %.1f ms (%.0f ns each); "
	              "VmHWM %+ld KiB, VmPeak %+ld KiB, ru_maxrss %+ld KiB\n",
	              N_BOMBS, dt * 1e3, dt * 1e9 / (double)(N_BOMBS * 10000),
	              hwm1 - hwm0, peak1 - peak0, rss1 - rss0);
	if (hwm0 >= 0) {
		assert_true(hwm1 - hwm0 < 1024);
		assert_true(peak1 - peak0 < 1024);
	}
	assert_true(rss1 - rss0 < 1024);
	for (size_t i = 0; i < N_BOMBS; i++)
		free(copies[i]);
}

/* ------------------------------------------------------------------------ */
/* Valid samples: whole, truncated, with trailing bytes, concatenated       */
/* ------------------------------------------------------------------------ */

static void test_samples_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_samples; i++) {
		const sample *s = &samples[i];
		size_t off = SIZE_MAX;
		cairn_limits l = test_limits();
		int rc = check(s->data, s->len, &l, &off);
		if (rc != 0)
			fail_msg("%s rejected: %d at %zu", s->name, rc, off);

		/* The reader passes exactly the whole object. */
		cairn__rd r = {s->data, s->data + s->len};
		assert_int_equal(cairn__rd_skip(&r), 0);
		assert_true(r.p == s->data + s->len);
		assert_int_equal(cairn__rd_peek(&r), -1);

		/* msgpack-c agrees on the length (these bytes are checked). */
		msgpack_unpacked u;
		size_t used = 0;
		msgpack_unpacked_init(&u);
		assert_int_equal(msgpack_unpack_next(&u, (const char *)s->data,
		                                     s->len, &used),
		                 MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(used, s->len);
		msgpack_unpacked_destroy(&u);
	}
}

/* Offsets to cut at: all of them, or for big samples the ends and a stride. */
static bool cut_here(size_t k, size_t len)
{
	if (len <= 4096)
		return true;
	return k < 1024 || len - k <= 1024 || k % 61 == 0;
}

static void test_samples_truncated(void **state)
{
	(void)state;
	cairn_limits l = test_limits();
	for (size_t i = 0; i < n_samples; i++) {
		const sample *s = &samples[i];
		for (size_t k = 0; k < s->len; k++) {
			if (!cut_here(k, s->len))
				continue;
			uint8_t *c = dup_exact(s->data, k);
			size_t off = SIZE_MAX;
			int rc = check(c, k, &l, &off);
			if (rc != CAIRN_EDECODE)
				fail_msg("%s cut at %zu: rc %d", s->name, k,
				         rc);
			assert_true(off <= k);

			cairn__rd r = {c, c + k};
			assert_int_equal(cairn__rd_skip(&r), CAIRN_EDECODE);
			assert_true(r.p == c);
			free(c);
		}
	}
}

static void test_samples_trailing(void **state)
{
	(void)state;
	static const uint8_t extra[] = {0x00, 0xc0, 0xc1, 0xff, 0x91};
	cairn_limits l = test_limits();
	for (size_t i = 0; i < n_samples; i++) {
		const sample *s = &samples[i];
		for (size_t e = 0; e < sizeof(extra); e++) {
			uint8_t *c = malloc(s->len + 1);
			assert_non_null(c);
			memcpy(c, s->data, s->len);
			c[s->len] = extra[e];
			size_t off = SIZE_MAX;
			assert_int_equal(check(c, s->len + 1, &l, &off),
			                 CAIRN_EDECODE);
			assert_int_equal(off, s->len);
			free(c);
		}
	}
}

/*
 * Two objects back to back (a stream split at an object boundary): the
 * pair is not one object, and the reader passes one, then the other.
 */
static void test_samples_concatenated(void **state)
{
	(void)state;
	cairn_limits l = test_limits();
	for (size_t i = 0; i < n_samples; i++) {
		for (size_t j = 0; j < n_samples; j += 7) {
			const sample *a = &samples[i], *b = &samples[j];
			if (a->len + b->len > 8192)
				continue;
			size_t n = a->len + b->len;
			uint8_t *c = malloc(n);
			assert_non_null(c);
			memcpy(c, a->data, a->len);
			memcpy(c + a->len, b->data, b->len);
			size_t off = SIZE_MAX;
			assert_int_equal(check(c, n, &l, &off), CAIRN_EDECODE);
			assert_int_equal(off, a->len);
			assert_int_equal(check(c, a->len, &l, NULL), 0);
			assert_int_equal(check(c + a->len, b->len, &l, NULL),
			                 0);

			cairn__rd r = {c, c + n};
			assert_int_equal(cairn__rd_skip(&r), 0);
			assert_true(r.p == c + a->len);
			assert_int_equal(cairn__rd_skip(&r), 0);
			assert_true(r.p == c + n);
			assert_int_equal(cairn__rd_skip(&r), CAIRN_EDECODE);
			free(c);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Byte-level rules                                                         */
/* ------------------------------------------------------------------------ */

static void test_every_first_byte(void **state)
{
	(void)state;
	/* Each type byte alone: only the complete one-byte objects pass. */
	for (unsigned b = 0; b < 256; b++) {
		uint8_t one = (uint8_t)b;
		bool whole = b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 ||
		             b == 0xc3 || b == 0x80 || b == 0x90 || b == 0xa0;
		int rc = check_default(&one, 1);
		if (rc != (whole ? 0 : CAIRN_EDECODE))
			fail_msg("byte %02x alone: rc %d", b, rc);
	}
}

static void test_c1_rejected(void **state)
{
	(void)state;
	static const uint8_t top[] = {0xc1};
	static const uint8_t in_array[] = {0x92, 0x01, 0xc1};
	static const uint8_t as_key[] = {0x81, 0xc1, 0x01};
	static const uint8_t as_value[] = {0x81, 0x01, 0xc1};
	size_t off;
	cairn_limits l = test_limits();
	assert_int_equal(check(top, sizeof(top), &l, &off), CAIRN_EDECODE);
	assert_int_equal(off, 0);
	assert_int_equal(check(in_array, 3, &l, &off), CAIRN_EDECODE);
	assert_int_equal(off, 2);
	assert_int_equal(check(as_key, 3, &l, &off), CAIRN_EDECODE);
	assert_int_equal(off, 1);
	assert_int_equal(check(as_value, 3, &l, &off), CAIRN_EDECODE);
	assert_int_equal(off, 2);
	cairn__rd r = {in_array, in_array + 3};
	assert_int_equal(cairn__rd_skip(&r), CAIRN_EDECODE);
	assert_true(r.p == in_array);
}

static void test_empty_input(void **state)
{
	(void)state;
	size_t off = 99;
	cairn_limits l = test_limits();
	assert_int_equal(check(NULL, 0, &l, &off), CAIRN_EDECODE);
	assert_int_equal(off, 0);
	cairn__rd r = {NULL, NULL};
	assert_int_equal(cairn__rd_peek(&r), -1);
	assert_int_equal(cairn__rd_skip(&r), CAIRN_EDECODE);
	assert_int_equal(cairn__rd_nil(&r), CAIRN_EDECODE);
}

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */
/* ------------------------------------------------------------------------ */

/* n nested one-element arrays around a 0: depth n + 1. */
static uint8_t *nested(size_t n, uint8_t head, size_t *len)
{
	uint8_t *b = malloc(n + 1);
	assert_non_null(b);
	memset(b, head, n);
	b[n] = 0x00;
	*len = n + 1;
	return b;
}

static void test_depth_limit(void **state)
{
	(void)state;
	cairn_limits l = test_limits();
	size_t len, off;
	uint8_t *b;

	for (uint32_t limit = 1; limit <= CAIRN__MSGPACK_MAX_DEPTH; limit++) {
		l.max_depth = limit;
		b = nested(limit - 1, 0x91, &len); /* depth == limit */
		assert_int_equal(check(b, len, &l, NULL), 0);
		free(b);
		b = nested(limit, 0x91, &len); /* depth == limit + 1 */
		assert_int_equal(check(b, len, &l, &off), CAIRN_ELIMIT);
		assert_int_equal(off, limit - 1); /* the innermost array */
		free(b);

		/* An empty container counts as one level, not two. */
		b = nested(limit, 0x91, &len);
		b[limit - 1] = 0x90;
		assert_int_equal(check(b, len - 1, &l, NULL), 0);
		free(b);
	}

	/* Maps nest too: {0: {0: ... 0}}. */
	l.max_depth = 4;
	static const uint8_t maps_ok[] = {0x81, 0, 0x81, 0, 0x81, 0, 0};
	static const uint8_t maps_deep[] = {0x81, 0,    0x81, 0, 0x81,
	                                    0,    0x81, 0,    0};
	assert_int_equal(check(maps_ok, sizeof(maps_ok), &l, NULL), 0);
	assert_int_equal(check(maps_deep, sizeof(maps_deep), &l, NULL),
	                 CAIRN_ELIMIT);

	/* A limit above the cap is the cap. */
	l.max_depth = 1000;
	b = nested(CAIRN__MSGPACK_MAX_DEPTH - 1, 0x91, &len);
	assert_int_equal(check(b, len, &l, NULL), 0);
	free(b);
	b = nested(CAIRN__MSGPACK_MAX_DEPTH, 0x91, &len);
	assert_int_equal(check(b, len, &l, NULL), CAIRN_ELIMIT);
	free(b);

	/* Depth 0 admits nothing. */
	l.max_depth = 0;
	static const uint8_t zero = 0;
	assert_int_equal(check(&zero, 1, &l, NULL), CAIRN_ELIMIT);
}

static void test_deep_nesting_fast(void **state)
{
	(void)state;
	size_t len, off;
	uint8_t *b = nested(100000, 0x91, &len);
	cairn_limits l = test_limits();

	double t0 = now_seconds();
	int rc = check(b, len, &l, &off);
	double dt = now_seconds() - t0;
	assert_int_equal(rc, CAIRN_ELIMIT);
	assert_int_equal(off, l.max_depth - 1);
	print_message("100,000 nested arrays rejected in %.1f us\n", dt * 1e6);
	assert_true(dt < 0.01);

	/* Without the final 0 it is also truncated; the depth fails first. */
	assert_int_equal(check(b, len - 1, &l, NULL), CAIRN_ELIMIT);

	/* The reader's skip has no stack: any depth is just a count. */
	cairn__rd r = {b, b + len};
	assert_int_equal(cairn__rd_skip(&r), 0);
	assert_true(r.p == b + len);
	r.p = b;
	r.end = b + len - 1;
	assert_int_equal(cairn__rd_skip(&r), CAIRN_EDECODE);
	assert_true(r.p == b);
	free(b);

	/* Nested maps {0x80 -> {...}} the same way. */
	b = malloc(200001);
	assert_non_null(b);
	for (size_t i = 0; i < 100000; i++) {
		b[2 * i] = 0x81;
		b[2 * i + 1] = 0xc0;
	}
	b[200000] = 0xc0;
	assert_int_equal(check(b, 200001, &l, NULL), CAIRN_ELIMIT);
	r.p = b;
	r.end = b + 200001;
	assert_int_equal(cairn__rd_skip(&r), 0);
	free(b);
}

static void test_element_limit(void **state)
{
	(void)state;
	cairn_limits l = test_limits();
	uint8_t b[32];
	size_t off;
	l.max_elements = 10;

	/* An array of 9 and itself: 10 objects. */
	b[0] = 0x99;
	memset(b + 1, 0x01, 9);
	assert_int_equal(check(b, 10, &l, NULL), 0);
	b[0] = 0x9a;
	memset(b + 1, 0x01, 10);
	assert_int_equal(check(b, 11, &l, &off), CAIRN_ELIMIT);
	assert_int_equal(off, 0);

	/* A map of n pairs is 2n + 1 objects. */
	b[0] = 0x84;
	memset(b + 1, 0x01, 8);
	assert_int_equal(check(b, 9, &l, NULL), 0); /* 9 objects */
	b[0] = 0x85;
	memset(b + 1, 0x01, 10);
	assert_int_equal(check(b, 11, &l, NULL), CAIRN_ELIMIT); /* 11 */

	/* Nested: [[1, 2, 3], [4, 5, 6], 7] is 10; one more fails at it. */
	static const uint8_t ok[] = {0x93, 0x93, 1, 2, 3, 0x93, 4, 5, 6, 7};
	static const uint8_t over[] = {0x93, 0x93, 1, 2, 3, 0x94,
	                               4,    5,    6, 8, 7};
	assert_int_equal(check(ok, sizeof(ok), &l, NULL), 0);
	assert_int_equal(check(over, sizeof(over), &l, &off), CAIRN_ELIMIT);
	assert_int_equal(off, 5);

	/* A budget of 1 admits one scalar; 0 admits nothing. */
	l.max_elements = 1;
	assert_int_equal(check(ok + 2, 1, &l, NULL), 0);
	assert_int_equal(check(ok, sizeof(ok), &l, NULL), CAIRN_ELIMIT);
	l.max_elements = 0;
	assert_int_equal(check(ok + 2, 1, &l, NULL), CAIRN_ELIMIT);
}

static void test_input_limit(void **state)
{
	(void)state;
	cairn_limits l = test_limits();
	uint8_t b[20];
	b[0] = 0xb3; /* fixstr 19 */
	memset(b + 1, 'x', 19);
	l.max_input_bytes = 20;
	assert_int_equal(check(b, 20, &l, NULL), 0);
	l.max_input_bytes = 19;
	size_t off = 99;
	assert_int_equal(check(b, 20, &l, &off), CAIRN_ELIMIT);
	assert_int_equal(off, 0);
	/* NULL limits are the defaults. */
	assert_int_equal(check(b, 20, NULL, NULL), 0);
	uint8_t *d = nested(16, 0x91, &off);
	assert_int_equal(check(d, 17, NULL, NULL), CAIRN_ELIMIT);
	free(d);
}

/* Lengths exactly at the end, and one past it, for each length width. */
static void test_length_edges(void **state)
{
	(void)state;
	static const uint8_t heads[][6] = {
	        {0xd9, 0x03},
	        {0xda, 0x00, 0x03},
	        {0xdb, 0x00, 0x00, 0x00, 0x03},
	        {0xc4, 0x03},
	        {0xc5, 0x00, 0x03},
	        {0xc6, 0x00, 0x00, 0x00, 0x03},
	        {0xc7, 0x03, 0x01},
	        {0xc8, 0x00, 0x03, 0x01},
	        {0xc9, 0x00, 0x00, 0x00, 0x03, 0x01},
	};
	static const size_t hlen[] = {2, 3, 5, 2, 3, 5, 3, 4, 6};
	for (size_t i = 0; i < sizeof(hlen) / sizeof(hlen[0]); i++) {
		uint8_t b[16];
		memcpy(b, heads[i], hlen[i]);
		memset(b + hlen[i], 'z', 3);
		uint8_t *c = dup_exact(b, hlen[i] + 3);
		assert_int_equal(check_default(c, hlen[i] + 3), 0);
		assert_int_equal(check_default(c, hlen[i] + 2), CAIRN_EDECODE);
		free(c);
	}
	/* Array counts against the bytes left: [nil, nil] with count 3. */
	static const uint8_t arr[] = {0xdc, 0x00, 0x03, 0xc0, 0xc0};
	assert_int_equal(check_default(arr, sizeof(arr)), CAIRN_EDECODE);
	static const uint8_t map[] = {0xde, 0x00, 0x02, 0xc0, 0xc0, 0xc0};
	assert_int_equal(check_default(map, sizeof(map)), CAIRN_EDECODE);
}

/* ------------------------------------------------------------------------ */
/* The reader                                                               */
/* ------------------------------------------------------------------------ */

#define RD(lit)                                                                \
	cairn__rd r = {(const uint8_t *)(lit),                                 \
	               (const uint8_t *)(lit) + sizeof(lit) - 1}

static void expect_u64(const char *b, size_t n, int rc, uint64_t want)
{
	cairn__rd r = {(const uint8_t *)b, (const uint8_t *)b + n};
	uint64_t v = 0xdeadbeef;
	assert_int_equal(cairn__rd_u64(&r, &v), rc);
	if (rc == 0) {
		assert_true(v == want);
		assert_true(r.p == r.end);
	} else {
		assert_true(r.p == (const uint8_t *)b);
		assert_true(v == 0xdeadbeef);
	}
}

static void expect_i64(const char *b, size_t n, int rc, int64_t want)
{
	cairn__rd r = {(const uint8_t *)b, (const uint8_t *)b + n};
	int64_t v = 12345;
	assert_int_equal(cairn__rd_i64(&r, &v), rc);
	if (rc == 0) {
		assert_true(v == want);
		assert_true(r.p == r.end);
	} else {
		assert_true(r.p == (const uint8_t *)b);
		assert_true(v == 12345);
	}
}

#define U64(lit, rc, want) expect_u64((lit), sizeof(lit) - 1, (rc), (want))
#define I64(lit, rc, want) expect_i64((lit), sizeof(lit) - 1, (rc), (want))

static void test_rd_u64(void **state)
{
	(void)state;
	U64("\x00", 0, 0);
	U64("\x7f", 0, 127);
	U64("\xcc\xff", 0, 255);
	U64("\xcd\xff\xff", 0, 65535);
	U64("\xce\xff\xff\xff\xff", 0, UINT32_MAX);
	U64("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 0, UINT64_MAX);
	U64("\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 0, UINT64_C(1) << 63);
	/* Non-negative signed forms are fine. */
	U64("\xd0\x00", 0, 0);
	U64("\xd0\x7f", 0, 127);
	U64("\xd1\x7f\xff", 0, 32767);
	U64("\xd2\x7f\xff\xff\xff", 0, INT32_MAX);
	U64("\xd3\x7f\xff\xff\xff\xff\xff\xff\xff", 0, INT64_MAX);
	/* Negative ones are not. */
	U64("\xff", CAIRN_EDECODE, 0);
	U64("\xe0", CAIRN_EDECODE, 0);
	U64("\xd0\xff", CAIRN_EDECODE, 0);
	U64("\xd1\x80\x00", CAIRN_EDECODE, 0);
	U64("\xd2\xff\xff\xff\xff", CAIRN_EDECODE, 0);
	U64("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", CAIRN_EDECODE, 0);
	/* Other types and truncations. */
	U64("\xc0", CAIRN_EDECODE, 0);
	U64("\xc3", CAIRN_EDECODE, 0);
	U64("\xca\x3f\x80\x00\x00", CAIRN_EDECODE, 0);
	U64("\xa1"
	    "1",
	    CAIRN_EDECODE, 0);
	U64("", CAIRN_EDECODE, 0);
	U64("\xcc", CAIRN_EDECODE, 0);
	U64("\xcd\xff", CAIRN_EDECODE, 0);
	U64("\xce\xff\xff\xff", CAIRN_EDECODE, 0);
	U64("\xcf\xff\xff\xff\xff\xff\xff\xff", CAIRN_EDECODE, 0);
	U64("\xd3\x00\x00\x00\x00\x00\x00\x00", CAIRN_EDECODE, 0);
}

static void test_rd_i64(void **state)
{
	(void)state;
	I64("\x00", 0, 0);
	I64("\x7f", 0, 127);
	I64("\xff", 0, -1);
	I64("\xe0", 0, -32);
	I64("\xd0\x80", 0, -128);
	I64("\xd0\xdf", 0, -33);
	I64("\xd0\x7f", 0, 127);
	I64("\xd1\x80\x00", 0, -32768);
	I64("\xd1\xff\xff", 0, -1);
	I64("\xd2\x80\x00\x00\x00", 0, INT32_MIN);
	I64("\xd2\x7f\xff\xff\xff", 0, INT32_MAX);
	I64("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 0, INT64_MIN);
	I64("\xd3\x7f\xff\xff\xff\xff\xff\xff\xff", 0, INT64_MAX);
	I64("\xd3\xff\xff\xff\xff\xff\xff\xff\xff", 0, -1);
	I64("\xcc\xff", 0, 255);
	I64("\xcd\xff\xff", 0, 65535);
	I64("\xce\xff\xff\xff\xff", 0, (int64_t)UINT32_MAX);
	I64("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 0, INT64_MAX);
	/* uint64 above INT64_MAX does not fit. */
	I64("\xcf\x80\x00\x00\x00\x00\x00\x00\x00", CAIRN_EDECODE, 0);
	I64("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", CAIRN_EDECODE, 0);
	I64("\xcb\x00\x00\x00\x00\x00\x00\x00\x00", CAIRN_EDECODE, 0);
	I64("\xc2", CAIRN_EDECODE, 0);
	I64("\x90", CAIRN_EDECODE, 0);
	I64("\xd0", CAIRN_EDECODE, 0);
	I64("\xd2\x80\x00\x00", CAIRN_EDECODE, 0);
	I64("", CAIRN_EDECODE, 0);
}

/* Every value msgpack-c writes for an int64 reads back the same. */
static void test_rd_int_roundtrip(void **state)
{
	(void)state;
	static const int64_t vals[] = {
	        0,
	        1,
	        31,
	        32,
	        127,
	        128,
	        255,
	        256,
	        32767,
	        32768,
	        65535,
	        65536,
	        INT32_MAX,
	        (int64_t)INT32_MAX + 1,
	        (int64_t)UINT32_MAX,
	        (int64_t)UINT32_MAX + 1,
	        INT64_MAX,
	        -1,
	        -31,
	        -32,
	        -33,
	        -127,
	        -128,
	        -129,
	        -32768,
	        -32769,
	        INT32_MIN,
	        (int64_t)INT32_MIN - 1,
	        INT64_MIN + 1,
	        INT64_MIN,
	};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		begin();
		msgpack_pack_int64(&pk, vals[i]);
		cairn__rd r = {(const uint8_t *)sbuf.data,
		               (const uint8_t *)sbuf.data + sbuf.size};
		int64_t v;
		assert_int_equal(cairn__rd_i64(&r, &v), 0);
		assert_true(v == vals[i]);
		assert_true(r.p == r.end);
		r.p = (const uint8_t *)sbuf.data;
		uint64_t u;
		assert_int_equal(cairn__rd_u64(&r, &u),
		                 vals[i] < 0 ? CAIRN_EDECODE : 0);
		if (vals[i] >= 0)
			assert_true(u == (uint64_t)vals[i]);
		msgpack_sbuffer_destroy(&sbuf);
	}
}

static void test_rd_f64(void **state)
{
	(void)state;
	double d;
	{
		RD("\xca\x3f\xc0\x00\x00"); /* 1.5f */
		assert_int_equal(cairn__rd_f64(&r, &d), 0);
		assert_true(d == 1.5);
		assert_true(r.p == r.end);
	}
	{
		RD("\xca\x3d\xcc\xcc\xcd"); /* 0.1f widens exactly */
		assert_int_equal(cairn__rd_f64(&r, &d), 0);
		assert_true(d == (double)0.1f);
		assert_true(d != 0.1);
	}
	{
		RD("\xca\x7f\x80\x00\x00"); /* +inf */
		assert_int_equal(cairn__rd_f64(&r, &d), 0);
		assert_true(d > 1e308);
	}
	{
		RD("\xca\x7f\xc0\x00\x00"); /* NaN */
		assert_int_equal(cairn__rd_f64(&r, &d), 0);
		assert_true(d != d);
	}
	{
		RD("\xca\x80\x00\x00\x00"); /* -0.0f */
		assert_int_equal(cairn__rd_f64(&r, &d), 0);
		assert_true(d == 0.0);
		uint64_t bits;
		memcpy(&bits, &d, sizeof(bits));
		assert_true(bits == UINT64_C(0x8000000000000000));
	}
	{
		RD("\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a"); /* 0.1 */
		assert_int_equal(cairn__rd_f64(&r, &d), 0);
		assert_true(d == 0.1);
		assert_true(r.p == r.end);
	}
	{
		RD("\xcb\xff\xef\xff\xff\xff\xff\xff\xff"); /* -DBL_MAX */
		assert_int_equal(cairn__rd_f64(&r, &d), 0);
		assert_true(d < -1.7976931348623157e308 * 0.99999);
	}
	static const char *const bad[] = {
	        "\x01", "\xcc\x01", "\xc0", "\xa0",
	        "\xd3\x00\x00\x00\x00\x00\x00\x00\x00"};
	static const size_t badlen[] = {1, 2, 1, 1, 9};
	for (size_t i = 0; i < 5; i++) {
		cairn__rd r = {(const uint8_t *)bad[i],
		               (const uint8_t *)bad[i] + badlen[i]};
		d = 7.0;
		assert_int_equal(cairn__rd_f64(&r, &d), CAIRN_EDECODE);
		assert_true(r.p == (const uint8_t *)bad[i]);
		assert_true(d == 7.0);
	}
	{
		RD("\xca\x3f\xc0\x00"); /* truncated */
		assert_int_equal(cairn__rd_f64(&r, &d), CAIRN_EDECODE);
	}
	{
		RD("\xcb\x3f\xb9\x99\x99\x99\x99\x99");
		assert_int_equal(cairn__rd_f64(&r, &d), CAIRN_EDECODE);
	}
}

static void test_rd_str_bin(void **state)
{
	(void)state;
	const uint8_t *p;
	uint32_t n;
	/* Every str and bin width, read through msgpack-c's encodings. */
	static const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int is_bin = 0; is_bin < 2; is_bin++) {
			begin();
			if (is_bin)
				pack_bin(lens[i]);
			else
				pack_str(lens[i]);
			const uint8_t *b = (const uint8_t *)sbuf.data;
			cairn__rd r = {b, b + sbuf.size};
			int (*good)(cairn__rd *, const uint8_t **, uint32_t *) =
			        is_bin ? cairn__rd_bin : cairn__rd_str;
			int (*other)(cairn__rd *, const uint8_t **,
			             uint32_t *) =
			        is_bin ? cairn__rd_str : cairn__rd_bin;
			assert_int_equal(other(&r, &p, &n), CAIRN_EDECODE);
			assert_true(r.p == b);
			assert_int_equal(good(&r, &p, &n), 0);
			assert_int_equal(n, lens[i]);
			assert_true(p + n == b + sbuf.size);
			assert_true(r.p == r.end);
			assert_memory_equal(p, filler, n);
			/* One byte short. */
			r.p = b;
			r.end = b + sbuf.size - 1;
			if (sbuf.size > 1) {
				assert_int_equal(good(&r, &p, &n),
				                 CAIRN_EDECODE);
				assert_true(r.p == b);
			}
			msgpack_sbuffer_destroy(&sbuf);
		}
	}
	/* Headers cut short; a bomb. */
	{
		RD("\xd9");
		assert_int_equal(cairn__rd_str(&r, &p, &n), CAIRN_EDECODE);
	}
	{
		RD("\xda\x00");
		assert_int_equal(cairn__rd_str(&r, &p, &n), CAIRN_EDECODE);
	}
	{
		RD("\xc6\x00\x00\x00");
		assert_int_equal(cairn__rd_bin(&r, &p, &n), CAIRN_EDECODE);
	}
	{
		RD("\xdb\xff\xff\xff\xff"
		   "abc");
		const uint8_t *start = r.p;
		assert_int_equal(cairn__rd_str(&r, &p, &n), CAIRN_EDECODE);
		assert_true(r.p == start);
	}
	/* ext is neither. */
	{
		RD("\xd4\x01\x02");
		assert_int_equal(cairn__rd_str(&r, &p, &n), CAIRN_EDECODE);
		assert_int_equal(cairn__rd_bin(&r, &p, &n), CAIRN_EDECODE);
	}
}

static void test_rd_containers(void **state)
{
	(void)state;
	uint32_t n;
	{
		RD("\x90");
		assert_int_equal(cairn__rd_map(&r, &n), CAIRN_EDECODE);
		assert_int_equal(cairn__rd_array(&r, &n), 0);
		assert_int_equal(n, 0);
		assert_true(r.p == r.end);
	}
	{
		RD("\x9f"
		   "0123456789abcde");
		assert_int_equal(cairn__rd_array(&r, &n), 0);
		assert_int_equal(n, 15);
	}
	{
		RD("\xdc\x00\x02\xc0\xc0");
		assert_int_equal(cairn__rd_array(&r, &n), 0);
		assert_int_equal(n, 2);
		assert_int_equal(cairn__rd_nil(&r), 0);
		assert_int_equal(cairn__rd_nil(&r), 0);
		assert_int_equal(cairn__rd_peek(&r), -1);
	}
	{
		RD("\xdd\x00\x00\x00\x01\xc3");
		assert_int_equal(cairn__rd_array(&r, &n), 0);
		assert_int_equal(n, 1);
		bool v = false;
		assert_int_equal(cairn__rd_bool(&r, &v), 0);
		assert_true(v);
	}
	{
		RD("\x80");
		assert_int_equal(cairn__rd_array(&r, &n), CAIRN_EDECODE);
		assert_int_equal(cairn__rd_map(&r, &n), 0);
		assert_int_equal(n, 0);
	}
	{
		RD("\x81\x01\xc2");
		assert_int_equal(cairn__rd_map(&r, &n), 0);
		assert_int_equal(n, 1);
		uint64_t k;
		bool v = true;
		assert_int_equal(cairn__rd_u64(&r, &k), 0);
		assert_int_equal(cairn__rd_bool(&r, &v), 0);
		assert_false(v);
	}
	{
		RD("\xde\x00\x01\x01\x02");
		assert_int_equal(cairn__rd_map(&r, &n), 0);
		assert_int_equal(n, 1);
	}
	{
		RD("\xdf\x00\x00\x00\x01\x01\x02");
		assert_int_equal(cairn__rd_map(&r, &n), 0);
		assert_int_equal(n, 1);
	}
	/* Counts that the bytes left cannot hold fail, cursor unmoved. */
	{
		RD("\x92\x01");
		assert_int_equal(cairn__rd_array(&r, &n), CAIRN_EDECODE);
		assert_true(r.p[0] == 0x92);
	}
	{
		RD("\x81\x01");
		assert_int_equal(cairn__rd_map(&r, &n), CAIRN_EDECODE);
	}
	{
		RD("\xdc\x00");
		assert_int_equal(cairn__rd_array(&r, &n), CAIRN_EDECODE);
	}
	{
		RD("\xdf\x00\x00\x00");
		assert_int_equal(cairn__rd_map(&r, &n), CAIRN_EDECODE);
	}
}

static void test_rd_scalars_and_peek(void **state)
{
	(void)state;
	bool v;
	{
		RD("\xc0\xc2\xc3");
		assert_int_equal(cairn__rd_peek(&r), 0xc0);
		assert_int_equal(cairn__rd_bool(&r, &v), CAIRN_EDECODE);
		assert_int_equal(cairn__rd_nil(&r), 0);
		assert_int_equal(cairn__rd_peek(&r), 0xc2);
		assert_int_equal(cairn__rd_nil(&r), CAIRN_EDECODE);
		assert_int_equal(cairn__rd_bool(&r, &v), 0);
		assert_false(v);
		assert_int_equal(cairn__rd_bool(&r, &v), 0);
		assert_true(v);
		assert_int_equal(cairn__rd_peek(&r), -1);
		assert_int_equal(cairn__rd_bool(&r, &v), CAIRN_EDECODE);
		assert_int_equal(cairn__rd_nil(&r), CAIRN_EDECODE);
	}
	{
		RD("\xff");
		assert_int_equal(cairn__rd_peek(&r), 0xff);
	}
}

/* A walk over the document sample with the typed functions. */
static void test_rd_document(void **state)
{
	(void)state;
	const sample *s = NULL;
	for (size_t i = 0; i < n_samples; i++)
		if (strcmp(samples[i].name, "document") == 0)
			s = &samples[i];
	assert_non_null(s);
	cairn__rd r = {s->data, s->data + s->len};
	uint32_t n, slen;
	const uint8_t *str;
	uint64_t u;
	int64_t i64;
	double d;
	assert_int_equal(cairn__rd_map(&r, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(cairn__rd_str(&r, &str, &slen), 0);
	assert_int_equal(slen, 1);
	assert_int_equal(cairn__rd_u64(&r, &u), 0);
	assert_true(u == 1);
	assert_int_equal(cairn__rd_str(&r, &str, &slen), 0);
	assert_int_equal(cairn__rd_array(&r, &n), 0);
	assert_int_equal(n, 3);
	for (int k = 0; k < 3; k++) {
		uint32_t m;
		assert_int_equal(cairn__rd_map(&r, &m), 0);
		assert_int_equal(m, 2);
		assert_int_equal(cairn__rd_str(&r, &str, &slen), 0);
		assert_int_equal(cairn__rd_array(&r, &m), 0);
		assert_int_equal(cairn__rd_u64(&r, &u), 0);
		assert_true(u == UINT64_C(0x1234567890abcdef));
		assert_int_equal(cairn__rd_u64(&r, &u), 0);
		assert_true(u == (uint64_t)k * 70000u);
		assert_int_equal(cairn__rd_str(&r, &str, &slen), 0);
		assert_int_equal(cairn__rd_array(&r, &m), 0);
		assert_int_equal(m, 4);
		assert_int_equal(cairn__rd_nil(&r), 0);
		assert_int_equal(cairn__rd_f64(&r, &d), 0);
		assert_true(d == 2.5);
		assert_int_equal(cairn__rd_bin(&r, &str, &slen), 0);
		assert_int_equal(slen, 3);
		/* Skip the nested map {int: []}. */
		assert_int_equal(cairn__rd_peek(&r), 0x81);
		assert_int_equal(cairn__rd_skip(&r), 0);
		(void)i64;
	}
	assert_int_equal(cairn__rd_str(&r, &str, &slen), 0);
	assert_int_equal(slen, 40);
	assert_int_equal(cairn__rd_map(&r, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cairn__rd_peek(&r), -1);
}

/* ------------------------------------------------------------------------ */
/* Random mutations: never a crash; whatever passes, msgpack-c agrees on    */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void test_mutations_agree_with_msgpack_c(void **state)
{
	(void)state;
	cairn_limits l = test_limits();
	const char *seed_env = getenv("CAIRN_TEST_SEED");
	if (seed_env != NULL)
		rng_state = strtoull(seed_env, NULL, 0);
	print_message("mutations: CAIRN_TEST_SEED=0x%llx\n",
	              (unsigned long long)rng_state);
	size_t accepted = 0, total = 0;
	for (size_t i = 0; i < n_samples; i++) {
		const sample *s = &samples[i];
		if (s->len > 4096)
			continue;
		for (int m = 0; m < 300; m++) {
			uint8_t *c = dup_exact(s->data, s->len);
			size_t flips = 1 + rng() % 3;
			for (size_t f = 0; f < flips; f++)
				c[rng() % s->len] = (uint8_t)rng();
			size_t n = s->len;
			if (rng() % 4 == 0)
				n = (size_t)(rng() % (s->len + 1));
			total++;
			if (check(c, n, &l, NULL) != 0) {
				free(c);
				continue;
			}
			accepted++;
			cairn__rd r = {c, c + n};
			assert_int_equal(cairn__rd_skip(&r), 0);
			assert_true(r.p == c + n);
			msgpack_unpacked u;
			size_t used = 0;
			msgpack_unpacked_init(&u);
			assert_int_equal(msgpack_unpack_next(
			                         &u, (const char *)c, n, &used),
			                 MSGPACK_UNPACK_SUCCESS);
			assert_int_equal(used, n);
			msgpack_unpacked_destroy(&u);
			free(c);
		}
	}
	print_message("mutations: %zu of %zu accepted, all agreed\n", accepted,
	              total);
}

/* ------------------------------------------------------------------------ */
/* Throughput (reported, not asserted: sanitizer builds are slow)           */
/* ------------------------------------------------------------------------ */

static void test_throughput(void **state)
{
	(void)state;
	/* ~10 MB: an array32 of small arrays [int, "short str", true]. */
	begin();
	size_t count = 0, total = 5;
	while (total < 10u * 1000u * 1000u) {
		size_t v = count % 1000;
		total += 1u +
		         (v < 128   ? 1u
		          : v < 256 ? 2u
		                    : 3u) +
		         1u + (8u + count % 4) + 1u;
		count++;
	}
	msgpack_pack_array(&pk, count);
	for (size_t i = 0; i < count; i++) {
		msgpack_pack_array(&pk, 3);
		msgpack_pack_uint64(&pk, i % 1000);
		pack_str(8 + i % 4);
		msgpack_pack_true(&pk);
	}
	uint8_t *b = dup_exact((const uint8_t *)sbuf.data, sbuf.size);
	size_t n = sbuf.size;
	msgpack_sbuffer_destroy(&sbuf);

	cairn_limits l = test_limits();
	double best = 1e9;
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now_seconds();
		assert_int_equal(check(b, n, &l, NULL), 0);
		double dt = now_seconds() - t0;
		if (dt < best)
			best = dt;
	}
	double best_skip = 1e9;
	for (int rep = 0; rep < 5; rep++) {
		cairn__rd r = {b, b + n};
		double t0 = now_seconds();
		assert_int_equal(cairn__rd_skip(&r), 0);
		double dt = now_seconds() - t0;
		if (dt < best_skip)
			best_skip = dt;
	}
	print_message("validator: %.1f MB in %.2f ms = %.0f MB/s "
	              "(rd_skip %.0f MB/s)\n",
	              (double)n / 1e6, best * 1e3, (double)n / 1e6 / best,
	              (double)n / 1e6 / best_skip);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bombs_memory),
	        cmocka_unit_test(test_bombs_rejected),
	        cmocka_unit_test(test_samples_accepted),
	        cmocka_unit_test(test_samples_truncated),
	        cmocka_unit_test(test_samples_trailing),
	        cmocka_unit_test(test_samples_concatenated),
	        cmocka_unit_test(test_every_first_byte),
	        cmocka_unit_test(test_c1_rejected),
	        cmocka_unit_test(test_empty_input),
	        cmocka_unit_test(test_depth_limit),
	        cmocka_unit_test(test_deep_nesting_fast),
	        cmocka_unit_test(test_element_limit),
	        cmocka_unit_test(test_input_limit),
	        cmocka_unit_test(test_length_edges),
	        cmocka_unit_test(test_rd_u64),
	        cmocka_unit_test(test_rd_i64),
	        cmocka_unit_test(test_rd_int_roundtrip),
	        cmocka_unit_test(test_rd_f64),
	        cmocka_unit_test(test_rd_str_bin),
	        cmocka_unit_test(test_rd_containers),
	        cmocka_unit_test(test_rd_scalars_and_peek),
	        cmocka_unit_test(test_rd_document),
	        cmocka_unit_test(test_mutations_agree_with_msgpack_c),
	        cmocka_unit_test(test_throughput),
	};
	return cmocka_run_group_tests(tests, make_samples, free_samples);
}
