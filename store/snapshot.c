/*
 * snapshot.c -- snapshots and compaction: the state, history and peer
 * marks written whole, and the log files they make unnecessary dropped,
 * but for those kept for cursors (cairn__log_retain, cursor.c).
 * docs/STORAGE.md gives the layout and the order of the steps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crdt_int.h"
#include "store_int.h"

static const uint8_t snap_magic[8] = {'c', 'a', 'i', 'r', 'n', 's', 'n', '1'};

#define SNAP_VERSION 1u
#define SNAP_HEADER 56u /* magic, version, reserved, seq, hlc, 3 lengths */

/* ---- snapshots ---------------------------------------------------------- */

static int peers_encode(const cairn_store *s, cairn_buf *out)
{
	uint8_t x[8];
	cairn__put_u32(x, s->npeers);
	int rc = cairn_buf_append(out, x, 4);
	for (uint32_t i = 0; i < s->npeers && !rc; i++) {
		rc = cairn_buf_append(out, s->peers[i].id, CAIRN_PEER_ID_BYTES);
		cairn__put_u64(x, s->peers[i].mark);
		if (!rc)
			rc = cairn_buf_append(out, x, 8);
	}
	return rc;
}

int cairn__peer_set(cairn_store *s, const uint8_t *id, uint64_t mark)
{
	for (uint32_t i = 0; i < s->npeers; i++)
		if (memcmp(s->peers[i].id, id, CAIRN_PEER_ID_BYTES) == 0) {
			s->peers[i].mark = mark;
			return 0;
		}
	int rc = cairn__grow(&s->dir.alloc, (void **)&s->peers, &s->cappeers,
	                     s->npeers + 1, sizeof *s->peers);
	if (rc)
		return rc;
	memcpy(s->peers[s->npeers].id, id, CAIRN_PEER_ID_BYTES);
	s->peers[s->npeers++].mark = mark;
	return 0;
}

static int peers_decode(cairn_store *s, const uint8_t *p, size_t len)
{
	if (len < 4)
		return CAIRN_ECORRUPT;
	uint32_t n = cairn__get_u32(p);
	if ((uint64_t)n * (CAIRN_PEER_ID_BYTES + 8) != len - 4)
		return CAIRN_ECORRUPT;
	p += 4;
	for (uint32_t i = 0; i < n; i++, p += CAIRN_PEER_ID_BYTES + 8) {
		int rc = cairn__peer_set(
		        s, p, cairn__get_u64(p + CAIRN_PEER_ID_BYTES));
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * The snapshot file: magic "cairnsn1" | u32 version | u32 zero | u64 last
 * seq | u64 clock | u64 state length | u64 history length | u64 peers
 * length | state (the canonical encoding) | history | peers | u32 CRC-32C
 * of everything before it.
 */
static int snapshot_write(cairn_store *s)
{
	cairn_buf b;
	cairn_buf_init(&b, &s->dir.alloc);
	int rc = cairn_buf_reserve(&b, SNAP_HEADER);
	if (rc)
		return rc;
	b.len = SNAP_HEADER;
	rc = cairn_replica_encode(s->r, &b);
	size_t state_len = b.len - SNAP_HEADER;
	if (!rc)
		rc = cairn__history_encode(s->hist, &b);
	size_t hist_len = b.len - SNAP_HEADER - state_len;
	if (!rc)
		rc = peers_encode(s, &b);
	size_t peers_len = b.len - SNAP_HEADER - state_len - hist_len;
	if (!rc)
		rc = cairn_buf_reserve(&b, 4);
	if (rc) {
		cairn_buf_free(&b);
		return rc;
	}
	memcpy(b.data, snap_magic, 8);
	cairn__put_u32(b.data + 8, SNAP_VERSION);
	cairn__put_u32(b.data + 12, 0);
	cairn__put_u64(b.data + 16, s->last_seq);
	cairn__put_u64(b.data + 24, cairn_replica_hlc_last(s->r));
	cairn__put_u64(b.data + 32, state_len);
	cairn__put_u64(b.data + 40, hist_len);
	cairn__put_u64(b.data + 48, peers_len);
	cairn__put_u32(b.data + b.len, cairn__crc32c(0, b.data, b.len));
	b.len += 4;

	cairn__dir *d = &s->dir;
	char tmp[512], dst[512];
	if (cairn__join_path(d, "snapshot.tmp", tmp, sizeof tmp) ||
	    cairn__join_path(d, "snapshot", dst, sizeof dst)) {
		cairn_buf_free(&b);
		return CAIRN_ETOOBIG;
	}
	int f, e;
	e = d->vfs->open(d->vfs->ud, tmp,
	                 CAIRN_VFS_WRITE | CAIRN_VFS_CREATE | CAIRN_VFS_TRUNC,
	                 0644, &f);
	if (e) {
		cairn_buf_free(&b);
		return cairn__os_err(d, e, "create", "snapshot.tmp");
	}
	rc = cairn__write_all(d, f, 0, b.data, b.len, "snapshot.tmp");
	if (!rc && (e = d->vfs->sync(d->vfs->ud, f, false)) != 0)
		rc = cairn__os_err(d, e, "fsync", "snapshot.tmp");
	e = d->vfs->close(d->vfs->ud, f);
	if (!rc && e)
		rc = cairn__os_err(d, e, "close", "snapshot.tmp");
	if (!rc && (e = d->vfs->rename(d->vfs->ud, tmp, dst)) != 0)
		rc = cairn__os_err(d, e, "rename", "snapshot.tmp");
	if (rc) {
		(void)d->vfs->unlink(d->vfs->ud, tmp);
		cairn_buf_free(&b);
		return rc;
	}
	/* From here the snapshot may be the one a crash leaves: until the
	 * directory sync returns we cannot know, so a failure poisons. */
	if ((e = d->vfs->sync_dir(d->vfs->ud, d->path)) != 0) {
		cairn_buf_free(&b);
		return cairn__poison(
		        s, cairn__os_err(d, e, "fsync directory", ""));
	}
	s->snap_seq = s->last_seq;
	s->snap_bytes = b.len;
	cairn_buf_free(&b);
	return 0;
}

/* Read and check the snapshot; *found false if there is none. */
int cairn__snapshot_read(cairn__dir *d, cairn_buf *b, bool *found)
{
	*found = false;
	char path[512];
	if (cairn__join_path(d, "snapshot", path, sizeof path))
		return CAIRN_ETOOBIG;
	int f;
	int e = d->vfs->open(d->vfs->ud, path, CAIRN_VFS_READ, 0, &f);
	if (e == -ENOENT)
		return 0;
	if (e)
		return cairn__os_err(d, e, "open", "snapshot");
	uint64_t size = 0;
	int rc = 0;
	if ((e = d->vfs->size(d->vfs->ud, f, &size)) != 0)
		rc = cairn__os_err(d, e, "stat", "snapshot");
	else if (size < SNAP_HEADER + 4 || size > SIZE_MAX / 2)
		rc = CAIRN_ECORRUPT;
	if (!rc)
		rc = cairn_buf_reserve(b, (size_t)size);
	if (!rc)
		rc = cairn__read_all(d, f, 0, b->data, (size_t)size,
		                     "snapshot");
	(void)d->vfs->close(d->vfs->ud, f);
	if (!rc) {
		b->len = (size_t)size;
		const uint8_t *p = b->data;
		uint64_t sl = cairn__get_u64(p + 32),
		         hl = cairn__get_u64(p + 40),
		         pl = cairn__get_u64(p + 48);
		uint64_t body = size - SNAP_HEADER - 4;
		if (memcmp(p, snap_magic, 8) != 0 || sl > body ||
		    hl > body - sl || pl != body - sl - hl ||
		    cairn__crc32c(0, p, (size_t)size - 4) !=
		            cairn__get_u32(p + size - 4))
			rc = CAIRN_ECORRUPT;
		else if (cairn__get_u32(p + 8) != SNAP_VERSION)
			rc = CAIRN_EVERSION;
	}
	if (rc == CAIRN_ECORRUPT) {
		cairn__report(
		        d, "snapshot",
		        "%s/snapshot: checksum or framing is wrong; the "
		        "store cannot open (repair cannot fix a snapshot)",
		        d->path);
		if (d->report)
			d->report->offset = 0;
	}
	*found = rc == 0;
	return rc;
}

/* Fold the snapshot's contents into the fresh replica. */
int cairn__snapshot_load(cairn_store *s, const cairn_buf *b)
{
	const uint8_t *p = b->data;
	uint64_t sl = cairn__get_u64(p + 32), hl = cairn__get_u64(p + 40),
	         pl = cairn__get_u64(p + 48);
	s->snap_seq = cairn__get_u64(p + 16);
	s->snap_bytes = b->len;
	cairn_delta *state;
	int rc = cairn_delta_new(&s->dir.alloc, &state);
	if (rc)
		return rc;
	cairn_limits lim = cairn__own_limits(s);
	rc = cairn_delta_decode(state, p + SNAP_HEADER, (size_t)sl, &lim);
	if (rc == CAIRN_EDECODE)
		rc = CAIRN_ECORRUPT;
	if (!rc)
		rc = cairn_replica_join(s->r, state, CAIRN_HLC_MAX_MS);
	cairn_delta_free(state);
	if (!rc)
		rc = cairn__history_decode(s->hist, p + SNAP_HEADER + sl,
		                           (size_t)hl);
	if (!rc)
		rc = peers_decode(s, p + SNAP_HEADER + sl + hl, (size_t)pl);
	if (rc == CAIRN_ECORRUPT)
		cairn__report(&s->dir, "snapshot",
		              "%s/snapshot: its contents do not decode",
		              s->dir.path);
	return rc;
}

int cairn__snapshot_check(cairn__dir *d, const cairn_buf *b)
{
	const uint8_t *p = b->data;
	uint64_t sl = cairn__get_u64(p + 32), hl = cairn__get_u64(p + 40),
	         pl = cairn__get_u64(p + 48);
	cairn_limits lim;
	cairn_limits_init(&lim);
	lim.max_value_bytes = CAIRN_MAX_VALUE_LIMIT;
	lim.max_elements = UINT64_MAX;
	lim.max_input_bytes = UINT64_MAX;
	cairn_delta *state = NULL;
	cairn__history *h = NULL;
	int rc = cairn_delta_new(&d->alloc, &state);
	if (!rc)
		rc = cairn_delta_decode(state, p + SNAP_HEADER, (size_t)sl,
		                        &lim);
	if (rc == CAIRN_EDECODE || rc == CAIRN_EVERSION || rc == CAIRN_ELIMIT ||
	    rc == CAIRN_ETOOBIG)
		rc = CAIRN_ECORRUPT;
	if (!rc)
		rc = cairn__history_new(&d->alloc, 255, &h);
	if (!rc)
		rc = cairn__history_decode(h, p + SNAP_HEADER + sl, (size_t)hl);
	if (!rc &&
	    (pl < 4 || (uint64_t)cairn__get_u32(p + SNAP_HEADER + sl + hl) *
	                               (CAIRN_PEER_ID_BYTES + 8) !=
	                       pl - 4))
		rc = CAIRN_ECORRUPT;
	cairn_delta_free(state);
	cairn__history_free(h);
	if (rc == CAIRN_ECORRUPT)
		cairn__report(d, "snapshot",
		              "%s/snapshot: its contents do not decode; a "
		              "snapshot cannot be repaired",
		              d->path);
	return rc;
}

/* ---- compaction --------------------------------------------------------- */

static int list_logs_cb(const char *name, void *ud)
{
	cairn__log_list *l = ud;
	uint64_t first;
	if (!cairn__log_parse_name(name, &first))
		return 0;
	l->rc = cairn__grow(l->a, (void **)&l->first, &l->cap, l->n + 1,
	                    sizeof *l->first);
	if (l->rc)
		return 1;
	l->first[l->n++] = first;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The log files of the directory, sorted by first sequence number. */
int cairn__list_logs(cairn__dir *d, cairn__log_list *l)
{
	memset(l, 0, sizeof *l);
	l->a = &d->alloc;
	int e = d->vfs->list(d->vfs->ud, d->path, list_logs_cb, l);
	if (e)
		return cairn__os_err(d, e, "list", "");
	if (l->rc)
		return l->rc;
	if (l->n > 1)
		qsort(l->first, l->n, sizeof *l->first, cmp_u64);
	return 0;
}

void cairn__log_list_free(cairn__dir *d, cairn__log_list *l)
{
	cairn__free(&d->alloc, l->first, (size_t)l->cap * sizeof *l->first);
}

/* Remove a log file that was being created and failed, durably. */
static int log_abandon(cairn__dir *d, uint64_t first_seq)
{
	char name[21], path[512];
	cairn__log_name(first_seq, name);
	if (cairn__join_path(d, name, path, sizeof path))
		return CAIRN_ETOOBIG;
	int e = d->vfs->unlink(d->vfs->ud, path);
	if (e && e != -ENOENT)
		return cairn__os_err(d, e, "unlink", name);
	if ((e = d->vfs->sync_dir(d->vfs->ud, d->path)) != 0)
		return cairn__os_err(d, e, "fsync directory", "");
	return 0;
}

int cairn_store_compact(cairn_store *s)
{
	if (!s || s->job_running)
		return CAIRN_EINVAL;
	if (s->poisoned)
		return CAIRN_EPOISONED;
	/* Room for the new log's segment first: nothing may fail once the
	 * file is made. */
	int rc = cairn__segs_reserve(s, 1);
	if (!rc)
		rc = cairn__flush_pending(s);
	if (!rc && s->cfg.sync != CAIRN_SYNC_NONE)
		rc = cairn__log_sync(s);
	if (!rc)
		rc = snapshot_write(s);
	if (rc)
		return rc;
	s->durable_seq = s->last_seq;
	/* A new log for the records after the snapshot, unless the current
	 * one holds none yet. If it cannot be made, appending to the old one
	 * is just as correct -- provided the half-made file goes: left
	 * behind, the next open would take it for the log that follows the
	 * snapshot and skip the old one, records appended to it from now on
	 * included. If it cannot be removed for sure, stop writing. */
	if (s->log_first != s->last_seq + 1) {
		int f;
		if (cairn__log_create(&s->dir, s->last_seq + 1, &f) == 0) {
			(void)s->dir.vfs->close(s->dir.vfs->ud, s->log_f);
			s->segs[s->nsegs - 1].end = s->log_size;
			cairn__seg *g = &s->segs[s->nsegs++];
			memset(g, 0, sizeof *g);
			g->first = s->last_seq + 1;
			g->end = CAIRN__LOG_HEADER;
			s->log_f = f;
			s->log_first = s->last_seq + 1;
			s->log_size = CAIRN__LOG_HEADER;
		} else if ((rc = log_abandon(&s->dir, s->last_seq + 1)) != 0) {
			return cairn__poison(s, rc);
		}
	}
	/* The old files the snapshot now holds: the newest are kept for
	 * cursors, within retain_log_bytes; the others go. */
	cairn__log_retain(s);
	return 0;
}

int cairn__maybe_compact(cairn_store *s)
{
	uint64_t limit = s->cfg.compact_log_bytes;
	if (!limit || s->job_running || s->log_size <= limit ||
	    s->log_size <= s->snap_bytes)
		return 0;
	/* The write that got here succeeded; a compaction that fails leaves
	 * the old snapshot and log in force and is tried again later. */
	int rc = cairn_store_compact(s);
	return rc == CAIRN_EPOISONED ? rc : 0;
}

uint64_t cairn_store_log_bytes(const cairn_store *s)
{
	return s->log_size;
}

uint64_t cairn_store_snapshot_bytes(const cairn_store *s)
{
	return s->snap_bytes;
}
