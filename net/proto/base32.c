/*
 * base32.c -- base32 text of keys and ids (see base32_int.h).
 *
 * Branch-free per character, as libsodium's sodium_bin2base64: the text of
 * a mesh key is the key, and a table lookup indexed by secret bits or an
 * early exit on the first bad character would leak them through timing.
 */
#include "base32_int.h"

#include <string.h>

#include <sodium.h>

#include "cairn/common.h"

/* All ones if lo <= x <= hi, else 0 (x, lo, hi in 0..255). */
static unsigned range_mask(unsigned x, unsigned lo, unsigned hi)
{
	int d = (int)x - (int)lo;
	int e = (int)hi - (int)x;
	unsigned neg = (unsigned)(d | e) >> (sizeof(int) * 8 - 1);
	return 0u - (neg ^ 1u);
}

/* The character of a 5-bit value: 0..25 -> 'a'..'z', 26..31 -> '2'..'7'. */
static char encode5(unsigned v)
{
	unsigned digit = range_mask(v, 26, 31);
	unsigned c = 'a' + v;
	c += digit & (unsigned)('2' - 'a' - 26);
	return (char)(c & 0xFFu);
}

/*
 * The 5-bit value of a character, and in *bad all ones when it is not in
 * the alphabet. Letters fold to lowercase by setting bit 0x20, which
 * digits already have; the digit test uses the character as given, so that
 * control characters 0x12..0x17 do not pass for '2'..'7'.
 */
static unsigned decode5(unsigned char ch, unsigned *bad)
{
	unsigned c = ch;
	unsigned lower = c | 0x20u;
	unsigned letter = range_mask(lower, 'a', 'z');
	unsigned digit = range_mask(c, '2', '7');
	*bad |= ~(letter | digit);
	return ((lower - 'a') & letter) | ((c - '2' + 26u) & digit);
}

size_t cairn__base32_encode(const uint8_t *in, size_t n, char *out)
{
	size_t len = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[len++] = encode5((acc >> bits) & 31u);
		}
	}
	if (bits > 0)
		out[len++] = encode5((acc << (5 - bits)) & 31u);
	out[len] = '\0';
	return len;
}

int cairn__base32_decode(const char *text, size_t len, uint8_t *out, size_t n)
{
	if (len != CAIRN__BASE32_LEN(n))
		return CAIRN_EINVAL;
	/* Decode into a scratch copy: out stays unchanged on error. At most
	 * the 32-byte keys and ids of this module, plus room for tests. */
	uint8_t tmp[64];
	if (n > sizeof(tmp))
		return CAIRN_EINVAL;
	unsigned bad = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t put = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 5) | decode5((unsigned char)text[i], &bad);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			tmp[put++] = (uint8_t)((acc >> bits) & 0xFFu);
		}
	}
	/* The leftover bits (fewer than 5) must be zero. */
	bad |= 0u - (unsigned)((acc & ((1u << bits) - 1u)) != 0);
	int rc = CAIRN_EINVAL;
	if (bad == 0 && put == n) {
		memcpy(out, tmp, n);
		rc = 0;
	}
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}
