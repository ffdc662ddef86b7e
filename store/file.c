/*
 * file.c -- the store's file helpers over the VFS seam: error mapping,
 * whole reads and writes, and small files replaced atomically.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

void cairn__report(cairn__dir *d, const char *name, const char *fmt, ...)
{
	if (!d->report)
		return;
	if (name)
		(void)cairn__join_path(d, name, d->report->path,
		                       sizeof d->report->path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->report->message, sizeof d->report->message, fmt, ap);
	va_end(ap);
}

int cairn__os_err(cairn__dir *d, int neg_errno, const char *what,
                  const char *name)
{
	int e = -neg_errno;
	d->os_error = e;
	if (d->report)
		d->report->os_error = e;
	int rc;
	switch (e) {
	case ENOENT: rc = CAIRN_ENOTFOUND; break;
	case ENOSPC:
#ifdef EDQUOT
	case EDQUOT:
#endif
		rc = CAIRN_EFULL;
		break;
	case ENOMEM: rc = CAIRN_ENOMEM; break;
	default: rc = CAIRN_EIO; break;
	}
	cairn__report(d, name, "%s %s/%s: %s (errno %d)", what, d->path,
	              name ? name : "", cairn_strerror(rc), e);
	return rc;
}

int cairn__join_path(const cairn__dir *d, const char *name, char *out,
                     size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", d->path, name);
	return (n < 0 || (size_t)n >= cap) ? CAIRN_ETOOBIG : 0;
}

int cairn__write_all(cairn__dir *d, int f, uint64_t off, const void *buf,
                     size_t len, const char *name)
{
	const uint8_t *p = buf;
	while (len) {
		size_t put = 0;
		int e = d->vfs->write(d->vfs->ud, f, off, p, len, &put);
		if (e)
			return cairn__os_err(d, e, "write", name);
		if (put == 0 || put > len)
			return cairn__os_err(d, -EIO, "write", name);
		p += put;
		off += put;
		len -= put;
	}
	return 0;
}

int cairn__read_all(cairn__dir *d, int f, uint64_t off, void *buf, size_t len,
                    const char *name)
{
	uint8_t *p = buf;
	while (len) {
		size_t got = 0;
		int e = d->vfs->read(d->vfs->ud, f, off, p, len, &got);
		if (e)
			return cairn__os_err(d, e, "read", name);
		if (got == 0) {
			cairn__report(d, name, "%s/%s: unexpected end of file",
			              d->path, name);
			return CAIRN_ECORRUPT;
		}
		p += got;
		off += got;
		len -= got;
	}
	return 0;
}

int cairn__small_write(cairn__dir *d, const char *name, const char magic[8],
                       const void *data, size_t len, unsigned mode)
{
	if (len > CAIRN__SMALL_MAX)
		return CAIRN_ETOOBIG;
	char tmp_name[96], tmp[512], dst[512];
	int n = snprintf(tmp_name, sizeof tmp_name, "%s.tmp", name);
	if (n < 0 || (size_t)n >= sizeof tmp_name ||
	    cairn__join_path(d, tmp_name, tmp, sizeof tmp) ||
	    cairn__join_path(d, name, dst, sizeof dst))
		return CAIRN_ETOOBIG;

	uint8_t head[12], tail[4];
	memcpy(head, magic, 8);
	cairn__put_u32(head + 8, (uint32_t)len);
	uint32_t crc = cairn__crc32c(0, head, sizeof head);
	crc = cairn__crc32c(crc, data, len);
	cairn__put_u32(tail, crc);

	int f;
	int e = d->vfs->open(
	        d->vfs->ud, tmp,
	        CAIRN_VFS_WRITE | CAIRN_VFS_CREATE | CAIRN_VFS_TRUNC, mode, &f);
	if (e)
		return cairn__os_err(d, e, "create", tmp_name);
	int rc = cairn__write_all(d, f, 0, head, sizeof head, tmp_name);
	if (!rc)
		rc = cairn__write_all(d, f, sizeof head, data, len, tmp_name);
	if (!rc)
		rc = cairn__write_all(d, f, sizeof head + len, tail,
		                      sizeof tail, tmp_name);
	if (!rc && (e = d->vfs->sync(d->vfs->ud, f, false)) != 0)
		rc = cairn__os_err(d, e, "fsync", tmp_name);
	e = d->vfs->close(d->vfs->ud, f);
	if (!rc && e)
		rc = cairn__os_err(d, e, "close", tmp_name);
	if (!rc && (e = d->vfs->rename(d->vfs->ud, tmp, dst)) != 0)
		rc = cairn__os_err(d, e, "rename", tmp_name);
	if (rc) {
		(void)d->vfs->unlink(d->vfs->ud, tmp);
		return rc;
	}
	if ((e = d->vfs->sync_dir(d->vfs->ud, d->path)) != 0)
		return cairn__os_err(d, e, "fsync directory", "");
	return 0;
}

int cairn__small_read(cairn__dir *d, const char *name, const char magic[8],
                      void *buf, size_t cap, size_t *len)
{
	char path[512];
	if (cairn__join_path(d, name, path, sizeof path))
		return CAIRN_ETOOBIG;
	int f;
	int e = d->vfs->open(d->vfs->ud, path, CAIRN_VFS_READ, 0, &f);
	if (e == -ENOENT)
		return CAIRN_ENOTFOUND;
	if (e)
		return cairn__os_err(d, e, "open", name);
	uint64_t size = 0;
	uint8_t head[12], tail[4];
	int rc = 0;
	if ((e = d->vfs->size(d->vfs->ud, f, &size)) != 0)
		rc = cairn__os_err(d, e, "stat", name);
	else if (size < 16 || size - 16 > CAIRN__SMALL_MAX)
		rc = CAIRN_ECORRUPT;
	if (!rc)
		rc = cairn__read_all(d, f, 0, head, sizeof head, name);
	uint32_t n = 0;
	if (!rc) {
		n = cairn__get_u32(head + 8);
		if (memcmp(head, magic, 8) != 0 || (uint64_t)n + 16 != size)
			rc = CAIRN_ECORRUPT;
	}
	if (!rc) {
		*len = n;
		if (n > cap)
			rc = CAIRN_ESPACE;
	}
	if (!rc)
		rc = cairn__read_all(d, f, sizeof head, buf, n, name);
	if (!rc)
		rc = cairn__read_all(d, f, sizeof head + n, tail, sizeof tail,
		                     name);
	if (!rc) {
		uint32_t crc = cairn__crc32c(0, head, sizeof head);
		crc = cairn__crc32c(crc, buf, n);
		if (crc != cairn__get_u32(tail))
			rc = CAIRN_ECORRUPT;
	}
	(void)d->vfs->close(d->vfs->ud, f);
	if (rc == CAIRN_ECORRUPT) {
		cairn__report(d, name, "%s/%s: checksum or framing is wrong",
		              d->path, name);
		if (d->report)
			d->report->offset = 0;
	}
	return rc;
}
