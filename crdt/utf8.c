/*
 * utf8.c -- strict UTF-8 validation (Unicode 15, table 3-7 "Well-Formed
 * UTF-8 Byte Sequences"). Overlong forms, UTF-16 surrogates (U+D800..DFFF)
 * and code points above U+10FFFF are all rejected by restricting the
 * second byte of each lead byte's sequence, exactly as the table does:
 *
 *   00..7F
 *   C2..DF  80..BF
 *   E0      A0..BF  80..BF
 *   E1..EC  80..BF  80..BF
 *   ED      80..9F  80..BF
 *   EE..EF  80..BF  80..BF
 *   F0      90..BF  80..BF  80..BF
 *   F1..F3  80..BF  80..BF  80..BF
 *   F4      80..8F  80..BF  80..BF
 *
 * Document ids, field names and str values are mostly ASCII, so runs of
 * ASCII are skipped eight bytes at a time.
 */
#include <string.h>

#include "bytes_int.h"

size_t cairn__utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t b = p[0];
	uint8_t lo = 0x80u, hi = 0xbfu; /* range of the second byte */
	size_t need;                    /* bytes after the lead byte */
	if (b < 0x80u)
		return 1;
	if (b >= 0xc2u && b <= 0xdfu) {
		need = 1;
	} else if (b >= 0xe0u && b <= 0xefu) {
		need = 2;
		if (b == 0xe0u)
			lo = 0xa0u;
		else if (b == 0xedu)
			hi = 0x9fu;
	} else if (b >= 0xf0u && b <= 0xf4u) {
		need = 3;
		if (b == 0xf0u)
			lo = 0x90u;
		else if (b == 0xf4u)
			hi = 0x8fu;
	} else {
		/* 80..BF stray continuation, C0/C1 overlong, F5..FF. */
		return 0;
	}
	if (n - 1 < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k <= need; k++)
		if ((p[k] & 0xc0u) != 0x80u)
			return 0;
	return need + 1;
}

bool cairn__utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		/* ASCII fast path: 8 bytes with no high bit set. */
		if (n - i >= 8) {
			uint64_t w;
			memcpy(&w, p + i, sizeof(w));
			if ((w & UINT64_C(0x8080808080808080)) == 0) {
				i += 8;
				continue;
			}
		}
		size_t len = cairn__utf8_seq(p + i, n - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}
