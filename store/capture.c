/*
 * capture.c -- feeding a store's history around every change.
 *
 * Before a change, every value a touched field holds (and, for a join,
 * every value the delta brings) becomes a candidate, copied aside; after
 * it, each candidate the field no longer holds goes into the history
 * (history.c). The same code serves local writes, joins and the replay of
 * the log on open, so the history is the same however the values came.
 */
#include <string.h>

#include "crdt_int.h"
#include "store_int.h"

/* ---- history capture ---------------------------------------------------- */

/*
 * Around every change: before it, every value a touched field holds (and,
 * for a join, every value the delta brings) becomes a cairn__candidate; after
 * it, each cairn__candidate the field no longer holds goes into the history.
 */

void cairn__capture_reset(cairn_store *s)
{
	s->ncands = 0;
	cairn_buf_reset(&s->arena);
}

static int arena_str(cairn_store *s, const char *str, size_t *off)
{
	*off = s->arena.len;
	return cairn_buf_append(&s->arena, str, strlen(str) + 1);
}

static int add_candidate(cairn_store *s, size_t doc, size_t field,
                         const cairn_value *v, const cairn_stamp *st)
{
	int rc = cairn__grow(&s->dir.alloc, (void **)&s->cands, &s->capcands,
	                     s->ncands + 1, sizeof *s->cands);
	if (rc)
		return rc;
	cairn__candidate *c = &s->cands[s->ncands];
	c->doc = doc;
	c->field = field;
	c->v = *v;
	c->st = *st;
	c->bytes = 0;
	if (v->type == CAIRN_STR || v->type == CAIRN_BIN) {
		c->bytes = s->arena.len;
		rc = cairn_buf_append(&s->arena, v->as.bytes.ptr,
		                      v->as.bytes.len);
		if (rc)
			return rc;
	}
	s->ncands++;
	return 0;
}

/* The live values of a field, in s->live / s->live_st; *n of them. */
int cairn__live_values(cairn_store *s, const char *doc_id, const char *field,
                       size_t *n)
{
	*n = 0;
	cairn_doc *d;
	if (cairn_replica_find(s->r, doc_id, &d))
		return 0;
	for (;;) {
		int rc = cairn_doc_get_all(d, field, s->live, s->live_st,
		                           s->caplive, n);
		if (rc == CAIRN_ENOTFOUND || rc == CAIRN_EKIND) {
			*n = 0;
			return 0;
		}
		if (rc != CAIRN_ESPACE)
			return rc;
		size_t cap = *n;
		cairn_value *lv = cairn__realloc(&s->dir.alloc, s->live,
		                                 s->caplive * sizeof *lv,
		                                 cap * sizeof *lv);
		if (!lv)
			return CAIRN_ENOMEM;
		s->live = lv;
		cairn_stamp *ls = cairn__realloc(&s->dir.alloc, s->live_st,
		                                 s->caplive * sizeof *ls,
		                                 cap * sizeof *ls);
		if (!ls)
			return CAIRN_ENOMEM;
		s->live_st = ls;
		s->caplive = cap;
	}
}

/* The n values cairn__live_values() just read, as candidates of the field
 * whose names sit at doff and foff in the arena. */
static int add_live(cairn_store *s, size_t doff, size_t foff, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		rc = add_candidate(s, doff, foff, &s->live[i], &s->live_st[i]);
	return rc;
}

int cairn__capture_field(cairn_store *s, const char *doc_id, const char *field)
{
	if (!cairn__history_depth(s->hist))
		return 0;
	size_t n, doff = 0, foff = 0;
	int rc = cairn__live_values(s, doc_id, field, &n);
	if (!rc && n)
		rc = arena_str(s, doc_id, &doff);
	if (!rc && n)
		rc = arena_str(s, field, &foff);
	return rc ? rc : add_live(s, doff, foff, n);
}

static bool stamp_eq(const cairn_stamp *a, const cairn_stamp *b)
{
	return a->hlc == b->hlc && a->replica == b->replica;
}

/* After the change: candidates no longer live go into the history. A
 * failure here (memory) costs history, never data. */
void cairn__capture_commit(cairn_store *s)
{
	/* A field's candidates are consecutive and share its names in the
	 * arena: its live values are read once. */
	size_t last_doc = SIZE_MAX, last_field = SIZE_MAX, n = 0;
	for (uint32_t i = 0; i < s->ncands; i++) {
		cairn__candidate *c = &s->cands[i];
		const char *doc = (const char *)s->arena.data + c->doc;
		const char *field = (const char *)s->arena.data + c->field;
		if (c->doc != last_doc || c->field != last_field) {
			if (cairn__live_values(s, doc, field, &n))
				break;
			last_doc = c->doc;
			last_field = c->field;
		}
		bool live = false;
		for (size_t k = 0; k < n && !live; k++)
			live = stamp_eq(&s->live_st[k], &c->st);
		if (live)
			continue;
		cairn_value v = c->v;
		if (v.type == CAIRN_STR || v.type == CAIRN_BIN)
			v.as.bytes.ptr = s->arena.data + c->bytes;
		if (cairn__history_push(s->hist, doc, field, &v, &c->st))
			break;
	}
	cairn__capture_reset(s);
}

/* A join: the touched fields' values, and the values the delta brings. */
typedef struct join_capture {
	cairn_store *s;
	size_t doc, field; /* the field being visited, in the arena */
} join_capture;

static int cap_field(void *ud, const char *doc_id, const char *field,
                     cairn_policy policy)
{
	(void)policy;
	join_capture *jc = ud;
	size_t n;
	int rc = arena_str(jc->s, doc_id, &jc->doc);
	if (!rc)
		rc = arena_str(jc->s, field, &jc->field);
	if (!rc)
		rc = cairn__live_values(jc->s, doc_id, field, &n);
	return rc ? rc : add_live(jc->s, jc->doc, jc->field, n);
}

static int cap_value(void *ud, const char *doc_id, const char *field,
                     const cairn_value *v, const cairn_stamp *st)
{
	(void)doc_id;
	(void)field;
	join_capture *jc = ud;
	return add_candidate(jc->s, jc->doc, jc->field, v, st);
}

int cairn__capture_delta(cairn_store *s, const cairn_delta *d)
{
	if (!cairn__history_depth(s->hist))
		return 0;
	join_capture jc = {s, 0, 0};
	cairn_delta_visitor v = {cap_field, cap_value, NULL};
	return cairn_delta_visit(d, &v, &jc);
}
