/*
 * cairn/json.h -- JSON for values and for a whole replica: the export a
 * user keeps (the data belongs to its user) and the parser that reads it
 * back. The format is docs/JSON.md.
 *
 * Everything here is built on the public API of cairn/crdt.h and is as pure
 * as the rest of the core: no I/O, no global state, no locale. Numbers are
 * formatted and parsed by cairn itself, never by printf/strtod, so the
 * decimal point is always '.', whatever setlocale() a program called.
 * Floats are written in the shortest form that reads back as the same
 * double, and read with correct rounding (round half to even).
 *
 * THREAD SAFETY: every function is reentrant. They read the objects they are
 * given and write only their output arguments, so distinct calls may run on
 * distinct threads at the same time; cairn_replica_export_json() only reads
 * the replica, which must not change during the call (crdt.h rules).
 */
#ifndef CAIRN_JSON_H
#define CAIRN_JSON_H

#include "common.h"
#include "crdt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The "version" an export carries and the only one the parser accepts. */
#define CAIRN_JSON_VERSION 1

/*
 * The longest str or bin value (decoded bytes) the parsers accept: the
 * ceiling of any replica's max_value_bytes. Longer is CAIRN_ELIMIT.
 */
#define CAIRN_JSON_MAX_VALUE_BYTES CAIRN_MAX_VALUE_LIMIT

/*
 * Append one value as JSON to *out:
 *   nil, bool        null, true, false
 *   int              a decimal integer (int64: 19 digits and a sign at most)
 *   float            the shortest decimal that reads back as the same double,
 *                    always with a '.' or an exponent ("1.0", "0.1", "1e+300")
 *                    so that it reads back as a float; NaN and the infinities
 *                    as {"float": "NaN"}, {"float": "Infinity"},
 *                    {"float": "-Infinity"}
 *   str              a JSON string: '"', '\\' and control characters escaped
 *                    (\n, \t, ... or \u00XX), any other UTF-8 as is
 *   bin              {"bin": "<standard base64 with padding>"}
 * Returns 0; CAIRN_EINVAL if v is NULL, of an unknown type, or a str that is
 * not valid UTF-8; CAIRN_ENOMEM. On error out->len is unchanged.
 */
CAIRN_API CAIRN_NODISCARD int cairn_value_to_json(const cairn_value *v,
                                                  cairn_buf *out);

/*
 * Parse json[0..len), exactly one JSON value with optional whitespace
 * around it, into *out. Accepted: null, true, false, numbers, strings, and
 * the wrappers {"bin": "<base64>"} and {"float": <"NaN" | "Infinity" |
 * "-Infinity" | a number>}. A number without fraction or exponent is an
 * int and must fit int64; any other number is a float, rounded to the
 * nearest double (an overflow to infinity is an error, an underflow gives
 * a zero of the same sign).
 *
 * scratch: where the bytes of a str or bin value are decoded. They are
 * appended (what scratch held is kept) and out->as.bytes points into
 * scratch->data, so it stays valid until scratch is next changed (appended
 * to, reset or freed); an empty one may point to static memory instead.
 * Nothing is appended for other types.
 *
 * Returns 0; CAIRN_EDECODE for malformed JSON, trailing bytes, invalid UTF-8
 * or escapes (lone surrogates), a number out of range, bad base64, or a
 * JSON value that is neither a scalar nor one of the wrappers (arrays, other
 * objects, a {"set"}); CAIRN_ELIMIT for a str or bin over
 * CAIRN_JSON_MAX_VALUE_BYTES; CAIRN_EINVAL for a NULL argument (json may be
 * NULL when len is 0); CAIRN_ENOMEM. On error *out is unspecified and
 * scratch->len is as before the call.
 */
CAIRN_API CAIRN_NODISCARD int cairn_value_from_json(const char *json,
                                                    size_t len,
                                                    cairn_buf *scratch,
                                                    cairn_value *out);

/*
 * Append the whole replica to *out as a cairn export (docs/JSON.md):
 * pretty-printed, two spaces per level, one field per line, ending with a
 * newline. Documents sorted by id and fields by name (bytewise); set members
 * in the order of cairn_doc_members() (the canonical value order); the
 * values of a register with several live ones in the order of
 * cairn_doc_get_all() (the winner first). A field whose register values
 * and set members are both live (a kind conflict) reads as a register and
 * is written as one. Documents without live fields are left out. The
 * output depends only on the replica's live content, so two replicas that
 * read the same export the same bytes.
 *
 * Temporary arrays are allocated with out->alloc.
 * Returns 0; CAIRN_EINVAL for a NULL argument; CAIRN_ENOMEM. On error
 * out->len is unchanged.
 */
CAIRN_API CAIRN_NODISCARD int cairn_replica_export_json(const cairn_replica *r,
                                                        cairn_buf *out);

/*
 * Called by cairn_json_import() for each value of an export: once per
 * register value (kind CAIRN_KIND_REGISTER) and once per set member
 * (CAIRN_KIND_SET). For a register written as {"values": [...]} it is called
 * once per value, in the order given, consecutively for the same doc_id and
 * field (the first is the winner when the export was made). doc_id and
 * field are NUL-terminated UTF-8 of 1..255 bytes without NUL; they and the
 * bytes of a str/bin *v are valid only during the call.
 * Return 0 to continue; anything else stops the import, which returns it.
 */
typedef int (*cairn_json_import_fn)(void *ud, const char *doc_id,
                                    const char *field, cairn_kind kind,
                                    const cairn_value *v);

/*
 * Read a cairn export (docs/JSON.md) from json[0..len) and hand its values
 * to fn; nothing is written anywhere else. The whole input is checked
 * first, and fn is called only if it is valid: then once per value, in the
 * order of the input, on the calling thread, before this returns. fn may
 * be NULL to only check the input.
 *
 * What is checked: the JSON syntax (RFC 8259, UTF-8, no byte order mark);
 * the top level is an object with exactly the keys "format"
 * ("cairn-export"), "version" (the integer 1) and "documents"; document ids
 * and field names are 1..255 bytes with no NUL (also not as \u0000); no
 * object has a key twice; each field is a value as cairn_value_from_json()
 * reads it, {"set": [value, ...]} (possibly empty) or
 * {"values": [value, ...]} (at least one). The format fixes the nesting, so
 * no input nests deeper than 6 levels; no other depth limit is needed.
 *
 * Returns 0; fn's non-zero result, as soon as fn returns it;
 * CAIRN_EDECODE for input that breaks the rules above; CAIRN_EVERSION for a
 * "version" other than 1; CAIRN_ELIMIT for a str or bin value over
 * CAIRN_JSON_MAX_VALUE_BYTES; CAIRN_EINVAL for a NULL json with len > 0;
 * CAIRN_ENOMEM. On EDECODE, EVERSION and ELIMIT, *err_offset (when
 * err_offset is not NULL) is the byte offset in json of the first error;
 * otherwise it is not written.
 */
CAIRN_API CAIRN_NODISCARD int cairn_json_import(const char *json, size_t len,
                                                cairn_json_import_fn fn,
                                                void *ud, size_t *err_offset);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_JSON_H */
