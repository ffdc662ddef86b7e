/*
 * fuzz_store_recover.c -- libFuzzer target for the store's recovery: a
 * store directory whose snapshot and log hold arbitrary bytes is opened on
 * the in-memory VFS of the tests.
 *
 * Input layout: u8 flags | u32 snapshot length | u64 first sequence number
 * of the log (little-endian) | snapshot bytes | log bytes. Bit 0 of flags:
 * there is a snapshot file; bit 1: the log bytes are records only and get
 * a valid 20-byte header in front (so the fuzzer spends its time in
 * records, not in headers); bit 2: an empty log file follows; bit 3: the
 * checksums are made right (the snapshot's, and each record's as far as
 * the lengths frame them), so that mutations reach the decoders behind
 * the checksums instead of stopping at them.
 *
 * Checks:
 *   - opening returns 0 or a documented error, never crashes or leaks;
 *   - when it opens, the replica encodes and decodes back to the same
 *     digest, a write and a reopen work, and the state after the reopen
 *     equals the state before it (recovery is a fixed point);
 *   - when it refuses with CAIRN_ECORRUPT, cairn_store_repair() returns 0
 *     or CAIRN_ECORRUPT, and after a 0 the store opens.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/store.h"

#include "fault_vfs.h"
#include "fuzz.h"
#include "store_int.h"

#define DIR_ "/f"
#define NOW UINT64_C(1700000000000)

static bool documented_open_error(int rc)
{
	return rc == CAIRN_ECORRUPT || rc == CAIRN_EVERSION ||
	       rc == CAIRN_ENOMEM || rc == CAIRN_EINVAL ||
	       rc == CAIRN_ECLOCK_SKEW || rc == CAIRN_EPOLICY ||
	       rc == CAIRN_ETOOBIG || rc == CAIRN_ELIMIT;
}

static void put_file(fault_vfs *fv, const char *path, const uint8_t *p,
                     size_t n)
{
	FUZZ_ASSERT(fault_vfs_set_file_bytes(fv, path, p, n) == 0);
}

static void digest(cairn_store *s, uint8_t out[CAIRN_DIGEST_BYTES])
{
	FUZZ_ASSERT(cairn_replica_digest(cairn_store_replica(s), out) == 0);
}

static void fix_snapshot_crc(uint8_t *p, size_t n)
{
	if (n >= 60)
		cairn__put_u32(p + n - 4, cairn__crc32c(0, p, n - 4));
}

static void fix_record_crcs(uint8_t *p, size_t n)
{
	size_t off = CAIRN__LOG_HEADER;
	while (n - off >= CAIRN__REC_HEAD + CAIRN__REC_TAIL && off <= n) {
		size_t len = cairn__get_u32(p + off);
		if (len > n - off - CAIRN__REC_HEAD - CAIRN__REC_TAIL)
			break;
		cairn__put_u32(p + off + CAIRN__REC_HEAD + len,
		               cairn__crc32c(0, p + off, CAIRN__REC_HEAD + len));
		off += CAIRN__REC_HEAD + len + CAIRN__REC_TAIL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 13 || size > (1u << 20))
		return 0;
	uint8_t flags = data[0];
	uint32_t snap_len = cairn__get_u32(data + 1);
	uint64_t first = cairn__get_u64(data + 5) & 0xFFFFFFFFu;
	data += 13;
	size -= 13;
	if (snap_len > size)
		snap_len = (uint32_t)size;

	fault_vfs *fv = fault_vfs_new();
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.replica.id = 0xF0;
	cfg.vfs = fault_vfs_vfs(fv);
	cfg.sync = CAIRN_SYNC_NONE;
	cfg.compact_log_bytes = 0;
	cfg.max_record_bytes = 1u << 20;

	/* A real store first, for its meta file. */
	cairn_store *s = NULL;
	FUZZ_ASSERT(cairn_store_open(DIR_, &cfg, &s, NULL) == 0);
	FUZZ_ASSERT(cairn_store_close(s) == 0);
	s = NULL;

	if (flags & 1) {
		uint8_t *snap = malloc(snap_len + 1);
		FUZZ_ASSERT(snap != NULL);
		memcpy(snap, data, snap_len);
		if (flags & 8)
			fix_snapshot_crc(snap, snap_len);
		put_file(fv, DIR_ "/snapshot", snap, snap_len);
		free(snap);
	}
	const uint8_t *log = data + snap_len;
	size_t log_len = size - snap_len;
	uint8_t *buf = malloc(log_len + CAIRN__LOG_HEADER + 1);
	FUZZ_ASSERT(buf != NULL);
	size_t n = 0;
	if (flags & 2) {
		memcpy(buf, "cairnlg1", 8);
		cairn__put_u64(buf + 8, first);
		cairn__put_u32(buf + 16, cairn__crc32c(0, buf, 16));
		n = CAIRN__LOG_HEADER;
	}
	memcpy(buf + n, log, log_len);
	if ((flags & 8) && n + log_len >= CAIRN__LOG_HEADER)
		fix_record_crcs(buf, n + log_len);
	char name[21], path[64];
	/* The store made log-0000000000000001 when it was created. */
	FUZZ_ASSERT(cfg.vfs->unlink(cfg.vfs->ud,
	                            DIR_ "/log-0000000000000001") == 0);
	cairn__log_name(first, name);
	snprintf(path, sizeof path, DIR_ "/%s", name);
	put_file(fv, path, buf, n + log_len);
	free(buf);
	if (flags & 4) {
		cairn__log_name(first + 1000, name);
		snprintf(path, sizeof path, DIR_ "/%s", name);
		put_file(fv, path, NULL, 0);
	}

	cairn_store_report rep;
	int rc = cairn_store_open(DIR_, &cfg, &s, &rep);
	if (rc == CAIRN_ECORRUPT) {
		int r2 = cairn_store_repair(DIR_, cfg.vfs, &rep);
		FUZZ_ASSERT(r2 == 0 || r2 == CAIRN_ECORRUPT);
		if (r2 == 0) {
			rc = cairn_store_open(DIR_, &cfg, &s, &rep);
			if (rc == CAIRN_ECORRUPT)
				fprintf(stderr, "open after repair: %s\n",
				        rep.message);
			FUZZ_ASSERT(rc != CAIRN_ECORRUPT);
		}
	}
	if (rc) {
		if (!documented_open_error(rc))
			fprintf(stderr, "open: %s: %s\n", cairn_err_name(rc),
			        rep.message);
		FUZZ_ASSERT(documented_open_error(rc));
		FUZZ_ASSERT(s == NULL || rc == 0);
		fault_vfs_free(fv);
		return 0;
	}

	/* The recovered state survives its own encoding ... */
	uint8_t d1[CAIRN_DIGEST_BYTES], d2[CAIRN_DIGEST_BYTES];
	digest(s, d1);
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	FUZZ_ASSERT(cairn_replica_encode(cairn_store_replica(s), &b) == 0);
	cairn_delta *copy;
	FUZZ_ASSERT(cairn_delta_new(NULL, &copy) == 0);
	FUZZ_ASSERT(cairn_delta_decode(copy, b.data, b.len, NULL) == 0);
	FUZZ_ASSERT(cairn_delta_digest(copy, d2) == 0);
	FUZZ_ASSERT(memcmp(d1, d2, sizeof d1) == 0);
	cairn_delta_free(copy);
	cairn_buf_free(&b);

	/* ... takes a write, and reopens to the same state. */
	cairn_value v = cairn_value_int(1);
	rc = cairn_store_set(s, "fuzz/after", "x", &v, NOW, NULL, NULL);
	FUZZ_ASSERT(rc == 0 || rc == CAIRN_EAGAIN || rc == CAIRN_ERANGE ||
	            rc == CAIRN_EKIND);
	digest(s, d1);
	FUZZ_ASSERT(cairn_store_close(s) == 0);
	s = NULL;
	FUZZ_ASSERT(cairn_store_open(DIR_, &cfg, &s, &rep) == 0);
	digest(s, d2);
	FUZZ_ASSERT(memcmp(d1, d2, sizeof d1) == 0);
	FUZZ_ASSERT(cairn_store_close(s) == 0);
	FUZZ_ASSERT(fault_vfs_open_handles(fv) == 0);
	fault_vfs_free(fv);
	return 0;
}
