/*
 * vfs_posix.c -- the POSIX file system behind the store's VFS seam
 * (cairn_vfs_posix(), include/cairn/store.h), and the wall clock and
 * process id (os_int.h).
 *
 * Each operation is one or two system calls and returns 0 or the raw
 * -errno, so the store can both map the failure to a cairn_err and keep
 * the OS's own code for the user. Interrupted calls (EINTR) are retried
 * where a retry is safe; nothing else is: in particular a failed fsync is
 * never retried here, because after a writeback error Linux marks the
 * dirty pages clean and a second fsync would report success for data that
 * never reached the disk ("fsyncgate"). The store poisons its handle
 * instead.
 */

/* The module is compiled as ISO C11 without extensions: ask for POSIX.1-2008
 * (pread, fdatasync, O_CLOEXEC, O_DIRECTORY). On Linux, _GNU_SOURCE also
 * gives F_OFD_SETLK, the lock we want (see posix_lock). 64-bit file offsets
 * on 32-bit systems too. */
#define _POSIX_C_SOURCE 200809L
#if defined(__linux__)
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cairn/store.h"
#include "os_int.h"

/* The most one pread/pwrite moves. Linux moves at most 0x7ffff000 bytes per
 * call anyway, and ssize_t must be able to hold the result. */
#define IO_CHUNK ((size_t)1 << 30)

/* -errno, never 0: a failing call that forgot to set errno is still a
 * failure. */
static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Whether [off, off + len) is representable as an off_t range. */
static bool range_ok(uint64_t off, size_t len)
{
	return off <= (uint64_t)INT64_MAX &&
	       (uint64_t)len <= (uint64_t)INT64_MAX - off;
}

static int posix_open(void *ud, const char *path, int flags, unsigned mode,
                      int *out)
{
	(void)ud;
	const int known = CAIRN_VFS_READ | CAIRN_VFS_WRITE | CAIRN_VFS_CREATE |
	                  CAIRN_VFS_EXCL | CAIRN_VFS_TRUNC;
	if ((flags & ~known) != 0 ||
	    (flags & (CAIRN_VFS_READ | CAIRN_VFS_WRITE)) == 0)
		return -EINVAL;

	int oflags = O_CLOEXEC;
	if ((flags & CAIRN_VFS_READ) && (flags & CAIRN_VFS_WRITE))
		oflags |= O_RDWR;
	else if (flags & CAIRN_VFS_WRITE)
		oflags |= O_WRONLY;
	else
		oflags |= O_RDONLY;
	if (flags & CAIRN_VFS_CREATE)
		oflags |= O_CREAT;
	if (flags & CAIRN_VFS_EXCL)
		oflags |= O_EXCL;
	if (flags & CAIRN_VFS_TRUNC)
		oflags |= O_TRUNC;

	int fd;
	do
		fd = open(path, oflags, (mode_t)mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return neg_errno();
	*out = fd;
	return 0;
}

static int posix_close(void *ud, int file)
{
	(void)ud;
	/* Not retried on EINTR: Linux has released the descriptor by then,
	 * and a retry could close one another thread just opened. The
	 * interrupted close lost nothing, so it counts as a success. */
	if (close(file) != 0 && errno != EINTR)
		return neg_errno();
	return 0;
}

static int posix_read(void *ud, int file, uint64_t off, void *buf, size_t len,
                      size_t *got)
{
	(void)ud;
	*got = 0;
	if (!range_ok(off, len))
		return -EINVAL;
	/* pread may return less than asked before the end of the file (a
	 * signal, a huge request): loop, so that a short count means end of
	 * file as the seam promises. */
	size_t done = 0;
	while (done < len) {
		size_t chunk = len - done < IO_CHUNK ? len - done : IO_CHUNK;
		ssize_t r = pread(file, (unsigned char *)buf + done, chunk,
		                  (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

static int posix_write(void *ud, int file, uint64_t off, const void *buf,
                       size_t len, size_t *put)
{
	(void)ud;
	*put = 0;
	if (!range_ok(off, len))
		return -EFBIG;
	size_t done = 0;
	while (done < len) {
		size_t chunk = len - done < IO_CHUNK ? len - done : IO_CHUNK;
		ssize_t r = pwrite(file, (const unsigned char *)buf + done,
		                   chunk, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* Some bytes went out before the failure (a disk
			 * that filled up mid-write): report them as a short
			 * write, which is what happened; the caller's next
			 * call for the rest meets the error again. */
			if (done > 0)
				break;
			return neg_errno();
		}
		if (r == 0)
			break; /* cannot happen for len > 0; do not spin */
		done += (size_t)r;
	}
	*put = done;
	return 0;
}

static int posix_sync(void *ud, int file, bool data_only)
{
	(void)ud;
	int r;
	do
		r = data_only ? fdatasync(file) : fsync(file);
	while (r != 0 && errno == EINTR);
	return r == 0 ? 0 : neg_errno();
}

static int posix_size(void *ud, int file, uint64_t *out)
{
	(void)ud;
	struct stat st;
	if (fstat(file, &st) != 0)
		return neg_errno();
	*out = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

static int posix_truncate(void *ud, int file, uint64_t size)
{
	(void)ud;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	int r;
	do
		r = ftruncate(file, (off_t)size);
	while (r != 0 && errno == EINTR);
	return r == 0 ? 0 : neg_errno();
}

static int posix_rename(void *ud, const char *from, const char *to)
{
	(void)ud;
	return rename(from, to) == 0 ? 0 : neg_errno();
}

static int posix_unlink(void *ud, const char *path)
{
	(void)ud;
	return unlink(path) == 0 ? 0 : neg_errno();
}

static int posix_mkdir(void *ud, const char *path, unsigned mode)
{
	(void)ud;
	return mkdir(path, (mode_t)mode) == 0 ? 0 : neg_errno();
}

/*
 * A rename or a file creation is durable only once the directory holding
 * the entry has been fsynced: fsync of the file itself does not promise it
 * (POSIX is silent, and ext4 without a journal or with some mount options
 * does lose it). So the store calls this after each creation and rename.
 */
static int posix_sync_dir(void *ud, const char *path)
{
	(void)ud;
	int fd;
	do
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return neg_errno();
	int r;
	do
		r = fsync(fd);
	while (r != 0 && errno == EINTR);
	int rc = r == 0 ? 0 : neg_errno();
	(void)close(fd); /* read-only: nothing to lose */
	return rc;
}

static int posix_list(void *ud, const char *dir, cairn_vfs_list_fn fn,
                      void *fn_ud)
{
	(void)ud;
	DIR *d = opendir(dir);
	if (d == NULL)
		return neg_errno();
	int rc = 0;
	for (;;) {
		/* readdir returns NULL both at the end and on error; only
		 * errno tells them apart. */
		errno = 0;
		struct dirent *e = readdir(d);
		if (e == NULL) {
			if (errno != 0)
				rc = neg_errno();
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fn(e->d_name, fn_ud) != 0)
			break;
	}
	(void)closedir(d);
	return rc;
}

/*
 * The store's lock: an exclusive write lock on the whole lock file, not
 * waiting for it.
 *
 * On Linux we take an open-file-description lock (F_OFD_SETLK, Linux 3.15;
 * in POSIX.1-2024) rather than a classic process lock (F_SETLK). A classic
 * lock belongs to the process: a second open of the same store in the same
 * process would "take" it again and succeed, and closing *any* descriptor
 * of the lock file in the process, even one opened by unrelated code,
 * silently drops it. An OFD lock belongs to this open file: a second open
 * conflicts (EAGAIN) even in the same process, and only closing this
 * handle releases it. Where OFD locks are missing (other systems, or an
 * older kernel answering EINVAL) we fall back to F_SETLK.
 */
static int posix_lock(void *ud, int file)
{
	(void)ud;
	struct flock fl;
	memset(&fl, 0, sizeof fl); /* OFD locks require l_pid == 0 */
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0; /* to the end of the file, however it grows */
	int r;
#ifdef F_OFD_SETLK
	do
		r = fcntl(file, F_OFD_SETLK, &fl);
	while (r != 0 && errno == EINTR);
	if (r == 0)
		return 0;
	if (errno != EINVAL)
		return neg_errno();
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
#endif
	do
		r = fcntl(file, F_SETLK, &fl);
	while (r != 0 && errno == EINTR);
	return r == 0 ? 0 : neg_errno();
}

static const cairn_vfs posix_vfs = {
        .ud = NULL,
        .open = posix_open,
        .close = posix_close,
        .read = posix_read,
        .write = posix_write,
        .sync = posix_sync,
        .size = posix_size,
        .truncate = posix_truncate,
        .rename = posix_rename,
        .unlink = posix_unlink,
        .mkdir = posix_mkdir,
        .sync_dir = posix_sync_dir,
        .list = posix_list,
        .lock = posix_lock,
};

const cairn_vfs *cairn_vfs_posix(void)
{
	return &posix_vfs;
}

uint64_t cairn__os_wall_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

long cairn__os_pid(void)
{
	return (long)getpid();
}
