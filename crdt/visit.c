/*
 * visit.c -- walking what a delta carries, for layers above the core that
 * must look inside one (the store's history, the relay's validation).
 */
#include "crdt_int.h"

static int visit_field(const cairn_doc *d, const cairn__field *f,
                       const cairn_delta_visitor *v, void *ud)
{
	const char *name = (const char *)cairn__fname(f);
	int rc = v->field ? v->field(ud, d->id, name, (cairn_policy)f->policy)
	                  : 0;
	const cairn__entry *reg = cairn__field_reg(f);
	uint32_t nreg = cairn__field_nreg(f);
	for (uint32_t i = 0; i < nreg && !rc && v->value; i++) {
		cairn_value val = cairn__entry_value(&reg[i]);
		cairn_stamp st = {reg[i].hlc, d->ctx.rid[reg[i].writer],
		                  CAIRN__META_PRIO(reg[i].meta)};
		rc = v->value(ud, d->id, name, &val, &st);
	}
	uint32_t ne = cairn__field_nelems(f);
	for (uint32_t i = 0; i < ne && !rc && v->element; i++) {
		const cairn__elem *e = &f->u.ext->set.elems[i];
		cairn_value val = cairn__elem_value(e);
		rc = v->element(ud, d->id, name, &val, e->ndots > 0);
	}
	return rc;
}

int cairn_delta_visit(const cairn_delta *d, const cairn_delta_visitor *v,
                      void *ud)
{
	if (!d || !v)
		return CAIRN_EINVAL;
	int rc = 0;
	for (uint32_t i = 0; i < d->docs.n && !rc; i++) {
		const cairn_doc *doc = d->docs.docs[i];
		for (uint32_t k = 0; k < doc->nfields && !rc; k++)
			if (!cairn__field_is_empty(&doc->fields[k]))
				rc = visit_field(doc, &doc->fields[k], v, ud);
	}
	return rc;
}
