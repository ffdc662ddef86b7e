/*
 * open.c -- opening a store: the lock, the meta file, the snapshot, the
 * replay of the log after it, and the repair of a damaged log. Recovery
 * and repair walk the log files the same way (walk_logs), so what repair
 * removes is exactly what recovery refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt_int.h"
#include "os_int.h"
#include "store_int.h"

static const char meta_magic[8] = {'c', 'a', 'i', 'r', 'n', 'm', 't', '1'};

#define META_VERSION 1u

/* cairn_store_config as it was before retain_log_bytes (cairn 0.1): a
 * program built against that header passes this size. */
typedef struct config_v1 {
	cairn_replica_config replica;
	cairn_sync_policy sync;
	uint32_t group_window_ms;
	uint32_t history_depth;
	uint32_t max_record_bytes;
	uint64_t compact_log_bytes;
	bool create;
	const cairn_vfs *vfs;
} config_v1;

_Static_assert(sizeof(config_v1) ==
                       offsetof(cairn_store_config, retain_log_bytes),
               "the old config is the new one's prefix");

/* ---- open and recovery -------------------------------------------------- */

typedef struct replay {
	cairn_store *s;
	cairn_delta *tmp;
} replay;

/*
 * Decode a record that passed its checksum: a delta into `tmp`, or check a
 * peer mark's size. A record that does not decode is corruption all the
 * same (CAIRN_ECORRUPT): recovery refuses it and repair cuts there.
 */
static int record_decode(const cairn__rec *rec, cairn_delta *tmp,
                         const cairn_limits *lim)
{
	if (rec->type == CAIRN__REC_PEER)
		return rec->len == CAIRN_PEER_ID_BYTES + 8 ? 0 : CAIRN_ECORRUPT;
	cairn_delta_clear(tmp);
	int rc = cairn_delta_decode(tmp, rec->payload, rec->len, lim);
	return rc == CAIRN_EDECODE || rc == CAIRN_EVERSION ? CAIRN_ECORRUPT
	                                                   : rc;
}

static int replay_record(void *ud, const cairn__rec *rec)
{
	replay *rp = ud;
	cairn_store *s = rp->s;
	if (rec->seq <= s->snap_seq)
		return 0;
	if (s->open_report)
		s->open_report->records++;
	cairn_limits lim = cairn__own_limits(s);
	int rc = record_decode(rec, rp->tmp, &lim);
	if (!rc && rec->type == CAIRN__REC_PEER)
		return cairn__peer_set(
		        s, rec->payload,
		        cairn__get_u64(rec->payload + CAIRN_PEER_ID_BYTES));
	if (!rc)
		rc = cairn__join_tracked(s, rp->tmp, CAIRN_HLC_MAX_MS, NULL);
	return rc;
}

/* Repair's pass: every record after the snapshot must decode. */
typedef struct validate {
	uint64_t snap_seq;
	cairn_delta *tmp;
	cairn_limits lim;
} validate;

static int validate_record(void *ud, const cairn__rec *rec)
{
	validate *v = ud;
	return rec->seq <= v->snap_seq ? 0
	                               : record_decode(rec, v->tmp, &v->lim);
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

/* What the walk found in one log file. */
typedef struct walked_file {
	cairn__seg seg; /* first; end: just past the last good record; marks */
	uint64_t last;  /* its last good record */
	bool read;      /* it was read (it is not wholly before the snapshot) */
} walked_file;

/*
 * What the log files after the snapshot hold, as recovery and repair both
 * need it: the good records (each passed to fn), where the first damage
 * that is not a torn tail starts, and the file to append to.
 */
typedef struct log_walk {
	cairn__log_list l;
	walked_file *files; /* one per file of l */
	uint32_t cut_file;  /* the damaged file's index (l.n: no damage) */
	uint64_t cut_at;    /* offset of the damage in it (0: all of it) */
	const char *why;    /* what is wrong there */
	uint64_t last_seq;  /* the last good record (>= the snapshot's) */
	bool append_ok;     /* the last file can take more records */
	uint64_t append_first, append_end;
	uint64_t torn_bytes; /* bytes of a torn tail after append_end */
} log_walk;

/* Index the records of a file as they go by, for cursors. */
typedef struct walk_fn {
	cairn__rec_fn fn;
	void *ud;
	const cairn_allocator *a;
	cairn__seg *seg;
} walk_fn;

static int walk_record(void *ud, const cairn__rec *rec)
{
	walk_fn *wf = ud;
	int rc = wf->fn ? wf->fn(wf->ud, rec) : 0;
	if (!rc)
		cairn__seg_mark(wf->a, wf->seg, rec->seq, rec->off);
	return rc;
}

static void walk_free(cairn__dir *d, log_walk *w)
{
	for (uint32_t i = 0; w->files && i < w->l.n; i++)
		cairn__free(&d->alloc, w->files[i].seg.marks,
		            (size_t)w->files[i].seg.capmarks *
		                    sizeof *w->files[i].seg.marks);
	if (w->files)
		cairn__free(&d->alloc, w->files,
		            (size_t)w->l.n * sizeof *w->files);
	cairn__log_list_free(d, &w->l);
}

static int walk_logs(cairn__dir *d, uint64_t snap_seq, uint32_t max_record,
                     cairn__rec_fn fn, void *ud, log_walk *w)
{
	memset(w, 0, sizeof *w);
	int rc = cairn__list_logs(d, &w->l);
	if (rc)
		return rc;
	const cairn__log_list *l = &w->l;
	if (l->n) {
		w->files = cairn__alloc(&d->alloc,
		                        (size_t)l->n * sizeof *w->files);
		if (!w->files)
			return CAIRN_ENOMEM;
		memset(w->files, 0, (size_t)l->n * sizeof *w->files);
	}
	w->cut_file = l->n;
	w->last_seq = snap_seq;
	bool have_prev = false;
	for (uint32_t i = 0; i < l->n; i++) {
		bool last = i + 1 == l->n;
		char name[21];
		cairn__log_name(l->first[i], name);
		w->files[i].seg.first = l->first[i];
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
		walk_fn wf = {fn, ud, &d->alloc, &w->files[i].seg};
		rc = cairn__log_scan(d, name, max_record, walk_record, &wf,
		                     &sc);
		w->files[i].read = true;
		w->files[i].last = sc.last_seq;
		w->files[i].seg.end =
		        sc.size >= CAIRN__LOG_HEADER ? sc.good_end : 0;
		if (rc == CAIRN_ECORRUPT && sc.refused) {
			w->cut_file = i;
			w->cut_at = sc.bad_offset;
			w->why = "a record passes its checksum but does not "
			         "decode";
			return 0;
		}
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

/* A retained log file (one the snapshot holds): its size, if its header
 * is good. 0, CAIRN_ECORRUPT (bad, short or missing), or an I/O error. */
static int retained_check(cairn__dir *d, uint64_t first, uint64_t *size)
{
	char name[21], path[512];
	cairn__log_name(first, name);
	if (cairn__join_path(d, name, path, sizeof path))
		return CAIRN_ETOOBIG;
	int f;
	int e = d->vfs->open(d->vfs->ud, path, CAIRN_VFS_READ, 0, &f);
	if (e)
		return e == -ENOENT ? CAIRN_ECORRUPT
		                    : cairn__os_err(d, e, "open", name);
	uint8_t head[CAIRN__LOG_HEADER];
	int rc = 0;
	if ((e = d->vfs->size(d->vfs->ud, f, size)) != 0)
		rc = cairn__os_err(d, e, "stat", name);
	else if (*size < CAIRN__LOG_HEADER)
		rc = CAIRN_ECORRUPT;
	if (!rc)
		rc = cairn__read_all(d, f, 0, head, sizeof head, name);
	if (!rc && !cairn__log_header_ok(head, first))
		rc = CAIRN_ECORRUPT;
	(void)d->vfs->close(d->vfs->ud, f);
	return rc;
}

/*
 * The log files cursors can read, from what the walk found: the file
 * appended to; before it, the files the walk read, each of which must end
 * just before the next one starts; before those, the retained files,
 * wholly before the snapshot, newest first, while their headers check and
 * they fit in retain_log_bytes (their records are not read here: a cursor
 * that finds damage in one stops there, see cursor.c). The other log files
 * hold nothing the snapshot lacks and nothing a cursor can reach: they
 * are deleted -- unless reading a retained file failed, which may pass.
 * A retained file that is damaged or missing never stops the open.
 */
static int segs_build(cairn_store *s, log_walk *w)
{
	cairn__dir *d = &s->dir;
	const cairn__log_list *l = &w->l;
	int rc = cairn__segs_reserve(s, l->n + 1);
	if (rc)
		return rc;
	/* Retained files are a convenience: their trouble goes unreported. */
	cairn_store_report *report = d->report;
	d->report = NULL;
	long top = (long)l->n - 1; /* the newest listed file not yet placed */
	if (top >= 0 && l->first[top] == s->log_first) {
		/* the file appended to, or a header cut short that
		 * cairn__log_create has made again */
		top--;
	}
	uint64_t front = s->log_first, room = s->cfg.retain_log_bytes;
	bool io_trouble = false;
	long i = top;
	for (; i >= 0; i--) {
		walked_file *f = &w->files[i];
		if (f->read) {
			if (f->seg.end < CAIRN__LOG_HEADER ||
			    f->last + 1 != front)
				break;
		} else {
			uint64_t size = 0;
			int e = retained_check(d, l->first[i], &size);
			if (e && e != CAIRN_ECORRUPT)
				io_trouble = true;
			if (e || size > room)
				break;
			room -= size;
			f->seg.end = size;
		}
		front = l->first[i];
	}
	d->report = report;
	/* The chain: files i + 1 .. top, then the one appended to. */
	for (long j = i + 1; j <= top; j++) {
		s->segs[s->nsegs++] = w->files[j].seg;
		memset(&w->files[j].seg, 0, sizeof w->files[j].seg);
	}
	cairn__seg *cur = &s->segs[s->nsegs++];
	memset(cur, 0, sizeof *cur);
	cur->first = s->log_first;
	if (w->append_ok) {
		*cur = w->files[l->n - 1].seg;
		memset(&w->files[l->n - 1].seg, 0, sizeof(cairn__seg));
	}
	/* The rest goes: each of them holds only records up to the
	 * snapshot's (checked again here, as a last guard). */
	for (long j = 0; j <= i && !io_trouble; j++) {
		uint64_t next =
		        j + 1 < (long)l->n ? l->first[j + 1] : s->log_first;
		const walked_file *f = &w->files[j];
		if (next > s->snap_seq + 1 &&
		    !(f->read && (f->seg.end < CAIRN__LOG_HEADER ||
		                  f->last <= s->snap_seq)))
			continue;
		char name[21], path[512];
		cairn__log_name(l->first[j], name);
		if (!cairn__join_path(d, name, path, sizeof path))
			(void)d->vfs->unlink(d->vfs->ud, path);
	}
	return 0;
}

/* Replay the log files after the snapshot, open the last one for
 * appending, and list the files cursors can read. */
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
	if (rc)
		goto done;
	if (s->open_report)
		s->open_report->torn_bytes = w.torn_bytes;
	s->last_seq = w.last_seq; /* never below the snapshot's */

	if (w.append_ok) {
		char name[21], path[512];
		cairn__log_name(w.append_first, name);
		if (cairn__join_path(d, name, path, sizeof path)) {
			rc = CAIRN_ETOOBIG;
			goto done;
		}
		int e = d->vfs->open(d->vfs->ud, path,
		                     CAIRN_VFS_READ | CAIRN_VFS_WRITE, 0,
		                     &s->log_f);
		if (e) {
			rc = cairn__os_err(d, e, "open", name);
			goto done;
		}
		s->log_first = w.append_first;
		s->log_size = w.append_end;
		/* Cut off a torn tail; then make sure what the file holds is
		 * on disk, not only in the page cache of a process that was
		 * killed. */
		if (w.torn_bytes && (e = d->vfs->truncate(d->vfs->ud, s->log_f,
		                                          w.append_end)) != 0)
			rc = cairn__os_err(d, e, "truncate", name);
		else if ((e = d->vfs->sync(d->vfs->ud, s->log_f, false)) != 0)
			rc = cairn__os_err(d, e, "fsync", name);
	} else {
		rc = cairn__log_create(d, s->last_seq + 1, &s->log_f);
		if (!rc) {
			s->log_first = s->last_seq + 1;
			s->log_size = CAIRN__LOG_HEADER;
		}
	}
	if (!rc) {
		s->durable_seq = s->last_seq;
		rc = segs_build(s, &w);
	}
done:
	walk_free(d, &w);
	return rc;
}

/* Take the directory's lock, or say who holds it. */
static int take_lock(cairn__dir *d, int *out)
{
	char path[512];
	if (cairn__join_path(d, "LOCK", path, sizeof path))
		return CAIRN_ETOOBIG;
	int f;
	int e = d->vfs->open(
	        d->vfs->ud, path,
	        CAIRN_VFS_READ | CAIRN_VFS_WRITE | CAIRN_VFS_CREATE, 0644, &f);
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
		cairn__report(d, "meta",
		              "%s: store format version %u is not "
		              "known to this cairn",
		              d->path, cairn__get_u32(m));
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

void cairn__store_release(cairn_store *s)
{
	const cairn_vfs *v = s->dir.vfs;
	cairn__segs_release(s);
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
	cairn_buf_free(&s->decls);
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
	/* A config from before retain_log_bytes: the fields it has, and the
	 * default for the rest. Only cfg_size bytes of it may be read. */
	cairn_store_config full;
	if (cfg_size == sizeof(config_v1)) {
		cairn_store_config_init(&full);
		memcpy(&full, cfg, sizeof(config_v1));
		cfg = &full;
	} else if (cfg_size != sizeof *cfg) {
		return CAIRN_EVERSION;
	}
	if (cfg->sync > CAIRN_SYNC_NONE || cfg->max_record_bytes < 1024 ||
	    cfg->history_depth > 255)
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
	cairn_buf_init(&s->decls, &s->dir.alloc);
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
			cairn__report(d, NULL,
			              "%s: creating a store needs a "
			              "replica id",
			              d->path);
			rc = CAIRN_EINVAL;
			goto fail;
		}
		id = cfg->replica.id;
		rc = meta_write(d, id);
	}
	if (rc)
		goto fail;
	if (cfg->replica.id && cfg->replica.id != id) {
		cairn__report(d, "meta",
		              "%s belongs to replica %016llx, not "
		              "%016llx",
		              d->path, (unsigned long long)id,
		              (unsigned long long)cfg->replica.id);
		rc = CAIRN_EINVAL;
		goto fail;
	}

	cairn_buf snap;
	cairn_buf_init(&snap, &d->alloc);
	bool have_snap;
	rc = cairn__snapshot_read(d, &snap, &have_snap);
	cairn_replica_config rcfg = cfg->replica;
	rcfg.id = id;
	rcfg.hlc_resume =
	        have_snap ? cairn__get_u64(snap.data + CAIRN__SNAP_CLOCK_AT)
	                  : 0;
	if (!rc)
		rc = cairn_replica_new(&rcfg, &s->r);
	if (!rc)
		rc = cairn__history_new(&d->alloc, cfg->history_depth,
		                        &s->hist);
	/* Declarations before data: the snapshot and the log may hold
	 * registers under policies other than lww. */
	if (!rc)
		rc = cairn__decls_load(s);
	if (!rc && have_snap)
		rc = cairn__snapshot_load(s, &snap);
	cairn_buf_free(&snap);
	if (!rc)
		rc = cairn_delta_new(&d->alloc, &s->scratch);
	if (!rc)
		rc = cairn_delta_new(&d->alloc, &s->pending);
	if (!rc)
		rc = recover_log(s);
	if (rc)
		goto fail;
	s->open_report = NULL;
	d->report = NULL;
	*out = s;
	return 0;
fail:
	s->open_report = NULL;
	cairn__store_release(s);
	return rc;
}

int cairn_store_close(cairn_store *s)
{
	if (!s)
		return 0;
	int rc = 0;
	if (!s->poisoned && !s->job_running) {
		rc = cairn__flush_pending(s);
		if (!rc && s->cfg.sync != CAIRN_SYNC_NONE)
			rc = cairn__log_sync(s);
	} else if (s->poisoned &&
	           (s->has_pending || s->durable_seq != s->last_seq)) {
		/* No fsync is tried on a poisoned handle, and writes made
		 * through it are not durable: 0 would say they were. */
		rc = CAIRN_EPOISONED;
	}
	cairn__store_release(s);
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
	rc = cairn__snapshot_read(&d, &snap, &have_snap);
	if (!rc && have_snap)
		rc = cairn__snapshot_check(&d, &snap);
	if (rc) {
		cairn_buf_free(&snap);
		goto done;
	}
	uint64_t snap_seq =
	        have_snap ? cairn__get_u64(snap.data + CAIRN__SNAP_SEQ_AT) : 0;
	cairn_buf_free(&snap);
	/* The same walk as recovery: what it would refuse is what goes. A
	 * damaged record is cut off with everything after it; a damaged or
	 * unreachable file goes whole, and so does every later file. */
	log_walk w;
	memset(&w, 0, sizeof w);
	validate v = {snap_seq, NULL, {0, 0, 0, 0}};
	cairn_limits_init(&v.lim);
	v.lim.max_value_bytes = CAIRN_MAX_VALUE_LIMIT;
	v.lim.max_elements = UINT64_MAX;
	v.lim.max_input_bytes = UINT64_MAX;
	rc = cairn_delta_new(NULL, &v.tmp);
	if (!rc)
		rc = walk_logs(&d, snap_seq, CAIRN_STORE_DEFAULT_MAX_RECORD,
		               validate_record, &v, &w);
	cairn_delta_free(v.tmp);
	uint64_t dropped = 0;
	for (uint32_t i = w.cut_file; i < w.l.n && !rc; i++) {
		char name[21], path[512];
		cairn__log_name(w.l.first[i], name);
		if ((rc = cairn__join_path(&d, name, path, sizeof path)) != 0)
			break;
		bool keep_head =
		        i == w.cut_file && w.cut_at >= CAIRN__LOG_HEADER;
		int f, e;
		uint64_t size = 0;
		if (!d.vfs->open(d.vfs->ud, path, CAIRN_VFS_WRITE, 0, &f)) {
			(void)d.vfs->size(d.vfs->ud, f, &size);
			e = keep_head ? d.vfs->truncate(d.vfs->ud, f, w.cut_at)
			              : 0;
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
			cairn__report(&d, NULL,
			              "%s: %s; dropped %llu bytes of "
			              "log from there on",
			              d.path, w.why,
			              (unsigned long long)dropped);
		else
			cairn__report(&d, NULL, "%s: nothing to repair",
			              d.path);
	}
	walk_free(&d, &w);
done:
	(void)d.vfs->close(d.vfs->ud, lock_f);
	return rc;
}
