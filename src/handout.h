/* The hand-out: events from the log to the clients that follow their
 * streams. Live, one query per wake-up reads everything new and hands
 * each event to the followers of its stream in memory, however many
 * there are; a client that is behind reads its backlog itself, one page
 * per turn of the loop, a page never holding more than the client may
 * have pending.
 */
#ifndef SSELOG_HANDOUT_H
#define SSELOG_HANDOUT_H

#include <stdbool.h>
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
	int64_t high;		/* the highest id sent to any client */
	bool rewound;		/* the log's ids went backwards: the server
				 * ends the open streams and clears this */
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
 * ids went backwards (an older copy restored in place), it rewinds
 * (handout_rewind()). */
enum handout_result handout_poll(struct handout *h, struct store *st);

/* Queues the next page of c's backlog: events while what c has pending
 * stays within page_bytes (the first event always goes). c goes live when the log has no more, and its
 * response ends when every stream it follows has closed. Call inside a
 * read transaction to share its snapshot, or alone. */
enum handout_result handout_replay(struct handout *h, struct store *st,
    struct client *c);

/* The log now ends at last_id, before ids already handed out: reads on
 * from last_id and sets rewound, for the server to end every open stream
 * (their clients reconnect and start again by the rules). */
void handout_rewind(struct handout *h, int64_t last_id);

#endif
