/* The body of a write request (design.md, "Publishing over HTTP"), from
 * the bytes that arrive on its connection to what is appended: one
 * event's data, or the lines of `?lines` in batches. Pure: no I/O; the
 * caller reads the socket (or, for CGI, standard input) and feeds what it
 * got, in pieces of any size.
 *
 * Bounded like the output: an event's data is held up to the most bytes
 * of an event (--max-event-size), past which the rest is read and
 * dropped; an upload of lines holds at most one partial line (lines.h)
 * and one batch, and upload_feed() stops taking bytes once the batch is
 * full, until the caller has appended it (upload_batch_taken()). A batch
 * goes over its bound by at most what one feed brought.
 */
#ifndef SSELOG_UPLOAD_H
#define SSELOG_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fcgi_input.h"
#include "lines.h"

enum upload_kind {
	UPLOAD_DISCARD,	/* read to the end and dropped: a refused request,
			 * a DELETE, an upload stopped by an error */
	UPLOAD_EVENT,	/* the whole body is one event's data */
	UPLOAD_LINES,	/* an event per line, in batches */
};

enum upload_state {
	UPLOAD_READING,	/* more of the body is to come */
	UPLOAD_ENDED,	/* the whole body was read */
	UPLOAD_BROKEN,	/* the connection ended or went wrong before the
			 * body's end, or the web server aborted: nothing
			 * more can be answered */
};

/* What stopped the body from being used (the answer): */
enum upload_error {
	UPLOAD_OK,
	UPLOAD_TOO_LARGE,	/* 413: an event or a line over the most */
	UPLOAD_NO_MEMORY,	/* 500 */
};

/* A batch of lines is appended at this many lines or bytes, whichever
 * comes first (or sooner: the caller also appends on a timer). Each
 * append is one transaction, and its commit waits for an fsync() of a
 * few milliseconds whatever its size: batches of 1,024 lines spent about
 * half of a fast upload's time there. A batch is appended in one turn of
 * the event loop, so it stays near what one turn reads (publish.c: 4
 * reads of 64 KiB): 2,048 log lines take about 10 ms of SQLite, which
 * the other streams wait, and a line still reaches the subscribers
 * within about the caller's timer. */
#define UPLOAD_BATCH_LINES 2048
#define UPLOAD_BATCH_BYTES (256 * 1024)

/* A line of the batch: its bytes in the batch's buffer. */
struct upload_line {
	size_t off, len;
};

struct upload {
	enum upload_kind kind;
	enum upload_state state;
	enum upload_error error;
	const char *why;	/* BROKEN: one line, a static string */
	bool fcgi;		/* FastCGI records, else the body's bytes */
	struct fcgi_input in;
	int64_t cgi_left;	/* CGI: the body's bytes still to come */
	size_t max;		/* the most bytes of an event, of a line */
	struct buf data;	/* EVENT: the body; LINES: the batch's lines,
				 * made UTF-8, end to end */
	struct lines lines;
	struct upload_line *batch;
	size_t nbatch, batch_cap;
	size_t batch_lines;	/* a batch is full at this many lines */
	size_t batch_bytes;	/* or at this many bytes */
	uint64_t too_long;	/* TOO_LARGE in LINES: the line's number */
};

/* Starts reading a body of kind. fcgi: FastCGI records of request_id
 * follow (the body ends with the empty FCGI_STDIN record); else the body
 * is content_length plain bytes (CGI). max is --max-event-size (>= 1).
 * Allocates nothing yet. */
void upload_init(struct upload *u, enum upload_kind kind, bool fcgi,
    unsigned request_id, int64_t content_length, size_t max);
void upload_free(struct upload *u);

/* Drops what is held and reads the rest of the body to its end for
 * nothing: the request was refused, or its upload stopped. */
void upload_discard(struct upload *u);

/* Takes the first of the len bytes at bytes: the body's (CGI) or records
 * (FastCGI). Returns the bytes consumed: all of them, unless the batch
 * of lines is full, in which case the caller keeps the rest and feeds it
 * again after upload_batch_taken(). Bytes after the body's end are
 * consumed and ignored; after BROKEN, nothing is. */
size_t upload_feed(struct upload *u, const unsigned char *bytes, size_t len);

/* The connection reached its end (EOF): BROKEN unless the body was
 * whole. */
void upload_eof(struct upload *u);

/* True when the batch of lines should be appended before more is fed. */
bool upload_batch_full(const struct upload *u);

/* The caller appended the batch (or gave up on it): empties it. */
void upload_batch_taken(struct upload *u);

#endif
