/*
 * cairn/crdt.h -- the pure CRDT core: documents of registers and
 * add-wins sets, hybrid logical clocks, deltas and their canonical encoding.
 *
 * The core is deterministic: time is an argument, there is no randomness,
 * no I/O and no global state. Equal states encode to equal bytes and so to
 * equal digests. This header needs only the C standard library.
 *
 * THREAD SAFETY: objects are not thread-safe and share nothing with each
 * other. Distinct objects may be used from distinct threads at the same
 * time; one object must be used by one thread at a time. cairn_value,
 * cairn_hlc and cairn_limits are plain values.
 *
 * MODEL (see docs/DATA-MODEL.md). A replica holds documents; a document is a
 * map of fields; a field is a register (one value, or several concurrent
 * ones) or an add-wins observed-remove set of values. Every write makes a
 * fresh dot (replica, counter); each document keeps a causal context of the
 * dots it has seen. A delta is a small state fragment: entries plus the
 * dots they cover. Joining is commutative, associative and idempotent, so
 * deltas may arrive in any order, twice, or be folded together first.
 *
 * POINTERS. Values, names and ids returned by read functions point into the
 * replica and stay valid until the next call that changes that replica
 * (a write, a join, a declaration, or cairn_replica_free()).
 */
#ifndef CAIRN_CRDT_H
#define CAIRN_CRDT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

/* The msgpack scalar types a register or a set element may hold. */
typedef enum cairn_type {
	CAIRN_NIL = 0,
	CAIRN_BOOL = 1,
	CAIRN_INT = 2,   /* int64_t */
	CAIRN_FLOAT = 3, /* double; every NaN is stored as one canonical NaN */
	CAIRN_STR = 4,   /* UTF-8 bytes, not NUL-terminated */
	CAIRN_BIN = 5,   /* opaque bytes */
} cairn_type;

/*
 * A scalar value. For CAIRN_STR and CAIRN_BIN, `as.bytes` borrows the
 * caller's bytes when passed in, and points into the replica when returned.
 */
typedef struct cairn_value {
	cairn_type type;
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			const uint8_t *ptr;
			size_t len;
		} bytes;
	} as;
} cairn_value;

CAIRN_API cairn_value cairn_value_nil(void);
CAIRN_API cairn_value cairn_value_bool(bool b);
CAIRN_API cairn_value cairn_value_int(int64_t i);
CAIRN_API cairn_value cairn_value_float(double f);
/* A string value over s[0..strlen(s)); s is borrowed. */
CAIRN_API cairn_value cairn_value_str(const char *s);
/* A string value over p[0..len); p is borrowed. */
CAIRN_API cairn_value cairn_value_strn(const void *p, size_t len);
/* A binary value over p[0..len); p is borrowed. */
CAIRN_API cairn_value cairn_value_bin(const void *p, size_t len);

/*
 * The canonical total order of values: by type (nil < bool < int < float <
 * str < bin), then by value (false < true; integers numerically; floats by
 * IEEE total order, so -0.0 < +0.0 and NaN last; bytes lexicographically,
 * shorter first on a common prefix). Returns <0, 0 or >0. Set members are
 * listed in this order, and two values are the same set element exactly
 * when this returns 0 (so 1 and 1.0 are different elements).
 */
CAIRN_API int cairn_value_compare(const cairn_value *a, const cairn_value *b);

/* ------------------------------------------------------------------------ */
/* Hybrid logical clock                                                     */
/* ------------------------------------------------------------------------ */

/*
 * An HLC timestamp is 64 bits: 48 bits of Unix milliseconds, then a 16-bit
 * counter that orders timestamps issued within one millisecond.
 */
#define CAIRN_HLC_MS(h) ((uint64_t)(h) >> 16)
#define CAIRN_HLC_COUNTER(h) ((uint64_t)(h)&0xFFFFu)
#define CAIRN_HLC_MAKE(ms, counter)                                            \
	(((uint64_t)(ms) << 16) | ((uint64_t)(counter)&0xFFFFu))
#define CAIRN_HLC_MAX_MS ((UINT64_C(1) << 48) - 1)
#define CAIRN_DEFAULT_MAX_SKEW_MS UINT64_C(60000)

typedef struct cairn_hlc {
	uint64_t last;        /* the last timestamp issued or observed */
	uint64_t max_skew_ms; /* how far ahead of now a remote one may be */
} cairn_hlc;

/*
 * Initialise a clock. `resume` is the last timestamp this replica issued
 * before it stopped (0 for a new replica): the clock never issues one at or
 * below it, even if the wall clock stepped back. max_skew_ms 0 means the
 * default, 60 s.
 */
CAIRN_API void cairn_hlc_init(cairn_hlc *c, uint64_t resume,
                              uint64_t max_skew_ms);

/*
 * Issue a timestamp greater than every one issued or observed before.
 * now_ms: the wall clock in Unix milliseconds.
 * Returns 0 and stores it in *out; CAIRN_EAGAIN when 65,536 timestamps were
 * already issued in the clock's current millisecond (the counter never
 * wraps: call again once now_ms has passed it); CAIRN_ERANGE when now_ms
 * does not fit in 48 bits. On error the clock is unchanged.
 */
CAIRN_API CAIRN_NODISCARD int cairn_hlc_tick(cairn_hlc *c, uint64_t now_ms,
                                             uint64_t *out);

/*
 * Check a remote timestamp: CAIRN_ECLOCK_SKEW if it is more than
 * max_skew_ms ahead of now_ms, else 0. Never changes the clock.
 */
CAIRN_API CAIRN_NODISCARD int cairn_hlc_check(const cairn_hlc *c,
                                              uint64_t remote, uint64_t now_ms);

/*
 * Observe a remote timestamp so that later ticks exceed it. Returns
 * CAIRN_ECLOCK_SKEW (clock untouched) if it fails cairn_hlc_check().
 */
CAIRN_API CAIRN_NODISCARD int cairn_hlc_observe(cairn_hlc *c, uint64_t remote,
                                                uint64_t now_ms);

/* ------------------------------------------------------------------------ */
/* Kinds, policies and limits                                               */
/* ------------------------------------------------------------------------ */

typedef enum cairn_kind {
	CAIRN_KIND_NONE = 0,     /* no live content */
	CAIRN_KIND_REGISTER = 1, /* one value (several under `multi`) */
	CAIRN_KIND_SET = 2,      /* add-wins observed-remove set */
} cairn_kind;

/*
 * How a register resolves *concurrent* writes (a write always supersedes
 * the values its writer had seen). Every policy is a read-time choice among
 * the live concurrent values, so merging stays a plain join.
 */
typedef enum cairn_policy {
	CAIRN_POLICY_LWW = 0, /* greatest (hlc, replica id) wins (default) */
	CAIRN_POLICY_FWW = 1, /* smallest (hlc, replica id) wins; a local
	                         write over a live value is CAIRN_EEXIST */
	CAIRN_POLICY_PRIORITY =
	        2,              /* greatest (source priority, hlc, replica) */
	CAIRN_POLICY_MULTI = 3, /* keep every concurrent value */
} cairn_policy;

/* "lww", "fww", "priority", "multi"; NULL for an unknown value. */
CAIRN_API const char *cairn_policy_name(cairn_policy p);

/* Parse a policy name. 0, or CAIRN_EINVAL for an unknown name. */
CAIRN_API CAIRN_NODISCARD int cairn_policy_parse(const char *name,
                                                 cairn_policy *out);

/* Fixed limits of the data model. */
#define CAIRN_MAX_ID_BYTES 255 /* a document id or field name, in bytes */
#define CAIRN_MAX_VALUE_LIMIT (UINT32_C(1) << 20) /* ceiling of the limit */

/*
 * Configurable limits. Decoders check them before allocating anything the
 * input asks for; writers check max_value_bytes.
 */
typedef struct cairn_limits {
	uint32_t max_value_bytes; /* str/bin value size (default 64 KiB,
	                             at most CAIRN_MAX_VALUE_LIMIT) */
	uint32_t max_depth;       /* msgpack nesting depth (default 16) */
	uint64_t max_elements;    /* msgpack elements in one input
	                             (default 64 Mi) */
	uint64_t max_input_bytes; /* bytes in one input (default 1 GiB) */
} cairn_limits;

/* Fill *l with the defaults above. */
CAIRN_API void cairn_limits_init(cairn_limits *l);

/* ------------------------------------------------------------------------ */
/* Replicas and documents                                                   */
/* ------------------------------------------------------------------------ */

typedef struct cairn_replica cairn_replica;
typedef struct cairn_doc cairn_doc;
typedef struct cairn_delta cairn_delta;

/* Replica ids are the first 64 bits of the device id (a key hash). */
typedef uint64_t cairn_replica_id;

typedef struct cairn_replica_config {
	cairn_replica_id id;       /* this replica's id; must not be 0 */
	uint8_t source_priority;   /* for the `priority` policy; default 0 */
	uint64_t max_skew_ms;      /* default CAIRN_DEFAULT_MAX_SKEW_MS */
	uint64_t hlc_resume;       /* last HLC issued before a restart, or 0 */
	cairn_limits limits;       /* default cairn_limits_init() */
	uint8_t hash_key[16];      /* key of the internal hash tables; give it
	                              random bytes where input is untrusted */
	cairn_allocator allocator; /* default: the C library */
} cairn_replica_config;

/* Fill *cfg with the defaults (id 0: the caller must set one). */
CAIRN_API void cairn_replica_config_init(cairn_replica_config *cfg);

/*
 * Create an empty replica. Use the cairn_replica_new() macro: it passes
 * sizeof(cairn_replica_config) so that a header/library mismatch returns
 * CAIRN_EVERSION instead of reading a struct of the wrong size.
 * The config is copied. Returns 0 and stores the replica in *out, or
 * CAIRN_EINVAL (id 0, a limit out of range), CAIRN_EVERSION, CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_replica_new_(const cairn_replica_config *cfg, size_t cfg_size,
                   cairn_replica **out);
#define cairn_replica_new(cfg, out)                                            \
	cairn_replica_new_((cfg), sizeof(cairn_replica_config), (out))

/* Free a replica and everything it holds. NULL is a no-op. */
CAIRN_API void cairn_replica_free(cairn_replica *r);

CAIRN_API cairn_replica_id cairn_replica_id_of(const cairn_replica *r);

/*
 * The last HLC timestamp issued or observed. Persist it (a store does) and
 * pass it as hlc_resume after a restart.
 */
CAIRN_API uint64_t cairn_replica_hlc_last(const cairn_replica *r);

/*
 * Declare the register policy of a collection or of one field of it.
 * prefix: a document id prefix ("tickets/"; "" for every document).
 * field:  a field name, or NULL for every field of the collection.
 * A field's policy is that of the declaration naming the field with the
 * longest matching prefix, else that of the collection declaration with the
 * longest matching prefix, else lww.
 * Every replica must make the same declarations: deltas carry each
 * register's policy and a join refuses a delta whose policy differs from the
 * local one (CAIRN_EPOLICY), so a disagreement is an error, never a silent
 * divergence.
 * Returns 0 (also when the same declaration is repeated); CAIRN_EPOLICY when
 * the same (prefix, field) was declared with another policy, or when the
 * declaration would change the policy of a register that already holds a
 * value; CAIRN_EINVAL, CAIRN_ETOOBIG, CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_replica_declare(cairn_replica *r,
                                                    const char *prefix,
                                                    const char *field,
                                                    cairn_policy policy);

/* The policy that applies to (doc_id, field). */
CAIRN_API cairn_policy cairn_replica_policy(const cairn_replica *r,
                                            const char *doc_id,
                                            const char *field);

/*
 * Find a document, creating an empty one if it does not exist. doc_id:
 * UTF-8, 1..255 bytes, no NUL. The handle stays valid until the replica is
 * freed. Returns 0, CAIRN_EINVAL, CAIRN_ETOOBIG or CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_replica_doc(cairn_replica *r, const char *doc_id, cairn_doc **out);

/*
 * Find a document that has content or history. Returns 0, or
 * CAIRN_ENOTFOUND (then *out is NULL).
 */
CAIRN_API CAIRN_NODISCARD int
cairn_replica_find(const cairn_replica *r, const char *doc_id, cairn_doc **out);

/* The number of documents that have content or history. */
CAIRN_API size_t cairn_replica_doc_count(const cairn_replica *r);

/*
 * List the ids of documents that start with `prefix` (NULL or "" for all),
 * sorted bytewise. Stores the number of matches in *n. Writes them to
 * ids[0..*n) if *n <= cap and returns 0; otherwise writes nothing and
 * returns CAIRN_ESPACE.
 */
CAIRN_API CAIRN_NODISCARD int cairn_replica_docs(const cairn_replica *r,
                                                 const char *prefix,
                                                 const char **ids, size_t cap,
                                                 size_t *n);

/* The document's id (NUL-terminated, owned by the replica). */
CAIRN_API const char *cairn_doc_id(const cairn_doc *d);

/*
 * Local writes. Each makes a fresh dot and, when `delta` is not NULL, joins
 * the write's delta into *delta (so one delta can gather many writes).
 * field: UTF-8, 1..255 bytes, no NUL.
 * On any error nothing changes, neither the document nor *delta.
 */

/*
 * Write a register. Supersedes every value of the field that this replica
 * has seen (register values, and set members after a kind conflict).
 * now_ms: the wall clock, for the HLC.
 * Returns 0; CAIRN_EKIND if the field is a set; CAIRN_EEXIST if its policy
 * is fww and it holds a value; CAIRN_ETOOBIG if the value exceeds
 * max_value_bytes; CAIRN_EINVAL (bad name or value, such as invalid UTF-8);
 * CAIRN_EAGAIN / CAIRN_ERANGE from the clock; CAIRN_ERANGE when this
 * replica's dot counter for the document is exhausted; CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_doc_set(cairn_doc *d, const char *field,
                                            const cairn_value *v,
                                            uint64_t now_ms,
                                            cairn_delta *delta);

/*
 * Delete a field: removes every value and member this replica has seen in
 * it, register or set (a context-only delta; no tombstone is kept).
 * A concurrent write this replica has not seen survives.
 * Returns 0; CAIRN_ENOTFOUND if the field has no live content; CAIRN_EINVAL;
 * CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_doc_del(cairn_doc *d, const char *field,
                                            cairn_delta *delta);

/*
 * Add an element to a set field (creating the set). A concurrent remove
 * that did not see this add does not remove it (add wins).
 * Returns 0; CAIRN_EKIND if the field is a register; CAIRN_ETOOBIG;
 * CAIRN_EINVAL; CAIRN_ERANGE (dot counter); CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_doc_add(cairn_doc *d, const char *field,
                                            const cairn_value *elem,
                                            cairn_delta *delta);

/*
 * Remove an element this replica sees in a set field.
 * Returns 0; CAIRN_ENOTFOUND if it is not a member; CAIRN_EKIND if the field
 * is a register; CAIRN_EINVAL; CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_doc_rm(cairn_doc *d, const char *field,
                                           const cairn_value *elem,
                                           cairn_delta *delta);

/*
 * Reads. None allocates.
 *
 * Kind conflicts: two replicas may create the same field concurrently with
 * different kinds. Both contents are kept and merge like any other (so every
 * replica holds the same state); while register values are live the field
 * reads as a register, and its set members reappear if the register is
 * deleted. A register write or a delete clears both.
 */

/* Who wrote a register value. */
typedef struct cairn_stamp {
	uint64_t hlc;
	cairn_replica_id replica;
	uint8_t priority;
} cairn_stamp;

typedef struct cairn_field_info {
	cairn_kind kind;     /* REGISTER if register values are live */
	cairn_policy policy; /* the register policy that applies */
	size_t values;       /* live register values (>1 only if concurrent) */
	size_t members;      /* live set members */
	bool kind_conflict;  /* both register values and set members live */
} cairn_field_info;

/* Describe a field. 0, or CAIRN_ENOTFOUND if it has no live content. */
CAIRN_API CAIRN_NODISCARD int cairn_doc_field_info(const cairn_doc *d,
                                                   const char *field,
                                                   cairn_field_info *out);

/*
 * Read a register: the value its policy selects (under multi, the greatest
 * (hlc, replica id)). `stamp` may be NULL.
 * Returns 0; CAIRN_ENOTFOUND; CAIRN_EKIND if the field is a set.
 */
CAIRN_API CAIRN_NODISCARD int cairn_doc_get(const cairn_doc *d,
                                            const char *field, cairn_value *out,
                                            cairn_stamp *stamp);

/*
 * Read every live value of a register, ordered by the policy's preference
 * (the winner first). stamps may be NULL. Stores the count in *n; writes
 * out[0..*n) (and stamps) if *n <= cap and returns 0, else writes nothing
 * and returns CAIRN_ESPACE. CAIRN_ENOTFOUND; CAIRN_EKIND for a set.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_doc_get_all(const cairn_doc *d, const char *field, cairn_value *out,
                  cairn_stamp *stamps, size_t cap, size_t *n);

/*
 * List a set's members in the canonical value order. Stores the count in
 * *n; writes out[0..*n) if *n <= cap and returns 0, else writes nothing and
 * returns CAIRN_ESPACE. An absent field is an empty set (0, *n = 0);
 * CAIRN_EKIND if the field reads as a register.
 */
CAIRN_API CAIRN_NODISCARD int cairn_doc_members(const cairn_doc *d,
                                                const char *field,
                                                cairn_value *out, size_t cap,
                                                size_t *n);

/* 1 if elem is a member of the set, 0 if not, or CAIRN_EKIND. */
CAIRN_API CAIRN_NODISCARD int cairn_doc_contains(const cairn_doc *d,
                                                 const char *field,
                                                 const cairn_value *elem);

/* The number of fields with live content. */
CAIRN_API size_t cairn_doc_field_count(const cairn_doc *d);

/*
 * List the names of fields with live content, sorted bytewise. Stores the
 * count in *n; writes names[0..*n) if *n <= cap and returns 0, else writes
 * nothing and returns CAIRN_ESPACE.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_doc_fields(const cairn_doc *d, const char **names, size_t cap, size_t *n);

/* ------------------------------------------------------------------------ */
/* Deltas, joins and the canonical encoding                                 */
/* ------------------------------------------------------------------------ */

/*
 * A delta: a state fragment (entries and the dots they cover) for any
 * number of documents. Writes gather into one; a whole state is one too.
 * `alloc` may be NULL (the C library). Returns 0 or CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_delta_new(const cairn_allocator *alloc,
                                              cairn_delta **out);

/* Free a delta. NULL is a no-op. */
CAIRN_API void cairn_delta_free(cairn_delta *d);

/* Empty a delta, keeping its memory for reuse. */
CAIRN_API void cairn_delta_clear(cairn_delta *d);

/* true if the delta carries nothing. */
CAIRN_API bool cairn_delta_empty(const cairn_delta *d);

/* The number of documents the delta touches. */
CAIRN_API size_t cairn_delta_doc_count(const cairn_delta *d);

/*
 * Fold src into dst (dst = dst ⊔ src). Returns 0; CAIRN_EPOLICY (dst
 * unchanged) if a register holds values on both sides under different
 * policies; CAIRN_EINVAL for a NULL argument; CAIRN_ENOMEM, after which dst
 * holds a part of src that is itself a valid delta, and repeating the call
 * completes it.
 */
CAIRN_API CAIRN_NODISCARD int cairn_delta_join(cairn_delta *dst,
                                               const cairn_delta *src);

/*
 * Join a delta (or a whole state) into the replica.
 * now_ms: the wall clock. Before anything changes, the whole delta is
 * checked: CAIRN_ECLOCK_SKEW if a timestamp is more than max_skew_ms ahead
 * of now_ms, CAIRN_EPOLICY if a register's policy differs from the local
 * declaration, CAIRN_ETOOBIG if a value exceeds max_value_bytes; then the
 * replica is unchanged and its clock untouched.
 * CAIRN_ENOMEM may leave a part of the delta joined (entries always before
 * the dots that cover them); joining the same delta again completes it.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_replica_join(cairn_replica *r, const cairn_delta *d, uint64_t now_ms);

/*
 * As cairn_replica_join(), and *changed (not NULL) tells whether the
 * replica's state changed: a value, member or dot it did not hold, or a
 * removal of one it held. A peer forwards a delta that changed nothing to
 * no one, so that a mesh does not echo deltas forever. *changed is set on
 * success only.
 */
CAIRN_API CAIRN_NODISCARD int cairn_replica_join_changed(cairn_replica *r,
                                                         const cairn_delta *d,
                                                         uint64_t now_ms,
                                                         bool *changed);

/*
 * Copy the whole state of the replica into *out (joined into what *out
 * holds). Returns 0 or CAIRN_ENOMEM (see cairn_delta_join).
 */
CAIRN_API CAIRN_NODISCARD int cairn_replica_state(const cairn_replica *r,
                                                  cairn_delta *out);

/*
 * Copy the state of one document into *out. CAIRN_ENOTFOUND if the
 * replica has no such document, else as cairn_replica_state().
 */
CAIRN_API CAIRN_NODISCARD int cairn_replica_doc_state(const cairn_replica *r,
                                                      const char *doc_id,
                                                      cairn_delta *out);

/*
 * Append the canonical encoding (docs/ENCODING.md) of a delta, or of the
 * replica's whole state, to *out. Equal deltas/states give equal bytes.
 * Returns 0 or CAIRN_ENOMEM (then out->len is unchanged).
 */
CAIRN_API CAIRN_NODISCARD int cairn_delta_encode(const cairn_delta *d,
                                                 cairn_buf *out);
CAIRN_API CAIRN_NODISCARD int cairn_replica_encode(const cairn_replica *r,
                                                   cairn_buf *out);

/*
 * Decode bytes from anywhere (a peer, a file) and join them into *out.
 * The bytes are checked against `limits` (NULL: the defaults) before any
 * allocation they ask for. Returns 0; CAIRN_EDECODE (malformed, truncated,
 * trailing bytes, invalid UTF-8, a value out of range); CAIRN_ELIMIT;
 * CAIRN_ETOOBIG (a value over limits->max_value_bytes); CAIRN_EVERSION (an
 * unknown format version); CAIRN_ENOMEM. On any error *out is unchanged.
 */
CAIRN_API CAIRN_NODISCARD int cairn_delta_decode(cairn_delta *out,
                                                 const uint8_t *bytes,
                                                 size_t len,
                                                 const cairn_limits *limits);

/*
 * What a delta carries, field by field, for code above the core that must
 * look inside one (a store's history, a relay's validation). For each
 * document and each field the delta touches (a value, a set element, or a
 * removal), in no particular order:
 *   field(ud, doc_id, field, policy)        once, first;
 *   value(ud, doc_id, field, value, stamp)  per register value it carries;
 *   element(ud, doc_id, field, elem, added) per set element it carries:
 *                                           added if it brings a live dot,
 *                                           else it only removes some.
 * Any callback may be NULL. A callback returning non-zero stops the walk,
 * and cairn_delta_visit() returns that value; else 0 (CAIRN_EINVAL for a
 * NULL argument). Pointers passed are valid during the callback only; the
 * delta must not change during the walk.
 */
typedef struct cairn_delta_visitor {
	int (*field)(void *ud, const char *doc_id, const char *field,
	             cairn_policy policy);
	int (*value)(void *ud, const char *doc_id, const char *field,
	             const cairn_value *value, const cairn_stamp *stamp);
	int (*element)(void *ud, const char *doc_id, const char *field,
	               const cairn_value *elem, bool added);
} cairn_delta_visitor;

CAIRN_API CAIRN_NODISCARD int
cairn_delta_visit(const cairn_delta *d, const cairn_delta_visitor *v, void *ud);

#define CAIRN_DIGEST_BYTES 32

/*
 * The BLAKE2b-256 digest of the canonical encoding, computed without
 * materialising it. Equal states have equal digests. 0 or CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_delta_digest(const cairn_delta *d, uint8_t out[CAIRN_DIGEST_BYTES]);
CAIRN_API CAIRN_NODISCARD int
cairn_replica_digest(const cairn_replica *r, uint8_t out[CAIRN_DIGEST_BYTES]);

/*
 * The digest of one document's state: that of its cairn_replica_doc_state()
 * encoding. Two replicas hold the same document state iff (up to BLAKE2b
 * collisions) its digests are equal; the sync protocol compares them to
 * find the documents that differ. An empty document (no content, no
 * history) has the digest of an empty state. 0, CAIRN_EINVAL (NULL) or
 * CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_doc_digest(const cairn_doc *d,
                                               uint8_t out[CAIRN_DIGEST_BYTES]);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_CRDT_H */
