/* Encode events as text/event-stream (WHATWG HTML, "Server-sent events",
 * section 9.2.6 "Interpreting an event stream").
 *
 * Pure: no I/O, no allocation beyond the output buffer (and the close
 * event's JSON while it is written). This is the only
 * place in sselog that turns text into `data:` lines, so it is the place
 * that guarantees no stored text can forge a field or end an event early.
 */
#ifndef SSELOG_SSE_H
#define SSELOG_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct sse_event {
	int64_t id;        /* written as `id:`; negative: no id line */
	const char *type;  /* `event:`; NULL: none (the client sees "message") */
	const char *data;  /* data_len bytes, need not be NUL-terminated */
	size_t data_len;
	int64_t retry;     /* `retry:` in ms; negative: none */
};

/* Appends one event: `id:`, `event:`, `retry:`, then one `data:` line per
 * line of the data, then a blank line. LF, CRLF and a lone CR each end a
 * data line, so a client that joins the lines with LF gets the data back
 * with its line endings made LF. CR, LF and NUL in the type, which the
 * schema forbids, are written as spaces rather than trusted.
 * Returns 0, or -1 when memory runs out (out is then unchanged). */
int sse_encode_event(struct buf *out, const struct sse_event *ev);

/* Appends a comment line, which clients ignore: a heartbeat that keeps
 * proxies and EventSource polyfills from timing the stream out. CR and LF
 * in text become spaces. Returns 0, or -1 when memory runs out. */
int sse_encode_comment(struct buf *out, const char *text);

/* Appends the `sselog.gap` event that tells a client that events after
 * last_event_id and before first_available_id may have been pruned. It has
 * no id line, so the client's Last-Event-ID stays where it was.
 * Returns 0, or -1 when memory runs out. */
int sse_encode_gap(struct buf *out, int64_t last_event_id,
    int64_t first_available_id);

/* Appends a stream's close event (type `sselog.close`) with its id and
 * retry: its data is the JSON object {"stream":NAME}, with "data" holding
 * the stored text when there is any, so that a page that follows several
 * streams on one connection knows which one ended. Returns 0, or -1 when
 * memory runs out (out is then unchanged). */
int sse_encode_close(struct buf *out, const struct sse_event *ev,
    const char *stream);

#endif
