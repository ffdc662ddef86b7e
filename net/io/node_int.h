/*
 * node_int.h -- the node's insides (include/cairn/net.h, "The node"), shared
 * by its files:
 *
 *   node.c       the node: config, writes, durability, posts, status, close
 *   node_link.c  one TCP link: handshake, frames, the sync pump, its end
 *   node_net.c   listening and accepting (caps, rate limit), dialling and
 *                redialling with backoff
 *
 * Everything runs on the loop's thread but cairn_node_post(), which takes
 * the post mutex. Memory per link is bounded: the secure link holds at
 * most one partial frame, the pump stops asking the engine for output once
 * LINK_WRITE_BOUND bytes are queued on the socket, and every read lands
 * in one buffer of the node's that is consumed before the callback
 * returns.
 */
#ifndef CAIRN_NODE_INT_H
#define CAIRN_NODE_INT_H

/* uv.h needs the POSIX thread types, which ISO C mode hides. */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "cairn/loop.h"
#include "cairn/net.h"
#include "link_int.h"
#include "sync_int.h"

/* Stop asking the engine for messages once this much is queued on a
 * socket: a catch-up of a million records is fed as fast as the link
 * drains, never faster. */
#define LINK_WRITE_BOUND (256u * 1024u)
/* With a backlog, hand the socket at least this much per write
 * (DESIGN.md section 5: >= 16 KiB writes). */
#define LINK_GATHER (64u * 1024u)
/* One read: the node's buffer, shared by every link. */
#define NODE_READ_BYTES (64u * 1024u)
/* After a BYE: how long the peer gets to read it and hang up. */
#define LINK_CLOSE_GRACE_MS 2000u
/* A link up this long resets its dialler's backoff. */
#define DIAL_RESET_MS 10000u
/* At most one "refused" log line per this long (a flood must not flood
 * the log too). */
#define REFUSE_LOG_MS 1000u

typedef struct node_link node_link;
typedef struct node_dialer node_dialer;
typedef struct node_listener node_listener;

/* A doubly linked list threaded through its members. */
typedef struct node_list {
	struct node_list *prev, *next;
} node_list;

typedef enum link_state {
	LINK_CONNECTING = 1, /* dialled: the TCP connect is under way */
	LINK_HANDSHAKE,      /* the secure link's handshake runs */
	LINK_SYNC,           /* handshake done, attached to the engine */
	LINK_CLOSING,        /* a BYE went out: waiting for the peer's EOF */
	LINK_CLOSED,         /* handles closing; freed when both are */
} link_state;

struct node_link {
	node_list entry; /* in node->links */
	cairn_node *node;
	node_dialer *dialer; /* NULL for a link that came in */
	uv_tcp_t tcp;
	uv_timer_t timer; /* handshake deadline, engine deadline, grace */
	uv_connect_t connect;
	uv_shutdown_t shutdown;
	int open_handles;
	link_state state;
	cairn__link sec; /* from node_link_start() */
	bool sec_ready;
	cairn__peer *peer; /* once attached */
	bool attached;     /* the engine had it (a DOWN event is owed) */
	bool up;           /* the engine said HELLO came (peer event UP) */
	bool up_owed;      /* ... and the UP event is still to be fired */
	bool pumping;
	uint8_t ip[16]; /* the remote address, for the per-IP cap */
	uint8_t ip_len;
	cairn_device_id device;
	bool named; /* device is known (handshake done) */
	uint64_t started_ms, connected_ms;
	uint64_t bytes_in, bytes_out;
	size_t inflight;         /* bytes handed to uv_write, not yet done */
	cairn_buf out;           /* sealed frames waiting for the next write */
	cairn_buf msg;           /* scratch: one plaintext message */
	cairn_peer_status final; /* what the DOWN event reports */
	char address[64];
	char error[160];
};

struct node_dialer {
	node_list entry; /* in node->dialers */
	cairn_node *node;
	char host_port[64];
	char host[64];
	uint16_t port;
	struct sockaddr_storage addr;
	bool numeric; /* addr holds the address; no resolving */
	uv_timer_t timer;
	uv_getaddrinfo_t gai;
	bool resolving;
	int open_handles;
	node_link *link;   /* the current attempt or link */
	uint32_t attempts; /* failures since a link stayed up */
	uint32_t reconnects;
	cairn_device_id device; /* learnt from the first handshake */
	bool named;
	bool covered; /* a link to its device came in: wait for it to end */
	bool removing;
	char error[160];
};

struct node_listener {
	node_list entry; /* in node->listeners */
	cairn_node *node;
	uv_tcp_t tcp;
	char address[64];
};

typedef struct node_post {
	struct node_post *next;
	void (*fn)(cairn_node *n, void *ud);
	void *ud;
} node_post;

/* A cairn_node_flush() waiting for its records to be durable. */
typedef struct node_flush {
	struct node_flush *next;
	cairn_node *node;
	uint64_t seq;
	void (*cb)(void *ud, int status);
	void *ud;
} node_flush;

struct cairn_node {
	uv_loop_t *loop;
	cairn_store *store;
	cairn_store_loop *sl; /* GROUP stores only */
	cairn__sync *sync;
	cairn__ratelimit limiter; /* handshakes per address (the link's) */
	cairn__replay replay;     /* m1 ephemerals seen (the link's) */
	cairn_identity identity;
	cairn_mesh_key mesh_key;
	cairn_device_id self;
	cairn_device_id *allow;
	size_t nallow;
	cairn_node_observers obs;
	uint32_t handshake_timeout_ms;
	uint32_t backoff_min_ms, backoff_max_ms;
	uint32_t max_links, max_links_per_ip;
	uint64_t max_clock_skew_ms;

	node_list links, dialers, listeners;
	size_t nlinks;
	uint8_t *read_buf;    /* NODE_READ_BYTES, shared by every link */
	node_link *recv_link; /* the link whose bytes the engine reads */
	/* The engine's change events, "doc\0field\0" each, held until
	 * cairn__sync_recv() returns (node_fire_events). */
	cairn_buf changes;
	uint64_t changes_lost; /* events dropped for want of memory */

	/* Durability of what the engine and the writes appended: one
	 * request to the store loop at a time, for the highest seq wanted. */
	bool durable_pending;
	uint64_t durable_want;
	int durable_error;   /* an fsync failed: the store is poisoned */
	node_flush *flushes; /* cairn_node_flush() callers, FIFO */
	node_flush **flushes_tail;

	uv_timer_t kick; /* a pump of every link on the next turn */
	uv_async_t async;
	uv_mutex_t post_mutex; /* destroyed with the node: a thread may be
	                          about to lock it when the node closes */
	bool mutex_ready;
	node_post *posts; /* under post_mutex */
	node_post **posts_tail;
	bool post_closed; /* under post_mutex */
	int open_handles; /* kick + async, while not closed */

	uint64_t refuse_logged_ms;
	uint64_t refused_quiet; /* refusals not logged since */

	bool closing;
	bool sl_closing;
	void (*closed)(void *ud);
	void *closed_ud;
};

/* List helpers. */
void node_list_init(node_list *l);
void node_list_add(node_list *l, node_list *e);
void node_list_del(node_list *e);
bool node_list_empty(const node_list *l);

#define NODE_CONTAINER(p, type, member)                                        \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

/* Wall-clock milliseconds: the engine's and the handshake's `now`. */
uint64_t node_now_ms(void);

/* A line for the log observer (truncated at 255 bytes). */
void node_log(cairn_node *n, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* "host:port" or "[v6]:port" into host and port. 0 or CAIRN_EINVAL. */
int node_parse_address(const char *text, char *host, size_t host_cap,
                       uint16_t *port);
/* A socket address as "1.2.3.4:5" or "[::1]:5". */
void node_format_address(const struct sockaddr *sa, char *out, size_t cap);

/* Fire the observers for what the engine reported during its last
 * cairn__sync_recv() on link l: never from inside the engine, whose
 * state an observer that writes or closes would pull from under it. */
void node_fire_events(cairn_node *n, node_link *l);

/* Make what the store appended durable (GROUP), then pump every link. */
void node_want_durable(cairn_node *n);
/* Only the first half: ask for durability of what was appended (GROUP;
 * its answer pumps every link). true if a request is out. */
bool node_note_appended(cairn_node *n);
/* A refused or failed incoming link: logged, but not more than a line a
 * second (a flood must not flood the log). */
void node_log_refusal(cairn_node *n, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Pump every link on the next turn of the loop. */
void node_kick_soon(cairn_node *n);
/* The node may be closing: free it once nothing is left. */
void node_maybe_finish(cairn_node *n);

/* node_link.c */
node_link *node_link_new(cairn_node *n, node_dialer *d);
/* The TCP connection is made (accepted, or connected): start reading and
 * the handshake. 0 or a cairn_err (then the caller ends the link). */
int node_link_start(node_link *l);
void node_link_pump(node_link *l);
/* End a link: graceful sends what the engine has left (its BYE) and the
 * closing frame first. `why` is kept for the log and the DOWN event. */
void node_link_end(node_link *l, bool graceful, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Fill a status for cairn_node_peers() and the peer events. */
void node_link_status(const node_link *l, cairn_peer_status *st);
/* The link attached to engine peer p, or NULL. */
node_link *node_link_of_peer(cairn_node *n, const cairn__peer *p);

/* node_net.c */
void node_listener_close(node_listener *ls);
void node_dialer_close(node_dialer *d);
/* d's link ended: schedule the next attempt. */
void node_dialer_link_ended(node_dialer *d, node_link *l);
/* A link to `device` ended: wake the dialers it covered. */
void node_dialers_uncover(cairn_node *n, const cairn_device_id *device);

#endif /* CAIRN_NODE_INT_H */
