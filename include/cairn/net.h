/*
 * cairn/net.h -- the network: device identities and the mesh key.
 *
 * A device is known by a static X25519 key pair. Its *device id* is the
 * BLAKE2b-256 hash of the public key, shown as 52 characters of base32;
 * peers authorize each other by device id, never by address. A *mesh* is
 * the set of devices that share a 256-bit *mesh key*, the pre-shared key of
 * the handshake: a device without it gets no answer. DESIGN.md section 5.
 *
 * This header needs libsodium only inside the library: including it pulls
 * in no libsodium, libuv or mbedtls header.
 *
 * THREAD SAFETY: every function here is thread-safe; cairn_identity,
 * cairn_device_id and cairn_mesh_key are plain values. The save and load
 * functions use a store, which follows the rules of cairn/store.h (one
 * thread at a time per store).
 *
 * SECRETS. A cairn_identity and a cairn_mesh_key hold secret bytes. The
 * library wipes the copies it makes on its stack; wipe yours with
 * cairn_identity_wipe() / cairn_mesh_key_wipe() when you are done.
 */
#ifndef CAIRN_NET_H
#define CAIRN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "crdt.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Identity                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Sizes in bytes: an X25519 secret or public key; a device id (BLAKE2b-256
 * of the public key, the size of a store's CAIRN_PEER_ID_BYTES); a mesh
 * key (the handshake's pre-shared key).
 */
#define CAIRN_KEY_BYTES 32
#define CAIRN_DEVICE_ID_BYTES 32
#define CAIRN_MESH_KEY_BYTES 32

/*
 * The text forms of a device id and a mesh key: base32 (RFC 4648 alphabet,
 * lowercase, no padding), 52 characters for 32 bytes. The sizes below
 * count the terminating NUL.
 */
#define CAIRN_DEVICE_ID_TEXT 53
#define CAIRN_MESH_KEY_TEXT 53

/* A device's static X25519 key pair. secret_key is secret. */
typedef struct cairn_identity {
	uint8_t secret_key[CAIRN_KEY_BYTES];
	uint8_t public_key[CAIRN_KEY_BYTES];
} cairn_identity;

/* A device id: BLAKE2b-256 (unkeyed) of the device's public key. */
typedef struct cairn_device_id {
	uint8_t bytes[CAIRN_DEVICE_ID_BYTES];
} cairn_device_id;

/* A mesh key: 32 random bytes, secret, shared by the devices of a mesh. */
typedef struct cairn_mesh_key {
	uint8_t bytes[CAIRN_MESH_KEY_BYTES];
} cairn_mesh_key;

/*
 * Make a new identity from the system's random source (libsodium; the
 * library initialises libsodium itself, and calling this any number of
 * times, from any thread, is safe).
 * Returns 0 and fills *out, or CAIRN_EIO if libsodium cannot be
 * initialised (no random source); then *out is zeroed.
 */
CAIRN_API CAIRN_NODISCARD int cairn_identity_generate(cairn_identity *out);

/*
 * Rebuild an identity from its secret key: out->public_key =
 * X25519(secret_key, base point). For tests and simulations that need
 * deterministic identities, and for key files written by other tools.
 * Any 32 bytes are a valid secret (X25519 clamps them). Returns 0, or
 * CAIRN_EIO if libsodium cannot be initialised, or CAIRN_EINVAL if it
 * refuses the key (not expected); then *out is zeroed.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_identity_from_secret(const uint8_t secret_key[CAIRN_KEY_BYTES],
                           cairn_identity *out);

/* Overwrite an identity with zeros in a way the compiler keeps. */
CAIRN_API void cairn_identity_wipe(cairn_identity *id);

/* The device id of an identity (of its public key). */
CAIRN_API void cairn_identity_device_id(const cairn_identity *id,
                                        cairn_device_id *out);

/*
 * The device id of any public key, such as a peer's static key learnt in
 * a handshake.
 */
CAIRN_API void
cairn_device_id_from_key(const uint8_t public_key[CAIRN_KEY_BYTES],
                         cairn_device_id *out);

/*
 * Write the text form of a device id: 52 base32 characters (lowercase
 * "a".."z", "2".."7") and a NUL.
 */
CAIRN_API void cairn_device_id_to_text(const cairn_device_id *id,
                                       char out[CAIRN_DEVICE_ID_TEXT]);

/*
 * Parse the text form of a device id. `text` is NUL-terminated and must be
 * exactly 52 base32 characters, in either case; the unused low bit of the
 * last character must be 0, so every id has exactly one text form (up to
 * case). No whitespace, padding or separators.
 * Returns 0 and fills *out, or CAIRN_EINVAL (then *out is unchanged).
 */
CAIRN_API CAIRN_NODISCARD int cairn_device_id_from_text(const char *text,
                                                        cairn_device_id *out);

/* 1 if two device ids are equal, else 0. */
CAIRN_API CAIRN_NODISCARD int cairn_device_id_equal(const cairn_device_id *a,
                                                    const cairn_device_id *b);

/*
 * The replica id of a device (crdt.h: "the first 64 bits of the device
 * id"): the first 8 bytes of the id read as a big-endian integer. Replica
 * id 0 is reserved ("none"), so an id whose first 8 bytes are all zero
 * (a 1 in 2^64 chance) maps to 1. Never returns 0.
 */
CAIRN_API cairn_replica_id cairn_device_replica_id(const cairn_device_id *id);

/* ------------------------------------------------------------------------ */
/* The mesh key                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Make a new mesh key from the system's random source.
 * Returns 0, or CAIRN_EIO if libsodium cannot be initialised (then *out is
 * zeroed).
 */
CAIRN_API CAIRN_NODISCARD int cairn_mesh_key_generate(cairn_mesh_key *out);

/* Overwrite a mesh key with zeros in a way the compiler keeps. */
CAIRN_API void cairn_mesh_key_wipe(cairn_mesh_key *key);

/*
 * The text form of a mesh key, the string a user copies to another device:
 * 52 base32 characters and a NUL, as for device ids. It is the key itself:
 * whoever has it can join the mesh.
 */
CAIRN_API void cairn_mesh_key_to_text(const cairn_mesh_key *key,
                                      char out[CAIRN_MESH_KEY_TEXT]);

/*
 * Parse the text form of a mesh key, with the rules of
 * cairn_device_id_from_text(). Returns 0, or CAIRN_EINVAL (*out unchanged).
 */
CAIRN_API CAIRN_NODISCARD int cairn_mesh_key_from_text(const char *text,
                                                       cairn_mesh_key *out);

/* ------------------------------------------------------------------------ */
/* Keeping them in a store                                                  */
/* ------------------------------------------------------------------------ */

/*
 * The identity and the mesh key live beside the replica's data, as the
 * store's secrets "identity" (secret key || public key, 64 bytes) and
 * "mesh-key" (32 bytes): files of mode 0600, replaced atomically and
 * durably (cairn_store_secret_put()).
 *
 * save: 0, or an error of cairn_store_secret_put() (CAIRN_EIO,
 *       CAIRN_EFULL, ...). Saving again replaces the previous value.
 * load: 0 and *out; CAIRN_ENOTFOUND when none was saved; CAIRN_ECORRUPT
 *       when the stored bytes fail the store's checksum, have the wrong
 *       length, or (identity) the public key does not belong to the secret
 *       key; CAIRN_EIO. On error *out is zeroed.
 */
CAIRN_API CAIRN_NODISCARD int cairn_identity_save(cairn_store *s,
                                                  const cairn_identity *id);
CAIRN_API CAIRN_NODISCARD int cairn_identity_load(const cairn_store *s,
                                                  cairn_identity *out);
CAIRN_API CAIRN_NODISCARD int cairn_mesh_key_save(cairn_store *s,
                                                  const cairn_mesh_key *key);
CAIRN_API CAIRN_NODISCARD int cairn_mesh_key_load(const cairn_store *s,
                                                  cairn_mesh_key *out);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_NET_H */
