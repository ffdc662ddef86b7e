/*
 * cursor.c -- reading the log back: the log files a cursor can reach (the
 * store's "segments", each with a sparse index), the retention of files a
 * compaction folded into the snapshot, and the cursors themselves.
 *
 * A peer link reads the log one record at a time, between writes. Opening
 * the file and finding the record again for every call would make a
 * catch-up quadratic in the log's size, so a cursor keeps its file open, the
 * offset of its next record, and a window of the file's bytes. That state
 * is only a cache of `pos`, the next sequence number: when a compaction
 * drops the cursor's file, the store closes the handle (so that the file
 * really goes, on any file system) and the next call looks for the file
 * holding `pos` again -- and finds there is none: CAIRN_ENOTFOUND.
 *
 * The bytes a cursor reads never change under it: a log file only grows,
 * and the store reads no further than what it has appended (s->log_size
 * for the file being appended to), which a failed append never touches.
 */
#include <errno.h>
#include <string.h>

#include "crdt_int.h"
#include "store_int.h"

/* The window a cursor reads through: large enough that one read serves
 * many small records, small enough for one cursor per peer link. */
#define WINDOW ((size_t)64 << 10)
#define WINDOW_MIN ((size_t)4 << 10)

struct cairn_log_cursor {
	cairn_store *s; /* NULL once the store is closed */
	cairn_allocator alloc;
	cairn_log_cursor *prev, *next; /* in s->cursors */
	int f;                         /* the file it reads, or -1 */
	uint64_t file_first;           /* that file's first sequence number */
	uint64_t off;                  /* where record `pos` starts in it */
	uint64_t pos;                  /* the next sequence number to read */
	uint8_t *buf;                  /* a window over the file */
	size_t cap;
	uint64_t buf_off; /* the file offset of buf[0] */
	size_t buf_len;   /* valid bytes in buf */
};

/* ---- segments ----------------------------------------------------------- */

void cairn__seg_mark(const cairn_allocator *a, cairn__seg *g, uint64_t seq,
                     uint64_t off)
{
	uint64_t last =
	        g->nmarks ? g->marks[g->nmarks - 1].off : CAIRN__LOG_HEADER;
	if (off < last + CAIRN__MARK_EVERY)
		return;
	if (cairn__grow(a, (void **)&g->marks, &g->capmarks, g->nmarks + 1,
	                sizeof *g->marks))
		return;
	g->marks[g->nmarks].seq = seq;
	g->marks[g->nmarks++].off = off;
}

int cairn__segs_reserve(cairn_store *s, uint32_t extra)
{
	return cairn__grow(&s->dir.alloc, (void **)&s->segs, &s->capsegs,
	                   s->nsegs + extra, sizeof *s->segs);
}

/* Is segment i wholly before the record after the snapshot? */
static bool seg_covered(const cairn_store *s, uint32_t i)
{
	return i + 1 < s->nsegs && s->segs[i + 1].first <= s->snap_seq + 1;
}

/* Where segment i's records end. */
static uint64_t seg_end(const cairn_store *s, uint32_t i)
{
	return i + 1 == s->nsegs ? s->log_size : s->segs[i].end;
}

/* The last segment whose first sequence number is <= seq (there must be
 * one: seq >= s->segs[0].first). */
static uint32_t seg_holding(const cairn_store *s, uint64_t seq)
{
	uint32_t lo = 0, hi = s->nsegs; /* segs[lo].first <= seq */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->segs[mid].first <= seq)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void cursor_lose_file(cairn_log_cursor *c)
{
	if (c->f >= 0) {
		const cairn_vfs *v = c->s->dir.vfs;
		(void)v->close(v->ud, c->f);
		c->f = -1;
	}
	c->buf_len = 0;
}

void cairn__segs_drop(cairn_store *s, uint32_t n)
{
	/* The file being appended to stays, whatever the caller says. */
	if (n >= s->nsegs)
		n = s->nsegs ? s->nsegs - 1 : 0;
	if (n == 0)
		return;
	uint64_t below = s->segs[n].first;
	for (cairn_log_cursor *c = s->cursors; c; c = c->next)
		if (c->f >= 0 && c->file_first < below)
			cursor_lose_file(c);
	cairn__dir *d = &s->dir;
	for (uint32_t i = 0; i < n; i++) {
		char name[21], path[512];
		cairn__log_name(s->segs[i].first, name);
		if (!cairn__join_path(d, name, path, sizeof path))
			(void)d->vfs->unlink(d->vfs->ud, path);
		cairn__free(&d->alloc, s->segs[i].marks,
		            (size_t)s->segs[i].capmarks *
		                    sizeof *s->segs[i].marks);
	}
	memmove(s->segs, s->segs + n, (size_t)(s->nsegs - n) * sizeof *s->segs);
	s->nsegs -= n;
}

void cairn__log_retain(cairn_store *s)
{
	uint32_t covered = 0;
	while (seg_covered(s, covered))
		covered++;
	/* Newest first, as long as they fit. */
	uint64_t room = s->cfg.retain_log_bytes;
	uint32_t keep = covered;
	while (keep > 0 && s->segs[keep - 1].end <= room)
		room -= s->segs[--keep].end;
	cairn__segs_drop(s, keep);
}

void cairn__segs_release(cairn_store *s)
{
	cairn_log_cursor *c = s->cursors;
	while (c) {
		cairn_log_cursor *next = c->next;
		cursor_lose_file(c);
		c->s = NULL;
		c->prev = c->next = NULL;
		c = next;
	}
	s->cursors = NULL;
	for (uint32_t i = 0; i < s->nsegs; i++)
		cairn__free(&s->dir.alloc, s->segs[i].marks,
		            (size_t)s->segs[i].capmarks *
		                    sizeof *s->segs[i].marks);
	cairn__free(&s->dir.alloc, s->segs,
	            (size_t)s->capsegs * sizeof *s->segs);
	s->segs = NULL;
	s->nsegs = s->capsegs = 0;
}

uint64_t cairn_store_log_first(const cairn_store *s)
{
	return s->nsegs ? s->segs[0].first : s->last_seq + 1;
}

/* ---- cursors ------------------------------------------------------------ */

static void window_free(cairn_log_cursor *c)
{
	if (c->buf)
		cairn__free(&c->alloc, c->buf, c->cap);
	c->buf = NULL;
	c->cap = c->buf_len = 0;
}

/* Bytes [off, off + n) of the cursor's file, all below `limit`. */
static int window(cairn_log_cursor *c, uint64_t limit, uint64_t off, size_t n,
                  const uint8_t **out)
{
	if (off >= c->buf_off && off + n <= c->buf_off + c->buf_len) {
		*out = c->buf + (off - c->buf_off);
		return 0;
	}
	size_t want = n > WINDOW ? n : WINDOW;
	if (want > limit - off)
		want = (size_t)(limit - off);
	if (want > c->cap) {
		size_t ncap = want < WINDOW_MIN ? WINDOW_MIN : want;
		uint8_t *nb = cairn__alloc(&c->alloc, ncap);
		if (!nb)
			return CAIRN_ENOMEM;
		window_free(c);
		c->buf = nb;
		c->cap = ncap;
	}
	c->buf_len = 0;
	char name[21];
	cairn__log_name(c->file_first, name);
	int rc = cairn__read_all(&c->s->dir, c->f, off, c->buf, want, name);
	if (rc)
		return rc;
	c->buf_off = off;
	c->buf_len = want;
	*out = c->buf;
	return 0;
}

/*
 * Segment i is damaged (rc CAIRN_ECORRUPT) or missing (CAIRN_ENOTFOUND)
 * where the cursor needs it. If the snapshot holds all of it, the store
 * stops offering it, and the older ones, which no cursor can reach past
 * it any more: cairn_store_log_first() moves on. Returns rc.
 */
static int damaged(cairn_log_cursor *c, uint32_t i, int rc)
{
	if (seg_covered(c->s, i))
		cairn__segs_drop(c->s, i + 1);
	return rc;
}

/* Open segment i's file for the cursor and check its header. */
static int cursor_open_file(cairn_log_cursor *c, uint32_t i)
{
	cairn_store *s = c->s;
	cairn__dir *d = &s->dir;
	char name[21], path[512];
	cairn__log_name(s->segs[i].first, name);
	if (cairn__join_path(d, name, path, sizeof path))
		return CAIRN_ETOOBIG;
	int f;
	int e = d->vfs->open(d->vfs->ud, path, CAIRN_VFS_READ, 0, &f);
	if (e) {
		int rc = cairn__os_err(d, e, "open", name);
		return rc == CAIRN_ENOTFOUND ? damaged(c, i, rc) : rc;
	}
	c->f = f;
	c->file_first = s->segs[i].first;
	c->buf_len = 0;
	uint64_t limit = seg_end(s, i);
	const uint8_t *h = NULL;
	int rc = limit < CAIRN__LOG_HEADER
	                 ? CAIRN_ECORRUPT
	                 : window(c, limit, 0, CAIRN__LOG_HEADER, &h);
	if (!rc && !cairn__log_header_ok(h, c->file_first))
		rc = CAIRN_ECORRUPT;
	if (rc) {
		cursor_lose_file(c);
		return rc == CAIRN_ECORRUPT ? damaged(c, i, rc) : rc;
	}
	return 0;
}

/*
 * Place the cursor at record c->pos: open the file holding it and walk
 * the record heads from the nearest mark before it. Only the framing is
 * checked on the way (the records passed over are not delivered); the
 * record at pos is checked whole when it is read.
 */
static int cursor_seek(cairn_log_cursor *c)
{
	cairn_store *s = c->s;
	cursor_lose_file(c);
	if (s->nsegs == 0 || c->pos < s->segs[0].first)
		return CAIRN_ENOTFOUND;
	uint32_t i = seg_holding(s, c->pos);
	int rc = cursor_open_file(c, i);
	if (rc)
		return rc;
	cairn__seg *g = &s->segs[i];
	uint64_t limit = seg_end(s, i);
	if (i + 1 == s->nsegs && c->pos == s->last_seq + 1) {
		c->off = s->log_size; /* at the end: nothing to walk */
		return 0;
	}
	uint64_t seq = g->first, off = CAIRN__LOG_HEADER;
	uint32_t lo = 0, hi = g->nmarks; /* the last mark with seq <= pos */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (g->marks[mid].seq <= c->pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		seq = g->marks[lo - 1].seq;
		off = g->marks[lo - 1].off;
	}
	uint32_t max = s->cfg.max_record_bytes;
	while (seq < c->pos) {
		const uint8_t *h;
		if (limit - off < CAIRN__REC_HEAD + CAIRN__REC_TAIL)
			goto damage; /* the file ends before pos */
		rc = window(c, limit, off, CAIRN__REC_HEAD, &h);
		if (rc == CAIRN_ECORRUPT) /* shorter than it was */
			goto damage;
		if (rc) {
			cursor_lose_file(c);
			return rc;
		}
		uint64_t whole = (uint64_t)cairn__get_u32(h) + CAIRN__REC_HEAD +
		                 CAIRN__REC_TAIL;
		if (!cairn__rec_head_ok(h, max) ||
		    cairn__get_u64(h + 8) != seq || whole > limit - off)
			goto damage;
		cairn__seg_mark(&s->dir.alloc, g, seq, off);
		off += whole;
		seq++;
	}
	c->off = off;
	return 0;
damage:
	cursor_lose_file(c);
	return damaged(c, i, CAIRN_ECORRUPT);
}

int cairn_store_cursor_open(cairn_store *s, uint64_t from_seq,
                            cairn_log_cursor **out)
{
	if (!s || !out || from_seq == 0 || from_seq > s->last_seq + 1)
		return CAIRN_EINVAL;
	if (from_seq < cairn_store_log_first(s))
		return CAIRN_ENOTFOUND;
	cairn_log_cursor *c = cairn__alloc(&s->dir.alloc, sizeof *c);
	if (!c)
		return CAIRN_ENOMEM;
	memset(c, 0, sizeof *c);
	c->s = s;
	c->alloc = s->dir.alloc;
	c->f = -1;
	c->pos = from_seq;
	c->next = s->cursors;
	if (s->cursors)
		s->cursors->prev = c;
	s->cursors = c;
	int rc = cursor_seek(c);
	if (rc) {
		cairn_store_cursor_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

int cairn_store_cursor_next(cairn_log_cursor *c, uint64_t *seq,
                            const uint8_t **delta, size_t *len)
{
	if (!c || !seq || !delta || !len || !c->s)
		return CAIRN_EINVAL;
	cairn_store *s = c->s;
	/* The last call's record may have needed a large buffer: give it
	 * back now that its bytes are no longer the caller's. */
	if (c->cap > WINDOW)
		window_free(c);
	uint32_t max = s->cfg.max_record_bytes;
	for (;;) {
		if (c->pos > s->last_seq) {
			/* Caught up: an idle cursor holds no buffer. */
			window_free(c);
			return CAIRN_EAGAIN;
		}
		int rc;
		if (c->f < 0) {
			if ((rc = cursor_seek(c)) != 0)
				return rc;
			continue;
		}
		uint32_t i = seg_holding(s, c->file_first);
		if (c->file_first < s->segs[0].first ||
		    s->segs[i].first != c->file_first) {
			/* Its file is no longer offered: look again. */
			cursor_lose_file(c);
			continue;
		}
		uint64_t limit = seg_end(s, i);
		if (i + 1 < s->nsegs &&
		    (c->pos == s->segs[i + 1].first || c->off >= limit)) {
			/* At the end of a file that is not the last: the next
			 * one must start exactly here. */
			if (c->pos != s->segs[i + 1].first)
				return damaged(c, i, CAIRN_ECORRUPT);
			cursor_lose_file(c);
			continue;
		}
		const uint8_t *p;
		if (limit - c->off < CAIRN__REC_HEAD + CAIRN__REC_TAIL)
			return damaged(c, i, CAIRN_ECORRUPT);
		if ((rc = window(c, limit, c->off, CAIRN__REC_HEAD, &p)) != 0)
			return rc == CAIRN_ECORRUPT ? damaged(c, i, rc) : rc;
		uint32_t rlen = cairn__get_u32(p);
		size_t whole = (size_t)rlen + CAIRN__REC_HEAD + CAIRN__REC_TAIL;
		if (!cairn__rec_head_ok(p, max) ||
		    cairn__get_u64(p + 8) != c->pos || whole > limit - c->off)
			return damaged(c, i, CAIRN_ECORRUPT);
		if ((rc = window(c, limit, c->off, whole, &p)) != 0)
			return rc == CAIRN_ECORRUPT ? damaged(c, i, rc) : rc;
		if (cairn__crc32c(0, p, CAIRN__REC_HEAD + (size_t)rlen) !=
		    cairn__get_u32(p + CAIRN__REC_HEAD + rlen))
			return damaged(c, i, CAIRN_ECORRUPT);
		cairn__seg_mark(&s->dir.alloc, &s->segs[i], c->pos, c->off);
		c->off += whole;
		uint64_t got = c->pos++;
		if (p[4] == CAIRN__REC_DELTA) {
			*seq = got;
			*delta = p + CAIRN__REC_HEAD;
			*len = rlen;
			return 0;
		}
	}
}

uint64_t cairn_store_cursor_pos(const cairn_log_cursor *c)
{
	return c ? c->pos : 0;
}

void cairn_store_cursor_close(cairn_log_cursor *c)
{
	if (!c)
		return;
	if (c->s) {
		cursor_lose_file(c);
		if (c->prev)
			c->prev->next = c->next;
		else
			c->s->cursors = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
	window_free(c);
	cairn_allocator a = c->alloc;
	cairn__free(&a, c, sizeof *c);
}
