/*
 * store_int.h -- internals of the store (store/): the layouts of the
 * store, its log and snapshot, and the helpers they share.
 */
#ifndef CAIRN_STORE_INT_H
#define CAIRN_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/store.h"

/* ---- crc32c.c ----------------------------------------------------------- */

/*
 * CRC-32C (Castagnoli), continuing from `crc` (0 to start): the checksum of
 * every log record, snapshot and small file. cairn__crc32c(0, "123456789",
 * 9) == 0xE3069283.
 */
uint32_t cairn__crc32c(uint32_t crc, const void *p, size_t n);

#endif /* CAIRN_STORE_INT_H */
