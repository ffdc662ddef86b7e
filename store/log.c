/*
 * log.c -- the append-only log: record framing, file creation, and the scan
 * that recovery is built on.
 *
 * Recovery must return an exact prefix of what was written and must tell a
 * torn tail from corruption. A crash can only damage the end of the last
 * log file: what was being appended when the power went. Such a tail
 * cannot hold a record that was reported durable (its fsync had not
 * returned), so cutting it off loses nothing that was promised. Damage
 * with a good record *behind* it is something else (a bad sector, a bit
 * flip, a stray write): the records after it were durable, and dropping
 * them silently would lose promised data, so the scan reports it and the
 * store refuses to open until the user repairs it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crdt_int.h"
#include "store_int.h"

static const uint8_t log_magic[8] = {'c', 'a', 'i', 'r', 'n', 'l', 'g', '1'};

void cairn__log_name(uint64_t first_seq, char out[21])
{
	static const char hex[] = "0123456789abcdef";
	memcpy(out, "log-", 4);
	for (int i = 0; i < 16; i++)
		out[4 + i] = hex[(first_seq >> (60 - 4 * i)) & 0xF];
	out[20] = 0;
}

bool cairn__log_parse_name(const char *name, uint64_t *first_seq)
{
	if (strncmp(name, "log-", 4) != 0 || strlen(name) != 20)
		return false;
	uint64_t v = 0;
	for (int i = 4; i < 20; i++) {
		char c = name[i];
		int x = (c >= '0' && c <= '9')   ? c - '0'
		        : (c >= 'a' && c <= 'f') ? c - 'a' + 10
		                                 : -1;
		if (x < 0)
			return false;
		v = (v << 4) | (uint64_t)x;
	}
	/* Sequence numbers start at 1: a file claiming 0 is no log of ours
	 * (and would make "the record before the first" underflow). */
	if (v == 0)
		return false;
	*first_seq = v;
	return true;
}

void cairn__rec_frame(uint8_t *buf, uint8_t type, uint64_t seq, uint32_t len)
{
	cairn__put_u32(buf, len);
	buf[4] = type;
	buf[5] = buf[6] = buf[7] = 0;
	cairn__put_u64(buf + 8, seq);
	uint32_t crc = cairn__crc32c(0, buf, CAIRN__REC_HEAD + (size_t)len);
	cairn__put_u32(buf + CAIRN__REC_HEAD + len, crc);
}

bool cairn__log_header_ok(const uint8_t head[CAIRN__LOG_HEADER],
                          uint64_t first_seq)
{
	return memcmp(head, log_magic, 8) == 0 &&
	       cairn__get_u64(head + 8) == first_seq &&
	       cairn__crc32c(0, head, 16) == cairn__get_u32(head + 16);
}

int cairn__log_create(cairn__dir *d, uint64_t first_seq, int *file)
{
	char name[21], path[512];
	cairn__log_name(first_seq, name);
	if (cairn__join_path(d, name, path, sizeof path))
		return CAIRN_ETOOBIG;
	uint8_t head[CAIRN__LOG_HEADER];
	memcpy(head, log_magic, 8);
	cairn__put_u64(head + 8, first_seq);
	cairn__put_u32(head + 16, cairn__crc32c(0, head, 16));

	int f;
	/* A leftover file of that name can only be an empty log that a
	 * crash cut short (a file with records would have been recovered
	 * and appended to): start it again. */
	int e = d->vfs->open(d->vfs->ud, path,
	                     CAIRN_VFS_READ | CAIRN_VFS_WRITE |
	                             CAIRN_VFS_CREATE | CAIRN_VFS_TRUNC,
	                     0644, &f);
	if (e)
		return cairn__os_err(d, e, "create", name);
	int rc = cairn__write_all(d, f, 0, head, sizeof head, name);
	if (!rc && (e = d->vfs->sync(d->vfs->ud, f, false)) != 0)
		rc = cairn__os_err(d, e, "fsync", name);
	if (!rc && (e = d->vfs->sync_dir(d->vfs->ud, d->path)) != 0)
		rc = cairn__os_err(d, e, "fsync directory", "");
	if (rc) {
		(void)d->vfs->close(d->vfs->ud, f);
		return rc;
	}
	*file = f;
	return 0;
}

/* ---- the scan ----------------------------------------------------------- */

/*
 * A window over the file, refilled in large reads: one pread per record
 * would cost more than the records' decoding on a log of small deltas.
 */
typedef struct reader {
	cairn__dir *d;
	const char *name;
	int f;
	uint64_t size;
	uint8_t *buf;
	size_t cap;
	uint64_t off; /* file offset of buf[0] */
	size_t len;   /* valid bytes in buf */
} reader;

#define READ_CHUNK ((size_t)1 << 20)

/* Make bytes [off, off + n) of the file available; they must exist. */
static int reader_need(reader *r, uint64_t off, size_t n, const uint8_t **out)
{
	if (off >= r->off && off + n <= r->off + r->len) {
		*out = r->buf + (off - r->off);
		return 0;
	}
	size_t want = n > READ_CHUNK ? n : READ_CHUNK;
	if (want > r->size - off)
		want = (size_t)(r->size - off);
	if (want > r->cap) {
		void *nb = cairn__realloc(&r->d->alloc, r->buf, r->cap, want);
		if (!nb)
			return CAIRN_ENOMEM;
		r->buf = nb;
		r->cap = want;
	}
	int rc = cairn__read_all(r->d, r->f, off, r->buf, want, r->name);
	if (rc) {
		r->len = 0;
		return rc;
	}
	r->off = off;
	r->len = want;
	*out = r->buf;
	return 0;
}

/*
 * Is there a whole, checksummed record at off? Only headers that could be
 * real (a sane length that fits, known type, zero padding, a sequence
 * number above `after`) are checksummed.
 */
static int record_at(reader *r, uint64_t off, uint32_t max_record,
                     uint64_t after, cairn__rec *rec, bool *ok)
{
	*ok = false;
	if (r->size - off < CAIRN__REC_HEAD + CAIRN__REC_TAIL)
		return 0;
	const uint8_t *h;
	int rc = reader_need(r, off, CAIRN__REC_HEAD, &h);
	if (rc)
		return rc;
	uint32_t len = cairn__get_u32(h);
	uint8_t type = h[4];
	uint64_t seq = cairn__get_u64(h + 8);
	if (!cairn__rec_head_ok(h, max_record) ||
	    (uint64_t)len + CAIRN__REC_HEAD + CAIRN__REC_TAIL > r->size - off ||
	    seq <= after)
		return 0;
	const uint8_t *p;
	size_t whole = CAIRN__REC_HEAD + (size_t)len + CAIRN__REC_TAIL;
	rc = reader_need(r, off, whole, &p);
	if (rc)
		return rc;
	uint32_t crc = cairn__crc32c(0, p, CAIRN__REC_HEAD + (size_t)len);
	if (crc != cairn__get_u32(p + CAIRN__REC_HEAD + len))
		return 0;
	rec->type = type;
	rec->seq = seq;
	rec->payload = p + CAIRN__REC_HEAD;
	rec->len = len;
	rec->off = off;
	*ok = true;
	return 0;
}

int cairn__log_scan(cairn__dir *d, const char *name, uint32_t max_record,
                    cairn__rec_fn fn, void *ud, cairn__scan *out)
{
	memset(out, 0, sizeof *out);
	uint64_t named;
	if (!cairn__log_parse_name(name, &named))
		return CAIRN_EINVAL;
	char path[512];
	if (cairn__join_path(d, name, path, sizeof path))
		return CAIRN_ETOOBIG;
	reader r = {d, name, -1, 0, NULL, 0, 0, 0};
	int e = d->vfs->open(d->vfs->ud, path, CAIRN_VFS_READ, 0, &r.f);
	if (e)
		return cairn__os_err(d, e, "open", name);
	int rc = 0;
	if ((e = d->vfs->size(d->vfs->ud, r.f, &r.size)) != 0)
		rc = cairn__os_err(d, e, "stat", name);
	out->size = r.size;
	out->first_seq = named;
	out->last_seq = named - 1;
	if (rc)
		goto done;

	/* A header cut short: the file was being created. */
	if (r.size < CAIRN__LOG_HEADER) {
		out->bad = out->torn = true;
		goto done;
	}
	const uint8_t *h;
	rc = reader_need(&r, 0, CAIRN__LOG_HEADER, &h);
	if (rc)
		goto done;
	if (!cairn__log_header_ok(h, named)) {
		cairn__report(d, name, "%s/%s: bad log header", d->path, name);
		if (d->report)
			d->report->offset = 0;
		rc = CAIRN_ECORRUPT;
		goto done;
	}

	uint64_t off = CAIRN__LOG_HEADER;
	while (off < r.size) {
		cairn__rec rec;
		bool ok;
		rc = record_at(&r, off, max_record, out->last_seq, &rec, &ok);
		if (rc)
			goto done;
		if (!ok || rec.seq != out->last_seq + 1)
			break;
		if (fn && (rc = fn(ud, &rec)) != 0) {
			out->refused = true;
			out->bad_offset = off;
			goto done;
		}
		out->last_seq = rec.seq;
		off += CAIRN__REC_HEAD + (uint64_t)rec.len + CAIRN__REC_TAIL;
	}
	out->good_end = off;
	out->bad_offset = off;
	if (off >= r.size)
		goto done;

	/* A bad record. A torn tail has nothing valid behind it. */
	out->bad = true;
	out->torn = true;
	for (uint64_t at = off + 1; at < r.size && out->torn; at++) {
		cairn__rec rec;
		bool ok;
		rc = record_at(&r, at, max_record, out->last_seq, &rec, &ok);
		if (rc)
			goto done;
		if (ok)
			out->torn = false;
	}
done:
	(void)d->vfs->close(d->vfs->ud, r.f);
	if (r.buf)
		cairn__free(&d->alloc, r.buf, r.cap);
	return rc;
}
