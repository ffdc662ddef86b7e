/*
 * wire_int.h -- writing the msgpack of protocol messages (net/proto/).
 *
 * Messages are small msgpack arrays of integers, byte strings and text;
 * the writer below appends them to a cairn_buf with a sticky error, so a
 * message is composed without a check after every element and a failed
 * allocation surfaces once, at the end. Reading goes through the core's
 * pre-validator and reader (crdt/bytes_int.h): every message is checked
 * whole before a field of it is believed.
 */
#ifndef CAIRN_WIRE_INT_H
#define CAIRN_WIRE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/common.h"

typedef struct cairn__wr {
	cairn_buf *b;
	int err; /* 0, or the first CAIRN_ENOMEM */
} cairn__wr;

static inline void cairn__wr_init(cairn__wr *w, cairn_buf *b)
{
	w->b = b;
	w->err = 0;
}

void cairn__wr_array(cairn__wr *w, uint32_t n);
void cairn__wr_u64(cairn__wr *w, uint64_t v);
void cairn__wr_bool(cairn__wr *w, bool v);
void cairn__wr_nil(cairn__wr *w);
void cairn__wr_bin(cairn__wr *w, const void *p, size_t n);
void cairn__wr_str(cairn__wr *w, const char *p, size_t n);
/* Raw bytes that are already msgpack. */
void cairn__wr_raw(cairn__wr *w, const void *p, size_t n);

#endif /* CAIRN_WIRE_INT_H */
