/* The hand-out: events from the log to the clients that follow their
 * streams. Live, one query per wake-up reads everything new and hands
 * each event to the followers of its stream in memory, however many
 * there are; a client that is behind reads its backlog itself, one page
 * per turn of the loop, a page never holding more than the client may
 * have pending.
 */
#ifndef SSELOG_HANDOUT_H
#define SSELOG_HANDOUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client.h"
#include "hub.h"
#include "store.h"

struct handout {
	struct hub *hub;
	struct clients *clients;
	int64_t pos;		/* id of the last event read live */
	int64_t data_version;	/* of the log at the last read; -1: unknown */
	size_t page_bytes;	/* the most one replay page queues */
	uint64_t delivered;	/* events queued for clients, replay included */
	struct buf scratch;	/* one encoded event */
};

enum handout_result {
	HANDOUT_DONE,		/* read what there was */
	HANDOUT_BUSY,		/* the log is locked: try again soon */
	HANDOUT_FAILED,		/* store_error() says why */
};

void handout_init(struct handout *h, struct hub *hub,
    struct clients *clients, size_t page_bytes);
void handout_free(struct handout *h);

/* Reads every event appended since the last look, with one query, and
 * queues each for the live followers of its stream. A live client that
 * would then hold more than clients->max_pending bytes is dropped (it
 * reconnects with its Last-Event-ID and loses nothing). When the log's
 * ids went backwards (an older copy restored in place), every open stream
 * ends, so that its client reconnects and starts again by the rules. */
enum handout_result handout_poll(struct handout *h, struct store *st);

/* Queues the next page of c's backlog: events while they fit in
 * page_bytes (always one). c goes live when the log has no more, and its
 * response ends when every stream it follows has closed. Call inside a
 * read transaction to share its snapshot, or alone. */
enum handout_result handout_replay(struct handout *h, struct store *st,
    struct client *c);

/* The log now ends at last_id, before ids already handed out: ends every
 * open stream and reads on from last_id. */
void handout_rewind(struct handout *h, int64_t last_id);

#endif
