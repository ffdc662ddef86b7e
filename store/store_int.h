/*
 * store_int.h -- internals of the store (store/): the layouts of the
 * store, its log and snapshot, and the helpers they share.
 */
#ifndef CAIRN_STORE_INT_H
#define CAIRN_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/store.h"

/* ---- crc32c.c ----------------------------------------------------------- */

/*
 * CRC-32C (Castagnoli), continuing from `crc` (0 to start): the checksum of
 * every log record, snapshot and small file. cairn__crc32c(0, "123456789",
 * 9) == 0xE3069283.
 */
uint32_t cairn__crc32c(uint32_t crc, const void *p, size_t n);

/* ---- little-endian fields of the file formats ------------------------- */

static inline void cairn__put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void cairn__put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t cairn__get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint64_t cairn__get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- files through the VFS (file.c) ------------------------------------ */

/*
 * The store's view of its directory: the VFS, the directory's path, and
 * the raw errno and message of the last failure, which the public calls
 * report.
 */
typedef struct cairn__dir {
	const cairn_vfs *vfs;
	cairn_allocator alloc;
	char path[400];
	int os_error;
	cairn_store_report *report; /* where failures are described, or NULL */
} cairn__dir;

/* Map a negative errno from the VFS to a cairn_err, keeping the errno. */
int cairn__os_err(cairn__dir *d, int neg_errno, const char *what,
                  const char *name);

/* Describe a failure in d->report (printf-style message). */
void cairn__report(cairn__dir *d, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

/* dir/name into out[cap]; CAIRN_ETOOBIG if it does not fit. */
int cairn__join_path(const cairn__dir *d, const char *name, char *out,
                     size_t cap);

/* Write all of buf at off, looping over short writes. */
int cairn__write_all(cairn__dir *d, int f, uint64_t off, const void *buf,
                     size_t len, const char *name);

/* Read exactly len bytes at off; CAIRN_ECORRUPT at a short read. */
int cairn__read_all(cairn__dir *d, int f, uint64_t off, void *buf, size_t len,
                    const char *name);

/*
 * A small file: magic (8) | u32 length | payload | u32 CRC-32C of all that
 * precedes it. Written to name.tmp, synced, renamed over name, and the
 * directory synced: after a crash either the old or the new file is
 * there, whole.
 */
#define CAIRN__SMALL_MAX (UINT32_C(1) << 20)
int cairn__small_write(cairn__dir *d, const char *name, const char magic[8],
                       const void *data, size_t len, unsigned mode);
/* Read a small file into buf (cap bytes); *len gets its payload length.
 * CAIRN_ENOTFOUND, CAIRN_ECORRUPT, CAIRN_ESPACE (*len set), CAIRN_EIO. */
int cairn__small_read(cairn__dir *d, const char *name, const char magic[8],
                      void *buf, size_t cap, size_t *len);

/* ---- the log (log.c) ---------------------------------------------------- */

/*
 * A log file is named log-<first sequence number, 16 hex digits> and starts
 * with a header: magic "cairnlg1" | u64 first seq | u32 CRC-32C of those 16
 * bytes. Records follow:
 *   u32 payload length | u8 type | 3 zero bytes | u64 seq | payload |
 *   u32 CRC-32C of everything before it in the record.
 * Sequence numbers rise by one from record to record and from file to
 * file. The CRC sits at the end so that a record cut short never checks.
 */
#define CAIRN__LOG_HEADER 20u
#define CAIRN__REC_HEAD 16u
#define CAIRN__REC_TAIL 4u

enum cairn__rec_type {
	CAIRN__REC_DELTA = 1, /* a delta in the canonical encoding */
	CAIRN__REC_PEER = 2,  /* 32-byte peer id | u64 mark */
};

/* One record as the scan reads it; payload points into the scan buffer. */
typedef struct cairn__rec {
	uint8_t type;
	uint64_t seq;
	const uint8_t *payload;
	uint32_t len;
	uint64_t off; /* where the record starts in its file */
} cairn__rec;

/* Is this record head (CAIRN__REC_HEAD bytes) one the store could have
 * written: known type, zero padding, length within max_record? */
static inline bool cairn__rec_head_ok(const uint8_t *h, uint32_t max_record)
{
	return cairn__get_u32(h) <= max_record &&
	       (h[4] == CAIRN__REC_DELTA || h[4] == CAIRN__REC_PEER) && !h[5] &&
	       !h[6] && !h[7];
}

typedef int (*cairn__rec_fn)(void *ud, const cairn__rec *rec);

/* What a scan of one log file found. */
typedef struct cairn__scan {
	uint64_t first_seq;  /* from the header */
	uint64_t last_seq;   /* of the last good record (first_seq - 1: none) */
	uint64_t good_end;   /* offset just past the last good record */
	uint64_t size;       /* the file's size */
	uint64_t bad_offset; /* where a bad record starts (== good_end) */
	bool bad;            /* a record at good_end fails */
	bool torn;           /* ... and nothing valid follows it: a torn tail */
	bool refused;        /* fn refused the record at bad_offset */
} cairn__scan;

/*
 * Scan log file `name`, calling fn for every good record in order (fn may
 * be NULL). Stops at the first bad record and says whether it is a torn
 * tail (no good record after it) or corruption with data behind it.
 * Returns 0 (bad or not: see *out), CAIRN_ECORRUPT for a bad header,
 * fn's non-zero result (then out->refused is set and out->bad_offset is
 * where that record starts), or an I/O error.
 */
int cairn__log_scan(cairn__dir *d, const char *name, uint32_t max_record,
                    cairn__rec_fn fn, void *ud, cairn__scan *out);

/* log-<seq> for a first sequence number; out must hold 21 bytes. */
void cairn__log_name(uint64_t first_seq, char out[21]);
/* The first sequence number of a log file name, or false. */
bool cairn__log_parse_name(const char *name, uint64_t *first_seq);

/* Create a log file holding only its header, synced, directory synced. */
int cairn__log_create(cairn__dir *d, uint64_t first_seq, int *file);

/* Frame a record into buf (CAIRN__REC_HEAD + len + CAIRN__REC_TAIL bytes;
 * the payload must already sit at buf + CAIRN__REC_HEAD). */
void cairn__rec_frame(uint8_t *buf, uint8_t type, uint64_t seq, uint32_t len);

/* Is this a good log header for a file whose first record is first_seq? */
bool cairn__log_header_ok(const uint8_t head[CAIRN__LOG_HEADER],
                          uint64_t first_seq);

/* ---- the log files cursors read (cursor.c) ------------------------------ */

/*
 * The store keeps the list of log files a cursor can read, oldest first,
 * as "segments": the last is the file being appended to (its end is
 * s->log_size); each one before it holds the records from its first
 * sequence number up to the next one's, in `end` bytes. The files wholly
 * before the snapshot's sequence number are the *retained* ones
 * (cfg.retain_log_bytes).
 *
 * Each segment has a sparse index of where records start, a mark at least
 * every CAIRN__MARK_EVERY bytes, so that a cursor opened in the middle of
 * a large file reads from the nearest mark instead of from the top. Marks
 * are a hint: they are added in order of offset (by appends, recovery and
 * cursors passing by), and a mark that cannot be stored (no memory) is
 * simply not there.
 */
typedef struct cairn__mark {
	uint64_t seq; /* a record's sequence number */
	uint64_t off; /* where it starts in the file */
} cairn__mark;

#define CAIRN__MARK_EVERY ((uint64_t)128 << 10)

typedef struct cairn__seg {
	uint64_t first;     /* its first sequence number: the file's name */
	uint64_t end;       /* its size (not kept up for the last one) */
	cairn__mark *marks; /* ordered by offset (and sequence number) */
	uint32_t nmarks, capmarks;
} cairn__seg;

/* Mark (seq, off) in g if it is at least CAIRN__MARK_EVERY past the last
 * mark (or the header). Never fails: a mark is a hint. */
void cairn__seg_mark(const cairn_allocator *a, cairn__seg *g, uint64_t seq,
                     uint64_t off);

/* ---- history (history.c) ------------------------------------------------ */

typedef struct cairn__history cairn__history;
typedef struct cairn__hfield cairn__hfield;

int cairn__history_new(const cairn_allocator *a, uint32_t depth,
                       cairn__history **out);
void cairn__history_free(cairn__history *h);
uint32_t cairn__history_depth(const cairn__history *h);
/* Remember a value (doc, field) no longer holds: kept in order, newest
 * first, at most depth of them; a stamp already there is ignored. */
int cairn__history_push(cairn__history *h, const char *doc, const char *field,
                        const cairn_value *v, const cairn_stamp *st);
/* The past values of (doc, field): their number, and *out to read them
 * with cairn__history_item(). */
size_t cairn__history_get(const cairn__history *h, const char *doc,
                          const char *field, const cairn__hfield **out);
void cairn__history_item(const cairn__hfield *f, size_t i, cairn_value *v,
                         cairn_stamp *st);
/* The snapshot section (see history.c); decode pushes into h. */
int cairn__history_encode(const cairn__history *h, cairn_buf *out);
int cairn__history_decode(cairn__history *h, const uint8_t *bytes, size_t len);

/* ---- the store (store.c, capture.c, snapshot.c, open.c) --------------- */

/* Where the snapshot header keeps the last sequence number and clock. */
#define CAIRN__SNAP_SEQ_AT 16
#define CAIRN__SNAP_CLOCK_AT 24

typedef struct cairn__peer_mark {
	uint8_t id[CAIRN_PEER_ID_BYTES];
	uint64_t mark;
} cairn__peer_mark;

/* A value whose field may stop holding it, kept until after the change. */
typedef struct cairn__candidate {
	size_t doc, field; /* offsets of NUL-terminated strings in the arena */
	cairn_value v;     /* STR/BIN bytes: offset in the arena, fixed up */
	size_t bytes;
	cairn_stamp st;
} cairn__candidate;

struct cairn_store {
	cairn__dir dir;
	cairn_store_report *open_report;
	cairn_store_config cfg;
	cairn_replica *r;
	cairn__history *hist;
	int lock_f;
	int log_f;          /* the log being appended to */
	uint64_t log_first; /* its first sequence number */
	uint64_t log_size;  /* its length: the next record goes there */
	uint64_t snap_seq;  /* the last record the snapshot folds in */
	uint64_t snap_bytes;
	uint64_t last_seq;    /* the last record appended */
	uint64_t durable_seq; /* every record up to here is durable */
	bool poisoned;
	bool job_running;
	cairn_delta *scratch; /* the delta of the write under way */
	cairn_delta *pending; /* applied but not yet appended */
	bool has_pending;
	cairn_buf rec; /* a record being framed */
	cairn__peer_mark *peers;
	uint32_t npeers, cappeers;
	/* history candidates of the change under way */
	cairn__candidate *cands;
	uint32_t ncands, capcands;
	cairn_buf arena;
	cairn_buf decls; /* the policies file's payload: every declaration */
	cairn_value *live;
	cairn_stamp *live_st;
	size_t caplive;
	/* the log files cursors can read (cursor.c); the last is log_first */
	cairn__seg *segs;
	uint32_t nsegs, capsegs;
	cairn_log_cursor *cursors; /* the open cursors, a list */
};

/* store.c */
cairn_limits cairn__own_limits(const cairn_store *s);
uint64_t cairn__clock_ms(uint64_t now_ms);
int cairn__poison(cairn_store *s, int rc);
int cairn__log_sync(cairn_store *s);
int cairn__rec_begin(cairn_store *s);
int cairn__append_record(cairn_store *s, uint8_t type);
int cairn__flush_pending(cairn_store *s);
int cairn__join_tracked(cairn_store *s, const cairn_delta *d, uint64_t now,
                        bool *changed);

/* capture.c */
void cairn__capture_reset(cairn_store *s);
int cairn__capture_field(cairn_store *s, const char *doc_id, const char *field);
int cairn__capture_delta(cairn_store *s, const cairn_delta *d);
void cairn__capture_commit(cairn_store *s);
int cairn__live_values(cairn_store *s, const char *doc_id, const char *field,
                       size_t *n);

/* snapshot.c */
int cairn__peer_set(cairn_store *s, const uint8_t *id, uint64_t mark);
int cairn__snapshot_read(cairn__dir *d, cairn_buf *b, bool *found);
int cairn__snapshot_load(cairn_store *s, const cairn_buf *b);
/* Does a checksummed snapshot decode (repair's check)? 0 or ECORRUPT. */
int cairn__snapshot_check(cairn__dir *d, const cairn_buf *b);
int cairn__maybe_compact(cairn_store *s);

typedef struct cairn__log_list {
	uint64_t *first;
	uint32_t n, cap;
	const cairn_allocator *a;
	int rc;
} cairn__log_list;

int cairn__list_logs(cairn__dir *d, cairn__log_list *l);
void cairn__log_list_free(cairn__dir *d, cairn__log_list *l);

/* cursor.c: the segments (see above) */
/* Room for `extra` more segments. 0 or CAIRN_ENOMEM. */
int cairn__segs_reserve(cairn_store *s, uint32_t extra);
/* Drop the n oldest segments: cursors in them lose their file, which is
 * deleted (best effort: a file left behind goes at the next open). */
void cairn__segs_drop(cairn_store *s, uint32_t n);
/* Drop the retained segments beyond cfg.retain_log_bytes. */
void cairn__log_retain(cairn_store *s);
/* Detach the open cursors and free the segments (closing the store). */
void cairn__segs_release(cairn_store *s);

/* open.c */
void cairn__store_release(cairn_store *s);

/* declare.c */
int cairn__decls_load(cairn_store *s);

#endif /* CAIRN_STORE_INT_H */
