/*
 * cairn/loop.h -- a store on a libuv loop: durable writes with group
 * commit, without blocking the loop on fsync.
 *
 * A cairn_store_loop drives a store opened with CAIRN_SYNC_GROUP: writes
 * go through the store as usual (cairn_store_set(), ...) and return at
 * once; cairn_store_loop_durable() asks to be called back once a record is
 * durable. The fsync runs on libuv's thread pool; writes made while it
 * runs are covered by the next one, so many writers share each fsync. The
 * store's group window (cairn_store_config.group_window_ms) is how long
 * the loop gathers writes before it starts an fsync.
 *
 * THREAD SAFETY: every function must be called on the loop's thread, and
 * every callback runs there. The store must not be used from elsewhere.
 */
#ifndef CAIRN_LOOP_H
#define CAIRN_LOOP_H

#include <uv.h>

#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cairn_store_loop cairn_store_loop;

/*
 * Called once per cairn_store_loop_durable() request: status 0 when every
 * record up to the requested sequence number is durable; the fsync's error
 * (CAIRN_EIO, CAIRN_EFULL) when it failed, after which the store is
 * poisoned and every later request fails with CAIRN_EPOISONED; or
 * CAIRN_EINVAL when the driver closes before the record is durable.
 */
typedef void (*cairn_durable_cb)(void *ud, uint64_t seq, int status);

/*
 * Drive `store` (GROUP policy; borrowed: it must outlive the driver) on
 * `loop`. Returns 0, CAIRN_EINVAL (another policy, NULL arguments) or
 * CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_loop_new(uv_loop_t *loop,
                                                   cairn_store *store,
                                                   cairn_store_loop **out);

/*
 * Call cb(ud, seq, status) once the record `seq` (from a write of the
 * store) is durable. It never runs inside this call, even if the record is
 * durable already. Returns 0; CAIRN_EPOISONED (the callback will not run);
 * CAIRN_EINVAL (seq beyond the last record, or the driver is closing);
 * CAIRN_ENOMEM.
 */
CAIRN_API CAIRN_NODISCARD int cairn_store_loop_durable(cairn_store_loop *sl,
                                                       uint64_t seq,
                                                       cairn_durable_cb cb,
                                                       void *ud);

/*
 * Stop: a running fsync is let finish, pending requests are answered
 * (durable ones with 0, the rest with CAIRN_EINVAL), then the driver's
 * handles close and `closed(ud)` runs (may be NULL), after which the
 * driver is freed. Run the loop until then; the store may then be closed.
 */
CAIRN_API void cairn_store_loop_close(cairn_store_loop *sl,
                                      void (*closed)(void *ud), void *ud);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_LOOP_H */
