/*
 * gen_corpus.c -- writes the seed corpora of the fuzz targets
 * (built as cairn-fuzz-gen-corpus).
 *
 *   cairn-fuzz-gen-corpus fuzz/corpus
 *
 * writes fuzz/corpus/fuzz_msgpack_check/ (valid msgpack objects of every
 * type and width, packed by msgpack-c, plus the delta encodings below, which
 * are msgpack too) and fuzz/corpus/fuzz_delta_decode/ (canonical deltas
 * made through the public API: register writes of each value type, set adds
 * and removes, deletes, concurrent writes, and joined states of 2-3
 * replicas). Files are named by the first 8 bytes of their BLAKE2b-256, so
 * running it again rewrites the same files; remove stale ones by hand when
 * the encoding changes (a changed encoding is a format version bump anyway).
 *
 * It also writes fuzz/corpus/fuzz_json/: exports of replicas made through
 * the public API (cairn_replica_export_json), single JSON values, and
 * hand-written inputs that each break one rule of docs/JSON.md.
 *
 * And the secure link's targets, from the fixed handshake of
 * link_fixture.h (so every run writes the same bytes):
 * fuzz/corpus/fuzz_frame/ (frame sequences sealed by the other side --
 * messages, empty ones, rekeys, FINAL -- and the bad lengths, tampered,
 * replayed and cut frames) and fuzz/corpus/fuzz_handshake/ (the real m1,
 * m2, m3 for each role, alone, followed by frames, cut short, damaged,
 * with bad length prefixes). Each starts with the target's mode byte.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <msgpack.h>

#include "cairn/crdt.h"
#include "cairn/json.h"

#include "bytes_int.h"
#include "cairn/store.h"
#include "fault_vfs.h"
#include "link_fixture.h"
#include "sync_fixture.h"
#include "store_int.h"

static const char *root;
static size_t written[7];

static void die(const char *what)
{
	fprintf(stderr, "cairn-fuzz-gen-corpus: %s\n", what);
	exit(1);
}

#define CHECK(call)                                                            \
	do {                                                                   \
		int rc_ = (call);                                              \
		if (rc_ != 0) {                                                \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, \
			        #call, cairn_err_name(rc_));                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

static void make_dir(const char *path)
{
	if (mkdir(path, 0777) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
}

/* Write one seed to root/target/<hash>; which indexes `written`. */
static void emit(int which, const void *data, size_t len)
{
	static const char *const targets[7] = {
	        "fuzz_msgpack_check", "fuzz_delta_decode", "fuzz_json",
	        "fuzz_store_recover", "fuzz_frame",        "fuzz_handshake",
	        "fuzz_sync"};
	/* Every msgpack or delta seed must be one valid msgpack object. */
	if (which < 2 && cairn__msgpack_check(data, len, NULL, NULL) != 0)
		die("a generated seed is not valid msgpack");

	uint8_t h[32];
	cairn__blake2b s;
	cairn__blake2b_init(&s, sizeof(h));
	cairn__blake2b_update(&s, data, len);
	cairn__blake2b_final(&s, h);

	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s/", root, targets[which]);
	if (n < 0 || (size_t)n + 17 > sizeof(path))
		die("path too long");
	for (int i = 0; i < 8; i++)
		snprintf(path + n + 2 * i, 3, "%02x", h[i]);

	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	if (len > 0 && fwrite(data, 1, len, f) != len)
		die("short write");
	if (fclose(f) != 0)
		die("close failed");
	written[which]++;
}

/* ------------------------------------------------------------------------ */
/* msgpack seeds                                                            */
/* ------------------------------------------------------------------------ */

static msgpack_sbuffer sb;
static msgpack_packer pk;

static void begin(void)
{
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
}

static void end(void)
{
	emit(0, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void str(const char *s)
{
	msgpack_pack_str_with_body(&pk, s, strlen(s));
}

static void msgpack_seeds(void)
{
	static const uint8_t body[300] = {0};

	/* clang-format off */
	begin(); msgpack_pack_nil(&pk); end();
	begin(); msgpack_pack_true(&pk); end();
	begin(); msgpack_pack_false(&pk); end();
	begin(); msgpack_pack_int64(&pk, 5); end();
	begin(); msgpack_pack_int64(&pk, -5); end();
	begin(); msgpack_pack_fix_uint8(&pk, 200); end();
	begin(); msgpack_pack_fix_uint16(&pk, 60000); end();
	begin(); msgpack_pack_fix_uint32(&pk, 4000000000u); end();
	begin(); msgpack_pack_fix_uint64(&pk, UINT64_MAX); end();
	begin(); msgpack_pack_fix_int8(&pk, -100); end();
	begin(); msgpack_pack_fix_int16(&pk, -30000); end();
	begin(); msgpack_pack_fix_int32(&pk, INT32_MIN); end();
	begin(); msgpack_pack_fix_int64(&pk, INT64_MIN); end();
	begin(); msgpack_pack_float(&pk, 1.5f); end();
	begin(); msgpack_pack_double(&pk, -0.1); end();
	begin(); str(""); end();
	begin(); str("tickets/8812"); end();
	begin(); str("caf\xc3\xa9 \xf0\x9f\x98\x80"); end();
	begin(); msgpack_pack_str_with_body(&pk, body, 40); end(); /* str8 */
	begin(); msgpack_pack_str_with_body(&pk, body, 300); end(); /* str16 */
	begin(); msgpack_pack_bin_with_body(&pk, body, 3); end();
	begin(); msgpack_pack_bin_with_body(&pk, body, 300); end();
	begin(); msgpack_pack_ext_with_body(&pk, body, 1, 1); end();
	begin(); msgpack_pack_ext_with_body(&pk, body, 16, 1); end();
	begin(); msgpack_pack_ext_with_body(&pk, body, 5, -3); end();
	begin(); msgpack_pack_ext_with_body(&pk, body, 300, 7); end();
	msgpack_timestamp ts = {1700000000, 0};
	begin(); msgpack_pack_timestamp(&pk, &ts); end();
	ts.tv_nsec = 5;
	begin(); msgpack_pack_timestamp(&pk, &ts); end();
	ts.tv_sec = -5;
	begin(); msgpack_pack_timestamp(&pk, &ts); end();
	begin(); msgpack_pack_array(&pk, 0); end();
	begin(); msgpack_pack_map(&pk, 0); end();
	/* clang-format on */

	begin();
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int64(&pk, 1);
	str("two");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	end();

	begin();
	msgpack_pack_array(&pk, 20); /* array16 */
	for (int i = 0; i < 20; i++)
		msgpack_pack_int64(&pk, i * 1000 - 5000);
	end();

	begin();
	msgpack_pack_map(&pk, 17); /* map16 */
	for (int i = 0; i < 17; i++) {
		msgpack_pack_int64(&pk, i);
		msgpack_pack_double(&pk, i / 4.0);
	}
	end();

	begin();
	msgpack_pack_map(&pk, 2);
	str("doc");
	msgpack_pack_map(&pk, 2);
	str("status");
	str("open");
	str("tags");
	msgpack_pack_array(&pk, 2);
	str("red");
	msgpack_pack_bin_with_body(&pk, "\x00\x01", 2);
	str("ctx");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, UINT64_C(0x0a11ce0000000001));
	msgpack_pack_uint32(&pk, 7);
	end();

	/* Nesting at the fuzz target's depth limit (12) and one over. */
	for (int depth = 11; depth <= 12; depth++) {
		begin();
		for (int i = 0; i < depth; i++)
			msgpack_pack_array(&pk, 1);
		msgpack_pack_true(&pk);
		end();
	}
}

/* ------------------------------------------------------------------------ */
/* Delta seeds                                                              */
/* ------------------------------------------------------------------------ */

#define T0 UINT64_C(1700000000000)

static cairn_replica *replica(cairn_replica_id id)
{
	cairn_replica_config cfg;
	cairn_replica_config_init(&cfg);
	cfg.id = id;
	cairn_replica *r = NULL;
	CHECK(cairn_replica_new(&cfg, &r));
	return r;
}

static cairn_doc *doc(cairn_replica *r, const char *id)
{
	cairn_doc *d = NULL;
	CHECK(cairn_replica_doc(r, id, &d));
	return d;
}

static cairn_delta *delta(void)
{
	cairn_delta *d = NULL;
	CHECK(cairn_delta_new(NULL, &d));
	return d;
}

/* Emit a delta as a delta seed and as a msgpack seed. */
static void emit_delta(const cairn_delta *d)
{
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	CHECK(cairn_delta_encode(d, &b));
	emit(1, b.data, b.len);
	emit(0, b.data, b.len);
	cairn_buf_free(&b);
}

static void emit_state(const cairn_replica *r)
{
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	CHECK(cairn_replica_encode(r, &b));
	emit(1, b.data, b.len);
	cairn_buf_free(&b);
}

/* One register write of v, as its own delta. */
static void one_write(const cairn_value *v)
{
	cairn_replica *r = replica(1);
	cairn_delta *d = delta();
	CHECK(cairn_doc_set(doc(r, "notes/1"), "v", v, T0, d));
	emit_delta(d);
	cairn_delta_free(d);
	cairn_replica_free(r);
}

static void delta_seeds(void)
{
	/* Each value type, including the edges of each. */
	cairn_value vals[] = {
	        cairn_value_nil(),
	        cairn_value_bool(false),
	        cairn_value_bool(true),
	        cairn_value_int(0),
	        cairn_value_int(-1),
	        cairn_value_int(127),
	        cairn_value_int(-33),
	        cairn_value_int(70000),
	        cairn_value_int(INT64_MIN),
	        cairn_value_int(INT64_MAX),
	        cairn_value_float(0.5),
	        cairn_value_float(-0.0),
	        cairn_value_float(NAN),
	        cairn_value_float(INFINITY),
	        cairn_value_str(""),
	        cairn_value_str("open"),
	        cairn_value_str("caf\xc3\xa9 \xf0\x9f\x98\x80"),
	        cairn_value_bin("", 0),
	        cairn_value_bin("\x00\xff\x10", 3),
	};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		one_write(&vals[i]);

	/* An empty delta. */
	cairn_delta *empty = delta();
	emit_delta(empty);
	cairn_delta_free(empty);

	/* A ticket: several fields and a set, in one delta; then edits. */
	cairn_replica *a = replica(UINT64_C(0xa000000000000001));
	cairn_replica *b = replica(UINT64_C(0xb000000000000002));
	cairn_replica *c = replica(UINT64_C(0xc000000000000003));
	cairn_doc *ta = doc(a, "tickets/8812");
	cairn_delta *d1 = delta();
	cairn_value v = cairn_value_str("printer on fire");
	CHECK(cairn_doc_set(ta, "subject", &v, T0, d1));
	v = cairn_value_str("open");
	CHECK(cairn_doc_set(ta, "status", &v, T0 + 1, d1));
	v = cairn_value_int(3);
	CHECK(cairn_doc_set(ta, "priority", &v, T0 + 2, d1));
	v = cairn_value_str("hardware");
	CHECK(cairn_doc_add(ta, "tags", &v, d1));
	v = cairn_value_str("urgent");
	CHECK(cairn_doc_add(ta, "tags", &v, d1));
	emit_delta(d1);

	cairn_delta *d2 = delta(); /* a removal and a delete */
	v = cairn_value_str("urgent");
	CHECK(cairn_doc_rm(ta, "tags", &v, d2));
	CHECK(cairn_doc_del(ta, "priority", d2));
	emit_delta(d2);

	cairn_delta *d3 = delta(); /* an overwrite */
	v = cairn_value_str("closed");
	CHECK(cairn_doc_set(ta, "status", &v, T0 + 10, d3));
	emit_delta(d3);
	emit_state(a);

	/* b and c write concurrently: register conflict, set add vs remove,
	 * a kind conflict on "x", a second document. */
	CHECK(cairn_replica_join(b, d1, T0 + 20));
	CHECK(cairn_replica_join(c, d1, T0 + 20));
	cairn_delta *db = delta();
	cairn_delta *dc = delta();
	cairn_doc *tb = doc(b, "tickets/8812");
	cairn_doc *tc = doc(c, "tickets/8812");
	v = cairn_value_str("waiting");
	CHECK(cairn_doc_set(tb, "status", &v, T0 + 30, db));
	v = cairn_value_str("in progress");
	CHECK(cairn_doc_set(tc, "status", &v, T0 + 30, dc));
	v = cairn_value_str("urgent");
	CHECK(cairn_doc_add(tb, "tags", &v, db)); /* re-add: add wins */
	v = cairn_value_int(1);
	CHECK(cairn_doc_set(tb, "x", &v, T0 + 31, db));
	CHECK(cairn_doc_add(tc, "x", &v, dc));
	v = cairn_value_float(2.25);
	CHECK(cairn_doc_set(doc(c, "tickets/9000"), "estimate", &v, T0 + 32,
	                    dc));
	emit_delta(db);
	emit_delta(dc);

	/* Joined states of 2 and of 3 replicas, and a folded delta. */
	CHECK(cairn_replica_join(a, db, T0 + 40));
	emit_state(a);
	CHECK(cairn_replica_join(a, dc, T0 + 40));
	CHECK(cairn_replica_join(a, d2, T0 + 40));
	CHECK(cairn_replica_join(a, d3, T0 + 40));
	emit_state(a);
	cairn_delta *fold = delta();
	CHECK(cairn_delta_join(fold, db));
	CHECK(cairn_delta_join(fold, dc));
	emit_delta(fold);
	cairn_delta *st = delta();
	CHECK(cairn_replica_state(a, st));
	emit_delta(st);

	/* Many elements in one set, many documents. */
	cairn_delta *many = delta();
	cairn_doc *md = doc(b, "inventory/shelf-3");
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "item-%02d", i);
		v = cairn_value_str(name);
		CHECK(cairn_doc_add(md, "items", &v, many));
	}
	emit_delta(many);
	cairn_delta *docs = delta();
	for (int i = 0; i < 12; i++) {
		char id[32];
		snprintf(id, sizeof(id), "shops/%d", i);
		v = cairn_value_int(i);
		CHECK(cairn_doc_set(doc(c, id), "till", &v,
		                    T0 + 50 + (uint64_t)i, docs));
	}
	emit_delta(docs);

	/* A declared policy travels with the register (fww, multi). */
	cairn_replica *p = replica(UINT64_C(0xd000000000000004));
	CHECK(cairn_replica_declare(p, "pay/", NULL, CAIRN_POLICY_FWW));
	CHECK(cairn_replica_declare(p, "notes/", "body", CAIRN_POLICY_MULTI));
	cairn_delta *dp = delta();
	v = cairn_value_int(1999);
	CHECK(cairn_doc_set(doc(p, "pay/1"), "amount", &v, T0, dp));
	v = cairn_value_str("draft");
	CHECK(cairn_doc_set(doc(p, "notes/2"), "body", &v, T0, dp));
	emit_delta(dp);

	cairn_delta *all[] = {d1, d2, d3, db, dc, fold, st, many, docs, dp};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		cairn_delta_free(all[i]);
	cairn_replica_free(a);
	cairn_replica_free(b);
	cairn_replica_free(c);
	cairn_replica_free(p);
}

/* ------------------------------------------------------------------------ */
/* JSON seeds                                                               */
/* ------------------------------------------------------------------------ */

static void emit_export(const cairn_replica *r)
{
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	CHECK(cairn_replica_export_json(r, &b));
	emit(2, b.data, b.len);
	cairn_buf_free(&b);
}

#define JSON_HEAD                                                              \
	"{\"format\": \"cairn-export\", \"version\": 1, \"documents\": "

static void json_seeds(void)
{
	/* Exports: every value type, a set, and concurrent writes (a
	 * {"values"} register and a kind conflict). */
	cairn_replica *a = replica(UINT64_C(0xa000000000000001));
	cairn_replica *b = replica(UINT64_C(0xb000000000000002));
	emit_export(a); /* empty */
	cairn_value vals[] = {
	        cairn_value_nil(),
	        cairn_value_bool(true),
	        cairn_value_int(INT64_MIN),
	        cairn_value_int(INT64_MAX),
	        cairn_value_float(-0.0),
	        cairn_value_float(0.1),
	        cairn_value_float(5e-324),
	        cairn_value_float(1.7976931348623157e308),
	        cairn_value_float(1e16),
	        cairn_value_float(NAN),
	        cairn_value_float(-INFINITY),
	        cairn_value_str("caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ \n\x01"),
	        cairn_value_bin("\x00\xff\x10", 3),
	        cairn_value_bin("ab", 2),
	};
	cairn_doc *d = doc(a, "tickets/8812");
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%02zu", i);
		CHECK(cairn_doc_set(d, name, &vals[i], T0 + i, NULL));
		CHECK(cairn_doc_add(d, "set", &vals[i], NULL));
	}
	emit_export(a);
	cairn_value v = cairn_value_str("x");
	CHECK(cairn_doc_set(doc(a, "t/\xc3\xa9"), "who", &v, T0 + 50, NULL));
	v = cairn_value_str("y");
	CHECK(cairn_doc_set(doc(b, "t/\xc3\xa9"), "who", &v, T0 + 40, NULL));
	v = cairn_value_int(1);
	CHECK(cairn_doc_set(doc(a, "t/\xc3\xa9"), "mixed", &v, T0 + 50, NULL));
	CHECK(cairn_doc_add(doc(b, "t/\xc3\xa9"), "mixed", &v, NULL));
	cairn_delta *bstate = delta();
	CHECK(cairn_replica_state(b, bstate));
	CHECK(cairn_replica_join(a, bstate, T0 + 100));
	emit_export(a);
	cairn_delta_free(bstate);
	cairn_replica_free(a);
	cairn_replica_free(b);

	/* Single values, and inputs that each break one rule. */
	static const char *const texts[] = {
	        "null",
	        "\"str \\u00e9 \\ud83d\\ude00\"",
	        "-12.5e-3",
	        "{\"bin\": \"Zm9vYg==\"}",
	        "{\"float\": \"-Infinity\"}",
	        "2.4703282292062327208828439643411068618252990130716238221279"
	        "28e-324",
	        JSON_HEAD "{\"d\": {\"f\": {\"values\": [1, 2.0, \"3\"]}, "
	                  "\"s\": {\"set\": []}}}}",
	        JSON_HEAD "{}, \"extra\": 1}", /* unknown key */
	        "{\"format\": \"cairn-export\", \"version\": 2, "
	        "\"documents\": {}}",                             /* version */
	        JSON_HEAD "{\"d\": {\"f\": 1, \"\\u0066\": 2}}}", /* dup */
	        JSON_HEAD "{\"d\": {\"f\": \"\\ud800\"}}}",       /* lone */
	        JSON_HEAD "{\"d\": {\"f\": {\"bin\": \"Zh==\"}}}}", /* b64 */
	        JSON_HEAD "{\"d\": {\"f\": {\"set\": [[1]]}}}}",    /* nest */
	        JSON_HEAD "{\"d\": {\"f\": 9223372036854775808}}}", /* int */
	        JSON_HEAD "{\"\\u0000\": {}}}",                     /* NUL */
	        JSON_HEAD "{\"d\": {\"f\": [1, {\"bin\"",           /* cut */
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		emit(2, texts[i], strlen(texts[i]));
}

/* ------------------------------------------------------------------------ */
/* store seeds: the files of real stores, in fuzz_store_recover's layout    */
/* ------------------------------------------------------------------------ */

/* flags | u32 snapshot length | u64 log first seq | snapshot | log */
static void emit_store(fault_vfs *fv, bool snapshot, uint64_t first,
                       bool records_only)
{
	uint8_t *snap = NULL, *log = NULL;
	size_t snap_len = 0, log_len = 0;
	char name[21], path[64];
	if (snapshot &&
	    fault_vfs_file_bytes(fv, "/g/snapshot", &snap, &snap_len) != 0)
		die("no snapshot");
	cairn__log_name(first, name);
	snprintf(path, sizeof path, "/g/%s", name);
	if (fault_vfs_file_bytes(fv, path, &log, &log_len) != 0)
		die("no log");
	size_t skip = records_only ? CAIRN__LOG_HEADER : 0;
	size_t n = 13 + snap_len + log_len - skip;
	uint8_t *buf = malloc(n);
	if (!buf)
		die("out of memory");
	/* Seeds ask for checksums to be fixed (bit 3): they are right
	 * already, and the mutations the fuzzer derives keep the flag. */
	buf[0] = (uint8_t)((snapshot ? 1 : 0) | (records_only ? 2 : 0) | 8);
	cairn__put_u32(buf + 1, (uint32_t)snap_len);
	cairn__put_u64(buf + 5, first);
	if (snap_len)
		memcpy(buf + 13, snap, snap_len);
	memcpy(buf + 13 + snap_len, log + skip, log_len - skip);
	emit(3, buf, n);
	free(buf);
	free(snap);
	free(log);
}

static void store_seeds(void)
{
	fault_vfs *fv = fault_vfs_new();
	cairn_store_config c;
	cairn_store_config_init(&c);
	c.replica.id = 0xF0;
	c.vfs = fault_vfs_vfs(fv);
	c.sync = CAIRN_SYNC_NONE;
	c.compact_log_bytes = 0;
	cairn_store *s;
	CHECK(cairn_store_open("/g", &c, &s, NULL));
	const uint64_t t = UINT64_C(1700000000000);
	for (int i = 0; i < 12; i++) {
		char field[8];
		snprintf(field, sizeof field, "f%d", i % 4);
		cairn_value v = i % 3 ? cairn_value_int(i)
		                      : cairn_value_str("text value");
		CHECK(cairn_store_set(s, "doc/a", field, &v, t + (uint64_t)i,
		                      NULL, NULL));
	}
	cairn_value e = cairn_value_str("tag");
	CHECK(cairn_store_add(s, "doc/b", "tags", &e, NULL, NULL));
	CHECK(cairn_store_del(s, "doc/a", "f1", NULL, NULL));
	uint8_t peer[CAIRN_PEER_ID_BYTES] = {7};
	CHECK(cairn_store_peer_put(s, peer, 99));
	emit_store(fv, false, 1, false);
	emit_store(fv, false, 1, true);
	CHECK(cairn_store_compact(s));
	uint64_t first = cairn_store_last_seq(s) + 1;
	for (int i = 0; i < 5; i++) {
		cairn_value v = cairn_value_int(100 + i);
		CHECK(cairn_store_set(s, "doc/c", "x", &v, t + 100, NULL,
		                      NULL));
	}
	emit_store(fv, true, first, false);
	emit_store(fv, true, first, true);
	CHECK(cairn_store_close(s));
	fault_vfs_free(fv);
}

/* ------------------------------------------------------------------------ */
/* link seeds: fuzz_frame (4) and fuzz_handshake (5)                        */
/* ------------------------------------------------------------------------ */

enum { FRAME = 4, HANDSHAKE = 5 };

/* Emit mode byte || a || b. */
static void emit_link(int which, uint8_t mode, const cairn_buf *a,
                      const cairn_buf *b)
{
	size_t n = 1 + (a ? a->len : 0) + (b ? b->len : 0);
	uint8_t *buf = malloc(n);
	if (buf == NULL)
		die("out of memory");
	buf[0] = mode;
	size_t at = 1;
	if (a && a->len) {
		memcpy(buf + at, a->data, a->len);
		at += a->len;
	}
	if (b && b->len)
		memcpy(buf + at, b->data, b->len);
	emit(which, buf, n);
	free(buf);
}

static void append(cairn_buf *b, const void *p, size_t n)
{
	CHECK(cairn_buf_append(b, p, n));
}

/*
 * Frames a fresh copy of `from` (an established link of the fixture)
 * seals: `count` messages of sizes 0, 1, 7, 49, ... (a few that look
 * like msgpack), then FINAL if `final`.
 */
static void seal_run(const cairn__link *from, int count, bool final,
                     cairn_buf *out)
{
	cairn__link l = *from; /* no buffers: a plain value */
	uint8_t m[1200];
	for (int k = 0; k < count; k++) {
		size_t n = (size_t)(k * k * 7) % sizeof m;
		for (size_t j = 0; j < n; j++)
			m[j] = (uint8_t)((size_t)k + j);
		if (k % 3 == 1 && n >= 3) {
			m[0] = 0x93; /* [1, 2, "x"...]: a sync message shape */
			m[1] = 0x01;
			m[2] = 0x02;
		}
		CHECK(cairn__link_seal(&l, m, n, out));
	}
	if (final)
		CHECK(cairn__link_close(&l, out));
	sodium_memzero(&l, sizeof l);
}

static void frame_seeds(const fx *f)
{
	static const uint8_t modes[] = {0x00, 0x03, 0x11, 0x80, 0x85};
	for (size_t mi = 0; mi < sizeof modes; mi++) {
		uint8_t mode = modes[mi];
		const cairn__link *from = mode & 0x80 ? &f->r : &f->i;
		const int counts[] = {1, 2, 5, 9};
		for (size_t c = 0; c < 4; c++) {
			cairn_buf b;
			cairn_buf_init(&b, NULL);
			seal_run(from, counts[c], c % 2 == 1, &b);
			emit_link(FRAME, mode, &b, NULL);
			cairn_buf_free(&b);
		}
	}

	/* Damage, all to the responder. */
	cairn_buf good, b;
	cairn_buf_init(&good, NULL);
	cairn_buf_init(&b, NULL);
	seal_run(&f->i, 3, true, &good);
	size_t first = 4 + 17 + 0; /* the first message is empty */

	append(&b, good.data, good.len); /* a bit flipped in frame 2 */
	b.data[first + 4 + 17] ^= 0x20;
	emit_link(FRAME, 0x00, &b, NULL);
	cairn_buf_reset(&b);
	append(&b, good.data, first); /* frame 1 twice */
	append(&b, good.data, first);
	emit_link(FRAME, 0x00, &b, NULL);
	cairn_buf_reset(&b);
	append(&b, good.data + first, good.len - first); /* frame 1 lost */
	emit_link(FRAME, 0x00, &b, NULL);
	cairn_buf_reset(&b);
	append(&b, good.data, good.len - 3); /* cut */
	emit_link(FRAME, 0x00, &b, NULL);
	cairn_buf_reset(&b);
	append(&b, good.data, good.len); /* bytes after FINAL */
	append(&b, good.data, first);
	emit_link(FRAME, 0x00, &b, NULL);
	cairn_buf_reset(&b);

	static const uint8_t lengths[][4] = {
	        {0, 0, 0, 0},    {0xff, 0xff, 0xff, 0xff},
	        {0x80, 0, 0, 0}, {0, 0x10, 0, 1},
	        {0, 0x10, 0, 0}, {0, 0, 0, 5},
	        {0, 0, 0, 16},   {0, 0, 0, 17},
	};
	for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
		append(&b, lengths[k], 4);
		append(&b, good.data + 4, 24);
		emit_link(FRAME, 0x00, &b, NULL);
		cairn_buf_reset(&b);
	}
	cairn_buf_free(&good);
	cairn_buf_free(&b);
}

static void handshake_seeds(const fx *f)
{
	cairn_buf frames_i, frames_r, b;
	cairn_buf_init(&frames_i, NULL);
	cairn_buf_init(&frames_r, NULL);
	cairn_buf_init(&b, NULL);
	seal_run(&f->i, 3, true, &frames_i);
	seal_run(&f->r, 2, false, &frames_r);
	static const uint8_t chunks[] = {0, 1, 5};
	for (size_t c = 0; c < sizeof chunks; c++) {
		uint8_t ch = (uint8_t)(chunks[c] << 2);
		/* 0: a fresh responder. */
		emit_link(HANDSHAKE, ch | 0, &f->m1, NULL);
		emit_link(HANDSHAKE, ch | 0, &f->m1, &f->m3);
		append(&b, f->m1.data, f->m1.len);
		append(&b, f->m3.data, f->m3.len);
		emit_link(HANDSHAKE, ch | 0, &b, &frames_i);
		cairn_buf_reset(&b);
		/* 1: an initiator. */
		emit_link(HANDSHAKE, ch | 1, &f->m2, NULL);
		emit_link(HANDSHAKE, ch | 1, &f->m2, &frames_r);
		/* 2: a responder after m1. */
		emit_link(HANDSHAKE, ch | 2, &f->m3, NULL);
		emit_link(HANDSHAKE, ch | 2, &f->m3, &frames_i);
	}
	/* 3: a stale m1. */
	emit_link(HANDSHAKE, 3, &f->m1, NULL);

	/* Damaged and cut messages, for each role. */
	const cairn_buf *msgs[3] = {&f->m1, &f->m2, &f->m3};
	for (uint8_t role = 0; role < 3; role++) {
		const cairn_buf *m = msgs[role];
		append(&b, m->data, m->len / 2);
		emit_link(HANDSHAKE, role, &b, NULL);
		cairn_buf_reset(&b);
		append(&b, m->data, m->len);
		b.data[m->len - 1] ^= 1; /* the payload's tag */
		emit_link(HANDSHAKE, role, &b, NULL);
		b.data[m->len - 1] ^= 1;
		b.data[2 + 5] ^= 0x80; /* the first key */
		emit_link(HANDSHAKE, role, &b, NULL);
		b.data[2 + 5] ^= 0x80;
		b.data[1] = (uint8_t)(b.data[1] + 1); /* the length prefix */
		emit_link(HANDSHAKE, role, &b, NULL);
		b.data[0] = 0xff;
		emit_link(HANDSHAKE, role, &b, NULL);
		cairn_buf_reset(&b);
	}
	emit_link(HANDSHAKE, 0, &f->m1, &f->m1); /* m1 twice */
	const char *http = "GET / HTTP/1.1\r\nHost: cairn\r\n\r\n";
	append(&b, http, strlen(http));
	emit_link(HANDSHAKE, 0, &b, NULL);
	cairn_buf_reset(&b);
	cairn_buf_free(&frames_i);
	cairn_buf_free(&frames_r);
	cairn_buf_free(&b);
}

static void link_seeds(void)
{
	fx f;
	CHECK(fx_init(&f));
	CHECK(fx_handshake(&f));
	frame_seeds(&f);
	handshake_seeds(&f);
	fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* sync seeds: fuzz_sync (6)                                                */
/* ------------------------------------------------------------------------ */

/*
 * A conversation between the fixed replica A of sync_fixture.h and a peer
 * B (the fixture again, with the tags swapped), for each pair of content
 * variants, then a few live writes on B: what B says to A, in the
 * target's input layout.
 */
static void sync_seeds(void)
{
	for (uint8_t va = 0; va < 3; va++)
		for (uint8_t vb = 0; vb < 3; vb++) {
			sfx a, b;
			CHECK(sfx_open(&a, va, 1, 2));
			CHECK(sfx_open(&b, vb, 2, 1));
			cairn_buf seed, m;
			cairn_buf_init(&seed, NULL);
			cairn_buf_init(&m, NULL);
			CHECK(cairn_buf_append(&seed, &va, 1));
			uint64_t now = SFX_T0;
			for (int round = 0; round < 400; round++) {
				now += 7;
				if (round == 100 || round == 200) {
					cairn_value v = {.type = CAIRN_INT,
					                 .as.i = round};
					CHECK(cairn_store_set(b.st, "live", "x",
					                      &v, now, NULL,
					                      NULL));
				}
				bool any = false;
				m.len = 0;
				int r = cairn__sync_next(b.sy, b.p, now, &m);
				if (r == 1 && m.len <= 0xffff) {
					uint8_t len[2] = {
					        (uint8_t)m.len,
					        (uint8_t)(m.len >> 8)};
					CHECK(cairn_buf_append(&seed, len, 2));
					CHECK(cairn_buf_append(&seed, m.data,
					                       m.len));
					if (cairn__sync_recv(a.sy, a.p, m.data,
					                     m.len, now) < 0)
						break;
					any = true;
				}
				m.len = 0;
				r = cairn__sync_next(a.sy, a.p, now, &m);
				if (r == 1) {
					if (cairn__sync_recv(b.sy, b.p, m.data,
					                     m.len, now) < 0)
						break;
					any = true;
				}
				if (!any && round > 210)
					break;
			}
			emit(6, seed.data, seed.len);
			cairn_buf_free(&seed);
			cairn_buf_free(&m);
			sfx_close(&a);
			sfx_close(&b);
		}
}

int main(int argc, char **argv)
{
	root = argc > 1 ? argv[1] : "fuzz/corpus";
	char path[4096];
	make_dir(root);
	snprintf(path, sizeof(path), "%s/fuzz_msgpack_check", root);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/fuzz_delta_decode", root);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/fuzz_json", root);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/fuzz_store_recover", root);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/fuzz_frame", root);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/fuzz_handshake", root);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/fuzz_sync", root);
	make_dir(path);

	msgpack_seeds();
	delta_seeds();
	json_seeds();
	store_seeds();
	link_seeds();
	sync_seeds();
	printf("cairn-fuzz-gen-corpus: %zu msgpack seeds, %zu delta seeds, "
	       "%zu json seeds, %zu store seeds, %zu frame seeds, "
	       "%zu handshake seeds, %zu sync seeds in %s\n",
	       written[0], written[1], written[2], written[3], written[4],
	       written[5], written[6], root);
	return 0;
}
