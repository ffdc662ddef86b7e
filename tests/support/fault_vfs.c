/*
 * fault_vfs.c -- the in-memory, fault-injecting file system of the tests
 * (fault_vfs.h describes the model).
 *
 * Every inode keeps two states, current and durable. For a file, the
 * durable content plus the list of unsynced operations (writes with their
 * bytes, truncations) is the whole truth: syncing applies the list to the
 * durable content, and a crash applies a random part of it. Keeping the
 * operations rather than a second copy of the file is what lets a crash
 * tear a write, keep a prefix of appends, or (SUBSET mode) reorder them.
 *
 * Inodes are kept in one list in creation order, so that a crash walks
 * them, and draws its random numbers, in an order that depends only on the
 * history: the same seed gives the same disk. Nothing counts references:
 * an inode lives while a current or durable directory entry, or an open
 * handle, reaches it, and gc() (mark and sweep from the root) frees the
 * rest after every call that can drop a reference.
 */
#include "fault_vfs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* Limits: real file systems have them too, and a test that runs into one
 * by mistake should fail cleanly rather than allocate without bound. */
#define MAX_PATH 4096
#define MAX_NAME 255
#define MAX_DEPTH 64
#define MAX_FILE ((uint64_t)1 << 32)

typedef struct bytes {
	uint8_t *p;
	size_t len, cap;
} bytes;

/* An unsynced write (data != NULL or len == 0) or truncation. */
typedef struct pending {
	bool is_trunc;
	uint64_t off; /* write: where; truncation: the new size */
	uint8_t *data;
	size_t len;
} pending;

typedef struct inode inode;

typedef struct entry {
	char *name;
	inode *node;
} entry;

typedef struct entries {
	entry *v;
	size_t n, cap;
} entries;

struct inode {
	inode *next; /* fault_vfs.first: every inode, in creation order */
	bool is_dir;
	bool mark;         /* gc */
	bool foreign_lock; /* fault_vfs_hold_lock() */
	unsigned mode;
	/* a file */
	bytes cur, dur;
	pending *ops;
	size_t nops, cap_ops;
	/* a directory */
	entries cur_ents, dur_ents;
};

typedef struct handle {
	int id;
	int flags; /* CAIRN_VFS_* */
	bool locked;
	inode *node;
} handle;

typedef enum rule_action { RULE_FAIL, RULE_SHORT, RULE_CRASH } rule_action;

typedef struct rule {
	rule_action action;
	fault_vfs_op kind;
	uint64_t n;    /* fires at the nth matching call */
	uint64_t seen; /* matching calls since armed */
	int err;
	bool persistent;
} rule;

struct fault_vfs {
	cairn_vfs vfs; /* ud points back here */
	pthread_mutex_t mu;
	inode *root;
	inode *first, *last;
	handle *handles;
	size_t nhandles, cap_handles;
	int next_id;
	rule rules[FAULT_VFS_MAX_RULES];
	size_t nrules;
	uint64_t calls[FAULT_VFS_OP_CLASSES];
	bool crashed;
	fault_vfs_crash_mode mode;
	size_t sector;
};

/* ---- memory ------------------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL) {
		fprintf(stderr, "fault_vfs: out of memory\n");
		abort();
	}
	return q;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL) {
		fprintf(stderr, "fault_vfs: out of memory\n");
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = xrealloc(NULL, n);
	memcpy(d, s, n);
	return d;
}

/* Grow *v (of *cap elements of `size` bytes) to hold at least `need`. */
static void grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 4;
	while (c < need)
		c *= 2;
	*v = xrealloc(*v, c * size);
	*cap = c;
}

/* ---- byte arrays -------------------------------------------------------- */

static void bytes_resize(bytes *b, size_t len)
{
	if (len > b->len) {
		grow((void **)&b->p, &b->cap, len, 1);
		memset(b->p + b->len, 0, len - b->len);
	}
	b->len = len;
}

/* Write p[0..n) at off, zero-filling any gap past the end. */
static void bytes_write(bytes *b, uint64_t off, const uint8_t *p, size_t n)
{
	size_t o = (size_t)off;
	if (o + n > b->len)
		bytes_resize(b, o + n);
	if (n > 0)
		memcpy(b->p + o, p, n);
}

static void bytes_set(bytes *b, const uint8_t *p, size_t n)
{
	b->len = 0;
	bytes_resize(b, n);
	if (n > 0)
		memcpy(b->p, p, n);
}

static void bytes_free(bytes *b)
{
	free(b->p);
	*b = (bytes){0};
}

static int bytes_copy_out(const bytes *b, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = b->len;
	if (b->len > 0) {
		*out = xrealloc(NULL, b->len);
		memcpy(*out, b->p, b->len);
	}
	return 0;
}

/* ---- directory entries -------------------------------------------------- */

static size_t ents_find(const entries *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

static inode *ents_get(const entries *e, const char *name)
{
	size_t i = ents_find(e, name);
	return i == SIZE_MAX ? NULL : e->v[i].node;
}

static void ents_set(entries *e, const char *name, inode *node)
{
	size_t i = ents_find(e, name);
	if (i != SIZE_MAX) {
		e->v[i].node = node;
		return;
	}
	grow((void **)&e->v, &e->cap, e->n + 1, sizeof *e->v);
	e->v[e->n].name = xstrdup(name);
	e->v[e->n].node = node;
	e->n++;
}

/* Remove entry i, keeping the others in creation order (listings are
 * deterministic). */
static void ents_remove(entries *e, size_t i)
{
	free(e->v[i].name);
	memmove(e->v + i, e->v + i + 1, (e->n - i - 1) * sizeof *e->v);
	e->n--;
}

static void ents_clear(entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].name);
	e->n = 0;
}

static void ents_copy(entries *dst, const entries *src)
{
	ents_clear(dst);
	grow((void **)&dst->v, &dst->cap, src->n, sizeof *dst->v);
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i].name = xstrdup(src->v[i].name);
		dst->v[i].node = src->v[i].node;
	}
	dst->n = src->n;
}

static void ents_free(entries *e)
{
	ents_clear(e);
	free(e->v);
	*e = (entries){0};
}

/* ---- inodes ------------------------------------------------------------- */

static void ops_clear(inode *n)
{
	for (size_t i = 0; i < n->nops; i++)
		free(n->ops[i].data);
	n->nops = 0;
}

static void ops_push(inode *n, pending op)
{
	grow((void **)&n->ops, &n->cap_ops, n->nops + 1, sizeof *n->ops);
	n->ops[n->nops++] = op;
}

static inode *inode_new(fault_vfs *fv, bool is_dir, unsigned mode)
{
	inode *n = xcalloc(1, sizeof *n);
	n->is_dir = is_dir;
	n->mode = mode;
	if (fv->last != NULL)
		fv->last->next = n;
	else
		fv->first = n;
	fv->last = n;
	return n;
}

static void inode_free(inode *n)
{
	bytes_free(&n->cur);
	bytes_free(&n->dur);
	ops_clear(n);
	free(n->ops);
	ents_free(&n->cur_ents);
	ents_free(&n->dur_ents);
	free(n);
}

/* Replace a file's content on the disk: current and durable alike. */
static void inode_set_content(inode *n, const uint8_t *p, size_t len)
{
	bytes_set(&n->cur, p, len);
	bytes_set(&n->dur, p, len);
	ops_clear(n);
}

static void mark(inode *n)
{
	if (n->mark)
		return;
	n->mark = true;
	for (size_t i = 0; i < n->cur_ents.n; i++)
		mark(n->cur_ents.v[i].node);
	for (size_t i = 0; i < n->dur_ents.n; i++)
		mark(n->dur_ents.v[i].node);
}

/* Free every inode that no entry, current or durable, and no handle can
 * reach. */
static void gc(fault_vfs *fv)
{
	mark(fv->root);
	for (size_t i = 0; i < fv->nhandles; i++)
		mark(fv->handles[i].node);
	inode **link = &fv->first;
	fv->last = NULL;
	while (*link != NULL) {
		inode *n = *link;
		if (n->mark) {
			n->mark = false;
			fv->last = n;
			link = &n->next;
		} else {
			*link = n->next;
			inode_free(n);
		}
	}
}

/* ---- paths -------------------------------------------------------------- */

typedef struct parsed {
	char buf[MAX_PATH];
	const char *comp[MAX_DEPTH];
	size_t n;
} parsed;

/* Split a path into its components, resolving "." and ".." by name. */
static int parse_path(const char *path, parsed *pp)
{
	size_t len = strlen(path);
	if (len == 0)
		return -ENOENT;
	if (len >= MAX_PATH)
		return -ENAMETOOLONG;
	memcpy(pp->buf, path, len + 1);
	pp->n = 0;
	char *s = pp->buf;
	while (*s != '\0') {
		while (*s == '/')
			*s++ = '\0';
		if (*s == '\0')
			break;
		char *c = s;
		while (*s != '\0' && *s != '/')
			s++;
		if (*s == '/')
			*s++ = '\0';
		if (strlen(c) > MAX_NAME)
			return -ENAMETOOLONG;
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (pp->n > 0)
				pp->n--;
			continue;
		}
		if (pp->n == MAX_DEPTH)
			return -ENAMETOOLONG;
		pp->comp[pp->n++] = c;
	}
	return 0;
}

/* Where a path leads: its parent directory and name, and the inode there
 * if any. The root has no parent (dir and name NULL, node the root). */
typedef struct loc {
	inode *dir;
	const char *name;
	inode *node;
} loc;

static int walk(fault_vfs *fv, const parsed *pp, size_t ncomp, inode **out)
{
	inode *d = fv->root;
	for (size_t i = 0; i < ncomp; i++) {
		inode *c = ents_get(&d->cur_ents, pp->comp[i]);
		if (c == NULL)
			return -ENOENT;
		if (!c->is_dir)
			return -ENOTDIR;
		d = c;
	}
	*out = d;
	return 0;
}

static int resolve(fault_vfs *fv, const char *path, parsed *pp, loc *l)
{
	int rc = parse_path(path, pp);
	if (rc != 0)
		return rc;
	if (pp->n == 0) {
		*l = (loc){.node = fv->root};
		return 0;
	}
	rc = walk(fv, pp, pp->n - 1, &l->dir);
	if (rc != 0)
		return rc;
	l->name = pp->comp[pp->n - 1];
	l->node = ents_get(&l->dir->cur_ents, l->name);
	return 0;
}

/* The file at path, or an error for a missing file or a directory. */
static int resolve_file(fault_vfs *fv, const char *path, inode **out)
{
	parsed pp;
	loc l;
	int rc = resolve(fv, path, &pp, &l);
	if (rc != 0)
		return rc;
	if (l.node == NULL)
		return -ENOENT;
	if (l.node->is_dir)
		return -EISDIR;
	*out = l.node;
	return 0;
}

/* ---- handles ------------------------------------------------------------ */

static handle *find_handle(fault_vfs *fv, int id)
{
	for (size_t i = 0; i < fv->nhandles; i++)
		if (fv->handles[i].id == id)
			return &fv->handles[i];
	return NULL;
}

static void drop_handle(fault_vfs *fv, handle *h)
{
	*h = fv->handles[--fv->nhandles];
}

/* ---- calls and faults --------------------------------------------------- */

static void lock(fault_vfs *fv)
{
	pthread_mutex_lock(&fv->mu);
}

static void unlock(fault_vfs *fv)
{
	pthread_mutex_unlock(&fv->mu);
}

static bool in_class(fault_vfs_op kind, fault_vfs_op cls)
{
	return cls == kind || cls == FAULT_VFS_ANY ||
	       (cls == FAULT_VFS_SYNC_POINT &&
	        (kind == FAULT_VFS_SYNC || kind == FAULT_VFS_SYNC_DIR));
}

/*
 * Count a call and decide its fate: 0 to go ahead (with *short_write set
 * if a short-write rule fired), or the error to return. A crash rule wins
 * over a failure, a failure over a short write; a transient rule is
 * disarmed once it has fired.
 */
static int enter(fault_vfs *fv, fault_vfs_op kind, bool *short_write)
{
	fv->calls[kind]++;
	fv->calls[FAULT_VFS_ANY]++;
	if (kind == FAULT_VFS_SYNC || kind == FAULT_VFS_SYNC_DIR)
		fv->calls[FAULT_VFS_SYNC_POINT]++;
	if (short_write != NULL)
		*short_write = false;
	if (fv->crashed)
		return -EIO;

	bool crash = false, shorten = false;
	int err = 0;
	size_t kept = 0;
	for (size_t i = 0; i < fv->nrules; i++) {
		rule r = fv->rules[i];
		if (in_class(kind, r.kind)) {
			r.seen++;
			bool fires =
			        r.persistent ? r.seen >= r.n : r.seen == r.n;
			if (fires) {
				if (r.action == RULE_CRASH)
					crash = true;
				else if (r.action == RULE_FAIL && err == 0)
					err = r.err;
				else if (r.action == RULE_SHORT)
					shorten = true;
			}
			if (!r.persistent && r.seen >= r.n)
				continue; /* spent */
		}
		fv->rules[kept++] = r;
	}
	fv->nrules = kept;

	if (crash) {
		fv->crashed = true;
		return -EIO;
	}
	if (err != 0)
		return err;
	if (short_write != NULL)
		*short_write = shorten;
	return 0;
}

static void arm(fault_vfs *fv, rule r)
{
	if (r.n == 0 || (int)r.kind < 0 || r.kind >= FAULT_VFS_OP_CLASSES) {
		fprintf(stderr, "fault_vfs: bad fault (kind %d, n %llu)\n",
		        (int)r.kind, (unsigned long long)r.n);
		abort();
	}
	lock(fv);
	if (fv->nrules == FAULT_VFS_MAX_RULES) {
		fprintf(stderr, "fault_vfs: more than %d faults armed\n",
		        FAULT_VFS_MAX_RULES);
		abort();
	}
	fv->rules[fv->nrules++] = r;
	unlock(fv);
}

void fault_vfs_fail(fault_vfs *fv, fault_vfs_op kind, uint64_t n, int err,
                    bool persistent)
{
	if (err >= 0) {
		fprintf(stderr,
		        "fault_vfs_fail: err must be a negative errno\n");
		abort();
	}
	arm(fv, (rule){.action = RULE_FAIL,
	               .kind = kind,
	               .n = n,
	               .err = err,
	               .persistent = persistent});
}

void fault_vfs_short_write(fault_vfs *fv, uint64_t n, bool persistent)
{
	arm(fv, (rule){.action = RULE_SHORT,
	               .kind = FAULT_VFS_WRITE,
	               .n = n,
	               .persistent = persistent});
}

void fault_vfs_crash_at(fault_vfs *fv, fault_vfs_op kind, uint64_t n)
{
	arm(fv, (rule){.action = RULE_CRASH, .kind = kind, .n = n});
}

void fault_vfs_crash_at_sync(fault_vfs *fv, uint64_t n)
{
	fault_vfs_crash_at(fv, FAULT_VFS_SYNC_POINT, n);
}

void fault_vfs_clear_faults(fault_vfs *fv)
{
	lock(fv);
	fv->nrules = 0;
	unlock(fv);
}

uint64_t fault_vfs_calls(fault_vfs *fv, fault_vfs_op kind)
{
	if ((int)kind < 0 || kind >= FAULT_VFS_OP_CLASSES)
		return 0;
	lock(fv);
	uint64_t n = fv->calls[kind];
	unlock(fv);
	return n;
}

void fault_vfs_reset_calls(fault_vfs *fv)
{
	lock(fv);
	memset(fv->calls, 0, sizeof fv->calls);
	unlock(fv);
}

bool fault_vfs_crashed(fault_vfs *fv)
{
	lock(fv);
	bool c = fv->crashed;
	unlock(fv);
	return c;
}

/* ---- the operations ----------------------------------------------------- */

static int do_open(fault_vfs *fv, const char *path, int flags, unsigned mode,
                   int *out)
{
	const int known = CAIRN_VFS_READ | CAIRN_VFS_WRITE | CAIRN_VFS_CREATE |
	                  CAIRN_VFS_EXCL | CAIRN_VFS_TRUNC;
	if ((flags & ~known) != 0 ||
	    (flags & (CAIRN_VFS_READ | CAIRN_VFS_WRITE)) == 0)
		return -EINVAL;
	/* Stricter than POSIX, where these are unspecified: a store that
	 * relies on them has a bug. */
	if ((flags & CAIRN_VFS_EXCL) && !(flags & CAIRN_VFS_CREATE))
		return -EINVAL;
	if ((flags & CAIRN_VFS_TRUNC) && !(flags & CAIRN_VFS_WRITE))
		return -EINVAL;

	parsed pp;
	loc l;
	int rc = resolve(fv, path, &pp, &l);
	if (rc != 0)
		return rc;
	inode *n = l.node;
	if (n != NULL && (flags & CAIRN_VFS_CREATE) && (flags & CAIRN_VFS_EXCL))
		return -EEXIST;
	if (n != NULL && n->is_dir)
		return -EISDIR;
	if (n == NULL) {
		if (!(flags & CAIRN_VFS_CREATE))
			return -ENOENT;
		n = inode_new(fv, false, mode);
		ents_set(&l.dir->cur_ents, l.name, n);
	} else if (flags & CAIRN_VFS_TRUNC) {
		bytes_resize(&n->cur, 0);
		ops_push(n, (pending){.is_trunc = true, .off = 0});
	}

	grow((void **)&fv->handles, &fv->cap_handles, fv->nhandles + 1,
	     sizeof *fv->handles);
	int id = fv->next_id++;
	fv->handles[fv->nhandles++] =
	        (handle){.id = id, .flags = flags, .node = n};
	*out = id;
	return 0;
}

static int fv_open(void *ud, const char *path, int flags, unsigned mode,
                   int *out)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_OPEN, NULL);
	if (rc == 0)
		rc = do_open(fv, path, flags, mode, out);
	unlock(fv);
	return rc;
}

static int fv_close(void *ud, int file)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_CLOSE, NULL);
	/* Whatever the outcome, the handle is gone, as with close(2): a
	 * store that closes on an error path must not leak it. */
	handle *h = find_handle(fv, file);
	if (h == NULL) {
		rc = rc != 0 ? rc : -EBADF;
	} else {
		drop_handle(fv, h);
		gc(fv);
	}
	unlock(fv);
	return rc;
}

static int fv_read(void *ud, int file, uint64_t off, void *buf, size_t len,
                   size_t *got)
{
	fault_vfs *fv = ud;
	lock(fv);
	*got = 0;
	int rc = enter(fv, FAULT_VFS_READ, NULL);
	handle *h = rc == 0 ? find_handle(fv, file) : NULL;
	if (rc == 0 && (h == NULL || !(h->flags & CAIRN_VFS_READ)))
		rc = -EBADF;
	if (rc == 0) {
		const bytes *b = &h->node->cur;
		if (off < b->len) {
			size_t avail = b->len - (size_t)off;
			*got = len < avail ? len : avail;
			memcpy(buf, b->p + off, *got);
		}
	}
	unlock(fv);
	return rc;
}

static int fv_write(void *ud, int file, uint64_t off, const void *buf,
                    size_t len, size_t *put)
{
	fault_vfs *fv = ud;
	lock(fv);
	*put = 0;
	bool shorten;
	int rc = enter(fv, FAULT_VFS_WRITE, &shorten);
	handle *h = rc == 0 ? find_handle(fv, file) : NULL;
	if (rc == 0 && (h == NULL || !(h->flags & CAIRN_VFS_WRITE)))
		rc = -EBADF;
	if (rc == 0 && (off > MAX_FILE || len > MAX_FILE - off))
		rc = -EFBIG;
	if (rc == 0 && len > 0) {
		size_t n = shorten && len >= 2 ? len / 2 : len;
		bytes_write(&h->node->cur, off, buf, n);
		uint8_t *copy = xrealloc(NULL, n);
		memcpy(copy, buf, n);
		ops_push(h->node,
		         (pending){.off = off, .data = copy, .len = n});
		*put = n;
	}
	unlock(fv);
	return rc;
}

/* Make a file's unsynced operations durable. Applying them to the durable
 * content, rather than copying the current content, matters after a
 * failed sync: the writes it lost stay lost. */
static void sync_file(inode *n)
{
	for (size_t i = 0; i < n->nops; i++) {
		const pending *op = &n->ops[i];
		if (op->is_trunc)
			bytes_resize(&n->dur, (size_t)op->off);
		else
			bytes_write(&n->dur, op->off, op->data, op->len);
	}
	ops_clear(n);
}

static int fv_sync(void *ud, int file, bool data_only)
{
	(void)data_only; /* the size is data here: fdatasync keeps it too */
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_SYNC, NULL);
	handle *h = find_handle(fv, file);
	if (h == NULL) {
		rc = rc != 0 ? rc : -EBADF;
	} else if (rc == 0) {
		sync_file(h->node);
	} else if (!fv->crashed) {
		/* An injected fsync error: the kernel marks the dirty pages
		 * clean and forgets them (fault_vfs.h, "A SYNC THAT
		 * FAILS"). */
		ops_clear(h->node);
	}
	unlock(fv);
	return rc;
}

static int fv_size(void *ud, int file, uint64_t *out)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_SIZE, NULL);
	handle *h = rc == 0 ? find_handle(fv, file) : NULL;
	if (rc == 0 && h == NULL)
		rc = -EBADF;
	if (rc == 0)
		*out = h->node->cur.len;
	unlock(fv);
	return rc;
}

static int fv_truncate(void *ud, int file, uint64_t size)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_TRUNCATE, NULL);
	handle *h = rc == 0 ? find_handle(fv, file) : NULL;
	if (rc == 0 && h == NULL)
		rc = -EBADF;
	else if (rc == 0 && !(h->flags & CAIRN_VFS_WRITE))
		rc = -EINVAL; /* what ftruncate(2) says on Linux */
	else if (rc == 0 && size > MAX_FILE)
		rc = -EFBIG;
	if (rc == 0) {
		bytes_resize(&h->node->cur, (size_t)size);
		ops_push(h->node, (pending){.is_trunc = true, .off = size});
	}
	unlock(fv);
	return rc;
}

/* Whether the directory path `a` is `b` or an ancestor of it. */
static bool path_within(const parsed *a, const parsed *b)
{
	if (a->n > b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->comp[i], b->comp[i]) != 0)
			return false;
	return true;
}

static int do_rename(fault_vfs *fv, const char *from, const char *to)
{
	parsed pf, pt;
	loc lf, lt;
	int rc = resolve(fv, from, &pf, &lf);
	if (rc == 0)
		rc = resolve(fv, to, &pt, &lt);
	if (rc != 0)
		return rc;
	if (lf.node == NULL)
		return -ENOENT;
	if (lf.dir == NULL || lt.dir == NULL)
		return -EBUSY; /* the root */
	if (lf.node == lt.node)
		return 0; /* POSIX: the same file, nothing happens */
	if (lf.node->is_dir) {
		if (lt.node != NULL && !lt.node->is_dir)
			return -ENOTDIR;
		if (lt.node != NULL && lt.node->cur_ents.n > 0)
			return -ENOTEMPTY;
		if (path_within(&pf, &pt))
			return -EINVAL; /* into itself */
	} else if (lt.node != NULL && lt.node->is_dir) {
		return -EISDIR;
	}
	inode *n = lf.node;
	ents_remove(&lf.dir->cur_ents, ents_find(&lf.dir->cur_ents, lf.name));
	ents_set(&lt.dir->cur_ents, lt.name, n);
	gc(fv);
	return 0;
}

static int fv_rename(void *ud, const char *from, const char *to)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_RENAME, NULL);
	if (rc == 0)
		rc = do_rename(fv, from, to);
	unlock(fv);
	return rc;
}

static int do_unlink(fault_vfs *fv, const char *path)
{
	parsed pp;
	loc l;
	int rc = resolve(fv, path, &pp, &l);
	if (rc != 0)
		return rc;
	if (l.node == NULL)
		return -ENOENT;
	if (l.node->is_dir)
		return -EISDIR; /* Linux's answer to unlink(2) of a directory */
	ents_remove(&l.dir->cur_ents, ents_find(&l.dir->cur_ents, l.name));
	gc(fv);
	return 0;
}

static int fv_unlink(void *ud, const char *path)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_UNLINK, NULL);
	if (rc == 0)
		rc = do_unlink(fv, path);
	unlock(fv);
	return rc;
}

static int do_mkdir(fault_vfs *fv, const char *path, unsigned mode)
{
	parsed pp;
	loc l;
	int rc = resolve(fv, path, &pp, &l);
	if (rc != 0)
		return rc;
	if (l.node != NULL)
		return -EEXIST;
	ents_set(&l.dir->cur_ents, l.name, inode_new(fv, true, mode));
	return 0;
}

static int fv_mkdir(void *ud, const char *path, unsigned mode)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_MKDIR, NULL);
	if (rc == 0)
		rc = do_mkdir(fv, path, mode);
	unlock(fv);
	return rc;
}

static int resolve_dir(fault_vfs *fv, const char *path, inode **out)
{
	parsed pp;
	loc l;
	int rc = resolve(fv, path, &pp, &l);
	if (rc != 0)
		return rc;
	if (l.node == NULL)
		return -ENOENT;
	if (!l.node->is_dir)
		return -ENOTDIR;
	*out = l.node;
	return 0;
}

static int fv_sync_dir(void *ud, const char *path)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_SYNC_DIR, NULL);
	inode *d = NULL;
	if (rc == 0)
		rc = resolve_dir(fv, path, &d);
	if (rc == 0)
		ents_copy(&d->dur_ents, &d->cur_ents);
	unlock(fv);
	return rc;
}

static int fv_list(void *ud, const char *dir, cairn_vfs_list_fn fn, void *fn_ud)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_LIST, NULL);
	inode *d = NULL;
	if (rc == 0)
		rc = resolve_dir(fv, dir, &d);
	/* Copy the names and call back without the mutex: the callback may
	 * call the VFS (unlink what it lists, say). */
	char **names = NULL;
	size_t n = 0;
	if (rc == 0) {
		n = d->cur_ents.n;
		names = xcalloc(n, sizeof *names);
		for (size_t i = 0; i < n; i++)
			names[i] = xstrdup(d->cur_ents.v[i].name);
	}
	unlock(fv);
	size_t i = 0;
	for (; i < n; i++)
		if (fn(names[i], fn_ud) != 0)
			break;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int fv_lock(void *ud, int file)
{
	fault_vfs *fv = ud;
	lock(fv);
	int rc = enter(fv, FAULT_VFS_LOCK, NULL);
	handle *h = rc == 0 ? find_handle(fv, file) : NULL;
	if (rc == 0 && (h == NULL || !(h->flags & CAIRN_VFS_WRITE)))
		rc = -EBADF;
	if (rc == 0 && h->node->foreign_lock)
		rc = -EAGAIN;
	for (size_t i = 0; rc == 0 && i < fv->nhandles; i++) {
		const handle *o = &fv->handles[i];
		if (o != h && o->node == h->node && o->locked)
			rc = -EAGAIN;
	}
	if (rc == 0)
		h->locked = true;
	unlock(fv);
	return rc;
}

/* ---- crashes ------------------------------------------------------------ */

/* Apply one unsynced operation to `out`; a write may be torn, keeping only
 * the part before a sector boundary that falls strictly inside it. */
static void apply_op(fault_vfs *fv, bytes *out, const pending *op, bool tear,
                     rng *r)
{
	if (op->is_trunc) {
		bytes_resize(out, (size_t)op->off);
		return;
	}
	size_t keep = op->len;
	if (tear && rng_pct(r, 50)) {
		uint64_t end = op->off + op->len;
		uint64_t first = (op->off / fv->sector + 1) * fv->sector;
		if (first < end) {
			uint64_t count = (end - 1 - first) / fv->sector + 1;
			uint64_t cut = first + rng_below(r, count) * fv->sector;
			keep = (size_t)(cut - op->off);
		}
	}
	bytes_write(out, op->off, op->data, keep);
}

/* What a power loss leaves of a file, which becomes its durable content. */
static void crash_file(fault_vfs *fv, inode *n, rng *r)
{
	bytes out = {0};
	bytes_set(&out, n->dur.p, n->dur.len);
	switch (fv->mode) {
	case FAULT_VFS_CRASH_PREFIX: {
		size_t k = (size_t)rng_below(r, (uint64_t)n->nops + 1);
		for (size_t i = 0; i < k; i++)
			apply_op(fv, &out, &n->ops[i], i + 1 == k, r);
		break;
	}
	case FAULT_VFS_CRASH_SUBSET:
		for (size_t i = 0; i < n->nops; i++)
			if (rng_pct(r, 50))
				apply_op(fv, &out, &n->ops[i], true, r);
		break;
	case FAULT_VFS_CRASH_DROP: break;
	}
	ops_clear(n);
	bytes_free(&n->cur);
	n->cur = out;
	bytes_set(&n->dur, out.p, out.len);
}

/* What a process's death does, and a power loss too. */
static void close_all(fault_vfs *fv)
{
	fv->nhandles = 0;
	fv->crashed = false;
	gc(fv);
}

void fault_vfs_crash(fault_vfs *fv, uint64_t seed)
{
	lock(fv);
	rng r;
	rng_seed(&r, seed);
	for (inode *n = fv->first; n != NULL; n = n->next) {
		n->foreign_lock = false;
		if (n->is_dir)
			ents_copy(&n->cur_ents, &n->dur_ents);
		else
			crash_file(fv, n, &r);
	}
	close_all(fv);
	unlock(fv);
}

void fault_vfs_kill(fault_vfs *fv)
{
	lock(fv);
	close_all(fv);
	unlock(fv);
}

void fault_vfs_set_crash_mode(fault_vfs *fv, fault_vfs_crash_mode mode)
{
	lock(fv);
	fv->mode = mode;
	unlock(fv);
}

void fault_vfs_set_sector_size(fault_vfs *fv, size_t sector)
{
	if (sector == 0 || (sector & (sector - 1)) != 0) {
		fprintf(stderr, "fault_vfs: sector size %zu\n", sector);
		abort();
	}
	lock(fv);
	fv->sector = sector;
	unlock(fv);
}

/* ---- life cycle --------------------------------------------------------- */

fault_vfs *fault_vfs_new(void)
{
	fault_vfs *fv = xcalloc(1, sizeof *fv);
	if (pthread_mutex_init(&fv->mu, NULL) != 0) {
		fprintf(stderr, "fault_vfs: pthread_mutex_init failed\n");
		abort();
	}
	fv->root = inode_new(fv, true, 0755);
	fv->next_id = 100; /* far from 0..2, so a stray fd stands out */
	fv->mode = FAULT_VFS_CRASH_PREFIX;
	fv->sector = FAULT_VFS_SECTOR;
	fv->vfs = (cairn_vfs){
	        .ud = fv,
	        .open = fv_open,
	        .close = fv_close,
	        .read = fv_read,
	        .write = fv_write,
	        .sync = fv_sync,
	        .size = fv_size,
	        .truncate = fv_truncate,
	        .rename = fv_rename,
	        .unlink = fv_unlink,
	        .mkdir = fv_mkdir,
	        .sync_dir = fv_sync_dir,
	        .list = fv_list,
	        .lock = fv_lock,
	};
	return fv;
}

void fault_vfs_free(fault_vfs *fv)
{
	if (fv == NULL)
		return;
	inode *n = fv->first;
	while (n != NULL) {
		inode *next = n->next;
		inode_free(n);
		n = next;
	}
	free(fv->handles);
	pthread_mutex_destroy(&fv->mu);
	free(fv);
}

const cairn_vfs *fault_vfs_vfs(fault_vfs *fv)
{
	return &fv->vfs;
}

/* ---- the disk, for tests ------------------------------------------------ */

int fault_vfs_mkdir_p(fault_vfs *fv, const char *path)
{
	parsed pp;
	int rc = parse_path(path, &pp);
	if (rc != 0)
		return rc;
	lock(fv);
	inode *d = fv->root;
	for (size_t i = 0; rc == 0 && i < pp.n; i++) {
		inode *c = ents_get(&d->cur_ents, pp.comp[i]);
		if (c == NULL) {
			c = inode_new(fv, true, 0755);
			ents_set(&d->cur_ents, pp.comp[i], c);
			ents_set(&d->dur_ents, pp.comp[i], c);
		} else if (!c->is_dir) {
			rc = -ENOTDIR;
		}
		d = c;
	}
	unlock(fv);
	return rc;
}

static int get_bytes(fault_vfs *fv, const char *path, bool durable,
                     uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	lock(fv);
	inode *n;
	int rc = resolve_file(fv, path, &n);
	if (rc == 0)
		rc = bytes_copy_out(durable ? &n->dur : &n->cur, out, len);
	unlock(fv);
	return rc;
}

int fault_vfs_file_bytes(fault_vfs *fv, const char *path, uint8_t **out,
                         size_t *len)
{
	return get_bytes(fv, path, false, out, len);
}

int fault_vfs_durable_bytes(fault_vfs *fv, const char *path, uint8_t **out,
                            size_t *len)
{
	return get_bytes(fv, path, true, out, len);
}

int fault_vfs_set_file_bytes(fault_vfs *fv, const char *path, const void *p,
                             size_t len)
{
	lock(fv);
	parsed pp;
	loc l;
	int rc = resolve(fv, path, &pp, &l);
	if (rc == 0 && l.node != NULL && l.node->is_dir)
		rc = -EISDIR;
	if (rc == 0 && l.node == NULL) {
		l.node = inode_new(fv, false, 0644);
		ents_set(&l.dir->cur_ents, l.name, l.node);
		ents_set(&l.dir->dur_ents, l.name, l.node);
	}
	if (rc == 0)
		inode_set_content(l.node, p, len);
	unlock(fv);
	return rc;
}

int fault_vfs_flip_bit(fault_vfs *fv, const char *path, uint64_t bit)
{
	lock(fv);
	inode *n;
	int rc = resolve_file(fv, path, &n);
	if (rc == 0 && bit / 8 >= n->cur.len)
		rc = -ERANGE;
	if (rc == 0) {
		n->cur.p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bytes_set(&n->dur, n->cur.p, n->cur.len);
		ops_clear(n);
	}
	unlock(fv);
	return rc;
}

int fault_vfs_truncate_file(fault_vfs *fv, const char *path, size_t len)
{
	lock(fv);
	inode *n;
	int rc = resolve_file(fv, path, &n);
	if (rc == 0 && len > n->cur.len)
		rc = -ERANGE;
	if (rc == 0) {
		bytes_resize(&n->cur, len);
		bytes_set(&n->dur, n->cur.p, n->cur.len);
		ops_clear(n);
	}
	unlock(fv);
	return rc;
}

bool fault_vfs_exists(fault_vfs *fv, const char *path)
{
	lock(fv);
	parsed pp;
	loc l;
	bool found = resolve(fv, path, &pp, &l) == 0 && l.node != NULL;
	unlock(fv);
	return found;
}

int fault_vfs_file_mode(fault_vfs *fv, const char *path, unsigned *mode)
{
	lock(fv);
	parsed pp;
	loc l;
	int rc = resolve(fv, path, &pp, &l);
	if (rc == 0 && l.node == NULL)
		rc = -ENOENT;
	if (rc == 0)
		*mode = l.node->mode;
	unlock(fv);
	return rc;
}

size_t fault_vfs_open_handles(fault_vfs *fv)
{
	lock(fv);
	size_t n = fv->nhandles;
	unlock(fv);
	return n;
}

static int set_foreign_lock(fault_vfs *fv, const char *path, bool held)
{
	lock(fv);
	parsed pp;
	loc l;
	int rc = resolve(fv, path, &pp, &l);
	if (rc == 0 && l.node != NULL && l.node->is_dir)
		rc = -EISDIR;
	if (rc == 0 && l.node == NULL) {
		if (held) {
			/* The other process created it, without syncing. */
			l.node = inode_new(fv, false, 0644);
			ents_set(&l.dir->cur_ents, l.name, l.node);
		} else {
			rc = -ENOENT;
		}
	}
	if (rc == 0)
		l.node->foreign_lock = held;
	unlock(fv);
	return rc;
}

int fault_vfs_hold_lock(fault_vfs *fv, const char *path)
{
	return set_foreign_lock(fv, path, true);
}

int fault_vfs_release_lock(fault_vfs *fv, const char *path)
{
	return set_foreign_lock(fv, path, false);
}
