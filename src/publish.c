#include "publish.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "number.h"
#include "response.h"
#include "upload.h"
#include "validate.h"

/* Publishing: the body is read this much at a time, at most
 * BODY_READS_PER_TURN times per turn of the loop, so that one fast upload
 * does not hold up the streams. */
#define BODY_READ_BYTES (64 * 1024)
#define BODY_READS_PER_TURN 4
/* A batch of lines is appended once it is this old, as `sselog pipe`
 * does: a line reaches the subscribers within about this much of its
 * arrival, and a fast upload costs a commit per batch, not per line. */
#define BATCH_MS 20
/* How often a write that waits (a batch, a locked log) is looked at. */
#define PUBLISH_TICK_MS 10
/* A write that finds the log locked is tried again on every tick for
 * this long, then answered 503 with Retry-After (nothing appended). */
#define WRITE_BUSY_MS 5000

/* A request with a body (POST, PUT, DELETE), from its head to its
 * answer. The body is read on the loop as it comes and always to its
 * end, even when the request is refused (Apache answers 503 to its client
 * when the FastCGI connection closes before it has sent the whole body):
 * the answer waits in held until then. */
struct publish {
	struct publisher *pr;
	struct client *c;
	struct upload up;
	enum request_kind kind;	/* PUBLISH, LINES or CLOSE once accepted */
	bool accepted;		/* allowed: the body is used */
	bool timed;		/* --write-timeout applies to the body */
	bool cut;		/* the server stops: append what is read now */
	char *stream, *type, *idem;	/* owned */
	int64_t retry;
	struct loop_io cgi_in;	/* CGI: standard input */
	bool cgi_polled;	/* cgi_in is in the loop (not a file) */
	struct loop_timer timer;
	unsigned char *raw;	/* bytes read and not yet taken: the batch
				 * of lines was full */
	size_t rawlen;
	struct buf held;	/* the answer, once there is one */
	bool answered;
	int64_t first_id, last_id;	/* LINES: the ids appended */
	int64_t batch_since_ms;	/* the batch's first line came; 0: empty */
	int64_t busy_since_ms;	/* a write waits for the locked log; 0: no */
	int64_t progress_ms;	/* the body's bytes last came */
	bool queued;		/* in pr's queue, for publish_commit() */
	int status;		/* 201 or 200, once appended */
	struct publish *next_queued;
};

/* Answers with a status and a one-line body (sent once the body has
 * been read: publish_hold()). */
static void
answer(struct publish *p, int status, const char *message, int retry_after_s)
{
	struct buf *s = p->pr->scratch;

	buf_clear(s);
	client_status(p->c, status);
	client_answer(p->c, s, response_status(s, status, p->c->allow_origin,
	    message, retry_after_s));
}

/* Takes p out of its publisher's queue (its client went away). */
static void
unqueue(struct publish *p)
{
	struct publish **at = &p->pr->queue;

	while (*at != p)
		at = &(*at)->next_queued;
	*at = p->next_queued;
	p->queued = false;
}

/* Puts p at the end of its publisher's queue: ids follow the order in
 * which the bodies ended. */
static void
enqueue(struct publish *p)
{
	struct publish **at = &p->pr->queue;

	while (*at != NULL)
		at = &(*at)->next_queued;
	p->next_queued = NULL;
	p->queued = true;
	*at = p;
}

static void
publish_closed(struct client *c)
{
	struct publish *p = c->pub;

	if (p == NULL)
		return;
	if (p->queued)
		unqueue(p);
	loop_cancel(p->pr->loop, &p->timer);
	if (p->cgi_polled)
		loop_remove(p->pr->loop, &p->cgi_in);
	upload_free(&p->up);
	buf_free(&p->held);
	free(p->raw);
	free(p->stream);
	free(p->type);
	free(p->idem);
	free(p);
	c->pub = NULL;
}

static void
pause_input(struct publish *p, bool paused)
{
	if (p->c->transport == TRANSPORT_FCGI)
		client_pause_input(p->c, paused);
	else if (p->cgi_polled && loop_modify(p->pr->loop, &p->cgi_in,
	    paused ? 0 : EPOLLIN) == -1)
		log_error("epoll: %s", strerror(errno));
}

/* Sends the answer held, now that the body has been read to its end. */
static void
publish_release(struct publish *p)
{
	struct client *c = p->c;

	c->on_input = NULL;	/* the rest, if any, is read and dropped */
	pause_input(p, false);
	if (p->cgi_polled) {
		loop_remove(p->pr->loop, &p->cgi_in);
		p->cgi_polled = false;
	}
	loop_cancel(p->pr->loop, &p->timer);
	c->state = CLIENT_STARTING;	/* client_end_response() ends it */
	if (client_send(c, p->held.data, p->held.len) == 0)
		client_end_response(c);
}

/* Keeps the answer built in answer for the end of the body; the first
 * answer is the one: what follows it is read for nothing. Returns true
 * (held), or false when the body has been released already. */
static bool
publish_hold(struct client *c, const struct buf *answer)
{
	struct publish *p = c->pub;

	if (c->state != CLIENT_RECEIVING)
		return false;
	if (!p->answered) {
		if (buf_append(&p->held, answer->data, answer->len) == -1) {
			log_error("out of memory answering a request");
			client_drop(c);
			return true;
		}
		p->answered = true;
		upload_discard(&p->up);
		p->batch_since_ms = 0;
	}
	if (p->up.state == UPLOAD_ENDED && p->rawlen == 0)
		publish_release(p);
	return true;
}

/* Answers with the event's id (idempotent retries: 200). */
static void
answer_ids(struct publish *p, int status, int64_t first, int64_t last,
    bool two)
{
	char body[64];

	if (two)
		snprintf(body, sizeof body, "%" PRId64 " %" PRId64, first,
		    last);
	else
		snprintf(body, sizeof body, "%" PRId64, first);
	answer(p, status, body, -1);
}

/* A write failed: locked (tried again on the next ticks, up to
 * WRITE_BUSY_MS; returns 1), or refused by the log (409 for a closed
 * stream, 400 for another rule) or failing (500), answered (returns
 * 0). */
static int
write_failed(struct publish *p, const char *doing)
{
	struct publisher *pr = p->pr;
	struct store *st = *pr->writer;
	int64_t now = loop_now_ms();

	if (st != NULL && store_down(st)) {
		/* A database out of reach (PostgreSQL) is not waited for:
		 * each try would cost the loop a connection attempt. */
		log_warn("%s: %s: answered 503", p->stream, store_error(st));
		answer(p, 503, "the event log cannot be reached: try again "
		    "later", 1);
		return 0;
	}
	if (st == NULL || store_busy(st)) {
		if (p->busy_since_ms == 0)
			p->busy_since_ms = now;
		if (now - p->busy_since_ms < WRITE_BUSY_MS)
			return 1;
		log_warn("%s: the event log stayed locked for %d s: answered "
		    "503 (%s)", p->stream, WRITE_BUSY_MS / 1000, st != NULL ?
		    store_error(st) : "not open");
		answer(p, 503, "the event log is locked: try "
		    "again later", 1);
		return 0;
	}
	if (store_refused(st)) {
		const char *why = store_error(st);
		answer(p, strcmp(why, "stream is closed") == 0 ?
		    409 : 400, why, -1);
		return 0;
	}
	log_error("%s: %s: %s", p->stream, doing, store_error(st));
	answer(p, 500, "the event log cannot be written; the "
	    "server's error log says why", -1);
	return 0;
}

/* Appends the batch of lines in one transaction. Returns 0 when it is
 * appended or answered, 1 when the log is locked. */
static int
write_lines(struct publish *p)
{
	struct upload *u = &p->up;
	struct store *st = *p->pr->writer;
	struct store_new_event *evs = calloc(u->nbatch, sizeof *evs);
	int64_t first = p->first_id;
	size_t i = 0;

	if (evs == NULL) {
		log_error("out of memory appending lines");
		answer(p, 500, "out of memory", -1);
		return 0;
	}
	for (size_t k = 0; k < u->nbatch; k++)
		evs[k] = (struct store_new_event){ .stream = p->stream,
		    .type = p->type, .data = u->data.data + u->batch[k].off,
		    .data_len = u->batch[k].len, .retry = p->retry };
	/* The upload's first id is that of its first line's own insert;
	 * the last is the last insert's. */
	if (st == NULL || store_begin(st) == -1 ||
	    (first == 0 && store_append(st, &evs[i++], &first) == -1) ||
	    store_append_batch(st, evs + i, u->nbatch - i) == -1 ||
	    store_commit(st) == -1) {
		if (st != NULL)
			store_rollback(st);
		free(evs);
		return write_failed(p, "cannot append lines");
	}
	free(evs);
	metrics_count(p->pr->clients->metrics, M_PUBLISHED, u->nbatch);
	p->first_id = first;
	p->last_id = store_last_appended(st);
	p->busy_since_ms = 0;
	p->batch_since_ms = 0;
	upload_batch_taken(u);
	return 0;
}

/* The whole body is read: the answer to the lines, or a refusal; an
 * event or a close is queued for publish_commit(). Returns 1 while it
 * waits in that queue, 0 once answered. */
static int
publish_finish(struct publish *p)
{
	struct publisher *pr = p->pr;
	struct upload *u = &p->up;

	if (p->queued)
		return 1;	/* publish_commit() answers it */
	if (u->error == UPLOAD_TOO_LARGE && p->kind == REQUEST_LINES) {
		char message[160];
		snprintf(message, sizeof message, "line %" PRIu64 " is longer "
		    "than --max-event-size (%zu bytes); the lines before it "
		    "were appended", u->too_long, pr->max_event_size);
		answer(p, 413, message, -1);
		return 0;
	}
	if (u->error == UPLOAD_TOO_LARGE) {
		char message[160];
		snprintf(message, sizeof message, "the event is larger than "
		    "--max-event-size (%zu bytes)", pr->max_event_size);
		answer(p, 413, message, -1);
		return 0;
	}
	if (u->error == UPLOAD_NO_MEMORY) {
		log_error("out of memory reading a request body");
		answer(p, 500, "out of memory", -1);
		return 0;
	}
	if (p->kind == REQUEST_LINES) {
		answer_ids(p, 201, p->first_id, p->last_id, true);
		return 0;
	}
	if (p->kind == REQUEST_PUBLISH) {
		/* The body is the data verbatim: not repaired, refused. */
		const char *why = validate_data(u->data.len ? u->data.data :
		    "", u->data.len);
		if (why != NULL) {
			answer(p, 400, why, -1);
			return 0;
		}
	}
	enqueue(p);
	return 1;
}

/* The event that p, queued, appends. */
static struct store_new_event
queued_event(const struct publish *p)
{
	struct store_new_event ev = { .stream = p->stream, .type = p->type,
	    .data = "", .data_len = 0, .retry = p->retry, .idem = p->idem };

	if (p->kind == REQUEST_CLOSE) {
		ev.type = "sselog.close";
		ev.retry = -1;
	} else if (p->up.data.len > 0) {
		ev.data = p->up.data.data;
		ev.data_len = p->up.data.len;
	}
	return ev;
}

/* The log failed the whole of a batch (starting it, an append, the
 * commit): each of its writes waits for the next turn when the log was
 * locked, up to WRITE_BUSY_MS, or is answered. */
static void
batch_failed(struct publish *batch)
{
	for (struct publish *p = batch, *next; p != NULL; p = next) {
		next = p->next_queued;
		p->queued = false;
		if (write_failed(p, p->kind == REQUEST_CLOSE ?
		    "cannot close a stream" : "cannot append an event") == 1)
			enqueue(p);
	}
}

void
publish_commit(struct publisher *pr)
{
	struct publish *batch = pr->queue, *appended = NULL, **tail = &appended;
	struct store *st = *pr->writer;
	uint64_t added = 0;	/* events new to the log, not retries */

	if (batch == NULL)
		return;
	pr->queue = NULL;
	if (st == NULL || store_begin(st) == -1) {
		batch_failed(batch);
		return;
	}
	for (struct publish *p = batch, *next; p != NULL; p = next) {
		next = p->next_queued;
		struct store_new_event ev = queued_event(p);
		bool existed;
		if (store_publish_in(st, &ev, &p->first_id, &existed) == 0) {
			p->status = existed || p->kind == REQUEST_CLOSE ?
			    200 : 201;
			added += !existed;
			*tail = p;
			tail = &p->next_queued;
		} else if (store_refused(st)) {
			/* This one alone: the others go on. */
			p->queued = false;
			write_failed(p, "cannot append an event");
		} else {
			/* Nothing of the batch is appended: all of it,
			 * this one and those after it too, fails. */
			*tail = p;
			store_rollback(st);
			batch_failed(appended);
			return;
		}
	}
	*tail = NULL;
	if (store_commit(st) == -1) {
		batch_failed(appended);
		return;
	}
	metrics_count(pr->clients->metrics, M_PUBLISHED, added);
	for (struct publish *p = appended, *next; p != NULL; p = next) {
		next = p->next_queued;
		p->queued = false;
		p->busy_since_ms = 0;
		answer_ids(p, p->status, p->first_id, 0, false);
	}
}

/* Takes what a full batch left unread, now that the batch is out.
 * Returns the bytes taken. */
static size_t
take_rest(struct publish *p)
{
	size_t used = upload_feed(&p->up, p->raw, p->rawlen);

	memmove(p->raw, p->raw + used, p->rawlen - used);
	p->rawlen -= used;
	return used;
}

/* Moves the write on as far as it can go now: appends a batch that is
 * due, takes what it held back, and at the end of the body appends the
 * event and answers. */
static void
advance(struct publish *p)
{
	struct upload *u = &p->up;
	struct client *c = p->c;

	for (;;) {
		if (c->state != CLIENT_RECEIVING)
			return;
		if (u->state == UPLOAD_BROKEN) {
			/* Nobody to answer: what was appended stays. */
			log_info("%s: %s", p->stream ? p->stream : "a request",
			    u->why);
			client_drop(c);
			return;
		}
		if (u->nbatch > 0) {
			int64_t now = loop_now_ms();
			if (p->batch_since_ms == 0)
				p->batch_since_ms = now;
			bool due = upload_batch_full(u) || p->cut ||
			    u->kind != UPLOAD_LINES ||
			    u->state == UPLOAD_ENDED ||
			    now - p->batch_since_ms >= BATCH_MS;
			if (due && write_lines(p) == 1)
				return;	/* the ticks come back to it */
			if (due)
				continue;
			/* Not due: the body is read on meanwhile (the batch
			 * has room, or the rest below fills it). */
		}
		if (p->rawlen > 0) {
			if (take_rest(p) == 0 && u->state != UPLOAD_BROKEN)
				return;	/* cannot happen: a feed takes bytes
					 * while the batch has room */
			continue;
		}
		break;
	}
	/* Nothing is held back: the body flows again, whether or not a
	 * batch waits for its BATCH_MS. */
	pause_input(p, false);
	if (u->state != UPLOAD_ENDED)
		return;
	if (!p->answered && p->accepted && publish_finish(p) == 1)
		return;
	if (p->answered && c->state == CLIENT_RECEIVING)
		publish_release(p);
}

/* Reads the body as far as it came (a few reads at most: the loop calls
 * again while there is more), then moves the write on. */
static void
read_body(struct publish *p, uint32_t events)
{
	struct client *c = p->c;
	int fd = c->transport == TRANSPORT_FCGI ? c->io.fd : STDIN_FILENO;

	if (c->state != CLIENT_RECEIVING)
		return;
	if (p->rawlen > 0) {
		/* Paused for the log; a hang-up now is noticed later. */
		if (events & (EPOLLHUP | EPOLLERR))
			upload_eof(&p->up);
		advance(p);
		return;
	}
	for (int i = 0; i < BODY_READS_PER_TURN &&
	    p->up.state == UPLOAD_READING; i++) {
		ssize_t n = read(fd, p->raw, BODY_READ_BYTES);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			upload_eof(&p->up);
			break;
		}
		p->progress_ms = loop_now_ms();
		size_t used = upload_feed(&p->up, p->raw, (size_t)n);
		if (used < (size_t)n) {
			/* The batch is full: the rest waits until it is
			 * appended, and the socket is not read meanwhile. */
			memmove(p->raw, p->raw + used, (size_t)n - used);
			p->rawlen = (size_t)n - used;
			pause_input(p, true);
			break;
		}
	}
	advance(p);
}

static void
on_body(struct client *c, uint32_t events)
{
	read_body(c->pub, events);
	clients_flush(c->pub->pr->clients);
}

static void
on_cgi_body(struct loop_io *io, uint32_t events)
{
	struct publish *p = container_of(io, struct publish, cgi_in);
	struct clients *cs = p->pr->clients;

	read_body(p, events);
	clients_flush(cs);
}

/* Batches that are due, writes that wait for the locked log, a CGI body
 * in a file (which epoll cannot watch), and a body that stopped
 * coming. */
static void
on_publish_tick(struct loop_timer *t)
{
	struct publish *p = container_of(t, struct publish, timer);
	struct publisher *pr = p->pr;
	int64_t now = loop_now_ms();

	if (p->c->state != CLIENT_RECEIVING)
		return;
	if (p->c->transport == TRANSPORT_CGI && !p->cgi_polled &&
	    p->rawlen == 0)
		read_body(p, 0);
	else
		advance(p);
	if (p->c->state == CLIENT_RECEIVING && p->timed && p->rawlen == 0 &&
	    p->up.state == UPLOAD_READING &&
	    now - p->progress_ms >= pr->write_timeout_s * 1000LL) {
		log_warn("%s: dropped a request whose body did not come for "
		    "%d s", p->stream ? p->stream : "a write",
		    pr->write_timeout_s);
		client_drop(p->c);
	}
	clients_flush(pr->clients);
}

/* Starts reading the body of a request that has one (POST, PUT,
 * DELETE), for nothing until publish_accept(). Returns 0, or -1 when
 * memory runs out. */
int
publish_start(struct publisher *pr, struct client *c,
    const struct request_params *params)
{
	struct publish *p = calloc(1, sizeof *p);
	int64_t length = 0;

	if (p == NULL || (p->raw = malloc(BODY_READ_BYTES)) == NULL) {
		free(p);
		return -1;
	}
	/* CGI: RFC 3875, 4.1.2; none or a bad one: no body. */
	if (params->content_length != NULL &&
	    parse_uint(params->content_length, INT64_MAX, &length) != NULL)
		length = 0;
	p->pr = pr;
	p->c = c;
	p->timed = true;
	p->held = (struct buf)BUF_INIT;
	p->progress_ms = loop_now_ms();
	upload_init(&p->up, UPLOAD_DISCARD, c->transport == TRANSPORT_FCGI,
	    c->out.request_id, length, pr->max_event_size);
	c->pub = p;
	c->on_close = publish_closed;
	c->on_answer = publish_hold;
	c->state = CLIENT_RECEIVING;
	if (c->transport == TRANSPORT_FCGI) {
		c->on_input = on_body;
	} else {
		p->cgi_in.fd = STDIN_FILENO;
		p->cgi_in.fn = on_cgi_body;
		if (loop_add(pr->loop, &p->cgi_in, EPOLLIN) == 0)
			p->cgi_polled = true;
		/* else a file (EPERM): read on the ticks; it never
		 * blocks for long. */
		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) |
		    O_NONBLOCK);
	}
	p->timer.interval_ms = PUBLISH_TICK_MS;
	p->timer.fn = on_publish_tick;
	loop_every(pr->loop, &p->timer);
	return 0;
}

/* The write is allowed: its body is used from here on. Takes the
 * stream, type and key over from req. */
void
publish_accept(struct client *c, struct request *req)
{
	struct publish *p = c->pub;

	p->accepted = true;
	p->kind = req->kind;
	p->stream = req->streams[0];
	req->streams[0] = NULL;
	p->type = req->type;
	req->type = NULL;
	p->idem = req->idem;
	req->idem = NULL;
	p->retry = req->retry;
	/* An upload of lines may pause for as long as the program whose
	 * output it carries: the web server's own body timeout rules it
	 * (nginx client_body_timeout). */
	p->timed = req->kind != REQUEST_LINES;
	if (req->kind == REQUEST_PUBLISH)
		p->up.kind = UPLOAD_EVENT;
	else if (req->kind == REQUEST_LINES)
		p->up.kind = UPLOAD_LINES;
}

void
publish_advance(struct client *c)
{
	advance(c->pub);
}

/* The line being read when the server stops is not appended: cut, it
 * would be a log line that never was (as a line over --max-event-size is
 * not cut either, lines.h). The answer is 503, not 201, so that the
 * client knows its upload did not reach its end; for lines, it ends with
 * the ids appended, as the 201 would. */
void
publish_cut(struct client *c)
{
	struct publish *p = c->pub;
	char message[200];

	if (c->state != CLIENT_RECEIVING)
		return;
	p->cut = true;
	advance(p);	/* the batch, and what a full batch left unread */
	if (c->state != CLIENT_RECEIVING)
		return;	/* the body's end was in what was read: answered */
	if (p->answered) {
		/* refused, or stopped by an error: the rest is dropped */
	} else if (p->accepted && p->kind == REQUEST_LINES) {
		snprintf(message, sizeof message, "the server is stopping: "
		    "the upload was cut before its end; the lines appended: "
		    "%" PRId64 " %" PRId64, p->first_id, p->last_id);
		answer(p, 503, message, 1);
	} else {
		/* A write queued for the commit waits for a locked log
		 * (else the turn's commit took it): it will not be. */
		if (p->queued)
			unqueue(p);
		answer(p, 503, "the server is stopping: nothing was "
		    "appended; try again", 1);
	}
	if (c->state == CLIENT_RECEIVING)
		publish_release(p);
}
