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
 *                        files; those the snapshot holds are kept within
 *                        retain_log_bytes, for cursors (cursor.c);
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
#include <string.h>

#include "crdt_int.h"
#include "os_int.h"
#include "store_int.h"

#include "cairn/json.h"

static const char secret_magic[8] = {'c', 'a', 'i', 'r', 'n', 's', 'c', '1'};

struct cairn_sync_job {
	const cairn_vfs *vfs;
	int file;
	uint64_t upto;
	int result;
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
	cfg->retain_log_bytes = CAIRN_STORE_DEFAULT_RETAIN_BYTES;
}

/* The limits for decoding the store's own files: they were checksummed,
 * and they may be as large as the replica is. */
cairn_limits cairn__own_limits(const cairn_store *s)
{
	cairn_limits l = s->cfg.replica.limits;
	l.max_elements = UINT64_MAX;
	l.max_input_bytes = UINT64_MAX;
	return l;
}

uint64_t cairn__clock_ms(uint64_t now_ms)
{
	return now_ms ? now_ms : cairn__os_wall_ms();
}

/* ---- the log ------------------------------------------------------------ */

int cairn__poison(cairn_store *s, int rc)
{
	s->poisoned = true;
	return rc;
}

int cairn__log_sync(cairn_store *s)
{
	if (s->durable_seq == s->last_seq)
		return 0;
	int e = s->dir.vfs->sync(s->dir.vfs->ud, s->log_f, true);
	if (e) {
		char name[21];
		cairn__log_name(s->log_first, name);
		return cairn__poison(
		        s, cairn__os_err(&s->dir, e, "fdatasync", name));
	}
	s->durable_seq = s->last_seq;
	return 0;
}

/* Append one record whose payload sits in s->rec after its head. */
int cairn__append_record(cairn_store *s, uint8_t type)
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
			cairn__poison(s, 0);
		return rc;
	}
	uint64_t at = s->log_size;
	s->log_size += s->rec.len;
	s->last_seq++;
	if (s->nsegs)
		cairn__seg_mark(&s->dir.alloc, &s->segs[s->nsegs - 1],
		                s->last_seq, at);
	if (s->cfg.sync == CAIRN_SYNC_NONE)
		s->durable_seq = s->last_seq;
	return 0;
}

int cairn__rec_begin(cairn_store *s)
{
	cairn_buf_reset(&s->rec);
	int rc = cairn_buf_reserve(&s->rec, CAIRN__REC_HEAD);
	if (!rc)
		s->rec.len = CAIRN__REC_HEAD;
	return rc;
}

/* Append a delta as one record. */
static int append_delta(cairn_store *s, const cairn_delta *d)
{
	int rc = cairn__rec_begin(s);
	if (!rc)
		rc = cairn_delta_encode(d, &s->rec);
	if (!rc)
		rc = cairn__append_record(s, CAIRN__REC_DELTA);
	return rc;
}

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
	rc = append_delta(s, src);
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
	if (s->cfg.sync == CAIRN_SYNC_EVERY && (rc = cairn__log_sync(s)) != 0)
		return rc;
	return cairn__maybe_compact(s);
}

/* Append what is pending, if anything. */
int cairn__flush_pending(cairn_store *s)
{
	if (!s->has_pending)
		return 0;
	int rc = append_delta(s, s->pending);
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
	cairn__capture_reset(s);
	if (kind == W_SET || kind == W_DEL)
		rc = cairn__capture_field(s, doc_id, field);
	if (rc)
		return rc;
	cairn_delta_clear(s->scratch);
	switch (kind) {
	case W_SET:
		rc = cairn_doc_set(d, field, v, cairn__clock_ms(now_ms),
		                   s->scratch);
		break;
	case W_DEL: rc = cairn_doc_del(d, field, s->scratch); break;
	case W_ADD: rc = cairn_doc_add(d, field, v, s->scratch); break;
	case W_RM: rc = cairn_doc_rm(d, field, v, s->scratch); break;
	}
	if (rc) {
		cairn__capture_reset(s);
		return rc;
	}
	cairn__capture_commit(s);
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
                    const cairn_value *elem, cairn_delta *delta, uint64_t *seq)
{
	return write_op(s, W_ADD, doc_id, field, elem, 0, delta, seq);
}

int cairn_store_rm(cairn_store *s, const char *doc_id, const char *field,
                   const cairn_value *elem, cairn_delta *delta, uint64_t *seq)
{
	return write_op(s, W_RM, doc_id, field, elem, 0, delta, seq);
}

/* Join with history, without logging: recovery and cairn_store_join.
 * changed (may be NULL) as cairn_replica_join_changed(). */
int cairn__join_tracked(cairn_store *s, const cairn_delta *d, uint64_t now,
                        bool *changed)
{
	cairn__capture_reset(s);
	int rc = cairn__capture_delta(s, d);
	if (!rc)
		rc = changed ? cairn_replica_join_changed(s->r, d, now, changed)
		             : cairn_replica_join(s->r, d, now);
	if (rc) {
		cairn__capture_reset(s);
		return rc;
	}
	cairn__capture_commit(s);
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
	int rc = cairn__join_tracked(s, d, cairn__clock_ms(now_ms), &did);
	if (rc)
		return rc;
	if (changed)
		*changed = did;
	if (!did) {
		if (seq)
			*seq = s->last_seq;
		return 0;
	}
	return log_delta(s, d, seq);
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
	int rc = cairn__flush_pending(s);
	if (rc)
		return rc;
	if (s->cfg.sync == CAIRN_SYNC_NONE)
		return 0;
	return cairn__log_sync(s);
}

cairn_sync_job *cairn_store_sync_begin(cairn_store *s)
{
	if (!s || s->poisoned || s->job_running)
		return NULL;
	if (cairn__flush_pending(s) != 0 && s->poisoned)
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
		return cairn__poison(
		        s, cairn__os_err(&s->dir, e, "fdatasync", name));
	}
	if (upto > s->durable_seq)
		s->durable_seq = upto;
	return cairn__maybe_compact(s);
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
                         const uint8_t peer[CAIRN_PEER_ID_BYTES], uint64_t mark)
{
	if (!s || !peer)
		return CAIRN_EINVAL;
	if (s->poisoned)
		return CAIRN_EPOISONED;
	if (s->job_running)
		return CAIRN_EINVAL;
	int rc = cairn__flush_pending(s);
	if (!rc)
		rc = cairn__rec_begin(s);
	if (!rc)
		rc = cairn_buf_append(&s->rec, peer, CAIRN_PEER_ID_BYTES);
	uint8_t x[8];
	cairn__put_u64(x, mark);
	if (!rc)
		rc = cairn_buf_append(&s->rec, x, 8);
	/* Room first, so that the table cannot fail after the append. */
	if (!rc)
		rc = cairn__grow(&s->dir.alloc, (void **)&s->peers,
		                 &s->cappeers, s->npeers + 1, sizeof *s->peers);
	if (!rc)
		rc = cairn__append_record(s, CAIRN__REC_PEER);
	if (rc)
		return s->poisoned ? CAIRN_EPOISONED : rc;
	(void)cairn__peer_set(s, peer, mark);
	if (s->cfg.sync == CAIRN_SYNC_EVERY && (rc = cairn__log_sync(s)) != 0)
		return rc;
	return cairn__maybe_compact(s);
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
                        const char *field, cairn_history_entry *out, size_t cap,
                        size_t *n)
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
	int rc = cairn__live_values(m, doc_id, field, &nlive);
	if (rc)
		return rc;
	const cairn__hfield *hf = NULL;
	size_t npast = cairn__history_get(s->hist, doc_id, field, &hf);
	/* With no history kept, the live values alone. */
	size_t total = !depth                  ? nlive
	               : nlive + npast > depth ? depth
	                                       : nlive + npast;
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
			take_live = ls->hlc != ps.hlc
			                    ? ls->hlc > ps.hlc
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
		bool exists = cairn_replica_find(s->r, doc_id, &d) == 0 &&
		              cairn_doc_field_info(d, field, &info) == 0;
		if (!rc && exists && info.kind != kind)
			rc = CAIRN_EKIND;
		else if (!rc && exists && kind == CAIRN_KIND_REGISTER &&
		         cairn_replica_policy(s->r, doc_id, field) ==
		                 CAIRN_POLICY_FWW)
			rc = CAIRN_EEXIST;
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
	ic.now = cairn__clock_ms(now_ms);
	size_t at = 0;
	int rc = cairn_json_import(json, len, import_one, &ic, &at);
	if (rc == CAIRN_EDECODE && report) {
		report->offset = at;
		snprintf(report->message, sizeof report->message,
		         "malformed export JSON at byte %zu", at);
	} else if (rc && report) {
		snprintf(report->message, sizeof report->message,
		         "document \"%.160s\", field \"%.160s\": %s",
		         ic.last_doc, ic.last_field, cairn_strerror(rc));
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
		rc = cairn__log_sync(s);
	if (rc && report)
		snprintf(report->message, sizeof report->message,
		         "document \"%.160s\", field \"%.160s\": %s (%zu "
		         "writes made)",
		         ic.last_doc, ic.last_field, cairn_strerror(rc),
		         ic.writes);
	return rc;
}
