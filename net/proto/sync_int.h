/*
 * sync_int.h -- the sync engine of net/proto/ (sans-I/O): what two
 * replicas say to each other once their link is secure. docs/PROTOCOL.md
 * ("Sync messages") is the wire description; this is the contract of the
 * code.
 *
 * One cairn__sync serves one store and any number of links. Each link,
 * once its handshake has named the peer's device, gets a cairn__peer. The
 * engine never touches a socket or a clock: the caller hands it each
 * plaintext message received on a link with the time (cairn__sync_recv),
 * asks it for the next message to send while the link's send queue has
 * room (cairn__sync_next), and calls it again at cairn__sync_deadline().
 * Asking for output only when there is room is the flow control: a peer
 * catching up on a million entries is fed exactly as fast as its link
 * drains, and records that pile up meanwhile leave in big batches.
 *
 * What flows. Every replica numbers its log records (store.h: sequence
 * numbers). Each direction of a link streams the sender's log to the
 * receiver in sequence order, from where the receiver says it is (its
 * `mark`: every record of the sender up to it is joined and logged on the
 * receiver, persisted with cairn_store_peer_put under the sender's device
 * id). Local writes and changed joins both become records, so the stream
 * carries a replica's own writes and what it learnt from others, and a
 * join that changes nothing makes no record: a mesh does not echo. A
 * record that came in on a link is not sent back on that link.
 * When the sender's log no longer reaches back to the receiver's mark
 * (compaction dropped it, or the receiver is new), the sender runs a
 * reconciliation: it compares per-document digests with the receiver in a
 * 16-way tree of document-id hashes and sends the states of the documents
 * that differ (all of them to an empty peer), in bounded messages; then
 * the receiver's mark jumps to where the sender's log stood when it began.
 *
 * THREAD SAFETY: none; one thread (the loop's) owns an engine, its peers
 * and its store.
 */
#ifndef CAIRN_SYNC_INT_H
#define CAIRN_SYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/net.h"
#include "cairn/store.h"

/* The sync protocol's version, carried in HELLO. */
#define CAIRN__SYNC_VERSION 1

/* Message types: the first element of every message (docs/PROTOCOL.md). */
enum cairn__msg_type {
	CAIRN__MSG_HELLO = 1,
	CAIRN__MSG_DELTAS = 2,
	CAIRN__MSG_ACK = 3,
	CAIRN__MSG_PULL = 4,
	CAIRN__MSG_RECON_Q = 5,
	CAIRN__MSG_RECON_A = 6,
	CAIRN__MSG_RECON_END = 7,
	CAIRN__MSG_DOCS = 8,
	CAIRN__MSG_PING = 9,
	CAIRN__MSG_PONG = 10,
	CAIRN__MSG_BYE = 11,
	CAIRN__MSG_FRAG = 12,
	CAIRN__MSG_DIGEST = 13,
};

/* Why a link ends: the code of a BYE message. */
enum cairn__bye_code {
	CAIRN__BYE_NORMAL = 0,     /* closing, nothing wrong */
	CAIRN__BYE_PROTOCOL = 1,   /* a malformed or unexpected message */
	CAIRN__BYE_VERSION = 2,    /* no common protocol version */
	CAIRN__BYE_CLOCK_SKEW = 3, /* a clock too far ahead (text names both) */
	CAIRN__BYE_NOT_ALLOWED = 4, /* the device is not on the allow-list */
	CAIRN__BYE_POLICY = 5,      /* register policies disagree */
	CAIRN__BYE_STORE = 6,       /* the local store failed */
	CAIRN__BYE_TIMEOUT = 7,     /* heartbeats missed */
	CAIRN__BYE_LIMIT = 8,       /* a message over a configured limit */
};

typedef struct cairn__sync cairn__sync;
typedef struct cairn__peer cairn__peer;

/* Observers; any may be NULL. They run inside cairn__sync_recv(). */
typedef struct cairn__sync_events {
	void *ud;
	/* A join from peer p changed (doc_id, field). */
	void (*change)(void *ud, cairn__peer *p, const char *doc_id,
	               const char *field);
	/* p's HELLO arrived: the link is syncing. */
	void (*peer_up)(void *ud, cairn__peer *p);
} cairn__sync_events;

typedef struct cairn__sync_config {
	cairn_store *store;    /* borrowed; outlives the engine */
	cairn_device_id self;  /* this device */
	cairn_allocator alloc; /* default: the C library */
	cairn__sync_events events;
	/* Optional allow-list: NULL = every device with the mesh key. */
	const cairn_device_id *allow;
	size_t nallow;
	uint32_t heartbeat_ms;    /* PING after this much silence (15,000) */
	uint32_t heartbeat_miss;  /* close after this many missed (3) */
	uint32_t pull_ms;         /* digest comparison period (60,000) */
	uint32_t ack_ms;          /* ACK at most this late (100) */
	uint32_t mark_persist_ms; /* persist marks this often (1,000) */
	uint32_t batch_bytes;     /* target size of a DELTAS/DOCS message
	                             (256 KiB) */
	uint32_t frame_bytes;     /* largest message in one frame; larger ones
	                             go as FRAG pieces (1 MiB - 64) */
	uint64_t max_message;     /* largest reassembled message (256 MiB) */
	uint32_t recon_leaf;      /* tree nodes up to this many documents
	                             are listed, not split (16, at most 64) */
	uint64_t max_skew_ms;     /* a HELLO clock further ahead is refused
	                             (CAIRN_DEFAULT_MAX_SKEW_MS; deltas are
	                             checked by the replica's own limit) */
	uint32_t retry_ms;        /* re-ask after this long without an
	                             answer: a PULL, a reconciliation (5,000) */
	bool send_durable_only;   /* stream only durable records (true) */
} cairn__sync_config;

/* Defaults for everything but store and self. */
void cairn__sync_config_init(cairn__sync_config *cfg);

int cairn__sync_new(const cairn__sync_config *cfg, cairn__sync **out);
/* Free the engine; every peer must have been detached. */
void cairn__sync_free(cairn__sync *s);

/*
 * A link's handshake is complete and named `peer`: start syncing with it
 * at `now_ms`. Returns 0 and *out, or CAIRN_ENOMEM. A peer not on the
 * allow-list still gets a cairn__peer: its first output is a BYE
 * NOT_ALLOWED naming both devices, after which cairn__sync_next() returns
 * CAIRN_EPOLICY (close the link).
 */
int cairn__sync_attach(cairn__sync *s, const cairn_device_id *peer,
                       uint64_t now_ms, cairn__peer **out);

/* The link is gone: persist the peer's mark and free p. */
void cairn__sync_detach(cairn__sync *s, cairn__peer *p);

/*
 * One plaintext message received on p's link. Returns 0; or a negative
 * cairn_err when the link must close, and cairn__sync_peer_error() says
 * why. For a fault found here (a malformed message, a clock too far
 * ahead, a store failure) the engine has queued a BYE: send what
 * cairn__sync_next() still gives, then close. For a BYE from the peer
 * nothing is queued; the code tells what the peer said: CAIRN_EAGAIN (a
 * normal close: redial later), CAIRN_ECLOCK_SKEW, CAIRN_EPOLICY (not
 * allowed), CAIRN_EVERSION, CAIRN_EIO (anything else).
 * After a recv, records may have been appended to the store (joins):
 * every other link has something new to send, and under GROUP commit they
 * leave once durable.
 */
int cairn__sync_recv(cairn__sync *s, cairn__peer *p, const uint8_t *msg,
                     size_t len, uint64_t now_ms);

/*
 * The next message for p's link, appended to *out (one message, at most
 * frame_bytes). Returns 1 when one was appended, 0 when there is nothing
 * to send now (call again after cairn__sync_recv, a local write, or the
 * deadline), or a negative cairn_err: the link must close (after a BYE,
 * which this call returned earlier).
 */
int cairn__sync_next(cairn__sync *s, cairn__peer *p, uint64_t now_ms,
                     cairn_buf *out);

/* When p next needs cairn__sync_next() without new input (UINT64_MAX:
 * never). */
uint64_t cairn__sync_deadline(const cairn__sync *s, const cairn__peer *p);

/*
 * New records in the store (a local write, a sync that made some durable)
 * need no call here: cairn__sync_next() reads the store's progress itself,
 * so the caller only asks each link for its next message.
 */

/* Ask p's link to close cleanly: a BYE NORMAL is queued. */
void cairn__sync_bye(cairn__sync *s, cairn__peer *p);

/* What a link's sync looks like from here. */
typedef struct cairn__peer_state {
	cairn_device_id device;
	bool hello;               /* the peer's HELLO arrived */
	bool reconciling;         /* a reconciliation is under way */
	uint64_t last_sync_ms;    /* last time both directions were caught up
	                             (0: never) */
	uint64_t outstanding_out; /* my records the peer has not acked */
	uint64_t outstanding_in;  /* the peer's records I have not joined */
	uint64_t msgs_in, msgs_out;
	uint64_t bytes_in, bytes_out; /* plaintext message bytes */
} cairn__peer_state;

void cairn__sync_peer_state(const cairn__peer *p, cairn__peer_state *out);

/* Why the link is closing ("" if it is not): a BYE sent or received. */
const char *cairn__sync_peer_error(const cairn__peer *p);

#endif /* CAIRN_SYNC_INT_H */
