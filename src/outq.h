/* A client's pending output: the bytes of its response, framed for its
 * transport (FastCGI records, or the bytes themselves for CGI), in a chain
 * of blocks with a sent offset, as redis keeps its replies. Written bytes
 * are freed block by block as they go, so a client that keeps up only
 * partly holds what it has not read, not everything since it last caught
 * up; and appending never copies what is already queued.
 *
 * The struct owns its blocks; outq_free() releases them. Appending
 * functions return 0, or -1 when memory runs out, in which case the queue
 * is left as it was.
 */
#ifndef SSELOG_OUTQ_H
#define SSELOG_OUTQ_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* The size of a block; a bigger piece (one large event) gets a block of
 * its own size. */
#define OUTQ_BLOCK_BYTES (16 * 1024)

struct outq_block;

struct outq {
	struct outq_block *head, *tail;
	struct outq_block *spare;	/* the last block written, kept */
	size_t sent;		/* bytes of head already written */
	size_t pending;		/* bytes queued and not yet written */
	bool fcgi;		/* frame as FCGI_STDOUT records */
	unsigned request_id;
	size_t record;		/* offset in tail of the FCGI_STDOUT record
				 * that the next bytes may join, or
				 * RECORD_NONE */
};

/* An empty queue: FastCGI records of request_id when fcgi, else the bytes
 * as they are. */
void outq_init(struct outq *q, bool fcgi, unsigned request_id);
void outq_free(struct outq *q);

/* Queues len bytes of the response (its header block or its body). */
int outq_body(struct outq *q, const void *bytes, size_t len);

/* Queues the end of a FastCGI response (nothing for CGI, which ends by
 * closing). */
int outq_end(struct outq *q);

/* Queues the refusal of a FastCGI request in a role other than responder. */
int outq_unknown_role(struct outq *q);

/* Writes what fd takes without blocking. Returns the bytes written (0 when
 * fd takes nothing now), or -1 with errno set when fd fails. */
long outq_write(struct outq *q, int fd);

/* Frees the block kept from the last write when it holds more than
 * keep_bytes: a busy stream reuses its block, an idle one gives it back. */
void outq_trim(struct outq *q, size_t keep_bytes);

static inline size_t
outq_pending(const struct outq *q)
{
	return q->pending;
}

#endif
