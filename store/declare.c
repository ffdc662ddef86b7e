/*
 * declare.c -- register policy declarations, kept with the data.
 *
 * A delta carries each register's policy and a join refuses one that
 * disagrees with the local declaration. The snapshot and the log hold
 * registers under the policies that were declared when they were written,
 * so the declarations must be in force before recovery replays them: they
 * live in the small file `policies` and are made again at every open.
 *
 * The file's payload is the declarations in the order they were made:
 *   u8 policy | u8 1 if a field is named | u16 prefix length | prefix |
 *   u16 field length | field
 */
#include <string.h>

#include "crdt_int.h"
#include "store_int.h"

static const char decls_magic[8] = {'c', 'a', 'i', 'r', 'n', 'p', 'o', '1'};

static int put_name(cairn_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint8_t len[2] = {(uint8_t)n, (uint8_t)(n >> 8)};
	int rc = cairn_buf_append(b, len, 2);
	return rc ? rc : cairn_buf_append(b, s, n);
}

/* Call fn for each declaration in a payload; CAIRN_ECORRUPT if malformed. */
typedef int (*decl_fn)(void *ud, const char *prefix, const char *field,
                       cairn_policy policy);

static int each_decl(const uint8_t *p, size_t n, decl_fn fn, void *ud)
{
	char prefix[CAIRN_MAX_ID_BYTES + 1], field[CAIRN_MAX_ID_BYTES + 1];
	size_t off = 0;
	while (off < n) {
		if (n - off < 4)
			return CAIRN_ECORRUPT;
		uint8_t policy = p[off], named = p[off + 1];
		size_t pl = (size_t)p[off + 2] | ((size_t)p[off + 3] << 8);
		off += 4;
		if (named > 1 || pl > CAIRN_MAX_ID_BYTES || n - off < pl + 2)
			return CAIRN_ECORRUPT;
		memcpy(prefix, p + off, pl);
		prefix[pl] = 0;
		off += pl;
		size_t fl = (size_t)p[off] | ((size_t)p[off + 1] << 8);
		off += 2;
		if (fl > CAIRN_MAX_ID_BYTES || n - off < fl ||
		    (!named && fl != 0))
			return CAIRN_ECORRUPT;
		memcpy(field, p + off, fl);
		field[fl] = 0;
		off += fl;
		int rc = fn(ud, prefix, named ? field : NULL,
		            (cairn_policy)policy);
		if (rc)
			return rc;
	}
	return 0;
}

static int declare_cb(void *ud, const char *prefix, const char *field,
                      cairn_policy policy)
{
	int rc = cairn_replica_declare(ud, prefix, field, policy);
	/* A declaration that was accepted once and is refused now cannot
	 * have come from this store. */
	return rc == CAIRN_EINVAL || rc == CAIRN_EPOLICY ? CAIRN_ECORRUPT : rc;
}

int cairn__decls_load(cairn_store *s)
{
	size_t len = 0;
	int rc = cairn__small_read(&s->dir, "policies", decls_magic, NULL, 0,
	                           &len);
	if (rc == CAIRN_ENOTFOUND)
		return 0;
	if (rc == CAIRN_ESPACE) {
		rc = cairn_buf_reserve(&s->decls, len);
		if (!rc)
			rc = cairn__small_read(&s->dir, "policies", decls_magic,
			                       s->decls.data, len, &len);
	}
	if (rc)
		return rc;
	s->decls.len = len;
	rc = each_decl(s->decls.data, len, declare_cb, s->r);
	if (rc == CAIRN_ECORRUPT)
		cairn__report(&s->dir, "policies",
		              "%s/policies: the declarations do not parse",
		              s->dir.path);
	return rc;
}

/* Is this exact declaration in the file already? */
typedef struct find {
	const char *prefix, *field;
	cairn_policy policy;
	bool found;
} find;

static int find_cb(void *ud, const char *prefix, const char *field,
                   cairn_policy policy)
{
	find *f = ud;
	if (policy == f->policy && strcmp(prefix, f->prefix) == 0 &&
	    (field && f->field ? strcmp(field, f->field) == 0
	                       : field == f->field))
		f->found = true;
	return 0;
}

int cairn_store_declare(cairn_store *s, const char *prefix, const char *field,
                        cairn_policy policy)
{
	if (!s)
		return CAIRN_EINVAL;
	/* The replica judges it first: a refused declaration is not kept. */
	int rc = cairn_replica_declare(s->r, prefix, field, policy);
	if (rc)
		return rc;
	find f = {prefix ? prefix : "", field, policy, false};
	(void)each_decl(s->decls.data, s->decls.len, find_cb, &f);
	if (f.found)
		return 0;
	size_t before = s->decls.len;
	uint8_t head[2] = {(uint8_t)policy, field ? 1 : 0};
	rc = cairn_buf_append(&s->decls, head, 2);
	if (!rc)
		rc = put_name(&s->decls, prefix);
	if (!rc)
		rc = put_name(&s->decls, field);
	if (!rc)
		rc = cairn__small_write(&s->dir, "policies", decls_magic,
		                        s->decls.data, s->decls.len, 0644);
	if (rc)
		s->decls.len = before;
	return rc;
}
