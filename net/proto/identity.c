/*
 * identity.c -- device identities, device ids and mesh keys (cairn/net.h).
 *
 * The key pair is X25519 as libsodium's crypto_kx makes it: 32 random
 * bytes of secret, the public key their product with the base point. The
 * Noise handshake (DESIGN.md section 5) uses the same keys with
 * crypto_scalarmult. The device id hashes the public key with unkeyed
 * BLAKE2b-256, so anyone who has seen a key can name the device, and a
 * device cannot choose its id without a key to match.
 */
#include <string.h>

#include <sodium.h>

#include "base32_int.h"
#include "cairn/net.h"

/*
 * libsodium must be initialised before use; sodium_init() is thread-safe
 * and returns 1 when it already was. It fails only when the random source
 * cannot be opened.
 */
static int init_sodium(void)
{
	return sodium_init() < 0 ? CAIRN_EIO : 0;
}

/* strlen(text), or `max` if there is no NUL in text[0..max). */
static size_t text_len(const char *text, size_t max)
{
	size_t n = 0;
	while (n < max && text[n] != '\0')
		n++;
	return n;
}

int cairn_identity_generate(cairn_identity *out)
{
	int rc = init_sodium();
	if (rc != 0) {
		sodium_memzero(out, sizeof(*out));
		return rc;
	}
	if (crypto_kx_keypair(out->public_key, out->secret_key) != 0) {
		/* Only a random secret with a zero product (never, in
		 * practice); report it rather than hand out that key. */
		sodium_memzero(out, sizeof(*out));
		return CAIRN_EIO;
	}
	return 0;
}

int cairn_identity_from_secret(const uint8_t secret_key[CAIRN_KEY_BYTES],
                               cairn_identity *out)
{
	int rc = init_sodium();
	if (rc == 0) {
		memmove(out->secret_key, secret_key, CAIRN_KEY_BYTES);
		if (crypto_scalarmult_base(out->public_key, out->secret_key) !=
		    0)
			rc = CAIRN_EINVAL;
	}
	if (rc != 0)
		sodium_memzero(out, sizeof(*out));
	return rc;
}

void cairn_identity_wipe(cairn_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

void cairn_device_id_from_key(const uint8_t public_key[CAIRN_KEY_BYTES],
                              cairn_device_id *out)
{
	/* Hashing needs no random source, so a failed initialisation does
	 * not matter here; the call only selects the fastest code. */
	if (init_sodium() != 0) {
		/* fall through: the portable BLAKE2b still runs */
	}
	crypto_generichash(out->bytes, sizeof(out->bytes), public_key,
	                   CAIRN_KEY_BYTES, NULL, 0);
}

void cairn_identity_device_id(const cairn_identity *id, cairn_device_id *out)
{
	cairn_device_id_from_key(id->public_key, out);
}

void cairn_device_id_to_text(const cairn_device_id *id,
                             char out[CAIRN_DEVICE_ID_TEXT])
{
	cairn__base32_encode(id->bytes, sizeof(id->bytes), out);
}

int cairn_device_id_from_text(const char *text, cairn_device_id *out)
{
	if (text == NULL || out == NULL)
		return CAIRN_EINVAL;
	size_t len = text_len(text, CAIRN_DEVICE_ID_TEXT);
	return cairn__base32_decode(text, len, out->bytes, sizeof(out->bytes));
}

int cairn_device_id_equal(const cairn_device_id *a, const cairn_device_id *b)
{
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

cairn_replica_id cairn_device_replica_id(const cairn_device_id *id)
{
	uint64_t r = 0;
	for (int i = 0; i < 8; i++)
		r = (r << 8) | id->bytes[i];
	return r != 0 ? r : 1;
}

int cairn_mesh_key_generate(cairn_mesh_key *out)
{
	int rc = init_sodium();
	if (rc != 0) {
		sodium_memzero(out, sizeof(*out));
		return rc;
	}
	randombytes_buf(out->bytes, sizeof(out->bytes));
	return 0;
}

void cairn_mesh_key_wipe(cairn_mesh_key *key)
{
	sodium_memzero(key, sizeof(*key));
}

void cairn_mesh_key_to_text(const cairn_mesh_key *key,
                            char out[CAIRN_MESH_KEY_TEXT])
{
	cairn__base32_encode(key->bytes, sizeof(key->bytes), out);
}

int cairn_mesh_key_from_text(const char *text, cairn_mesh_key *out)
{
	if (text == NULL || out == NULL)
		return CAIRN_EINVAL;
	size_t len = text_len(text, CAIRN_MESH_KEY_TEXT);
	return cairn__base32_decode(text, len, out->bytes, sizeof(out->bytes));
}
