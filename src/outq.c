#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "fcgi_record.h"

/* Blocks handed to one writev(): a burst of small events spans few. */
#define WRITE_IOV 16

struct outq_block {
	struct outq_block *next;
	struct buf b;
};

void
outq_init(struct outq *q, bool fcgi, unsigned request_id)
{
	*q = (struct outq){ .fcgi = fcgi, .request_id = request_id,
	    .record = RECORD_NONE };
}

static void
drop_head(struct outq *q)
{
	struct outq_block *b = q->head;

	q->head = b->next;
	if (q->head == NULL) {
		q->tail = NULL;
		q->record = RECORD_NONE;
	}
	q->sent = 0;
	/* Allocating a block again for every event of a busy stream costs
	 * more than keeping one. */
	if (q->spare == NULL && b->b.cap == OUTQ_BLOCK_BYTES) {
		buf_clear(&b->b);
		b->next = NULL;
		q->spare = b;
		return;
	}
	buf_free(&b->b);
	free(b);
}

void
outq_trim(struct outq *q, size_t keep_bytes)
{
	if (q->spare != NULL && q->spare->b.cap > keep_bytes) {
		buf_free(&q->spare->b);
		free(q->spare);
		q->spare = NULL;
	}
}

void
outq_free(struct outq *q)
{
	while (q->head != NULL)
		drop_head(q);
	outq_trim(q, 0);
	q->pending = 0;
}

/* The block to append need bytes to without growing it: the last one
 * when they fit, else a new one (not yet linked: see link_tail()) of
 * OUTQ_BLOCK_BYTES, or of need when more. Blocks never grow, so that what
 * a client holds is what it has pending and one block's room. NULL when
 * memory runs out. */
static struct outq_block *
tail_for_append(struct outq *q, size_t need)
{
	size_t cap = need > OUTQ_BLOCK_BYTES ? need : OUTQ_BLOCK_BYTES;
	struct outq_block *b;

	if (q->tail != NULL && q->tail->b.cap - q->tail->b.len >= need)
		return q->tail;
	if (q->spare != NULL && q->spare->b.cap >= cap) {
		b = q->spare;
		q->spare = NULL;
		return b;
	}
	if ((b = calloc(1, sizeof *b)) == NULL)
		return NULL;
	b->b = (struct buf)BUF_INIT;
	if (buf_reserve_exact(&b->b, cap) == -1) {
		free(b);
		return NULL;
	}
	return b;
}

/* Links b after an append to it succeeded, or frees it after one failed
 * (an existing tail is left as the failed append left it: unchanged). */
static int
link_tail(struct outq *q, struct outq_block *b, size_t before, int rc)
{
	if (b != q->tail) {
		if (rc == -1) {
			if (q->spare == NULL && b->b.cap == OUTQ_BLOCK_BYTES) {
				q->spare = b;	/* empty: kept as it was */
				return -1;
			}
			buf_free(&b->b);
			free(b);
			return -1;
		}
		if (q->tail != NULL)
			q->tail->next = b;
		else
			q->head = b;
		q->tail = b;
	}
	if (rc == 0)
		q->pending += b->b.len - before;
	return rc;
}

int
outq_body(struct outq *q, const void *bytes, size_t len)
{
	struct outq_block *b;
	int rc;

	if (len == 0)
		return 0;
	if ((b = tail_for_append(q, q->fcgi ? fcgi_stdout_size(len) : len)) ==
	    NULL)
		return -1;
	size_t before = b->b.len;
	if (!q->fcgi) {
		rc = buf_append(&b->b, bytes, len);
	} else {
		/* A record in a block that is not the tail cannot grow. */
		size_t record = b == q->tail ? q->record : RECORD_NONE;
		rc = fcgi_append_stdout_joined(&b->b, q->request_id, &record,
		    bytes, len);
		if (rc == 0)
			q->record = record;
	}
	return link_tail(q, b, before, rc);
}

static int
append_records(struct outq *q, bool end)
{
	struct outq_block *b;

	/* FCGI_END_REQUEST, and the empty FCGI_STDOUT before it. */
	if ((b = tail_for_append(q, 3 * RECORD_HEADER_LEN)) == NULL)
		return -1;
	size_t before = b->b.len;
	int rc = end ? fcgi_append_end(&b->b, q->request_id) :
	    fcgi_append_unknown_role(&b->b, q->request_id);
	if (rc == 0)
		q->record = RECORD_NONE;	/* no longer the last record */
	return link_tail(q, b, before, rc);
}

int
outq_end(struct outq *q)
{
	return q->fcgi ? append_records(q, true) : 0;
}

int
outq_unknown_role(struct outq *q)
{
	return append_records(q, false);
}

long
outq_write(struct outq *q, int fd)
{
	struct iovec iov[WRITE_IOV];
	long total = 0;

	while (q->head != NULL) {
		int n = 0;
		size_t off = q->sent;
		for (struct outq_block *b = q->head; b != NULL && n < WRITE_IOV;
		    b = b->next, off = 0) {
			iov[n].iov_base = b->b.data + off;
			iov[n].iov_len = b->b.len - off;
			n++;
		}
		ssize_t w = writev(fd, iov, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return total;
			return -1;
		}
		total += w;
		q->pending -= (size_t)w;
		while (w > 0) {
			size_t left = q->head->b.len - q->sent;
			if ((size_t)w < left) {
				q->sent += (size_t)w;
				break;
			}
			w -= (ssize_t)left;
			drop_head(q);
		}
		/* The header of the record to join was written: it can no
		 * longer change. */
		if (q->head != NULL && q->head == q->tail &&
		    q->record != RECORD_NONE && q->sent > q->record)
			q->record = RECORD_NONE;
	}
	return total;
}
