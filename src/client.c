#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* How long an ended FastCGI connection waits for the web server to hang
 * up before it is closed anyway. */
#define LINGER_MS 2000
/* A stream idle for IDLE_MS keeps an output block up to this size: idle
 * streams are most streams, and their memory is the responder's. */
#define KEEP_OUT_BYTES 512
#define IDLE_MS 1000

static const char heartbeat[] = ":\n";

static void on_io(struct loop_io *io, uint32_t events);

void
clients_init(struct clients *s, struct loop *loop, struct hub *hub,
    size_t max_pending, size_t refill_bytes, int64_t write_timeout_ms,
    int64_t heartbeat_ms)
{
	*s = (struct clients){ .loop = loop, .hub = hub,
	    .max_pending = max_pending, .refill_bytes = refill_bytes,
	    .write_timeout_ms = write_timeout_ms,
	    .heartbeat_ms = heartbeat_ms };
}

static uint32_t
io_events(const struct client *c)
{
	uint32_t ev = 0;

	/* A FastCGI socket is read to notice the web server closing it. A
	 * CGI standard output only reports errors (EPOLLERR: the reader is
	 * gone), which epoll always does; it may be a socket that is our
	 * standard input too (Apache mod_cgid), whose end of input says
	 * nothing about the browser. */
	if (c->transport == TRANSPORT_FCGI && !c->input_paused)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->polling_out)
		ev |= EPOLLOUT;
	return ev;
}

static void
mark_dirty(struct client *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = c->set->dirty;
	c->set->dirty = c;
}

static void
unqueue_work(struct client *c)
{
	struct clients *s = c->set;

	if (!c->queued)
		return;
	if (c->prev_work != NULL)
		c->prev_work->next_work = c->next_work;
	else
		s->work = c->next_work;
	if (c->next_work != NULL)
		c->next_work->prev_work = c->prev_work;
	else
		s->work_tail = c->prev_work;
	c->queued = false;
}

/* Links c into the work queue, at its head or at its end. */
static void
queue_work(struct client *c, bool first)
{
	struct clients *s = c->set;

	if (c->queued)
		return;
	c->queued = true;
	c->prev_work = first ? NULL : s->work_tail;
	c->next_work = first ? s->work : NULL;
	if (c->prev_work != NULL)
		c->prev_work->next_work = c;
	else
		s->work = c;
	if (c->next_work != NULL)
		c->next_work->prev_work = c;
	else
		s->work_tail = c;
}

void
client_queue_work(struct client *c)
{
	queue_work(c, false);
}

void
client_requeue_first(struct client *c)
{
	queue_work(c, true);
}

struct client *
clients_next_work(struct clients *s)
{
	struct client *c = s->work;

	if (c != NULL)
		unqueue_work(c);
	return c;
}

static bool
is_over(const struct client *c)
{
	return c->state == CLIENT_DROPPED || c->state == CLIENT_CLOSED;
}

void
client_status(struct client *c, int code)
{
	if (c->status != 0)
		return;
	c->status = code;
	metrics_response(c->set->metrics, code);
	if (c->pub != NULL && code >= 400)
		metrics_count(c->set->metrics, M_PUBLISH_REFUSED, 1);
}

void
client_stream_opened(struct client *c)
{
	if (c->metered)
		return;
	c->metered = true;
	metrics_gauge_add(c->set->metrics, G_CLIENTS, 1);
}

/* The stream is over (ended, dropped, gone): no longer an open one. */
static void
unmeter(struct client *c)
{
	if (!c->metered)
		return;
	c->metered = false;
	metrics_gauge_add(c->set->metrics, G_CLIENTS, -1);
}

int
client_send(struct client *c, const void *bytes, size_t len)
{
	bool was_idle = outq_pending(&c->out) == 0;

	if (is_over(c))
		return -1;
	if (outq_body(&c->out, bytes, len) == -1) {
		log_error("out of memory queuing output for a client");
		client_drop(c);
		return -1;
	}
	if (was_idle)
		c->progress_ms = loop_now_ms();
	mark_dirty(c);
	return 0;
}

void
client_end_response(struct client *c)
{
	if (is_over(c) || c->state == CLIENT_ENDING ||
	    c->state == CLIENT_LINGERING)
		return;
	unqueue_work(c);
	unmeter(c);
	if (outq_end(&c->out) == -1) {
		log_error("out of memory ending a response");
		client_drop(c);
		return;
	}
	c->state = CLIENT_ENDING;
	mark_dirty(c);
}

void
client_drop(struct client *c)
{
	if (is_over(c))
		return;
	c->state = CLIENT_DROPPED;
	c->set->dropped++;
	metrics_count(c->set->metrics, M_CLIENTS_DROPPED, 1);
	unmeter(c);
	mark_dirty(c);
}

struct client *
client_new(struct clients *s, int fd, enum transport t, unsigned request_id)
{
	struct client *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->set = s;
	c->io.fd = fd;
	c->io.fn = on_io;
	c->transport = t;
	c->state = CLIENT_STARTING;
	c->last_write_ms = c->progress_ms = c->starting_since_ms =
	    loop_now_ms();
	outq_init(&c->out, t == TRANSPORT_FCGI, request_id);
	int flags = fcntl(fd, F_GETFL);
	if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		free(c);
		return NULL;
	}
	if (loop_add(s->loop, &c->io, io_events(c)) == -1) {
		if (errno != EPERM) {
			free(c);
			return NULL;
		}
		/* A regular file or terminal as CGI output: epoll cannot
		 * watch it, and writes to it do not block for long. */
		c->blocking = true;
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	}
	c->next = s->all;
	if (c->next != NULL)
		c->next->prev = c;
	s->all = c;
	s->n++;
	return c;
}

void
client_close(struct client *c)
{
	struct clients *s = c->set;

	if (c->state == CLIENT_CLOSED)
		return;
	if (c->on_close != NULL)
		c->on_close(c);
	c->on_close = NULL;
	c->on_input = NULL;
	c->on_answer = NULL;
	c->state = CLIENT_CLOSED;
	unqueue_work(c);
	unmeter(c);
	if (!c->blocking)
		loop_remove(s->loop, &c->io);
	close(c->io.fd);
	for (size_t i = 0; c->links != NULL && i < c->nstreams; i++)
		hub_leave(s->hub, &c->links[i]);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->n--;
	/* What was queued is of no use now; the struct itself waits for the
	 * end of the turn: an event for it may still be in epoll's batch. */
	outq_free(&c->out);
	c->next_closed = s->closed;
	s->closed = c;
}

static void
client_free(struct client *c)
{
	for (size_t i = 0; i < c->nstreams; i++)
		free(c->streams[i]);
	free(c->streams);
	free(c->links);
	free(c->allow_origin);
	credentials_free(&c->cred);
	outq_free(&c->out);
	free(c);
}

void
clients_bury(struct clients *s)
{
	/* A closed client may still be on the dirty list: flushing takes
	 * it off (and writes the others) before it is freed. */
	clients_flush(s);
	while (s->closed != NULL) {
		struct client *c = s->closed;
		s->closed = c->next_closed;
		client_free(c);
	}
}

void
clients_free(struct clients *s)
{
	while (s->all != NULL)
		client_close(s->all);
	clients_bury(s);
}

static void
update_events(struct client *c)
{
	if (loop_modify(c->set->loop, &c->io, io_events(c)) == -1) {
		log_error("epoll: %s", strerror(errno));
		client_close(c);
	}
}

static void
set_polling_out(struct client *c, bool on)
{
	if (c->blocking || c->polling_out == on)
		return;
	c->polling_out = on;
	update_events(c);
}

void
client_pause_input(struct client *c, bool paused)
{
	if (c->blocking || c->input_paused == paused || is_over(c))
		return;
	c->input_paused = paused;
	update_events(c);
}

/* Everything, the end included, is written. A FastCGI web server may
 * still be sending the rest of the request (Apache sends the empty
 * FCGI_STDIN record after the parameters, and answers 503 when that write
 * fails): so stop writing, and close once it hangs up, or after a while.
 * Closing a socket with unread input would also reset the connection. */
static void
linger(struct client *c)
{
	if (c->transport != TRANSPORT_FCGI || c->blocking ||
	    shutdown(c->io.fd, SHUT_WR) == -1) {
		client_close(c);
		return;
	}
	c->state = CLIENT_LINGERING;
	c->linger_since_ms = loop_now_ms();
}

/* Writes what the connection takes; then finishes an ended response, or
 * asks for the next page of a backlog. */
static void
client_pump(struct client *c)
{
	if (c->state == CLIENT_DROPPED) {
		client_close(c);
		return;
	}
	if (c->state == CLIENT_CLOSED || c->state == CLIENT_LINGERING)
		return;
	long n = outq_write(&c->out, c->io.fd);
	if (n == -1) {
		/* EPIPE, ECONNRESET: the client left. */
		client_close(c);
		return;
	}
	if (n > 0)
		c->last_write_ms = c->progress_ms = loop_now_ms();
	if (c->state == CLIENT_REPLAYING &&
	    outq_pending(&c->out) < c->set->refill_bytes)
		client_queue_work(c);
	if (outq_pending(&c->out) > 0) {
		set_polling_out(c, true);
		return;
	}
	set_polling_out(c, false);
	if (c->state == CLIENT_ENDING)
		linger(c);
}

void
clients_flush(struct clients *s)
{
	while (s->dirty != NULL) {
		struct client *c = s->dirty;
		s->dirty = c->next_dirty;
		c->dirty = false;
		client_pump(c);
	}
}

static void
on_io(struct loop_io *io, uint32_t events)
{
	struct client *c = container_of(io, struct client, io);
	char discard[4096];

	if (c->state == CLIENT_CLOSED)
		return;
	if (c->on_input != NULL &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
		/* A body: the server reads it, and sees the end. */
		c->on_input(c, events);
		if (c->state != CLIENT_CLOSED && (events & EPOLLOUT))
			client_pump(c);
		return;
	}
	if (events & EPOLLIN) {
		/* The rest of the request (an empty FCGI_STDIN record): read
		 * and ignore; end of file means the web server hung up. */
		ssize_t n = read(c->io.fd, discard, sizeof discard);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
		if (c->state == CLIENT_LINGERING &&
		    !(events & (EPOLLHUP | EPOLLERR)))
			return;	/* more to read before the hang-up */
	}
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		client_close(c);
		return;
	}
	if (events & EPOLLOUT)
		client_pump(c);
}

void
clients_tick(struct clients *s)
{
	int64_t now = loop_now_ms();

	for (struct client *c = s->all, *next; c != NULL; c = next) {
		next = c->next;		/* client_close() unlinks c */
		if (c->state == CLIENT_LINGERING) {
			if (now - c->linger_since_ms >= LINGER_MS)
				client_close(c);
			continue;
		}
		if (is_over(c))
			continue;
		if (outq_pending(&c->out) == 0 &&
		    now - c->last_write_ms >= IDLE_MS)
			outq_trim(&c->out, KEEP_OUT_BYTES);
		if (outq_pending(&c->out) > 0) {
			if (now - c->progress_ms >= s->write_timeout_ms) {
				log_warn("dropped a client that read nothing "
				    "for %lld s: %zu bytes pending (%s%s)",
				    (long long)(now - c->progress_ms) / 1000,
				    outq_pending(&c->out), c->nstreams > 0 ?
				    c->streams[0] : "no stream",
				    c->nstreams > 1 ? ", ..." : "");
				s->dropped++;
				metrics_count(s->metrics,
				    M_CLIENTS_DROPPED, 1);
				client_close(c);
			}
			continue;
		}
		/* A backlog's next page may wait for a locked log. */
		if ((c->state == CLIENT_LIVE || c->state == CLIENT_REPLAYING) &&
		    now - c->last_write_ms >= s->heartbeat_ms &&
		    client_send(c, heartbeat, sizeof heartbeat - 1) == 0)
			metrics_count(s->metrics, M_HEARTBEATS, 1);
	}
	clients_flush(s);
}

void
client_answer(struct client *c, const struct buf *answer, int built)
{
	if (built == -1) {
		log_error("out of memory answering a request");
		client_drop(c);
		return;
	}
	if (c->on_answer != NULL && c->on_answer(c, answer))
		return;
	if (client_send(c, answer->data, answer->len) == 0)
		client_end_response(c);
}
