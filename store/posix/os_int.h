/*
 * os_int.h -- the operating-system services the store needs besides its
 * files (those go through the cairn_vfs seam, cairn_vfs_posix()): the wall
 * clock and the process id. They live in store/posix/ so that the rest of
 * store/ makes no OS call (cmake/layering/store.allow).
 *
 * THREAD SAFETY: both functions may be called from any thread.
 */
#ifndef CAIRN_STORE_OS_INT_H
#define CAIRN_STORE_OS_INT_H

#include <stdint.h>

/*
 * The wall clock (CLOCK_REALTIME) in milliseconds since the Unix epoch; 0
 * if the clock cannot be read. It can step backwards: the HLC copes.
 */
uint64_t cairn__os_wall_ms(void);

/* This process's id, for the lock file and the EBUSY report. */
long cairn__os_pid(void);

#endif /* CAIRN_STORE_OS_INT_H */
