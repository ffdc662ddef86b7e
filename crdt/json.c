/*
 * json.c -- values and whole replicas as JSON (include/cairn/json.h,
 * docs/JSON.md).
 *
 * This file is a client of the core, not a part of it: it reads replicas
 * only through the public API of cairn/crdt.h, so that the export a user
 * keeps says exactly what that API says the replica holds, and nothing an
 * internal struct happens to carry. (It shares the core's byte tools: the
 * UTF-8 rules of utf8.c.)
 *
 * Numbers never go through printf or strtod. Both follow the C locale's
 * decimal point, which a program may have changed with setlocale(), and
 * neither is on the core's list of pure functions (cmake/layering/crdt.allow).
 * Instead:
 *   - floats are written with the free-format algorithm of Burger and
 *     Dybvig ("Printing Floating-Point Numbers Quickly and Accurately",
 *     PLDI 1996), on exact big integers: the fewest digits that read back as
 *     the same double;
 *   - floats are read by exact big-integer division of the decimal by a
 *     power of two, rounded half to even (what strtod does in the default
 *     rounding mode).
 * Both bignum paths are bounded: BN_WORDS covers the largest intermediate
 * the argument below each function derives, and an overflow (which those
 * bounds exclude) is reported as an error, never as a wrong number.
 */
#include <stdlib.h>
#include <string.h>

#include "cairn/json.h"

#include "bytes_int.h"

#define EXPORT_FORMAT "cairn-export"

/* ------------------------------------------------------------------------ */
/* Allocation (cairn_allocator semantics: all three members or the C lib)    */
/* ------------------------------------------------------------------------ */

static bool custom_alloc(const cairn_allocator *a)
{
	return a && a->alloc && a->realloc && a->free;
}

static void mem_free(const cairn_allocator *a, void *p, size_t n)
{
	if (p == NULL)
		return;
	if (custom_alloc(a))
		a->free(a->ud, p, n);
	else
		free(p);
}

/*
 * Make *arr hold at least n elements of `size` bytes (contents not kept).
 * 0 or CAIRN_ENOMEM (then *arr and *cap are unchanged).
 */
static int mem_reserve(const cairn_allocator *a, void **arr, size_t *cap,
                       size_t n, size_t size)
{
	if (n <= *cap)
		return 0;
	if (n > SIZE_MAX / size)
		return CAIRN_ENOMEM;
	void *p =
	        custom_alloc(a) ? a->alloc(a->ud, n * size) : malloc(n * size);
	if (p == NULL)
		return CAIRN_ENOMEM;
	mem_free(a, *arr, *cap * size);
	*arr = p;
	*cap = n;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                    */
/* ------------------------------------------------------------------------ */

/* Encode a code point (not a surrogate, <= 0x10FFFF); returns its length. */
static size_t utf8_put(uint8_t out[4], uint32_t cp)
{
	if (cp < 0x80u) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800u) {
		out[0] = (uint8_t)(0xc0u | (cp >> 6));
		out[1] = (uint8_t)(0x80u | (cp & 0x3fu));
		return 2;
	}
	if (cp < 0x10000u) {
		out[0] = (uint8_t)(0xe0u | (cp >> 12));
		out[1] = (uint8_t)(0x80u | ((cp >> 6) & 0x3fu));
		out[2] = (uint8_t)(0x80u | (cp & 0x3fu));
		return 3;
	}
	out[0] = (uint8_t)(0xf0u | (cp >> 18));
	out[1] = (uint8_t)(0x80u | ((cp >> 12) & 0x3fu));
	out[2] = (uint8_t)(0x80u | ((cp >> 6) & 0x3fu));
	out[3] = (uint8_t)(0x80u | (cp & 0x3fu));
	return 4;
}

/* ------------------------------------------------------------------------ */
/* Big integers for exact float conversion                                  */
/* ------------------------------------------------------------------------ */

/*
 * Unsigned, little-endian 32-bit words, fixed capacity. 136 words (4,352
 * bits) bound every value below: the reader's largest is under 3,800 bits
 * (see decimal_to_double), the writer's under 1,140 (see shortest_digits).
 */
#define BN_WORDS 136

typedef struct bn {
	uint32_t w[BN_WORDS];
	size_t n; /* words in use; w[n-1] != 0 unless n == 0 */
	bool ovf; /* a result did not fit (excluded by the bounds) */
} bn;

static void bn_set(bn *a, uint64_t v)
{
	a->n = 0;
	a->ovf = false;
	while (v != 0) {
		a->w[a->n++] = (uint32_t)v;
		v >>= 32;
	}
}

static bool bn_zero(const bn *a)
{
	return a->n == 0;
}

static void bn_trim(bn *a)
{
	while (a->n > 0 && a->w[a->n - 1] == 0)
		a->n--;
}

/* a = a * m + c */
static void bn_mul_add(bn *a, uint32_t m, uint32_t c)
{
	uint64_t carry = c;
	for (size_t i = 0; i < a->n; i++) {
		uint64_t t = (uint64_t)a->w[i] * m + carry;
		a->w[i] = (uint32_t)t;
		carry = t >> 32;
	}
	if (carry != 0) {
		if (a->n == BN_WORDS) {
			a->ovf = true;
			return;
		}
		a->w[a->n++] = (uint32_t)carry;
	}
	bn_trim(a);
}

static void bn_mul_pow10(bn *a, uint64_t k)
{
	for (; k >= 9 && !a->ovf; k -= 9)
		bn_mul_add(a, 1000000000u, 0);
	static const uint32_t p10[9] = {
	        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
	if (k > 0)
		bn_mul_add(a, p10[k], 0);
}

static void bn_shl(bn *a, size_t bits)
{
	if (a->n == 0 || bits == 0)
		return;
	size_t words = bits / 32, sh = bits % 32;
	size_t n = a->n + words + 1;
	if (n > BN_WORDS) {
		a->ovf = true;
		return;
	}
	a->w[n - 1] = 0;
	for (size_t i = a->n; i-- > 0;) {
		uint64_t t = (uint64_t)a->w[i] << sh;
		a->w[i + words + 1] |= (uint32_t)(t >> 32);
		a->w[i + words] = (uint32_t)t;
	}
	for (size_t i = 0; i < words; i++)
		a->w[i] = 0;
	a->n = n;
	bn_trim(a);
}

static int bn_cmp(const bn *a, const bn *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (size_t i = a->n; i-- > 0;)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

/* a = a - b, for a >= b */
static void bn_sub(bn *a, const bn *b)
{
	uint64_t borrow = 0;
	for (size_t i = 0; i < a->n; i++) {
		uint64_t t =
		        (uint64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
		a->w[i] = (uint32_t)t;
		borrow = (t >> 32) & 1u;
	}
	bn_trim(a);
}

/* out = a + b (out may be a or b) */
static void bn_add(bn *out, const bn *a, const bn *b)
{
	size_t n = a->n > b->n ? a->n : b->n;
	uint64_t carry = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t t = (uint64_t)(i < a->n ? a->w[i] : 0) +
		             (i < b->n ? b->w[i] : 0) + carry;
		out->w[i] = (uint32_t)t;
		carry = t >> 32;
	}
	out->n = n;
	out->ovf = a->ovf || b->ovf;
	if (carry != 0) {
		if (n == BN_WORDS) {
			out->ovf = true;
			return;
		}
		out->w[out->n++] = (uint32_t)carry;
	}
}

static size_t bits64(uint64_t v)
{
	size_t n = 0;
	for (; v != 0; v >>= 1)
		n++;
	return n;
}

static size_t bn_bits(const bn *a)
{
	return a->n == 0 ? 0 : (a->n - 1) * 32 + bits64(a->w[a->n - 1]);
}

/* ------------------------------------------------------------------------ */
/* Writing a float                                                          */
/* ------------------------------------------------------------------------ */

#define MANT_BITS 52
#define HIDDEN_BIT (UINT64_C(1) << MANT_BITS)
#define MANT_MASK (HIDDEN_BIT - 1)
#define MIN_EXP (-1074) /* exponent of the least significant bit, subnormal */

static uint64_t double_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

/*
 * The shortest digits d1 d2 ... dn (ASCII, n <= 17) and the exponent k with
 * v = 0.d1d2...dn x 10^k that read back as v = f x 2^e > 0 under
 * round-half-even. Burger & Dybvig's free-format algorithm: r/s is v scaled
 * to [0.1, 1) by 10^k, m+/s and m-/s are the distances to the midpoints
 * between v and its neighbours; each step emits the next digit and stops as
 * soon as the digits so far, or them with the last one raised, lie strictly
 * inside the rounding interval (its ends are included when f is even,
 * because a reader rounding half to even maps them to v).
 *
 * Bounds: the largest value is r after scaling up by 10^-k for the least
 * subnormal: 2 x 2^53 x 10^324 < 2^1135. Returns n, or 0 on bignum
 * overflow (excluded by that bound).
 */
static size_t shortest_digits(uint64_t f, int e, char digits[18], int *k_out)
{
	bn r, s, mp, mm, t;
	bool even = (f & 1u) == 0;
	/* At a power of two the gap below is half the gap above. */
	bool asym = f == HIDDEN_BIT && e > MIN_EXP;

	bn_set(&r, f);
	if (e >= 0) {
		bn_shl(&r, (size_t)e + (asym ? 2 : 1));
		bn_set(&s, asym ? 4 : 2);
		bn_set(&mp, 1);
		bn_shl(&mp, (size_t)e + (asym ? 1 : 0));
		bn_set(&mm, 1);
		bn_shl(&mm, (size_t)e);
	} else {
		bn_shl(&r, asym ? 2 : 1);
		bn_set(&s, 1);
		bn_shl(&s, (size_t)(-e) + (asym ? 2 : 1));
		bn_set(&mp, asym ? 2 : 1);
		bn_set(&mm, 1);
	}

	/*
	 * Estimate k = ceil(log10 v) from e2 = floor(log2 v): log10 v lies in
	 * [e2 L, (e2 + 1) L) with L = log10 2 < 1, so ceil(e2 L) is k or k - 1
	 * and the loop below raises it when it is low. 78913 / 2^18 is L to
	 * within 2^-22, exact enough for |e2| <= 1074 (as in Ryu).
	 */
	int e2 = (int)bits64(f) - 1 + e;
	int64_t num = (int64_t)e2 * 78913;
	int64_t est = num >= 0 ? (num + (1 << 18) - 1) / (1 << 18)
	                       : -((-num) / (1 << 18));
	if (est >= 0) {
		bn_mul_pow10(&s, (uint64_t)est);
	} else {
		bn_mul_pow10(&r, (uint64_t)-est);
		bn_mul_pow10(&mp, (uint64_t)-est);
		bn_mul_pow10(&mm, (uint64_t)-est);
	}
	for (;;) { /* fixup: the high end must stay below 10^k */
		bn_add(&t, &r, &mp);
		int c = bn_cmp(&t, &s);
		if (even ? c < 0 : c <= 0)
			break;
		bn_mul_add(&s, 10, 0);
		est++;
	}

	size_t n = 0;
	for (;;) {
		bn_mul_add(&r, 10, 0);
		bn_mul_add(&mp, 10, 0);
		bn_mul_add(&mm, 10, 0);
		int d = 0;
		while (bn_cmp(&r, &s) >= 0) {
			bn_sub(&r, &s);
			d++;
		}
		int c1 = bn_cmp(&r, &mm);
		bool low = even ? c1 <= 0 : c1 < 0;
		bn_add(&t, &r, &mp);
		int c2 = bn_cmp(&t, &s);
		bool high = even ? c2 >= 0 : c2 > 0;
		if (r.ovf || s.ovf || mp.ovf || mm.ovf || t.ovf || d > 9 ||
		    n >= 17)
			return 0;
		if (!low && !high) {
			digits[n++] = (char)('0' + d);
			continue;
		}
		if (low && high) {
			bn_add(&t, &r, &r);
			high = bn_cmp(&t, &s) >= 0; /* nearer the upper end */
		}
		digits[n++] = (char)('0' + d + (high ? 1 : 0));
		break;
	}
	*k_out = (int)est;
	return n;
}

/*
 * Format a finite double: the shortest round-trip digits, in plain notation
 * for decimal exponents -4..15 and as d.ddde±x otherwise (the choice of
 * JavaScript and Python's repr), always with a '.' or an 'e'.
 */
static size_t format_double(uint64_t u, char out[40])
{
	size_t o = 0;
	if (u >> 63)
		out[o++] = '-';
	uint64_t bexp = (u >> MANT_BITS) & 0x7ffu, frac = u & MANT_MASK;
	if (bexp == 0 && frac == 0) {
		memcpy(out + o, "0.0", 3);
		return o + 3;
	}
	uint64_t f = bexp == 0 ? frac : frac | HIDDEN_BIT;
	int e = bexp == 0 ? MIN_EXP : (int)bexp - 1075;

	char d[18];
	int k = 0;
	size_t n = shortest_digits(f, e, d, &k);
	if (n == 0)
		return 0;
	int x = k - 1; /* v = d1.d2... x 10^x */
	if (x < -4 || x >= 16) {
		out[o++] = d[0];
		if (n > 1) {
			out[o++] = '.';
			memcpy(out + o, d + 1, n - 1);
			o += n - 1;
		}
		out[o++] = 'e';
		out[o++] = x < 0 ? '-' : '+';
		unsigned ax = (unsigned)(x < 0 ? -x : x);
		char tmp[4];
		size_t tn = 0;
		do {
			tmp[tn++] = (char)('0' + ax % 10);
			ax /= 10;
		} while (ax != 0);
		while (tn > 0)
			out[o++] = tmp[--tn];
	} else if (k <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -k; i++)
			out[o++] = '0';
		memcpy(out + o, d, n);
		o += n;
	} else if ((size_t)k >= n) {
		memcpy(out + o, d, n);
		o += n;
		for (size_t i = n; i < (size_t)k; i++)
			out[o++] = '0';
		memcpy(out + o, ".0", 2);
		o += 2;
	} else {
		memcpy(out + o, d, (size_t)k);
		o += (size_t)k;
		out[o++] = '.';
		memcpy(out + o, d + k, n - (size_t)k);
		o += n - (size_t)k;
	}
	return o;
}

/* ------------------------------------------------------------------------ */
/* Reading a float                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Significant decimal digits kept. A double's rounding boundaries (the
 * midpoints between neighbours) have at most 767 significant digits, so
 * digits beyond 800 can only tell whether the value lies above the kept
 * prefix; one appended 1 ("sticky") says so without moving it across a
 * boundary.
 */
#define MAX_SIG_DIGITS 800

/*
 * The double nearest to D x 10^E (D with nd decimal digits, nd <= 801),
 * ties to even, signed by neg. CAIRN_EDECODE if it overflows to infinity;
 * an underflow gives a signed zero.
 *
 * Method: choose s so that q = floor(D 10^E 2^s) has 53 or 54 bits (s at
 * most 1074, for subnormals), compute q and the remainder by restoring
 * division, and round the bits below the 53rd (or below 2^-1074).
 * Bounds: the range checks keep nd + E in [-326, 310], so the divisor is
 * below 10^1127 < 2^3745 and the shifted dividend below 2^3800.
 */
static int decimal_to_double(const bn *D, int64_t nd, int64_t E, bool neg,
                             double *out)
{
	uint64_t u = 0;
	if (!bn_zero(D) && nd + E > 310)
		return CAIRN_EDECODE; /* >= 1e310: infinity */
	if (!bn_zero(D) && nd + E >= -326) {
		bn N = *D, den, t;
		bn_set(&den, 1);
		if (E >= 0)
			bn_mul_pow10(&N, (uint64_t)E);
		else
			bn_mul_pow10(&den, (uint64_t)-E);
		int64_t b0 = (int64_t)bn_bits(&N) - (int64_t)bn_bits(&den);
		int64_t s = 53 - b0;
		if (s > -MIN_EXP)
			s = -MIN_EXP;
		if (s > 0)
			bn_shl(&N, (size_t)s);
		else
			bn_shl(&den, (size_t)-s);
		/* N / den < 2^54: D 10^E < 2^(b0+1). */
		uint64_t q = 0;
		for (int i = 54; i >= 0; i--) {
			t = den;
			bn_shl(&t, (size_t)i);
			if (bn_cmp(&N, &t) >= 0) {
				bn_sub(&N, &t);
				q |= UINT64_C(1) << i;
			}
		}
		if (N.ovf || den.ovf || t.ovf)
			return CAIRN_EDECODE;
		size_t qb = bits64(q);
		size_t drop = qb > 53 ? qb - 53 : 0;
		int64_t e2 = -s + (int64_t)drop;
		uint64_t m = q >> drop;
		bool up;
		if (drop > 0) {
			uint64_t lost = q & ((UINT64_C(1) << drop) - 1);
			uint64_t half = UINT64_C(1) << (drop - 1);
			up = lost > half ||
			     (lost == half && (!bn_zero(&N) || (m & 1u)));
		} else {
			bn_add(&t, &N, &N);
			int c = bn_cmp(&t, &den);
			up = c > 0 || (c == 0 && (m & 1u));
		}
		if (up)
			m++;
		if (m >> 53) {
			m >>= 1;
			e2++;
		}
		if (m >= HIDDEN_BIT) {
			int64_t be = e2 + 1075;
			if (be >= 0x7ff)
				return CAIRN_EDECODE;
			u = ((uint64_t)be << MANT_BITS) | (m & MANT_MASK);
		} else {
			u = m; /* subnormal: e2 == MIN_EXP here */
		}
	}
	if (neg)
		u |= UINT64_C(1) << 63;
	memcpy(out, &u, sizeof(*out));
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Base64 (RFC 4648 section 4, with padding)                                */
/* ------------------------------------------------------------------------ */

static const char b64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int put_base64(cairn_buf *out, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n / 3 >= SIZE_MAX / 4 - 1)
		return CAIRN_ENOMEM;
	size_t need = (n + 2) / 3 * 4;
	int rc = cairn_buf_reserve(out, need);
	if (rc != 0)
		return rc;
	uint8_t *o = out->data + out->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
		             p[i + 2];
		*o++ = (uint8_t)b64_alphabet[v >> 18];
		*o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
		*o++ = (uint8_t)b64_alphabet[(v >> 6) & 63];
		*o++ = (uint8_t)b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = (uint8_t)b64_alphabet[v >> 18];
		*o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = (uint8_t)b64_alphabet[v >> 18];
		*o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
		*o++ = (uint8_t)b64_alphabet[(v >> 6) & 63];
		*o++ = '=';
	}
	out->len += need;
	return 0;
}

/*
 * Decode p[0..n) in place (the output is never longer than the input, and
 * each group is read before it is written). Strict: a multiple of 4
 * characters, only the alphabet, '=' only as the last one or two, and the
 * unused bits of the last character zero, so each byte string has exactly
 * one accepted encoding. Returns the decoded length, or SIZE_MAX.
 */
static size_t b64_decode_inplace(uint8_t *p, size_t n)
{
	if (n % 4 != 0)
		return SIZE_MAX;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int pad = 0;
		if (last && p[i + 3] == '=')
			pad = p[i + 2] == '=' ? 2 : 1;
		int v[4];
		for (int j = 0; j < 4 - pad; j++) {
			v[j] = b64_value(p[i + (size_t)j]);
			if (v[j] < 0)
				return SIZE_MAX;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12;
		if (pad < 2)
			w |= (uint32_t)v[2] << 6;
		if (pad < 1)
			w |= (uint32_t)v[3];
		if ((pad == 2 && (w & 0xffffu) != 0) ||
		    (pad == 1 && (w & 0xffu) != 0))
			return SIZE_MAX; /* non-zero unused bits */
		p[o++] = (uint8_t)(w >> 16);
		if (pad < 2)
			p[o++] = (uint8_t)(w >> 8);
		if (pad < 1)
			p[o++] = (uint8_t)w;
	}
	return o;
}

/* ------------------------------------------------------------------------ */
/* Writing JSON                                                             */
/* ------------------------------------------------------------------------ */

static int put(cairn_buf *out, const void *s, size_t n)
{
	return n == 0 ? 0 : cairn_buf_append(out, s, n);
}

#define PUTS(out, lit) put((out), (lit), sizeof(lit) - 1)

/* A JSON string of UTF-8 bytes. CAIRN_EINVAL if they are not UTF-8. */
static int put_string(cairn_buf *out, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int rc = PUTS(out, "\"");
	size_t run = 0; /* start of the bytes not yet copied */
	size_t i = 0;
	while (rc == 0 && i < n) {
		uint8_t c = p[i];
		if (c >= 0x80u) {
			size_t l = cairn__utf8_seq(p + i, n - i);
			if (l == 0)
				return CAIRN_EINVAL;
			i += l;
			continue;
		}
		if (c >= 0x20u && c != '"' && c != '\\') {
			i++;
			continue;
		}
		rc = put(out, (const char *)p + run, i - run);
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t el = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15u];
			el = 6;
		}
		if (rc == 0)
			rc = put(out, esc, el);
		run = ++i;
	}
	if (rc == 0)
		rc = put(out, (const char *)p + run, n - run);
	if (rc == 0)
		rc = PUTS(out, "\"");
	return rc;
}

static int put_int(cairn_buf *out, int64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);
	uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[--n] = (char)('0' + m % 10);
		m /= 10;
	} while (m != 0);
	if (v < 0)
		tmp[--n] = '-';
	return put(out, tmp + n, sizeof(tmp) - n);
}

static int put_value(cairn_buf *out, const cairn_value *v)
{
	switch (v->type) {
	case CAIRN_NIL: return PUTS(out, "null");
	case CAIRN_BOOL:
		return v->as.b ? PUTS(out, "true") : PUTS(out, "false");
	case CAIRN_INT: return put_int(out, v->as.i);
	case CAIRN_FLOAT: {
		uint64_t u = double_bits(v->as.f);
		if (((u >> MANT_BITS) & 0x7ffu) == 0x7ffu) {
			if (u & MANT_MASK)
				return PUTS(out, "{\"float\": \"NaN\"}");
			return u >> 63 ? PUTS(out, "{\"float\": \"-Infinity\"}")
			               : PUTS(out, "{\"float\": \"Infinity\"}");
		}
		char tmp[40];
		size_t n = format_double(u, tmp);
		return n == 0 ? CAIRN_EINVAL : put(out, tmp, n);
	}
	case CAIRN_STR:
		if (v->as.bytes.ptr == NULL && v->as.bytes.len > 0)
			return CAIRN_EINVAL;
		return put_string(out, v->as.bytes.ptr, v->as.bytes.len);
	case CAIRN_BIN: {
		if (v->as.bytes.ptr == NULL && v->as.bytes.len > 0)
			return CAIRN_EINVAL;
		int rc = PUTS(out, "{\"bin\": \"");
		if (rc == 0)
			rc = put_base64(out, v->as.bytes.ptr, v->as.bytes.len);
		if (rc == 0)
			rc = PUTS(out, "\"}");
		return rc;
	}
	}
	return CAIRN_EINVAL;
}

int cairn_value_to_json(const cairn_value *v, cairn_buf *out)
{
	if (v == NULL || out == NULL)
		return CAIRN_EINVAL;
	size_t start = out->len;
	int rc = put_value(out, v);
	if (rc != 0)
		out->len = start;
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading JSON                                                             */
/* ------------------------------------------------------------------------ */

/*
 * The bytes of b from offset off. An empty buffer may have no memory at
 * all, and NULL + 0 is undefined behaviour, so it gets a pointer to
 * nothing instead (what an empty str or bin value points to).
 */
static const uint8_t *bytes_at(const cairn_buf *b, size_t off)
{
	static const uint8_t none[1];
	return b->data != NULL ? b->data + off : none;
}

/* A cursor over the input; err is the offset of the error, once failed. */
typedef struct jp {
	const uint8_t *s;
	size_t len;
	size_t pos;
	size_t err;
} jp;

static int fail_at(jp *p, size_t at, int rc)
{
	p->err = at;
	return rc;
}

static void skip_ws(jp *p)
{
	while (p->pos < p->len) {
		uint8_t c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static bool at(const jp *p, uint8_t c)
{
	return p->pos < p->len && p->s[p->pos] == c;
}

static int expect(jp *p, uint8_t c)
{
	if (!at(p, c))
		return fail_at(p, p->pos, CAIRN_EDECODE);
	p->pos++;
	return 0;
}

static bool is_digit(const jp *p)
{
	return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

static int hex4(jp *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		if (p->pos >= p->len)
			return fail_at(p, p->pos, CAIRN_EDECODE);
		uint8_t c = p->s[p->pos];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return fail_at(p, p->pos, CAIRN_EDECODE);
		v = v << 4 | d;
		p->pos++;
	}
	*out = v;
	return 0;
}

/*
 * Decode the JSON string at the cursor (which is at its '"') and append its
 * bytes to dst. More than max decoded bytes fails with too_long at the
 * string's offset; on any error dst->len is as before.
 */
static int parse_string(jp *p, cairn_buf *dst, size_t max, int too_long)
{
	size_t start = p->pos, base = dst->len;
	int rc = expect(p, '"');
	size_t run = p->pos;
	while (rc == 0) {
		if (p->pos >= p->len) {
			rc = fail_at(p, p->pos, CAIRN_EDECODE);
			break;
		}
		uint8_t c = p->s[p->pos];
		if (c >= 0x80u) {
			size_t l =
			        cairn__utf8_seq(p->s + p->pos, p->len - p->pos);
			if (l == 0)
				rc = fail_at(p, p->pos, CAIRN_EDECODE);
			p->pos += l;
			continue;
		}
		if (c >= 0x20u && c != '"' && c != '\\') {
			p->pos++;
			continue;
		}
		if (c < 0x20u) { /* raw control characters are not JSON */
			rc = fail_at(p, p->pos, CAIRN_EDECODE);
			break;
		}
		/* Check before copying: a long string costs no memory. */
		if (dst->len - base + (p->pos - run) > max) {
			rc = fail_at(p, start, too_long);
			break;
		}
		rc = cairn_buf_append(dst, p->s + run, p->pos - run);
		if (rc != 0)
			break;
		if (c == '"') {
			p->pos++;
			break;
		}
		size_t esc = p->pos++;
		if (p->pos >= p->len) {
			rc = fail_at(p, p->pos, CAIRN_EDECODE);
			break;
		}
		uint8_t e = p->s[p->pos++];
		uint8_t u8[4];
		size_t n = 1;
		switch (e) {
		case '"': u8[0] = '"'; break;
		case '\\': u8[0] = '\\'; break;
		case '/': u8[0] = '/'; break;
		case 'b': u8[0] = '\b'; break;
		case 'f': u8[0] = '\f'; break;
		case 'n': u8[0] = '\n'; break;
		case 'r': u8[0] = '\r'; break;
		case 't': u8[0] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			rc = hex4(p, &cp);
			if (rc != 0)
				break;
			if (cp >= 0xdc00u && cp <= 0xdfffu) {
				rc = fail_at(p, esc, CAIRN_EDECODE); /* lone */
				break;
			}
			if (cp >= 0xd800u && cp <= 0xdbffu) {
				/* A high surrogate needs a low one next. */
				if (p->len - p->pos < 2 ||
				    p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u') {
					rc = fail_at(p, esc, CAIRN_EDECODE);
					break;
				}
				p->pos += 2;
				rc = hex4(p, &lo);
				if (rc != 0)
					break;
				if (lo < 0xdc00u || lo > 0xdfffu) {
					rc = fail_at(p, esc, CAIRN_EDECODE);
					break;
				}
				cp = 0x10000u + ((cp - 0xd800u) << 10) +
				     (lo - 0xdc00u);
			}
			n = utf8_put(u8, cp);
			break;
		}
		default: rc = fail_at(p, esc, CAIRN_EDECODE);
		}
		if (rc == 0)
			rc = cairn_buf_append(dst, u8, n);
		run = p->pos;
	}
	if (rc == 0 && dst->len - base > max)
		rc = fail_at(p, start, too_long);
	if (rc != 0)
		dst->len = base;
	return rc;
}

/*
 * The number at the cursor (RFC 8259 grammar). Without fraction or exponent
 * and unless as_float, an int that must fit int64; otherwise a float.
 */
static int parse_number(jp *p, bool as_float, cairn_value *out)
{
	size_t start = p->pos;
	bool neg = at(p, '-');
	if (neg)
		p->pos++;
	if (!is_digit(p))
		return fail_at(p, p->pos, CAIRN_EDECODE);
	size_t int_start = p->pos;
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (is_digit(p))
			p->pos++;
	size_t int_end = p->pos, frac_start = p->pos, frac_end = p->pos;
	bool is_float = as_float;
	if (at(p, '.')) {
		p->pos++;
		if (!is_digit(p))
			return fail_at(p, p->pos, CAIRN_EDECODE);
		frac_start = p->pos;
		while (is_digit(p))
			p->pos++;
		frac_end = p->pos;
		is_float = true;
	}
	int64_t expv = 0;
	if (at(p, 'e') || at(p, 'E')) {
		p->pos++;
		bool eneg = at(p, '-');
		if (eneg || at(p, '+'))
			p->pos++;
		if (!is_digit(p))
			return fail_at(p, p->pos, CAIRN_EDECODE);
		while (is_digit(p)) {
			if (expv < 100000000) /* saturate: far beyond range */
				expv = expv * 10 + (p->s[p->pos] - '0');
			p->pos++;
		}
		if (eneg)
			expv = -expv;
		is_float = true;
	}

	if (!is_float) {
		uint64_t lim =
		        neg ? UINT64_C(1) << 63 : (UINT64_C(1) << 63) - 1;
		uint64_t m = 0;
		for (size_t i = int_start; i < int_end; i++) {
			uint64_t d = (uint64_t)(p->s[i] - '0');
			if (m > (lim - d) / 10)
				return fail_at(p, start, CAIRN_EDECODE);
			m = m * 10 + d;
		}
		out->type = CAIRN_INT;
		out->as.i = neg ? (int64_t)(0 - m) : (int64_t)m;
		/* 0 - m wraps to INT64_MIN exactly when m is 2^63. */
		if (neg && m == UINT64_C(1) << 63)
			out->as.i = INT64_MIN;
		return 0;
	}

	bn D;
	bn_set(&D, 0);
	int64_t nd = 0, E = 0;
	bool seen = false, sticky = false;
	for (size_t i = int_start; i < frac_end; i++) {
		if (i >= int_end && i < frac_start)
			continue; /* the '.' */
		bool frac = i >= frac_start;
		uint32_t d = (uint32_t)(p->s[i] - '0');
		if (!seen && d == 0) {
			if (frac)
				E--;
			continue;
		}
		seen = true;
		if (nd < MAX_SIG_DIGITS) {
			bn_mul_add(&D, 10, d);
			nd++;
			if (frac)
				E--;
		} else {
			if (!frac)
				E++;
			if (d != 0)
				sticky = true;
		}
	}
	if (sticky) {
		bn_mul_add(&D, 10, 1);
		nd++;
		E--;
	}
	E += expv;
	out->type = CAIRN_FLOAT;
	if (D.ovf || decimal_to_double(&D, nd, E, neg, &out->as.f) != 0)
		return fail_at(p, start, CAIRN_EDECODE);
	return 0;
}

static int parse_literal(jp *p, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p->pos >= p->len || p->s[p->pos] != (uint8_t)lit[i])
			return fail_at(p, p->pos, CAIRN_EDECODE);
		p->pos++;
	}
	return 0;
}

/* The keys the format knows. */
typedef enum key_word {
	KEY_OTHER,
	KEY_BIN,
	KEY_FLOAT,
	KEY_SET,
	KEY_VALUES,
	KEY_FORMAT,
	KEY_VERSION,
	KEY_DOCUMENTS,
} key_word;

/*
 * Read an object key at the cursor (at its '"') and say which word it is;
 * scratch is left as it was. A key longer than any word fails here, at its
 * offset, as the unknown key it is. The caller checks the word, then ':'.
 */
static int parse_key_word(jp *p, cairn_buf *scratch, key_word *out)
{
	static const struct {
		const char *s;
		key_word w;
	} words[] = {
	        {"bin", KEY_BIN},
	        {"float", KEY_FLOAT},
	        {"set", KEY_SET},
	        {"values", KEY_VALUES},
	        {"format", KEY_FORMAT},
	        {"version", KEY_VERSION},
	        {"documents", KEY_DOCUMENTS},
	};
	size_t base = scratch->len;
	*out = KEY_OTHER;
	int rc = parse_string(p, scratch, 16, CAIRN_EDECODE);
	if (rc != 0)
		return rc;
	size_t n = scratch->len - base;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].s) == n &&
		    memcmp(words[i].s, bytes_at(scratch, base), n) == 0)
			*out = words[i].w;
	scratch->len = base;
	return 0;
}

/*
 * '{', a key, ':'. The key must be one of the `allowed` words (a bit mask
 * of 1 << key_word), else the error is at the key.
 */
static int open_wrapper(jp *p, cairn_buf *scratch, unsigned allowed,
                        key_word *w)
{
	int rc = expect(p, '{');
	skip_ws(p);
	size_t kpos = p->pos;
	if (rc == 0 && !at(p, '"'))
		rc = fail_at(p, p->pos, CAIRN_EDECODE);
	if (rc == 0)
		rc = parse_key_word(p, scratch, w);
	if (rc == 0 && !(allowed & (1u << *w)))
		rc = fail_at(p, kpos, CAIRN_EDECODE);
	skip_ws(p);
	return rc != 0 ? rc : expect(p, ':');
}

#define WORD(w) (1u << (w))

/* {"float": ...} and {"bin": ...}: the value after the ':'. */
static int parse_wrapped(jp *p, key_word w, cairn_buf *scratch,
                         cairn_value *out)
{
	skip_ws(p);
	size_t vstart = p->pos;
	if (w == KEY_FLOAT) {
		if (!at(p, '"'))
			return parse_number(p, true, out);
		size_t base = scratch->len;
		int rc = parse_string(p, scratch, 16, CAIRN_EDECODE);
		if (rc != 0)
			return rc;
		const uint8_t *s = bytes_at(scratch, base);
		size_t n = scratch->len - base;
		scratch->len = base;
		uint64_t u;
		if (n == 3 && memcmp(s, "NaN", 3) == 0)
			u = UINT64_C(0x7ff8000000000000);
		else if (n == 8 && memcmp(s, "Infinity", 8) == 0)
			u = UINT64_C(0x7ff0000000000000);
		else if (n == 9 && memcmp(s, "-Infinity", 9) == 0)
			u = UINT64_C(0xfff0000000000000);
		else
			return fail_at(p, vstart, CAIRN_EDECODE);
		out->type = CAIRN_FLOAT;
		memcpy(&out->as.f, &u, sizeof(u));
		return 0;
	}
	/* KEY_BIN: base64 text of at most the limit's encoded length. */
	if (!at(p, '"'))
		return fail_at(p, vstart, CAIRN_EDECODE);
	size_t base = scratch->len;
	size_t max_text = (CAIRN_JSON_MAX_VALUE_BYTES + 2) / 3 * 4;
	int rc = parse_string(p, scratch, max_text, CAIRN_ELIMIT);
	if (rc != 0)
		return rc;
	size_t n = scratch->len == base
	                   ? 0
	                   : b64_decode_inplace(scratch->data + base,
	                                        scratch->len - base);
	if (n == SIZE_MAX) {
		scratch->len = base;
		return fail_at(p, vstart, CAIRN_EDECODE);
	}
	if (n > CAIRN_JSON_MAX_VALUE_BYTES) {
		scratch->len = base;
		return fail_at(p, vstart, CAIRN_ELIMIT);
	}
	scratch->len = base + n;
	out->type = CAIRN_BIN;
	out->as.bytes.ptr = bytes_at(scratch, base);
	out->as.bytes.len = n;
	return 0;
}

/*
 * One value at the cursor: a scalar or a {"bin"}/{"float"} wrapper. Any
 * other object key is an error at the key (so the import can say "a set is
 * not a value here").
 */
static int parse_value(jp *p, cairn_buf *scratch, cairn_value *out)
{
	if (p->pos >= p->len)
		return fail_at(p, p->pos, CAIRN_EDECODE);
	uint8_t c = p->s[p->pos];
	switch (c) {
	case 'n': out->type = CAIRN_NIL; return parse_literal(p, "null", 4);
	case 't':
		out->type = CAIRN_BOOL;
		out->as.b = true;
		return parse_literal(p, "true", 4);
	case 'f':
		out->type = CAIRN_BOOL;
		out->as.b = false;
		return parse_literal(p, "false", 5);
	case '"': {
		size_t base = scratch->len;
		int rc = parse_string(p, scratch, CAIRN_JSON_MAX_VALUE_BYTES,
		                      CAIRN_ELIMIT);
		if (rc != 0)
			return rc;
		out->type = CAIRN_STR;
		out->as.bytes.ptr = bytes_at(scratch, base);
		out->as.bytes.len = scratch->len - base;
		return 0;
	}
	case '{': {
		key_word w;
		int rc = open_wrapper(p, scratch,
		                      WORD(KEY_BIN) | WORD(KEY_FLOAT), &w);
		if (rc == 0)
			rc = parse_wrapped(p, w, scratch, out);
		if (rc != 0)
			return rc;
		skip_ws(p);
		return expect(p, '}');
	}
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p, false, out);
		return fail_at(p, p->pos, CAIRN_EDECODE);
	}
}

int cairn_value_from_json(const char *json, size_t len, cairn_buf *scratch,
                          cairn_value *out)
{
	if ((json == NULL && len > 0) || scratch == NULL || out == NULL)
		return CAIRN_EINVAL;
	jp p = {(const uint8_t *)json, len, 0, 0};
	size_t base = scratch->len;
	skip_ws(&p);
	int rc = parse_value(&p, scratch, out);
	if (rc == 0) {
		skip_ws(&p);
		if (p.pos != p.len)
			rc = CAIRN_EDECODE;
	}
	if (rc != 0)
		scratch->len = base;
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Import                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Keys seen in one object (document ids, or one document's field names),
 * for the duplicate check: decoded bytes in `bytes`, entries in `ents`.
 */
typedef struct key_ent {
	size_t off, len;  /* in bytes.data */
	size_t src;       /* offset of the key in the input */
	const uint8_t *p; /* set just before sorting */
} key_ent;

typedef struct key_list {
	cairn_buf bytes;
	cairn_buf ents; /* key_ent[] */
} key_list;

static int key_ent_cmp(const void *a, const void *b)
{
	const key_ent *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n == 0 ? 0 : memcmp(x->p, y->p, n);
	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->src < y->src ? -1 : (x->src > y->src ? 1 : 0);
}

static int key_list_add(key_list *k, const char *s, size_t n, size_t src)
{
	key_ent e = {k->bytes.len, n, src, NULL};
	int rc = cairn_buf_append(&k->bytes, s, n);
	if (rc == 0)
		rc = cairn_buf_append(&k->ents, &e, sizeof(e));
	return rc;
}

/*
 * The input offset of the first repeated key (the second occurrence that
 * comes first in the input), or SIZE_MAX. Sorts the entries.
 */
static size_t key_list_first_dup(key_list *k)
{
	size_t n = k->ents.len / sizeof(key_ent), best = SIZE_MAX;
	if (n < 2)
		return SIZE_MAX;
	key_ent *e = (key_ent *)(void *)k->ents.data;
	for (size_t i = 0; i < n; i++)
		e[i].p = k->bytes.data + e[i].off;
	qsort(e, n, sizeof(*e), key_ent_cmp);
	for (size_t i = 1; i < n; i++)
		if (e[i].len == e[i - 1].len &&
		    (e[i].len == 0 ||
		     memcmp(e[i].p, e[i - 1].p, e[i].len) == 0) &&
		    e[i].src < best)
			best = e[i].src;
	return best;
}

static void key_list_reset(key_list *k)
{
	cairn_buf_reset(&k->bytes);
	cairn_buf_reset(&k->ents);
}

typedef struct importer {
	jp p;
	cairn_buf scratch;
	bool checking; /* the first pass: check only, record keys */
	cairn_json_import_fn fn;
	void *ud;
	key_list docs, fields;
	char doc[CAIRN_MAX_ID_BYTES + 1];
	char field[CAIRN_MAX_ID_BYTES + 1];
} importer;

/*
 * A document id or field name at the cursor, then ':', into name (NUL-
 * terminated): 1..255 bytes, no NUL. Recorded for the duplicate check in
 * the checking pass.
 */
static int parse_name(importer *im, key_list *seen, char *name)
{
	jp *p = &im->p;
	size_t kpos = p->pos;
	if (!at(p, '"'))
		return fail_at(p, p->pos, CAIRN_EDECODE);
	cairn_buf_reset(&im->scratch);
	int rc = parse_string(p, &im->scratch, CAIRN_MAX_ID_BYTES,
	                      CAIRN_EDECODE);
	if (rc != 0)
		return rc;
	size_t n = im->scratch.len;
	if (n == 0 || memchr(im->scratch.data, 0, n) != NULL)
		return fail_at(p, kpos, CAIRN_EDECODE);
	memcpy(name, im->scratch.data, n);
	name[n] = '\0';
	if (im->checking) {
		rc = key_list_add(seen, name, n, kpos);
		if (rc != 0)
			return rc;
	}
	skip_ws(p);
	return expect(p, ':');
}

static int emit(importer *im, cairn_kind kind, const cairn_value *v)
{
	if (im->checking || im->fn == NULL)
		return 0;
	return im->fn(im->ud, im->doc, im->field, kind, v);
}

/* A field's value: a value, {"set": [...]} or {"values": [...]}. */
static int parse_field(importer *im)
{
	jp *p = &im->p;
	cairn_value v;
	int rc;
	cairn_buf_reset(&im->scratch);
	if (!at(p, '{')) {
		rc = parse_value(p, &im->scratch, &v);
		return rc != 0 ? rc : emit(im, CAIRN_KIND_REGISTER, &v);
	}
	key_word w;
	rc = open_wrapper(p, &im->scratch,
	                  WORD(KEY_BIN) | WORD(KEY_FLOAT) | WORD(KEY_SET) |
	                          WORD(KEY_VALUES),
	                  &w);
	if (rc != 0)
		return rc;
	if (w == KEY_BIN || w == KEY_FLOAT) {
		rc = parse_wrapped(p, w, &im->scratch, &v);
		if (rc == 0)
			rc = emit(im, CAIRN_KIND_REGISTER, &v);
	} else {
		cairn_kind kind =
		        w == KEY_SET ? CAIRN_KIND_SET : CAIRN_KIND_REGISTER;
		skip_ws(p);
		rc = expect(p, '[');
		skip_ws(p);
		if (rc == 0 && at(p, ']')) {
			if (w == KEY_VALUES) /* a register has a value */
				return fail_at(p, p->pos, CAIRN_EDECODE);
			p->pos++;
		} else {
			while (rc == 0) {
				cairn_buf_reset(&im->scratch);
				rc = parse_value(p, &im->scratch, &v);
				if (rc == 0)
					rc = emit(im, kind, &v);
				skip_ws(p);
				if (rc != 0 || at(p, ']'))
					break;
				rc = expect(p, ',');
				skip_ws(p);
			}
			if (rc == 0)
				rc = expect(p, ']');
		}
	}
	if (rc != 0)
		return rc;
	skip_ws(p);
	return expect(p, '}');
}

/*
 * The body of an object whose keys are names: '{' (name ':' item)* '}',
 * comma-separated; `item` parses what follows each ':'.
 */
static int parse_named(importer *im, key_list *seen, char *name,
                       int (*item)(importer *))
{
	jp *p = &im->p;
	int rc = expect(p, '{');
	skip_ws(p);
	if (rc != 0 || at(p, '}'))
		return rc != 0 ? rc : expect(p, '}');
	for (;;) {
		rc = parse_name(im, seen, name);
		skip_ws(p);
		if (rc == 0)
			rc = item(im);
		if (rc != 0)
			return rc;
		skip_ws(p);
		if (at(p, '}'))
			break;
		rc = expect(p, ',');
		skip_ws(p);
		if (rc != 0)
			return rc;
	}
	p->pos++;
	if (im->checking) {
		size_t dup = key_list_first_dup(seen);
		if (dup != SIZE_MAX)
			return fail_at(p, dup, CAIRN_EDECODE);
	}
	return 0;
}

static int parse_doc(importer *im)
{
	key_list_reset(&im->fields);
	return parse_named(im, &im->fields, im->field, parse_field);
}

static int parse_export(importer *im)
{
	jp *p = &im->p;
	bool have[3] = {false, false, false};
	skip_ws(p);
	int rc = expect(p, '{');
	skip_ws(p);
	bool empty = rc == 0 && at(p, '}');
	while (rc == 0 && !empty) {
		size_t kpos = p->pos;
		key_word w = KEY_OTHER;
		if (!at(p, '"'))
			return fail_at(p, p->pos, CAIRN_EDECODE);
		rc = parse_key_word(p, &im->scratch, &w);
		if (rc != 0)
			return rc;
		int slot = w == KEY_FORMAT      ? 0
		           : w == KEY_VERSION   ? 1
		           : w == KEY_DOCUMENTS ? 2
		                                : -1;
		if (slot < 0 || have[slot]) /* unknown or repeated */
			return fail_at(p, kpos, CAIRN_EDECODE);
		skip_ws(p);
		rc = expect(p, ':');
		if (rc != 0)
			return rc;
		have[slot] = true;
		skip_ws(p);
		size_t vpos = p->pos;
		cairn_value v;
		cairn_buf_reset(&im->scratch);
		if (w == KEY_DOCUMENTS) {
			rc = parse_named(im, &im->docs, im->doc, parse_doc);
		} else if (w == KEY_FORMAT) {
			if (!at(p, '"'))
				return fail_at(p, vpos, CAIRN_EDECODE);
			rc = parse_value(p, &im->scratch, &v);
			if (rc == 0 &&
			    (v.as.bytes.len != strlen(EXPORT_FORMAT) ||
			     memcmp(v.as.bytes.ptr, EXPORT_FORMAT,
			            v.as.bytes.len) != 0))
				return fail_at(p, vpos, CAIRN_EDECODE);
		} else {
			if (!is_digit(p) && !at(p, '-'))
				return fail_at(p, vpos, CAIRN_EDECODE);
			rc = parse_number(p, false, &v);
			if (rc == 0 && v.type != CAIRN_INT)
				return fail_at(p, vpos, CAIRN_EDECODE);
			if (rc == 0 && v.as.i != CAIRN_JSON_VERSION)
				return fail_at(p, vpos, CAIRN_EVERSION);
		}
		skip_ws(p);
		if (rc != 0 || at(p, '}'))
			break;
		rc = expect(p, ',');
		skip_ws(p);
	}
	if (rc != 0)
		return rc;
	if (!have[0] || !have[1] || !have[2])
		return fail_at(p, p->pos, CAIRN_EDECODE);
	p->pos++;
	skip_ws(p);
	if (p->pos != p->len)
		return fail_at(p, p->pos, CAIRN_EDECODE);
	return 0;
}

static bool is_input_error(int rc)
{
	return rc == CAIRN_EDECODE || rc == CAIRN_EVERSION ||
	       rc == CAIRN_ELIMIT;
}

int cairn_json_import(const char *json, size_t len, cairn_json_import_fn fn,
                      void *ud, size_t *err_offset)
{
	if (json == NULL && len > 0)
		return CAIRN_EINVAL;
	importer im;
	memset(&im, 0, sizeof(im));
	im.p.s = (const uint8_t *)json;
	im.p.len = len;
	im.fn = fn;
	im.ud = ud;
	cairn_buf_init(&im.scratch, NULL);
	cairn_buf_init(&im.docs.bytes, NULL);
	cairn_buf_init(&im.docs.ents, NULL);
	cairn_buf_init(&im.fields.bytes, NULL);
	cairn_buf_init(&im.fields.ents, NULL);

	/* Pass 1 checks everything, so that fn never sees a bad input. */
	im.checking = true;
	int rc = parse_export(&im);
	if (is_input_error(rc)) {
		/* A repeated key is found when its object closes; if the
		 * parse stopped first, one may still come before the error. */
		size_t d1 = key_list_first_dup(&im.docs);
		size_t d2 = key_list_first_dup(&im.fields);
		size_t d = d1 < d2 ? d1 : d2;
		if (d < im.p.err) {
			im.p.err = d;
			rc = CAIRN_EDECODE;
		}
		if (err_offset != NULL)
			*err_offset = im.p.err;
	}
	cairn_buf_free(&im.docs.bytes);
	cairn_buf_free(&im.docs.ents);
	cairn_buf_free(&im.fields.bytes);
	cairn_buf_free(&im.fields.ents);

	/* Pass 2 hands the values over. */
	if (rc == 0 && fn != NULL) {
		im.checking = false;
		im.p.pos = 0;
		rc = parse_export(&im);
	}
	cairn_buf_free(&im.scratch);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Export                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct exporter {
	const cairn_allocator *alloc;
	const char **ids;
	size_t ids_cap;
	const char **names;
	size_t names_cap;
	cairn_value *vals;
	size_t vals_cap;
} exporter;

/* The values of a register, or the members of a set, into x->vals. */
static int read_values(exporter *x, const cairn_doc *d, const char *field,
                       cairn_kind kind, size_t *n)
{
	for (;;) {
		int rc = kind == CAIRN_KIND_SET
		                 ? cairn_doc_members(d, field, x->vals,
		                                     x->vals_cap, n)
		                 : cairn_doc_get_all(d, field, x->vals, NULL,
		                                     x->vals_cap, n);
		if (rc != CAIRN_ESPACE)
			return rc;
		rc = mem_reserve(x->alloc, (void **)&x->vals, &x->vals_cap, *n,
		                 sizeof(*x->vals));
		if (rc != 0)
			return rc;
	}
}

static int put_field(exporter *x, cairn_buf *out, const cairn_doc *d,
                     const char *field)
{
	cairn_field_info info;
	size_t n = 0;
	int rc = cairn_doc_field_info(d, field, &info);
	if (rc == 0)
		rc = read_values(x, d, field, info.kind, &n);
	if (rc != 0)
		return rc;
	if (info.kind == CAIRN_KIND_REGISTER && n == 1)
		return put_value(out, &x->vals[0]);
	rc = info.kind == CAIRN_KIND_SET ? PUTS(out, "{\"set\": [")
	                                 : PUTS(out, "{\"values\": [");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i > 0)
			rc = PUTS(out, ", ");
		if (rc == 0)
			rc = put_value(out, &x->vals[i]);
	}
	return rc != 0 ? rc : PUTS(out, "]}");
}

static int put_doc(exporter *x, cairn_buf *out, const cairn_doc *d, bool *first)
{
	size_t n = 0;
	int rc;
	while ((rc = cairn_doc_fields(d, x->names, x->names_cap, &n)) ==
	       CAIRN_ESPACE) {
		rc = mem_reserve(x->alloc, (void **)&x->names, &x->names_cap, n,
		                 sizeof(*x->names));
		if (rc != 0)
			return rc;
	}
	if (rc != 0 || n == 0)
		return rc;
	const char *id = cairn_doc_id(d);
	rc = *first ? PUTS(out, "\n    ") : PUTS(out, ",\n    ");
	*first = false;
	if (rc == 0)
		rc = put_string(out, (const uint8_t *)id, strlen(id));
	if (rc == 0)
		rc = PUTS(out, ": {");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = i > 0 ? PUTS(out, ",\n      ") : PUTS(out, "\n      ");
		if (rc == 0)
			rc = put_string(out, (const uint8_t *)x->names[i],
			                strlen(x->names[i]));
		if (rc == 0)
			rc = PUTS(out, ": ");
		if (rc == 0)
			rc = put_field(x, out, d, x->names[i]);
	}
	return rc != 0 ? rc : PUTS(out, "\n    }");
}

static int export_body(exporter *x, const cairn_replica *r, cairn_buf *out)
{
	int rc = PUTS(out, "{\n  \"format\": \"" EXPORT_FORMAT "\",\n"
	                   "  \"version\": 1,\n  \"documents\": {");
	size_t n = 0;
	while (rc == 0 && (rc = cairn_replica_docs(r, NULL, x->ids, x->ids_cap,
	                                           &n)) == CAIRN_ESPACE)
		rc = mem_reserve(x->alloc, (void **)&x->ids, &x->ids_cap, n,
		                 sizeof(*x->ids));
	bool first = true;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cairn_doc *d = NULL;
		rc = cairn_replica_find(r, x->ids[i], &d);
		if (rc == 0)
			rc = put_doc(x, out, d, &first);
	}
	if (rc == 0)
		rc = first ? PUTS(out, "}\n}\n") : PUTS(out, "\n  }\n}\n");
	return rc;
}

int cairn_replica_export_json(const cairn_replica *r, cairn_buf *out)
{
	if (r == NULL || out == NULL)
		return CAIRN_EINVAL;
	exporter x;
	memset(&x, 0, sizeof(x));
	x.alloc = &out->alloc;
	size_t start = out->len;
	int rc = export_body(&x, r, out);
	mem_free(x.alloc, x.ids, x.ids_cap * sizeof(*x.ids));
	mem_free(x.alloc, x.names, x.names_cap * sizeof(*x.names));
	mem_free(x.alloc, x.vals, x.vals_cap * sizeof(*x.vals));
	if (rc != 0)
		out->len = start;
	return rc;
}
