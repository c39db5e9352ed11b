#include "lines.h"

#include <stdlib.h>
#include <string.h>

void
lines_init(struct lines *ls, size_t max)
{
	*ls = (struct lines){ .max = max, .number = 1, .final = LINES_MORE };
}

void
lines_free(struct lines *ls)
{
	free(ls->buf);
	ls->buf = NULL;
	ls->len = ls->cap = 0;
}

static enum lines_event
stop(struct lines *ls, enum lines_event why)
{
	ls->final = why;
	return why;
}

/* Adds n bytes to the line in the buffer. Returns MORE, or TOO_LONG when
 * the line would pass max (nothing is added then), or NO_MEMORY. */
static enum lines_event
add(struct lines *ls, const char *p, size_t n)
{
	if (n == 0)
		return LINES_MORE;	/* a held-back CR alone: buf may be NULL */
	if (n > ls->max - ls->len)
		return stop(ls, LINES_TOO_LONG);
	if (n > ls->cap - ls->len) {
		/* Doubling, from 256 bytes, up to max: a long line costs a
		 * few copies, and a short one never the whole max. */
		size_t cap = ls->cap ? ls->cap : 256;
		while (cap < ls->len + n)
			cap = cap > ls->max / 2 ? ls->max : cap * 2;
		if (cap > ls->max)
			cap = ls->max;
		char *grown = realloc(ls->buf, cap);
		if (grown == NULL)
			return stop(ls, LINES_NO_MEMORY);
		ls->buf = grown;
		ls->cap = cap;
	}
	memcpy(ls->buf + ls->len, p, n);
	ls->len += n;
	return LINES_MORE;
}

/* Gives out the line of len bytes at p, which ends the line being read;
 * an empty one is skipped. Returns LINE, or MORE when it was empty, or
 * TOO_LONG. */
static enum lines_event
give(struct lines *ls, const char *p, size_t len, struct lines_out *out)
{
	uint64_t number = ls->number++;

	if (len > ls->max) {
		ls->number = number;
		return stop(ls, LINES_TOO_LONG);
	}
	if (len == 0)
		return LINES_MORE;
	out->line = p;
	out->len = len;
	out->number = number;
	return LINES_LINE;
}

/* Forgets the line given out of the buffer by the last call. */
static void
clear_given(struct lines *ls)
{
	if (ls->given) {
		ls->len = 0;
		ls->given = false;
	}
}

size_t
lines_feed(struct lines *ls, const char *bytes, size_t len,
    struct lines_out *out)
{
	size_t off = 0;

	*out = (struct lines_out){ .event = ls->final, .number = ls->number };
	if (ls->final != LINES_MORE)
		return 0;
	clear_given(ls);
	while (off < len) {
		const char *start = bytes + off;
		const char *nl = memchr(start, '\n', len - off);
		size_t n = nl ? (size_t)(nl - start) : len - off;

		if (nl != NULL && ls->len == 0 && !ls->cr) {
			/* The whole line is in the caller's bytes. */
			off += n + 1;
			if (n > 0 && start[n - 1] == '\r')
				n--;
			out->event = give(ls, start, n, out);
			if (out->event != LINES_MORE)
				break;
			continue;
		}
		off += n;
		if (n > 0) {
			/* A CR held back is data: no LF came right after. A
			 * CR at the end of these bytes is held back in turn,
			 * so that the buffer never takes the CR of a CRLF
			 * (it may be byte max + 1). */
			if (ls->cr && (out->event = add(ls, "\r", 1)) !=
			    LINES_MORE)
				break;
			ls->cr = start[n - 1] == '\r';
			if ((out->event = add(ls, start, n - ls->cr)) !=
			    LINES_MORE)
				break;
		}
		if (nl == NULL)
			break;
		off++;
		ls->cr = false;		/* the CR of a CRLF */
		out->event = give(ls, ls->buf, ls->len, out);
		if (out->event == LINES_LINE) {
			ls->given = true;
			break;
		}
		if (out->event != LINES_MORE)
			break;
		ls->len = 0;
	}
	if (out->event == LINES_TOO_LONG)
		out->number = ls->number;
	return off;
}

void
lines_finish(struct lines *ls, struct lines_out *out)
{
	*out = (struct lines_out){ .event = ls->final, .number = ls->number };
	if (ls->final != LINES_MORE)
		return;
	clear_given(ls);
	ls->cr = false;		/* dropped at the end, as sselog pipe does */
	if (ls->len > 0) {
		out->event = give(ls, ls->buf, ls->len, out);
		ls->given = true;
		return;
	}
	ls->final = LINES_END;
	out->event = LINES_END;
}
