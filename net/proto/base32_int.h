/*
 * base32_int.h -- base32 text of keys and ids (RFC 4648 section 6
 * alphabet, lowercase, no padding), private to net/proto/.
 *
 * Both directions run in time that depends only on the length, never on
 * the bytes: the same code prints mesh keys, which are secret.
 */
#ifndef CAIRN_NET_PROTO_BASE32_INT_H
#define CAIRN_NET_PROTO_BASE32_INT_H

#include <stddef.h>
#include <stdint.h>

/* Characters in the text of n bytes: ceil(8n / 5). */
#define CAIRN__BASE32_LEN(n) (((n)*8u + 4u) / 5u)

/*
 * Write the text of in[0..n) to out: CAIRN__BASE32_LEN(n) characters and
 * a NUL. Returns the number of characters.
 */
size_t cairn__base32_encode(const uint8_t *in, size_t n, char *out);

/*
 * Parse text[0..len) into out[0..n). Strict: len must be
 * CAIRN__BASE32_LEN(n), every character in the alphabet (either case), and
 * the bits of the last character beyond the n bytes zero, so each byte
 * string has one text (up to case). Returns 0, or CAIRN_EINVAL with out
 * unchanged.
 */
int cairn__base32_decode(const char *text, size_t len, uint8_t *out, size_t n);

#endif /* CAIRN_NET_PROTO_BASE32_INT_H */
