/*
 * oracle.h -- a reference model of cairn documents, written from the spec
 * and not from the implementation, for the simulator (sim.c).
 *
 * The oracle never looks at dots, contexts or encodings. It knows the
 * recorded history: every successful write, and for each write the earlier
 * writes it *observed* (superseded or removed). An entry (a register write
 * or a set add) is live for a replica iff the replica has received it and
 * has received no operation that observed it. Liveness per replica is kept
 * as bitsets over global op ids:
 *
 *   received  ops whose delta (or a state holding them) reached the replica
 *   killed    the union of observed(o) over every received o
 *   live      received & ~killed
 *
 * Delivering op o: received |= {o}, killed |= observed(o). Joining the
 * whole state of Q: received |= received(Q), killed |= killed(Q).
 *
 * observed(p) for an op p that replica r issues on (doc, field) is what r
 * sees live there at that moment, restricted by kind:
 *   register write, delete:  every live register value and set add;
 *   set add, set remove:     the live adds of the same element.
 * (Only live entries: a replica cannot know which removed dots belonged to
 * which element. The final, fully joined view is the same either way.)
 */
#ifndef CAIRN_SIM_ORACLE_H
#define CAIRN_SIM_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/crdt.h"

/* ---- values ----------------------------------------------------------- */

/* The value universe: small, so that collisions and re-adds happen. */
extern const cairn_value *const orc_values;
extern const int orc_nvalues;

/*
 * The canonical order, implemented from the spec text: by type (nil <
 * bool < int < float < str < bin), then false < true, integers
 * numerically, floats by IEEE total order with every NaN equal and last,
 * bytes lexicographically with the shorter first on a common prefix.
 */
int orc_value_cmp(const cairn_value *a, const cairn_value *b);

/* The element class of universe value i: the least j with cmp == 0. */
int orc_elem(int i);

/* Print a value into buf (for failure messages). */
const char *orc_value_str(const cairn_value *v, char *buf, size_t n);

/* ---- history ---------------------------------------------------------- */

typedef enum orc_kind {
	ORC_SET = 0, /* register write */
	ORC_DEL = 1, /* field delete */
	ORC_ADD = 2, /* set add */
	ORC_RM = 3,  /* set remove */
} orc_kind;

extern const char *const orc_kind_names[4];

typedef struct orc_op {
	int replica; /* index of the issuing replica */
	int doc;
	int field;
	orc_kind kind;
	int val; /* universe index: the SET value, the ADD/RM element */
	/* SET only: the stamp read back after the write */
	uint64_t hlc;
	cairn_replica_id rid;
	uint8_t prio;
	size_t obs_off; /* observed op ids: obs[obs_off .. obs_off+nobs) */
	size_t nobs;
} orc_op;

typedef struct orc_decl {
	const char *prefix;
	const char *field; /* NULL: every field of the collection */
	cairn_policy policy;
} orc_decl;

typedef struct orc {
	const char *const *docs;
	int ndocs;
	const char *const *fields;
	int nfields;
	const orc_decl *decls;
	int ndecls;
	size_t max_ops;
	size_t words; /* bitset words: ceil(max_ops / 64) */
	orc_op *ops;
	size_t nops;
	int *obs;
	size_t nobs, cap_obs;
	/* op ids per (doc, field), in issue order */
	int **df;
	size_t *df_n;
	uint64_t *setmask;    /* ops that are register writes */
	cairn_policy *policy; /* per (doc, field) */
} orc;

/* What one replica knows (see the top of this file). */
typedef struct orc_know {
	uint64_t *received;
	uint64_t *killed;
	uint64_t *everlive;    /* register writes ever live here */
	uint64_t max_seen_hlc; /* max hlc over everlive */
} orc_know;

/* The expected read view of one field. */
#define ORC_MAX_LIVE 128
typedef struct orc_view {
	cairn_kind kind;
	cairn_policy policy;
	bool conflict;
	size_t nvals;
	int vals[ORC_MAX_LIVE]; /* live register writes (op ids), winner first
	                         */
	size_t nmembers;
	int members[ORC_MAX_LIVE]; /* element classes, canonical order */
} orc_view;

/* Start a history of at most max_ops ops. Returns 0 or -1 (no memory). */
int orc_init(orc *o, const char *const *docs, int ndocs,
             const char *const *fields, int nfields, const orc_decl *decls,
             int ndecls, size_t max_ops);
void orc_free(orc *o);

/* The policy of (doc, field) by the declaration rules. */
cairn_policy orc_policy_of(const orc *o, const char *doc, const char *field);

int orc_know_init(const orc *o, orc_know *k);
void orc_know_free(orc_know *k);
void orc_know_copy(const orc *o, orc_know *dst, const orc_know *src);

/*
 * The ops that an op of `kind` on (doc, field) with element `val` issued by
 * a replica knowing *k observes. Writes their ids to out (room for
 * o->nops) and returns their number.
 */
size_t orc_observed(const orc *o, const orc_know *k, int doc, int field,
                    orc_kind kind, int val, int *out);

/* Record a successful op with its observed set; returns its id. */
int orc_record(orc *o, const orc_op *op, const int *observed, size_t nobs);

/* The replica that knows *k received op id (its delta). */
void orc_deliver(const orc *o, orc_know *k, int id);

/* The replica that knows *k joined a whole state of a replica knowing src
 * (only received and killed of src are read). */
void orc_join(const orc *o, orc_know *k, const uint64_t *src_received,
              const uint64_t *src_killed);

/* Is entry op id live for *k? */
bool orc_live(const orc_know *k, int id);

/* Did *k receive anything on doc (its "history")? */
bool orc_doc_known(const orc *o, const orc_know *k, int doc);

/* The expected view of (doc, field) for a replica knowing *k. */
void orc_view_of(const orc *o, const orc_know *k, int doc, int field,
                 orc_view *out);

#endif /* CAIRN_SIM_ORACLE_H */
