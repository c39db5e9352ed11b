/* A growable byte buffer.
 *
 * The struct owns `data`; buf_free() releases it and leaves an empty buffer.
 * Appending functions return 0, or -1 when memory runs out, in which case the
 * buffer is left exactly as it was. `data` is not NUL-terminated unless the
 * caller appends a NUL.
 */
#ifndef SSELOG_BUF_H
#define SSELOG_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

int buf_reserve(struct buf *b, size_t extra);
/* Like buf_reserve(), but grows the buffer to exactly len + extra bytes
 * rather than doubling it: for a buffer whose size is known. */
int buf_reserve_exact(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *bytes, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Forget the first n bytes (those already written out). */
void buf_consume(struct buf *b, size_t n);
void buf_clear(struct buf *b);
void buf_free(struct buf *b);

#endif
