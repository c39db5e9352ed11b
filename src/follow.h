/* What one subscriber of several streams has been sent, and how to send
 * it the rest: the logic of a subscription, shared by `sselog watch` and
 * the responder so that both send exactly the same thing.
 */
#ifndef SSELOG_FOLLOW_H
#define SSELOG_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

struct follow {
	const char *const *streams;	/* distinct names, borrowed */
	size_t n;
	int64_t position;	/* id of the last event sent, or the start */
	int64_t asked;		/* the start as asked: the gap event's
				 * lastEventId */
	size_t open;		/* streams whose close event is still to come */
};

/* Sets f up for n streams starting after position. */
void follow_init(struct follow *f, const char *const *streams, size_t n,
    int64_t position);

/* Reads each stream's state at the start. With from_now, the start is the
 * log's last id. Sets *gap_first to the firstAvailableId of the sselog.gap
 * event when history after the start was pruned (every event from that id
 * on is still in the log), else to 0. A start past the log's last id means
 * the log was replaced by an older copy (ids are never reused): then the
 * gap names the log's first id and the position goes back to its start. Afterwards f->open == 0 means that
 * every stream was closed at or before the start: nothing more will come
 * (the responder's 204). Call it and the first follow_read() inside one
 * store_read_begin(), so that both see one snapshot.
 * Returns 0, or -1 on a store error (see store_error()). */
int follow_start(struct follow *f, struct store *st, bool from_now,
    int64_t *gap_first);

/* Reads up to max events after f->position, in id order, passing each to
 * emit and noting it. emit returns 0 to take the event, 1 to stop before
 * it (it is read again next time), -1 to fail. Returns the number taken;
 * fewer than max when the log has no more or emit stopped; -1 when the
 * store fails (see store_error()) or emit returns -1. */
long follow_read(struct follow *f, struct store *st, size_t max,
    int (*emit)(void *ctx, const struct store_event *ev), void *ctx);

/* Notes an event sent by other means (the responder's live hand-out):
 * moves the position on and counts a close event. */
void follow_note(struct follow *f, const struct store_event *ev);

/* True when ev is a close event. */
bool follow_is_close(const struct store_event *ev);

/* Appends ev to out as text/event-stream (sse_encode_event(), and
 * sse_encode_close() for a close event, whose data names its stream): what
 * every subscriber, over HTTP or `sselog watch`, gets for a stored event.
 * Returns 0, or -1 when memory runs out (out is then unchanged). */
int follow_encode(struct buf *out, const struct store_event *ev);

#endif
