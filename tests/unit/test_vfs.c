/*
 * test_vfs.c -- the two file systems behind the store's VFS seam: the POSIX
 * one (store/posix/vfs_posix.c), on a temporary directory, and the tests'
 * fault-injecting one (tests/support/fault_vfs.c), whose crash model the
 * store's crash tests rely on and so must be right itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn/store.h"
#include "fault_vfs.h"
#include "os_int.h"
#include "rng.h"

#define OK(x) assert_int_equal((x), 0)

#define RW (CAIRN_VFS_READ | CAIRN_VFS_WRITE)
#define NEW (RW | CAIRN_VFS_CREATE)

/* ---- helpers over any VFS ----------------------------------------------- */

static void put_at(const cairn_vfs *v, int f, uint64_t off, const void *p,
                   size_t n)
{
	size_t put = 0;
	OK(v->write(v->ud, f, off, p, n, &put));
	assert_int_equal(put, n);
}

/* Create (or replace) a file holding `s`; sync it if asked. */
static void write_file(const cairn_vfs *v, const char *path, const char *s,
                       bool sync)
{
	int f;
	OK(v->open(v->ud, path, NEW | CAIRN_VFS_TRUNC, 0644, &f));
	put_at(v, f, 0, s, strlen(s));
	if (sync)
		OK(v->sync(v->ud, f, false));
	OK(v->close(v->ud, f));
}

/* Whether the file at path holds exactly the string `s`. */
static bool holds(const cairn_vfs *v, const char *path, const char *s)
{
	int f;
	if (v->open(v->ud, path, CAIRN_VFS_READ, 0, &f) != 0)
		return false;
	char buf[256];
	size_t got = 0;
	int rc = v->read(v->ud, f, 0, buf, sizeof buf, &got);
	OK(v->close(v->ud, f));
	return rc == 0 && got == strlen(s) && memcmp(buf, s, got) == 0;
}

typedef struct names {
	char v[16][64];
	size_t n;
	size_t stop_after; /* 0: never stop */
} names;

static int collect(const char *name, void *ud)
{
	names *ns = ud;
	assert_true(ns->n < 16);
	snprintf(ns->v[ns->n++], sizeof ns->v[0], "%s", name);
	return ns->stop_after != 0 && ns->n >= ns->stop_after;
}

static bool listed(const names *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return true;
	return false;
}

/* ---- the POSIX VFS ------------------------------------------------------ */

typedef struct tmpdir {
	char dir[64];
} tmpdir;

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			char sub[512];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			rm_rf(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int tmp_setup(void **state)
{
	tmpdir *t = calloc(1, sizeof *t);
	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof t->dir, "/tmp/cairn-test-vfs-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	tmpdir *t = *state;
	rm_rf(t->dir);
	free(t);
	return 0;
}

static void tpath(char *out, size_t cap, void **state, const char *name)
{
	const tmpdir *t = *state;
	snprintf(out, cap, "%s/%s", t->dir, name);
}

static void test_posix_files(void **state)
{
	const cairn_vfs *v = cairn_vfs_posix();
	assert_non_null(v);
	assert_ptr_equal(v, cairn_vfs_posix());
	char p[256];
	tpath(p, sizeof p, state, "f");
	int f;

	/* Bad flags; missing file. */
	assert_int_equal(v->open(v->ud, p, 0, 0644, &f), -EINVAL);
	assert_int_equal(v->open(v->ud, p, CAIRN_VFS_READ | 64, 0644, &f),
	                 -EINVAL);
	assert_int_equal(v->open(v->ud, p, RW, 0644, &f), -ENOENT);

	OK(v->open(v->ud, p, NEW | CAIRN_VFS_EXCL, 0600, &f));
	struct stat st;
	OK(stat(p, &st));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Close-on-exec, so a child the embedder spawns does not inherit the
	 * store's files (or its lock). */
	assert_true(fcntl(f, F_GETFD) & FD_CLOEXEC);

	put_at(v, f, 0, "hello", 5);
	put_at(v, f, 10, "world", 5); /* leaves a hole of zeros */
	uint64_t size = 0;
	OK(v->size(v->ud, f, &size));
	assert_int_equal(size, 15);

	char buf[32];
	size_t got = 99;
	OK(v->read(v->ud, f, 0, buf, sizeof buf, &got));
	assert_int_equal(got, 15); /* short only at end of file */
	assert_memory_equal(buf, "hello\0\0\0\0\0world", 15);
	OK(v->read(v->ud, f, 12, buf, 2, &got));
	assert_int_equal(got, 2);
	assert_memory_equal(buf, "rl", 2);
	OK(v->read(v->ud, f, 100, buf, 4, &got));
	assert_int_equal(got, 0);

	OK(v->sync(v->ud, f, true));
	OK(v->sync(v->ud, f, false));
	OK(v->truncate(v->ud, f, 3));
	OK(v->size(v->ud, f, &size));
	assert_int_equal(size, 3);
	OK(v->truncate(v->ud, f, 8)); /* grows with zeros */
	OK(v->read(v->ud, f, 0, buf, sizeof buf, &got));
	assert_int_equal(got, 8);
	assert_memory_equal(buf, "hel\0\0\0\0\0", 8);
	OK(v->close(v->ud, f));

	/* EXCL on an existing file; TRUNC empties it. */
	assert_int_equal(v->open(v->ud, p, NEW | CAIRN_VFS_EXCL, 0600, &f),
	                 -EEXIST);
	OK(v->open(v->ud, p, RW | CAIRN_VFS_TRUNC, 0, &f));
	OK(v->size(v->ud, f, &size));
	assert_int_equal(size, 0);
	OK(v->close(v->ud, f));

	/* A read-only handle cannot write, a write-only one cannot read. */
	OK(v->open(v->ud, p, CAIRN_VFS_READ, 0, &f));
	size_t put = 7;
	assert_int_equal(v->write(v->ud, f, 0, "x", 1, &put), -EBADF);
	assert_int_equal(put, 0);
	OK(v->close(v->ud, f));
	OK(v->open(v->ud, p, CAIRN_VFS_WRITE, 0, &f));
	assert_int_equal(v->read(v->ud, f, 0, buf, 1, &got), -EBADF);
	OK(v->close(v->ud, f));

	/* A closed descriptor. */
	assert_int_equal(v->close(v->ud, f), -EBADF);
	assert_int_equal(v->size(v->ud, f, &size), -EBADF);
	assert_int_equal(v->sync(v->ud, f, false), -EBADF);
	assert_int_equal(v->truncate(v->ud, f, 0), -EBADF);

	/* Opening a directory for writing. */
	const tmpdir *t = *state;
	assert_int_equal(v->open(v->ud, t->dir, RW, 0, &f), -EISDIR);
}

static void test_posix_dirs(void **state)
{
	const cairn_vfs *v = cairn_vfs_posix();
	const tmpdir *t = *state;
	char d[256], a[256], b[256], c[256], x[256];
	tpath(d, sizeof d, state, "d");
	tpath(a, sizeof a, state, "d/a");
	tpath(b, sizeof b, state, "d/b");
	tpath(c, sizeof c, state, "d/c");
	tpath(x, sizeof x, state, "missing/x");

	OK(v->mkdir(v->ud, d, 0700));
	assert_int_equal(v->mkdir(v->ud, d, 0700), -EEXIST);
	assert_int_equal(v->mkdir(v->ud, x, 0700), -ENOENT);
	OK(v->sync_dir(v->ud, d));
	OK(v->sync_dir(v->ud, t->dir));
	assert_int_equal(v->sync_dir(v->ud, x), -ENOENT);

	write_file(v, a, "A", true);
	write_file(v, b, "B", true);
	assert_int_equal(v->sync_dir(v->ud, a), -ENOTDIR);

	names ns = {0};
	OK(v->list(v->ud, d, collect, &ns));
	assert_int_equal(ns.n, 2);
	assert_true(listed(&ns, "a") && listed(&ns, "b"));
	ns = (names){.stop_after = 1};
	OK(v->list(v->ud, d, collect, &ns));
	assert_int_equal(ns.n, 1);
	assert_int_equal(v->list(v->ud, x, collect, &ns), -ENOENT);

	/* rename: to a new name, then atomically over an existing file. */
	OK(v->rename(v->ud, a, c));
	assert_false(holds(v, a, "A"));
	assert_true(holds(v, c, "A"));
	OK(v->rename(v->ud, c, b));
	assert_true(holds(v, b, "A"));
	assert_int_equal(v->rename(v->ud, c, b), -ENOENT);
	OK(v->sync_dir(v->ud, d));

	OK(v->unlink(v->ud, b));
	assert_int_equal(v->unlink(v->ud, b), -ENOENT);
	ns = (names){0};
	OK(v->list(v->ud, d, collect, &ns));
	assert_int_equal(ns.n, 0);
}

/*
 * The lock: a child process takes it; we must get EWOULDBLOCK/EAGAIN/EACCES
 * until it exits, then take it ourselves.
 */
static void test_posix_lock(void **state)
{
	const cairn_vfs *v = cairn_vfs_posix();
	char p[256];
	tpath(p, sizeof p, state, "LOCK");
	int f;
	OK(v->open(v->ud, p, NEW, 0644, &f));
	OK(v->close(v->ud, f));

	int up[2], down[2];
	OK(pipe(up));
	OK(pipe(down));
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* The child: no cmocka here, just a status. */
		int cf;
		char ch = 'x';
		int st = v->open(v->ud, p, RW, 0, &cf) == 0 &&
		                         v->lock(v->ud, cf) == 0
		                 ? 0
		                 : 1;
		if (write(up[1], &ch, 1) != 1 || read(down[0], &ch, 1) != 1)
			st = 2;
		_exit(st);
	}
	char ch;
	assert_int_equal(read(up[0], &ch, 1), 1);

	OK(v->open(v->ud, p, RW, 0, &f));
	int rc = v->lock(v->ud, f);
	assert_true(rc == -EWOULDBLOCK || rc == -EAGAIN || rc == -EACCES);

	assert_int_equal(write(down[1], "x", 1), 1);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	OK(v->lock(v->ud, f));
	OK(v->lock(v->ud, f)); /* again on the same handle: still ours */

#ifdef __linux__
	/* Open-file-description locks: a second handle in this same process
	 * conflicts too, so one process cannot open a store twice. */
	int g;
	OK(v->open(v->ud, p, RW, 0, &g));
	rc = v->lock(v->ud, g);
	assert_true(rc == -EWOULDBLOCK || rc == -EAGAIN || rc == -EACCES);
	OK(v->close(v->ud, g));
	/* ... and closing that second handle did not drop our lock. */
	OK(v->open(v->ud, p, RW, 0, &g));
	rc = v->lock(v->ud, g);
	assert_true(rc == -EWOULDBLOCK || rc == -EAGAIN || rc == -EACCES);
	OK(v->close(v->ud, g));
#endif
	OK(v->close(v->ud, f));
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void test_os(void **state)
{
	(void)state;
	uint64_t before = (uint64_t)time(NULL) * 1000;
	uint64_t ms = cairn__os_wall_ms();
	uint64_t after = (uint64_t)time(NULL) * 1000 + 1000;
	assert_true(ms >= before && ms <= after);
	assert_int_equal(cairn__os_pid(), (long)getpid());
}

/* ---- the fault VFS: the file system itself ------------------------------ */

static void test_fault_basic(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/s/d"));
	int f;

	assert_int_equal(v->open(v->ud, "/s/d/f", RW, 0, &f), -ENOENT);
	assert_int_equal(v->open(v->ud, "/nope/f", NEW, 0, &f), -ENOENT);
	assert_int_equal(v->open(v->ud, "/s/d/f", 0, 0, &f), -EINVAL);
	assert_int_equal(v->open(v->ud, "/s/d", RW, 0, &f), -EISDIR);
	OK(v->open(v->ud, "/s/d/f", NEW | CAIRN_VFS_EXCL, 0600, &f));
	unsigned mode = 0;
	OK(fault_vfs_file_mode(fv, "/s/d/f", &mode));
	assert_int_equal(mode, 0600);
	assert_int_equal(v->open(v->ud, "/s/d/f/g", NEW, 0, &f), -ENOTDIR);

	put_at(v, f, 0, "hello", 5);
	put_at(v, f, 10, "world", 5);
	uint64_t size;
	OK(v->size(v->ud, f, &size));
	assert_int_equal(size, 15);
	char buf[32];
	size_t got;
	OK(v->read(v->ud, f, 0, buf, sizeof buf, &got));
	assert_int_equal(got, 15);
	assert_memory_equal(buf, "hello\0\0\0\0\0world", 15);
	OK(v->read(v->ud, f, 20, buf, 4, &got));
	assert_int_equal(got, 0);
	OK(v->truncate(v->ud, f, 2));
	OK(v->read(v->ud, f, 0, buf, sizeof buf, &got));
	assert_int_equal(got, 2);
	OK(v->close(v->ud, f));
	assert_int_equal(v->close(v->ud, f), -EBADF); /* ids are not reused */
	assert_int_equal(v->size(v->ud, f, &size), -EBADF);

	int g;
	assert_int_equal(v->open(v->ud, "/s/d/f", NEW | CAIRN_VFS_EXCL, 0, &g),
	                 -EEXIST);
	OK(v->open(v->ud, "s/./d/../d/f", CAIRN_VFS_READ, 0,
	           &g)); /* relative */
	size_t put = 9;
	assert_int_equal(v->write(v->ud, g, 0, "x", 1, &put), -EBADF);
	assert_int_equal(put, 0);
	assert_int_equal(v->truncate(v->ud, g, 0), -EINVAL);
	assert_int_equal(v->lock(v->ud, g), -EBADF); /* write locks need W */
	OK(v->close(v->ud, g));

	/* Directories, renames, unlinks, listings. */
	assert_int_equal(v->mkdir(v->ud, "/s/d", 0700), -EEXIST);
	assert_int_equal(v->mkdir(v->ud, "/x/y", 0700), -ENOENT);
	OK(v->mkdir(v->ud, "/s/d/sub", 0700));
	assert_int_equal(v->sync_dir(v->ud, "/s/d/f"), -ENOTDIR);
	assert_int_equal(v->sync_dir(v->ud, "/s/none"), -ENOENT);
	write_file(v, "/s/d/g", "G", false);
	names ns = {0};
	OK(v->list(v->ud, "/s/d", collect, &ns));
	assert_int_equal(ns.n, 3);
	assert_true(listed(&ns, "f") && listed(&ns, "g") && listed(&ns, "sub"));
	ns = (names){.stop_after = 2};
	OK(v->list(v->ud, "/s/d", collect, &ns));
	assert_int_equal(ns.n, 2);
	assert_int_equal(v->list(v->ud, "/s/d/f", collect, &ns), -ENOTDIR);

	OK(v->rename(v->ud, "/s/d/g", "/s/d/f")); /* replaces f */
	assert_true(holds(v, "/s/d/f", "G"));
	assert_false(fault_vfs_exists(fv, "/s/d/g"));
	assert_int_equal(v->rename(v->ud, "/s/d/g", "/s/d/h"), -ENOENT);
	assert_int_equal(v->rename(v->ud, "/s/d/f", "/s/d/sub"), -EISDIR);
	assert_int_equal(v->rename(v->ud, "/s/d/sub", "/s/d/f"), -ENOTDIR);
	assert_int_equal(v->rename(v->ud, "/s/d", "/s/d/sub/in"), -EINVAL);
	OK(v->rename(v->ud, "/s/d/f", "/s/d/f")); /* the same file */
	assert_int_equal(v->unlink(v->ud, "/s/d/sub"), -EISDIR);
	OK(v->unlink(v->ud, "/s/d/f"));
	assert_int_equal(v->unlink(v->ud, "/s/d/f"), -ENOENT);

	/* A handle follows its file through a rename and an unlink. */
	OK(v->open(v->ud, "/s/d/a", NEW, 0644, &f));
	OK(v->rename(v->ud, "/s/d/a", "/s/d/b"));
	put_at(v, f, 0, "moved", 5);
	assert_true(holds(v, "/s/d/b", "moved"));
	OK(v->unlink(v->ud, "/s/d/b"));
	put_at(v, f, 5, "!", 1);
	OK(v->read(v->ud, f, 0, buf, sizeof buf, &got));
	assert_int_equal(got, 6);
	OK(v->close(v->ud, f));

	assert_int_equal(fault_vfs_open_handles(fv), 0);
	fault_vfs_free(fv);
}

/* A listing's callback may call the VFS (no deadlock, no stale state). */
static int unlink_each(const char *name, void *ud)
{
	const cairn_vfs *v = ud;
	char p[128];
	snprintf(p, sizeof p, "/d/%s", name);
	OK(v->unlink(v->ud, p));
	return 0;
}

static void test_fault_list_reentrant(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	write_file(v, "/d/1", "1", false);
	write_file(v, "/d/2", "2", false);
	OK(v->list(v->ud, "/d", unlink_each, (void *)v));
	names ns = {0};
	OK(v->list(v->ud, "/d", collect, &ns));
	assert_int_equal(ns.n, 0);
	fault_vfs_free(fv);
}

/* ---- the fault VFS: durability and crashes ------------------------------ */

static bool bytes_are(fault_vfs *fv, const char *path, bool durable,
                      const char *s)
{
	uint8_t *p;
	size_t n;
	int rc = durable ? fault_vfs_durable_bytes(fv, path, &p, &n)
	                 : fault_vfs_file_bytes(fv, path, &p, &n);
	bool same = rc == 0 && n == strlen(s) && (n == 0 || !memcmp(p, s, n));
	free(p);
	return same;
}

static void test_fault_durable_content(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	int f;
	OK(v->open(v->ud, "/d/f", NEW, 0644, &f));
	OK(v->sync_dir(v->ud, "/d"));
	put_at(v, f, 0, "abc", 3);
	assert_true(bytes_are(fv, "/d/f", false, "abc"));
	assert_true(bytes_are(fv, "/d/f", true, ""));
	OK(v->sync(v->ud, f, true));
	assert_true(bytes_are(fv, "/d/f", true, "abc"));
	put_at(v, f, 3, "def", 3);
	OK(v->truncate(v->ud, f, 4));
	assert_true(bytes_are(fv, "/d/f", false, "abcd"));
	assert_true(bytes_are(fv, "/d/f", true, "abc"));
	OK(v->sync(v->ud, f, false));
	assert_true(bytes_are(fv, "/d/f", true, "abcd"));
	OK(v->close(v->ud, f));

	/* A power loss in DROP mode leaves exactly the durable state. */
	OK(v->open(v->ud, "/d/f", RW, 0, &f));
	put_at(v, f, 0, "XY", 2);
	fault_vfs_set_crash_mode(fv, FAULT_VFS_CRASH_DROP);
	fault_vfs_crash(fv, 1);
	assert_int_equal(fault_vfs_open_handles(fv), 0);
	assert_int_equal(v->close(v->ud, f), -EBADF);
	assert_true(bytes_are(fv, "/d/f", false, "abcd"));
	fault_vfs_free(fv);
}

/* Names are durable only through sync_dir; a file's sync is not enough. */
static void test_fault_crash_dir_entries(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	fault_vfs_set_crash_mode(fv, FAULT_VFS_CRASH_DROP);
	OK(fault_vfs_mkdir_p(fv, "/d"));

	write_file(v, "/d/a", "x", true);
	write_file(v, "/d/both", "y", true);
	OK(v->sync_dir(v->ud, "/d"));
	write_file(v, "/d/late", "z", true); /* after the sync_dir */
	OK(v->mkdir(v->ud, "/d/sub", 0700));
	write_file(v, "/d/sub/f", "w", true);
	OK(v->sync_dir(v->ud, "/d/sub")); /* but /d not synced again */
	fault_vfs_crash(fv, 1);

	assert_true(holds(v, "/d/a", "x"));
	assert_true(holds(v, "/d/both", "y"));
	assert_false(fault_vfs_exists(fv, "/d/late"));
	assert_false(fault_vfs_exists(fv, "/d/sub"));

	/* With the parent synced, the directory and (its own entries
	 * synced) its files survive. */
	OK(v->mkdir(v->ud, "/d/sub", 0700));
	OK(v->sync_dir(v->ud, "/d"));
	write_file(v, "/d/sub/kept", "k", true);
	OK(v->sync_dir(v->ud, "/d/sub"));
	write_file(v, "/d/sub/lost", "l", true);
	fault_vfs_crash(fv, 2);
	assert_true(holds(v, "/d/sub/kept", "k"));
	assert_false(fault_vfs_exists(fv, "/d/sub/lost"));
	fault_vfs_free(fv);
}

/* The snapshot dance: tmp, fsync, rename, fsync(dir). */
static void test_fault_crash_rename(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	fault_vfs_set_crash_mode(fv, FAULT_VFS_CRASH_DROP);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	write_file(v, "/d/snap", "old", true);
	OK(v->sync_dir(v->ud, "/d"));

	/* Renamed but the directory not synced: the old file is back and
	 * the tmp file (created after the last sync_dir) is gone. */
	write_file(v, "/d/snap.tmp", "new", true);
	OK(v->rename(v->ud, "/d/snap.tmp", "/d/snap"));
	assert_true(holds(v, "/d/snap", "new"));
	fault_vfs_crash(fv, 1);
	assert_true(holds(v, "/d/snap", "old"));
	assert_false(fault_vfs_exists(fv, "/d/snap.tmp"));

	/* With the sync_dir: the new file, no tmp. */
	write_file(v, "/d/snap.tmp", "new", true);
	OK(v->rename(v->ud, "/d/snap.tmp", "/d/snap"));
	OK(v->sync_dir(v->ud, "/d"));
	fault_vfs_crash(fv, 2);
	assert_true(holds(v, "/d/snap", "new"));
	assert_false(fault_vfs_exists(fv, "/d/snap.tmp"));

	/* A tmp whose creation was made durable, renamed without sync_dir:
	 * both names come back, each with its own inode. */
	write_file(v, "/d/snap.tmp", "newer", true);
	OK(v->sync_dir(v->ud, "/d"));
	OK(v->rename(v->ud, "/d/snap.tmp", "/d/snap"));
	fault_vfs_crash(fv, 3);
	assert_true(holds(v, "/d/snap", "new"));
	assert_true(holds(v, "/d/snap.tmp", "newer"));

	/* An unlink not made durable is undone. */
	OK(v->unlink(v->ud, "/d/snap.tmp"));
	fault_vfs_crash(fv, 4);
	assert_true(holds(v, "/d/snap.tmp", "newer"));

	/* A rename across directories with only the target synced: the
	 * file shows under both names, as on some real file systems. */
	OK(v->mkdir(v->ud, "/d/a", 0700));
	OK(v->mkdir(v->ud, "/d/b", 0700));
	OK(v->sync_dir(v->ud, "/d"));
	write_file(v, "/d/a/f", "F", true);
	OK(v->sync_dir(v->ud, "/d/a"));
	OK(v->rename(v->ud, "/d/a/f", "/d/b/f"));
	OK(v->sync_dir(v->ud, "/d/b"));
	fault_vfs_crash(fv, 5);
	assert_true(holds(v, "/d/a/f", "F"));
	assert_true(holds(v, "/d/b/f", "F"));
	fault_vfs_free(fv);
}

/* A file with a durable name and durable content `base`, plus unsynced
 * writes: `count` writes of `each` bytes appended after it. The data is
 * deterministic: byte i of the whole file is (uint8_t)(i * 7 + 1). */
static fault_vfs *appends(size_t base, size_t count, size_t each,
                          uint8_t *whole)
{
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	for (size_t i = 0; i < base + count * each; i++)
		whole[i] = (uint8_t)(i * 7 + 1);
	int f;
	OK(v->open(v->ud, "/d/log", NEW, 0644, &f));
	OK(v->sync_dir(v->ud, "/d"));
	if (base > 0)
		put_at(v, f, 0, whole, base);
	OK(v->sync(v->ud, f, true));
	for (size_t i = 0; i < count; i++)
		put_at(v, f, base + i * each, whole + base + i * each, each);
	return fv;
}

/*
 * PREFIX mode on an append-only file: what survives is always a prefix of
 * what was written, at least the durable part, ending at a write's end or
 * (torn) at a 512-byte boundary inside the last write kept. Over many
 * seeds every kind of outcome shows up.
 */
static void test_fault_torn_prefix(void **state)
{
	(void)state;
	enum { BASE = 100, COUNT = 6, EACH = 700 };
	uint8_t whole[BASE + COUNT * EACH];
	bool saw_none = false, saw_all = false, saw_torn = false;
	bool saw_whole_write = false;
	for (uint64_t seed = 0; seed < 400; seed++) {
		fault_vfs *fv = appends(BASE, COUNT, EACH, whole);
		fault_vfs_crash(fv, seed);
		uint8_t *p;
		size_t n;
		OK(fault_vfs_file_bytes(fv, "/d/log", &p, &n));
		assert_true(n >= BASE && n <= sizeof whole);
		assert_memory_equal(p, whole, n);
		bool at_write_end = (n - BASE) % EACH == 0;
		assert_true(at_write_end || n % 512 == 0);
		saw_none |= n == BASE;
		saw_all |= n == sizeof whole;
		saw_torn |= !at_write_end;
		saw_whole_write |=
		        at_write_end && n != BASE && n != sizeof whole;
		/* What a crash leaves is durable: a second crash keeps it. */
		fault_vfs_crash(fv, seed + 1000);
		uint8_t *q;
		size_t m;
		OK(fault_vfs_file_bytes(fv, "/d/log", &q, &m));
		assert_int_equal(m, n);
		assert_memory_equal(q, p, n);
		free(q);
		free(p);
		fault_vfs_free(fv);
	}
	assert_true(saw_none && saw_all && saw_torn && saw_whole_write);
}

/* A single write can only be torn at a sector boundary strictly inside
 * it: offsets 100..1100 give 100 (not applied: durable), 512, 1024 or
 * 1100; the sector size can be changed. */
static void test_fault_torn_boundaries(void **state)
{
	(void)state;
	uint8_t whole[1100];
	bool seen[4] = {false};
	for (uint64_t seed = 0; seed < 300; seed++) {
		fault_vfs *fv = appends(100, 1, 1000, whole);
		fault_vfs_crash(fv, seed);
		uint8_t *p;
		size_t n;
		OK(fault_vfs_file_bytes(fv, "/d/log", &p, &n));
		assert_memory_equal(p, whole, n);
		int k = n == 100 ? 0 : n == 512 ? 1 : n == 1024 ? 2 : 3;
		assert_true(k < 3 || n == 1100);
		seen[k] = true;
		free(p);
		fault_vfs_free(fv);
	}
	assert_true(seen[0] && seen[1] && seen[2] && seen[3]);

	/* With 256-byte sectors, cuts at 256, 512, 768 and 1024 also. */
	bool saw_256 = false;
	for (uint64_t seed = 0; seed < 300; seed++) {
		fault_vfs *fv = appends(100, 1, 1000, whole);
		fault_vfs_set_sector_size(fv, 256);
		fault_vfs_crash(fv, seed);
		uint8_t *p;
		size_t n;
		OK(fault_vfs_file_bytes(fv, "/d/log", &p, &n));
		assert_true(n == 100 || n == 1100 || n % 256 == 0);
		saw_256 |= n == 256 || n == 768;
		free(p);
		fault_vfs_free(fv);
	}
	assert_true(saw_256);
}

/* SUBSET mode: writes kept out of order leave holes of zeros. */
static void test_fault_subset(void **state)
{
	(void)state;
	enum { COUNT = 6, EACH = 100 };
	uint8_t whole[COUNT * EACH];
	bool saw_hole = false;
	for (uint64_t seed = 0; seed < 100; seed++) {
		fault_vfs *fv = appends(0, COUNT, EACH, whole);
		fault_vfs_set_crash_mode(fv, FAULT_VFS_CRASH_SUBSET);
		fault_vfs_crash(fv, seed);
		uint8_t *p;
		size_t n;
		OK(fault_vfs_file_bytes(fv, "/d/log", &p, &n));
		/* Every byte is the written one or a zero of a hole. */
		for (size_t i = 0; i < n; i++)
			assert_true(p[i] == whole[i] || p[i] == 0);
		for (size_t w = 0; w + 1 < COUNT && (w + 1) * EACH < n; w++)
			saw_hole |= p[w * EACH] == 0;
		free(p);
		fault_vfs_free(fv);
	}
	assert_true(saw_hole);
}

/* A history with many files and writes, for the determinism test. */
static void mixed_history(fault_vfs *fv)
{
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	rng r;
	rng_seed(&r, 5);
	int f[3];
	for (int i = 0; i < 3; i++) {
		char p[32];
		snprintf(p, sizeof p, "/d/f%d", i);
		OK(v->open(v->ud, p, NEW, 0644, &f[i]));
	}
	OK(v->sync_dir(v->ud, "/d"));
	uint8_t buf[2000];
	for (int k = 0; k < 30; k++) {
		int i = (int)rng_below(&r, 3);
		size_t n = (size_t)rng_range(&r, 1, sizeof buf);
		rng_bytes(&r, buf, n);
		put_at(v, f[i], rng_below(&r, 3000), buf, n);
		if (rng_pct(&r, 20))
			OK(v->sync(v->ud, f[i], true));
	}
	for (int i = 0; i < 3; i++)
		OK(v->close(v->ud, f[i]));
}

static void test_fault_deterministic(void **state)
{
	(void)state;
	size_t distinct = 0;
	uint8_t *prev = NULL;
	size_t prev_n = 0;
	for (uint64_t seed = 0; seed < 20; seed++) {
		uint8_t *p[2];
		size_t n[2];
		for (int run = 0; run < 2; run++) {
			fault_vfs *fv = fault_vfs_new();
			mixed_history(fv);
			fault_vfs_crash(fv, seed);
			OK(fault_vfs_file_bytes(fv, "/d/f1", &p[run], &n[run]));
			fault_vfs_free(fv);
		}
		assert_int_equal(n[0], n[1]);
		if (n[0] > 0)
			assert_memory_equal(p[0], p[1], n[0]);
		if (prev == NULL || prev_n != n[0] ||
		    (n[0] > 0 && memcmp(prev, p[0], n[0]) != 0))
			distinct++;
		free(prev);
		prev = p[0];
		prev_n = n[0];
		free(p[1]);
	}
	free(prev);
	assert_true(distinct > 3);
}

/* kill -9: the page cache survives, handles and our locks do not. */
static void test_fault_kill(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	int f;
	OK(v->open(v->ud, "/d/f", NEW, 0644, &f));
	OK(v->lock(v->ud, f));
	put_at(v, f, 0, "unsynced", 8);
	OK(fault_vfs_hold_lock(fv, "/d/other"));
	fault_vfs_kill(fv);
	assert_int_equal(fault_vfs_open_handles(fv), 0);
	assert_int_equal(v->size(v->ud, f, &(uint64_t){0}), -EBADF);
	assert_true(holds(v, "/d/f", "unsynced"));
	assert_true(bytes_are(fv, "/d/f", true, ""));
	OK(v->open(v->ud, "/d/f", RW, 0, &f));
	OK(v->lock(v->ud, f)); /* the dead process's lock is gone */
	OK(v->close(v->ud, f));
	/* The other process's lock survives our death ... */
	OK(v->open(v->ud, "/d/other", RW, 0, &f));
	assert_int_equal(v->lock(v->ud, f), -EAGAIN);
	OK(v->close(v->ud, f));
	/* ... not a power loss, which also takes the unsynced data and the
	 * names never made durable. */
	fault_vfs_set_crash_mode(fv, FAULT_VFS_CRASH_DROP);
	OK(v->sync_dir(v->ud, "/d"));
	fault_vfs_crash(fv, 1);
	assert_true(holds(v, "/d/f", ""));
	OK(v->open(v->ud, "/d/other", RW, 0, &f));
	OK(v->lock(v->ud, f));
	OK(v->close(v->ud, f));
	fault_vfs_free(fv);
}

static void test_fault_locks(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	int a, b;
	OK(v->open(v->ud, "/d/LOCK", NEW, 0644, &a));
	OK(v->open(v->ud, "/d/LOCK", RW, 0, &b));
	OK(v->lock(v->ud, a));
	OK(v->lock(v->ud, a));
	assert_int_equal(v->lock(v->ud, b), -EAGAIN);
	/* A rename does not change whose lock it is. */
	OK(v->rename(v->ud, "/d/LOCK", "/d/LOCK2"));
	assert_int_equal(v->lock(v->ud, b), -EAGAIN);
	OK(v->close(v->ud, a));
	OK(v->lock(v->ud, b));
	OK(v->close(v->ud, b));

	/* Another process holds it. */
	assert_int_equal(fault_vfs_hold_lock(fv, "/nope/LOCK"), -ENOENT);
	assert_int_equal(fault_vfs_hold_lock(fv, "/d"), -EISDIR);
	OK(fault_vfs_hold_lock(fv, "/d/LOCK2"));
	OK(fault_vfs_hold_lock(fv, "/d/NEW")); /* created for it */
	assert_true(fault_vfs_exists(fv, "/d/NEW"));
	OK(v->open(v->ud, "/d/LOCK2", RW, 0, &a));
	assert_int_equal(v->lock(v->ud, a), -EAGAIN);
	OK(fault_vfs_release_lock(fv, "/d/LOCK2"));
	OK(v->lock(v->ud, a));
	OK(v->close(v->ud, a));
	assert_int_equal(fault_vfs_release_lock(fv, "/d/none"), -ENOENT);
	fault_vfs_free(fv);
}

/* ---- the fault VFS: injected failures ----------------------------------- */

static void test_fault_nth_transient(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	int f;
	OK(v->open(v->ud, "/d/f", NEW, 0644, &f));
	fault_vfs_fail(fv, FAULT_VFS_WRITE, 2, -EIO, false);
	put_at(v, f, 0, "a", 1);
	size_t put = 9;
	assert_int_equal(v->write(v->ud, f, 1, "b", 1, &put), -EIO);
	assert_int_equal(put, 0);
	put_at(v, f, 1, "c", 1);
	assert_true(holds(v, "/d/f", "ac")); /* the failed write did nothing */

	/* Any call: the 3rd from now, whatever it is. */
	fault_vfs_fail(fv, FAULT_VFS_ANY, 3, -ENOSPC, false);
	uint64_t size;
	OK(v->size(v->ud, f, &size));
	OK(v->sync_dir(v->ud, "/d"));
	assert_int_equal(v->mkdir(v->ud, "/d/x", 0700), -ENOSPC);
	assert_false(fault_vfs_exists(fv, "/d/x"));
	OK(v->mkdir(v->ud, "/d/x", 0700));

	/* Every kind can fail, with nothing done. */
	static const fault_vfs_op kinds[] = {
	        FAULT_VFS_OPEN,     FAULT_VFS_READ,   FAULT_VFS_SIZE,
	        FAULT_VFS_TRUNCATE, FAULT_VFS_RENAME, FAULT_VFS_UNLINK,
	        FAULT_VFS_SYNC_DIR, FAULT_VFS_LIST,   FAULT_VFS_LOCK,
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		fault_vfs_fail(fv, kinds[i], 1, -EIO, false);
	int g;
	char buf[4];
	size_t got;
	names ns = {0};
	assert_int_equal(v->open(v->ud, "/d/g", NEW, 0644, &g), -EIO);
	assert_false(fault_vfs_exists(fv, "/d/g"));
	assert_int_equal(v->read(v->ud, f, 0, buf, 2, &got), -EIO);
	assert_int_equal(got, 0);
	assert_int_equal(v->size(v->ud, f, &size), -EIO);
	assert_int_equal(v->truncate(v->ud, f, 0), -EIO);
	assert_int_equal(v->rename(v->ud, "/d/f", "/d/g"), -EIO);
	assert_int_equal(v->unlink(v->ud, "/d/f"), -EIO);
	assert_int_equal(v->sync_dir(v->ud, "/d"), -EIO);
	assert_int_equal(v->list(v->ud, "/d", collect, &ns), -EIO);
	assert_int_equal(ns.n, 0);
	assert_int_equal(v->lock(v->ud, f), -EIO);
	assert_true(holds(v, "/d/f", "ac"));
	OK(v->lock(v->ud, f));

	/* A failed close still closes. */
	fault_vfs_fail(fv, FAULT_VFS_CLOSE, 1, -EIO, false);
	assert_int_equal(v->close(v->ud, f), -EIO);
	assert_int_equal(fault_vfs_open_handles(fv), 0);
	fault_vfs_free(fv);
}

static void test_fault_nth_persistent(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	int f;
	OK(v->open(v->ud, "/d/f", NEW, 0644, &f));
	fault_vfs_fail(fv, FAULT_VFS_WRITE, 2, -ENOSPC, true);
	put_at(v, f, 0, "a", 1);
	size_t put;
	for (int i = 0; i < 5; i++)
		assert_int_equal(v->write(v->ud, f, 1, "b", 1, &put), -ENOSPC);
	OK(v->sync(v->ud, f, true)); /* other kinds are unaffected */
	fault_vfs_clear_faults(fv);
	put_at(v, f, 1, "b", 1);
	assert_true(holds(v, "/d/f", "ab"));
	OK(v->close(v->ud, f));
	fault_vfs_free(fv);
}

/* fsyncgate: a failed sync loses the unsynced writes for good; a later
 * sync that succeeds does not bring them back. */
static void test_fault_failed_sync_loses_writes(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	int f;
	OK(v->open(v->ud, "/d/f", NEW, 0644, &f));
	OK(v->sync_dir(v->ud, "/d"));
	put_at(v, f, 0, "safe", 4);
	OK(v->sync(v->ud, f, true));
	put_at(v, f, 4, "lost", 4);
	fault_vfs_fail(fv, FAULT_VFS_SYNC, 1, -EIO, false);
	assert_int_equal(v->sync(v->ud, f, true), -EIO);
	OK(v->sync(v->ud, f, true)); /* the retry "succeeds" ... */
	assert_true(holds(v, "/d/f", "safelost"));
	assert_true(bytes_are(fv, "/d/f", true, "safe")); /* ... but no */
	/* Writes after the failure are not affected. */
	put_at(v, f, 8, "more", 4);
	OK(v->sync(v->ud, f, true));
	uint8_t *p;
	size_t n;
	OK(fault_vfs_durable_bytes(fv, "/d/f", &p, &n));
	assert_int_equal(n, 12);
	assert_memory_equal(p, "safe\0\0\0\0more", 12);
	free(p);
	OK(v->close(v->ud, f));
	fault_vfs_free(fv);
}

static void test_fault_short_writes(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	int f;
	OK(v->open(v->ud, "/d/f", NEW, 0644, &f));
	size_t put;
	fault_vfs_short_write(fv, 2, false);
	OK(v->write(v->ud, f, 0, "abcd", 4, &put));
	assert_int_equal(put, 4);
	OK(v->write(v->ud, f, 4, "efgh", 4, &put));
	assert_int_equal(put, 2);
	OK(v->write(v->ud, f, 6, "ghij", 4, &put));
	assert_int_equal(put, 4);
	assert_true(holds(v, "/d/f", "abcdefghij"));

	fault_vfs_short_write(fv, 1, true);
	OK(v->write(v->ud, f, 0, "ABCDEF", 6, &put));
	assert_int_equal(put, 3);
	OK(v->write(v->ud, f, 3, "DEF", 3, &put));
	assert_int_equal(put, 1);
	OK(v->write(v->ud, f, 4, "E", 1, &put)); /* 1 byte: not shortened */
	assert_int_equal(put, 1);
	assert_true(holds(v, "/d/f", "ABCDEfghij"));

	/* A failure wins over a short write. */
	fault_vfs_fail(fv, FAULT_VFS_WRITE, 1, -EIO, false);
	assert_int_equal(v->write(v->ud, f, 0, "zz", 2, &put), -EIO);
	fault_vfs_clear_faults(fv);
	OK(v->write(v->ud, f, 0, "zz", 2, &put));
	assert_int_equal(put, 2);
	OK(v->close(v->ud, f));
	fault_vfs_free(fv);
}

static void test_fault_counters(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d")); /* set-up: not counted */
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_ANY), 0);
	write_file(v, "/d/f", "x", true); /* open, write, sync, close */
	OK(v->sync_dir(v->ud, "/d"));
	assert_int_equal(v->unlink(v->ud, "/d/none"), -ENOENT);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_OPEN), 1);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_WRITE), 1);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_SYNC), 1);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_CLOSE), 1);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_SYNC_DIR), 1);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_UNLINK), 1);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_SYNC_POINT), 2);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_ANY), 6);
	fault_vfs_reset_calls(fv);
	assert_int_equal(fault_vfs_calls(fv, FAULT_VFS_ANY), 0);
	fault_vfs_free(fv);
}

/*
 * A small workload with sync points: log appends each followed by a sync,
 * and a snapshot replaced by rename. Returns the first error. *acked
 * counts the appends whose sync returned 0.
 */
static int workload(const cairn_vfs *v, int *acked)
{
	int rc, f = -1;
	*acked = 0;
	if ((rc = v->open(v->ud, "/s/log", NEW, 0644, &f)) != 0)
		return rc;
	if ((rc = v->sync_dir(v->ud, "/s")) != 0)
		goto out;
	for (int i = 0; i < 5; i++) {
		char rec[16];
		snprintf(rec, sizeof rec, "r%d;", i);
		size_t put;
		if ((rc = v->write(v->ud, f, (uint64_t)i * 3, rec, 3, &put)))
			goto out;
		if ((rc = v->sync(v->ud, f, true)) != 0)
			goto out;
		++*acked;
	}
	int s;
	if ((rc = v->open(v->ud, "/s/snap.tmp", NEW, 0644, &s)) != 0)
		goto out;
	size_t put;
	rc = v->write(v->ud, s, 0, "SNAP", 4, &put);
	if (rc == 0)
		rc = v->sync(v->ud, s, false);
	int rc2 = v->close(v->ud, s);
	if (rc == 0)
		rc = rc2;
	if (rc == 0)
		rc = v->rename(v->ud, "/s/snap.tmp", "/s/snap");
	if (rc == 0)
		rc = v->sync_dir(v->ud, "/s");
out:
	rc2 = v->close(v->ud, f);
	return rc != 0 ? rc : rc2;
}

/* Crash at every sync point: every acknowledged append survives, in any
 * crash mode, and the snapshot is all or nothing. */
static void test_fault_crash_at_every_sync(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	OK(fault_vfs_mkdir_p(fv, "/s"));
	int acked;
	OK(workload(fault_vfs_vfs(fv), &acked));
	uint64_t points = fault_vfs_calls(fv, FAULT_VFS_SYNC_POINT);
	assert_int_equal(points, 8);
	fault_vfs_free(fv);

	for (uint64_t n = 1; n <= points; n++) {
		for (uint64_t seed = 0; seed < 3; seed++) {
			fv = fault_vfs_new();
			const cairn_vfs *v = fault_vfs_vfs(fv);
			OK(fault_vfs_mkdir_p(fv, "/s"));
			fault_vfs_crash_at_sync(fv, n);
			assert_int_equal(workload(v, &acked), -EIO);
			assert_true(fault_vfs_crashed(fv));
			/* Dead: every call fails, and changes nothing. */
			int f;
			assert_int_equal(v->open(v->ud, "/s/x", NEW, 0, &f),
			                 -EIO);
			assert_int_equal(fault_vfs_open_handles(fv), 0);

			fault_vfs_crash(fv, seed);
			assert_false(fault_vfs_crashed(fv));
			if (n == 1) {
				/* Crashed instead of the first sync_dir. */
				assert_false(fault_vfs_exists(fv, "/s/log"));
			} else {
				uint8_t *p;
				size_t len;
				OK(fault_vfs_file_bytes(fv, "/s/log", &p,
				                        &len));
				assert_true(len >= (size_t)acked * 3);
				assert_memory_equal(p, "r0;r1;r2;r3;r4;",
				                    (size_t)acked * 3);
				free(p);
			}
			assert_true(!fault_vfs_exists(fv, "/s/snap") ||
			            holds(v, "/s/snap", "SNAP"));
			fault_vfs_free(fv);
		}
	}
}

/* crash_at any kind: the 3rd write never happens; kill -9 there keeps the
 * two before. */
static void test_fault_crash_at_write_then_kill(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	int f;
	OK(v->open(v->ud, "/d/f", NEW, 0644, &f));
	fault_vfs_crash_at(fv, FAULT_VFS_WRITE, 3);
	put_at(v, f, 0, "a", 1);
	put_at(v, f, 1, "b", 1);
	size_t put;
	assert_int_equal(v->write(v->ud, f, 2, "c", 1, &put), -EIO);
	assert_int_equal(v->sync(v->ud, f, false), -EIO);
	assert_int_equal(v->close(v->ud, f), -EIO);
	fault_vfs_kill(fv);
	assert_false(fault_vfs_crashed(fv));
	assert_true(holds(v, "/d/f", "ab"));
	fault_vfs_free(fv);
}

/* ---- the fault VFS: the disk helpers ------------------------------------ */

static void test_fault_disk_helpers(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	assert_int_equal(fault_vfs_set_file_bytes(fv, "/d/f", "x", 1), -ENOENT);
	OK(fault_vfs_mkdir_p(fv, "/d/e"));
	assert_int_equal(fault_vfs_set_file_bytes(fv, "/d/e", "x", 1), -EISDIR);
	OK(fault_vfs_set_file_bytes(fv, "/d/f", "hello", 5));
	assert_int_equal(fault_vfs_mkdir_p(fv, "/d/f/g"), -ENOTDIR);
	/* Created durably: a power loss keeps it. */
	fault_vfs_set_crash_mode(fv, FAULT_VFS_CRASH_DROP);
	fault_vfs_crash(fv, 1);
	assert_true(holds(v, "/d/f", "hello"));

	OK(fault_vfs_flip_bit(fv, "/d/f", 8 * 1 + 0)); /* 'e' ^ 1 = 'd' */
	assert_true(holds(v, "/d/f", "hdllo"));
	assert_int_equal(fault_vfs_flip_bit(fv, "/d/f", 40), -ERANGE);
	OK(fault_vfs_truncate_file(fv, "/d/f", 3));
	assert_true(holds(v, "/d/f", "hdl"));
	assert_int_equal(fault_vfs_truncate_file(fv, "/d/f", 4), -ERANGE);
	fault_vfs_crash(fv, 2);
	assert_true(holds(v, "/d/f", "hdl"));

	uint8_t *p;
	size_t n;
	assert_int_equal(fault_vfs_file_bytes(fv, "/d/none", &p, &n), -ENOENT);
	assert_int_equal(fault_vfs_file_bytes(fv, "/d", &p, &n), -EISDIR);
	OK(fault_vfs_set_file_bytes(fv, "/d/f", NULL, 0));
	OK(fault_vfs_file_bytes(fv, "/d/f", &p, &n));
	assert_null(p);
	assert_int_equal(n, 0);
	unsigned mode;
	assert_int_equal(fault_vfs_file_mode(fv, "/d/none", &mode), -ENOENT);
	fault_vfs_free(fv);
	fault_vfs_free(NULL);
}

/* The store's sync job runs fsync on another thread while the owner
 * writes: the fault VFS must take that. */
typedef struct syncer {
	const cairn_vfs *v;
	int f;
} syncer;

static void *sync_loop(void *arg)
{
	syncer *s = arg;
	for (int i = 0; i < 2000; i++)
		if (s->v->sync(s->v->ud, s->f, true) != 0)
			return arg;
	return NULL;
}

static void test_fault_threads(void **state)
{
	(void)state;
	fault_vfs *fv = fault_vfs_new();
	const cairn_vfs *v = fault_vfs_vfs(fv);
	OK(fault_vfs_mkdir_p(fv, "/d"));
	syncer s = {.v = v};
	OK(v->open(v->ud, "/d/log", NEW, 0644, &s.f));
	pthread_t t;
	OK(pthread_create(&t, NULL, sync_loop, &s));
	for (uint64_t i = 0; i < 2000; i++)
		put_at(v, s.f, i * 4, "abcd", 4);
	void *ret;
	OK(pthread_join(t, &ret));
	assert_null(ret);
	OK(v->sync(v->ud, s.f, true));
	uint8_t *p;
	size_t n;
	OK(fault_vfs_durable_bytes(fv, "/d/log", &p, &n));
	assert_int_equal(n, 8000);
	free(p);
	OK(v->close(v->ud, s.f));
	fault_vfs_free(fv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_posix_files, tmp_setup,
	                                        tmp_teardown),
	        cmocka_unit_test_setup_teardown(test_posix_dirs, tmp_setup,
	                                        tmp_teardown),
	        cmocka_unit_test_setup_teardown(test_posix_lock, tmp_setup,
	                                        tmp_teardown),
	        cmocka_unit_test(test_os),
	        cmocka_unit_test(test_fault_basic),
	        cmocka_unit_test(test_fault_list_reentrant),
	        cmocka_unit_test(test_fault_durable_content),
	        cmocka_unit_test(test_fault_crash_dir_entries),
	        cmocka_unit_test(test_fault_crash_rename),
	        cmocka_unit_test(test_fault_torn_prefix),
	        cmocka_unit_test(test_fault_torn_boundaries),
	        cmocka_unit_test(test_fault_subset),
	        cmocka_unit_test(test_fault_deterministic),
	        cmocka_unit_test(test_fault_kill),
	        cmocka_unit_test(test_fault_locks),
	        cmocka_unit_test(test_fault_nth_transient),
	        cmocka_unit_test(test_fault_nth_persistent),
	        cmocka_unit_test(test_fault_failed_sync_loses_writes),
	        cmocka_unit_test(test_fault_short_writes),
	        cmocka_unit_test(test_fault_counters),
	        cmocka_unit_test(test_fault_crash_at_every_sync),
	        cmocka_unit_test(test_fault_crash_at_write_then_kill),
	        cmocka_unit_test(test_fault_disk_helpers),
	        cmocka_unit_test(test_fault_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
