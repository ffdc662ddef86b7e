/*
 * fault_vfs.h -- an in-memory file system behind the store's VFS seam
 * (cairn_vfs, include/cairn/store.h) that can fail, tear and crash on
 * command: the tests' model of what a power loss, a kill -9, a full or
 * failing disk can do to the store's files. After SQLite's crash VFS
 * (src/test6.c) and LevelDB's fault-injection Env
 * (db/fault_injection_test.cc); see ../shared/research/reliability-anchors.md
 * section 1.
 *
 * THE MODEL. Files and directories are inodes; directories map names to
 * inodes. Every inode has a *current* state (what reads and listings see)
 * and a *durable* state (what survives a power loss):
 *   - a file's durable content is its content as of its last successful
 *     sync; the writes and truncations since then are kept, in order, as
 *     its unsynced operations;
 *   - a directory's durable entries are its entries as of its last
 *     successful sync_dir. Creating, renaming and unlinking change the
 *     current entries only. A file's sync does not make its name durable
 *     (as on Linux: fsync the directory too).
 * Paths are split on '/'; absolute and relative paths both start at the
 * one root ("a/b" is "/a/b"); "." and ".." are resolved by name. There are
 * no links, permissions or times; the mode given to open and mkdir is kept
 * only so tests can check it (fault_vfs_file_mode).
 *
 * Handles are ints that are never reused, so a stale handle gets -EBADF.
 * A handle follows its inode through renames and unlinks. Locks are
 * open-file locks: two handles conflict even in one process, as with
 * F_OFD_SETLK (cairn_vfs_posix() uses those on Linux); a lock needs a
 * handle open for writing (-EBADF otherwise), as fcntl's write locks do.
 *
 * CRASHES. fault_vfs_crash() is a power loss: every directory reverts to
 * its durable entries, and every file to its durable content plus some of
 * its unsynced operations (see fault_vfs_crash_mode), the last applied
 * write possibly torn at a sector boundary. fault_vfs_kill() is the death
 * of the process alone (kill -9): the page cache survives, so nothing is
 * lost but the open handles and locks. Either may be called at any time,
 * and either ends the "crashed" state that fault_vfs_crash_at() enters.
 *
 * A SYNC THAT FAILS (an injected error on sync) loses the file's unsynced
 * operations the way Linux does after a writeback error: the data stays
 * readable until a crash, but no later sync makes it durable, so a retried
 * fsync that returns 0 has not saved it. The store must poison its handle.
 *
 * FAULTS are armed with a count relative to the moment of arming: n = 1
 * is the next call of that kind. Up to FAULT_VFS_MAX_RULES rules may be
 * armed at once (arming more aborts). Calls are counted whether they
 * succeed or not, and also while crashed.
 *
 * THREAD SAFETY: every function, and every operation of the table returned
 * by fault_vfs_vfs(), may be called from any thread (a mutex serialises
 * them), so the store's sync job may run on another thread. A listing's
 * callback runs without the mutex held and may call the VFS.
 *
 * Memory: allocation failures inside the fault VFS abort the test (this is
 * test support; the failing allocator is for the library's own memory).
 */
#ifndef CAIRN_TEST_FAULT_VFS_H
#define CAIRN_TEST_FAULT_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/store.h"

typedef struct fault_vfs fault_vfs;

/* The kinds of call, one per operation of cairn_vfs, and two classes. */
typedef enum fault_vfs_op {
	FAULT_VFS_OPEN,
	FAULT_VFS_CLOSE,
	FAULT_VFS_READ,
	FAULT_VFS_WRITE,
	FAULT_VFS_SYNC,
	FAULT_VFS_SIZE,
	FAULT_VFS_TRUNCATE,
	FAULT_VFS_RENAME,
	FAULT_VFS_UNLINK,
	FAULT_VFS_MKDIR,
	FAULT_VFS_SYNC_DIR,
	FAULT_VFS_LIST,
	FAULT_VFS_LOCK,
	FAULT_VFS_ANY,        /* every call */
	FAULT_VFS_SYNC_POINT, /* sync and sync_dir: the durability points */
	FAULT_VFS_OP_CLASSES
} fault_vfs_op;

/* What a power loss keeps of a file's unsynced operations. */
typedef enum fault_vfs_crash_mode {
	/* A random prefix of them, in order (any length, none and all
	 * included); if the last one kept is a write that crosses a sector
	 * boundary, half the time only a sector-aligned prefix of it is
	 * kept (a torn write). The default: an append-only log on a disk
	 * that writes in order. */
	FAULT_VFS_CRASH_PREFIX,
	/* Each one kept or dropped at random, the kept ones applied in
	 * order, each kept write possibly torn as above: a disk that
	 * reorders. A file extended by a later write may then have a hole
	 * of zeros where an earlier write was dropped. */
	FAULT_VFS_CRASH_SUBSET,
	/* None: exactly the durable content. */
	FAULT_VFS_CRASH_DROP,
} fault_vfs_crash_mode;

#define FAULT_VFS_SECTOR 512   /* default tear granularity */
#define FAULT_VFS_MAX_RULES 16 /* faults armed at once */

/* ---- life cycle --------------------------------------------------------- */

/* A new, empty file system (just the root directory). Never NULL. */
fault_vfs *fault_vfs_new(void);

/* Free it and everything in it. Handles still open are dropped. NULL is a
 * no-op. */
void fault_vfs_free(fault_vfs *fv);

/* The VFS table to give the store (cfg.vfs). Valid until fault_vfs_free. */
const cairn_vfs *fault_vfs_vfs(fault_vfs *fv);

/* ---- crashes ------------------------------------------------------------ */

/*
 * Power loss, now: directories revert to their durable entries; files to
 * their durable content plus what `mode` keeps of their unsynced
 * operations, chosen by a generator seeded with `seed` (the same seed on
 * the same history gives the same disk); the result becomes the durable
 * state. All handles are closed, all locks dropped (those of
 * fault_vfs_hold_lock() too: every process died), and the crashed state
 * ends. Armed faults stay armed (fault_vfs_clear_faults()).
 */
void fault_vfs_crash(fault_vfs *fv, uint64_t seed);

/* kill -9 of the process using the VFS, now: handles closed, their locks
 * dropped, the crashed state ended; every byte stays as it is (the page
 * cache survives) and what was not durable still is not. Locks taken with
 * fault_vfs_hold_lock() stay: that other process lives on. */
void fault_vfs_kill(fault_vfs *fv);

/* What fault_vfs_crash() keeps (default FAULT_VFS_CRASH_PREFIX), and the
 * granularity of torn writes (a power of two, default FAULT_VFS_SECTOR). */
void fault_vfs_set_crash_mode(fault_vfs *fv, fault_vfs_crash_mode mode);
void fault_vfs_set_sector_size(fault_vfs *fv, size_t sector);

/* Whether a fault_vfs_crash_at() point has been reached and neither
 * fault_vfs_crash() nor fault_vfs_kill() has been called since. */
bool fault_vfs_crashed(fault_vfs *fv);

/* ---- fault injection ---------------------------------------------------- */

/*
 * Fail the nth call of `kind` from now (n >= 1; kind may be FAULT_VFS_ANY
 * or FAULT_VFS_SYNC_POINT) with `err` (a negative errno: -EIO, -ENOSPC,
 * ...). Transient: that call only; persistent: that call and every later
 * one of the kind. A failed call has no effect (a failed close still
 * releases its handle, as close(2) does; a failed sync loses the file's
 * unsynced operations, see above).
 */
void fault_vfs_fail(fault_vfs *fv, fault_vfs_op kind, uint64_t n, int err,
                    bool persistent);

/* Make the nth write from now short: it writes the first half of its bytes
 * (len / 2; a 1-byte write is not shortened) and says so in *put. */
void fault_vfs_short_write(fault_vfs *fv, uint64_t n, bool persistent);

/*
 * Crash at the nth call of `kind` from now: that call does not happen and
 * returns -EIO, and so does every later call (close still releases its
 * handle) until the test calls fault_vfs_crash() (power loss at that
 * point) or fault_vfs_kill() (the process died there). The state at that
 * moment is the state of the crash: nothing after it has any effect.
 */
void fault_vfs_crash_at(fault_vfs *fv, fault_vfs_op kind, uint64_t n);

/* fault_vfs_crash_at(fv, FAULT_VFS_SYNC_POINT, n): crash instead of the
 * nth sync or sync_dir from now. Count a workload's sync points first with
 * fault_vfs_calls(fv, FAULT_VFS_SYNC_POINT), then run it for every n. */
void fault_vfs_crash_at_sync(fault_vfs *fv, uint64_t n);

/* Disarm every fault (a crash already reached stays: see fault_vfs_crash).
 */
void fault_vfs_clear_faults(fault_vfs *fv);

/* The number of calls of `kind` (or of a class) made so far. */
uint64_t fault_vfs_calls(fault_vfs *fv, fault_vfs_op kind);

/* Zero every counter (armed faults keep counting from their own start). */
void fault_vfs_reset_calls(fault_vfs *fv);

/*
 * Another process holds the lock of the file at `path` (created, empty, if
 * missing; its parent must exist): lock calls on it return -EAGAIN until
 * fault_vfs_release_lock() or fault_vfs_crash(). Returns 0, -ENOENT,
 * -ENOTDIR or -EISDIR.
 */
int fault_vfs_hold_lock(fault_vfs *fv, const char *path);
int fault_vfs_release_lock(fault_vfs *fv, const char *path);

/* ---- the disk, for tests ------------------------------------------------ */

/*
 * Create each directory of `path` that is missing, durably (as if made
 * long ago): for test set-up, not counted as calls, never failed.
 * Returns 0, or -ENOTDIR if a component is a file.
 */
int fault_vfs_mkdir_p(fault_vfs *fv, const char *path);

/*
 * A copy of the current (or durable) content of the file at `path`:
 * stores a malloc'd buffer the caller frees in *out (NULL when the file is
 * empty) and its length in *len. Returns 0, -ENOENT, -EISDIR, -ENOTDIR.
 * fault_vfs_durable_bytes() gives what a crash in FAULT_VFS_CRASH_DROP mode
 * would leave, whether or not the file's name is durable.
 */
int fault_vfs_file_bytes(fault_vfs *fv, const char *path, uint8_t **out,
                         size_t *len);
int fault_vfs_durable_bytes(fault_vfs *fv, const char *path, uint8_t **out,
                            size_t *len);

/*
 * Replace the content of the file at `path` with p[0..len), on the disk:
 * current and durable alike, unsynced operations forgotten; a missing file
 * is created with a durable name (its parent must exist). For corrupting
 * and crafting files: bit flips, truncations, garbage. Returns 0, -ENOENT,
 * -ENOTDIR, -EISDIR.
 */
int fault_vfs_set_file_bytes(fault_vfs *fv, const char *path, const void *p,
                             size_t len);

/* Shorthands over the two above: flip bit `bit` (bit 0 is the low bit of
 * byte 0) or cut the file to `len` bytes (never longer). 0, -ENOENT,
 * -ERANGE (bit or len past the end), -EISDIR, -ENOTDIR. */
int fault_vfs_flip_bit(fault_vfs *fv, const char *path, uint64_t bit);
int fault_vfs_truncate_file(fault_vfs *fv, const char *path, size_t len);

/* Whether a file or directory exists at `path` now (current entries). */
bool fault_vfs_exists(fault_vfs *fv, const char *path);

/* The mode the file or directory was created with. 0, -ENOENT, -ENOTDIR.
 */
int fault_vfs_file_mode(fault_vfs *fv, const char *path, unsigned *mode);

/* The number of handles open now (to check that a test closed them). */
size_t fault_vfs_open_handles(fault_vfs *fv);

#endif /* CAIRN_TEST_FAULT_VFS_H */
