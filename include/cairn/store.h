/*
 * cairn/store.h -- a durable local replica: an append-only log of deltas,
 * snapshots, crash recovery, per-field history and JSON export.
 *
 * A store owns a directory and the replica recovered from it. Reads go to
 * the replica (cairn_store_replica()); writes go through the store, which
 * applies them to the replica and appends their delta to the log. A write
 * is *durable* once an fsync that covers it has returned 0; until then a
 * crash may lose it, and nothing else can. docs/STORAGE.md describes the
 * files and the recovery rules.
 *
 * THREAD SAFETY: a store is used by one thread at a time, with one
 * exception: cairn_store_sync_run() may run on another thread (libuv's pool,
 * say) while the owning thread keeps writing; see "Group commit". A
 * store's log cursors are used on its owning thread too.
 * Distinct stores are independent. One process holds a store directory at
 * a time (a lock file); a second open gets CAIRN_EBUSY.
 *
 * ERRORS. Functions return 0 or a negative cairn_err. The operating
 * system's failures map to CAIRN_EIO, CAIRN_EFULL (ENOSPC, EDQUOT) and
 * CAIRN_ENOTFOUND (ENOENT); cairn_store_os_error() keeps the raw errno of
 * the last one. A write that fails leaves the replica as it was and loses
 * nothing that was durable. After a failed fsync the handle is poisoned:
 * every later write returns CAIRN_EPOISONED (the kernel may have dropped
 * the dirty pages, so retrying could report success for lost data); close
 * the store and open it again, which recovers what reached the disk.
 */
#ifndef CAIRN_STORE_H
#define CAIRN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "crdt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* The file-system seam                                                     */
/* ------------------------------------------------------------------------ */

/*
 * Every file-system call the store makes goes through one of these, so a
 * test can inject short writes, ENOSPC, EIO, torn writes and crashes
 * (tests/support/fault_vfs.c), and an embedder can supply its own.
 * cairn_vfs_posix() is the default.
 *
 * Each operation returns 0 or a negative errno (-ENOENT, -EIO, ...): the
 * raw OS code, which the store maps to a cairn_err and keeps. Paths are
 * NUL-terminated and absolute or relative to the process's directory.
 * A file handle is an int chosen by the VFS (the POSIX one uses the fd).
 *
 * open:     flags is a mask of CAIRN_VFS_*; mode applies on create.
 * read:     pread; *got < len only at end of file.
 * write:    pwrite; may write less than asked (*put says how much).
 * sync:     fsync (data_only false) or fdatasync (true).
 * size:     the file's current size.
 * truncate: ftruncate.
 * rename:   atomic replacement of `to`.
 * sync_dir: fsync of a directory, making renames and creations in it
 *           durable.
 * list:     calls fn(name, ud) for each entry of a directory but . and ..;
 *           fn returning non-zero stops the listing (list returns 0).
 * lock:     takes an exclusive advisory lock on an open file without
 *           waiting; -EWOULDBLOCK (or -EAGAIN, -EACCES) if another process
 *           holds it. Released by close.
 */
enum {
	CAIRN_VFS_READ = 1,
	CAIRN_VFS_WRITE = 2,
	CAIRN_VFS_CREATE = 4,
	CAIRN_VFS_EXCL = 8,
	CAIRN_VFS_TRUNC = 16,
};

typedef int (*cairn_vfs_list_fn)(const char *name, void *ud);

typedef struct cairn_vfs {
	void *ud;
	int (*open)(void *ud, const char *path, int flags, unsigned mode,
	            int *out);
	int (*close)(void *ud, int file);
	int (*read)(void *ud, int file, uint64_t off, void *buf, size_t len,
	            size_t *got);
	int (*write)(void *ud, int file, uint64_t off, const void *buf,
	             size_t len, size_t *put);
	int (*sync)(void *ud, int file, bool data_only);
	int (*size)(void *ud, int file, uint64_t *out);
	int (*truncate)(void *ud, int file, uint64_t size);
	int (*rename)(void *ud, const char *from, const char *to);
	int (*unlink)(void *ud, const char *path);
	int (*mkdir)(void *ud, const char *path, unsigned mode);
	int (*sync_dir)(void *ud, const char *path);
	int (*list)(void *ud, const char *dir, cairn_vfs_list_fn fn,
	            void *fn_ud);
	int (*lock)(void *ud, int file);
} cairn_vfs;

/* The POSIX file system (a static table; never NULL). */
CAIRN_API const cairn_vfs *cairn_vfs_posix(void);

/* ------------------------------------------------------------------------ */
/* Opening a store                                                          */
/* ------------------------------------------------------------------------ */

typedef struct cairn_store cairn_store;

/*
 * When a write becomes durable.
 * EVERY: each write call fsyncs before it returns (the default).
 * GROUP: write calls only append; cairn_store_sync() or the sync job
 *        functions below make them durable, so writes issued while one
 *        fsync runs share the next. group_window_ms is how long a driver
 *        should gather writes before it starts an fsync (0: at once).
 * NONE:  never fsync: for tests and benchmarks. A write counts as durable
 *        once appended; a power loss may take it.
 */
typedef enum cairn_sync_policy {
	CAIRN_SYNC_EVERY = 0,
	CAIRN_SYNC_GROUP = 1,
	CAIRN_SYNC_NONE = 2,
} cairn_sync_policy;

#define CAIRN_STORE_DEFAULT_HISTORY 16
#define CAIRN_STORE_DEFAULT_MAX_RECORD (UINT32_C(64) << 20)
#define CAIRN_STORE_DEFAULT_COMPACT_BYTES (UINT64_C(64) << 20)
#define CAIRN_STORE_DEFAULT_RETAIN_BYTES (UINT64_C(64) << 20)

typedef struct cairn_store_config {
	/* The replica: its id, source priority, limits, allocator. The id
	 * is recorded when the store is created and must match on every
	 * later open; 0 means "the recorded one" (creating a store needs a
	 * real id). hlc_resume is ignored: the store resumes from the clock
	 * it persisted. */
	cairn_replica_config replica;
	cairn_sync_policy sync;     /* default CAIRN_SYNC_EVERY */
	uint32_t group_window_ms;   /* GROUP only; default 0 */
	uint32_t history_depth;     /* values kept per register; default 16,
	                               0 keeps none */
	uint32_t max_record_bytes;  /* cap on one log record, checked before
	                               any allocation; default 64 MiB */
	uint64_t compact_log_bytes; /* compact when the log grows past this
	                               and past the snapshot's size; 0 never
	                               (only on request); default 64 MiB */
	bool create;                /* make the directory and an empty store
	                               if there is none; default true */
	const cairn_vfs *vfs;       /* default cairn_vfs_posix() */
	/* Log files a compaction has folded into the snapshot are kept, the
	 * newest first, as long as together they stay within this many
	 * bytes, so that a cursor (cairn_store_cursor_open) can still start
	 * before the snapshot: a peer that was away for a while catches up
	 * from the log. 0 keeps none. Default
	 * CAIRN_STORE_DEFAULT_RETAIN_BYTES (64 MiB). A config of the size
	 * this struct had before this field (cairn 0.1) is accepted by
	 * cairn_store_open_() and gets the default. */
	uint64_t retain_log_bytes;
} cairn_store_config;

/* Fill *cfg with the defaults (replica id 0: the caller must set one). */
CAIRN_API void cairn_store_config_init(cairn_store_config *cfg);

/*
 * What open, repair and the sync functions found, for a human and for a
 * program. Every field is set by the call it is passed to (zero when it
 * does not apply).
 */
typedef struct cairn_store_report {
	int os_error;        /* raw errno of the failing call */
	char path[512];      /* the file concerned */
	uint64_t offset;     /* ECORRUPT: offset of the first bad byte */
	long holder_pid;     /* EBUSY: the process holding the store */
	uint64_t records;    /* log records replayed */
	uint64_t torn_bytes; /* bytes of a torn tail that were cut off */
	char message[512];   /* one sentence saying what happened */
} cairn_store_report;

/*
 * Open the store in directory `dir`, recovering its replica: the snapshot,
 * then the log records after it, in order. A torn tail (a record cut short
 * by a crash, which cannot have been reported durable) is truncated. Log
 * files the snapshot already holds are not replayed: those within
 * cfg.retain_log_bytes are kept for cursors (a damaged or missing one
 * only shortens what cursors can read, and never stops the open), the
 * others are deleted.
 * Use the cairn_store_open() macro (it passes the config's size).
 * `report` may be NULL.
 * Returns 0 and stores the handle in *out, or:
 *   CAIRN_EBUSY      another process holds the directory (report names
 *                    its pid);
 *   CAIRN_ECORRUPT   a record before the tail, the snapshot or the meta
 *                    file fails its checksum (report gives file and offset);
 *                    nothing is changed: see cairn_store_repair();
 *   CAIRN_ENOTFOUND  no store there and cfg->create is false;
 *   CAIRN_EINVAL     the directory belongs to another replica id, or a bad
 *                    config; CAIRN_EVERSION (config size or an unknown file
 *                    format); CAIRN_EIO, CAIRN_EFULL, CAIRN_ENOMEM.
 * cfg_size is sizeof(cairn_store_config), or the size of the struct
 * before retain_log_bytes was added (that field then gets its default).
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_open_(const char *dir,
                                                const cairn_store_config *cfg,
                                                size_t cfg_size,
                                                cairn_store **out,
                                                cairn_store_report *report);
#define cairn_store_open(dir, cfg, out, report)                                \
	cairn_store_open_((dir), (cfg), sizeof(cairn_store_config), (out),     \
	                  (report))

/*
 * Repair a store that cairn_store_open() refused with CAIRN_ECORRUPT:
 * keep the longest good prefix of the log (records up to the first bad
 * one), drop everything after it, and report what was dropped. The store
 * must not be open. A corrupt snapshot or meta file cannot be repaired
 * (CAIRN_ECORRUPT again). Returns 0 (also when there was nothing to
 * repair), CAIRN_EBUSY, CAIRN_ENOTFOUND, CAIRN_EIO, CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_repair(const char *dir,
                                                 const cairn_vfs *vfs,
                                                 cairn_store_report *report);

/*
 * Close the store: under EVERY and GROUP, an fsync of what is not yet
 * durable; then everything is released, the lock too, whatever the result.
 * Returns 0; the fsync's error or that of appending held writes (then the
 * writes since the last durable point may be lost); CAIRN_EPOISONED if an
 * fsync failed earlier and some writes never became durable. NULL is a
 * no-op returning 0. No sync job may be running. Cursors still open are
 * detached (cairn_store_cursor_close() remains to be called on them).
 */
CAIRN_API int cairn_store_close(cairn_store *s);

/* The recovered replica. Read it freely; write through the store. */
CAIRN_API const cairn_replica *cairn_store_replica(const cairn_store *s);

/* The raw errno of the last OS failure, or 0. */
CAIRN_API int cairn_store_os_error(const cairn_store *s);

/* ------------------------------------------------------------------------ */
/* Writes                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Local writes, as cairn_doc_set/del/add/rm on the store's replica, with
 * the clock read here (wall-clock ms; 0 reads the system clock). Each is
 * applied to the replica and appended to the log as one record; *seq (may
 * be NULL) receives that record's sequence number. Under EVERY the call
 * returns once the record is durable.
 * If `delta` is not NULL the write's delta is also joined into it (to send
 * to peers).
 * Returns 0 or an error of the cairn_doc_* call (CAIRN_EINVAL, CAIRN_EKIND,
 * CAIRN_EEXIST, CAIRN_ENOTFOUND, ...: then nothing changed), or of the log:
 *   CAIRN_EFULL, CAIRN_EIO  the record could not be appended (whatever part
 *                           reached the file is cut back out). The write
 *                           is applied to the replica and held in memory:
 *                           the next write or sync that succeeds appends
 *                           it. It is not durable until then, and a crash
 *                           before then loses it;
 *   CAIRN_EPOISONED         an fsync failed earlier: nothing changed.
 * If the append succeeded but the fsync failed, the write is applied, not
 * durable, the handle poisoned, and the fsync's error returned.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_store_set(cairn_store *s, const char *doc_id, const char *field,
                const cairn_value *v, uint64_t now_ms, cairn_delta *delta,
                uint64_t *seq);
CAIRN_API CAIRN_NODISCARD int
cairn_store_del(cairn_store *s, const char *doc_id, const char *field,
                cairn_delta *delta, uint64_t *seq);
CAIRN_API CAIRN_NODISCARD int
cairn_store_add(cairn_store *s, const char *doc_id, const char *field,
                const cairn_value *elem, cairn_delta *delta, uint64_t *seq);
CAIRN_API CAIRN_NODISCARD int cairn_store_rm(cairn_store *s, const char *doc_id,
                                             const char *field,
                                             const cairn_value *elem,
                                             cairn_delta *delta, uint64_t *seq);

/*
 * Join a delta from elsewhere (a peer, an import) into the replica and
 * log it, as cairn_replica_join(). *changed (may be NULL) is set to true
 * if the replica's state changed; a delta that changes nothing is not
 * logged (*seq is then the last sequence number). Returns 0 or an error of
 * cairn_replica_join() (the replica unchanged) or of the log as above.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_join(cairn_store *s,
                                               const cairn_delta *d,
                                               uint64_t now_ms, bool *changed,
                                               uint64_t *seq);

/*
 * Declare a register policy (cairn_replica_declare()), and keep the
 * declaration with the data (the file `policies`): every later open makes
 * it again before it replays the snapshot and the log, which may hold
 * registers under it. Repeating a declaration is harmless. Returns 0, an
 * error of cairn_replica_declare() (nothing kept), or CAIRN_EIO /
 * CAIRN_EFULL from writing the file (then the declaration holds for this
 * handle only).
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_declare(cairn_store *s,
                                                  const char *prefix,
                                                  const char *field,
                                                  cairn_policy policy);

/* ------------------------------------------------------------------------ */
/* Durability and group commit                                              */
/* ------------------------------------------------------------------------ */

/* The sequence number of the last record appended (0: none yet). */
CAIRN_API uint64_t cairn_store_last_seq(const cairn_store *s);

/* Every record up to this sequence number is durable. */
CAIRN_API uint64_t cairn_store_durable_seq(const cairn_store *s);

/*
 * Make every appended record durable now, on this thread. Returns 0,
 * CAIRN_EPOISONED, or the fsync's error (CAIRN_EIO, CAIRN_EFULL), which
 * poisons the handle. Under NONE it returns 0 at once.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_sync(cairn_store *s);

/*
 * Group commit, for a driver with a thread pool (libuv's, say):
 *   job = cairn_store_sync_begin(s)  on the owning thread; NULL when there
 *                                    is nothing to sync or a job is
 *                                    already running;
 *   cairn_store_sync_run(job)        on any thread: the fsync;
 *   cairn_store_sync_end(s, job)     on the owning thread, after run: marks
 *                                    the records the job covered durable
 *                                    (or poisons the handle) and frees the
 *                                    job; returns the fsync's result.
 * Writes made while a job runs are appended and covered by the next one.
 * The owning thread may write, but not compact or close, while a job runs.
 */
typedef struct cairn_sync_job cairn_sync_job;
CAIRN_API cairn_sync_job *cairn_store_sync_begin(cairn_store *s);
CAIRN_API void cairn_store_sync_run(cairn_sync_job *job);
CAIRN_API CAIRN_NODISCARD int cairn_store_sync_end(cairn_store *s,
                                                   cairn_sync_job *job);

/* The store's sync policy. */
CAIRN_API cairn_sync_policy cairn_store_sync_policy(const cairn_store *s);

/* The config's group window, for a driver (ms). */
CAIRN_API uint32_t cairn_store_group_window(const cairn_store *s);

/* ------------------------------------------------------------------------ */
/* Compaction                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Fold the log into a new snapshot: write it (tmp, fsync, rename, fsync of
 * the directory), start a new log, and drop the old log files but the
 * newest that fit in retain_log_bytes (kept for cursors). Runs on its own
 * when the log passes compact_log_bytes (inside the write that crosses it).
 * Everything appended before is durable afterwards. Returns 0,
 * CAIRN_EPOISONED, CAIRN_EIO, CAIRN_EFULL (the old snapshot and log stay in
 * force), CAIRN_ENOMEM, CAIRN_EINVAL while a sync job runs.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_compact(cairn_store *s);

/* Bytes in the current log and in the snapshot. */
CAIRN_API uint64_t cairn_store_log_bytes(const cairn_store *s);
CAIRN_API uint64_t cairn_store_snapshot_bytes(const cairn_store *s);

/* ------------------------------------------------------------------------ */
/* Reading the log back: cursors                                            */
/* ------------------------------------------------------------------------ */

/*
 * Every record the store appends gets the next sequence number (1, 2, 3,
 * ...; cairn_store_last_seq() is the last). A cursor reads the *delta*
 * records back in that order, from a given sequence number on: what the
 * sync protocol streams to a peer that has acknowledged everything before
 * it. Each delta is the canonical encoding (docs/ENCODING.md) of what the
 * write or join logged, exactly the bytes the store wrote and checksummed:
 * ready to send as they are, and to decode with cairn_delta_decode().
 * Records of other kinds (peer marks) are skipped, but they have sequence
 * numbers too, so the numbers a cursor delivers may jump: use
 * cairn_store_cursor_pos() to say how far a peer has been served.
 *
 * What a cursor can reach: the log files after the snapshot, and the
 * older files compaction keeps within cfg.retain_log_bytes (the newest
 * first). cairn_store_log_first() is where that begins. A cursor delivers
 * only appended records (sequence numbers up to cairn_store_last_seq()),
 * durable or not; a write the store holds because its append failed
 * (CAIRN_EFULL, CAIRN_EIO) is delivered once it is appended (within the
 * record of the write or sync that appends it).
 *
 * A cursor keeps its file open and its place in it: each call reads on
 * from there, through the store's VFS, with a buffer of at most 64 KiB
 * (larger only for a record that does not fit, up to max_record_bytes,
 * and given back on the next call; none while the cursor has caught up).
 * Writes, syncs and compactions may come between its calls, and several
 * cursors may be open at once (one per peer link, say). A compaction that
 * drops a file a cursor still has to read (the file fell out of the
 * retention) makes that cursor's next call return CAIRN_ENOTFOUND.
 *
 * Damage. The files after the snapshot are checked when the store opens
 * (see cairn_store_open). A retained file, one the snapshot already
 * holds, is only checked for its header at open: damage inside it, or
 * records missing between it and the next file, is found by the cursor
 * that gets there, which returns CAIRN_ECORRUPT after delivering every
 * good record before the damage. The store then stops offering that file
 * and the older ones (cairn_store_log_first() moves past them, and they
 * are deleted): nothing is lost, since the snapshot holds their records,
 * but a peer that needs them must be brought up to date another way.
 * Damage a cursor finds after the snapshot (the disk failing under a
 * running store) is damage to durable data: the cursor returns
 * CAIRN_ECORRUPT each time it gets there, and the next open refuses the
 * store until it is repaired.
 *
 * THREAD SAFETY: cursors are used on the store's owning thread only,
 * between its other calls (never from a thread running
 * cairn_store_sync_run()).
 */
typedef struct cairn_log_cursor cairn_log_cursor;

/*
 * The lowest sequence number a cursor can start from: records before it
 * are only in the snapshot. cairn_store_last_seq() + 1 when the log holds
 * no record a cursor could read (a new store; after a compaction with
 * retain_log_bytes 0 and no write since).
 */
CAIRN_API uint64_t cairn_store_log_first(const cairn_store *s);

/*
 * Open a cursor at the first record with a sequence number >= from_seq
 * and store it in *out (owned by the caller: cairn_store_cursor_close()).
 * from_seq == cairn_store_last_seq() + 1 is a cursor with nothing to read
 * yet, which delivers the writes to come.
 * Returns 0, or:
 *   CAIRN_ENOTFOUND  from_seq < cairn_store_log_first(): the log no
 *                    longer covers it; the caller must fall back (for a
 *                    peer: per-document contexts or a snapshot). Also
 *                    when a file it needs has gone missing;
 *   CAIRN_EINVAL     from_seq is 0 or > cairn_store_last_seq() + 1, or a
 *                    NULL argument;
 *   CAIRN_ECORRUPT   the file holding from_seq is damaged (see "Damage");
 *   CAIRN_ENOMEM, CAIRN_EIO.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_cursor_open(cairn_store *s,
                                                      uint64_t from_seq,
                                                      cairn_log_cursor **out);

/*
 * The next delta record: its sequence number in *seq, and in *delta and
 * *len its payload, which stays valid until the next call on this cursor
 * or its close. Records of other kinds are passed over.
 * Returns 0, or:
 *   CAIRN_EAGAIN     nothing more is appended now (the cursor's position
 *                    is cairn_store_last_seq() + 1); call again after more
 *                    writes to go on from here;
 *   CAIRN_ENOTFOUND  the file the cursor needs was dropped (compaction
 *                    past the retention) or is missing: this cursor is
 *                    done, the caller must fall back;
 *   CAIRN_ECORRUPT   a record fails its checksum or framing (see
 *                    "Damage"); the cursor stays where it was;
 *   CAIRN_EIO        a read failed (cairn_store_os_error() has the
 *                    errno); the cursor stays where it was and a later
 *                    call tries again;
 *   CAIRN_ENOMEM     (likewise);
 *   CAIRN_EINVAL     a NULL argument, or the store was closed.
 * On an error *seq, *delta and *len are not set.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_cursor_next(cairn_log_cursor *c,
                                                      uint64_t *seq,
                                                      const uint8_t **delta,
                                                      size_t *len);

/*
 * The sequence number the cursor reads next: every record before it has
 * been delivered or passed over (a peer served through this cursor has
 * been sent everything up to pos - 1). Set by open to from_seq.
 */
CAIRN_API uint64_t cairn_store_cursor_pos(const cairn_log_cursor *c);

/*
 * Close a cursor and free it. NULL is a no-op. A cursor may be closed
 * after its store: cairn_store_close() detaches the cursors still open
 * (their calls then return CAIRN_EINVAL), and they must still be closed.
 */
CAIRN_API void cairn_store_cursor_close(cairn_log_cursor *c);

/* ------------------------------------------------------------------------ */
/* History                                                                  */
/* ------------------------------------------------------------------------ */

/* One value a register held or was written with. */
typedef struct cairn_history_entry {
	cairn_value value; /* points into the store, see cairn_store_history */
	cairn_stamp stamp; /* author replica, HLC, source priority */
	bool live;         /* a current value of the register */
} cairn_history_entry;

/*
 * The last history_depth values of a register, newest (greatest HLC,
 * then replica id) first: its live values, and the values it held or was
 * written with before, however they arrived (local writes, joins), as far
 * back as this store has seen. Stores the count in *n; writes out[0..*n)
 * if *n <= cap and returns 0, else writes nothing and returns
 * CAIRN_ESPACE. An unknown field has an empty history (0, *n = 0).
 * Values point into the store until its next write, join or close.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_store_history(const cairn_store *s, const char *doc_id, const char *field,
                    cairn_history_entry *out, size_t cap, size_t *n);

/* ------------------------------------------------------------------------ */
/* Small files: identity keys, peer progress                                */
/* ------------------------------------------------------------------------ */

/*
 * Named secrets and settings kept beside the data (identity keys, the mesh
 * key), each in its own file of mode 0600, replaced atomically and
 * durably. name: 1..64 bytes of [a-z0-9_-].
 * put: 0, CAIRN_EINVAL, CAIRN_ETOOBIG (over 64 KiB), CAIRN_EIO, CAIRN_EFULL.
 * get: stores the length in *len; copies the bytes if *len <= cap and
 * returns 0, else copies nothing and returns CAIRN_ESPACE; CAIRN_ENOTFOUND;
 * CAIRN_ECORRUPT (checksum); CAIRN_EIO.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_secret_put(cairn_store *s,
                                                     const char *name,
                                                     const void *data,
                                                     size_t len);
CAIRN_API CAIRN_NODISCARD int cairn_store_secret_get(const cairn_store *s,
                                                     const char *name,
                                                     void *data, size_t cap,
                                                     size_t *len);

/*
 * Per-peer sync progress: an opaque 64-bit mark per peer id (32 bytes),
 * logged like a delta (durable by the same rules) and kept across
 * compaction. get: 0 and *mark, or CAIRN_ENOTFOUND.
 */
#define CAIRN_PEER_ID_BYTES 32
CAIRN_API CAIRN_NODISCARD int
cairn_store_peer_put(cairn_store *s, const uint8_t peer[CAIRN_PEER_ID_BYTES],
                     uint64_t mark);
CAIRN_API CAIRN_NODISCARD int
cairn_store_peer_get(const cairn_store *s,
                     const uint8_t peer[CAIRN_PEER_ID_BYTES], uint64_t *mark);

/* ------------------------------------------------------------------------ */
/* Export and import                                                        */
/* ------------------------------------------------------------------------ */

/*
 * Append the whole replica as JSON (docs/JSON.md) to *out: documents ->
 * fields -> values or sorted set members. 0 or CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_export(const cairn_store *s,
                                                 cairn_buf *out);

/*
 * Import JSON in the export format: every value is written as a local
 * write of this replica (registers set, set members added), durably as
 * the policy says. A register exported with several concurrent values
 * ({"values": [...]}) gets the first one, its winner: one replica's write
 * cannot recreate concurrency. Writes are stamped from now_ms (0: the
 * system clock), a millisecond further every 65,536 writes.
 * The whole input and every write are checked first (syntax, ids, value
 * sizes, kinds and first-writer-wins fields against the replica), so a
 * refused import writes nothing; only CAIRN_ENOMEM or an I/O error in the
 * middle can leave a part written (*written says how much).
 * *written (may be NULL) receives the number of writes made.
 * Returns 0, CAIRN_EDECODE (malformed JSON, with the byte offset in
 * report->offset when report is not NULL), CAIRN_EKIND, CAIRN_ETOOBIG,
 * CAIRN_ELIMIT, or a write error.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_import(cairn_store *s,
                                                 const char *json, size_t len,
                                                 uint64_t now_ms,
                                                 size_t *written,
                                                 cairn_store_report *report);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_STORE_H */
