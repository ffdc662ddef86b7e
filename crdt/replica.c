/*
 * replica.c -- replicas: configuration, policy declarations, documents.
 */
#include <stdlib.h>
#include <string.h>

#include "crdt_int.h"

void cairn_replica_config_init(cairn_replica_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_skew_ms = CAIRN_DEFAULT_MAX_SKEW_MS;
	cairn_limits_init(&cfg->limits);
}

int cairn_replica_new_(const cairn_replica_config *cfg, size_t cfg_size,
                       cairn_replica **out)
{
	if (cfg_size != sizeof(cairn_replica_config))
		return CAIRN_EVERSION;
	if (!cfg || !out || cfg->id == 0)
		return CAIRN_EINVAL;
	if (cfg->limits.max_value_bytes > CAIRN_MAX_VALUE_LIMIT ||
	    cfg->limits.max_depth == 0 ||
	    cfg->limits.max_depth > CAIRN__MSGPACK_MAX_DEPTH)
		return CAIRN_EINVAL;
	if (cfg->hlc_resume > CAIRN_HLC_MAKE(CAIRN_HLC_MAX_MS, 0xFFFF))
		return CAIRN_EINVAL;
	cairn_replica *r = cairn__alloc(&cfg->allocator, sizeof *r);
	if (!r)
		return CAIRN_ENOMEM;
	memset(r, 0, sizeof *r);
	r->alloc = cfg->allocator;
	r->cfg = *cfg;
	cairn_hlc_init(&r->hlc, cfg->hlc_resume, cfg->max_skew_ms);
	*out = r;
	return 0;
}

static void decl_free(const cairn_allocator *a, cairn__decl *d)
{
	cairn__free(a, d->prefix, (size_t)d->prefix_len + 1);
	if (d->field)
		cairn__free(a, d->field, (size_t)d->field_len + 1);
}

void cairn_replica_free(cairn_replica *r)
{
	if (!r)
		return;
	cairn_allocator a = r->alloc;
	cairn__docset_free(&a, &r->docs);
	for (uint32_t i = 0; i < r->ndecls; i++)
		decl_free(&a, &r->decls[i]);
	cairn__free(&a, r->decls, (size_t)r->capdecls * sizeof *r->decls);
	cairn__free(&a, r, sizeof *r);
}

cairn_replica_id cairn_replica_id_of(const cairn_replica *r)
{
	return r->cfg.id;
}

uint64_t cairn_replica_hlc_last(const cairn_replica *r)
{
	return r->hlc.last;
}

/* ---- policies ------------------------------------------------------------ */

static bool prefix_of(const cairn__decl *dc, const char *id, uint32_t id_len)
{
	return dc->prefix_len <= id_len &&
	       memcmp(dc->prefix, id, dc->prefix_len) == 0;
}

static bool names_field(const cairn__decl *dc, const uint8_t *name,
                        uint32_t len)
{
	return dc->field && dc->field_len == len &&
	       memcmp(dc->field, name, len) == 0;
}

/*
 * Resolve over decls[0..n) plus an optional extra declaration: the field
 * declaration with the longest matching prefix, else the collection one,
 * else lww.
 */
static cairn_policy resolve(const cairn__decl *decls, uint32_t n,
                            const cairn__decl *extra, const char *id,
                            uint32_t id_len, const uint8_t *name, uint32_t len)
{
	const cairn__decl *best_field = NULL, *best_coll = NULL;
	for (uint32_t i = 0; i <= n; i++) {
		const cairn__decl *dc = i < n ? &decls[i] : extra;
		if (!dc || !prefix_of(dc, id, id_len))
			continue;
		if (dc->field) {
			if (name && names_field(dc, name, len) &&
			    (!best_field ||
			     dc->prefix_len > best_field->prefix_len))
				best_field = dc;
		} else if (!best_coll ||
		           dc->prefix_len > best_coll->prefix_len) {
			best_coll = dc;
		}
	}
	if (best_field)
		return best_field->policy;
	return best_coll ? best_coll->policy : CAIRN_POLICY_LWW;
}

/* Cache on a document what the declarations say about its id. */
static void doc_cache_policy(const cairn_replica *r, cairn_doc *d)
{
	d->coll_policy = (uint8_t)resolve(r->decls, r->ndecls, NULL, d->id,
	                                  d->id_len, NULL, 0);
	d->field_decls = false;
	for (uint32_t i = 0; i < r->ndecls; i++)
		if (r->decls[i].field &&
		    prefix_of(&r->decls[i], d->id, d->id_len))
			d->field_decls = true;
}

cairn_policy cairn__policy_of(const cairn_replica *r, const char *id,
                              uint32_t id_len, const uint8_t *name,
                              uint32_t len)
{
	return resolve(r->decls, r->ndecls, NULL, id, id_len, name, len);
}

cairn_policy cairn__field_policy(const cairn_replica *r, const cairn_doc *d,
                                 const uint8_t *name, uint32_t len)
{
	if (!d->field_decls)
		return (cairn_policy)d->coll_policy;
	return resolve(r->decls, r->ndecls, NULL, d->id, d->id_len, name, len);
}

cairn_policy cairn_replica_policy(const cairn_replica *r, const char *doc_id,
                                  const char *field)
{
	size_t id_len = doc_id ? strlen(doc_id) : 0;
	size_t len = field ? strlen(field) : 0;
	return resolve(r->decls, r->ndecls, NULL, doc_id ? doc_id : "",
	               (uint32_t)(id_len > UINT32_MAX ? 0 : id_len),
	               (const uint8_t *)field, (uint32_t)(len > 255 ? 0 : len));
}

static char *dup_bytes(const cairn_allocator *a, const char *s, size_t n)
{
	char *p = cairn__alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

int cairn_replica_declare(cairn_replica *r, const char *prefix,
                          const char *field, cairn_policy policy)
{
	if (!r || !prefix || !cairn_policy_name(policy))
		return CAIRN_EINVAL;
	size_t plen = 0;
	while (plen <= CAIRN_MAX_ID_BYTES && prefix[plen])
		plen++;
	if (plen > CAIRN_MAX_ID_BYTES)
		return CAIRN_ETOOBIG;
	if (!cairn__utf8_valid((const uint8_t *)prefix, plen))
		return CAIRN_EINVAL;
	size_t flen = 0;
	if (field) {
		int rc = cairn__name_check(field, &flen);
		if (rc)
			return rc;
	}
	cairn__decl nd = {(char *)prefix, (uint32_t)plen, (char *)field,
	                  (uint32_t)flen, policy};
	for (uint32_t i = 0; i < r->ndecls; i++) {
		const cairn__decl *dc = &r->decls[i];
		if (dc->prefix_len == plen &&
		    memcmp(dc->prefix, prefix, plen) == 0 &&
		    (!dc->field == !field) &&
		    (!field ||
		     names_field(dc, (const uint8_t *)field, (uint32_t)flen)))
			return dc->policy == policy ? 0 : CAIRN_EPOLICY;
	}
	/* A register that already holds a value keeps its policy: changing it
	 * here alone would make this replica read differently from the rest. */
	for (uint32_t i = 0; i < r->docs.n; i++) {
		cairn_doc *d = r->docs.docs[i];
		if (!prefix_of(&nd, d->id, d->id_len))
			continue;
		for (uint32_t j = 0; j < d->nfields; j++) {
			const cairn__field *f = &d->fields[j];
			if (cairn__field_nreg(f) &&
			    resolve(r->decls, r->ndecls, &nd, d->id, d->id_len,
			            cairn__fname(f), f->name_len) != f->policy)
				return CAIRN_EPOLICY;
		}
	}
	int rc = cairn__grow(&r->alloc, (void **)&r->decls, &r->capdecls,
	                     r->ndecls + 1, sizeof *r->decls);
	if (rc)
		return rc;
	nd.prefix = dup_bytes(&r->alloc, prefix, plen);
	nd.field = field ? dup_bytes(&r->alloc, field, flen) : NULL;
	if (!nd.prefix || (field && !nd.field)) {
		decl_free(&r->alloc, &nd);
		return CAIRN_ENOMEM;
	}
	r->decls[r->ndecls++] = nd;
	for (uint32_t i = 0; i < r->docs.n; i++) {
		cairn_doc *d = r->docs.docs[i];
		if (!prefix_of(&nd, d->id, d->id_len))
			continue;
		doc_cache_policy(r, d);
		for (uint32_t j = 0; j < d->nfields; j++)
			d->fields[j].policy = (uint8_t)cairn__field_policy(
			        r, d, cairn__fname(&d->fields[j]),
			        d->fields[j].name_len);
	}
	return 0;
}

/* ---- documents ------------------------------------------------------------
 */

int cairn_replica_doc(cairn_replica *r, const char *doc_id, cairn_doc **out)
{
	size_t len;
	int rc = cairn__name_check(doc_id, &len);
	if (rc)
		return rc;
	uint32_t h = cairn__hash32(r->cfg.hash_key, doc_id, len);
	if (cairn__docset_find(&r->docs, doc_id, (uint32_t)len, h, out) == 0)
		return 0;
	cairn_doc *d;
	rc = cairn__doc_new(&r->alloc, r, r->cfg.hash_key, doc_id,
	                    (uint32_t)len, h, &d);
	if (rc)
		return rc;
	rc = cairn__docset_insert(&r->alloc, &r->docs, d);
	if (rc) {
		cairn__doc_free(&r->alloc, d);
		return rc;
	}
	doc_cache_policy(r, d);
	*out = d;
	return 0;
}

int cairn_replica_find(const cairn_replica *r, const char *doc_id,
                       cairn_doc **out)
{
	size_t len;
	*out = NULL;
	if (cairn__name_check(doc_id, &len))
		return CAIRN_ENOTFOUND;
	uint32_t h = cairn__hash32(r->cfg.hash_key, doc_id, len);
	cairn_doc *d;
	if (cairn__docset_find(&r->docs, doc_id, (uint32_t)len, h, &d) ||
	    cairn__doc_is_empty(d))
		return CAIRN_ENOTFOUND;
	*out = d;
	return 0;
}

size_t cairn_replica_doc_count(const cairn_replica *r)
{
	size_t n = 0;
	for (uint32_t i = 0; i < r->docs.n; i++)
		n += !cairn__doc_is_empty(r->docs.docs[i]);
	return n;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cairn_replica_docs(const cairn_replica *r, const char *prefix,
                       const char **ids, size_t cap, size_t *n)
{
	size_t plen = prefix ? strlen(prefix) : 0, cnt = 0;
	for (uint32_t i = 0; i < r->docs.n; i++) {
		const cairn_doc *d = r->docs.docs[i];
		if (!cairn__doc_is_empty(d) && d->id_len >= plen &&
		    memcmp(d->id, prefix ? prefix : "", plen) == 0)
			cnt++;
	}
	*n = cnt;
	if (cnt > cap)
		return CAIRN_ESPACE;
	size_t k = 0;
	for (uint32_t i = 0; i < r->docs.n; i++) {
		const cairn_doc *d = r->docs.docs[i];
		if (!cairn__doc_is_empty(d) && d->id_len >= plen &&
		    memcmp(d->id, prefix ? prefix : "", plen) == 0)
			ids[k++] = d->id;
	}
	cairn__sort(ids, cnt, sizeof *ids, id_cmp);
	return 0;
}
