/*
 * store.c -- a durable replica: open and recovery, writes, group commit,
 * compaction, small files and peer progress.
 *
 * The directory holds:
 *   LOCK                 the pid of the process that holds the store, under
 *                        an exclusive lock;
 *   meta                 format version and replica id (a small file);
 *   snapshot             the compacted state, history and peer progress,
 *                        with the sequence number of the last record it
 *                        folds in;
 *   log-<first seq>      the log files, records numbered 1, 2, 3, ... across
 *                        files;
 *   secret-<name>        small files of mode 0600.
 * docs/STORAGE.md describes the formats byte by byte.
 *
 * Every write is applied to the replica and then appended to the log; a
 * write that cannot be appended (a full disk) stays applied and waits in
 * `pending`, to be appended with the next write or sync that succeeds. So
 * the replica never holds something the user was told failed and the log
 * will not get, and a full disk loses nothing while the process lives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt_int.h"
#include "os_int.h"
#include "store_int.h"

#include "cairn/json.h"

static const char meta_magic[8] = {'c', 'a', 'i', 'r', 'n', 'm', 't', '1'};
static const char secret_magic[8] = {'c', 'a', 'i', 'r', 'n', 's', 'c', '1'};
static const uint8_t snap_magic[8] = {'c', 'a', 'i', 'r', 'n', 's', 'n', '1'};

#define META_VERSION 1u
#define SNAP_VERSION 1u
#define SNAP_HEADER 56u /* magic, version, reserved, seq, hlc, 3 lengths */

typedef struct peer_mark {
	uint8_t id[CAIRN_PEER_ID_BYTES];
	uint64_t mark;
} peer_mark;

/* A value whose field may stop holding it, kept until after the change. */
typedef struct candidate {
	size_t doc, field; /* offsets of NUL-terminated strings in the arena */
	cairn_value v;     /* STR/BIN bytes: offset in the arena, fixed up */
	size_t bytes;
	cairn_stamp st;
} candidate;

struct cairn_sync_job {
	const cairn_vfs *vfs;
	int file;
	uint64_t upto;
	int result;
};

struct cairn_store {
	cairn__dir dir;
	cairn_store_report *open_report;
	cairn_store_config cfg;
	cairn_replica *r;
	cairn__history *hist;
	int lock_f;
	int log_f;            /* the log being appended to */
	uint64_t log_first;   /* its first sequence number */
	uint64_t log_size;    /* its length: the next record goes there */
	uint64_t snap_seq;    /* the last record the snapshot folds in */
	uint64_t snap_bytes;
	uint64_t last_seq;    /* the last record appended */
	uint64_t durable_seq; /* every record up to here is durable */
	bool poisoned;
	bool job_running;
	cairn_delta *scratch; /* the delta of the write under way */
	cairn_delta *pending; /* applied but not yet appended */
	bool has_pending;
	cairn_buf rec; /* a record being framed */
	peer_mark *peers;
	uint32_t npeers, cappeers;
	/* history candidates of the change under way */
	candidate *cands;
	uint32_t ncands, capcands;
	cairn_buf arena;
	cairn_value *live;
	cairn_stamp *live_st;
	size_t caplive;
};

void cairn_store_config_init(cairn_store_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cairn_replica_config_init(&cfg->replica);
	cfg->sync = CAIRN_SYNC_EVERY;
	cfg->history_depth = CAIRN_STORE_DEFAULT_HISTORY;
	cfg->max_record_bytes = CAIRN_STORE_DEFAULT_MAX_RECORD;
	cfg->compact_log_bytes = CAIRN_STORE_DEFAULT_COMPACT_BYTES;
	cfg->create = true;
}

/* The limits for decoding the store's own files: they were checksummed,
 * and they may be as large as the replica is. */
static cairn_limits own_limits(const cairn_store *s)
{
	cairn_limits l = s->cfg.replica.limits;
	l.max_elements = UINT64_MAX;
	l.max_input_bytes = UINT64_MAX;
	return l;
}

static uint64_t clock_ms(uint64_t now_ms)
{
	return now_ms ? now_ms : cairn__os_wall_ms();
}

/* ---- history capture ---------------------------------------------------- */

/*
 * Around every change: before it, every value a touched field holds (and,
 * for a join, every value the delta brings) becomes a candidate; after it,
 * each candidate the field no longer holds goes into the history.
 */

static void capture_reset(cairn_store *s)
{
	s->ncands = 0;
	cairn_buf_reset(&s->arena);
}

static int arena_str(cairn_store *s, const char *str, size_t *off)
{
	*off = s->arena.len;
	return cairn_buf_append(&s->arena, str, strlen(str) + 1);
}

static int add_candidate(cairn_store *s, size_t doc, size_t field,
                         const cairn_value *v, const cairn_stamp *st)
{
	int rc = cairn__grow(&s->dir.alloc, (void **)&s->cands, &s->capcands,
	                     s->ncands + 1, sizeof *s->cands);
	if (rc)
		return rc;
	candidate *c = &s->cands[s->ncands];
	c->doc = doc;
	c->field = field;
	c->v = *v;
	c->st = *st;
	c->bytes = 0;
	if (v->type == CAIRN_STR || v->type == CAIRN_BIN) {
		c->bytes = s->arena.len;
		rc = cairn_buf_append(&s->arena, v->as.bytes.ptr,
		                      v->as.bytes.len);
		if (rc)
			return rc;
	}
	s->ncands++;
	return 0;
}

/* The live values of a field, in s->live / s->live_st; *n of them. */
static int live_values(cairn_store *s, const char *doc_id, const char *field,
                       size_t *n)
{
	*n = 0;
	cairn_doc *d;
	if (cairn_replica_find(s->r, doc_id, &d))
		return 0;
	for (;;) {
		int rc = cairn_doc_get_all(d, field, s->live, s->live_st,
		                           s->caplive, n);
		if (rc == CAIRN_ENOTFOUND || rc == CAIRN_EKIND) {
			*n = 0;
			return 0;
		}
		if (rc != CAIRN_ESPACE)
			return rc;
		size_t cap = *n;
		cairn_value *lv = cairn__realloc(&s->dir.alloc, s->live,
		                                 s->caplive * sizeof *lv,
		                                 cap * sizeof *lv);
		if (!lv)
			return CAIRN_ENOMEM;
		s->live = lv;
		cairn_stamp *ls = cairn__realloc(&s->dir.alloc, s->live_st,
		                                 s->caplive * sizeof *ls,
		                                 cap * sizeof *ls);
		if (!ls)
			return CAIRN_ENOMEM;
		s->live_st = ls;
		s->caplive = cap;
	}
}

static int capture_field(cairn_store *s, const char *doc_id,
                         const char *field)
{
	if (!cairn__history_depth(s->hist))
		return 0;
	size_t n, doff, foff;
	int rc = live_values(s, doc_id, field, &n);
	if (!rc && n)
		rc = arena_str(s, doc_id, &doff);
	if (!rc && n)
		rc = arena_str(s, field, &foff);
	for (size_t i = 0; i < n && !rc; i++)
		rc = add_candidate(s, doff, foff, &s->live[i], &s->live_st[i]);
	return rc;
}

static bool stamp_eq(const cairn_stamp *a, const cairn_stamp *b)
{
	return a->hlc == b->hlc && a->replica == b->replica;
}

/* After the change: candidates no longer live go into the history. A
 * failure here (memory) costs history, never data. */
static void capture_commit(cairn_store *s)
{
	const char *last_doc = NULL, *last_field = NULL;
	size_t n = 0;
	for (uint32_t i = 0; i < s->ncands; i++) {
		candidate *c = &s->cands[i];
		const char *doc = (const char *)s->arena.data + c->doc;
		const char *field = (const char *)s->arena.data + c->field;
		if (doc != last_doc || field != last_field) {
			if (live_values(s, doc, field, &n))
				break;
			last_doc = doc;
			last_field = field;
		}
		bool live = false;
		for (size_t k = 0; k < n && !live; k++)
			live = stamp_eq(&s->live_st[k], &c->st);
		if (live)
			continue;
		cairn_value v = c->v;
		if (v.type == CAIRN_STR || v.type == CAIRN_BIN)
			v.as.bytes.ptr = s->arena.data + c->bytes;
		if (cairn__history_push(s->hist, doc, field, &v, &c->st))
			break;
	}
	capture_reset(s);
}

/* A join: the touched fields' values, and the values the delta brings. */
typedef struct join_capture {
	cairn_store *s;
	size_t doc, field; /* the field being visited, in the arena */
} join_capture;

static int cap_field(void *ud, const char *doc_id, const char *field,
                     cairn_policy policy)
{
	(void)policy;
	join_capture *jc = ud;
	int rc = capture_field(jc->s, doc_id, field);
	if (!rc)
		rc = arena_str(jc->s, doc_id, &jc->doc);
	if (!rc)
		rc = arena_str(jc->s, field, &jc->field);
	return rc;
}

static int cap_value(void *ud, const char *doc_id, const char *field,
                     const cairn_value *v, const cairn_stamp *st)
{
	(void)doc_id;
	(void)field;
	join_capture *jc = ud;
	return add_candidate(jc->s, jc->doc, jc->field, v, st);
}

static int capture_delta(cairn_store *s, const cairn_delta *d)
{
	if (!cairn__history_depth(s->hist))
		return 0;
	join_capture jc = {s, 0, 0};
	cairn_delta_visitor v = {cap_field, cap_value, NULL};
	return cairn_delta_visit(d, &v, &jc);
}

/* ---- the log ------------------------------------------------------------ */

static int poison(cairn_store *s, int rc)
{
	s->poisoned = true;
	return rc;
}

static int log_sync(cairn_store *s)
{
	if (s->durable_seq == s->last_seq)
		return 0;
	int e = s->dir.vfs->sync(s->dir.vfs->ud, s->log_f, true);
	if (e) {
		char name[21];
		cairn__log_name(s->log_first, name);
		return poison(s, cairn__os_err(&s->dir, e, "fdatasync", name));
	}
	s->durable_seq = s->last_seq;
	return 0;
}

/* Append one record whose payload sits in s->rec after its head. */
static int append_record(cairn_store *s, uint8_t type)
{
	size_t len = s->rec.len - CAIRN__REC_HEAD;
	if (len > s->cfg.max_record_bytes)
		return CAIRN_ETOOBIG;
	int rc = cairn_buf_reserve(&s->rec, CAIRN__REC_TAIL);
	if (rc)
		return rc;
	cairn__rec_frame(s->rec.data, type, s->last_seq + 1, (uint32_t)len);
	s->rec.len += CAIRN__REC_TAIL;
	char name[21];
	cairn__log_name(s->log_first, name);
	rc = cairn__write_all(&s->dir, s->log_f, s->log_size, s->rec.data,
	                      s->rec.len, name);
	if (rc) {
		/* Take back whatever part of the record reached the file, so
		 * the next record starts where this one should have. If even
		 * that fails, the file's end is unknown: stop writing. */
		int e = s->dir.vfs->truncate(s->dir.vfs->ud, s->log_f,
		                             s->log_size);
		if (e)
			poison(s, 0);
		return rc;
	}
	s->log_size += s->rec.len;
	s->last_seq++;
	if (s->cfg.sync == CAIRN_SYNC_NONE)
		s->durable_seq = s->last_seq;
	return 0;
}

static int rec_begin(cairn_store *s)
{
	cairn_buf_reset(&s->rec);
	int rc = cairn_buf_reserve(&s->rec, CAIRN__REC_HEAD);
	if (!rc)
		s->rec.len = CAIRN__REC_HEAD;
	return rc;
}

static int maybe_compact(cairn_store *s);

/*
 * Log a change already applied to the replica: together with whatever is
 * pending, as one record. On failure it becomes (part of) the pending
 * delta; the caller reports the error.
 */
static int log_delta(cairn_store *s, const cairn_delta *d, uint64_t *seq)
{
	if (s->poisoned)
		return CAIRN_EPOISONED;
	int rc = 0;
	const cairn_delta *src = d;
	if (s->has_pending) {
		rc = cairn_delta_join(s->pending, d);
		if (rc)
			return rc;
		src = s->pending;
	}
	rc = rec_begin(s);
	if (!rc)
		rc = cairn_delta_encode(src, &s->rec);
	if (!rc)
		rc = append_record(s, CAIRN__REC_DELTA);
	if (rc) {
		if (!s->has_pending && cairn_delta_join(s->pending, d) == 0)
			s->has_pending = true;
		return s->poisoned ? CAIRN_EPOISONED : rc;
	}
	if (s->has_pending) {
		cairn_delta_clear(s->pending);
		s->has_pending = false;
	}
	if (seq)
		*seq = s->last_seq;
	if (s->cfg.sync == CAIRN_SYNC_EVERY && (rc = log_sync(s)) != 0)
		return rc;
	return maybe_compact(s);
}

/* Append what is pending, if anything. */
static int flush_pending(cairn_store *s)
{
	if (!s->has_pending)
		return 0;
	int rc = rec_begin(s);
	if (!rc)
		rc = cairn_delta_encode(s->pending, &s->rec);
	if (!rc)
		rc = append_record(s, CAIRN__REC_DELTA);
	if (rc)
		return s->poisoned ? CAIRN_EPOISONED : rc;
	cairn_delta_clear(s->pending);
	s->has_pending = false;
	return 0;
}

/* ---- writes ------------------------------------------------------------- */

typedef enum write_kind { W_SET, W_DEL, W_ADD, W_RM } write_kind;

static int write_op(cairn_store *s, write_kind kind, const char *doc_id,
                    const char *field, const cairn_value *v, uint64_t now_ms,
                    cairn_delta *out, uint64_t *seq)
{
	if (!s || !doc_id || !field)
		return CAIRN_EINVAL;
	if (s->poisoned)
		return CAIRN_EPOISONED;
	cairn_doc *d;
	int rc = cairn_replica_doc(s->r, doc_id, &d);
	if (rc)
		return rc;
	capture_reset(s);
	if (kind == W_SET || kind == W_DEL)
		rc = capture_field(s, doc_id, field);
	if (rc)
		return rc;
	cairn_delta_clear(s->scratch);
	switch (kind) {
	case W_SET:
		rc = cairn_doc_set(d, field, v, clock_ms(now_ms), s->scratch);
		break;
	case W_DEL:
		rc = cairn_doc_del(d, field, s->scratch);
		break;
	case W_ADD:
		rc = cairn_doc_add(d, field, v, s->scratch);
		break;
	case W_RM:
		rc = cairn_doc_rm(d, field, v, s->scratch);
		break;
	}
	if (rc) {
		capture_reset(s);
		return rc;
	}
	capture_commit(s);
	rc = log_delta(s, s->scratch, seq);
	if (out) {
		int jrc = cairn_delta_join(out, s->scratch);
		if (!rc)
			rc = jrc;
	}
	return rc;
}

int cairn_store_set(cairn_store *s, const char *doc_id, const char *field,
                    const cairn_value *v, uint64_t now_ms, cairn_delta *delta,
                    uint64_t *seq)
{
	return write_op(s, W_SET, doc_id, field, v, now_ms, delta, seq);
}

int cairn_store_del(cairn_store *s, const char *doc_id, const char *field,
                    cairn_delta *delta, uint64_t *seq)
{
	return write_op(s, W_DEL, doc_id, field, NULL, 0, delta, seq);
}

int cairn_store_add(cairn_store *s, const char *doc_id, const char *field,
                    const cairn_value *elem, cairn_delta *delta,
                    uint64_t *seq)
{
	return write_op(s, W_ADD, doc_id, field, elem, 0, delta, seq);
}

int cairn_store_rm(cairn_store *s, const char *doc_id, const char *field,
                   const cairn_value *elem, cairn_delta *delta, uint64_t *seq)
{
	return write_op(s, W_RM, doc_id, field, elem, 0, delta, seq);
}

/* Join with history, without logging: recovery and cairn_store_join. */
static int join_tracked(cairn_store *s, const cairn_delta *d, uint64_t now)
{
	capture_reset(s);
	int rc = capture_delta(s, d);
	if (!rc)
		rc = cairn_replica_join(s->r, d, now);
	if (rc) {
		capture_reset(s);
		return rc;
	}
	capture_commit(s);
	return 0;
}

int cairn_store_join(cairn_store *s, const cairn_delta *d, uint64_t now_ms,
                     bool *changed, uint64_t *seq)
{
	if (changed)
		*changed = false;
	if (!s || !d)
		return CAIRN_EINVAL;
	if (s->poisoned)
		return CAIRN_EPOISONED;
	bool did = false;
	capture_reset(s);
	int rc = capture_delta(s, d);
	if (!rc)
		rc = cairn_replica_join_changed(s->r, d, clock_ms(now_ms), &did);
	if (rc) {
		capture_reset(s);
		return rc;
	}
	capture_commit(s);
	if (changed)
		*changed = did;
	if (!did) {
		if (seq)
			*seq = s->last_seq;
		return 0;
	}
	return log_delta(s, d, seq);
}

int cairn_store_declare(cairn_store *s, const char *prefix, const char *field,
                        cairn_policy policy)
{
	if (!s)
		return CAIRN_EINVAL;
	return cairn_replica_declare(s->r, prefix, field, policy);
}

/* ---- durability --------------------------------------------------------- */

uint64_t cairn_store_last_seq(const cairn_store *s)
{
	return s->last_seq;
}

uint64_t cairn_store_durable_seq(const cairn_store *s)
{
	return s->durable_seq;
}

cairn_sync_policy cairn_store_sync_policy(const cairn_store *s)
{
	return s->cfg.sync;
}

uint32_t cairn_store_group_window(const cairn_store *s)
{
	return s->cfg.group_window_ms;
}

int cairn_store_os_error(const cairn_store *s)
{
	return s->dir.os_error;
}

const cairn_replica *cairn_store_replica(const cairn_store *s)
{
	return s->r;
}

int cairn_store_sync(cairn_store *s)
{
	if (!s)
		return CAIRN_EINVAL;
	if (s->poisoned)
		return CAIRN_EPOISONED;
	if (s->job_running)
		return CAIRN_EINVAL;
	int rc = flush_pending(s);
	if (rc)
		return rc;
	if (s->cfg.sync == CAIRN_SYNC_NONE)
		return 0;
	return log_sync(s);
}

cairn_sync_job *cairn_store_sync_begin(cairn_store *s)
{
	if (!s || s->poisoned || s->job_running)
		return NULL;
	if (flush_pending(s) != 0 && s->poisoned)
		return NULL;
	if (s->durable_seq == s->last_seq)
		return NULL;
	cairn_sync_job *job = cairn__alloc(&s->dir.alloc, sizeof *job);
	if (!job)
		return NULL;
	job->vfs = s->dir.vfs;
	job->file = s->log_f;
	job->upto = s->last_seq;
	job->result = 0;
	s->job_running = true;
	return job;
}

void cairn_store_sync_run(cairn_sync_job *job)
{
	job->result = job->vfs->sync(job->vfs->ud, job->file, true);
}

int cairn_store_sync_end(cairn_store *s, cairn_sync_job *job)
{
	int e = job->result;
	uint64_t upto = job->upto;
	cairn__free(&s->dir.alloc, job, sizeof *job);
	s->job_running = false;
	if (e) {
		char name[21];
		cairn__log_name(s->log_first, name);
		return poison(s, cairn__os_err(&s->dir, e, "fdatasync", name));
	}
	if (upto > s->durable_seq)
		s->durable_seq = upto;
	return maybe_compact(s);
}

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

static int peer_set(cairn_store *s, const uint8_t *id, uint64_t mark)
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
		int rc = peer_set(s, p, cairn__get_u64(p + CAIRN_PEER_ID_BYTES));
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
		return poison(s, cairn__os_err(d, e, "fsync directory", ""));
	}
	s->snap_seq = s->last_seq;
	s->snap_bytes = b.len;
	cairn_buf_free(&b);
	return 0;
}

/* Read and check the snapshot; *found false if there is none. */
static int snapshot_read(cairn__dir *d, cairn_buf *b, bool *found)
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
		uint64_t sl = cairn__get_u64(p + 32), hl = cairn__get_u64(p + 40),
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
		cairn__report(d, "snapshot",
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
static int snapshot_load(cairn_store *s, const cairn_buf *b)
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
	cairn_limits lim = own_limits(s);
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

/* ---- compaction --------------------------------------------------------- */

typedef struct log_list {
	uint64_t *first;
	uint32_t n, cap;
	const cairn_allocator *a;
	int rc;
} log_list;

static int list_logs_cb(const char *name, void *ud)
{
	log_list *l = ud;
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
static int list_logs(cairn__dir *d, log_list *l)
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

static void log_list_free(cairn__dir *d, log_list *l)
{
	cairn__free(&d->alloc, l->first, (size_t)l->cap * sizeof *l->first);
}

/* Unlink log files the snapshot covers: those followed by a file that
 * starts at or before the record after the snapshot. Best effort: a file
 * left behind is skipped on the next open. */
static void drop_covered_logs(cairn__dir *d, uint64_t snap_seq,
                              uint64_t keep_first)
{
	log_list l;
	if (list_logs(d, &l))
		return;
	for (uint32_t i = 0; i + 1 < l.n; i++) {
		if (l.first[i + 1] > snap_seq + 1 || l.first[i] == keep_first)
			continue;
		char name[21], path[512];
		cairn__log_name(l.first[i], name);
		if (!cairn__join_path(d, name, path, sizeof path))
			(void)d->vfs->unlink(d->vfs->ud, path);
	}
	log_list_free(d, &l);
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
	int rc = flush_pending(s);
	if (!rc && s->cfg.sync != CAIRN_SYNC_NONE)
		rc = log_sync(s);
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
			s->log_f = f;
			s->log_first = s->last_seq + 1;
			s->log_size = CAIRN__LOG_HEADER;
		} else if ((rc = log_abandon(&s->dir, s->last_seq + 1)) != 0) {
			return poison(s, rc);
		}
	}
	drop_covered_logs(&s->dir, s->snap_seq, s->log_first);
	return 0;
}

static int maybe_compact(cairn_store *s)
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

/* ---- open and recovery -------------------------------------------------- */

typedef struct replay {
	cairn_store *s;
	cairn_delta *tmp;
} replay;

static int replay_record(void *ud, const cairn__rec *rec)
{
	replay *rp = ud;
	cairn_store *s = rp->s;
	if (rec->seq <= s->snap_seq)
		return 0;
	if (s->open_report)
		s->open_report->records++;
	if (rec->type == CAIRN__REC_PEER) {
		if (rec->len != CAIRN_PEER_ID_BYTES + 8)
			return CAIRN_ECORRUPT;
		return peer_set(s, rec->payload,
		                cairn__get_u64(rec->payload + CAIRN_PEER_ID_BYTES));
	}
	cairn_delta_clear(rp->tmp);
	cairn_limits lim = own_limits(s);
	int rc = cairn_delta_decode(rp->tmp, rec->payload, rec->len, &lim);
	if (rc == CAIRN_EDECODE || rc == CAIRN_EVERSION)
		rc = CAIRN_ECORRUPT;
	if (!rc)
		rc = join_tracked(s, rp->tmp, CAIRN_HLC_MAX_MS);
	if (rc == CAIRN_ECORRUPT)
		cairn__report(&s->dir, NULL,
		              "%s: log record %llu passes its checksum but does "
		              "not decode",
		              s->dir.path, (unsigned long long)rec->seq);
	return rc;
}

static int corrupt_at(cairn__dir *d, uint64_t first, uint64_t offset,
                      const char *why)
{
	char name[21];
	cairn__log_name(first, name);
	cairn__report(d, name,
	              "%s/%s: %s at byte %llu; records after it were durable, "
	              "so the store will not open until it is repaired "
	              "(cairn_store_repair keeps the records before it)",
	              d->path, name, why, (unsigned long long)offset);
	if (d->report)
		d->report->offset = offset;
	return CAIRN_ECORRUPT;
}

/*
 * What the log files after the snapshot hold, as recovery and repair both
 * need it: the good records (each passed to fn), where the first damage
 * that is not a torn tail starts, and the file to append to.
 */
typedef struct log_walk {
	log_list l;
	uint32_t cut_file;  /* the damaged file's index (l.n: no damage) */
	uint64_t cut_at;    /* offset of the damage in it (0: all of it) */
	const char *why;    /* what is wrong there */
	uint64_t last_seq;  /* the last good record (>= the snapshot's) */
	bool append_ok;     /* the last file can take more records */
	uint64_t append_first, append_end;
	uint64_t torn_bytes; /* bytes of a torn tail after append_end */
} log_walk;

static int walk_logs(cairn__dir *d, uint64_t snap_seq, uint32_t max_record,
                     cairn__rec_fn fn, void *ud, log_walk *w)
{
	memset(w, 0, sizeof *w);
	int rc = list_logs(d, &w->l);
	if (rc)
		return rc;
	const log_list *l = &w->l;
	w->cut_file = l->n;
	w->last_seq = snap_seq;
	bool have_prev = false;
	for (uint32_t i = 0; i < l->n; i++) {
		bool last = i + 1 == l->n;
		char name[21];
		cairn__log_name(l->first[i], name);
		/* Files wholly before the snapshot are skipped unread. */
		if (!last && l->first[i + 1] <= snap_seq + 1)
			continue;
		if (have_prev ? l->first[i] != w->last_seq + 1
		              : l->first[i] > snap_seq + 1) {
			w->cut_file = i;
			w->why = "records are missing before this file";
			return 0;
		}
		cairn__scan sc;
		rc = cairn__log_scan(d, name, max_record, fn, ud, &sc);
		if (rc == CAIRN_ECORRUPT && sc.size >= CAIRN__LOG_HEADER) {
			w->cut_file = i;
			w->why = "the file's header is damaged";
			return 0;
		}
		if (rc)
			return rc;
		have_prev = true;
		if (sc.last_seq > w->last_seq)
			w->last_seq = sc.last_seq;
		if (sc.bad && (!last || !sc.torn)) {
			w->cut_file = i;
			w->cut_at = sc.bad_offset;
			w->why = "a record fails its checksum or framing";
			return 0;
		}
		if (!last)
			continue;
		/* A header cut short (the file was being created) is
		 * dropped whole. */
		w->torn_bytes = sc.size < CAIRN__LOG_HEADER
		                        ? sc.size
		                        : sc.size - sc.good_end;
		if (sc.size >= CAIRN__LOG_HEADER && sc.last_seq >= snap_seq) {
			w->append_ok = true;
			w->append_first = l->first[i];
			w->append_end = sc.good_end;
		}
	}
	return 0;
}

/* Replay the log files after the snapshot and open the last one for
 * appending. */
static int recover_log(cairn_store *s)
{
	cairn__dir *d = &s->dir;
	replay rp = {s, NULL};
	int rc = cairn_delta_new(&s->dir.alloc, &rp.tmp);
	if (rc)
		return rc;
	log_walk w;
	rc = walk_logs(d, s->snap_seq, s->cfg.max_record_bytes, replay_record,
	               &rp, &w);
	cairn_delta_free(rp.tmp);
	if (!rc && w.cut_file < w.l.n)
		rc = corrupt_at(d, w.l.first[w.cut_file], w.cut_at, w.why);
	log_list_free(d, &w.l);
	if (rc)
		return rc;
	if (s->open_report)
		s->open_report->torn_bytes = w.torn_bytes;
	uint64_t prev_last = w.last_seq;
	bool append_ok = w.append_ok;
	uint64_t append_first = w.append_first, append_end = w.append_end;
	s->last_seq = prev_last > s->snap_seq ? prev_last : s->snap_seq;

	if (append_ok) {
		char name[21], path[512];
		cairn__log_name(append_first, name);
		if (cairn__join_path(d, name, path, sizeof path))
			return CAIRN_ETOOBIG;
		int e = d->vfs->open(d->vfs->ud, path,
		                     CAIRN_VFS_READ | CAIRN_VFS_WRITE, 0, &s->log_f);
		if (e)
			return cairn__os_err(d, e, "open", name);
		s->log_first = append_first;
		s->log_size = append_end;
		uint64_t size = 0;
		if ((e = d->vfs->size(d->vfs->ud, s->log_f, &size)) != 0)
			return cairn__os_err(d, e, "stat", name);
		/* Cut off a torn tail; then make sure what the file holds is
		 * on disk, not only in the page cache of a process that was
		 * killed. */
		if (size != append_end &&
		    (e = d->vfs->truncate(d->vfs->ud, s->log_f, append_end)) != 0)
			return cairn__os_err(d, e, "truncate", name);
		if ((e = d->vfs->sync(d->vfs->ud, s->log_f, false)) != 0)
			return cairn__os_err(d, e, "fsync", name);
	} else {
		rc = cairn__log_create(d, s->last_seq + 1, &s->log_f);
		if (rc)
			return rc;
		s->log_first = s->last_seq + 1;
		s->log_size = CAIRN__LOG_HEADER;
	}
	s->durable_seq = s->last_seq;
	return 0;
}

/* Take the directory's lock, or say who holds it. */
static int take_lock(cairn__dir *d, int *out)
{
	char path[512];
	if (cairn__join_path(d, "LOCK", path, sizeof path))
		return CAIRN_ETOOBIG;
	int f;
	int e = d->vfs->open(d->vfs->ud, path,
	                     CAIRN_VFS_READ | CAIRN_VFS_WRITE | CAIRN_VFS_CREATE,
	                     0644, &f);
	if (e)
		return cairn__os_err(d, e, "open", "LOCK");
	e = d->vfs->lock(d->vfs->ud, f);
	if (e == -EWOULDBLOCK || e == -EAGAIN || e == -EACCES) {
		char buf[32] = {0};
		size_t got = 0;
		(void)d->vfs->read(d->vfs->ud, f, 0, buf, sizeof buf - 1, &got);
		(void)d->vfs->close(d->vfs->ud, f);
		long pid = strtol(buf, NULL, 10);
		if (d->report)
			d->report->holder_pid = pid;
		cairn__report(d, "LOCK",
		              "%s is in use by process %ld (it holds %s/LOCK)",
		              d->path, pid, d->path);
		return CAIRN_EBUSY;
	}
	if (e) {
		(void)d->vfs->close(d->vfs->ud, f);
		return cairn__os_err(d, e, "lock", "LOCK");
	}
	char pid[24];
	int n = snprintf(pid, sizeof pid, "%ld\n", cairn__os_pid());
	if ((e = d->vfs->truncate(d->vfs->ud, f, 0)) != 0 ||
	    cairn__write_all(d, f, 0, pid, (size_t)n, "LOCK") != 0) {
		(void)d->vfs->close(d->vfs->ud, f);
		return e ? cairn__os_err(d, e, "truncate", "LOCK") : CAIRN_EIO;
	}
	*out = f;
	return 0;
}

static int dir_init(cairn__dir *d, const char *path, const cairn_vfs *vfs,
                    const cairn_allocator *a, cairn_store_report *report)
{
	memset(d, 0, sizeof *d);
	d->vfs = vfs ? vfs : cairn_vfs_posix();
	if (a)
		d->alloc = *a;
	d->report = report;
	if (report)
		memset(report, 0, sizeof *report);
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof d->path)
		return CAIRN_EINVAL;
	memcpy(d->path, path, n);
	d->path[n] = 0;
	return 0;
}

/* Make the directory (and make its entry in the parent durable). */
static int make_dir(cairn__dir *d)
{
	int e = d->vfs->mkdir(d->vfs->ud, d->path, 0755);
	if (e == -EEXIST)
		return 0;
	if (e)
		return cairn__os_err(d, e, "mkdir", "");
	char parent[sizeof d->path];
	memcpy(parent, d->path, sizeof parent);
	char *slash = strrchr(parent, '/');
	if (!slash)
		memcpy(parent, ".", 2);
	else if (slash == parent)
		parent[1] = 0;
	else
		*slash = 0;
	if ((e = d->vfs->sync_dir(d->vfs->ud, parent)) != 0)
		return cairn__os_err(d, e, "fsync directory", "..");
	return 0;
}

static int meta_read(cairn__dir *d, cairn_replica_id *id)
{
	uint8_t m[12];
	size_t len;
	int rc = cairn__small_read(d, "meta", meta_magic, m, sizeof m, &len);
	if (rc == CAIRN_ESPACE || (!rc && len != sizeof m))
		rc = CAIRN_ECORRUPT;
	if (rc)
		return rc;
	if (cairn__get_u32(m) != META_VERSION) {
		cairn__report(d, "meta", "%s: store format version %u is not "
		              "known to this cairn", d->path, cairn__get_u32(m));
		return CAIRN_EVERSION;
	}
	*id = cairn__get_u64(m + 4);
	return 0;
}

static int meta_write(cairn__dir *d, cairn_replica_id id)
{
	uint8_t m[12];
	cairn__put_u32(m, META_VERSION);
	cairn__put_u64(m + 4, id);
	return cairn__small_write(d, "meta", meta_magic, m, sizeof m, 0644);
}

static void store_release(cairn_store *s)
{
	const cairn_vfs *v = s->dir.vfs;
	if (s->log_f >= 0)
		(void)v->close(v->ud, s->log_f);
	if (s->lock_f >= 0)
		(void)v->close(v->ud, s->lock_f);
	cairn_replica_free(s->r);
	cairn__history_free(s->hist);
	cairn_delta_free(s->scratch);
	cairn_delta_free(s->pending);
	cairn_buf_free(&s->rec);
	cairn_buf_free(&s->arena);
	cairn_allocator a = s->dir.alloc;
	cairn__free(&a, s->peers, (size_t)s->cappeers * sizeof *s->peers);
	cairn__free(&a, s->cands, (size_t)s->capcands * sizeof *s->cands);
	cairn__free(&a, s->live, s->caplive * sizeof *s->live);
	cairn__free(&a, s->live_st, s->caplive * sizeof *s->live_st);
	cairn__free(&a, s, sizeof *s);
}

int cairn_store_open_(const char *dir, const cairn_store_config *cfg,
                      size_t cfg_size, cairn_store **out,
                      cairn_store_report *report)
{
	if (!dir || !cfg || !out)
		return CAIRN_EINVAL;
	if (cfg_size != sizeof *cfg)
		return CAIRN_EVERSION;
	if (cfg->sync > CAIRN_SYNC_NONE ||
	    cfg->max_record_bytes < 1024 || cfg->history_depth > 255)
		return CAIRN_EINVAL;
	cairn_store *s = cairn__alloc(&cfg->replica.allocator, sizeof *s);
	if (!s)
		return CAIRN_ENOMEM;
	memset(s, 0, sizeof *s);
	s->lock_f = s->log_f = -1;
	s->cfg = *cfg;
	s->open_report = report;
	int rc = dir_init(&s->dir, dir, cfg->vfs, &cfg->replica.allocator,
	                  report);
	cairn_buf_init(&s->rec, &s->dir.alloc);
	cairn_buf_init(&s->arena, &s->dir.alloc);
	if (rc)
		goto fail;
	cairn__dir *d = &s->dir;
	if (cfg->create && (rc = make_dir(d)) != 0)
		goto fail;
	if ((rc = take_lock(d, &s->lock_f)) != 0) {
		if (rc == CAIRN_ENOTFOUND)
			cairn__report(d, NULL, "%s: no store here", d->path);
		goto fail;
	}

	cairn_replica_id id = 0;
	rc = meta_read(d, &id);
	if (rc == CAIRN_ENOTFOUND) {
		if (!cfg->create) {
			cairn__report(d, NULL, "%s: no store here", d->path);
			goto fail;
		}
		if (!cfg->replica.id) {
			cairn__report(d, NULL, "%s: creating a store needs a "
			              "replica id", d->path);
			rc = CAIRN_EINVAL;
			goto fail;
		}
		id = cfg->replica.id;
		rc = meta_write(d, id);
	}
	if (rc)
		goto fail;
	if (cfg->replica.id && cfg->replica.id != id) {
		cairn__report(d, "meta", "%s belongs to replica %016llx, not "
		              "%016llx", d->path, (unsigned long long)id,
		              (unsigned long long)cfg->replica.id);
		rc = CAIRN_EINVAL;
		goto fail;
	}

	cairn_buf snap;
	cairn_buf_init(&snap, &d->alloc);
	bool have_snap;
	rc = snapshot_read(d, &snap, &have_snap);
	cairn_replica_config rcfg = cfg->replica;
	rcfg.id = id;
	rcfg.hlc_resume = have_snap ? cairn__get_u64(snap.data + 24) : 0;
	if (!rc)
		rc = cairn_replica_new(&rcfg, &s->r);
	if (!rc)
		rc = cairn__history_new(&d->alloc, cfg->history_depth, &s->hist);
	if (!rc && have_snap)
		rc = snapshot_load(s, &snap);
	cairn_buf_free(&snap);
	if (!rc)
		rc = cairn_delta_new(&d->alloc, &s->scratch);
	if (!rc)
		rc = cairn_delta_new(&d->alloc, &s->pending);
	if (!rc)
		rc = recover_log(s);
	if (rc)
		goto fail;
	drop_covered_logs(d, s->snap_seq, s->log_first);
	s->open_report = NULL;
	d->report = NULL;
	*out = s;
	return 0;
fail:
	s->open_report = NULL;
	store_release(s);
	return rc;
}

int cairn_store_close(cairn_store *s)
{
	if (!s)
		return 0;
	int rc = 0;
	if (!s->poisoned && !s->job_running) {
		rc = flush_pending(s);
		if (!rc && s->cfg.sync != CAIRN_SYNC_NONE)
			rc = log_sync(s);
	} else if (s->poisoned &&
	           (s->has_pending || s->durable_seq != s->last_seq)) {
		/* No fsync is tried on a poisoned handle, and writes made
		 * through it are not durable: 0 would say they were. */
		rc = CAIRN_EPOISONED;
	}
	store_release(s);
	return rc;
}

int cairn_store_repair(const char *dir, const cairn_vfs *vfs,
                       cairn_store_report *report)
{
	if (!dir)
		return CAIRN_EINVAL;
	cairn__dir d;
	int rc = dir_init(&d, dir, vfs, NULL, report);
	if (rc)
		return rc;
	int lock_f;
	if ((rc = take_lock(&d, &lock_f)) != 0)
		return rc;
	cairn_replica_id id;
	if ((rc = meta_read(&d, &id)) != 0)
		goto done;
	/* A snapshot that fails its checksum is beyond repair: say so,
	 * rather than "nothing to repair" for a store that will not open. */
	cairn_buf snap;
	cairn_buf_init(&snap, &d.alloc);
	bool have_snap;
	rc = snapshot_read(&d, &snap, &have_snap);
	if (rc) {
		cairn_buf_free(&snap);
		goto done;
	}
	uint64_t snap_seq = have_snap ? cairn__get_u64(snap.data + 16) : 0;
	cairn_buf_free(&snap);
	/* The same walk as recovery: what it would refuse is what goes. A
	 * damaged record is cut off with everything after it; a damaged or
	 * unreachable file goes whole, and so does every later file. */
	log_walk w;
	rc = walk_logs(&d, snap_seq, CAIRN_STORE_DEFAULT_MAX_RECORD, NULL, NULL,
	               &w);
	uint64_t dropped = 0;
	for (uint32_t i = w.cut_file; i < w.l.n && !rc; i++) {
		char name[21], path[512];
		cairn__log_name(w.l.first[i], name);
		if ((rc = cairn__join_path(&d, name, path, sizeof path)) != 0)
			break;
		bool keep_head = i == w.cut_file && w.cut_at >= CAIRN__LOG_HEADER;
		int f, e;
		uint64_t size = 0;
		if (!d.vfs->open(d.vfs->ud, path, CAIRN_VFS_WRITE, 0, &f)) {
			(void)d.vfs->size(d.vfs->ud, f, &size);
			e = keep_head ? d.vfs->truncate(d.vfs->ud, f, w.cut_at) : 0;
			if (!e && keep_head)
				e = d.vfs->sync(d.vfs->ud, f, false);
			(void)d.vfs->close(d.vfs->ud, f);
		} else {
			e = 0;
		}
		if (!e && !keep_head)
			e = d.vfs->unlink(d.vfs->ud, path);
		if (e)
			rc = cairn__os_err(&d, e, "repair", name);
		dropped += keep_head ? size - w.cut_at : size;
	}
	bool cut = w.cut_file < w.l.n;
	if (!rc && cut) {
		int e = d.vfs->sync_dir(d.vfs->ud, d.path);
		if (e)
			rc = cairn__os_err(&d, e, "fsync directory", "");
	}
	if (!rc) {
		if (report) {
			report->torn_bytes = dropped;
			report->offset = cut ? w.cut_at : 0;
		}
		if (cut)
			cairn__report(&d, NULL, "%s: %s; dropped %llu bytes of "
			              "log from there on",
			              d.path, w.why, (unsigned long long)dropped);
		else
			cairn__report(&d, NULL, "%s: nothing to repair",
			              d.path);
	}
	log_list_free(&d, &w.l);
done:
	(void)d.vfs->close(d.vfs->ud, lock_f);
	return rc;
}

/* ---- small files -------------------------------------------------------- */

static int secret_name(const char *name, char out[80])
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64)
		return CAIRN_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return CAIRN_EINVAL;
	}
	snprintf(out, 80, "secret-%s", name);
	return 0;
}

int cairn_store_secret_put(cairn_store *s, const char *name, const void *data,
                           size_t len)
{
	char file[80];
	if (!s || (!data && len))
		return CAIRN_EINVAL;
	int rc = secret_name(name, file);
	if (rc)
		return rc;
	if (len > 65536)
		return CAIRN_ETOOBIG;
	return cairn__small_write(&s->dir, file, secret_magic, data, len, 0600);
}

int cairn_store_secret_get(const cairn_store *s, const char *name, void *data,
                           size_t cap, size_t *len)
{
	char file[80];
	if (!s || !len || (!data && cap))
		return CAIRN_EINVAL;
	int rc = secret_name(name, file);
	if (rc)
		return rc;
	/* The handle is const for the caller; the failure record is not
	 * part of what it sees. */
	cairn__dir *d = (cairn__dir *)&s->dir;
	return cairn__small_read(d, file, secret_magic, data, cap, len);
}

int cairn_store_peer_put(cairn_store *s,
                         const uint8_t peer[CAIRN_PEER_ID_BYTES],
                         uint64_t mark)
{
	if (!s || !peer)
		return CAIRN_EINVAL;
	if (s->poisoned)
		return CAIRN_EPOISONED;
	if (s->job_running)
		return CAIRN_EINVAL;
	int rc = flush_pending(s);
	if (!rc)
		rc = rec_begin(s);
	if (!rc)
		rc = cairn_buf_append(&s->rec, peer, CAIRN_PEER_ID_BYTES);
	uint8_t x[8];
	cairn__put_u64(x, mark);
	if (!rc)
		rc = cairn_buf_append(&s->rec, x, 8);
	/* Room first, so that the table cannot fail after the append. */
	if (!rc)
		rc = cairn__grow(&s->dir.alloc, (void **)&s->peers, &s->cappeers,
		                 s->npeers + 1, sizeof *s->peers);
	if (!rc)
		rc = append_record(s, CAIRN__REC_PEER);
	if (rc)
		return s->poisoned ? CAIRN_EPOISONED : rc;
	(void)peer_set(s, peer, mark);
	if (s->cfg.sync == CAIRN_SYNC_EVERY && (rc = log_sync(s)) != 0)
		return rc;
	return maybe_compact(s);
}

int cairn_store_peer_get(const cairn_store *s,
                         const uint8_t peer[CAIRN_PEER_ID_BYTES],
                         uint64_t *mark)
{
	if (!s || !peer || !mark)
		return CAIRN_EINVAL;
	for (uint32_t i = 0; i < s->npeers; i++)
		if (memcmp(s->peers[i].id, peer, CAIRN_PEER_ID_BYTES) == 0) {
			*mark = s->peers[i].mark;
			return 0;
		}
	return CAIRN_ENOTFOUND;
}

/* ---- history ------------------------------------------------------------ */

int cairn_store_history(const cairn_store *s, const char *doc_id,
                        const char *field, cairn_history_entry *out,
                        size_t cap, size_t *n)
{
	if (!s || !doc_id || !field || !n || (!out && cap))
		return CAIRN_EINVAL;
	*n = 0;
	uint32_t depth = cairn__history_depth(s->hist);
	/* Live values first, then the past ones, merged newest first. The
	 * live ones are read from the replica through the store's scratch
	 * arrays, which a const handle may still use. */
	cairn_store *m = (cairn_store *)s;
	size_t nlive;
	int rc = live_values(m, doc_id, field, &nlive);
	if (rc)
		return rc;
	const cairn__hfield *hf = NULL;
	size_t npast = cairn__history_get(s->hist, doc_id, field, &hf);
	size_t total = nlive + npast;
	if (total > depth && depth)
		total = depth;
	if (!depth)
		total = nlive;
	*n = total;
	if (total > cap)
		return CAIRN_ESPACE;
	size_t i = 0, k = 0;
	for (size_t o = 0; o < total; o++) {
		cairn_value pv;
		cairn_stamp ps;
		bool take_live = i < nlive;
		if (take_live && k < npast) {
			cairn__history_item(hf, k, &pv, &ps);
			const cairn_stamp *ls = &m->live_st[i];
			take_live = ls->hlc != ps.hlc ? ls->hlc > ps.hlc
			                              : ls->replica > ps.replica;
		}
		if (take_live) {
			out[o].value = m->live[i];
			out[o].stamp = m->live_st[i++];
			out[o].live = true;
		} else {
			cairn__history_item(hf, k++, &out[o].value,
			                    &out[o].stamp);
			out[o].live = false;
		}
	}
	return 0;
}

/* ---- export and import -------------------------------------------------- */

int cairn_store_export(const cairn_store *s, cairn_buf *out)
{
	if (!s || !out)
		return CAIRN_EINVAL;
	return cairn_replica_export_json(s->r, out);
}

typedef struct import_ctx {
	cairn_store *s;
	bool apply;
	uint64_t now;
	size_t writes;
	/* the register written last: later values of a "values" list are
	 * not written (the first one is the winner) */
	char last_doc[CAIRN_MAX_ID_BYTES + 1];
	char last_field[CAIRN_MAX_ID_BYTES + 1];
	int err;
} import_ctx;

static int import_one(void *ud, const char *doc_id, const char *field,
                      cairn_kind kind, const cairn_value *v)
{
	import_ctx *ic = ud;
	cairn_store *s = ic->s;
	if (kind == CAIRN_KIND_REGISTER && strcmp(doc_id, ic->last_doc) == 0 &&
	    strcmp(field, ic->last_field) == 0)
		return 0;
	snprintf(ic->last_doc, sizeof ic->last_doc, "%s", doc_id);
	snprintf(ic->last_field, sizeof ic->last_field, "%s", field);
	if (!ic->apply) {
		/* The checking pass: ids, sizes and kinds, against the
		 * replica as it is. */
		size_t len;
		int rc = cairn__name_check(doc_id, &len);
		if (!rc)
			rc = cairn__name_check(field, &len);
		if (!rc)
			rc = cairn__value_check(
			        v, s->cfg.replica.limits.max_value_bytes);
		cairn_doc *d;
		cairn_field_info info;
		if (!rc && cairn_replica_find(s->r, doc_id, &d) == 0 &&
		    cairn_doc_field_info(d, field, &info) == 0 &&
		    info.kind != kind)
			rc = CAIRN_EKIND;
		if (!rc && kind == CAIRN_KIND_REGISTER &&
		    cairn_replica_policy(s->r, doc_id, field) ==
		            CAIRN_POLICY_FWW &&
		    cairn_replica_find(s->r, doc_id, &d) == 0 &&
		    cairn_doc_field_info(d, field, &info) == 0)
			rc = CAIRN_EEXIST;
		ic->err = rc;
		return rc;
	}
	int rc;
	if (kind == CAIRN_KIND_REGISTER) {
		/* An import can make more writes than the clock's counter
		 * holds in one millisecond: step to the next one. */
		while ((rc = write_op(s, W_SET, doc_id, field, v, ic->now, NULL,
		                      NULL)) == CAIRN_EAGAIN)
			ic->now++;
	} else {
		rc = write_op(s, W_ADD, doc_id, field, v, 0, NULL, NULL);
	}
	if (!rc)
		ic->writes++;
	ic->err = rc;
	return rc;
}

int cairn_store_import(cairn_store *s, const char *json, size_t len,
                       uint64_t now_ms, size_t *written,
                       cairn_store_report *report)
{
	if (written)
		*written = 0;
	if (report)
		memset(report, 0, sizeof *report);
	if (!s || (!json && len))
		return CAIRN_EINVAL;
	if (s->poisoned)
		return CAIRN_EPOISONED;
	import_ctx ic;
	memset(&ic, 0, sizeof ic);
	ic.s = s;
	ic.now = clock_ms(now_ms);
	size_t at = 0;
	int rc = cairn_json_import(json, len, import_one, &ic, &at);
	if (rc == CAIRN_EDECODE && report) {
		report->offset = at;
		snprintf(report->message, sizeof report->message,
		         "malformed export JSON at byte %zu", at);
	} else if (rc && report) {
		snprintf(report->message, sizeof report->message,
		         "document \"%.160s\", field \"%.160s\": %s", ic.last_doc,
		         ic.last_field, cairn_strerror(rc));
	}
	if (rc)
		return rc;
	/* Apply as one batch: the writes are appended one by one but made
	 * durable once, at the end. */
	cairn_sync_policy policy = s->cfg.sync;
	if (policy == CAIRN_SYNC_EVERY)
		s->cfg.sync = CAIRN_SYNC_GROUP;
	memset(ic.last_doc, 0, sizeof ic.last_doc);
	memset(ic.last_field, 0, sizeof ic.last_field);
	ic.apply = true;
	rc = cairn_json_import(json, len, import_one, &ic, &at);
	s->cfg.sync = policy;
	if (written)
		*written = ic.writes;
	if (!rc && policy == CAIRN_SYNC_EVERY)
		rc = log_sync(s);
	if (rc && report)
		snprintf(report->message, sizeof report->message,
		         "document \"%.160s\", field \"%.160s\": %s (%zu writes made)",
		         ic.last_doc, ic.last_field, cairn_strerror(rc),
		         ic.writes);
	return rc;
}
