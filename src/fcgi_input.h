/* The records a FastCGI responder receives after the request head: the
 * request body, FCGI_STDIN (FastCGI 1.0 specification, sections 3.3, 5.3
 * and 6.2), read incrementally from whatever bytes the socket gave.
 *
 * fcgi_head_check() takes FCGI_BEGIN_REQUEST and the parameters; what
 * follows on the connection is fed here, in pieces of any size. Pure: no
 * I/O, no allocation; the body's bytes are never copied but pointed to in
 * the caller's bytes.
 *
 * What is done with each record:
 * - FCGI_STDIN of this request: its content is the body (CONTENT), the
 *   empty one ends it (END). FCGI_STDIN after that end is an ERROR.
 *   FastCGI gives the body no length: its end is the empty record, and
 *   CONTENT_LENGTH is the web server's word, not checked here.
 * - FCGI_ABORT_REQUEST of this request: ABORT, once the whole record
 *   (content and padding, if any) is consumed.
 * - FCGI_DATA of this request: skipped, content and padding; it is the
 *   filter role's second stream, and a responder has no use for it.
 * - FCGI_BEGIN_REQUEST or FCGI_PARAMS of this request: ERROR; the head
 *   is over, so the connection is out of step.
 * - Any other type of this request (types the application sends, types
 *   newer than the specification): skipped.
 * - Management records (request id 0, as FCGI_GET_VALUES): skipped
 *   without an answer; web servers send none during a request.
 * - A record of another request id: ERROR; the responder does not
 *   multiplex (FCGI_MPXS_CONNS is 0), so the web server must not send one
 *   before this request's FCGI_END_REQUEST.
 * - A version other than 1: ERROR.
 * Records are read after the end of FCGI_STDIN as well, so that an abort
 * still reaches the caller while it answers.
 *
 * Record headers, contents and padding may each be split across feeds
 * anywhere; a feed returns after each event, so a caller loops:
 *
 *	while (len > 0) {
 *		size_t n = fcgi_input_feed(&in, bytes, len, &out);
 *		bytes += n, len -= n;
 *		switch (out.event) { ... }
 *	}
 */
#ifndef SSELOG_FCGI_INPUT_H
#define SSELOG_FCGI_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#define FCGI_INPUT_HEADER_LEN 8

enum fcgi_input_event {
	FCGI_INPUT_MORE,	/* every byte given was consumed and nothing
				 * is to be done: feed more */
	FCGI_INPUT_CONTENT,	/* out->data, out->len: body bytes (1 or
				 * more), inside the bytes just fed */
	FCGI_INPUT_END,		/* the empty FCGI_STDIN record, padding
				 * included, was consumed: the body is whole */
	FCGI_INPUT_ABORT,	/* FCGI_ABORT_REQUEST for this request: end it
				 * (answer with FCGI_END_REQUEST) */
	FCGI_INPUT_ERROR,	/* not what a web server sends: out->error
				 * says why; close the connection */
};

struct fcgi_input {
	unsigned request_id;
	unsigned char header[FCGI_INPUT_HEADER_LEN];
	size_t header_len;	/* bytes of the next header received so far */
	bool body;		/* the record being read is FCGI_STDIN of this
				 * request: its content is the body */
	enum fcgi_input_event at_end;	/* what its end is: END, ABORT or
					 * MORE (nothing) */
	size_t content_left;	/* its content bytes still to come */
	size_t padding_left;	/* then its padding bytes */
	bool stdin_ended;	/* the empty FCGI_STDIN record was read */
	enum fcgi_input_event final;	/* ABORT or ERROR once reported,
					 * else MORE */
	const char *error;	/* the reason of ERROR */
};

struct fcgi_input_out {
	enum fcgi_input_event event;
	const unsigned char *data;	/* CONTENT: the body bytes */
	size_t len;			/* CONTENT: their number */
	const char *error;	/* ERROR: one line (a static string) */
};

/* Starts reading the records of request_id (1 to 65535) that follow its
 * head. */
void fcgi_input_init(struct fcgi_input *in, unsigned request_id);

/* Consumes the first of the len bytes at bytes up to the first event,
 * which it writes to *out; out->data of CONTENT points into bytes and
 * stays valid as long as the caller keeps them. Returns the bytes
 * consumed, at most len: len for MORE; for the others, the caller feeds
 * what is left (bytes + the return value) in its next call. END and ABORT
 * are reported once their record ends: the bytes after them on the
 * connection start at the next record. ABORT and ERROR are final: later
 * calls consume nothing and report them again. Each CONTENT is part of
 * one record's content, as much of it as the bytes given hold; padding
 * and skipped records produce no event. */
size_t fcgi_input_feed(struct fcgi_input *in, const unsigned char *bytes,
    size_t len, struct fcgi_input_out *out);

/* True when the reader stands between two records (no header, content or
 * padding half read): where the end of the connection is a clean one. */
bool fcgi_input_at_boundary(const struct fcgi_input *in);

#endif
