/*
 * test_identity.c -- device identities, device ids, mesh keys, their
 * base32 text, and keeping them in a store (cairn/net.h; net/proto/
 * identity.c, identity_store.c, base32.c).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "base32_int.h"
#include "cairn.h"

#define OK(x) assert_int_equal((x), 0)

/* RFC 4648 section 10, base32 column, lowercased and without padding. */
static const struct {
	const char *bytes;
	const char *text;
} rfc4648[] = {
        {"", ""},
        {"f", "my"},
        {"fo", "mzxq"},
        {"foo", "mzxw6"},
        {"foob", "mzxw6yq"},
        {"fooba", "mzxw6ytb"},
        {"foobar", "mzxw6ytboi"},
};

static void test_base32_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const char *b = rfc4648[i].bytes;
		const char *t = rfc4648[i].text;
		size_t n = strlen(b);
		char text[16];
		memset(text, 'x', sizeof(text));
		assert_int_equal(
		        cairn__base32_encode((const uint8_t *)b, n, text),
		        strlen(t));
		assert_string_equal(text, t);
		assert_int_equal(CAIRN__BASE32_LEN(n), strlen(t));

		uint8_t out[8] = {0};
		OK(cairn__base32_decode(t, strlen(t), out, n));
		assert_memory_equal(out, b, n);

		/* Upper case parses to the same bytes. */
		char upper[16];
		for (size_t k = 0; k <= strlen(t); k++)
			upper[k] = (t[k] >= 'a' && t[k] <= 'z')
			                   ? (char)(t[k] - 'a' + 'A')
			                   : t[k];
		memset(out, 0, sizeof(out));
		OK(cairn__base32_decode(upper, strlen(upper), out, n));
		assert_memory_equal(out, b, n);
	}
}

static void test_base32_every_symbol(void **state)
{
	(void)state;
	/* Five bytes are eight symbols: 0, 1, ..., 31 spread over 20 bytes
	 * cover the whole alphabet in order. */
	uint8_t in[20];
	uint64_t acc = 0;
	unsigned bits = 0;
	size_t put = 0;
	for (unsigned v = 0; v < 32; v++) {
		acc = (acc << 5) | v;
		bits += 5;
		while (bits >= 8) {
			bits -= 8;
			in[put++] = (uint8_t)(acc >> bits);
		}
	}
	assert_int_equal(put, sizeof(in));
	char text[33];
	assert_int_equal(cairn__base32_encode(in, sizeof(in), text), 32);
	assert_string_equal(text, "abcdefghijklmnopqrstuvwxyz234567");
	uint8_t back[20];
	OK(cairn__base32_decode(text, 32, back, sizeof(back)));
	assert_memory_equal(back, in, sizeof(in));
}

static void test_device_id_text(void **state)
{
	(void)state;
	cairn_device_id id;
	char text[CAIRN_DEVICE_ID_TEXT];

	memset(id.bytes, 0, sizeof(id.bytes));
	cairn_device_id_to_text(&id, text);
	assert_int_equal(strlen(text), 52);
	for (size_t i = 0; i < 52; i++)
		assert_int_equal(text[i], 'a');

	/* 256 bits = 51 symbols and 1 bit: the last symbol is 10000b. */
	memset(id.bytes, 0xFF, sizeof(id.bytes));
	cairn_device_id_to_text(&id, text);
	char want[CAIRN_DEVICE_ID_TEXT];
	memset(want, '7', 51);
	want[51] = 'q';
	want[52] = '\0';
	assert_string_equal(text, want);

	cairn_device_id back;
	OK(cairn_device_id_from_text(text, &back));
	assert_true(cairn_device_id_equal(&id, &back));

	/* Round trips of random ids, in both cases. */
	for (int i = 0; i < 200; i++) {
		randombytes_buf(id.bytes, sizeof(id.bytes));
		cairn_device_id_to_text(&id, text);
		assert_int_equal(strlen(text), 52);
		memset(&back, 0, sizeof(back));
		OK(cairn_device_id_from_text(text, &back));
		assert_memory_equal(back.bytes, id.bytes, sizeof(id.bytes));
		for (size_t k = 0; k < 52; k++)
			if (text[k] >= 'a' && text[k] <= 'z')
				text[k] = (char)(text[k] - 'a' + 'A');
		memset(&back, 0, sizeof(back));
		OK(cairn_device_id_from_text(text, &back));
		assert_memory_equal(back.bytes, id.bytes, sizeof(id.bytes));
	}
}

/* Each bad text is rejected and leaves the output as it was. */
static void expect_bad(const char *text)
{
	cairn_device_id id;
	memset(id.bytes, 0x5A, sizeof(id.bytes));
	assert_int_equal(cairn_device_id_from_text(text, &id), CAIRN_EINVAL);
	for (size_t i = 0; i < sizeof(id.bytes); i++)
		assert_int_equal(id.bytes[i], 0x5A);
	cairn_mesh_key k;
	memset(k.bytes, 0x5A, sizeof(k.bytes));
	assert_int_equal(cairn_mesh_key_from_text(text, &k), CAIRN_EINVAL);
	for (size_t i = 0; i < sizeof(k.bytes); i++)
		assert_int_equal(k.bytes[i], 0x5A);
}

static void test_bad_text(void **state)
{
	(void)state;
	char good[CAIRN_DEVICE_ID_TEXT];
	cairn_device_id id;
	for (size_t i = 0; i < sizeof(id.bytes); i++)
		id.bytes[i] = (uint8_t)(i * 37 + 11);
	cairn_device_id_to_text(&id, good);

	expect_bad("");
	char t[64];
	/* One character short, one too many. */
	memcpy(t, good, 51);
	t[51] = '\0';
	expect_bad(t);
	memcpy(t, good, 52);
	t[52] = 'a';
	t[53] = '\0';
	expect_bad(t);
	/* Characters outside the alphabet, at the start, middle and end:
	 * the digits RFC 4648 leaves out, padding, space, the other base32
	 * alphabets' letters, control characters that fold onto '2'..'7'
	 * with bit 0x20, and bytes above 0x7F. */
	const char bad_chars[] = {'0',  '1',  '8',        '9',       '=', ' ',
	                          '-',  '@',  '[',        '`',       '{', 0x12,
	                          0x17, '\n', (char)0xC3, (char)0xE1};
	const size_t where[] = {0, 25, 51};
	for (size_t c = 0; c < sizeof(bad_chars); c++) {
		for (size_t w = 0; w < 3; w++) {
			memcpy(t, good, 53);
			t[where[w]] = bad_chars[c];
			expect_bad(t);
		}
	}
	/* The unused low bit of the last symbol set: "7...7r" would decode
	 * to the same bytes as "7...7q" if it were allowed. */
	memset(t, '7', 51);
	t[51] = 'r';
	t[52] = '\0';
	expect_bad(t);
	t[51] = 'q';
	cairn_device_id ok;
	OK(cairn_device_id_from_text(t, &ok));
	/* Padding, even where RFC 4648 would put it. */
	memcpy(t, good, 52);
	memcpy(t + 52, "====", 5);
	expect_bad(t);
	/* NULL arguments. */
	assert_int_equal(cairn_device_id_from_text(NULL, &ok), CAIRN_EINVAL);
	assert_int_equal(cairn_device_id_from_text(good, NULL), CAIRN_EINVAL);
	assert_int_equal(cairn_mesh_key_from_text(NULL, NULL), CAIRN_EINVAL);
}

static void test_device_id_is_blake2b_of_public_key(void **state)
{
	(void)state;
	for (int i = 0; i < 20; i++) {
		cairn_identity me;
		OK(cairn_identity_generate(&me));
		cairn_device_id id, from_key;
		cairn_identity_device_id(&me, &id);
		cairn_device_id_from_key(me.public_key, &from_key);
		uint8_t want[32];
		OK(crypto_generichash(want, sizeof(want), me.public_key,
		                      sizeof(me.public_key), NULL, 0));
		assert_memory_equal(id.bytes, want, sizeof(want));
		assert_memory_equal(from_key.bytes, want, sizeof(want));
		cairn_identity_wipe(&me);
	}
}

static void test_identity_keys(void **state)
{
	(void)state;
	/* RFC 7748 section 6.1: Alice's key pair. */
	static const uint8_t alice_sk[32] = {
	        0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d,
	        0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
	        0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a,
	        0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
	static const uint8_t alice_pk[32] = {
	        0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54,
	        0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
	        0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4,
	        0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};
	cairn_identity a;
	OK(cairn_identity_from_secret(alice_sk, &a));
	assert_memory_equal(a.secret_key, alice_sk, 32);
	assert_memory_equal(a.public_key, alice_pk, 32);

	/* Generated pairs: the public key is the secret's, and two
	 * generations differ. */
	cairn_identity x, y;
	OK(cairn_identity_generate(&x));
	OK(cairn_identity_generate(&y));
	assert_memory_not_equal(x.secret_key, y.secret_key, 32);
	assert_memory_not_equal(x.public_key, y.public_key, 32);
	uint8_t pk[32];
	OK(crypto_scalarmult_base(pk, x.secret_key));
	assert_memory_equal(pk, x.public_key, 32);

	/* Any 32 bytes are a secret key: X25519 clamps them, so even the
	 * all-zero secret has a (fixed, non-zero) public key. */
	static const uint8_t zero[32] = {0};
	OK(cairn_identity_from_secret(zero, &x));
	OK(crypto_scalarmult_base(pk, zero));
	assert_memory_equal(x.public_key, pk, 32);
	assert_memory_not_equal(x.public_key, zero, 32);

	cairn_identity_wipe(&y);
	assert_memory_equal(y.secret_key, zero, 32);
	assert_memory_equal(y.public_key, zero, 32);
}

static void test_replica_id_rule(void **state)
{
	(void)state;
	cairn_device_id id;
	for (size_t i = 0; i < sizeof(id.bytes); i++)
		id.bytes[i] = (uint8_t)(i + 1);
	assert_int_equal(cairn_device_replica_id(&id),
	                 UINT64_C(0x0102030405060708));

	/* Only the first 8 bytes count. */
	memset(id.bytes + 8, 0xEE, sizeof(id.bytes) - 8);
	assert_int_equal(cairn_device_replica_id(&id),
	                 UINT64_C(0x0102030405060708));

	memset(id.bytes, 0xFF, 8);
	assert_int_equal(cairn_device_replica_id(&id), UINT64_MAX);

	/* Replica id 0 is "none": eight zero bytes map to 1. */
	memset(id.bytes, 0, 8);
	assert_int_equal(cairn_device_replica_id(&id), 1);
	id.bytes[7] = 1;
	assert_int_equal(cairn_device_replica_id(&id), 1);
	id.bytes[7] = 2;
	assert_int_equal(cairn_device_replica_id(&id), 2);
	memset(id.bytes, 0, 8);
	id.bytes[0] = 0x80;
	assert_int_equal(cairn_device_replica_id(&id), UINT64_C(1) << 63);
}

static void test_mesh_key(void **state)
{
	(void)state;
	cairn_mesh_key a, b, back;
	OK(cairn_mesh_key_generate(&a));
	OK(cairn_mesh_key_generate(&b));
	assert_memory_not_equal(a.bytes, b.bytes, sizeof(a.bytes));

	char text[CAIRN_MESH_KEY_TEXT];
	cairn_mesh_key_to_text(&a, text);
	assert_int_equal(strlen(text), 52);
	OK(cairn_mesh_key_from_text(text, &back));
	assert_memory_equal(back.bytes, a.bytes, sizeof(a.bytes));

	/* The same text form as a device id of the same bytes. */
	cairn_device_id id;
	memcpy(id.bytes, a.bytes, sizeof(id.bytes));
	char id_text[CAIRN_DEVICE_ID_TEXT];
	cairn_device_id_to_text(&id, id_text);
	assert_string_equal(id_text, text);

	cairn_mesh_key_wipe(&a);
	static const uint8_t zero[32] = {0};
	assert_memory_equal(a.bytes, zero, sizeof(zero));
}

/* A store in a fresh temporary directory; remove_dir() deletes it. */
static cairn_store *temp_store(char dir[64], cairn_replica_id id)
{
	snprintf(dir, 64, "%s/cairn-identity.XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.replica.id = id;
	cfg.sync = CAIRN_SYNC_NONE;
	cairn_store *s = NULL;
	OK(cairn_store_open(dir, &cfg, &s, NULL));
	return s;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	char path[512];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_int_equal(unlink(path), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

static void test_identity_in_store(void **state)
{
	(void)state;
	static const uint8_t zero[64] = {0};
	cairn_identity me, back;
	OK(cairn_identity_generate(&me));
	cairn_device_id id;
	cairn_identity_device_id(&me, &id);
	char dir[64];
	cairn_store *s = temp_store(dir, cairn_device_replica_id(&id));

	/* Nothing saved yet. */
	memset(&back, 0x5A, sizeof(back));
	assert_int_equal(cairn_identity_load(s, &back), CAIRN_ENOTFOUND);
	assert_memory_equal(&back, zero, sizeof(back));

	OK(cairn_identity_save(s, &me));
	OK(cairn_identity_load(s, &back));
	assert_memory_equal(&back, &me, sizeof(me));

	/* The file holds secret || public, nothing else. */
	uint8_t raw[64];
	size_t len = 0;
	OK(cairn_store_secret_get(s, "identity", raw, sizeof(raw), &len));
	assert_int_equal(len, 64);
	assert_memory_equal(raw, me.secret_key, 32);
	assert_memory_equal(raw + 32, me.public_key, 32);

	/* It survives a reopen (replica id 0: the recorded one). */
	OK(cairn_store_close(s));
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.sync = CAIRN_SYNC_NONE;
	cfg.create = false;
	OK(cairn_store_open(dir, &cfg, &s, NULL));
	memset(&back, 0, sizeof(back));
	OK(cairn_identity_load(s, &back));
	assert_memory_equal(&back, &me, sizeof(me));

	/* A public key that is not the secret's: corrupt, and nothing of
	 * it is handed out. */
	raw[40] ^= 1;
	OK(cairn_store_secret_put(s, "identity", raw, sizeof(raw)));
	memset(&back, 0x5A, sizeof(back));
	assert_int_equal(cairn_identity_load(s, &back), CAIRN_ECORRUPT);
	assert_memory_equal(&back, zero, sizeof(back));

	/* The wrong length, shorter or longer. */
	raw[40] ^= 1;
	OK(cairn_store_secret_put(s, "identity", raw, 63));
	assert_int_equal(cairn_identity_load(s, &back), CAIRN_ECORRUPT);
	uint8_t longer[65];
	memcpy(longer, raw, 64);
	longer[64] = 0;
	OK(cairn_store_secret_put(s, "identity", longer, sizeof(longer)));
	assert_int_equal(cairn_identity_load(s, &back), CAIRN_ECORRUPT);
	assert_memory_equal(&back, zero, sizeof(back));

	/* Saving again replaces it. */
	OK(cairn_identity_save(s, &me));
	OK(cairn_identity_load(s, &back));
	assert_memory_equal(&back, &me, sizeof(me));

	cairn_identity_wipe(&me);
	cairn_identity_wipe(&back);
	OK(cairn_store_close(s));
	remove_dir(dir);
}

static void test_mesh_key_in_store(void **state)
{
	(void)state;
	static const uint8_t zero[32] = {0};
	char dir[64];
	cairn_store *s = temp_store(dir, 42);
	cairn_mesh_key key, back;
	memset(&back, 0x5A, sizeof(back));
	assert_int_equal(cairn_mesh_key_load(s, &back), CAIRN_ENOTFOUND);
	assert_memory_equal(back.bytes, zero, sizeof(zero));

	OK(cairn_mesh_key_generate(&key));
	OK(cairn_mesh_key_save(s, &key));
	OK(cairn_mesh_key_load(s, &back));
	assert_memory_equal(back.bytes, key.bytes, sizeof(key.bytes));

	OK(cairn_store_secret_put(s, "mesh-key", key.bytes, 31));
	memset(&back, 0x5A, sizeof(back));
	assert_int_equal(cairn_mesh_key_load(s, &back), CAIRN_ECORRUPT);
	assert_memory_equal(back.bytes, zero, sizeof(zero));

	/* The identity and the mesh key are distinct secrets. */
	cairn_identity me;
	assert_int_equal(cairn_identity_load(s, &me), CAIRN_ENOTFOUND);

	cairn_mesh_key_wipe(&key);
	OK(cairn_store_close(s));
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_base32_rfc4648),
	        cmocka_unit_test(test_base32_every_symbol),
	        cmocka_unit_test(test_device_id_text),
	        cmocka_unit_test(test_bad_text),
	        cmocka_unit_test(test_device_id_is_blake2b_of_public_key),
	        cmocka_unit_test(test_identity_keys),
	        cmocka_unit_test(test_replica_id_rule),
	        cmocka_unit_test(test_mesh_key),
	        cmocka_unit_test(test_identity_in_store),
	        cmocka_unit_test(test_mesh_key_in_store),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
