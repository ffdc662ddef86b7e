/*
 * cairn/net.h -- the network: device identities, the mesh key, and the
 * node that syncs a store with its peers.
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
 * THREAD SAFETY: the identity and mesh-key functions are thread-safe;
 * cairn_identity, cairn_device_id and cairn_mesh_key are plain values. A
 * node belongs to its loop's thread (see "The node"), except
 * cairn_node_post(), the one call any thread may make. The save and load
 * functions use a store, which follows the rules of cairn/store.h (one
 * thread at a time per store).
 *
 * SECRETS. A cairn_identity and a cairn_mesh_key hold secret bytes. The
 * library wipes the copies it makes on its stack; wipe yours with
 * cairn_identity_wipe() / cairn_mesh_key_wipe() when you are done.
 */
#ifndef CAIRN_NET_H
#define CAIRN_NET_H

#include <stdbool.h>
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

/* ------------------------------------------------------------------------ */
/* The node: a replica syncing over TCP on a libuv loop (net/io/)           */
/* ------------------------------------------------------------------------ */

/*
 * A node serves one open store on the caller's libuv loop: it listens on
 * addresses, dials peers (and redials them with exponential backoff and
 * jitter when a link drops), runs the handshake and the sync protocol on
 * every link (docs/PROTOCOL.md), and tells the application what changed.
 * Writes made through the node are durable in the store first, then pushed
 * to every link.
 *
 * THREAD SAFETY: every cairn_node_* function must be called on the loop's
 * thread, and every observer runs there; the node owns the store while it
 * runs (write through the node, read the store's replica freely).
 * No observer runs inside the call that registered it.
 *
 * DURABILITY. A peer never receives a record that a crash here could take
 * back: the node sends durable records only. With a CAIRN_SYNC_GROUP store
 * (the one to use) the node drives group commit itself (cairn/loop.h: do
 * not give the store another cairn_store_loop) and never blocks the loop
 * on fsync; with EVERY every write and every join of a peer's records
 * fsyncs on the loop's thread.
 *
 * SIGNALS. Writing to a socket whose peer has gone raises SIGPIPE, as in
 * any libuv program: ignore it in the process (signal(SIGPIPE, SIG_IGN)).
 */

struct uv_loop_s;
typedef struct cairn_node cairn_node;

/* How a peer link looks from here (cairn_node_peers()). */
typedef struct cairn_peer_status {
	cairn_device_id device;       /* zero until a handshake named it */
	char address[64];             /* "host:port" as dialled or accepted */
	bool dialled;                 /* this node dials it (else it came in) */
	bool connected;               /* handshake done, sync running */
	uint64_t connected_ms;        /* when the link came up (wall clock) */
	uint64_t last_sync_ms;        /* last time both directions were caught
	                                 up (0: never) */
	uint64_t outstanding_out;     /* records not yet acknowledged by it */
	uint64_t outstanding_in;      /* its records not yet joined here */
	uint64_t bytes_in, bytes_out; /* on the wire, this link */
	uint32_t reconnects;          /* dialled links: failed attempts since
	                                 the last link up */
	char last_error[160];         /* why the last link ended ("" if none) */
} cairn_peer_status;

/*
 * What happened to a link (cairn_node_observers.peer). DOWN fires once
 * for every link that reached the sync engine (its handshake done), after
 * UP or without one: a link refused by an allow-list (this one's or the
 * peer's) is a DOWN without an UP, its last_error saying who refused
 * whom. Links that end before that (wrong mesh key, deadline, caps, a
 * second link to a device already linked) fire nothing; the log observer
 * hears of them.
 */
typedef enum cairn_peer_event {
	CAIRN_PEER_UP = 1,   /* handshake and HELLO done: syncing */
	CAIRN_PEER_DOWN = 2, /* the link ended (status->last_error says why) */
} cairn_peer_event;

typedef struct cairn_node_observers {
	void *ud;
	/* A document field changed because of a peer (local writes through
	 * the node do not fire it). */
	void (*change)(void *ud, const char *doc_id, const char *field);
	/* A link came up or went down. */
	void (*peer)(void *ud, cairn_peer_event ev,
	             const cairn_peer_status *status);
	/* A line worth logging ("listening on 127.0.0.1:7000", "link up
	 * <device> <address>", "link down <device> <address>: <why>"), for
	 * programs such as `cairn node`. Without a newline. */
	void (*log)(void *ud, const char *line);
} cairn_node_observers;

typedef struct cairn_node_config {
	cairn_store *store;           /* open, borrowed; outlives the node */
	cairn_identity identity;      /* this device (copied; wipe yours) */
	cairn_mesh_key mesh_key;      /* the mesh (copied; wipe yours) */
	const cairn_device_id *allow; /* optional allow-list (copied); NULL:
	                                 any device with the mesh key */
	size_t nallow;
	cairn_node_observers observers;
	/* Limits; 0 takes the default in parentheses. */
	uint32_t heartbeat_ms;         /* PING after silence (15,000); a link
	                                  silent for 3 of them closes */
	uint32_t handshake_timeout_ms; /* from the connection to the end of
	                                  the handshake (10,000) */
	uint32_t backoff_min_ms;       /* first redial delay (250) */
	uint32_t backoff_max_ms;       /* cap of the delay (30,000) */
	uint32_t max_links;            /* links at once (256); an incoming
	                                  link over a cap is closed at once */
	uint32_t max_links_per_ip;     /* incoming, from one address (16) */
	uint32_t handshakes_per_s;     /* per address (20; burst 5) */
	uint64_t max_clock_skew_ms;    /* handshake clock check (120,000) */
} cairn_node_config;

/* Fill *cfg with the defaults above (store, identity and mesh key unset). */
CAIRN_API void cairn_node_config_init(cairn_node_config *cfg);

/*
 * Create a node on `loop`. Use cairn_node_new() (passes the config size).
 * An allow-list given with nallow 0 allows no one. The node neither
 * listens nor dials until told to.
 * Returns 0 and *out; CAIRN_EINVAL (NULL store or loop); CAIRN_EVERSION;
 * CAIRN_ENOMEM; CAIRN_EIO (libsodium cannot be initialised).
 */
CAIRN_API CAIRN_NODISCARD int cairn_node_new_(struct uv_loop_s *loop,
                                              const cairn_node_config *cfg,
                                              size_t cfg_size,
                                              cairn_node **out);
#define cairn_node_new(loop, cfg, out)                                         \
	cairn_node_new_((loop), (cfg), sizeof(cairn_node_config), (out))

/*
 * Listen on "host:port" (IPv4 "127.0.0.1:7000", IPv6 "[::1]:7000"; the
 * host is numeric; port 0 picks a free one, stored in *port when port is
 * not NULL). Logs "listening on <address>" (from this call). Returns 0;
 * CAIRN_EINVAL (malformed address, or the node is closing); CAIRN_EIO
 * (bind/listen failed: the address is in use, say; the log says why).
 */
CAIRN_API CAIRN_NODISCARD int
cairn_node_listen(cairn_node *n, const char *host_port, uint16_t *port);

/*
 * Keep a link to "host:port" (a numeric address, or a name resolved at
 * each attempt): dial on the next turn of the loop, and again after any
 * failure or drop, with exponential backoff and jitter up to
 * backoff_max_ms. Giving the same text again is harmless. When two links
 * join the same pair of devices (both dialled each other), both sides keep
 * the same one and a dialler whose link was dropped for it waits until
 * that link ends. Returns 0, CAIRN_EINVAL (malformed, port 0, or the
 * node is closing), CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_node_connect(cairn_node *n,
                                                 const char *host_port);

/* Stop keeping a link to "host:port" as given to cairn_node_connect()
 * (closing it, after a BYE). 0 or CAIRN_ENOTFOUND. */
CAIRN_API CAIRN_NODISCARD int cairn_node_disconnect(cairn_node *n,
                                                    const char *host_port);

/*
 * Writes: as cairn_store_set/del/add/rm (now_ms 0: the system clock), then
 * pushed to every link once durable. Return what the store call returns;
 * under GROUP the write is durable later (cairn_node_flush() tells when).
 */
CAIRN_API CAIRN_NODISCARD int cairn_node_set(cairn_node *n, const char *doc_id,
                                             const char *field,
                                             const cairn_value *v);
CAIRN_API CAIRN_NODISCARD int cairn_node_del(cairn_node *n, const char *doc_id,
                                             const char *field);
CAIRN_API CAIRN_NODISCARD int cairn_node_add(cairn_node *n, const char *doc_id,
                                             const char *field,
                                             const cairn_value *elem);
CAIRN_API CAIRN_NODISCARD int cairn_node_rm(cairn_node *n, const char *doc_id,
                                            const char *field,
                                            const cairn_value *elem);

/*
 * The store was written directly (cairn_store_* on the node's store, an
 * import): make what it appended durable and push it. Cheap; harmless
 * when nothing is new.
 */
CAIRN_API void cairn_node_kick(cairn_node *n);

/*
 * As cairn_node_kick(), then call done(ud, status) once every record
 * appended so far is durable: status 0; the fsync's error (CAIRN_EIO,
 * CAIRN_EFULL, CAIRN_EPOISONED); or CAIRN_EINVAL when the node closed
 * first (the store's close then makes them durable). done never runs
 * inside this call, and always before `closed`. Returns 0, CAIRN_EINVAL
 * (the node is closing; done will not run), CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_node_flush(cairn_node *n, void (*done)(void *ud, int status), void *ud);

/*
 * Run fn(n, ud) on the loop's thread, soon. The one node call that any
 * thread may make (a UI thread handing a write to the loop, say). Returns
 * 0, or CAIRN_ENOMEM / CAIRN_EINVAL (the node is closing): then fn will
 * not run. Posted functions still queued when the node closes run with n
 * still valid, before `closed`.
 */
CAIRN_API CAIRN_NODISCARD int
cairn_node_post(cairn_node *n, void (*fn)(cairn_node *n, void *ud), void *ud);

/* This node's device id. */
CAIRN_API void cairn_node_device_id(const cairn_node *n, cairn_device_id *out);

/*
 * The peers: every address being dialled (connected or not; first, in
 * the order given), then every incoming link past its handshake. Stores
 * the count in *count; writes out[0..*count) if *count <= cap and
 * returns 0, else writes nothing and returns CAIRN_ESPACE.
 */
CAIRN_API CAIRN_NODISCARD int cairn_node_peers(const cairn_node *n,
                                               cairn_peer_status *out,
                                               size_t cap, size_t *count);

/*
 * Close every link (a BYE on each, then the sockets, each given up to 2 s
 * to hang up), stop listening and dialling, persist every peer's
 * progress, run what was posted, then call closed(ud) (may be NULL) from
 * the loop -- never inside this call -- and free the node. Peer DOWN
 * events and flush answers come before `closed`, nothing after it. Run
 * the loop until then; the store may then be closed (which makes the last
 * records durable). A second call does nothing.
 */
CAIRN_API void cairn_node_close(cairn_node *n, void (*closed)(void *ud),
                                void *ud);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_NET_H */
