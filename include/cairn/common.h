/*
 * cairn/common.h -- what every cairn module shares: versions, error codes,
 * the per-object allocator and the growable byte buffer.
 *
 * THREAD SAFETY: every function here is thread-safe. A cairn_buf is a plain
 * value and belongs to the thread that uses it.
 */
#ifndef CAIRN_COMMON_H
#define CAIRN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CAIRN_STATIC_DEFINE)
#define CAIRN_API
#elif defined(__GNUC__)
#define CAIRN_API __attribute__((visibility("default")))
#else
#define CAIRN_API
#endif

#if defined(__GNUC__)
#define CAIRN_NODISCARD __attribute__((warn_unused_result))
#else
#define CAIRN_NODISCARD
#endif

#define CAIRN_VERSION_MAJOR 0
#define CAIRN_VERSION_MINOR 1
#define CAIRN_VERSION_PATCH 0
#define CAIRN_VERSION_STRING "0.1.0"

/* The library's version as "MAJOR.MINOR.PATCH". */
CAIRN_API const char *cairn_version(void);

/*
 * Error codes. Every function that can fail returns 0 or one of these
 * negative values; the values are stable across releases.
 */
typedef enum cairn_err {
	CAIRN_OK = 0,
	CAIRN_EINVAL = -1,    /* an argument is malformed or out of range */
	CAIRN_ENOMEM = -2,    /* an allocation failed; nothing was lost */
	CAIRN_ENOTFOUND = -3, /* no such document, field or element */
	CAIRN_EKIND = -4,     /* the field holds another kind (register/set) */
	CAIRN_EPOLICY = -5,   /* policy declarations disagree */
	CAIRN_ECLOCK_SKEW = -6, /* a timestamp is too far ahead of local time */
	CAIRN_EAGAIN = -7,      /* the clock's counter is exhausted for this
	                           millisecond: call again once time advances */
	CAIRN_ETOOBIG = -8,     /* a value, id or name exceeds its limit */
	CAIRN_EDECODE = -9,     /* bytes are not a valid cairn encoding */
	CAIRN_ELIMIT = -10,     /* bytes exceed a configured decoder limit */
	CAIRN_EVERSION = -11,   /* header/library or format version mismatch */
	CAIRN_EEXIST = -12,     /* a first-writer-wins field is already set */
	CAIRN_ESPACE = -13,     /* the output array is too small; the count
	                           needed was stored */
	CAIRN_ERANGE = -14,     /* a counter or clock would leave its range */
	CAIRN_EIO = -15,        /* the operating system reported an I/O error
	                           (the raw errno is kept where the call says) */
	CAIRN_EFULL = -16,      /* no space left on the device or quota */
	CAIRN_EBUSY = -17,      /* another process holds the store */
	CAIRN_ECORRUPT = -18,  /* stored bytes fail their checksum or framing */
	CAIRN_EPOISONED = -19, /* an fsync failed: the handle accepts no more
	                          writes; close it, reopen and recover */
} cairn_err;

/* A static English description of an error code; never NULL. */
CAIRN_API const char *cairn_strerror(int err);

/* The enum name of an error code ("CAIRN_EKIND"); never NULL. */
CAIRN_API const char *cairn_err_name(int err);

/*
 * A per-object allocator (zlib's zalloc/zfree/opaque, with a sized free).
 * Any member left NULL falls back to the C library for all three. The
 * allocator is copied into each object that is given it and used for every
 * allocation that object makes; there is no global allocator state.
 *
 * alloc(ud, size) returns NULL on failure. realloc(ud, p, old, new) returns
 * NULL on failure and leaves p untouched. free(ud, p, size) receives the
 * size p was last allocated with; p is never NULL.
 */
typedef struct cairn_allocator {
	void *(*alloc)(void *ud, size_t size);
	void *(*realloc)(void *ud, void *p, size_t old_size, size_t new_size);
	void (*free)(void *ud, void *p, size_t size);
	void *ud;
} cairn_allocator;

/*
 * A growable byte buffer for encoders. Encoders append to it; data is
 * owned by the buffer and freed by cairn_buf_free().
 */
typedef struct cairn_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	cairn_allocator alloc;
} cairn_buf;

/* Initialise an empty buffer that allocates with `alloc` (NULL: libc). */
CAIRN_API void cairn_buf_init(cairn_buf *b, const cairn_allocator *alloc);

/* Forget the contents, keep the capacity. */
CAIRN_API void cairn_buf_reset(cairn_buf *b);

/* Release the memory; the buffer is empty and may be used again. */
CAIRN_API void cairn_buf_free(cairn_buf *b);

/* Ensure room for `extra` more bytes. 0 or CAIRN_ENOMEM. */
CAIRN_API CAIRN_NODISCARD int cairn_buf_reserve(cairn_buf *b, size_t extra);

/* Append n bytes. 0 or CAIRN_ENOMEM (then the buffer is unchanged). */
CAIRN_API CAIRN_NODISCARD int cairn_buf_append(cairn_buf *b, const void *p,
                                               size_t n);

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_COMMON_H */
