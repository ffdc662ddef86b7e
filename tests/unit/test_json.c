/*
 * test_json.c -- the JSON codec (include/cairn/json.h, crdt/json.c):
 * values both ways, floats against the C library, strings and base64 at
 * their edges, malformed input at every offset, error offsets, the export
 * of a replica (golden text, determinism) and export -> import -> export
 * through a second replica.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn.h"

#include "rng.h"
#include "sim_util.h"

#define OK(x) assert_int_equal((x), 0)
#define T0 UINT64_C(1700000000000)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static cairn_replica *mk(uint64_t id)
{
	cairn_replica_config c;
	cairn_replica_config_init(&c);
	c.id = id;
	cairn_replica *r = NULL;
	OK(cairn_replica_new(&c, &r));
	return r;
}

static cairn_doc *doc(cairn_replica *r, const char *id)
{
	cairn_doc *d = NULL;
	OK(cairn_replica_doc(r, id, &d));
	return d;
}

/* value -> JSON text (NUL-terminated, caller frees). */
static char *to_json(const cairn_value *v)
{
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	OK(cairn_value_to_json(v, &b));
	char *s = malloc(b.len + 1);
	assert_non_null(s);
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	cairn_buf_free(&b);
	return s;
}

/* Parse from an exact-size heap copy, so ASan sees any over-read. */
static int from_json(const char *json, size_t len, cairn_buf *scratch,
                     cairn_value *out)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, json, len);
	int rc = cairn_value_from_json(copy, len, scratch, out);
	/* Bytes of a str/bin value live in scratch, not in the input. */
	free(copy);
	return rc;
}

static int from_str(const char *json, cairn_buf *scratch, cairn_value *out)
{
	return from_json(json, strlen(json), scratch, out);
}

static void assert_json(const cairn_value *v, const char *want)
{
	char *s = to_json(v);
	assert_string_equal(s, want);
	free(s);
}

/* value -> JSON -> value gives an equal value, and JSON is a fixed point. */
static void assert_round_trip(const cairn_value *v)
{
	cairn_buf a, b, scratch;
	cairn_buf_init(&a, NULL);
	cairn_buf_init(&b, NULL);
	cairn_buf_init(&scratch, NULL);
	OK(cairn_value_to_json(v, &a));
	cairn_value back;
	OK(from_json((const char *)a.data, a.len, &scratch, &back));
	assert_int_equal(back.type, v->type);
	assert_int_equal(cairn_value_compare(&back, v), 0);
	if (v->type == CAIRN_FLOAT) {
		uint64_t x, y;
		memcpy(&x, &v->as.f, 8);
		memcpy(&y, &back.as.f, 8);
		if (!isnan(v->as.f))
			assert_true(x == y);
	}
	OK(cairn_value_to_json(&back, &b));
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	cairn_buf_free(&a);
	cairn_buf_free(&b);
	cairn_buf_free(&scratch);
}

static void assert_rejects(const char *json, int want)
{
	cairn_buf scratch;
	cairn_buf_init(&scratch, NULL);
	OK(cairn_buf_append(&scratch, "keep", 4));
	cairn_value v;
	int rc = from_str(json, &scratch, &v);
	if (rc != want)
		fail_msg("%s: got %s, want %s", json, cairn_err_name(rc),
		         cairn_err_name(want));
	assert_int_equal(scratch.len, 4); /* scratch as before */
	cairn_buf_free(&scratch);
}

static double parse_double(const char *json)
{
	cairn_buf scratch;
	cairn_buf_init(&scratch, NULL);
	cairn_value v;
	int rc = from_str(json, &scratch, &v);
	if (rc != 0)
		fail_msg("%s: %s", json, cairn_err_name(rc));
	assert_int_equal(v.type, CAIRN_FLOAT);
	cairn_buf_free(&scratch);
	return v.as.f;
}

static uint64_t bits_of(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

static double of_bits(uint64_t u)
{
	double d;
	memcpy(&d, &u, 8);
	return d;
}

/* ------------------------------------------------------------------------ */
/* Scalars                                                                  */
/* ------------------------------------------------------------------------ */

static void test_scalars(void **state)
{
	(void)state;
	cairn_value v = cairn_value_nil();
	assert_json(&v, "null");
	assert_round_trip(&v);
	v = cairn_value_bool(true);
	assert_json(&v, "true");
	assert_round_trip(&v);
	v = cairn_value_bool(false);
	assert_json(&v, "false");
	assert_round_trip(&v);

	static const int64_t ints[] = {
	        0, 1, -1, 42, -1000000, INT64_MAX, INT64_MIN, INT64_MIN + 1};
	static const char *const int_text[] = {"0",
	                                       "1",
	                                       "-1",
	                                       "42",
	                                       "-1000000",
	                                       "9223372036854775807",
	                                       "-9223372036854775808",
	                                       "-9223372036854775807"};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		v = cairn_value_int(ints[i]);
		assert_json(&v, int_text[i]);
		assert_round_trip(&v);
	}

	v = cairn_value_str("");
	assert_json(&v, "\"\"");
	assert_round_trip(&v);
	v = cairn_value_str("Printer jammed");
	assert_json(&v, "\"Printer jammed\"");
	assert_round_trip(&v);
	v = cairn_value_bin("hello", 5);
	assert_json(&v, "{\"bin\": \"aGVsbG8=\"}");
	assert_round_trip(&v);
	v = cairn_value_bin("", 0);
	assert_json(&v, "{\"bin\": \"\"}");
	assert_round_trip(&v);
	v = cairn_value_bin("\x00\xff\x10", 3);
	assert_round_trip(&v);

	/* The type of a JSON number is in its text. */
	cairn_buf scratch;
	cairn_buf_init(&scratch, NULL);
	OK(from_str("1", &scratch, &v));
	assert_int_equal(v.type, CAIRN_INT);
	OK(from_str("-0", &scratch, &v));
	assert_int_equal(v.type, CAIRN_INT);
	assert_int_equal(v.as.i, 0);
	OK(from_str("1.0", &scratch, &v));
	assert_int_equal(v.type, CAIRN_FLOAT);
	OK(from_str("1e2", &scratch, &v));
	assert_int_equal(v.type, CAIRN_FLOAT);
	assert_true(v.as.f == 100.0);
	OK(from_str(" \t\r\n 7 \n", &scratch, &v));
	assert_int_equal(v.as.i, 7);
	OK(from_str("{\"float\": 3}", &scratch, &v));
	assert_int_equal(v.type, CAIRN_FLOAT);
	assert_true(v.as.f == 3.0);
	OK(from_str("{ \"float\" : \"-Infinity\" }", &scratch, &v));
	assert_true(isinf(v.as.f) && v.as.f < 0);
	cairn_buf_free(&scratch);
}

static void test_int_range(void **state)
{
	(void)state;
	cairn_buf scratch;
	cairn_buf_init(&scratch, NULL);
	cairn_value v;
	OK(from_str("9223372036854775807", &scratch, &v));
	assert_true(v.as.i == INT64_MAX);
	OK(from_str("-9223372036854775808", &scratch, &v));
	assert_true(v.as.i == INT64_MIN);
	assert_rejects("9223372036854775808", CAIRN_EDECODE);
	assert_rejects("-9223372036854775809", CAIRN_EDECODE);
	assert_rejects("18446744073709551616", CAIRN_EDECODE);
	assert_rejects("99999999999999999999999999", CAIRN_EDECODE);
	/* As floats, big integers are fine. */
	OK(from_str("9223372036854775808.0", &scratch, &v));
	assert_true(v.as.f == 9223372036854775808.0);
	cairn_buf_free(&scratch);
}

/* ------------------------------------------------------------------------ */
/* Floats                                                                   */
/* ------------------------------------------------------------------------ */

static void test_float_text(void **state)
{
	(void)state;
	static const struct {
		double d;
		const char *json;
	} cases[] = {
	        {0.0, "0.0"},
	        {-0.0, "-0.0"},
	        {1.0, "1.0"},
	        {-1.5, "-1.5"},
	        {0.1, "0.1"},
	        {1.0 / 3, "0.3333333333333333"},
	        {2.0 / 3, "0.6666666666666666"},
	        {100.0, "100.0"},
	        {123.456, "123.456"},
	        {0.0001, "0.0001"},
	        {0.00001, "1e-5"},
	        {1e15, "1000000000000000.0"},
	        {1e16, "1e+16"},
	        {9007199254740992.0, "9007199254740992.0"},
	        {1e21, "1e+21"},
	        {1e-310, "1e-310"},
	        {5e-324, "5e-324"},
	        {2.2250738585072014e-308, "2.2250738585072014e-308"},
	        {DBL_MAX, "1.7976931348623157e+308"},
	        {-DBL_MAX, "-1.7976931348623157e+308"},
	        {1e23, "1e+23"},
	        {5e-5, "5e-5"},
	        {0.3, "0.3"},
	        {1.7976931348623157e308 / 2, "8.988465674311579e+307"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cairn_value v = cairn_value_float(cases[i].d);
		assert_json(&v, cases[i].json);
		assert_round_trip(&v);
		assert_true(bits_of(parse_double(cases[i].json)) ==
		            bits_of(cases[i].d));
	}

	cairn_value v = cairn_value_float(NAN);
	assert_json(&v, "{\"float\": \"NaN\"}");
	assert_round_trip(&v);
	assert_true(isnan(parse_double("{\"float\":\"NaN\"}")));
	v = cairn_value_float(INFINITY);
	assert_json(&v, "{\"float\": \"Infinity\"}");
	assert_round_trip(&v);
	v = cairn_value_float(-INFINITY);
	assert_json(&v, "{\"float\": \"-Infinity\"}");
	assert_round_trip(&v);

	/* Out of range, and what is not a float. */
	assert_rejects("1e309", CAIRN_EDECODE);
	assert_rejects("-1.8e308", CAIRN_EDECODE);
	assert_rejects("{\"float\": 1e999999999999999999}", CAIRN_EDECODE);
	assert_rejects("{\"float\": \"nan\"}", CAIRN_EDECODE);
	assert_rejects("{\"float\": \"inf\"}", CAIRN_EDECODE);
	assert_rejects("{\"float\": null}", CAIRN_EDECODE);
	assert_rejects("NaN", CAIRN_EDECODE);
	assert_rejects("Infinity", CAIRN_EDECODE);
	/* Underflow keeps the sign; a zero with any exponent is zero. */
	assert_true(bits_of(parse_double("1e-400")) == 0);
	assert_true(bits_of(parse_double("-1e-400")) == bits_of(-0.0));
	assert_true(bits_of(parse_double("0e99999999999")) == 0);
	assert_true(parse_double("1.7976931348623157e308") == DBL_MAX);
	/* Just below the overflow threshold rounds down to DBL_MAX. */
	assert_true(parse_double("1.7976931348623158e308") == DBL_MAX);
	assert_rejects("1.7976931348623159e308", CAIRN_EDECODE);
}

/* Decimal strings whose rounding is delicate, checked against strtod. */
static void test_float_parse_hard(void **state)
{
	(void)state;
	static const char *const cases[] = {
	        "9007199254740993.0", /* a tie: to even, ...992 */
	        "9007199254740993.00000000000000000000000000000000001",
	        "9007199254740995.0", /* a tie: to even, ...996 */
	        "2.4703282292062327208828439643411068618252990130716238221279"
	        "28e-324", /* half the least subnormal: a tie, to 0 */
	        "2.4703282292062327208828439643411068618252990130716238221279"
	        "29e-324",
	        "4.9406564584124654e-324",
	        "2.2250738585072011e-308",
	        "2.2250738585072012e-308",
	        "1.00000000000000011102230246251565404236316680908203125",
	        "1.00000000000000011102230246251565404236316680908203124",
	        "1.00000000000000011102230246251565404236316680908203126",
	        "0.1000000000000000055511151231257827021181583404541015625",
	        "123456789012345678901234567890e-30",
	        "1e-323",
	        "7.2057594037927933e16",
	        "3.0517578125e-05",
	        "179769313486231580793728971405303415079934132710037826936173"
	        "778980444968292764750946649017977587207096330286416692887910"
	        "946555547851940402630657488671505820681908902000708383676273"
	        "854845817711531764475730270069855571366959622842914819860834"
	        "936475292719074168444365510704342711559699508093042880177904"
	        "174497791.9999999999",
	        "0.0000000000000000000000000000000000000000000000000000000000"
	        "00000000000000000000000000000000000000000000000000000000001",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double want = strtod(cases[i], NULL);
		if (isinf(want)) {
			assert_rejects(cases[i], CAIRN_EDECODE);
			continue;
		}
		double got = parse_double(cases[i]);
		if (bits_of(got) != bits_of(want))
			fail_msg("%s: got %a want %a", cases[i], got, want);
	}

	/* 900 significant digits: beyond the kept 800, only "above" counts. */
	char big[1000];
	memset(big, '0', sizeof(big));
	memcpy(big, "9007199254740993.", 17);
	big[sizeof(big) - 2] = '1';
	big[sizeof(big) - 1] = '\0';
	assert_true(parse_double(big) == 9007199254740994.0);
	big[sizeof(big) - 2] = '0';
	assert_true(parse_double(big) == 9007199254740992.0);
}

/*
 * Random doubles: the text reads back (with strtod) as the same double and
 * has no more digits than the shortest "%.Ng" that does; random decimal
 * texts parse to what strtod gives.
 */
static void test_float_random(void **state)
{
	(void)state;
	rng g;
	rng_seed(&g, 20240601);
	char text[64];
	for (int i = 0; i < 20000; i++) {
		uint64_t u = rng_u64(&g);
		if (i % 4 == 1) /* small exponents too */
			u &= ~(UINT64_C(0x7f0) << 52);
		double d = of_bits(u);
		if (isnan(d) || isinf(d))
			continue;
		cairn_value v = cairn_value_float(d);
		char *s = to_json(&v);
		double back = strtod(s, NULL);
		if (bits_of(back) != u)
			fail_msg("%a printed as %s", d, s);
		assert_true(strchr(s, '.') != NULL || strchr(s, 'e') != NULL);
		/* Shortest: count significant digits against %.Ng. */
		int shortest = 17;
		for (int p = 1; p <= 17; p++) {
			snprintf(text, sizeof(text), "%.*e", p - 1, d);
			if (bits_of(strtod(text, NULL)) == u) {
				shortest = p;
				break;
			}
		}
		int digits = 0;
		bool lead = true;
		const char *e = strchr(s, 'e');
		size_t end = e ? (size_t)(e - s) : strlen(s);
		int trailing = 0;
		for (size_t k = 0; k < end; k++) {
			if (s[k] < '0' || s[k] > '9')
				continue;
			if (lead && s[k] == '0')
				continue;
			lead = false;
			digits++;
			trailing = s[k] == '0' ? trailing + 1 : 0;
		}
		/* "100.0" has one significant digit, not four. */
		digits -= trailing;
		if (digits > shortest)
			fail_msg("%s: %d digits, %d would do", s, digits,
			         shortest);
		assert_round_trip(&v);
		free(s);

		/* The other way: random decimal text. */
		snprintf(text, sizeof(text), "%.*e", (int)rng_below(&g, 25), d);
		double want = strtod(text, NULL);
		if (!isinf(want)) {
			double got = parse_double(text);
			if (bits_of(got) != bits_of(want))
				fail_msg("%s: got %a want %a", text, got, want);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                  */
/* ------------------------------------------------------------------------ */

static void test_strings(void **state)
{
	(void)state;
	cairn_value v = cairn_value_strn("a\"b\\c\n\t\r\b\f\x01\x1f\x7f/", 14);
	assert_json(&v, "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f/\"");
	assert_round_trip(&v);
	v = cairn_value_strn("nul\0byte", 8);
	assert_json(&v, "\"nul\\u0000byte\"");
	assert_round_trip(&v);
	v = cairn_value_str("caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac");
	assert_json(&v, "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac\"");
	assert_round_trip(&v);

	/* Escapes decode; \u surrogate pairs make one code point. */
	cairn_buf scratch;
	cairn_buf_init(&scratch, NULL);
	OK(from_str("\"\\u00e9\\u20AC\\ud83d\\ude00\\/\\\"\"", &scratch, &v));
	assert_int_equal(v.type, CAIRN_STR);
	assert_int_equal(v.as.bytes.len, 2 + 3 + 4 + 2);
	assert_memory_equal(v.as.bytes.ptr,
	                    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/\"", 11);
	OK(from_str("\"\\u0000\"", &scratch, &v));
	assert_int_equal(v.as.bytes.len, 1);
	assert_int_equal(v.as.bytes.ptr[0], 0);
	OK(from_str("\"\\uDBFF\\uDFFF\"", &scratch, &v)); /* U+10FFFF */
	assert_memory_equal(v.as.bytes.ptr, "\xf4\x8f\xbf\xbf", 4);
	cairn_buf_free(&scratch);

	/* Lone and misordered surrogates, bad escapes, raw controls. */
	assert_rejects("\"\\ud83d\"", CAIRN_EDECODE);
	assert_rejects("\"\\ude00\"", CAIRN_EDECODE);
	assert_rejects("\"\\ude00\\ud83d\"", CAIRN_EDECODE);
	assert_rejects("\"\\ud83d\\u0041\"", CAIRN_EDECODE);
	assert_rejects("\"\\ud83dx\"", CAIRN_EDECODE);
	assert_rejects("\"\\u12\"", CAIRN_EDECODE);
	assert_rejects("\"\\u12g4\"", CAIRN_EDECODE);
	assert_rejects("\"\\x41\"", CAIRN_EDECODE);
	assert_rejects("\"\\'\"", CAIRN_EDECODE);
	assert_rejects("\"tab\there\"", CAIRN_EDECODE);
	assert_rejects("\"new\nline\"", CAIRN_EDECODE);
	assert_rejects("\"open", CAIRN_EDECODE);
	assert_rejects("\"ends in backslash\\", CAIRN_EDECODE);
	assert_rejects("'single'", CAIRN_EDECODE);
	/* Invalid UTF-8 in the input. */
	assert_rejects("\"\xc3\"", CAIRN_EDECODE);
	assert_rejects("\"\xc0\xaf\"", CAIRN_EDECODE);         /* overlong */
	assert_rejects("\"\xe0\x80\xaf\"", CAIRN_EDECODE);     /* overlong */
	assert_rejects("\"\xed\xa0\x80\"", CAIRN_EDECODE);     /* surrogate */
	assert_rejects("\"\xf4\x90\x80\x80\"", CAIRN_EDECODE); /* > 10FFFF */
	assert_rejects("\"\xff\"", CAIRN_EDECODE);
	assert_rejects("\"\x80\"", CAIRN_EDECODE);
	assert_rejects("\xef\xbb\xbf\"bom\"", CAIRN_EDECODE);

	/* Invalid UTF-8 in a value is refused on output, out untouched. */
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	OK(cairn_buf_append(&out, "x", 1));
	v = cairn_value_strn("ok\xc3(", 4);
	assert_int_equal(cairn_value_to_json(&v, &out), CAIRN_EINVAL);
	assert_int_equal(out.len, 1);
	v = cairn_value_strn("\xed\xa0\x80", 3);
	assert_int_equal(cairn_value_to_json(&v, &out), CAIRN_EINVAL);
	v.type = (cairn_type)42;
	assert_int_equal(cairn_value_to_json(&v, &out), CAIRN_EINVAL);
	assert_int_equal(cairn_value_to_json(NULL, &out), CAIRN_EINVAL);
	assert_int_equal(out.len, 1);
	cairn_buf_free(&out);
}

/* ------------------------------------------------------------------------ */
/* Base64                                                                   */
/* ------------------------------------------------------------------------ */

static void test_base64(void **state)
{
	(void)state;
	static const char *const enc[] = {
	        "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char json[64];
	cairn_buf scratch;
	cairn_buf_init(&scratch, NULL);
	for (size_t n = 0; n <= 6; n++) {
		cairn_value v = cairn_value_bin("foobar", n);
		snprintf(json, sizeof(json), "{\"bin\": \"%s\"}", enc[n]);
		assert_json(&v, json);
		assert_round_trip(&v);
		cairn_value back;
		OK(from_str(json, &scratch, &back));
		assert_int_equal(back.type, CAIRN_BIN);
		assert_int_equal(back.as.bytes.len, n);
		assert_true(n == 0 ||
		            memcmp(back.as.bytes.ptr, "foobar", n) == 0);
	}
	/* Every byte value, in the three padding positions. */
	uint8_t all[258];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	all[256] = 0xff;
	all[257] = 0x00;
	for (size_t n = 256; n <= 258; n++) {
		cairn_value v = cairn_value_bin(all, n);
		assert_round_trip(&v);
	}
	/* Escaped base64 characters are still base64. */
	cairn_value v;
	OK(from_str("{\"bin\": \"Zm9\\u0076\"}", &scratch, &v));
	assert_memory_equal(v.as.bytes.ptr, "foo", 3);
	cairn_buf_free(&scratch);

	static const char *const bad[] = {
	        "Z",        "Zg",      "Zg=",     "Zg===",       "Z===",
	        "====",     "Zh==",    "Zm9=",    "=Zg=",        "Zg==Zg==",
	        "Zm9v!A==", "Zm 9v",   "Zm9v\\n", "Zm9v=",       "Zm-_",
	        "Zg=a",     "Zm9vYg=", "Zm9vYmE", "YQ==\\u0000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "{\"bin\": \"%s\"}", bad[i]);
		assert_rejects(json, CAIRN_EDECODE);
	}
	assert_rejects("{\"bin\": 5}", CAIRN_EDECODE);
	assert_rejects("{\"bin\": [\"Zg==\"]}", CAIRN_EDECODE);
}

/* ------------------------------------------------------------------------ */
/* Malformed values                                                         */
/* ------------------------------------------------------------------------ */

static void test_value_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	        "",
	        " ",
	        "nul",
	        "nulll",
	        "True",
	        "[]",
	        "[1]",
	        "{}",
	        "{\"set\": [1]}",
	        "{\"values\": [1]}",
	        "{\"bin\": \"\", \"x\": 1}",
	        "{\"bin\": \"\",}",
	        "{\"bin\" \"\"}",
	        "{bin: \"\"}",
	        "{\"x\": 1}",
	        "{\"bin\": \"\"",
	        "01",
	        "-01",
	        "1.",
	        ".5",
	        "+1",
	        "1e",
	        "1e+",
	        "-",
	        "1.e5",
	        "0x10",
	        "1 2",
	        "\"a\" \"b\"",
	        "\"a\"x",
	        "1,",
	        "--1",
	        "1ee5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rejects(bad[i], CAIRN_EDECODE);

	/* A value over the limit. */
	size_t n = CAIRN_JSON_MAX_VALUE_BYTES + 1;
	char *big = malloc(n + 3);
	assert_non_null(big);
	big[0] = '"';
	memset(big + 1, 'a', n);
	big[n + 1] = '"';
	big[n + 2] = '\0';
	assert_rejects(big, CAIRN_ELIMIT);
	big[n] = '"'; /* exactly the limit */
	big[n + 1] = '\0';
	cairn_buf scratch;
	cairn_buf_init(&scratch, NULL);
	cairn_value v;
	OK(from_str(big, &scratch, &v));
	assert_int_equal(v.as.bytes.len, CAIRN_JSON_MAX_VALUE_BYTES);
	free(big);

	/* scratch keeps what it held; out points after it. */
	cairn_buf_reset(&scratch);
	OK(cairn_buf_append(&scratch, "abc", 3));
	OK(from_str("\"xyz\"", &scratch, &v));
	assert_int_equal(scratch.len, 6);
	assert_ptr_equal(v.as.bytes.ptr, scratch.data + 3);
	OK(from_str("12", &scratch, &v));
	assert_int_equal(scratch.len, 6);
	assert_int_equal(cairn_value_from_json(NULL, 0, &scratch, &v),
	                 CAIRN_EDECODE);
	assert_int_equal(cairn_value_from_json(NULL, 1, &scratch, &v),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_value_from_json("1", 1, NULL, &v), CAIRN_EINVAL);
	cairn_buf_free(&scratch);
}

/* ------------------------------------------------------------------------ */
/* Import                                                                   */
/* ------------------------------------------------------------------------ */

/* Records every call as one line of text. */
typedef struct recorder {
	char log[4096];
	size_t len;
	int calls;
	int stop_after; /* return 42 on that call (0: never) */
} recorder;

static int record(void *ud, const char *doc_id, const char *field,
                  cairn_kind kind, const cairn_value *v)
{
	recorder *r = ud;
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	OK(cairn_value_to_json(v, &b));
	int n = snprintf(r->log + r->len, sizeof(r->log) - r->len,
	                 "%s|%s|%s|%.*s\n", doc_id, field,
	                 kind == CAIRN_KIND_SET ? "set" : "reg", (int)b.len,
	                 (const char *)b.data);
	assert_true(n > 0 && (size_t)n < sizeof(r->log) - r->len);
	r->len += (size_t)n;
	cairn_buf_free(&b);
	r->calls++;
	return r->calls == r->stop_after ? 42 : 0;
}

static int import_str(const char *json, recorder *rec, size_t *off)
{
	size_t len = strlen(json);
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, json, len);
	int rc = cairn_json_import(copy, len, rec ? record : NULL, rec, off);
	free(copy);
	return rc;
}

#define HEAD "{\"format\": \"cairn-export\", \"version\": 1, \"documents\": "

static void test_import_calls(void **state)
{
	(void)state;
	recorder rec = {0};
	const char *json =
	        HEAD "{\"tickets/1\": {"
	             "\"subject\": \"Printer jammed\", \"count\": 3,"
	             "\"ratio\": 1.0, \"nan\": {\"float\": \"NaN\"},"
	             "\"photo\": {\"bin\": \"aGVsbG8=\"},"
	             "\"tags\": {\"set\": [\"a\", \"b\", {\"bin\": \"\"}]},"
	             "\"who\": {\"values\": [\"x\", \"y\"]},"
	             "\"none\": {\"set\": []}, \"n\": null},"
	             "\"e\": {}, \"t\\u00e9\": {\"f\\u0022\": true}}}\n";
	size_t off = 12345;
	OK(import_str(json, &rec, &off));
	assert_int_equal(off, 12345); /* untouched on success */
	assert_string_equal(rec.log,
	                    "tickets/1|subject|reg|\"Printer jammed\"\n"
	                    "tickets/1|count|reg|3\n"
	                    "tickets/1|ratio|reg|1.0\n"
	                    "tickets/1|nan|reg|{\"float\": \"NaN\"}\n"
	                    "tickets/1|photo|reg|{\"bin\": \"aGVsbG8=\"}\n"
	                    "tickets/1|tags|set|\"a\"\n"
	                    "tickets/1|tags|set|\"b\"\n"
	                    "tickets/1|tags|set|{\"bin\": \"\"}\n"
	                    "tickets/1|who|reg|\"x\"\n"
	                    "tickets/1|who|reg|\"y\"\n"
	                    "tickets/1|n|reg|null\n"
	                    "t\xc3\xa9|f\"|reg|true\n");

	/* Key order at the top is free; an empty documents object is fine. */
	memset(&rec, 0, sizeof(rec));
	OK(import_str("{\"documents\":{},\"version\":1,\"format\":"
	              "\"cairn-export\"}",
	              &rec, NULL));
	assert_int_equal(rec.calls, 0);

	/* fn's result stops the import and is returned. */
	memset(&rec, 0, sizeof(rec));
	rec.stop_after = 2;
	assert_int_equal(import_str(json, &rec, NULL), 42);
	assert_int_equal(rec.calls, 2);

	/* fn NULL: check only. */
	OK(import_str(json, NULL, NULL));

	/* An error after valid values: fn is never called. */
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(
	        import_str(HEAD "{\"d\": {\"a\": 1, \"b\": 2}}} x", &rec, &off),
	        CAIRN_EDECODE);
	assert_int_equal(rec.calls, 0);

	/* Names of exactly 255 bytes pass; 256 do not. */
	char name[300];
	char buf[700];
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(buf, sizeof(buf), HEAD "{\"%s\": {\"%s\": 1}}}", name, name);
	memset(&rec, 0, sizeof(rec));
	OK(import_str(buf, &rec, NULL));
	assert_int_equal(rec.calls, 1);
	name[255] = 'n';
	name[256] = '\0';
	snprintf(buf, sizeof(buf), HEAD "{\"d\": {\"%s\": 1}}}", name);
	assert_int_equal(import_str(buf, NULL, &off), CAIRN_EDECODE);
	assert_int_equal(off, strlen(HEAD "{\"d\": {"));
}

/* Where the last occurrence of mark starts in s ("" is at the end). */
static size_t last_index(const char *s, const char *mark)
{
	size_t n = strlen(s), m = strlen(mark);
	for (size_t i = n - m + 1; i-- > 0;)
		if (memcmp(s + i, mark, m) == 0)
			return i;
	fail_msg("%s not in %s", mark, s);
	return 0;
}

/* Errors and their offsets: the offset is where `mark` last occurs. */
static void test_import_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		const char *mark; /* the text at the error (last occurrence) */
		int rc;
	} cases[] = {
	        {"", "", CAIRN_EDECODE},
	        {"   ", "", CAIRN_EDECODE},
	        {"[]", "[]", CAIRN_EDECODE},
	        {"\xef\xbb\xbf{}", "\xef\xbb\xbf{}", CAIRN_EDECODE},
	        {"{}", "}", CAIRN_EDECODE},
	        {"{\"format\": \"cairn-export\", \"version\": 1}", "}",
	         CAIRN_EDECODE},
	        {HEAD "{}, \"extra\": 1}", "\"extra\": 1}", CAIRN_EDECODE},
	        {HEAD "{}, \"version\": 1}", "\"version\": 1}", CAIRN_EDECODE},
	        {HEAD "{},}", "}", CAIRN_EDECODE},
	        {HEAD "{}} {}", "{}", CAIRN_EDECODE},
	        {HEAD "{}}}", "}", CAIRN_EDECODE},
	        {HEAD "[]}", "[]}", CAIRN_EDECODE},
	        {"{\"format\": \"cairn\", \"version\": 1, \"documents\": {}}",
	         "\"cairn\"", CAIRN_EDECODE},
	        {"{\"format\": 1, \"version\": 1, \"documents\": {}}", "1, \"v",
	         CAIRN_EDECODE},
	        {"{\"format\": \"cairn-export\", \"version\": 2, "
	         "\"documents\": {}}",
	         "2, ", CAIRN_EVERSION},
	        {"{\"format\": \"cairn-export\", \"version\": 1.0, "
	         "\"documents\": {}}",
	         "1.0", CAIRN_EDECODE},
	        {"{\"format\": \"cairn-export\", \"version\": \"1\", "
	         "\"documents\": {}}",
	         "\"1\"", CAIRN_EDECODE},
	        {HEAD "{\"\": {}}}", "\"\": {}}}", CAIRN_EDECODE},
	        {HEAD "{\"a\\u0000b\": {}}}", "\"a\\u0000b", CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"\\u0000\": 1}}}", "\"\\u0000\": 1",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": 1}}", "1}}", CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": [1]}}}", "[1]", CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": {}}}}", "}}}}", CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": {\"list\": [1]}}}}", "\"list\"",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": {\"values\": []}}}}", "]}}}}",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": {\"set\": [[1]]}}}}", "[1]]",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": {\"set\": [{\"set\": []}]}}}}",
	         "\"set\": []}]", CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": {\"set\": [1,]}}}}", "]}}}}",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": {\"set\": [1], \"x\": 2}}}}", ", \"x\"",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": 1, \"f\": 2}}}", "\"f\": 2",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": 1, \"\\u0066\": 2}}}", "\"\\u0066",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"g\": 1}, \"e\": {}, \"d\": {}}}",
	         "\"d\": {}}}", CAIRN_EDECODE},
	        /* A repeated key comes before a later syntax error. */
	        {HEAD "{\"d\": {\"f\": 1, \"f\": 2, \"g\": nope}}}", "\"f\": 2",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {}, \"d\": {\"g\": nope}}}", "\"d\": {\"g\": n",
	         CAIRN_EDECODE},
	        /* ... and after an earlier one. */
	        {HEAD "{\"d\": {\"f\": nope, \"f\": 2}}}", "ope",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": 12345678901234567890}}}",
	         "12345678901234567890", CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": \"\\ud800\"}}}", "\\ud800",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": \"a\xff\"}}}", "\xff", CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": {\"bin\": \"Zg=\"}}}}", "\"Zg=\"",
	         CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\": 1}}", "", CAIRN_EDECODE},
	        {HEAD "{\"d\": {\"f\" 1}}}", "1}}}", CAIRN_EDECODE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *json = cases[i].json;
		size_t want_off = last_index(json, cases[i].mark);
		size_t off = SIZE_MAX;
		recorder rec = {0};
		int rc = import_str(json, &rec, &off);
		if (rc != cases[i].rc || off != want_off)
			fail_msg("case %zu %s: %s at %zu, want %s at %zu", i,
			         json, cairn_err_name(rc), off,
			         cairn_err_name(cases[i].rc), want_off);
		assert_int_equal(rec.calls, 0);
	}
	assert_int_equal(cairn_json_import(NULL, 1, NULL, NULL, NULL),
	                 CAIRN_EINVAL);
	size_t off = 7;
	assert_int_equal(cairn_json_import(NULL, 0, NULL, NULL, &off),
	                 CAIRN_EDECODE);
	assert_int_equal(off, 0);

	/* A value over the limit: ELIMIT at the value. */
	size_t n = CAIRN_JSON_MAX_VALUE_BYTES + 1;
	size_t head = strlen(HEAD "{\"d\": {\"f\": ");
	char *big = malloc(head + n + 8);
	assert_non_null(big);
	memcpy(big, HEAD "{\"d\": {\"f\": ", head);
	big[head] = '"';
	memset(big + head + 1, 'a', n);
	memcpy(big + head + 1 + n, "\"}}}", 5);
	assert_int_equal(import_str(big, NULL, &off), CAIRN_ELIMIT);
	assert_int_equal(off, head);
	free(big);
}

/* ------------------------------------------------------------------------ */
/* Export                                                                   */
/* ------------------------------------------------------------------------ */

static char *export_text(const cairn_replica *r)
{
	cairn_buf b;
	cairn_buf_init(&b, NULL);
	OK(cairn_replica_export_json(r, &b));
	char *s = malloc(b.len + 1);
	assert_non_null(s);
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	cairn_buf_free(&b);
	return s;
}

static void set(cairn_replica *r, const char *d, const char *f, cairn_value v,
                uint64_t now)
{
	OK(cairn_doc_set(doc(r, d), f, &v, now, NULL));
}

static void add(cairn_replica *r, const char *d, const char *f, cairn_value v)
{
	OK(cairn_doc_add(doc(r, d), f, &v, NULL));
}

static void sync_into(cairn_replica *to, const cairn_replica *from)
{
	cairn_delta *s = NULL;
	OK(cairn_delta_new(NULL, &s));
	OK(cairn_replica_state(from, s));
	OK(cairn_replica_join(to, s, T0 + 1000));
	cairn_delta_free(s);
}

/* The example state of docs/JSON.md, with concurrency. */
static void build_example(cairn_replica *a, cairn_replica *b)
{
	set(a, "tickets/1", "subject", cairn_value_str("Printer jammed"), T0);
	set(a, "tickets/1", "count", cairn_value_int(3), T0);
	set(a, "tickets/1", "ratio", cairn_value_float(1.0), T0);
	set(a, "tickets/1", "nan", cairn_value_float(NAN), T0);
	set(a, "tickets/1", "photo", cairn_value_bin("hello", 5), T0);
	add(a, "tickets/1", "tags", cairn_value_str("b"));
	add(a, "tickets/1", "tags", cairn_value_str("a"));
	add(a, "tickets/1", "tags", cairn_value_int(7));
	add(a, "tickets/1", "tags", cairn_value_bin("\x01", 1));
	set(a, "notes/\xc3\xa9t\xc3\xa9", "text\"q\"",
	    cairn_value_str("line 1\nline 2\t\xf0\x9f\x98\x80"), T0);
	/* b writes "who" and "mixed" concurrently with a. */
	set(a, "tickets/1", "who", cairn_value_str("x"), T0 + 5);
	set(b, "tickets/1", "who", cairn_value_str("y"), T0 + 3);
	set(a, "tickets/1", "mixed", cairn_value_int(1), T0);
	add(b, "tickets/1", "mixed", cairn_value_str("member"));
	/* A document emptied by a delete is left out. */
	set(a, "gone/1", "f", cairn_value_nil(), T0);
	OK(cairn_doc_del(doc(a, "gone/1"), "f", NULL));
	sync_into(a, b);
	sync_into(b, a);
}

static const char example_text[] =
        "{\n"
        "  \"format\": \"cairn-export\",\n"
        "  \"version\": 1,\n"
        "  \"documents\": {\n"
        "    \"notes/\xc3\xa9t\xc3\xa9\": {\n"
        "      \"text\\\"q\\\"\": \"line 1\\nline 2\\t\xf0\x9f\x98\x80\"\n"
        "    },\n"
        "    \"tickets/1\": {\n"
        "      \"count\": 3,\n"
        "      \"mixed\": 1,\n"
        "      \"nan\": {\"float\": \"NaN\"},\n"
        "      \"photo\": {\"bin\": \"aGVsbG8=\"},\n"
        "      \"ratio\": 1.0,\n"
        "      \"subject\": \"Printer jammed\",\n"
        "      \"tags\": {\"set\": [7, \"a\", \"b\", {\"bin\": \"AQ==\"}]},\n"
        "      \"who\": {\"values\": [\"x\", \"y\"]}\n"
        "    }\n"
        "  }\n"
        "}\n";

static void test_export_example(void **state)
{
	(void)state;
	cairn_replica *a = mk(1), *b = mk(2);
	build_example(a, b);

	/* The kind conflict reads as a register. */
	cairn_field_info info;
	OK(cairn_doc_field_info(doc(a, "tickets/1"), "mixed", &info));
	assert_true(info.kind_conflict);

	char *ta = export_text(a), *tb = export_text(b);
	assert_string_equal(ta, example_text);
	assert_string_equal(tb, ta); /* same state, same bytes */

	/* The export is itself valid input, and appends to what out held. */
	OK(import_str(ta, NULL, NULL));
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	OK(cairn_buf_append(&out, "xy", 2));
	OK(cairn_replica_export_json(a, &out));
	assert_int_equal(out.len, 2 + strlen(ta));
	assert_memory_equal(out.data + 2, ta, strlen(ta));
	cairn_buf_free(&out);

	/* An empty replica. */
	cairn_replica *e = mk(3);
	char *te = export_text(e);
	assert_string_equal(te, "{\n  \"format\": \"cairn-export\",\n"
	                        "  \"version\": 1,\n  \"documents\": {}\n}\n");
	OK(import_str(te, NULL, NULL));
	free(te);
	free(ta);
	free(tb);
	cairn_replica_free(a);
	cairn_replica_free(b);
	cairn_replica_free(e);
}

/* The same state reached in another order exports the same bytes. */
static void test_export_deterministic(void **state)
{
	(void)state;
	cairn_replica *a = mk(10), *b = mk(11);
	static const char *const ids[] = {"z", "a/2", "a/10", "m"};
	for (int i = 0; i < 4; i++) {
		set(a, ids[i], "f2", cairn_value_int(i), T0 + (uint64_t)i);
		set(a, ids[i], "f1", cairn_value_float(i / 3.0),
		    T0 + (uint64_t)i);
		add(a, ids[i], "s", cairn_value_int(i));
		add(a, ids[i], "s", cairn_value_str("x"));
	}
	sync_into(b, a); /* b learns it all at once */
	/* c writes the same content itself, in the reverse order. */
	cairn_replica *c = mk(12);
	for (int i = 3; i >= 0; i--) {
		add(c, ids[i], "s", cairn_value_str("x"));
		add(c, ids[i], "s", cairn_value_int(i));
		set(c, ids[i], "f1", cairn_value_float(i / 3.0), T0);
		set(c, ids[i], "f2", cairn_value_int(i), T0);
	}
	char *ta = export_text(a), *tb = export_text(b), *tc = export_text(c);
	assert_string_equal(ta, tb);
	assert_string_equal(ta, tc);
	free(tc);
	cairn_replica_free(c);
	/* Documents and fields sorted bytewise. */
	assert_true(strstr(ta, "\"a/10\"") < strstr(ta, "\"a/2\""));
	assert_true(strstr(ta, "\"a/2\"") < strstr(ta, "\"m\""));
	free(ta);
	free(tb);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

/* Applies an import to a replica as the store will: first value only. */
typedef struct applier {
	cairn_replica *r;
	char doc[256], field[256];
	bool have;
} applier;

static int apply(void *ud, const char *doc_id, const char *field,
                 cairn_kind kind, const cairn_value *v)
{
	applier *a = ud;
	cairn_doc *d = NULL;
	int rc = cairn_replica_doc(a->r, doc_id, &d);
	if (rc != 0)
		return rc;
	if (kind == CAIRN_KIND_SET)
		return cairn_doc_add(d, field, v, NULL);
	if (a->have && strcmp(a->doc, doc_id) == 0 &&
	    strcmp(a->field, field) == 0)
		return 0; /* a later value of {"values": [...]} */
	snprintf(a->doc, sizeof(a->doc), "%s", doc_id);
	snprintf(a->field, sizeof(a->field), "%s", field);
	a->have = true;
	return cairn_doc_set(d, field, v, T0, NULL);
}

static void import_into(cairn_replica *r, const char *json)
{
	applier ap = {.r = r};
	size_t off = 0;
	int rc = cairn_json_import(json, strlen(json), apply, &ap, &off);
	if (rc != 0)
		fail_msg("import: %s at %zu", cairn_err_name(rc), off);
}

static void test_round_trip(void **state)
{
	(void)state;
	/* Without concurrency: export -> import -> export is the identity. */
	cairn_replica *a = mk(20);
	set(a, "d/1", "s", cairn_value_str("caf\xc3\xa9\x01"), T0);
	set(a, "d/1", "i", cairn_value_int(INT64_MIN), T0);
	set(a, "d/1", "f", cairn_value_float(-0.0), T0);
	set(a, "d/1", "g", cairn_value_float(5e-324), T0);
	set(a, "d/1", "h", cairn_value_float(-INFINITY), T0);
	set(a, "d/1", "b", cairn_value_bin("\0\1\2\3", 4), T0);
	set(a, "d/1", "n", cairn_value_nil(), T0);
	set(a, "d/1", "t", cairn_value_bool(true), T0);
	add(a, "d/2", "set", cairn_value_float(1.0));
	add(a, "d/2", "set", cairn_value_int(1));
	add(a, "d/2", "set", cairn_value_nil());
	add(a, "d/2", "set", cairn_value_bin("", 0));
	add(a, "d/2", "set", cairn_value_float(NAN));
	char *t1 = export_text(a);
	cairn_replica *b = mk(21);
	import_into(b, t1);
	char *t2 = export_text(b);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);

	/* With concurrency, the import keeps each register's winner. */
	cairn_replica *c = mk(22), *d = mk(23), *e = mk(24);
	build_example(c, d);
	t1 = export_text(c);
	import_into(e, t1);
	t2 = export_text(e);
	char *want = strdup(example_text);
	char *who = strstr(want, "{\"values\": [\"x\", \"y\"]}");
	assert_non_null(who);
	memmove(who, "\"x\"", 3);
	memmove(who + 3, who + strlen("{\"values\": [\"x\", \"y\"]}"),
	        strlen(who + strlen("{\"values\": [\"x\", \"y\"]}")) + 1);
	assert_string_equal(t2, want);
	/* And the second generation is a fixed point. */
	cairn_replica *f = mk(25);
	import_into(f, t2);
	char *t3 = export_text(f);
	assert_string_equal(t3, t2);
	free(want);
	free(t1);
	free(t2);
	free(t3);
	cairn_replica_free(a);
	cairn_replica_free(b);
	cairn_replica_free(c);
	cairn_replica_free(d);
	cairn_replica_free(e);
	cairn_replica_free(f);
}

/* Every prefix and many one-byte changes of an export: clean results. */
static void test_truncate_and_mutate(void **state)
{
	(void)state;
	cairn_replica *a = mk(30), *b = mk(31);
	build_example(a, b);
	char *text = export_text(a);
	size_t len = strlen(text);
	for (size_t k = 0; k <= len; k++) {
		char *copy = malloc(k ? k : 1);
		assert_non_null(copy);
		memcpy(copy, text, k);
		size_t off = SIZE_MAX;
		recorder rec = {0};
		int rc = cairn_json_import(copy, k, record, &rec, &off);
		if (k >= len - 1) {
			OK(rc); /* the closing '}' with or without '\n' */
		} else {
			assert_int_equal(rc, CAIRN_EDECODE);
			assert_true(off <= k);
			assert_int_equal(rec.calls, 0);
		}
		free(copy);
	}
	static const char subst[] = {
	        '"', '\\', '{', '}', '[',  ']', ',',        ':',
	        '0', 'e',  '-', ' ', '\0', 'x', (char)0x80, (char)0xff};
	char *copy = malloc(len);
	assert_non_null(copy);
	for (size_t k = 0; k < len; k++) {
		for (size_t j = 0; j < sizeof(subst); j++) {
			memcpy(copy, text, len);
			copy[k] = subst[j];
			size_t off = SIZE_MAX;
			int rc = cairn_json_import(copy, len, NULL, NULL, &off);
			assert_true(rc == 0 || rc == CAIRN_EDECODE ||
			            rc == CAIRN_EVERSION);
			if (rc != 0)
				assert_true(off <= len);
		}
	}
	free(copy);
	free(text);
	cairn_replica_free(a);
	cairn_replica_free(b);
}

/* Allocation failures at every point: a clean error, out unchanged. */
static void test_export_enomem(void **state)
{
	(void)state;
	cairn_replica *a = mk(40), *b = mk(41);
	build_example(a, b);
	char *want = export_text(a);
	fail_alloc fa = {0};
	cairn_allocator al = fail_alloc_allocator(&fa);
	bool done = false;
	for (uint64_t n = 1; !done && n < 1000; n++) {
		cairn_buf out;
		cairn_buf_init(&out, &al);
		fail_alloc_arm(&fa, n, false);
		int rc = cairn_replica_export_json(a, &out);
		if (rc == 0) {
			assert_int_equal(out.len, strlen(want));
			assert_memory_equal(out.data, want, out.len);
			done = fa.failures == 0;
		} else {
			assert_int_equal(rc, CAIRN_ENOMEM);
			assert_int_equal(out.len, 0);
		}
		cairn_buf_free(&out);
		assert_int_equal(fa.live_blocks, 0);
	}
	assert_true(done);
	free(want);
	cairn_replica_free(a);
	cairn_replica_free(b);
	assert_int_equal(cairn_replica_export_json(NULL, NULL), CAIRN_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_scalars),
	        cmocka_unit_test(test_int_range),
	        cmocka_unit_test(test_float_text),
	        cmocka_unit_test(test_float_parse_hard),
	        cmocka_unit_test(test_float_random),
	        cmocka_unit_test(test_strings),
	        cmocka_unit_test(test_base64),
	        cmocka_unit_test(test_value_malformed),
	        cmocka_unit_test(test_import_calls),
	        cmocka_unit_test(test_import_errors),
	        cmocka_unit_test(test_export_example),
	        cmocka_unit_test(test_export_deterministic),
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_truncate_and_mutate),
	        cmocka_unit_test(test_export_enomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
