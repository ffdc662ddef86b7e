/*
 * delta.c -- deltas: gathering, folding, and copies of replica state.
 *
 * A delta's tables are keyed like a replica's. Its key starts as a hash of
 * the delta's own address: not secret, but not known in advance to whoever
 * sends the bytes a delta is decoded from, which is what keeps a flood of
 * colliding names from turning lookups quadratic. A delta that is empty
 * takes the key of the first replica that writes into it, so the hash
 * computed for the replica's tables serves the delta's too.
 */
#include <string.h>

#include "crdt_int.h"

int cairn_delta_new(const cairn_allocator *alloc, cairn_delta **out)
{
	cairn_allocator a;
	memset(&a, 0, sizeof a);
	if (alloc)
		a = *alloc;
	cairn_delta *d = cairn__alloc(&a, sizeof *d);
	if (!d)
		return CAIRN_ENOMEM;
	memset(d, 0, sizeof *d);
	d->alloc = a;
	static const uint8_t seed[16] = "cairn delta key";
	uintptr_t addr = (uintptr_t)d;
	uint64_t h = cairn__siphash(seed, &addr, sizeof addr);
	memcpy(d->key, &h, 8);
	h = cairn__siphash(seed, &h, sizeof h);
	memcpy(d->key + 8, &h, 8);
	*out = d;
	return 0;
}

void cairn_delta_free(cairn_delta *d)
{
	if (!d)
		return;
	cairn_allocator a = d->alloc;
	cairn__docset_free(&a, &d->docs);
	for (uint32_t i = 0; i < d->nspare; i++)
		cairn__doc_free(&a, d->spare[i]);
	cairn__ext_cache_free(&a, &d->exts);
	cairn__free(&a, d->spare, (size_t)d->capspare * sizeof *d->spare);
	cairn__free(&a, d, sizeof *d);
}

void cairn_delta_clear(cairn_delta *d)
{
	/* A delta of one document keeps it, emptied, in place: the common
	 * loop of one write, then clear, then finds it at once. (An empty
	 * document is no content anywhere: encoding, joins and counts skip
	 * it.) */
	if (d->docs.n == 1) {
		cairn_doc *doc = d->docs.docs[0];
		const cairn__field *f = doc->fields;
		/* And the loop's delta is mostly one register entry whose
		 * value and name sit in its record, in a document too small
		 * for an index: nothing to release, nothing to unindex. */
		if (doc->nfields == 1 && !doc->fidx.slots &&
		    f->shape == CAIRN__ONE &&
		    f->u.one.vlen <= CAIRN__INLINE_BYTES &&
		    f->name_len < CAIRN__NAME_INLINE) {
			doc->nfields = 0;
			cairn__ctx_clear(&doc->ctx);
		} else {
			cairn__doc_clear_keep(&d->alloc, doc, &d->exts);
		}
		return;
	}
	d->last = NULL;
	d->last_src = NULL;
	/* Keep the documents' memory for the next writes; the spare list
	 * has room for every document this delta has ever held. */
	for (uint32_t i = 0; i < d->docs.n; i++) {
		cairn_doc *doc = d->docs.docs[i];
		cairn__doc_clear_keep(&d->alloc, doc, &d->exts);
		if (d->nspare < d->capspare)
			d->spare[d->nspare++] = doc;
		else
			cairn__doc_free(&d->alloc, doc);
	}
	d->docs.n = 0;
	if (d->docs.idx.slots)
		memset(d->docs.idx.slots, 0,
		       (size_t)(d->docs.idx.mask + 1) * sizeof(uint32_t));
}

static bool doc_has_content(const cairn_doc *doc)
{
	for (uint32_t i = 0; i < doc->nfields; i++)
		if (!cairn__field_is_empty(&doc->fields[i]))
			return true;
	return !cairn__ctx_empty(&doc->ctx);
}

bool cairn_delta_empty(const cairn_delta *d)
{
	for (uint32_t i = 0; i < d->docs.n; i++)
		if (doc_has_content(d->docs.docs[i]))
			return false;
	return true;
}

size_t cairn_delta_doc_count(const cairn_delta *d)
{
	size_t n = 0;
	for (uint32_t i = 0; i < d->docs.n; i++)
		n += doc_has_content(d->docs.docs[i]);
	return n;
}

int cairn__delta_doc_for(cairn_delta *d, const cairn_doc *src, cairn_doc **out)
{
	/* The cache is checked by id too: a replica freed and another made
	 * may put a different document at the same address. */
	if (d->last && d->last_src == src && d->last->id_len == src->id_len &&
	    memcmp(d->last->id, src->id, src->id_len) == 0) {
		*out = d->last;
		return 0;
	}
	int rc = cairn__delta_doc(d, src->id, src->id_len, src->hash, src->key,
	                          out);
	if (!rc) {
		d->last = *out;
		d->last_src = src;
	}
	return rc;
}

int cairn__delta_doc(cairn_delta *d, const char *id, uint32_t len,
                     uint32_t hash_in_replica, const uint8_t *replica_key,
                     cairn_doc **out)
{
	if (d->docs.n == 0 && replica_key &&
	    memcmp(d->key, replica_key, sizeof d->key) != 0)
		memcpy(d->key, replica_key, sizeof d->key);
	uint32_t h = replica_key && memcmp(d->key, replica_key, 16) == 0
	                     ? hash_in_replica
	                     : cairn__hash32(d->key, id, len);
	if (cairn__docset_find(&d->docs, id, len, h, out) == 0)
		return 0;
	/* Make sure a cleared document will have a place on the spare list,
	 * so that clearing never needs to allocate. */
	int rc = cairn__grow(&d->alloc, (void **)&d->spare, &d->capspare,
	                     d->docs.n + d->nspare + 1, sizeof *d->spare);
	if (rc)
		return rc;
	cairn_doc *doc;
	if (d->nspare) {
		doc = d->spare[--d->nspare];
		memcpy(doc->id, id, len);
		doc->id[len] = 0;
		doc->id_len = len;
		doc->hash = h;
	} else {
		rc = cairn__doc_new(&d->alloc, NULL, d->key, id, len, h, &doc);
		if (rc)
			return rc;
	}
	rc = cairn__docset_insert(&d->alloc, &d->docs, doc);
	if (rc) {
		d->spare[d->nspare++] = doc;
		return rc;
	}
	*out = doc;
	return 0;
}

/* Register policies must agree wherever both sides hold values. */
static int check_policies(const cairn_delta *dst, const cairn_delta *src)
{
	for (uint32_t i = 0; i < src->docs.n; i++) {
		const cairn_doc *sd = src->docs.docs[i];
		cairn_doc *dd;
		uint32_t h = cairn__hash32(dst->key, sd->id, sd->id_len);
		if (cairn__docset_find(&dst->docs, sd->id, sd->id_len, h, &dd))
			continue;
		for (uint32_t k = 0; k < sd->nfields; k++) {
			const cairn__field *sf = &sd->fields[k];
			if (!cairn__field_nreg(sf))
				continue;
			const cairn__field *df = cairn__doc_field(
			        dd, cairn__fname(sf), sf->name_len,
			        cairn__hash32(dst->key, cairn__fname(sf),
			                      sf->name_len));
			if (df && cairn__field_nreg(df) &&
			    df->policy != sf->policy)
				return CAIRN_EPOLICY;
		}
	}
	return 0;
}

static int join_doc_into(cairn_delta *dst, const cairn_doc *sd)
{
	if (!doc_has_content(sd))
		return 0;
	cairn_doc *dd;
	int rc = cairn__delta_doc(dst, sd->id, sd->id_len, sd->hash, sd->key,
	                          &dd);
	if (rc)
		return rc;
	return cairn__doc_join(&dst->alloc, dst->key, dd, sd, NULL);
}

int cairn_delta_join(cairn_delta *dst, const cairn_delta *src)
{
	if (!dst || !src)
		return CAIRN_EINVAL;
	if (dst == src)
		return 0;
	int rc = check_policies(dst, src);
	for (uint32_t i = 0; i < src->docs.n && !rc; i++)
		rc = join_doc_into(dst, src->docs.docs[i]);
	return rc;
}

int cairn_replica_state(const cairn_replica *r, cairn_delta *out)
{
	if (!r || !out)
		return CAIRN_EINVAL;
	int rc = 0;
	for (uint32_t i = 0; i < r->docs.n && !rc; i++)
		rc = join_doc_into(out, r->docs.docs[i]);
	return rc;
}

int cairn_replica_doc_state(const cairn_replica *r, const char *doc_id,
                            cairn_delta *out)
{
	cairn_doc *d;
	int rc = cairn_replica_find(r, doc_id, &d);
	if (rc)
		return rc;
	return join_doc_into(out, d);
}
