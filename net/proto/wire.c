/*
 * wire.c -- the msgpack writer of protocol messages (wire_int.h). Integers
 * take their shortest form, as msgpack-c's packer would write them, so a
 * message has one encoding.
 */
#include <string.h>

#include "wire_int.h"

static void put(cairn__wr *w, const void *p, size_t n)
{
	if (w->err)
		return;
	int rc = cairn_buf_append(w->b, p, n);
	if (rc)
		w->err = rc;
}

static void put_be(cairn__wr *w, uint8_t tag, uint64_t v, int bytes)
{
	uint8_t b[9];
	b[0] = tag;
	for (int i = 0; i < bytes; i++)
		b[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(w, b, (size_t)bytes + 1);
}

void cairn__wr_array(cairn__wr *w, uint32_t n)
{
	if (n < 16) {
		uint8_t b = (uint8_t)(0x90 | n);
		put(w, &b, 1);
	} else if (n <= 0xffff) {
		put_be(w, 0xdc, n, 2);
	} else {
		put_be(w, 0xdd, n, 4);
	}
}

void cairn__wr_u64(cairn__wr *w, uint64_t v)
{
	if (v < 128) {
		uint8_t b = (uint8_t)v;
		put(w, &b, 1);
	} else if (v <= 0xff) {
		put_be(w, 0xcc, v, 1);
	} else if (v <= 0xffff) {
		put_be(w, 0xcd, v, 2);
	} else if (v <= 0xffffffffu) {
		put_be(w, 0xce, v, 4);
	} else {
		put_be(w, 0xcf, v, 8);
	}
}

void cairn__wr_bool(cairn__wr *w, bool v)
{
	uint8_t b = v ? 0xc3 : 0xc2;
	put(w, &b, 1);
}

void cairn__wr_nil(cairn__wr *w)
{
	uint8_t b = 0xc0;
	put(w, &b, 1);
}

void cairn__wr_bin(cairn__wr *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		if (!w->err)
			w->err = CAIRN_ETOOBIG;
		return;
	}
	if (n <= 0xff)
		put_be(w, 0xc4, n, 1);
	else if (n <= 0xffff)
		put_be(w, 0xc5, n, 2);
	else
		put_be(w, 0xc6, n, 4);
	put(w, p, n);
}

void cairn__wr_str(cairn__wr *w, const char *p, size_t n)
{
	if (n > UINT32_MAX) {
		if (!w->err)
			w->err = CAIRN_ETOOBIG;
		return;
	}
	if (n < 32) {
		uint8_t b = (uint8_t)(0xa0 | n);
		put(w, &b, 1);
	} else if (n <= 0xff) {
		put_be(w, 0xd9, n, 1);
	} else if (n <= 0xffff) {
		put_be(w, 0xda, n, 2);
	} else {
		put_be(w, 0xdb, n, 4);
	}
	put(w, p, n);
}

void cairn__wr_raw(cairn__wr *w, const void *p, size_t n)
{
	put(w, p, n);
}
