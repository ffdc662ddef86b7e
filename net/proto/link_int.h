/*
 * link_int.h -- the secure link of net/proto/: the Noise handshake, the
 * sealed frames that follow it, and the two small objects a responder
 * shares between its handshakes (the replay cache and the rate limiter).
 * The wire format is docs/PROTOCOL.md; the design is DESIGN.md section 5.
 *
 * Private to cairn (net/io/, tests and fuzz targets may include it).
 *
 * Everything here is sans-I/O: bytes and `now` in, bytes and events out.
 * Nothing reads a clock, a socket or a file; the caller passes the wall
 * clock (unix milliseconds) and moves the bytes. The only randomness is
 * libsodium's randombytes_* (ephemeral keys, stream headers, hash keys).
 *
 * THREAD SAFETY: none of these objects is thread-safe; each belongs to
 * one thread at a time. A replay cache or a rate limiter shared by many
 * links must be used from the thread that runs those links.
 *
 * SECRETS. A cairn__hs and a cairn__link hold key material. Their wipe
 * functions overwrite it (sodium_memzero) and release their memory; call
 * them on every path, including errors.
 */
#ifndef CAIRN_NET_PROTO_LINK_INT_H
#define CAIRN_NET_PROTO_LINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "cairn/common.h"
#include "cairn/net.h"

/* ======================================================================== */
/* The Noise core: Noise_XXpsk0_25519_ChaChaPoly_SHA256                     */
/* ======================================================================== */

/*
 * The handshake pattern (Noise rev. 34, sections 7.5 and 9):
 *
 *     -> psk, e
 *     <- e, ee, s, es
 *     -> s, se
 *
 * X25519 is crypto_scalarmult, the cipher crypto_aead_chacha20poly1305_ietf
 * with nonce = 4 zero bytes || little-endian 64-bit counter, the hash
 * crypto_hash_sha256, and HKDF is built on crypto_auth_hmacsha256. Each
 * handshake message is: the Noise tokens, then the payload sealed with the
 * handshake hash as associated data.
 *
 * The core also runs XXpsk3 (the psk mixed in at the end of message 3
 * instead of the start of message 1) for one reason only: the published
 * cross-implementation vectors (cacophony) include XXpsk3 but not XXpsk0,
 * so XXpsk3 lets a test check every message and Split() of this code
 * against them. The protocol itself only ever uses psk position 0.
 */

#define CAIRN__HS_KEY 32        /* X25519 keys, cipher keys, the psk */
#define CAIRN__HS_HASH 32       /* SHA-256 */
#define CAIRN__HS_TAG 16        /* Poly1305 */
#define CAIRN__HS_MSG_MAX 65535 /* Noise's limit on one message */

/*
 * The bytes each handshake message adds to its payload:
 *   message 1: e (32) + payload tag (16)                          = 48
 *   message 2: e (32) + sealed s (32 + 16) + payload tag (16)     = 96
 *   message 3: sealed s (32 + 16) + payload tag (16)              = 64
 */
#define CAIRN__HS_M1_OVERHEAD 48u
#define CAIRN__HS_M2_OVERHEAD 96u
#define CAIRN__HS_M3_OVERHEAD 64u

/*
 * One side of one handshake: the Noise SymmetricState (ck, h, k, n) and
 * HandshakeState (s, e, rs, re, psk). Plain value; no allocation.
 */
typedef struct cairn__hs {
	uint8_t ck[CAIRN__HS_HASH]; /* chaining key */
	uint8_t h[CAIRN__HS_HASH];  /* handshake hash */
	uint8_t k[CAIRN__HS_KEY];   /* cipher key, once has_k */
	uint64_t n;                 /* cipher nonce counter */
	bool has_k;
	bool initiator;
	bool fixed_e;    /* the ephemeral was set by cairn__hs_fix_ephemeral */
	uint8_t psk_pos; /* 0 (the protocol) or 3 (vector checks only) */
	uint8_t msg;     /* messages written or read so far: 0..3 */
	uint8_t psk[CAIRN__HS_KEY];
	uint8_t s_sk[CAIRN__HS_KEY], s_pk[CAIRN__HS_KEY]; /* local static */
	uint8_t e_sk[CAIRN__HS_KEY], e_pk[CAIRN__HS_KEY]; /* local ephemeral */
	uint8_t rs[CAIRN__HS_KEY]; /* remote static, once received */
	uint8_t re[CAIRN__HS_KEY]; /* remote ephemeral, once received */
} cairn__hs;

/*
 * Start a handshake: InitializeSymmetric(protocol name), MixHash(prologue).
 * `initiator` says which side this is; psk_pos is 0 (XXpsk0) or 3
 * (XXpsk3, for vector checks); `psk` is the 32-byte pre-shared key (the
 * mesh key); `s` the local static key pair. All inputs are copied.
 * Returns 0; CAIRN_EINVAL (a NULL argument, psk_pos not 0 or 3, a prologue
 * longer than CAIRN__HS_MSG_MAX); CAIRN_EIO (libsodium cannot start). On
 * error *hs is zeroed.
 */
CAIRN_NODISCARD int cairn__hs_init(cairn__hs *hs, bool initiator,
                                   unsigned psk_pos, const void *prologue,
                                   size_t prologue_len,
                                   const uint8_t psk[CAIRN__HS_KEY],
                                   const cairn_identity *s);

/*
 * TEST HOOK: use `secret` as this side's ephemeral secret key instead of
 * a random one (golden vectors). Call before the message that sends e.
 */
void cairn__hs_fix_ephemeral(cairn__hs *hs,
                             const uint8_t secret[CAIRN__HS_KEY]);

/* The bytes message `index` (1, 2 or 3) adds to its payload; 0 otherwise. */
size_t cairn__hs_overhead(unsigned index);

/*
 * Write the next handshake message, which must be this side's to write
 * (the initiator writes 1 and 3, the responder 2), sealing `payload`
 * (len bytes; may be NULL when len is 0) into out[0..cap). Stores the
 * message length, len + cairn__hs_overhead(index), in *out_len.
 * Returns 0; CAIRN_EINVAL (not this side's turn, the handshake is over,
 * or the message would exceed cap or CAIRN__HS_MSG_MAX: nothing changed);
 * CAIRN_EDECODE (a Diffie-Hellman result is all zeros: the peer sent a
 * low-order point). After CAIRN_EDECODE the handshake is unusable.
 */
CAIRN_NODISCARD int cairn__hs_write(cairn__hs *hs, const uint8_t *payload,
                                    size_t len, uint8_t *out, size_t cap,
                                    size_t *out_len);

/*
 * Read the next handshake message, which must be the peer's to write,
 * from msg[0..len), and open its payload into payload[0..cap), storing its
 * length in *payload_len (len - cairn__hs_overhead(index)).
 * Returns 0; CAIRN_EINVAL (not the peer's turn, or cap too small: nothing
 * changed); CAIRN_EDECODE (the message is too short, a sealed part does
 * not authenticate -- another psk or prologue, or damaged bytes -- or a
 * Diffie-Hellman result is all zeros). After CAIRN_EDECODE the handshake
 * is unusable; payload[] may hold garbage.
 */
CAIRN_NODISCARD int cairn__hs_read(cairn__hs *hs, const uint8_t *msg,
                                   size_t len, uint8_t *payload, size_t cap,
                                   size_t *payload_len);

/*
 * Split(): the two transport keys once all three messages are through.
 * k1 protects initiator -> responder, k2 responder -> initiator.
 * Returns 0, or CAIRN_EINVAL (the handshake is not complete).
 */
CAIRN_NODISCARD int cairn__hs_split(const cairn__hs *hs,
                                    uint8_t k1[CAIRN__HS_KEY],
                                    uint8_t k2[CAIRN__HS_KEY]);

/* Overwrite every key and hash in *hs with zeros. */
void cairn__hs_wipe(cairn__hs *hs);

/* ======================================================================== */
/* The replay cache                                                         */
/* ======================================================================== */

/*
 * The ephemeral public keys of the first handshake messages a responder
 * recently accepted. A replayed first message (the same e) is dropped
 * silently: it could only ever be answered with a second message that
 * the replayer cannot use, but answering costs two Diffie-Hellman
 * operations. One cache serves every handshake of a responder; the caller
 * owns it and passes it to each link (cairn__link_config.replay).
 *
 * Bounded: `capacity` keys, the oldest forgotten first. A key needs to be
 * remembered only while its message would still pass the clock check
 * (twice the allowed skew), so size it for the handshake rate over that
 * window: the default, 8,192 keys (about 300 KiB), covers 34 handshakes
 * a second for 240 s. The table is keyed by SipHash-1-3 under a random
 * key, so chosen keys cannot pile into one bucket.
 */
#define CAIRN__REPLAY_DEFAULT_CAPACITY 8192u
#define CAIRN__REPLAY_MAX_CAPACITY (1u << 24)

typedef struct cairn__replay_entry {
	uint8_t key[CAIRN__HS_KEY];
	uint32_t hash;
} cairn__replay_entry;

typedef struct cairn__replay {
	cairn__replay_entry *ring; /* capacity entries, in insertion order */
	uint32_t *index;           /* open addressing: ring position + 1 */
	uint32_t capacity, count;
	uint32_t oldest; /* ring position of the oldest entry */
	uint32_t mask;   /* index slots - 1 */
	uint8_t hash_key[16];
	cairn_allocator alloc;
} cairn__replay;

/*
 * Make an empty cache of `capacity` keys (1..CAIRN__REPLAY_MAX_CAPACITY)
 * that allocates with `alloc` (NULL: the C library).
 * Returns 0; CAIRN_EINVAL (capacity out of range); CAIRN_ENOMEM;
 * CAIRN_EIO (libsodium cannot start). On error nothing stays allocated
 * and *rc is zeroed (cairn__replay_free on it is harmless).
 */
CAIRN_NODISCARD int cairn__replay_init(cairn__replay *rc, uint32_t capacity,
                                       const cairn_allocator *alloc);

/*
 * Has `key` been seen? Returns true if it is in the cache (nothing
 * changes); otherwise remembers it, forgetting the oldest key when the
 * cache is full, and returns false. Never allocates.
 */
CAIRN_NODISCARD bool
cairn__replay_check_and_add(cairn__replay *rc,
                            const uint8_t key[CAIRN__HS_KEY]);

/* Release the cache's memory; *rc is zeroed. NULL-safe. */
void cairn__replay_free(cairn__replay *rc);

/* ======================================================================== */
/* The rate limiter                                                         */
/* ======================================================================== */

/*
 * A token bucket per peer address, for handshakes (after wireguard-go:
 * 20 a second, burst 5). Each address may start `burst` handshakes at
 * once and `per_second` a second after that; a handshake over the limit
 * is dropped silently. The key is opaque bytes the caller chooses: the
 * IPv4 address (4 bytes), or for IPv6 the /64 prefix (8 bytes), since
 * one host usually owns a whole /64.
 *
 * Bounded: `capacity` addresses; when a new one arrives and the table is
 * full, the address seen least recently is forgotten (it would get a full
 * bucket on its return, which is the cost of a bounded table). Tokens are
 * counted in thousandths, so any rate from 1 to 1,000,000 a second is
 * exact to the millisecond. The clock is the caller's `now_ms`; a clock
 * that steps back refills nothing.
 */
#define CAIRN__RATELIMIT_KEY_MAX 16

typedef struct cairn__ratelimit_config {
	uint32_t per_second; /* tokens added a second: 1..1e6 (20) */
	uint32_t burst;      /* bucket size: 1..1e6 (5) */
	uint32_t capacity;   /* addresses remembered: 1..2^24 (4,096) */
} cairn__ratelimit_config;

/* Fill *cfg with the defaults: 20 a second, burst 5, 4,096 addresses. */
void cairn__ratelimit_config_init(cairn__ratelimit_config *cfg);

typedef struct cairn__ratelimit_entry {
	uint8_t key[CAIRN__RATELIMIT_KEY_MAX];
	uint8_t key_len;
	uint32_t hash;
	uint64_t tokens; /* thousandths of a token */
	uint64_t last_ms;
	uint32_t newer, older; /* recency list; UINT32_MAX at the ends */
} cairn__ratelimit_entry;

typedef struct cairn__ratelimit {
	cairn__ratelimit_entry *entries; /* capacity entries */
	uint32_t *index;                 /* open addressing: entry + 1 */
	uint32_t count, mask;
	uint32_t newest, oldest; /* ends of the recency list */
	cairn__ratelimit_config cfg;
	uint8_t hash_key[16];
	cairn_allocator alloc;
} cairn__ratelimit;

/*
 * Make an empty limiter with `cfg` (NULL: the defaults) that allocates
 * with `alloc` (NULL: the C library).
 * Returns 0; CAIRN_EINVAL (a field out of range); CAIRN_ENOMEM; CAIRN_EIO.
 * On error nothing stays allocated and *rl is zeroed.
 */
CAIRN_NODISCARD int cairn__ratelimit_init(cairn__ratelimit *rl,
                                          const cairn__ratelimit_config *cfg,
                                          const cairn_allocator *alloc);

/*
 * May the address key[0..key_len) start a handshake at now_ms? Takes one
 * token from its bucket and returns true, or returns false when the
 * bucket is empty. key_len is 0..CAIRN__RATELIMIT_KEY_MAX; a longer key
 * is cut to that length. Never allocates.
 */
CAIRN_NODISCARD bool cairn__ratelimit_allow(cairn__ratelimit *rl,
                                            const uint8_t *key, size_t key_len,
                                            uint64_t now_ms);

/* Release the limiter's memory; *rl is zeroed. NULL-safe. */
void cairn__ratelimit_free(cairn__ratelimit *rl);

/* ======================================================================== */
/* The link                                                                 */
/* ======================================================================== */

/*
 * One cairn__link per connection, from the first handshake byte to the
 * final frame. Its life:
 *
 *   initiator: init -> start (m1 out) -> feed(m2) -> [m3 out] HANDSHAKE
 *   responder: init -> feed(m1) -> [m2 out] -> feed(m3) -> HANDSHAKE
 *   both:      seal / feed (MESSAGE events) ... close (FINAL out),
 *              feed until the peer's FINAL (CLOSED, err 0), wipe.
 *
 * Wire: each handshake message is u16be length || message (58, 129 and 92
 * bytes in v1); each frame is u32be length || secretstream ciphertext of
 * one message, the 4 length bytes as associated data (17 bytes of
 * overhead: docs/PROTOCOL.md). The prologue is "CAIRN/1".
 *
 * The responder says nothing until the initiator has proved it holds the
 * mesh key: before its second message, every failure (garbage, another
 * mesh key, a clock too far off, a replayed first message, a rate limit)
 * ends in a DROP event, and the caller closes the connection without a
 * word. A prober learns nothing, not even that a cairn node listens.
 *
 * Every failure after that is a sticky error: the link reports CLOSED
 * with the code and a reason, and from then on every call returns that
 * code. Nothing decrypted after a failure is ever delivered.
 */

#define CAIRN__LINK_VERSION 1u
#define CAIRN__LINK_PROLOGUE "CAIRN/1"

/* Handshake messages of v1 (without their 2-byte length prefix). */
#define CAIRN__LINK_M1_PAYLOAD 10u /* version, flags, unix ms */
#define CAIRN__LINK_M2_PAYLOAD 33u /* version, unix ms, stream header */
#define CAIRN__LINK_M3_PAYLOAD 28u /* stream header, caps */
#define CAIRN__LINK_M1_BYTES (CAIRN__HS_M1_OVERHEAD + CAIRN__LINK_M1_PAYLOAD)
#define CAIRN__LINK_M2_BYTES (CAIRN__HS_M2_OVERHEAD + CAIRN__LINK_M2_PAYLOAD)
#define CAIRN__LINK_M3_BYTES (CAIRN__HS_M3_OVERHEAD + CAIRN__LINK_M3_PAYLOAD)
/*
 * The longest handshake message a link accepts. v1 messages are exact
 * sizes, but a peer of a later version may send longer ones; reading them
 * (up to this bound, in a fixed buffer) lets the link answer "version"
 * rather than "garbage".
 */
#define CAIRN__LINK_HS_MAX 1024u

/* Frames: the length field's limit, and secretstream's overhead. */
#define CAIRN__LINK_FRAME_MAX (1u << 20)
#define CAIRN__LINK_FRAME_OVERHEAD                                             \
	(4 + crypto_secretstream_xchacha20poly1305_ABYTES)
#define CAIRN__LINK_STREAM_HEADER                                              \
	crypto_secretstream_xchacha20poly1305_HEADERBYTES

/* Rekey thresholds (DESIGN.md section 5): whichever comes first. */
#define CAIRN__LINK_REKEY_FRAMES (UINT64_C(1) << 20)
#define CAIRN__LINK_REKEY_BYTES (UINT64_C(1) << 30)
#define CAIRN__LINK_MAX_SKEW_MS UINT64_C(120000)

typedef enum cairn__link_role {
	CAIRN__LINK_INITIATOR = 1, /* dialled out: writes m1 and m3 */
	CAIRN__LINK_RESPONDER = 2, /* accepted: writes m2 */
} cairn__link_role;

/*
 * How a link is set up. cairn__link_config_init() fills the defaults;
 * set identity and mesh_key, then what differs.
 */
typedef struct cairn__link_config {
	/* This device's static key pair, and the mesh key (the psk). Both
	 * required; copied into the handshake state, which is wiped as soon
	 * as the handshake ends (or fails). */
	const cairn_identity *identity;
	const cairn_mesh_key *mesh_key;
	/* The largest difference between the peer's clock and `now` a
	 * handshake accepts, in ms (120,000). */
	uint64_t max_clock_skew_ms;
	/* The largest frame length field accepted and sent: 17..2^20
	 * (2^20); a message may be frame_cap - 17 bytes. */
	uint32_t frame_cap;
	/* Send TAG_REKEY after this many frames or bytes, whichever comes
	 * first (2^20 frames, 2^30 bytes); at least 1 each. */
	uint64_t rekey_frames;
	uint64_t rekey_bytes;
	/* Initiator: the capability bits sent in m3 (0). */
	uint32_t caps;
	/* Responder: the replay cache and the rate limiter shared by all
	 * its handshakes, owned by the caller, which keeps them alive while
	 * the link lives. NULL turns the check off (tests and fuzzing; a
	 * listening node must pass both). */
	cairn__replay *replay;
	cairn__ratelimit *ratelimit;
	/* Responder: the peer's address as rate-limiter key (see
	 * cairn__ratelimit), 0..CAIRN__RATELIMIT_KEY_MAX bytes; copied. */
	const uint8_t *peer_addr;
	size_t peer_addr_len;
	/* For the link's frame buffers (NULL members: the C library). */
	cairn_allocator allocator;
} cairn__link_config;

/* Fill *cfg with the defaults above (identity and mesh_key NULL). */
void cairn__link_config_init(cairn__link_config *cfg);

typedef enum cairn__link_event_type {
	/* Nothing to report: every byte given was consumed. */
	CAIRN__LINK_EV_NONE = 0,
	/* The handshake is complete: the peer_* fields and handshake_hash
	 * are set. The initiator has also appended m3 to *out. Messages may
	 * be sealed from now on. */
	CAIRN__LINK_EV_HANDSHAKE,
	/* One message: msg[0..msg_len), valid until the next call on the
	 * link. */
	CAIRN__LINK_EV_MESSAGE,
	/* Responder, before it has said anything: close the connection
	 * without a word (err, reason say why, for the log). Sticky. */
	CAIRN__LINK_EV_DROP,
	/* The link is over: err 0 when the peer sent its final frame (the
	 * sending side stays usable until cairn__link_close), else the
	 * sticky error and its reason. */
	CAIRN__LINK_EV_CLOSED,
} cairn__link_event_type;

typedef struct cairn__link_event {
	cairn__link_event_type type;
	/* MESSAGE */
	const uint8_t *msg;
	size_t msg_len;
	/* HANDSHAKE: the peer's static key and device id (authorize by the
	 * id), its wall clock from its handshake message, its capability
	 * bits (the initiator's caps, seen by the responder; 0 the other
	 * way), and the final handshake hash (equal on both sides; public,
	 * usable for channel binding). */
	uint8_t peer_key[CAIRN_KEY_BYTES];
	cairn_device_id peer_id;
	uint64_t peer_clock_ms;
	uint32_t peer_caps;
	uint8_t handshake_hash[CAIRN__HS_HASH];
	/* DROP, CLOSED: the code (0 for a clean close) and an English reason
	 * that lives as long as the link. */
	int err;
	const char *reason;
} cairn__link_event;

/*
 * TEST HOOK (golden vectors): the link uses ephemeral_secret and
 * stream_header instead of random ones, and writes the Split() keys
 * (k1: initiator -> responder, k2: the other way) when its handshake
 * completes. Nothing else may use it.
 */
typedef struct cairn__link_test_hook {
	uint8_t ephemeral_secret[CAIRN__HS_KEY];                  /* in */
	uint8_t stream_header[CAIRN__LINK_STREAM_HEADER];         /* in */
	uint8_t split_k1[CAIRN__HS_KEY], split_k2[CAIRN__HS_KEY]; /* out */
} cairn__link_test_hook;

/* The link's states (link->state). */
enum {
	CAIRN__LINK_S_NEW = 0,     /* initiator before cairn__link_start */
	CAIRN__LINK_S_WAIT_M1,     /* responder */
	CAIRN__LINK_S_WAIT_M2,     /* initiator, m1 sent */
	CAIRN__LINK_S_WAIT_M3,     /* responder, m2 sent */
	CAIRN__LINK_S_OPEN,        /* frames both ways */
	CAIRN__LINK_S_PEER_CLOSED, /* the peer's FINAL arrived */
	CAIRN__LINK_S_DEAD,        /* a sticky error or a drop */
};

/*
 * The link. Its fields are read-only outside link.c; the peer_* fields
 * hold what the HANDSHAKE event reported, and the counters are for tests
 * and statistics.
 */
typedef struct cairn__link {
	int state;
	cairn__link_role role;
	int err;      /* the sticky error (0 while alive) */
	bool dropped; /* the sticky error was a DROP */
	char reason[160];

	/* configuration (the static key and mesh key live only in hs, and
	 * only until the handshake ends) */
	uint64_t max_skew_ms;
	uint32_t frame_cap;
	uint64_t rekey_frames, rekey_bytes;
	uint32_t caps;
	cairn__replay *replay;
	cairn__ratelimit *ratelimit;
	uint8_t addr[CAIRN__RATELIMIT_KEY_MAX];
	size_t addr_len;
	cairn_allocator alloc;
	uint64_t start_ms; /* `now` at init: the initiator's m1 clock */
	cairn__link_test_hook *hook;

	/* the handshake */
	cairn__hs hs;
	bool rate_checked;
	size_t hs_have; /* bytes of hs_buf filled */
	uint8_t hs_buf[2 + CAIRN__LINK_HS_MAX];
	uint8_t my_header[CAIRN__LINK_STREAM_HEADER];

	/* the peer, once the handshake is complete */
	uint8_t peer_key[CAIRN_KEY_BYTES];
	cairn_device_id peer_id;
	uint64_t peer_clock_ms;
	uint32_t peer_caps;
	uint8_t handshake_hash[CAIRN__HS_HASH];

	/* frames */
	crypto_secretstream_xchacha20poly1305_state tx, rx;
	uint8_t frame_head[4];
	size_t head_have;   /* 0..4 bytes of the length field */
	uint32_t frame_len; /* once head_have == 4 */
	size_t body_have;   /* ciphertext bytes in ct */
	uint8_t *ct, *pt;   /* reassembly and plaintext buffers */
	size_t ct_cap, pt_cap;
	bool sent_final;
	uint64_t tx_frames_epoch, tx_bytes_epoch; /* since the last rekey */
	uint64_t frames_sent, frames_received;
	uint64_t rekeys_sent, rekeys_received;
} cairn__link;

/*
 * Set up *link for one connection in `role`, with cfg (copied; the
 * replay cache and rate limiter it names are borrowed) at wall-clock
 * now_ms (unix ms; the initiator's m1 carries it). Allocates nothing.
 * Returns 0; CAIRN_EINVAL (NULL identity or mesh key, a bad role, a
 * field out of range, peer_addr_len > CAIRN__RATELIMIT_KEY_MAX);
 * CAIRN_EIO (libsodium cannot start). On error *link is zeroed and
 * cairn__link_wipe on it is harmless.
 */
CAIRN_NODISCARD int cairn__link_init(cairn__link *link, cairn__link_role role,
                                     const cairn__link_config *cfg,
                                     uint64_t now_ms);

/*
 * TEST HOOK: see cairn__link_test_hook. Call right after cairn__link_init
 * (before start or the first feed); `hook` must outlive the handshake.
 */
void cairn__link_set_test_hook(cairn__link *link, cairn__link_test_hook *hook);

/*
 * Initiator: append m1 (60 bytes with its prefix) to *out.
 * Returns 0; CAIRN_EINVAL (a responder, or started already);
 * CAIRN_ENOMEM (out and the link unchanged: call again).
 */
CAIRN_NODISCARD int cairn__link_start(cairn__link *link, cairn_buf *out);

/*
 * Consume received bytes[0..len) at wall-clock now_ms, append whatever
 * the link must send (m2, m3) to *out, store how many bytes were consumed
 * in *consumed, and report at most one event in *ev.
 *
 * The bytes may come in any pieces, down to one at a time: the link
 * keeps a partial handshake message or frame, in a fixed buffer for the
 * handshake and for frames in a buffer that grows with the bytes that
 * have arrived (never past the frame's length, which is checked against
 * frame_cap before anything is allocated). A frame that arrives whole in
 * `bytes` is opened in place, without a copy. A link holds at most two
 * buffers of frame_cap bytes (the partial frame and the last message).
 *
 * The call stops at the first event, so *consumed may be less than len:
 * call again with the rest. Loop until it returns an error, reports
 * DROP or CLOSED, or reports NONE (then every byte was consumed).
 *
 * Returns 0 with ev->type NONE, HANDSHAKE, MESSAGE or CLOSED (err 0, the
 * peer's FINAL). Otherwise:
 *   CAIRN_ENOMEM   a buffer could not grow; not sticky, nothing lost:
 *                  the consumed bytes are kept, call again with the rest
 *                  (with len 0 if there is no rest) to resume;
 *   CAIRN_EINVAL   a NULL argument, or an initiator not started; nothing
 *                  changed;
 *   any other      sticky, with ev->type DROP or CLOSED, ev->err the code
 *                  and ev->reason why:
 *     CAIRN_EDECODE      bytes that do not authenticate or do not parse
 *                        (another mesh key, garbage, a tampered, replayed,
 *                        reordered or cut frame, a frame of length 0 or
 *                        shorter than its tag, bytes after FINAL);
 *     CAIRN_ELIMIT       a frame length over frame_cap, or (DROP) the
 *                        rate limit;
 *     CAIRN_ECLOCK_SKEW  the peer's clock is off by more than allowed;
 *     CAIRN_EVERSION     the peer speaks another protocol version;
 *     CAIRN_EPOLICY      (DROP) a replayed first message.
 * After the peer's FINAL, a call with more bytes fails with CAIRN_EDECODE.
 */
CAIRN_NODISCARD int cairn__link_feed(cairn__link *link, const uint8_t *bytes,
                                     size_t len, uint64_t now_ms,
                                     cairn_buf *out, size_t *consumed,
                                     cairn__link_event *ev);

/*
 * Seal msg[0..len) into one frame appended to *out. Every rekey_frames
 * frames or rekey_bytes bytes the frame carries TAG_REKEY (both sides
 * then derive the next key).
 * Returns 0; CAIRN_ETOOBIG (len > frame_cap - 17); CAIRN_EINVAL (the
 * handshake is not complete, or the link was closed); CAIRN_ENOMEM (out
 * and the link unchanged); or the sticky error.
 */
CAIRN_NODISCARD int cairn__link_seal(cairn__link *link, const uint8_t *msg,
                                     size_t len, cairn_buf *out);

/*
 * Append the final frame (TAG_FINAL, empty) to *out; nothing may be
 * sealed after it. The peer's frames are still read until its own FINAL.
 * Returns 0; CAIRN_EINVAL (not established, or closed already);
 * CAIRN_ENOMEM (nothing changed); or the sticky error.
 */
CAIRN_NODISCARD int cairn__link_close(cairn__link *link, cairn_buf *out);

/*
 * The connection ended (the transport reports end of stream). Returns 0
 * if the peer's FINAL had arrived (a clean end; ev->type NONE); otherwise
 * a sticky CAIRN_EDECODE with ev->type CLOSED (DROP for a responder that
 * had not spoken yet) and a reason: cut during the handshake, in the
 * middle of a frame, or before the final frame.
 */
CAIRN_NODISCARD int cairn__link_eof(cairn__link *link, cairn__link_event *ev);

/* True once the handshake is complete and until a sticky error. */
bool cairn__link_established(const cairn__link *link);

/* The largest message cairn__link_seal accepts: frame_cap - 17. */
size_t cairn__link_max_message(const cairn__link *link);

/*
 * Release the link's buffers and overwrite its keys; *link is zeroed and
 * may be initialised again. NULL-safe. Pointers from MESSAGE events die.
 */
void cairn__link_wipe(cairn__link *link);

#endif /* CAIRN_NET_PROTO_LINK_INT_H */
