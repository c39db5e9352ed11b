/* The lines of an upload (`POST STREAM?lines`): bytes in, in pieces of
 * any size, whole lines out, one event each. Pure: no I/O; one owned
 * buffer, for a line that spans pieces.
 *
 * The rules, those of `sselog pipe` (src/cli.c) where the contract of
 * publishing over HTTP is silent:
 * - LF ends a line, and so does CRLF: one CR right before the LF is not
 *   part of the line. Any other CR is (a lone CR is data; the SSE encoder
 *   later makes it a line break of the event's data, as it does for
 *   events from `sselog publish`).
 * - Bytes after the last LF are a line too, at the end of the body
 *   (lines_finish()); one CR at their end is dropped as well, as
 *   `sselog pipe` drops it.
 * - Empty lines (nothing, or only the CR of a CRLF) are skipped, as the
 *   contract says; here `sselog pipe` differs: it appends them as
 *   events with empty data. They still count in the line numbers.
 * - Lines are split only at LF, so a UTF-8 character cut between two
 *   pieces comes out whole; the bytes are otherwise given as they are:
 *   making them UTF-8 (utf8_repair() in validate.h) is the caller's.
 * - A line of more than max bytes (not counting its LF or CRLF) is
 *   TOO_LONG, reported as soon as its byte max + 1 arrives, without
 *   waiting for its end: the upload stops there with 413; the lines
 *   before it, already given out, stay. Cutting the line instead would
 *   store a log line that never was; skipping it would hide that
 *   something was lost.
 * The buffer never holds more than max bytes, however the bytes come.
 */
#ifndef SSELOG_LINES_H
#define SSELOG_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lines_event {
	LINES_MORE,	/* every byte given was consumed and no line is
			 * complete: feed more (or, at the end of the body,
			 * call lines_finish()) */
	LINES_LINE,	/* out->line, out->len: a line, never empty,
			 * without its LF or CRLF */
	LINES_END,	/* lines_finish(): there are no more lines */
	LINES_TOO_LONG,	/* line out->number has more than max bytes */
	LINES_NO_MEMORY,	/* the buffer could not grow */
};

struct lines {
	size_t max;		/* the most bytes of a line */
	char *buf;		/* the line begun in an earlier piece */
	size_t len, cap;
	bool cr;		/* the last byte fed was a CR, not yet in buf:
				 * an LF next makes it part of a CRLF */
	bool given;		/* buf holds a line already given out */
	uint64_t number;	/* of the line being read, from 1 */
	enum lines_event final;	/* TOO_LONG, NO_MEMORY or END once
				 * reported, else MORE */
};

struct lines_out {
	enum lines_event event;
	const char *line;	/* LINE: not NUL-terminated; valid until the
				 * next call on the splitter */
	size_t len;		/* LINE: 1 to max */
	uint64_t number;	/* LINE and TOO_LONG: the line's number in
				 * the body, from 1, empty lines included */
};

/* Starts splitting a body into lines of at most max bytes (max >= 1;
 * the responder's --max-event-size). Allocates nothing yet. */
void lines_init(struct lines *ls, size_t max);

/* Consumes the first of the len bytes at bytes up to the end of the next
 * line that is not empty, or all of them, and writes what happened to
 * *out. Returns the bytes consumed, at most len: len for MORE; after
 * LINE the caller feeds what is left (bytes + the return value) again.
 * out->line points into bytes when the whole line is there (no copy),
 * else into the splitter's buffer, which grows as needed, never past max
 * bytes. TOO_LONG and NO_MEMORY are final: later calls consume nothing
 * and report them again; the caller answers 413 (or 500) and stops. */
size_t lines_feed(struct lines *ls, const char *bytes, size_t len,
    struct lines_out *out);

/* At the end of the body: the last line, when bytes follow the last LF
 * (LINE; call again), else END. After a final event, that event. */
void lines_finish(struct lines *ls, struct lines_out *out);

/* Frees the buffer; the splitter may be initialised again. */
void lines_free(struct lines *ls);

#endif
