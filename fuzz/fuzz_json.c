/*
 * fuzz_json.c -- libFuzzer target for the JSON codec (include/cairn/json.h),
 * through the public API only.
 *
 * Every input is fed to:
 *   - cairn_value_from_json(): it accepts, or fails with a documented code
 *     and leaves the scratch buffer as it was; what it accepts prints back
 *     (cairn_value_to_json) to text that parses to an equal value and prints
 *     to the same bytes again (a fixed point);
 *   - cairn_json_import(), first with fn NULL (check only), then with a
 *     callback that applies each value to a fresh replica as the store does
 *     (the first value of a register, every set member). Both runs agree; a
 *     rejected input never reaches the callback and its error offset lies
 *     within the input; an accepted one always applies (the replica allows
 *     the largest values the parser does).
 *   - Differential: when the import succeeds, the replica's export imports
 *     again into a second replica, and exporting that gives the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/crdt.h"
#include "cairn/json.h"

#include "fuzz.h"

#define WRITE_NOW_MS UINT64_C(1700000000000)

typedef struct applier {
	cairn_replica *r;
	char doc[CAIRN_MAX_ID_BYTES + 1];
	char field[CAIRN_MAX_ID_BYTES + 1];
	bool have;
	size_t calls;
} applier;

static int apply(void *ud, const char *doc_id, const char *field,
                 cairn_kind kind, const cairn_value *v)
{
	applier *a = ud;
	a->calls++;
	FUZZ_ASSERT(strlen(doc_id) >= 1 && strlen(doc_id) <= 255);
	FUZZ_ASSERT(strlen(field) >= 1 && strlen(field) <= 255);
	FUZZ_ASSERT(kind == CAIRN_KIND_REGISTER || kind == CAIRN_KIND_SET);
	cairn_doc *d = NULL;
	int rc = cairn_replica_doc(a->r, doc_id, &d);
	if (rc != 0)
		return rc;
	if (kind == CAIRN_KIND_SET) {
		a->have = false;
		return cairn_doc_add(d, field, v, NULL);
	}
	/* Later values of one {"values": [...]}: the first one wins. */
	if (a->have && strcmp(a->doc, doc_id) == 0 &&
	    strcmp(a->field, field) == 0)
		return 0;
	memcpy(a->doc, doc_id, strlen(doc_id) + 1);
	memcpy(a->field, field, strlen(field) + 1);
	a->have = true;
	return cairn_doc_set(d, field, v, WRITE_NOW_MS, NULL);
}

static cairn_replica *new_replica(void)
{
	cairn_replica_config cfg;
	cairn_replica_config_init(&cfg);
	cfg.id = UINT64_C(0x0a11ce0000000001);
	cfg.limits.max_value_bytes = CAIRN_MAX_VALUE_LIMIT;
	cairn_replica *r = NULL;
	FUZZ_ASSERT(cairn_replica_new(&cfg, &r) == 0);
	return r;
}

static bool input_error(int rc)
{
	return rc == CAIRN_EDECODE || rc == CAIRN_EVERSION ||
	       rc == CAIRN_ELIMIT;
}

static void fuzz_value(const uint8_t *data, size_t size)
{
	cairn_buf scratch, a, b, scratch2;
	cairn_buf_init(&scratch, NULL);
	cairn_buf_init(&a, NULL);
	cairn_buf_init(&b, NULL);
	cairn_buf_init(&scratch2, NULL);
	FUZZ_ASSERT(cairn_buf_append(&scratch, "pre", 3) == 0);
	cairn_value v;
	int rc = cairn_value_from_json((const char *)data, size, &scratch, &v);
	if (rc != 0) {
		FUZZ_ASSERT(rc == CAIRN_EDECODE || rc == CAIRN_ELIMIT ||
		            rc == CAIRN_ENOMEM);
		FUZZ_ASSERT(scratch.len == 3);
	} else {
		FUZZ_ASSERT(cairn_value_to_json(&v, &a) == 0);
		cairn_value w;
		FUZZ_ASSERT(cairn_value_from_json((const char *)a.data, a.len,
		                                  &scratch2, &w) == 0);
		FUZZ_ASSERT(w.type == v.type);
		FUZZ_ASSERT(cairn_value_compare(&v, &w) == 0);
		FUZZ_ASSERT(cairn_value_to_json(&w, &b) == 0);
		FUZZ_ASSERT(a.len == b.len &&
		            memcmp(a.data, b.data, a.len) == 0);
	}
	cairn_buf_free(&scratch);
	cairn_buf_free(&scratch2);
	cairn_buf_free(&a);
	cairn_buf_free(&b);
}

static void fuzz_import(const uint8_t *data, size_t size)
{
	size_t off1 = SIZE_MAX, off2 = SIZE_MAX;
	int check =
	        cairn_json_import((const char *)data, size, NULL, NULL, &off1);
	applier ap = {.r = new_replica()};
	int rc = cairn_json_import((const char *)data, size, apply, &ap, &off2);
	if (check != 0) {
		FUZZ_ASSERT(input_error(check) || check == CAIRN_ENOMEM);
		FUZZ_ASSERT(rc == check && ap.calls == 0);
		if (input_error(check))
			FUZZ_ASSERT(off1 <= size && off2 == off1);
		cairn_replica_free(ap.r);
		return;
	}
	FUZZ_ASSERT(rc == 0);
	FUZZ_ASSERT(off1 == SIZE_MAX && off2 == SIZE_MAX);

	/* Differential: export, import that, export again. */
	cairn_buf e1, e2;
	cairn_buf_init(&e1, NULL);
	cairn_buf_init(&e2, NULL);
	FUZZ_ASSERT(cairn_replica_export_json(ap.r, &e1) == 0);
	applier ap2 = {.r = new_replica()};
	FUZZ_ASSERT(cairn_json_import((const char *)e1.data, e1.len, apply,
	                              &ap2, NULL) == 0);
	FUZZ_ASSERT(cairn_replica_export_json(ap2.r, &e2) == 0);
	FUZZ_ASSERT(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	cairn_buf_free(&e1);
	cairn_buf_free(&e2);
	cairn_replica_free(ap.r);
	cairn_replica_free(ap2.r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_value(data, size);
	fuzz_import(data, size);
	return 0;
}
