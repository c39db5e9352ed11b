#include "handout.h"

#include <inttypes.h>
#include <time.h>

#include "log.h"
#include "metrics.h"

void
handout_init(struct handout *h, struct hub *hub, struct clients *clients,
    size_t page_bytes)
{
	*h = (struct handout){ .hub = hub, .clients = clients,
	    .data_version = -1, .page_bytes = page_bytes,
	    .scratch = BUF_INIT };
}

void
handout_free(struct handout *h)
{
	buf_free(&h->scratch);
}

static enum handout_result
trouble(struct store *st)
{
	return store_busy(st) ? HANDOUT_BUSY : HANDOUT_FAILED;
}

struct deliver_ctx {
	struct handout *h;
	const struct store_event *ev;
	bool encoded;		/* h->scratch holds ev's bytes */
	bool failed;
	uint64_t sent;		/* clients it was queued for */
};

/* Runs inside hub_each(): may drop a client, never close one. */
static void
deliver(struct hub_link *link, void *arg)
{
	struct deliver_ctx *d = arg;
	struct client *c = link->subscriber;
	struct buf *bytes = &d->h->scratch;

	/* A client that is behind reads this event from the log itself; the
	 * position check skips what its backlog already sent. */
	if (c->state != CLIENT_LIVE || d->ev->id <= c->follow.position)
		return;
	if (!d->encoded) {
		buf_clear(bytes);
		if (follow_encode(bytes, d->ev) == -1) {
			/* It would miss this event: it reconnects instead,
			 * with its Last-Event-ID. */
			d->failed = true;
			client_drop(c);
			return;
		}
		d->encoded = true;
	}
	/* Never buffer without bound for a client that does not read: it
	 * reconnects with its Last-Event-ID and loses nothing. One event
	 * always fits, however large, so that a big event drops nobody. */
	size_t pending = outq_pending(&c->out);
	if (pending > 0 && pending + bytes->len > c->set->max_pending) {
		log_warn("dropped a client that does not read: %zu bytes "
		    "pending (%s%s)", pending, c->streams[0],
		    c->nstreams > 1 ? ", ..." : "");
		client_drop(c);
		return;
	}
	if (client_send(c, bytes->data, bytes->len) == -1)
		return;
	follow_note(&c->follow, d->ev);
	d->h->delivered++;
	d->sent++;
	if (d->ev->id > d->h->high)
		d->h->high = d->ev->id;
	if (c->follow.open == 0)
		client_end_response(c);
}

/* The wall clock, as an event's created: Unix time in ms (the vDSO's,
 * no system call). Read once for CLOCK_EVENTS events of a batch: they
 * are handed out within microseconds of each other, and the delay's
 * first bucket is a millisecond. */
#define CLOCK_EVENTS 64
static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum handout_result
handout_poll(struct handout *h, struct store *st)
{
	struct store_cursor *cur;
	struct store_event ev;
	int64_t version;
	int rc;
	bool any = false;
	int64_t now_ms = 0;
	unsigned clock_age = 0;

	if (store_data_version(st, &version) == -1)
		return trouble(st);
	if (version == h->data_version)
		return HANDOUT_DONE;
	if ((cur = store_cursor_open_all(st, h->pos)) == NULL)
		return trouble(st);
	while ((rc = store_cursor_next(cur, &ev)) == 1) {
		struct deliver_ctx d = { .h = h, .ev = &ev };
		h->pos = ev.id;
		any = true;
		hub_each(h->hub, ev.stream, deliver, &d);
		if (d.failed)
			log_error("out of memory encoding event %" PRId64,
			    ev.id);
		/* Counted once per event, not per client: the metrics cost
		 * the fan-out nothing per delivery. */
		if (d.sent > 0) {
			if (clock_age++ % CLOCK_EVENTS == 0)
				now_ms = wall_ms();
			metrics_count(h->clients->metrics, M_EVENTS_SENT,
			    d.sent);
			metrics_delivery(h->clients->metrics, now_ms -
			    ev.created, d.sent);
		}
	}
	store_cursor_close(cur);
	if (rc == -1)
		return trouble(st);
	/* A change with nothing past our position: a prune, or an older
	 * copy of the log written over this one, whose ids end below what
	 * was handed out. (Such a copy that is appended to past our position
	 * before we look cannot be told from new events.) */
	if (!any) {
		int64_t last;
		if (store_last_id(st, &last) == -1)
			return trouble(st);
		if (last < h->pos || last < h->high) {
			log_warn("the event log now ends at id %" PRId64
			    ", before the %" PRId64 " already handed out: it "
			    "was replaced by an older copy; ending every open "
			    "stream", last, h->pos > h->high ? h->pos :
			    h->high);
			handout_rewind(h, last);
		}
	}
	h->data_version = version;
	return HANDOUT_DONE;
}

void
handout_rewind(struct handout *h, int64_t last_id)
{
	h->pos = last_id;
	h->high = last_id;
	h->rewound = true;
}

struct replay_ctx {
	struct handout *h;
	struct client *c;
	bool full;		/* stopped before an event that did not fit */
	bool took;		/* took an event */
};

static int
emit_replayed(void *arg, const struct store_event *ev)
{
	struct replay_ctx *r = arg;
	struct buf *bytes = &r->h->scratch;
	size_t pending = outq_pending(&r->c->out);

	buf_clear(bytes);
	if (follow_encode(bytes, ev) == -1) {
		log_error("out of memory encoding event %" PRId64, ev->id);
		client_drop(r->c);
		return -1;
	}
	/* The first event of a page always goes: a page is asked for only
	 * once less than half a page is pending, so that an event too large
	 * for the rest of the page is not read again at every refill. */
	if (r->took && pending + bytes->len > r->h->page_bytes) {
		r->full = true;
		return 1;
	}
	if (client_send(r->c, bytes->data, bytes->len) == -1)
		return -1;
	r->took = true;
	r->h->delivered++;
	if (ev->id > r->h->high)
		r->h->high = ev->id;
	return 0;
}

enum handout_result
handout_replay(struct handout *h, struct store *st, struct client *c)
{
	struct replay_ctx r = { .h = h, .c = c };

	uint64_t before = h->delivered;
	int rc = follow_read(&c->follow, st, SIZE_MAX, emit_replayed, &r);

	metrics_count(h->clients->metrics, M_EVENTS_SENT, h->delivered -
	    before);
	if (rc == -1) {
		if (c->state == CLIENT_DROPPED)
			return HANDOUT_DONE;	/* out of memory: said */
		return trouble(st);
	}
	if (c->follow.open == 0)
		client_end_response(c);
	else if (!r.full)
		c->state = CLIENT_LIVE;
	return HANDOUT_DONE;
}
