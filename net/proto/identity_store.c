/*
 * identity_store.c -- the identity and the mesh key kept as store secrets
 * (cairn/net.h, "Keeping them in a store").
 */
#include <string.h>

#include <sodium.h>

#include "cairn/net.h"

#define IDENTITY_SECRET "identity"
#define MESH_KEY_SECRET "mesh-key"

int cairn_identity_save(cairn_store *s, const cairn_identity *id)
{
	uint8_t buf[2 * CAIRN_KEY_BYTES];
	memcpy(buf, id->secret_key, CAIRN_KEY_BYTES);
	memcpy(buf + CAIRN_KEY_BYTES, id->public_key, CAIRN_KEY_BYTES);
	int rc = cairn_store_secret_put(s, IDENTITY_SECRET, buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/*
 * Read a secret of exactly `want` bytes into out. A secret of another
 * length was not written by this module: CAIRN_ECORRUPT, not ESPACE.
 */
static int load_exact(const cairn_store *s, const char *name, uint8_t *out,
                      size_t want)
{
	size_t len = 0;
	int rc = cairn_store_secret_get(s, name, out, want, &len);
	if (rc == CAIRN_ESPACE || (rc == 0 && len != want))
		rc = CAIRN_ECORRUPT;
	if (rc != 0)
		sodium_memzero(out, want);
	return rc;
}

int cairn_identity_load(const cairn_store *s, cairn_identity *out)
{
	uint8_t buf[2 * CAIRN_KEY_BYTES];
	int rc = load_exact(s, IDENTITY_SECRET, buf, sizeof(buf));
	if (rc == 0) {
		/* The file holds both halves; trust neither alone. A public
		 * key that is not the secret key's would make this device
		 * claim an id it cannot prove. */
		rc = cairn_identity_from_secret(buf, out);
		if (rc == 0 &&
		    sodium_memcmp(out->public_key, buf + CAIRN_KEY_BYTES,
		                  CAIRN_KEY_BYTES) != 0)
			rc = CAIRN_ECORRUPT;
		else if (rc == CAIRN_EINVAL)
			rc = CAIRN_ECORRUPT;
	}
	if (rc != 0)
		sodium_memzero(out, sizeof(*out));
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int cairn_mesh_key_save(cairn_store *s, const cairn_mesh_key *key)
{
	return cairn_store_secret_put(s, MESH_KEY_SECRET, key->bytes,
	                              sizeof(key->bytes));
}

int cairn_mesh_key_load(const cairn_store *s, cairn_mesh_key *out)
{
	return load_exact(s, MESH_KEY_SECRET, out->bytes, sizeof(out->bytes));
}
