/* Write requests on the server's loop (design.md, "Publishing over
 * HTTP"): POST, PUT and DELETE, from the request head to the answer. The
 * body is read as it comes (upload.h) and always to its end, even when
 * the request is refused (Apache answers 503 to its client when the
 * FastCGI connection closes before it has sent the whole body); the events
 * are appended with the server's writing handle, which never waits inside
 * SQLite: a locked log is tried again on a timer.
 *
 * A part of the server (server.c): it decides whether a write is allowed
 * and calls these.
 */
#ifndef SSELOG_PUBLISH_H
#define SSELOG_PUBLISH_H

#include <stddef.h>

#include "buf.h"
#include "client.h"
#include "loop.h"
#include "request.h"
#include "store.h"

/* What writes need of the server; it lives as long as the server. */
struct publisher {
	struct loop *loop;
	struct clients *clients;
	struct store **writer;	/* the server's; NULL while it is closed
				 * (a log replaced), which is a locked log */
	struct buf *scratch;	/* to build answers in */
	size_t max_event_size;	/* --max-event-size */
	int write_timeout_s;	/* a body that stops coming this long */
	struct publish *queue;	/* single events and closes whose bodies
				 * have been read, for publish_commit() */
};

/* Starts reading the body of c, a request that has one, for nothing until
 * publish_accept(); c->pub holds the write from here on. Returns 0, or -1
 * when memory runs out. */
int publish_start(struct publisher *pr, struct client *c,
    const struct request_params *params);

/* The write is allowed: its body is used. Takes the stream, type and key
 * over from req. */
void publish_accept(struct client *c, struct request *req);

/* Appends every event and close whose body has been read since the last
 * call, in one transaction, and answers them: called once per turn of
 * the loop, after its callbacks, so that the writes that came together
 * share one commit, and so one fsync, instead of one each. A write that
 * the log refuses (a closed stream) is answered alone; the others are
 * still appended. */
void publish_commit(struct publisher *pr);

/* Moves c's write on as far as it can go now (after its head was answered
 * or accepted). */
void publish_advance(struct client *c);

/* The server stops and waits no longer for c's body: the whole lines
 * read so far are appended (unless the log is locked), and c is answered
 * at once, 503 with Retry-After (saying, for lines, the ids appended),
 * or with the answer it already had; the rest of the body is read and
 * dropped while the web server takes the answer. */
void publish_cut(struct client *c);

#endif
