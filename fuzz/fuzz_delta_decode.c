/*
 * fuzz_delta_decode.c -- libFuzzer target for the delta codec and the join,
 * through the public API of include/cairn/crdt.h only.
 *
 * For every input that cairn_delta_decode() accepts:
 *   - the canonical encoding is a fixed point: encode, decode that, encode
 *     again, and the two encodings are byte-identical;
 *   - cairn_delta_digest() is the BLAKE2b-256 of that encoding, and equal
 *     for the two deltas;
 *   - joining commutes: replica A joins a fixed delta F then the input,
 *     replica B the input then F; both return the same code and end with
 *     the same cairn_replica_digest(); joining the input again (idempotence)
 *     changes nothing.
 * For every input it rejects: the error is one the header documents and
 * the output delta is unchanged (still empty).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/crdt.h"

#include "bytes_int.h"

#include "fuzz.h"

/* Timestamps up to the last 48-bit millisecond are never "in the future". */
#define JOIN_NOW_MS CAIRN_HLC_MAX_MS
#define WRITE_NOW_MS UINT64_C(1700000000000)
#define REPLICA_ID UINT64_C(0x0a11ce0000000001)

static cairn_delta *fixed_delta; /* F: built once, kept for the process */

static cairn_replica *new_replica(cairn_replica_id id)
{
	cairn_replica_config cfg;
	cairn_replica_config_init(&cfg);
	cfg.id = id;
	cairn_replica *r = NULL;
	FUZZ_ASSERT(cairn_replica_new(&cfg, &r) == 0);
	return r;
}

/* A small delta from another replica: a register, a set, one removal. */
static cairn_delta *make_fixed_delta(void)
{
	cairn_delta *f = NULL;
	cairn_doc *doc = NULL;
	FUZZ_ASSERT(cairn_delta_new(NULL, &f) == 0);
	cairn_replica *w = new_replica(UINT64_C(0x0b0b000000000002));
	FUZZ_ASSERT(cairn_replica_doc(w, "tickets/1", &doc) == 0);
	cairn_value v = cairn_value_str("open");
	FUZZ_ASSERT(cairn_doc_set(doc, "status", &v, WRITE_NOW_MS, f) == 0);
	v = cairn_value_int(-7);
	FUZZ_ASSERT(cairn_doc_set(doc, "n", &v, WRITE_NOW_MS + 1, f) == 0);
	v = cairn_value_str("red");
	FUZZ_ASSERT(cairn_doc_add(doc, "tags", &v, f) == 0);
	v = cairn_value_str("blue");
	FUZZ_ASSERT(cairn_doc_add(doc, "tags", &v, f) == 0);
	FUZZ_ASSERT(cairn_doc_rm(doc, "tags", &v, f) == 0);
	cairn_replica_free(w);
	return f;
}

static bool decode_error_documented(int rc)
{
	return rc == CAIRN_EDECODE || rc == CAIRN_ELIMIT ||
	       rc == CAIRN_ETOOBIG || rc == CAIRN_EVERSION ||
	       rc == CAIRN_ENOMEM;
}

static bool join_result_documented(int rc)
{
	return rc == 0 || rc == CAIRN_ECLOCK_SKEW || rc == CAIRN_EPOLICY ||
	       rc == CAIRN_ETOOBIG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fixed_delta == NULL)
		fixed_delta = make_fixed_delta();

	cairn_limits limits;
	cairn_limits_init(&limits);
	limits.max_value_bytes = 256;
	limits.max_depth = 12;
	limits.max_elements = 4096;
	limits.max_input_bytes = 1u << 16;

	cairn_delta *d = NULL;
	FUZZ_ASSERT(cairn_delta_new(NULL, &d) == 0);
	int rc = cairn_delta_decode(d, data, size, &limits);
	if (rc != 0) {
		FUZZ_ASSERT(decode_error_documented(rc));
		FUZZ_ASSERT(cairn_delta_empty(d)); /* *out is unchanged */
		cairn_delta_free(d);
		return 0;
	}

	/* Canonical re-encoding is a fixed point. */
	cairn_buf e1, e2;
	cairn_buf_init(&e1, NULL);
	cairn_buf_init(&e2, NULL);
	FUZZ_ASSERT(cairn_delta_encode(d, &e1) == 0);
	cairn_delta *d2 = NULL;
	FUZZ_ASSERT(cairn_delta_new(NULL, &d2) == 0);
	FUZZ_ASSERT(cairn_delta_decode(d2, e1.data, e1.len, NULL) == 0);
	FUZZ_ASSERT(cairn_delta_encode(d2, &e2) == 0);
	FUZZ_ASSERT(e1.len == e2.len);
	FUZZ_ASSERT(e1.len == 0 || memcmp(e1.data, e2.data, e1.len) == 0);

	/* The digest is BLAKE2b-256 of the canonical encoding. */
	uint8_t dg1[CAIRN_DIGEST_BYTES], dg2[CAIRN_DIGEST_BYTES];
	uint8_t want[CAIRN_DIGEST_BYTES];
	cairn__blake2b h;
	cairn__blake2b_init(&h, CAIRN_DIGEST_BYTES);
	cairn__blake2b_update(&h, e1.data, e1.len);
	cairn__blake2b_final(&h, want);
	FUZZ_ASSERT(cairn_delta_digest(d, dg1) == 0);
	FUZZ_ASSERT(cairn_delta_digest(d2, dg2) == 0);
	FUZZ_ASSERT(memcmp(dg1, want, sizeof(want)) == 0);
	FUZZ_ASSERT(memcmp(dg2, want, sizeof(want)) == 0);

	/* Joins commute: A = F then D, B = D then F. */
	cairn_replica *a = new_replica(REPLICA_ID);
	cairn_replica *b = new_replica(REPLICA_ID);
	FUZZ_ASSERT(cairn_replica_join(a, fixed_delta, JOIN_NOW_MS) == 0);
	int ra = cairn_replica_join(a, d, JOIN_NOW_MS);
	int rb = cairn_replica_join(b, d, JOIN_NOW_MS);
	FUZZ_ASSERT(cairn_replica_join(b, fixed_delta, JOIN_NOW_MS) == 0);
	FUZZ_ASSERT(join_result_documented(ra));
	FUZZ_ASSERT(ra == rb);

	uint8_t ha[CAIRN_DIGEST_BYTES], hb[CAIRN_DIGEST_BYTES];
	FUZZ_ASSERT(cairn_replica_digest(a, ha) == 0);
	FUZZ_ASSERT(cairn_replica_digest(b, hb) == 0);
	FUZZ_ASSERT(memcmp(ha, hb, sizeof(ha)) == 0);

	/* Idempotence: the same delta again changes nothing. */
	FUZZ_ASSERT(cairn_replica_join(a, d, JOIN_NOW_MS) == ra);
	FUZZ_ASSERT(cairn_replica_digest(a, hb) == 0);
	FUZZ_ASSERT(memcmp(ha, hb, sizeof(ha)) == 0);

	cairn_replica_free(a);
	cairn_replica_free(b);
	cairn_buf_free(&e1);
	cairn_buf_free(&e2);
	cairn_delta_free(d2);
	cairn_delta_free(d);
	return 0;
}
